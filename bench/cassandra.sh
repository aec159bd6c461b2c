#!/usr/bin/env bash
# Issue 7's benchmark (not a test): the embedded store against the Cassandra store, same run, same
# machine, with hearth-loadgen:
#  1. provisions POPULATION subscribers (Ellis's sequence, 64 connections) on each store;
#  2. digest AV (GET /impi/<id>/av/digest?impu=), closed loop;
#  3. reg-data PUT {"reqtype":"reg"} on one registered subscriber (a re-registration: read,
#     state machine, no write), closed loop;
#  4. registrations that write: a register/deregister flow mix over the population (each
#     reg-data PUT changes the state, so each is a store write), closed loop.
# A single-node Cassandra runs on the same machine (tests/cassandra/cassandra.sh), so both stores
# compete with the client and the server for the same cores. Prints a markdown table.
#
# HEARTH_BIN_DIR=/path/to/target/debug uses existing binaries instead of building release ones.
# VIEW_TTL_MS sets [cassandra] view_cache_ttl_ms for the Cassandra runs (default 0: every request
# reads Cassandra, as several nodes sharing it need).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

POPULATION=${POPULATION:-10000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SHARDS=${SHARDS:-2}
VIEW_TTL_MS=${VIEW_TTL_MS:-0}

if [ -n "${HEARTH_BIN_DIR:-}" ]; then
  BIN=$HEARTH_BIN_DIR
else
  build_release
fi
LG="$BIN/hearth-loadgen"

bash "$ROOT/tests/cassandra/cassandra.sh" start
WORK=$(mktemp -d)
PREFIX="bench$(date +%s | tail -c 7)"
cleanup() {
  stop_hearth
  "$BIN/hearth" schema --drop --cassandra-keyspace-prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
printf '[cassandra]\nview_cache_ttl_ms = %s\n' "$VIEW_TTL_MS" > "$WORK/cassandra.toml"

SIG=$(free_port); PROV=$(free_port)
start_store() { # embedded|cassandra
  local args=(--data-dir "$WORK/data" --shards "$SHARDS"
    --signalling-addr "127.0.0.1:$SIG" --provisioning-addr "127.0.0.1:$PROV")
  if [ "$1" = cassandra ]; then
    args+=(--store cassandra --cassandra-keyspace-prefix "$PREFIX" --config "$WORK/cassandra.toml")
  fi
  HEARTH_LOG=warn "$BIN/hearth" serve "${args[@]}" &
  HEARTH_PID=$!
  wait_http "http://127.0.0.1:$PROV/ping"
}

measure() { # STORE -> fills $WORK/<store>-*.json
  local store=$1 sig="http://127.0.0.1:$SIG"
  start_store "$store"
  "$LG" provision --prov "http://127.0.0.1:$PROV" -N "$POPULATION" -c 64 -q \
    --json "$WORK/$store-provision.json" >/dev/null
  "$LG" url "$sig/impi/lg7%40example.com/av/digest?impu=sip%3Alg7%40example.com" \
    -t 1 -c "$CONNECTIONS" -d "$DURATION" -q --json "$WORK/$store-digest.json" >/dev/null
  local reg="$sig/impu/sip%3Alg7%40example.com/reg-data?private_id=lg7%40example.com"
  curl -s -o /dev/null -X PUT -d '{"reqtype":"reg"}' "$reg"
  "$LG" url "$reg" -m PUT --body '{"reqtype":"reg"}' \
    -t 1 -c "$CONNECTIONS" -d "$DURATION" -q --json "$WORK/$store-rereg.json" >/dev/null
  "$LG" mix --target "$sig" -N "$POPULATION" --weights register=1,deregister=1 --check \
    -t 1 -c "$CONNECTIONS" -d "$DURATION" -q --json "$WORK/$store-regwrite.json" >/dev/null
  stop_hearth
}
measure embedded
measure cassandra

python3 - "$WORK" "$POPULATION" "$DURATION" "$CONNECTIONS" "$SHARDS" "$VIEW_TTL_MS" <<'PY'
import json, os, sys
work, population, duration, connections, shards, ttl = sys.argv[1:]
def load(store, run):
    return json.load(open(os.path.join(work, f"{store}-{run}.json")))
print(f"## Embedded vs Cassandra store, {os.cpu_count()} cores shared by Hearth ({shards} shards), "
      f"hearth-loadgen (1 thread, {connections} connections, {duration}) and a local single-node "
      f"Cassandra 5.0 (view_cache_ttl_ms = {ttl})\n")
print("| run | store | req/s | flows/s | errors (HTTP status or failed check) | p50 ms | p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|")
runs = [("provision", f"provision {population} subscribers (Ellis's sequence)"),
        ("digest", "digest AV, one subscriber"),
        ("rereg", "reg-data PUT reg (re-registration), one subscriber"),
        ("regwrite", "register/deregister flows (a write per reg-data PUT)")]
for run, label in runs:
    for store in ("embedded", "cassandra"):
        d = load(store, run)
        l = d["latency_ms"]
        flows = d.get("flows", {}).get("rate") or 0
        e = d["errors"]
        detail = ", ".join(f"{k}: {v}" for k, v in sorted((e.get("status") or {}).items()))
        detail += (", " if detail and e.get("check") else "") + (
            ", ".join(f"{k}: {v}" for k, v in sorted(e["check"].items()))
            if isinstance(e.get("check"), dict) else "")
        errors = f"{e['total']}" + (f" ({detail})" if e["total"] and detail else "")
        print(f"| {label} | {store} | {d['rate_achieved']:.0f} | {flows:.0f} | "
              f"{errors} | {l['p50']:.2f} | {l['p99']:.2f} |")
PY
