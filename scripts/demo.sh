#!/usr/bin/env bash
# The main job, end to end:
#   format a region, record a real program's memory accesses with valgrind lackey
#   into a named volume, import the symbols of the program and its libraries with
#   the maps they were loaded at, move a 256 MiB blob through another volume, then
#   reopen the region in new processes and print the list, the stats and the
#   hottest functions of the trace.
# Usage: scripts/demo.sh [pool-path]   (default: /dev/shm/pmtrace-demo.pool, or /tmp/… without /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
default_dir=/tmp; [ -d /dev/shm ] && default_dir=/dev/shm
POOL=${1:-$default_dir/pmtrace-demo.pool}
BLOB=$(mktemp "$default_dir/pmtrace-demo-blob.XXXXXX")
TRACE=$(mktemp "$default_dir/pmtrace-demo-lackey.XXXXXX")
MAPS=$(mktemp "$default_dir/pmtrace-demo-maps.XXXXXX")
trap 'rm -f "$BLOB" "$TRACE" "$MAPS"' EXIT

echo "== building (release)"
swift build -c release --product pmtrace 2>&1 | tail -1
PMTRACE=$(swift build -c release --show-bin-path)/pmtrace

echo "== formatting $POOL (1 GiB)"
"$PMTRACE" format "$POOL" --size 1G --force

echo "== tracing 'ls -l /usr/bin' with valgrind lackey into volume 'ls-usr-bin'"
# valgrind runs the guest program in its own process: while it runs, its
# /proc/<pid>/maps shows where ls and its libraries are loaded (what a guest
# agent would hand the hypervisor). Save it once the C library is mapped.
valgrind --tool=lackey --trace-mem=yes --log-fd=3 ls -l /usr/bin 3>"$TRACE" >/dev/null 2>&1 &
VG=$!
for _ in $(seq 400); do
    grep -q 'libc\.so' "/proc/$VG/maps" 2>/dev/null && grep -q 'libpcre2' "/proc/$VG/maps" 2>/dev/null && break
    sleep 0.025
done
cat "/proc/$VG/maps" > "$MAPS" 2>/dev/null || true
wait "$VG"
"$PMTRACE" import-lackey "$POOL" ls-usr-bin "$TRACE"
rm -f "$TRACE"

echo "== importing the symbols of ls and its libraries, and where they were mapped"
"$PMTRACE" maps import "$POOL" --pid "$VG" --maps-file "$MAPS" --as ls-usr-bin

echo "== transferring 256 MiB through volume 'transfer'"
head -c 268435456 /dev/urandom > "$BLOB"
"$PMTRACE" write "$POOL" transfer --record-size 64K < "$BLOB"
"$PMTRACE" read "$POOL" transfer | cmp - "$BLOB"
echo "read back byte-exact"
"$PMTRACE" seal "$POOL" transfer

echo "== reopened in new processes"
"$PMTRACE" list "$POOL"
echo
"$PMTRACE" stats "$POOL" ls-usr-bin
echo
"$PMTRACE" symbols list "$POOL"
echo
echo "hottest functions of the trace, by access count:"
"$PMTRACE" hot "$POOL" ls-usr-bin --as ls-usr-bin --top 15
echo
"$PMTRACE" stats "$POOL" transfer
echo
"$PMTRACE" fsck "$POOL"
