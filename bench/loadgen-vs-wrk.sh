#!/usr/bin/env bash
# hearth-loadgen vs wrk, closed loop, against nginx (one worker) serving a small static file on a
# loopback port. Same threads and connections for both tools, runs alternating, medians reported.
#
#   bench/loadgen-vs-wrk.sh                 # 1 thread, 32 connections, 5 s, 3 runs each
#   THREADS=2 CONNS=64 SECS=10 RUNS=5 bench/loadgen-vs-wrk.sh
#
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx) and python3. Builds hearth-loadgen
# with the release profile unless LOADGEN=/path/to/hearth-loadgen is given; CARGO_TARGET_DIR is
# honoured. Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail

THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
SECS=${SECS:-5}
RUNS=${RUNS:-3}
FILE_BYTES=${FILE_BYTES:-128}

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in wrk nginx python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk nginx)" >&2; exit 1; }
done

if [[ -z "${LOADGEN:-}" ]]; then
    (cd "$root" && cargo build --release -q -p hearth-loadgen)
    LOADGEN="${CARGO_TARGET_DIR:-$root/target}/release/hearth-loadgen"
fi
[[ -x "$LOADGEN" ]] || { echo "no hearth-loadgen binary at $LOADGEN" >&2; exit 1; }

work=$(mktemp -d /tmp/loadgen-vs-wrk.XXXXXX)
nginx_pid=""
cleanup() {
    if [[ -n "$nginx_pid" ]]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/html" "$work/logs"
head -c "$FILE_BYTES" /dev/zero | tr '\0' 'x' >"$work/html/index.html"
# nginx workers run as an unprivileged user when started as root.
chmod 755 "$work" "$work/html"
chmod 644 "$work/html/index.html"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    client_body_temp_path $work/tmp;
    proxy_temp_path $work/tmp;
    fastcgi_temp_path $work/tmp;
    uwsgi_temp_path $work/tmp;
    scgi_temp_path $work/tmp;
    server {
        listen 127.0.0.1:$port;
        root $work/html;
    }
}
EOF
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf" -p "$work" -e "$work/logs/error.log" &
nginx_pid=$!
url="http://127.0.0.1:$port/index.html"
for _ in $(seq 1 50); do
    if python3 - "$port" <<'EOF' 2>/dev/null; then break; fi
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
EOF
    sleep 0.1
done

echo "nginx 1 worker on $url (${FILE_BYTES}-byte file); ${THREADS} thread(s), ${CONNS} connections, ${SECS} s, ${RUNS} runs each, alternating"
results="$work/results.txt"
: >"$results"
for run in $(seq 1 "$RUNS"); do
    wrk_out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$url")
    wrk_rate=$(awk '/^Requests\/sec:/ {print $2}' <<<"$wrk_out")
    to_ms() { python3 -c 'import sys,re
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)$", v)
print(float(m.group(1))*{"us":1e-3,"ms":1,"s":1e3}[m.group(2)] if m else "nan")' "$1"; }
    wrk_p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$wrk_out")")
    wrk_p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$wrk_out")")
    echo "wrk $run $wrk_rate $wrk_p50 $wrk_p99" | tee -a "$results"

    "$LOADGEN" url "$url" -t "$THREADS" -c "$CONNS" -d "${SECS}s" --warmup 0 -q \
        --json "$work/lg.json" >/dev/null
    python3 - "$work/lg.json" "$run" <<'EOF' | tee -a "$results"
import json, sys
d = json.load(open(sys.argv[1]))
l = d["latency_ms"]
print(f"hearth-loadgen {sys.argv[2]} {d['rate_achieved']:.1f} {l['p50']} {l['p99']} errors={d['errors']['total']}")
EOF
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(tool, i):
    return [float(r[i]) for r in rows if r[0] == tool]
print()
print(f"{'tool':16} {'median req/s':>14} {'runs (req/s)':>40} {'p50 ms':>8} {'p99 ms':>8}")
med = {}
for tool in ("wrk", "hearth-loadgen"):
    rates = col(tool, 2)
    med[tool] = statistics.median(rates)
    runs = ", ".join(f"{r:.0f}" for r in rates)
    print(f"{tool:16} {med[tool]:14.0f} {runs:>40} {statistics.median(col(tool, 3)):8.3f} {statistics.median(col(tool, 4)):8.3f}")
print(f"\nhearth-loadgen / wrk (median rates): {med['hearth-loadgen'] / med['wrk']:.3f}")
EOF
