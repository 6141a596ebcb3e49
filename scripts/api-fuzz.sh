#!/usr/bin/env bash
# Property-based API fuzzing: starts the `keyward` binary on a fresh SQLite database on a free
# loopback port, logs in as an admin and takes a developer token, then lets schemathesis generate
# requests for every operation of /api/openapi.json and checks that none gets a 5xx, every status
# is documented, and every body matches its documented schema. Fails on any finding.
#
# Tunables: KEYWARD_FUZZ_MAX_EXAMPLES (cases per operation and phase, default 30),
# KEYWARD_FUZZ_MAX_TIME (seconds for the main pass, default 150), KEYWARD_FUZZ_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: .ci/run installs exactly this version (`pip install schemathesis==…`).
SCHEMATHESIS_VERSION="4.32.5"
max_examples="${KEYWARD_FUZZ_MAX_EXAMPLES:-30}"
max_time="${KEYWARD_FUZZ_MAX_TIME:-150}"
seed="${KEYWARD_FUZZ_SEED:-$RANDOM}"

st="$(command -v st || command -v schemathesis || true)"
if [[ -z "$st" ]]; then
  echo "api fuzz: schemathesis is not installed (pip install schemathesis==$SCHEMATHESIS_VERSION)" >&2
  exit 3
fi
have="$("$st" --version 2>/dev/null | awk '{print $NF}')"
if [[ "$have" != "$SCHEMATHESIS_VERSION" ]]; then
  echo "api fuzz: warning: schemathesis $have, pinned $SCHEMATHESIS_VERSION" >&2
fi

cargo build -p keyward --locked --quiet
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/keyward"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin=fuzz-admin
password="fuzz-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"

KEYWARD_LISTEN="127.0.0.1:$port" KEYWARD_PUBLIC_URL="$base" \
  KEYWARD_DATABASE_URL="sqlite://$work/keyward.db" KEYWARD_KEY_FILE="$work/keyward.key" \
  KEYWARD_ADMIN_USERNAME="$admin" KEYWARD_ADMIN_PASSWORD="$password" KEYWARD_LOG_LEVEL=warn \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null

# Credentials, each for the security scheme of the document that takes it: the developer token of
# an admin (from a session), an access token of an approved app with every scope (through the
# consent page), and that app's client credentials. The fuzzer only ever holds these, so nothing
# it sends (logout, `GET /api/user/token`, a password change) can take them away mid-run.
eval "$(python3 scripts/api-fuzz-setup.py "$base" "$admin" "$password")"
export KEYWARD_FUZZ_DEVELOPER_TOKEN KEYWARD_FUZZ_ACCESS_TOKEN KEYWARD_FUZZ_CLIENT_ID \
  KEYWARD_FUZZ_CLIENT_SECRET
# The review operations get a real (pending) app to work on rather than ids that do not exist.
cat >"$work/schemathesis.toml" <<TOML
[[operations]]
include-path-regex = "^/api/admin/oauth_apps/"
parameters = { "path.id" = $KEYWARD_FUZZ_PENDING_APP_ID }
TOML
cat >>"$work/schemathesis.toml" <<'TOML'
[auth.openapi.developer_token]
bearer = "${KEYWARD_FUZZ_DEVELOPER_TOKEN}"

[auth.openapi.access_token]
bearer = "${KEYWARD_FUZZ_ACCESS_TOKEN}"

[auth.openapi.client_basic]
username = "${KEYWARD_FUZZ_CLIENT_ID}"
password = "${KEYWARD_FUZZ_CLIENT_SECRET}"
TOML

checks=not_a_server_error,status_code_conformance,response_schema_conformance
common=(
  --checks "$checks"
  --max-examples "$max_examples"
  --seed "$seed"
  # One worker: CPython 3.11 ast.parse is not thread-safe, and hypothesis calls it (SystemError
  # "AST constructor recursion depth mismatch" with two).
  --workers 1
  --request-timeout 20
  --phases examples,coverage,fuzzing
  --no-color
)
st_run=("$st" --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" "${common[@]}")

status=0
# Main pass: every operation but the settings write, which can point upstream providers and SMTP
# at hosts the fuzzer makes up and switch off what the other operations need; it gets its own
# pass below, last.
# schemathesis keeps its example database in the working directory: the temporary one.
cd "$work"
timeout --signal=INT "$((max_time + 60))" "${st_run[@]}" --max-time "$max_time" \
  --exclude-operation-id put_api_admin_settings \
  --report junit --report-junit-path "$work/main.xml" \
  >"$work/main.log" 2>&1 || status=$?
cat "$work/main.log"
timeout --signal=INT 120 "${st_run[@]}" --max-time 45 \
  --include-operation-id put_api_admin_settings \
  --report junit --report-junit-path "$work/settings.xml" \
  >"$work/settings.log" 2>&1 || status=$?
cat "$work/settings.log"

if ! kill -0 "$server" 2>/dev/null; then
  echo "api fuzz: the server died" >&2
  status=1
fi
if grep -q 'panicked' "$work/server.log"; then
  grep -m5 'panicked' "$work/server.log" >&2
  status=1
fi

# Generated requests, from the schemathesis summaries ("Test cases: N generated, ...").
requests="$(awk '/^Test cases:/ { getline; n += $1 } END { print n + 0 }' \
  "$work/main.log" "$work/settings.log")"
if [[ "$status" == 0 ]]; then
  echo "api fuzz: passed, $requests generated requests (schemathesis $have, seed $seed)"
else
  echo "api fuzz: FAILED (exit $status), $requests generated requests (schemathesis $have, seed $seed)"
fi
exit "$status"
