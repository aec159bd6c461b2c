#!/usr/bin/env bash
# Issue 4's benchmark runs, side by side in one run (not a test):
#  1. provisions POPULATION subscribers with hearth-loadgen itself (Ellis's sequence);
#  2. a register/call mix over them, open loop at MIX_RATE and closed loop, with --check, writing
#     .hgrm/.json files and one latency-by-percentile SVG overlaying the runs;
#  3. the digest AV request with 1 and with 2 shards (closed loop), ROUNDS alternating runs, medians.
# Prints a markdown table; OUT (default bench/results/<date>) keeps the files and the plot.
# Store choices: only the embedded store exists so far (the Cassandra store is issue 7).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

POPULATION=${POPULATION:-100000}
MIX_RATE=${MIX_RATE:-4000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
WEIGHTS=${WEIGHTS:-register=1,reregister=4,call=10,deregister=1}
OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
build_release

WORK=$(mktemp -d)
trap 'stop_hearth; rm -rf "$WORK"' EXIT
LG="$BIN/hearth-loadgen"

SIG=$(free_port); PROV=$(free_port)
start_hearth "$WORK/data" 2 "$SIG" "$PROV"
echo "provisioning $POPULATION subscribers..." >&2
"$LG" provision --prov "http://127.0.0.1:$PROV" -N "$POPULATION" -c 64 -q --json "$OUT/provision.json" >/dev/null

flow() { # NAME ARGS... : one mix run with its files
  local name=$1; shift
  "$LG" mix --target "http://127.0.0.1:$SIG" -N "$POPULATION" --weights "$WEIGHTS" --check \
    -t 1 -c 32 -d "$DURATION" -q --label "$name" --hgrm "$OUT/$name.hgrm" --json "$OUT/$name.json" "$@" >/dev/null
}
flow "mix-open-${MIX_RATE}rps" -R "$MIX_RATE"
flow "mix-closed" 
"$LG" plot --out "$OUT/mix.svg" --title "Hearth, register/call mix over $POPULATION subscribers" \
  "$OUT/mix-open-${MIX_RATE}rps.hgrm" "$OUT/mix-closed.hgrm"
stop_hearth

# 1 vs 2 shards on the same data (closed loop, the digest AV request).
digest_rps() { # SHARDS -> req/s
  start_hearth "$WORK/data" "$1" "$SIG" "$PROV"
  "$LG" url "http://127.0.0.1:$SIG/impi/lg7%40example.com/av/digest?impu=sip%3Alg7%40example.com" \
    -t 1 -c 64 -d 10s -q --json "$WORK/url.json" >/dev/null
  stop_hearth
  python3 -c "import json;d=json.load(open('$WORK/url.json'));print(round(d['rate_achieved']), d['latency_ms']['p99'])"
}
: > "$WORK/s1"; : > "$WORK/s2"
for _ in $(seq "$ROUNDS"); do digest_rps 1 >> "$WORK/s1"; digest_rps 2 >> "$WORK/s2"; done

row() { # FILE.json -> "| label | mode | rate asked | achieved | flows/s | errors | p50 | p90 | p99 | p99.9 | max |"
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
l = d["latency_ms"]
asked = f'{d["rate_asked"]:.0f}' if d["rate_asked"] else "max"
print(f'| {d["label"]} | {d["mode"]} | {asked} | {d["rate_achieved"]:.0f} | {d["flows"]["rate"]:.0f} | '
      f'{d["errors"]["total"]} | {l["p50"]:.3f} | {l["p90"]:.3f} | {l["p99"]:.3f} | {l["p99_9"]:.3f} | {l["max"]:.3f} |')
PY
}
cat <<TABLE
## hearth-loadgen runs, $(date -u +%F), $(nproc) cores (server and client share them)

Provisioned $POPULATION subscribers with \`hearth-loadgen provision\` (Ellis's sequence, 64 connections):
$(python3 -c "import json;d=json.load(open('$OUT/provision.json'));print(f\"{d['elapsed_s']:.1f} s, {d['flows']['rate']:.0f} subscribers/s, {d['errors']['total']} errors\")")

Mix \`$WEIGHTS\` over the $POPULATION subscribers, 2 shards, 1 client thread, 32 connections,
$DURATION, answers checked (\`--check\`); latency per HTTP request in ms:

| run | mode | asked req/s | achieved req/s | flows/s | errors | p50 | p90 | p99 | p99.9 | max |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(row "$OUT/mix-open-${MIX_RATE}rps.json")
$(row "$OUT/mix-closed.json")

Plot: $OUT/mix.svg

Digest AV (\`GET /impi/<id>/av/digest?impu=\`), closed loop, 64 connections, medians of $ROUNDS:

| shards | req/s | p99 (ms) |
|---|---:|---:|
| 1 | $(cut -d' ' -f1 "$WORK/s1" | median) | $(cut -d' ' -f2 "$WORK/s1" | median) |
| 2 | $(cut -d' ' -f1 "$WORK/s2" | median) | $(cut -d' ' -f2 "$WORK/s2" | median) |
TABLE
