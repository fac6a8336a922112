#!/usr/bin/env bash
# Throughput of `pmtrace write` of a 1 GiB file on /dev/shm into a fresh region on
# /dev/shm, at libpmem2's page granularity and with PMEM2_FORCE_GRANULARITY=CACHE_LINE,
# next to `cp` of the same file to /dev/shm, in the same run, alternating, median of N.
# Usage: scripts/measure-write.sh [runs=5] [size-MiB=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}; MIB=${2:-1024}
swift build -c release --product pmtrace >/dev/null
PMTRACE=$(swift build -c release --show-bin-path)/pmtrace
D=/dev/shm; IN=$D/pmtrace-measure.in; POOL=$D/pmtrace-measure.pool; OUT=$D/pmtrace-measure.cp
trap 'rm -f "$IN" "$POOL" "$OUT"' EXIT
head -c $((MIB << 20)) /dev/urandom > "$IN"
now() { date +%s%N; }
declare -A T
run() {  # name, command...
    local name=$1; shift
    local t0 t1; t0=$(now); "$@"; t1=$(now)
    T[$name]+="$(( (t1 - t0) / 1000 )) "
}
write_page() { rm -f "$POOL"; "$PMTRACE" format "$POOL" --size $((MIB + MIB / 16 + 16))M >/dev/null; "$PMTRACE" write "$POOL" v < "$IN" 2>/dev/null; }
write_cl() { rm -f "$POOL"; "$PMTRACE" format "$POOL" --size $((MIB + MIB / 16 + 16))M >/dev/null; PMEM2_FORCE_GRANULARITY=CACHE_LINE "$PMTRACE" write "$POOL" v < "$IN" 2>/dev/null; }
copy() { rm -f "$OUT"; cp "$IN" "$OUT"; }
write_page; copy  # warm-up
for _ in $(seq "$RUNS"); do run page write_page; run cacheline write_cl; run cp copy; done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cp_us=$(echo "${T[cp]}" | median)
printf "%-44s %10s %10s %12s\n" "command ($MIB MiB, median of $RUNS)" "seconds" "MiB/s" "time vs cp"
for k in page cacheline cp; do
    us=$(echo "${T[$k]}" | median)
    label=$k
    [ "$k" = page ] && label="pmtrace format+write (page granularity)"
    [ "$k" = cacheline ] && label="pmtrace format+write (FORCE=CACHE_LINE)"
    [ "$k" = cp ] && label="cp to /dev/shm"
    awk -v l="$label" -v us="$us" -v mib="$MIB" -v c="$cp_us" 'BEGIN { printf "%-44s %10.3f %10.0f %11.2fx\n", l, us/1e6, mib/(us/1e6), us/c }'
done
