#!/usr/bin/env bash
# The main job, end to end:
#   format a region, record a real program's memory accesses with valgrind lackey
#   into a named volume, move a 256 MiB blob through another volume, then reopen
#   the region in new processes and print the list and the stats.
# Usage: scripts/demo.sh [pool-path]   (default: /dev/shm/pmtrace-demo.pool, or /tmp/… without /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
default_dir=/tmp; [ -d /dev/shm ] && default_dir=/dev/shm
POOL=${1:-$default_dir/pmtrace-demo.pool}
BLOB=$(mktemp "$default_dir/pmtrace-demo-blob.XXXXXX")
trap 'rm -f "$BLOB"' EXIT

echo "== building (release)"
swift build -c release --product pmtrace 2>&1 | tail -1
PMTRACE=$(swift build -c release --show-bin-path)/pmtrace

echo "== formatting $POOL (1 GiB)"
"$PMTRACE" format "$POOL" --size 1G --force

echo "== tracing 'ls -l /usr/bin' with valgrind lackey into volume 'ls-usr-bin'"
valgrind --tool=lackey --trace-mem=yes --log-fd=3 ls -l /usr/bin 3>&1 1>/dev/null 2>/dev/null \
    | "$PMTRACE" import-lackey "$POOL" ls-usr-bin -

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
"$PMTRACE" stats "$POOL" transfer
