#!/usr/bin/env bash
# Compares portwatch with the field's tools on the same simulated darknet
# capture and prints ratios measured in one run (the machine is shared and
# noisy: absolute rates move, ratios measured back to back move less).
#
#   scripts/bench-compare.sh [PACKETS] [SOURCES]     (default 5000000 200000)
#
# Measures, on the same file:
#   tcpdump -nr FILE -w /dev/null        libpcap's bare read loop
#   nfpcapd -r FILE -w DIR               pcap -> NetFlow records (nfdump)
#   tshark -q -z io,stat,60 -r CUT       on a 500k-packet cut (tshark holds ~1.4 KB/packet)
#   portwatch analyze --no-store         decode + classify + aggregate (1 worker, then all cores)
#   portwatch analyze --db FILE          the same plus merging into SQLite on disk
#   portwatch on the first fifth         time per packet stays the same (linear)
# Each line: wall seconds, packets/s, peak RSS (from /usr/bin/time). Each
# command runs REPEAT times (default 3, back to back): the line gives the
# fastest run (the one least disturbed by other work on a shared machine)
# and the largest peak RSS of all runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-5000000}
SOURCES=${2:-200000}
OUT=${BENCH_OUT:-bench-out}
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p portwatch-cli
PW="$CARGO_TARGET_DIR/release/portwatch"
CAP="$OUT/bench-${PACKETS}.pcap"
if [ ! -f "$CAP" ]; then
  echo "simulating $PACKETS packets from $SOURCES sources into $CAP ..."
  "$PW" simulate --out "$CAP" --hours 48 --packets "$PACKETS" --sources "$SOURCES" --seed 5 2>/dev/null
fi
N=$(capinfos -c -M "$CAP" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}')
N=${N:-$PACKETS}

REPEAT=${REPEAT:-3}
declare -A SECS RSS
measure() { # name, command...: the fastest of REPEAT runs, the largest RSS
  local name=$1; shift
  local t s r i
  SECS[$name]=""; RSS[$name]=0
  for ((i = 0; i < REPEAT; i++)); do
    # time's report goes to a file: the command's own stderr is discarded.
    /usr/bin/time -o "$OUT/time.txt" -f '%e %M' "$@" >/dev/null 2>/dev/null || true
    t=$(tail -1 "$OUT/time.txt")
    s=${t% *}; r=${t#* }
    if [ -z "${SECS[$name]}" ] || awk -v a="$s" -v b="${SECS[$name]}" 'BEGIN { exit !(a < b) }'; then
      SECS[$name]=$s
    fi
    if [ "$r" -gt "${RSS[$name]}" ]; then RSS[$name]=$r; fi
  done
}
run() { # name, command...
  local name=$1; shift
  measure "$name" "$@"
  awk -v n="$N" -v s="${SECS[$name]}" -v r="${RSS[$name]}" -v name="$name" \
    'BEGIN { printf "%-28s %8.2f s %12.0f packets/s %8.0f MiB\n", name, s, (s > 0 ? n / s : 0), r / 1024 }'
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { print (s > 0 ? n / s : 0) }'; }

echo "capture: $CAP ($N packets)"
run "tcpdump -w /dev/null" tcpdump -nr "$CAP" -w /dev/null
run "portwatch 1 worker" "$PW" analyze "$CAP" --no-store --workers 1 --format json
# Every thread on one core: the honest "one core" figure (the line above
# lets the reader and the aggregating worker run on two).
if command -v taskset >/dev/null; then
  run "portwatch pinned, 1 core" taskset -c 0 "$PW" analyze "$CAP" --no-store --workers 1 --format json
fi
run "portwatch all cores" "$PW" analyze "$CAP" --no-store --format json
# Each run starts from an empty store (a second run into the same file
# would find every batch merged already and skip the work).
run "portwatch --db (SQLite)" sh -c 'rm -f "$1"*; exec "$2" analyze "$3" --db "$1" --format json' \
  sh "$OUT/bench.db" "$PW" "$CAP"
if command -v nfpcapd >/dev/null; then
  run "nfpcapd" sh -c 'rm -rf "$1"; mkdir -p "$1"; exec nfpcapd -r "$2" -w "$1"' sh "$OUT/flows" "$CAP"
fi
# Linear time: the same run on the first fifth of the capture.
if command -v editcap >/dev/null; then
  FIFTH=$((N / 5))
  SMALL="$OUT/cut-fifth-${PACKETS}.pcap"
  [ -f "$SMALL" ] || editcap -r "$CAP" "$SMALL" "1-$FIFTH"
  measure fifth "$PW" analyze "$SMALL" --no-store --workers 1 --format json
  awk -v n="$FIFTH" -v s="${SECS[fifth]}" -v r="${RSS[fifth]}" \
    'BEGIN { printf "%-28s %8.2f s %12.0f packets/s %8.0f MiB (first fifth)\n", "portwatch 1 worker", s, n / s, r / 1024 }'
fi
if command -v tshark >/dev/null; then
  CUT="$OUT/cut-500k.pcap"
  [ -f "$CUT" ] || editcap -r "$CAP" "$CUT" 1-500000
  NCUT=500000
  measure tshark tshark -q -z io,stat,60 -r "$CUT"
  awk -v n="$NCUT" -v s="${SECS[tshark]}" -v r="${RSS[tshark]}" \
    'BEGIN { printf "%-28s %8.2f s %12.0f packets/s %8.0f MiB (500k cut)\n", "tshark io,stat,60", s, n / s, r / 1024 }'
fi

echo
tcp=$(rate "$N" "${SECS[tcpdump -w /dev/null]}")
one=$(rate "$N" "${SECS[portwatch 1 worker]}")
all=$(rate "$N" "${SECS[portwatch all cores]}")
awk -v t="$tcp" -v o="$one" -v a="$all" 'BEGIN {
  printf "portwatch 1 worker / tcpdump read loop: %.2f (target >= 0.5 on one core)\n", o / t
  printf "portwatch all cores / tcpdump read loop: %.2f (target >= 1.0)\n", a / t }'
if [ -n "${SECS[portwatch pinned, 1 core]:-}" ]; then
  pin=$(rate "$N" "${SECS[portwatch pinned, 1 core]}")
  awk -v t="$tcp" -v p="$pin" 'BEGIN { printf "portwatch pinned to 1 core / tcpdump read loop: %.2f (target >= 0.5)\n", p / t }'
fi
if [ -n "${SECS[nfpcapd]:-}" ]; then
  nf=$(rate "$N" "${SECS[nfpcapd]}")
  awk -v n="$nf" -v a="$all" 'BEGIN { printf "portwatch all cores / nfpcapd: %.1f (target >= 15)\n", a / n }'
fi
if [ -n "${SECS[tshark]:-}" ]; then
  ts=$(rate 500000 "${SECS[tshark]}")
  awk -v s="$ts" -v a="$all" 'BEGIN { printf "portwatch all cores / tshark: %.0f\n", a / s }'
fi
if [ -n "${SECS[fifth]:-}" ]; then
  awk -v f="${SECS[fifth]}" -v w="${SECS[portwatch 1 worker]}" -v n="$N" 'BEGIN {
    printf "time per packet, whole / first fifth: %.2f (1.00 is linear; %.0f vs %.0f ns)\n", (w / n) / (f / int(n / 5)), w / n * 1e9, f / int(n / 5) * 1e9 }'
fi
echo "peak RSS portwatch all cores: ${RSS[portwatch all cores]} KiB, with --db: ${RSS[portwatch --db (SQLite)]} KiB (target < 524288)"
