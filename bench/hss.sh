#!/usr/bin/env bash
# Issue 5's benchmark (not a test): REST → Cx → hss-sim, against its anchor in the same run.
#  - HSS mode: `hearth serve --hss-peer` in front of `hearth hss-sim --subscribers N` (generated
#    population, prefix lg: subscriber i is lg{i}@example.com with password "password", as
#    hearth-loadgen names and provisions them); every GET /impi/<id>/av/digest is a MAR/MAA.
#  - Anchor: the same endpoint in local mode, on the same N subscribers provisioned through the
#    provisioning API (same HA1, same answer bytes), so the ratio is the cost of the Cx round trip.
# Each with 1 and 2 shards, closed loop (hearth-loadgen url, {i} uniform over the N subscribers,
# CONNECTIONS connections, DURATION), the four runs alternating ROUNDS times; prints a markdown
# table of medians (req/s, p99, errors).
# Nothing is pinned: Hearth, hss-sim and the load generator share the machine's cores.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

SUBSCRIBERS=${SUBSCRIBERS:-10000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SIM_LATENCY_MS=${SIM_LATENCY_MS:-0}

build_release

WORK=$(mktemp -d)
SIM_PID=
cleanup() {
  stop_hearth
  [ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

SIG=$(free_port); PROV=$(free_port); DIA=$(free_port); CTL=$(free_port)
HEARTH_LOG=warn "$BIN/hearth" hss-sim --listen "127.0.0.1:$DIA" --control-addr "127.0.0.1:$CTL" \
  --subscribers "$SUBSCRIBERS" --latency-ms "$SIM_LATENCY_MS" > "$WORK/sim.out" &
SIM_PID=$!
wait_http "http://127.0.0.1:$CTL/ping"

# The anchor's subscribers, provisioned once (Ellis's sequence) and kept for both shard counts.
start_hearth "$WORK/local" 2 "$SIG" "$PROV"
echo "provisioning $SUBSCRIBERS subscribers for the local-mode anchor..." >&2
"$BIN/hearth-loadgen" provision --prov "http://127.0.0.1:$PROV" -N "$SUBSCRIBERS" -c 64 -q > /dev/null
stop_hearth

URL="http://127.0.0.1:$SIG/impi/lg{i}%40example.com/av/digest?impu=sip%3Alg{i}%40example.com"
start_mode() { # MODE SHARDS
  case $1 in
    local) start_hearth "$WORK/local" "$2" "$SIG" "$PROV" ;;
    hss) start_hearth "$WORK/hss" "$2" "$SIG" "$PROV" "" --hss-peer "127.0.0.1:$DIA" ;;
  esac
  # Ready when requests for a few subscribers (owned by different shards) are answered: in HSS
  # mode, once every shard's link is open.
  local i
  for i in 0 1 2 3 4 5 6 7; do
    local probe="http://127.0.0.1:$SIG/impi/lg$i%40example.com/av/digest?impu=sip%3Alg$i%40example.com"
    local tries=300
    until [ "$(curl -s -o "$WORK/$1.body" -w '%{http_code}' "$probe")" = 200 ]; do
      tries=$((tries - 1))
      [ "$tries" -gt 0 ] || { echo "$1 mode with $2 shards never answered 200" >&2; return 1; }
      sleep 0.1
    done
  done
}
run() { # MODE SHARDS -> "req/s p99 errors" appended to $WORK/MODE-SHARDS
  start_mode "$1" "$2"
  "$BIN/hearth-loadgen" url "$URL" -N "$SUBSCRIBERS" -t 1 -c "$CONNECTIONS" -d "$DURATION" -q \
    --json "$WORK/run.json" > /dev/null || true # errors are reported in the table
  stop_hearth
  python3 -c "import json;d=json.load(open('$WORK/run.json'));print(round(d['rate_achieved']), d['latency_ms']['p99'], d['errors']['total'])" \
    >> "$WORK/$1-$2"
}
for _ in $(seq "$ROUNDS"); do
  for shards in 1 2; do
    run local "$shards"
    run hss "$shards"
  done
done
# Both modes answered the probe with the same digest.
cmp -s "$WORK/local.body" "$WORK/hss.body" || { echo "local and HSS answers differ" >&2; exit 1; }
mars=$(curl -s "http://127.0.0.1:$CTL/stats" | python3 -c "import json,sys;print(json.load(sys.stdin)['requests'].get('MAR',0))")

col() { cut -d' ' -f"$2" "$WORK/$1" | median; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<TABLE
## REST → Cx → hss-sim, $(date -u +%F), $(nproc) cores (Hearth, hss-sim and the client share them)

\`GET /impi/lg{i}@example.com/av/digest?impu=sip:lg{i}@example.com\`, i uniform over $SUBSCRIBERS
subscribers, closed loop, 1 client thread, $CONNECTIONS connections, $DURATION per run, medians of
$ROUNDS alternating runs. HSS mode: one hss-sim peer (answer latency ${SIM_LATENCY_MS} ms), every
request a MAR/MAA ($mars MARs answered in all). Local mode: the same subscribers provisioned in the
embedded store (the anchor).

| shards | local req/s | local p99 (ms) | HSS req/s | HSS p99 (ms) | HSS / local req/s | errors local / HSS |
|---|---:|---:|---:|---:|---:|---:|
$(for s in 1 2; do
  l=$(col "local-$s" 1); h=$(col "hss-$s" 1)
  echo "| $s | $l | $(col "local-$s" 2) | $h | $(col "hss-$s" 2) | $(ratio "$h" "$l") | $(col "local-$s" 3) / $(col "hss-$s" 3) |"
done)
TABLE
