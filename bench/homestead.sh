#!/usr/bin/env bash
# Issue 3's benchmarks, side by side in one run (not a test):
#  1. provisions POPULATION subscribers with hearth-loadgen (Ellis's sequence) and times the
#     /public/ listing (Homestead-prov: 264 s for 100,000 with excludeuuids=true);
#  2. wrk against GET /impi/<id>/av/digest?impu=<impu> over DIGEST_SUBSCRIBERS of them on a 1-shard
#     Hearth, and against nginx (one worker) serving a body of the same size, alternately, ROUNDS
#     times; prints a markdown table of medians (req/s, p99) and the ratio.
# Server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU (2-core machines: 0 and 1).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

POPULATION=${POPULATION:-100000}
DIGEST_SUBSCRIBERS=${DIGEST_SUBSCRIBERS:-10000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

need_pkg wrk wrk
need_pkg nginx nginx
build_release

WORK=$(mktemp -d)
chmod 755 "$WORK" # nginx workers run as an unprivileged user and must read body.json
NGINX_PID=
cleanup() {
  stop_hearth
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

SIG=$(free_port); PROV=$(free_port); NGX=$(free_port)
start_hearth "$WORK/data" 1 "$SIG" "$PROV" "$SERVER_CPU"

echo "provisioning $POPULATION subscribers (Ellis's sequence)..." >&2
start=$(date +%s.%N)
taskset -c "$CLIENT_CPU" "$BIN/hearth-loadgen" provision --prov "http://127.0.0.1:$PROV" \
  -N "$POPULATION" -c 64 --quiet > "$WORK/provision.txt"
prov_secs=$(echo "$(date +%s.%N) - $start" | bc)

listing() {
  curl -s -o "$WORK/listing.json" -w '%{time_total}\n' "http://127.0.0.1:$PROV/public/?excludeuuids=$1"
}
listing true >/dev/null # warm the store's block cache once
list_true=$(for _ in $(seq "$ROUNDS"); do listing true; done | median)
list_false=$(for _ in $(seq "$ROUNDS"); do listing false; done | median)
listed=$(python3 -c "import json;print(len(json.load(open('$WORK/listing.json'))['public_ids']))")

# The exact answer body, so nginx serves the same bytes.
curl -s "http://127.0.0.1:$SIG/impi/lg0%40example.com/av/digest?impu=sip%3Alg0%40example.com" > "$WORK/body.json"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$NGX;
    root $WORK;
    location / { default_type application/json; try_files /body.json =404; }
  }
}
NGINX
taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGX/x"

run_wrk() { # URL -> "rps p99_ms"
  SUBSCRIBERS=$DIGEST_SUBSCRIBERS taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" \
    --latency -s "$(dirname "$0")/wrk/digest.lua" "$1" > "$WORK/wrk.txt"
  python3 - "$WORK/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if errors: sys.exit(f"wrk saw {errors.group(1)} error answers:\n{t}")
print(rps, p99)
PY
}
: > "$WORK/hearth.txt"; : > "$WORK/nginx.txt"
for _ in $(seq "$ROUNDS"); do
  run_wrk "http://127.0.0.1:$SIG/" >> "$WORK/hearth.txt"
  run_wrk "http://127.0.0.1:$NGX/" >> "$WORK/nginx.txt"
done
h_rps=$(cut -d' ' -f1 "$WORK/hearth.txt" | median); h_p99=$(cut -d' ' -f2 "$WORK/hearth.txt" | median)
n_rps=$(cut -d' ' -f1 "$WORK/nginx.txt" | median); n_p99=$(cut -d' ' -f2 "$WORK/nginx.txt" | median)

cat <<TABLE
## Hearth local mode, $(date -u +%F), $(nproc) cores, server CPU $SERVER_CPU, client CPU $CLIENT_CPU

Provisioning $POPULATION subscribers with hearth-loadgen (Ellis's sequence, 64 connections): ${prov_secs} s

| listing of $listed public IDs | median of $ROUNDS |
|---|---:|
| \`/public/?excludeuuids=true\` | ${list_true} s |
| \`/public/?excludeuuids=false\` | ${list_false} s |

wrk -t1 -c$CONNECTIONS -d$DURATION, random subscriber among $DIGEST_SUBSCRIBERS, medians of $ROUNDS alternating runs:

| server | req/s | p99 (ms) |
|---|---:|---:|
| Hearth, 1 shard: \`GET /impi/<id>/av/digest?impu=<impu>\` | $h_rps | $h_p99 |
| nginx, 1 worker: the same $(wc -c < "$WORK/body.json")-byte body | $n_rps | $n_p99 |
| ratio Hearth / nginx | $(echo "scale=3; $h_rps / $n_rps" | bc) | |
TABLE
