#!/usr/bin/env bash
# Plugin load and demo timings: the ledger plugin compiled cold (empty cache) and reused from the
# compiled-artifact cache, and the wall time of the whole demo run (start service, seed, run every
# scenario, stop). Figures, not pass/fail. Run via `make bench` (which builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=./target/release/smoke
CONFIG=examples/ledger-api/smoke.toml
RUNS=${RUNS:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%3N; }

cold=(); cached=(); demo=()
for i in $(seq "$RUNS"); do
  cache="$work/cache-$i"
  line=$(SMOKE_CACHE_DIR=$cache NO_COLOR=1 $SMOKE plan -v --config $CONFIG 2>&1 >/dev/null | grep -o 'compiled in [0-9.]* ms')
  cold+=("$(echo "$line" | grep -o '[0-9.]*')")
  line=$(SMOKE_CACHE_DIR=$cache NO_COLOR=1 $SMOKE plan -v --config $CONFIG 2>&1 >/dev/null | grep -o 'from cache .* ([0-9.]* ms)')
  cached+=("$(echo "$line" | grep -o '([0-9.]* ms)' | grep -o '[0-9.]*')")
  start=$(now_ms)
  SMOKE_CACHE_DIR=$cache $SMOKE run -q --config $CONFIG >/dev/null
  demo+=("$(( $(now_ms) - start ))")
done
scenarios=$(SMOKE_CACHE_DIR="$work/cache-1" $SMOKE plan --config $CONFIG 2>/dev/null | grep -c '"endpoint"' || true)
cold_ms=$(printf '%s\n' "${cold[@]}" | median)
cached_ms=$(printf '%s\n' "${cached[@]}" | median)
demo_ms=$(printf '%s\n' "${demo[@]}" | median)
echo "ledger plugin ($(stat -c %s target/wasm32-wasip2/release/ledger.wasm) bytes), median of $RUNS runs:"
echo "  compile cold:   ${cold_ms} ms   (all: ${cold[*]})"
echo "  load cached:    ${cached_ms} ms   (all: ${cached[*]})"
echo "  demo wall time: ${demo_ms} ms   (all: ${demo[*]}; start, health, 5 seeds, ${scenarios} scenarios, stop)"
echo "plugin compile cold ms: ${cold_ms}, cached ms: ${cached_ms}, demo wall ms: ${demo_ms}"
