#!/usr/bin/env bash
# Where a scenario's server time goes: runs keyward-bench for one scenario on the `profiling`
# build (release with symbols and frame pointers) and samples the server with `perf record -g`
# while the load runs, then prints the heaviest symbols (self and with children).
#   scripts/profile.sh userinfo [SECONDS] [extra keyward-bench args...]
# The raw profile stays in target/profile/<scenario>.data (`perf report -i ...` to explore).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:?usage: scripts/profile.sh SCENARIO [SECONDS] [keyward-bench args]}"
seconds="${2:-8}"
shift $(($# < 2 ? $# : 2))
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }

RUSTFLAGS="-C force-frame-pointers=yes" cargo build --profile profiling -p keyward -p keyward-bench
mkdir -p target/profile
log="target/profile/$scenario.log"
target/profiling/keyward-bench --only "$scenario" --duration "$((seconds + 2))" --no-half-load \
  --out target/profile "$@" 2>"$log" &
bench=$!
# The bench names the server's pid once it is ready; the scenario's line marks the load start.
until grep -q "keyward ready after" "$log" 2>/dev/null; do
  kill -0 "$bench" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
pid="$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$log" | head -n1)"
until grep -q "] $scenario " "$log" 2>/dev/null; do
  kill -0 "$bench" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
sleep 1
perf record -F 2000 -e cpu-clock -g -p "$pid" -o "target/profile/$scenario.data" -- sleep "$seconds" \
  2>/dev/null
wait "$bench"
cat "$log" | grep -v "^\s*$" | tail -n 3
echo "--- self time (top 40) ---"
perf report -i "target/profile/$scenario.data" --no-children --sort symbol --stdio 2>/dev/null \
  | grep -E '^ +[0-9]' | head -n 40
echo "--- with children (top 60) ---"
perf report -i "target/profile/$scenario.data" --children --sort symbol --stdio -g none 2>/dev/null \
  | grep -E '^ +[0-9]' | head -n 60
