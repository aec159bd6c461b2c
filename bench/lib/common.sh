# Shared helpers for the bench scripts: builds, free ports, server start/stop, medians.
# Source it; it sets ROOT and BIN.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

build_release() {
  (cd "$ROOT" && cargo build --release -q -p hearth -p hearth-loadgen)
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL: waits up to 30 s for a 200.
wait_http() {
  local url=$1
  for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $url" >&2
  return 1
}

# need_pkg CMD PACKAGE: installs a Debian package if CMD is missing.
need_pkg() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2"
}

# median of the numbers on stdin
median() {
  sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# start_hearth DATA_DIR SHARDS SIG_PORT PROV_PORT [taskset cpus] [serve options...]: starts the
# release server in the background, sets HEARTH_PID.
start_hearth() {
  local data=$1 shards=$2 sig=$3 prov=$4 cpus=${5:-}
  local extra=("${@:6}")
  local pin=()
  [ -n "$cpus" ] && pin=(taskset -c "$cpus")
  HEARTH_LOG=warn "${pin[@]}" "$BIN/hearth" serve --data-dir "$data" --shards "$shards" \
    --signalling-addr "127.0.0.1:$sig" --provisioning-addr "127.0.0.1:$prov" "${extra[@]}" &
  HEARTH_PID=$!
  wait_http "http://127.0.0.1:$prov/ping"
}

stop_hearth() {
  [ -n "${HEARTH_PID:-}" ] || return 0
  kill -TERM "$HEARTH_PID" 2>/dev/null || true
  wait "$HEARTH_PID" 2>/dev/null || true
  HEARTH_PID=
}
