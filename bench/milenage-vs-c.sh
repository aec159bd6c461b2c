#!/usr/bin/env bash
# Milenage vectors per second, ours against a C Milenage (libosmocore's libosmogsm, as used by
# Osmocom's HLR), in one run on one pinned core. Prints a markdown table of medians and ratios.
#
#   bench/milenage-vs-c.sh
#
# Environment: ROUNDS (default 5), CPU to pin to (default 1), OURS_VECTORS and C_VECTORS per mode
# and round (defaults 5000000 and 400000, about a quarter to half a second each here),
# CARGO_TARGET_DIR as for cargo.
#
# Steps: install libosmocore-dev if missing (Debian), compile bench/c/milenage_bench.c into a
# temporary directory (removed on exit; nothing of libosmocore is copied or committed), build the
# milenage_rate example, check both give TS 35.208 test set 1's XRES/CK/IK/AUTN and the same
# checksum over a common sequence, then run ours and C alternately ROUNDS times each under
# `taskset -c CPU`.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
CPU=${CPU:-1}
OURS_VECTORS=${OURS_VECTORS:-5000000}
C_VECTORS=${C_VECTORS:-400000}
CHECK_VECTORS=100000

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { echo "milenage-vs-c: $*" >&2; }
die() { log "$*"; exit 1; }

# --- C Milenage: libosmocore ---------------------------------------------------------------
if ! pkg-config --exists libosmogsm libosmocore 2>/dev/null; then
    log "installing libosmocore-dev"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "libosmocore-dev is missing and this is not root"
        SUDO=sudo
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libosmocore-dev pkg-config >/dev/null
fi
OSMO_VERSION=$(pkg-config --modversion libosmogsm)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
C_BIN=$WORK/milenage_bench
# shellcheck disable=SC2046 # pkg-config output is meant to split into flags
gcc -O2 -march=native -Wall -Wextra -o "$C_BIN" "$ROOT/bench/c/milenage_bench.c" \
    $(pkg-config --cflags --libs libosmogsm libosmocore)

# --- ours --------------------------------------------------------------------------------------
log "building the milenage_rate example (release)"
(cd "$ROOT" && cargo build --release --quiet -p hearth-bench --example milenage_rate)
OURS_BIN=$TARGET_DIR/release/examples/milenage_rate
[ -x "$OURS_BIN" ] || die "no $OURS_BIN (set CARGO_TARGET_DIR to cargo's target directory)"

# --- correctness before speed -----------------------------------------------------------------
# TS 35.208 test set 1; AUTN = (SQN xor AK) || AMF || MAC-A.
EXPECTED="xres=a54211d5e3ba50bf
ck=b40ba9a3c58b2a05bbf0d987b21bf8cb
ik=f769bcd751044604127672711c6d3441
autn=55f328b43577b9b94a9ffac354dfafb3"
OURS_VERIFY=$("$OURS_BIN" verify)
C_VERIFY=$("$C_BIN" verify)
echo "$OURS_VERIFY" | sed 's/^/ours /' >&2
echo "$C_VERIFY" | sed 's/^/c-osmo /' >&2
[ "$OURS_VERIFY" = "$EXPECTED" ] || die "ours does not give test set 1"
[ "$C_VERIFY" = "$EXPECTED" ] || die "libosmogsm does not give test set 1"

# Every mode of both programs must fold the same $CHECK_VECTORS vectors to the same checksum.
CHECKSUMS=$({ "$OURS_BIN" run "$CHECK_VECTORS"; "$C_BIN" run "$CHECK_VECTORS"; } | awk '{print $4}' | sort -u)
[ "$(echo "$CHECKSUMS" | wc -l)" -eq 1 ] || die "checksums differ over $CHECK_VECTORS vectors: $CHECKSUMS"
log "test set 1 and the checksum of $CHECK_VECTORS vectors agree ($CHECKSUMS)"

# --- timing -----------------------------------------------------------------------------------
RESULTS=$WORK/results
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS"
    taskset -c "$CPU" "$OURS_BIN" run "$OURS_VECTORS" >>"$RESULTS"
    taskset -c "$CPU" "$C_BIN" run "$C_VECTORS" >>"$RESULTS"
done

median() { # impl mode
    awk -v impl="$1" -v mode="$2" '$1 == impl && $2 == mode {print $3}' "$RESULTS" | sort -n |
        awk '{v[NR] = $1} END {if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f×", a / b}'; }
mega() { awk -v v="$1" 'BEGIN {printf "%.2f M", v / 1e6}'; }

C_API_OPC=$(median c-osmo api-opc)
C_API_OP=$(median c-osmo api-op)
C_GEN_OPC=$(median c-osmo gen-opc)
C_GEN_OP=$(median c-osmo gen-op)

row() { # label ours c_api c_gen
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(mega "$2")" "$(mega "$3")" "$(ratio "$2" "$3")" \
        "$(mega "$4")" "$(ratio "$2" "$4")"
}

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "Milenage vectors/s on one core (taskset -c $CPU), median of $ROUNDS alternating runs, $(date -u +%Y-%m-%d)"
echo "Machine: $CPU_MODEL, $(nproc) shared cores, $(uname -sr); C: libosmogsm $OSMO_VERSION (Debian), harness gcc -O2 -march=native"
echo
echo "| context | ours | C \`osmo_auth_gen_vec\` | ours / C | C \`milenage_generate\` | ours / C |"
echo "|---|---:|---:|---:|---:|---:|"
row "cached context, OPc stored" "$(median ours cached)" "$C_API_OPC" "$C_GEN_OPC"
row "fresh context per vector, OPc stored" "$(median ours fresh-opc)" "$C_API_OPC" "$C_GEN_OPC"
row "fresh context per vector, OP stored" "$(median ours fresh-op)" "$C_API_OP" "$C_GEN_OP"
echo
# The rounds alternate, so round r of ours and round r of C ran under similar machine load.
WORST=$(awk '
    $1 == "ours" && $2 == "cached" {ours[++n] = $3}
    $1 == "c-osmo" && $2 == "api-opc" {api[++a] = $3}
    $1 == "c-osmo" && $2 == "gen-opc" {gen[++g] = $3}
    END {
        for (r = 1; r <= n; r++) {
            if (r == 1 || ours[r] / api[r] < worst_api) worst_api = ours[r] / api[r]
            if (r == 1 || ours[r] / gen[r] < worst_gen) worst_gen = ours[r] / gen[r]
        }
        printf "%.1f× against osmo_auth_gen_vec, %.1f× against milenage_generate", worst_api, worst_gen
    }' "$RESULTS")
echo "Lowest single-round ratio, cached context: $WORST."
echo
echo "C keeps no context: every AES block it encrypts expands K's key schedule again, so its OPc"
echo "figure is the anchor for both the cached and the fresh OPc rows. \`osmo_auth_gen_vec\` also"
echo "derives the GSM triplet (SRES, Kc), which recomputes f2..f4."
echo
echo "Raw (impl mode vectors/s checksum):"
echo '```'
cat "$RESULTS"
echo '```'
