#!/usr/bin/env bash
# The main job, end to end:
#   format a region; boot a real Linux guest (Debian's kernel, a busybox
#   initramfs: scripts/guest.sh) under QEMU with the PMTrace plugin — the
#   bare-metal writer, no Swift runtime — recording a bounded window of its
#   memory accesses (guest-physical, virtual, PC), PML batches and page-image
#   checkpoints; record a real program (`ls -l /usr/bin`) in QEMU user mode
#   with its mappings and symbols; move a 256 MiB blob through another volume;
#   then reopen the region in new processes and print the volumes, per-kind
#   counts and distinct pages, dirty pages per epoch, the program's hottest
#   functions, and a full check.
# Usage: scripts/demo.sh [pool-path]   (default: /dev/shm/pmtrace-demo.pool, or /tmp/… without /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
default_dir=/tmp; [ -d /dev/shm ] && default_dir=/dev/shm
POOL=${1:-$default_dir/pmtrace-demo.pool}
BLOB=$(mktemp "$default_dir/pmtrace-demo-blob.XXXXXX")
trap 'rm -f "$BLOB"' EXIT

echo "== building (release), the QEMU plugin and the test guest"
swift build -c release --product pmtrace 2>&1 | tail -1
PMTRACE=$(swift build -c release --show-bin-path)/pmtrace
PLUGIN=$(./scripts/build-plugin.sh | tail -1)
GUEST=$(./scripts/guest.sh | tail -2)
KERNEL=$(echo "$GUEST" | head -1)
INITRD=$(echo "$GUEST" | tail -1)

echo "== formatting $POOL (3 GiB)"
"$PMTRACE" format "$POOL" --size 3G --force

echo "== booting a Linux guest under QEMU, recording 150 M accesses and a checkpoint every 60 M stores into 'linux-boot'"
"$PMTRACE" record-vm "$POOL" linux-boot --kernel "$KERNEL" --initrd "$INITRD" --memory 256M \
    --max-accesses 150000000 --checkpoint-every 60000000 --plugin "$PLUGIN"

echo "== recording 'ls -l /usr/bin' in QEMU user mode into 'ls-usr-bin'"
"$PMTRACE" record "$POOL" ls-usr-bin --plugin "$PLUGIN" -- ls -l /usr/bin > /dev/null

echo "== transferring 256 MiB through volume 'transfer'"
head -c 268435456 /dev/urandom > "$BLOB"
"$PMTRACE" write "$POOL" transfer --record-size 64K < "$BLOB"
"$PMTRACE" read "$POOL" transfer | cmp - "$BLOB"
echo "read back byte-exact"
"$PMTRACE" seal "$POOL" transfer

echo "== reopened in new processes"
"$PMTRACE" list "$POOL"
echo
"$PMTRACE" stats "$POOL" linux-boot
echo
echo "dirty pages per epoch of the guest (PML) and the page images of each checkpoint:"
"$PMTRACE" checkpoints "$POOL" linux-boot
echo
"$PMTRACE" stats "$POOL" ls-usr-bin
echo
echo "hottest functions of 'ls -l /usr/bin', by the PC of each access:"
"$PMTRACE" hot "$POOL" ls-usr-bin --as ls-usr-bin --top 12
echo
"$PMTRACE" stats "$POOL" transfer
echo
"$PMTRACE" fsck "$POOL"

# --- Analysis (issue 11): pictures and answers for the traced program. ---
echo
echo "== analysis of 'ls-usr-bin': top pages, a heatmap, the working set, SQL and Parquet"
"$PMTRACE" hot "$POOL" ls-usr-bin --by page --top 8
"$PMTRACE" hot "$POOL" ls-usr-bin --by mapping --top 8
DEMO_OUT="${DEMO_OUT:-${TMPDIR:-/tmp}/pmtrace-demo}"
mkdir -p "$DEMO_OUT"
"$PMTRACE" heatmap "$POOL" ls-usr-bin --out "$DEMO_OUT/ls-usr-bin-heatmap.svg"
"$PMTRACE" working-set "$POOL" ls-usr-bin --window 20ms --svg "$DEMO_OUT/ls-usr-bin-working-set.svg"
echo "pictures: $DEMO_OUT/ls-usr-bin-heatmap.svg, $DEMO_OUT/ls-usr-bin-working-set.svg"
PY=$(./scripts/python-env.sh | tail -1)
if "$PY" -c "import pyarrow, numpy" 2>/dev/null; then
    rm -rf "$DEMO_OUT/ls-usr-bin-parquet"
    swift build -c release --product PMTraceC 2>&1 | tail -1
    PMTRACE_LIB="$(swift build -c release --show-bin-path)/libPMTraceC.so" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
        "$PY" -m pmtrace export-parquet "$POOL" ls-usr-bin "$DEMO_OUT/ls-usr-bin-parquet"
    if "$PY" -c "import duckdb" 2>/dev/null; then
        echo "top pages by DuckDB over the Parquet files (the same as hot --by page above):"
        "$PY" -c "import duckdb, sys; print(duckdb.sql(\"select printf('0x%x', (address >> 12) << 12) as page, count(*) as accesses from read_parquet('\" + sys.argv[1] + \"/**/*.parquet', hive_partitioning = true) group by address >> 12 order by accesses desc limit 8\"))" "$DEMO_OUT/ls-usr-bin-parquet"
    else
        echo "(duckdb is not installed: pip install duckdb to query the Parquet files)"
    fi
else
    echo "(Parquet export skipped: pip install ./python for NumPy/PyArrow)"
fi
