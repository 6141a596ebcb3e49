#!/usr/bin/env bash
# Where a scenario's server time goes: runs keyward-bench on the `profiling` build (release with
# symbols and frame pointers) and samples the server with `perf record -g` while each scenario's
# load runs, then prints the heaviest symbols (self time, and with children).
#   scripts/profile.sh userinfo,client-credentials [SECONDS] [extra keyward-bench args...]
# Raw profiles stay in target/profile/<scenario>.data (`perf report -i ...` to explore).
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios="${1:?usage: scripts/profile.sh SCENARIO[,SCENARIO...] [SECONDS] [keyward-bench args]}"
seconds="${2:-8}"
shift $(($# < 2 ? $# : 2))
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }

RUSTFLAGS="-C force-frame-pointers=yes" cargo build --profile profiling -p keyward -p keyward-bench
mkdir -p target/profile
log="target/profile/bench.log"
target/profiling/keyward-bench --only "$scenarios" --duration "$((seconds + 2))" --no-half-load \
  --out target/profile "$@" 2>"$log" >/dev/null &
bench=$!
wait_for() {
  until grep -q "$1" "$log" 2>/dev/null; do
    kill -0 "$bench" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
}
# The bench names the server's pid once it is ready; a scenario's line marks its load's start.
wait_for "keyward ready after"
pid="$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$log" | head -n1)"
for scenario in ${scenarios//,/ }; do
  wait_for "] $scenario "
  sleep 1
  perf record -F 2000 -e cpu-clock -g -p "$pid" -o "target/profile/$scenario.data" \
    -- sleep "$seconds" 2>/dev/null
done
wait "$bench"
grep -v "^\s*$" "$log"
set +o pipefail # `head` closes the pipes early
for scenario in ${scenarios//,/ }; do
  echo "=== $scenario: self time (top 30)"
  perf report -i "target/profile/$scenario.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | sed 's/ \{3,\}/ /g' | cut -c1-160 | head -n 30
  echo "=== $scenario: with children (top 80, user space)"
  perf report -i "target/profile/$scenario.data" --children --sort symbol --stdio -g none \
    2>/dev/null | grep -E '^ +[0-9]' | grep -v '\[k\]' | sed 's/ \{3,\}/ /g' | cut -c1-160 \
    | head -n 80
done
