#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests, then the API fuzz run
# (scripts/api-fuzz.sh) when schemathesis is installed; KEYWARD_REQUIRE_API_FUZZ=1 makes a missing
# schemathesis an error.
# Integration tests run on SQLite always, and on PostgreSQL too when KEYWARD_TEST_DATABASE_URL is
# set or a local server answers on 127.0.0.1:5432 (then a throwaway database is made for this run
# and dropped at the end). KEYWARD_REQUIRE_POSTGRES=1 makes a missing PostgreSQL an error.
# The tests that need PostgreSQL or a browser are #[ignore]d, so that a machine without them counts
# them as skipped, never as passed; they run here (`-- --ignored`) when what they need is found, or
# required (KEYWARD_REQUIRE_BROWSER=1: then a missing browser fails them). Likewise the stock-client
# tests with the Node harness (clients/node/node_modules and examples/mcp-server/node_modules;
# KEYWARD_REQUIRE_STOCK_CLIENTS=1). And the Debian package test, which builds the package with
# cargo-deb and installs it with dpkg, so it needs root (KEYWARD_REQUIRE_PACKAGE=1).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_admin_url="${KEYWARD_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db=""
log="$(mktemp)"
cleanup() {
  rm -f "$log" "$log.ignored" "$log.summary" "$log.fuzz"
  if [[ -n "$db" ]]; then
    psql "$pg_admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [[ -z "${KEYWARD_TEST_DATABASE_URL:-}" ]] && command -v psql >/dev/null \
    && psql "$pg_admin_url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  db="keyward_test_$(date +%s)_$$"
  psql "$pg_admin_url" -qc "CREATE DATABASE $db" >/dev/null
  export KEYWARD_TEST_DATABASE_URL="${pg_admin_url%/*}/$db"
fi
if [[ -n "${KEYWARD_TEST_DATABASE_URL:-}" ]]; then
  echo "PostgreSQL tests: on (${KEYWARD_TEST_DATABASE_URL%%\?*})"
elif [[ "${KEYWARD_REQUIRE_POSTGRES:-}" == 1 ]]; then
  echo "KEYWARD_REQUIRE_POSTGRES=1 but no PostgreSQL is reachable" >&2
  exit 1
else
  echo "PostgreSQL tests: skipped (no server on 127.0.0.1:5432 and KEYWARD_TEST_DATABASE_URL unset)"
fi

# Where the browser test looks for a program (crates/server/tests/browser/webdriver.rs): at the
# path in the variable named $2 if it is set, else $1 on the PATH.
found() {
  if [[ -n "${!2:-}" ]]; then [[ -e "${!2}" ]]; else command -v "$1" >/dev/null; fi
}
# The test binaries whose #[ignore]d tests run too.
ignored_tests=()
if [[ -n "${KEYWARD_TEST_DATABASE_URL:-}" ]]; then ignored_tests+=(api); fi
# The accessibility audit among them injects axe-core, pinned in crates/server/tests/browser/a11y.
if [[ "${KEYWARD_REQUIRE_BROWSER:-}" == 1 ]] || { found chromedriver CHROMEDRIVER \
    && { found chromium CHROMIUM || found chromium-browser CHROMIUM; } \
    && [[ -d crates/server/tests/browser/a11y/node_modules ]]; }; then
  ignored_tests+=(browser)
  echo "browser tests: on"
else
  echo "browser tests: skipped (needs chromedriver, chromium, and npm ci --prefix crates/server/tests/browser/a11y)"
fi
# The stock-client tests (crates/server/tests/stock_clients) run the Node harness in clients/node
# and the example MCP server in examples/mcp-server.
if [[ "${KEYWARD_REQUIRE_STOCK_CLIENTS:-}" == 1 ]] \
    || [[ -d clients/node/node_modules && -d examples/mcp-server/node_modules ]]; then
  ignored_tests+=(stock_clients)
  echo "stock-client tests: on"
else
  echo "stock-client tests: skipped (run npm ci in clients/node and in examples/mcp-server)"
fi

# The Debian package test (crates/server/tests/package) installs the package on this machine (and
# refuses to where a keyward package or its directories already exist), then purges it.
if [[ "${KEYWARD_REQUIRE_PACKAGE:-}" == 1 ]] || { [[ "$(id -u)" == 0 ]] \
    && command -v dpkg >/dev/null && cargo deb --version >/dev/null 2>&1; }; then
  ignored_tests+=(package)
  echo "package test: on"
else
  echo "package test: skipped (needs root, dpkg and cargo-deb: the version in .ci/run)"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
: >"$log.ignored"
for test in "${ignored_tests[@]}"; do
  cargo test -p keyward --locked --test "$test" -- --ignored 2>&1 | tee -a "$log.ignored"
  ((PIPESTATUS[0] == 0)) || status=1
done
set -e
# One closing line for the whole run, summed over every test binary: what the first run ignored
# and the second did not run is skipped.
awk '/^test result:/ {
       for (i = 1; i < NF; i++) {
         if ($(i + 1) ~ /^passed/) { passed += $i; if (FILENAME ~ /ignored$/) ran += $i }
         if ($(i + 1) ~ /^failed/) { failed += $i; if (FILENAME ~ /ignored$/) ran += $i }
         if ($(i + 1) ~ /^ignored/ && FILENAME !~ /ignored$/) ignored += $i
       }
     }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored - ran }' \
  "$log" "$log.ignored" >"$log.summary"

fuzz="skipped (schemathesis is not installed)"
if [[ "$status" == 0 ]]; then
  if command -v st >/dev/null || command -v schemathesis >/dev/null; then
    set +e
    bash scripts/api-fuzz.sh 2>&1 | tee "$log.fuzz"
    fuzz_status=${PIPESTATUS[0]}
    set -e
    fuzz="$(grep "^api fuzz:" "$log.fuzz" | tail -n1 || true)"
    fuzz="${fuzz:-api fuzz: FAILED (exit $fuzz_status)}"
    ((fuzz_status == 0)) || status=$fuzz_status
  elif [[ "${KEYWARD_REQUIRE_API_FUZZ:-}" == 1 ]]; then
    fuzz="api fuzz: FAILED: KEYWARD_REQUIRE_API_FUZZ=1 but schemathesis is not installed"
    status=1
  else
    fuzz="api fuzz: $fuzz"
  fi
else
  fuzz="api fuzz: not run (the tests failed)"
fi
# The closing lines: the fuzz run, then the test count last.
echo "$fuzz"
cat "$log.summary"
exit "$status"
