#!/usr/bin/env bash
# A guest that keeps its trace store on its NVDIMM (issue 10, part 3).
# Boots Debian's kernel with an emulated NVDIMM (as nvm-guest.sh does) and an
# initramfs that carries pmtrace (scripts/build-guest-pmtrace.sh: Swift
# runtime linked in statically; the shared libraries ldd lists and the
# dynamic loader are copied in) and nvm-probe (scripts/guest/nvm-probe.c, a
# static program with symbols). The guest uses /dev/dax0.0 (devdax) as the
# region: libpmem2 maps it through the real kernel's DAX path.
#
# Usage: scripts/nvm-store-guest.sh <run> <out-dir> [kill-after]
#   write  fresh NVDIMM: the guest makes a devdax namespace, formats
#          /dev/dax0.0, imports nvm-probe's symbols, writes a blob, a marker
#          and a stream (4 MiB, committed every 64 KiB), runs fsck and powers
#          off normally.
#   kill   as write up to the marker, then `pmtrace _torture-writer` appends
#          forever, committing every few records; the guest prints each
#          acknowledged commit as "NVM-ACK <sequence>". The host SIGKILLs QEMU
#          once it has seen <kill-after> acknowledgements (0: when the stream
#          starts) and writes <out-dir>/killed ("<acks when killed> <acks on
#          the console in all> <last acknowledged sequence, -1 for none>").
#   read   the reverse direction: <out-dir>/nv.img must already hold a devdax
#          namespace (from an earlier boot) with a region the host formatted
#          at the data offset (volumes host-blob, host-markers; nvm-probe's
#          symbols). The guest's kernel finds the info block itself; the
#          guest lists, checks (fsck), reads the blob and prints its SHA-256,
#          dumps the markers and symbolizes nvm-probe's own addresses.
# Writes <out-dir>/console.log, console.txt and guest.txt (the "NVM-…" lines,
# also printed). The NVDIMM's backing file is <out-dir>/nv.img (256 MiB).
#   PMTRACE_GUEST_DIR  cache folder (default .guest; kernel, modules and the
#                      initramfs are kept in <dir>/nvm)
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: nvm-store-guest.sh <write|kill|read> <out-dir> [kill-after]"
run=${1:?$usage}
out=${2:?$usage}
kill_after=${3:-}
case "$run" in
    write|read) ;;
    kill) [[ $kill_after =~ ^[0-9]+$ ]] || { echo "nvm-store-guest.sh: kill needs the number of acknowledgements to wait for" >&2; exit 2; } ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
dir=${PMTRACE_GUEST_DIR:-$PWD/.guest}/nvm
mkdir -p "$dir" "$out"
dir=$(cd "$dir" && pwd)
out=$(cd "$out" && pwd)
modules=(libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem)
scripts/nvm-kernel.sh "$dir"
pmtrace_bin=$(scripts/build-guest-pmtrace.sh | tail -1)
initrd=$dir/initrd-store.cpio
stamp=$dir/initrd-store.stamp
probe_src=scripts/guest/nvm-probe.c
want=$(cat "$0" "$pmtrace_bin" "$probe_src" | sha256sum | cut -c1-16)

if [[ ! -s $initrd || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    root=$(mktemp -d "$dir/root.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/nvm}
    cp "$(command -v busybox)" "$root/bin/busybox"
    for a in $(busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"; done
    for m in "${modules[@]}"; do cp "$dir/modules/$m.ko" "$root/lib/nvm/"; done
    cp "$pmtrace_bin" "$root/bin/pmtrace"
    # The shared libraries pmtrace needs (libpmem2, libndctl, libdaxctl, glibc, …) and the loader, at their paths.
    ldd "$pmtrace_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    if ldd "$pmtrace_bin" | grep -q 'not found'; then echo "nvm-store-guest.sh: pmtrace needs a library that is not installed" >&2; ldd "$pmtrace_bin" >&2; exit 1; fi
    ${CC:-cc} -static -no-pie -O1 -Wall -Werror -o "$dir/nvm-probe" "$probe_src"
    cp "$dir/nvm-probe" "$root/bin/nvm-probe"
    cat > "$root/init" <<'INIT'
#!/bin/sh
# PMTrace NVM store guest (scripts/nvm-store-guest.sh): pmtrace on /dev/dax0.0.
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem; do insmod /lib/nvm/$m.ko || echo "NVM-ERROR insmod $m"; done
run=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^pmtrace.run=//p')
bus=/sys/bus/nd/devices
region=$bus/region0
R=/dev/dax0.0
P=/bin/pmtrace
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; }
# Runs a command, prefixing its output (stdout and stderr) with NVM-<label>, then its exit status.
step() {
    label=$1; shift
    t0=$(cut -d' ' -f1 /proc/uptime)
    "$@" > /tmp/step.out 2>&1; rc=$?
    sed "s/^/NVM-$label /" /tmp/step.out
    echo "NVM-$label-STATUS $rc"
    echo "NVM-TIME $label $t0 $(cut -d' ' -f1 /proc/uptime)"
}
sha() { sha256sum | cut -d' ' -f1; }
dmesg | grep -E 'Unpacking|initramfs|initrd|Run /init|Freeing' | sed 's/^/NVM-KLOG /'
echo "NVM-TIME modules 0 $(cut -d' ' -f1 /proc/uptime)"
wait_for $bus/namespace0.0
if [ "$run" = read ]; then
    # The backing file holds the info block an earlier boot wrote: the kernel makes the dax device itself.
    wait_for $R
    dev=$(cd $bus && for d in dax*; do [ "$(cat $d/namespace 2>/dev/null)" = namespace0.0 ] && echo $d; done | head -1)
else
    echo namespace0.0 > /sys/bus/nd/drivers/nd_pmem/unbind
    dev=$(cat $region/dax_seed)
    cat /proc/sys/kernel/random/uuid > $bus/$dev/uuid
    echo pmem > $bus/$dev/mode
    echo namespace0.0 > $bus/$dev/namespace
    echo $dev > /sys/bus/nd/drivers/dax_pmem/bind || echo "NVM-ERROR bind $dev to dax_pmem"
    wait_for $R
fi
echo "NVM-DEVICE $dev $(cat $bus/$dev/align 2>/dev/null) $(cat $region/persistence_domain 2>/dev/null)"
echo "NVM-DATA $(cat $bus/$dev/resource 2>/dev/null) $(cat $bus/$dev/size 2>/dev/null)"
ls -l $R | sed 's/^/NVM-DEV /'
case "$run" in
write|kill)
    step FORMAT $P format $R --size 1M --force  # a device: --size is ignored, --force needed
    step SYMBOLS $P symbols import $R /bin/nvm-probe --app nvm-probe
    /bin/nvm-probe
    head -c 1048576 /dev/urandom > /tmp/blob
    step BLOB-WRITE $P write $R blob --record-size 4K --commit-every 64K < /tmp/blob
    echo "NVM-BLOB $(sha < /tmp/blob) $(wc -c < /tmp/blob)"
    marker="guest marker $(cat /proc/sys/kernel/random/uuid)"
    printf '%s' "$marker" | step MARKER-WRITE $P write $R markers --marker
    echo "NVM-MARKER $marker"
    if [ "$run" = kill ]; then
        step CREATE $P create $R stream
        echo "NVM-STREAM-BEGIN"
        # Each line is the sequence number of a record whose commit returned.
        $P _torture-writer $R stream 2>&1 | while read -r s; do echo "NVM-ACK $s"; done
        echo "NVM-ERROR the stream ended"
    else
        head -c 4194304 /dev/urandom > /tmp/stream
        step STREAM-WRITE $P write $R stream --record-size 4K --commit-every 64K < /tmp/stream
        echo "NVM-STREAM $(sha < /tmp/stream) $(wc -c < /tmp/stream)"
        step FSCK $P fsck $R
    fi
    ;;
read)
    step LIST $P list $R
    step FSCK $P fsck $R
    echo "NVM-READ $($P read $R host-blob | sha)"
    step DUMP $P dump $R host-markers
    step SYMBOLIZE $P symbolize $R --app nvm-probe $(/bin/nvm-probe | cut -d' ' -f3)
    ;;
*) echo "NVM-ERROR unknown run '$run'" ;;
esac
sync
echo "NVM-DONE"
poweroff -f
INIT
    chmod +x "$root/init"
    # Not compressed: unpacking a gzip of the static pmtrace costs more under TCG than loading it.
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) > "$initrd.partial"
    mv "$initrd.partial" "$initrd"
    echo "$want" > "$stamp"
fi

nv=$out/nv.img
if [[ $run == read ]]; then
    [[ -s $nv ]] || { echo "nvm-store-guest.sh: read needs $nv (a devdax namespace with a region the host wrote)" >&2; exit 2; }
else
    rm -f "$nv"  # QEMU reuses an existing mem-path file
    truncate -s 256M "$nv"
fi
rm -f "$out/killed" "$out/console.fifo"
mkfifo "$out/console.fifo"
start=$(date +%s.%N)
qemu-system-x86_64 -accel tcg -machine pc,nvdimm=on -m 512M,slots=2,maxmem=2G \
    -object memory-backend-file,id=nv0,share=on,mem-path="$nv",size=256M -device nvdimm,id=nvdimm0,memdev=nv0 \
    -nographic -no-reboot -nic none -kernel "$dir/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 pmtrace.run=$run" </dev/null > "$out/console.fifo" 2>&1 &
qemu=$!
exec 3< "$out/console.fifo"
rm -f "$out/console.fifo"
: > "$out/console.log"
seen=-1 last=-1 killed=
# Read the console as it comes; SIGKILL QEMU at the wanted acknowledgement (waits for lines, not for time).
while whole=1; IFS= read -r -t 300 line <&3 || { whole=0; [[ -n $line ]]; }; do
    printf '%s\n' "$line" >> "$out/console.log"
    line=${line%$'\r'}
    # The last line, cut off by the kill (no newline), may end inside the
    # sequence number ("NVM-ACK 1" of 15, or "NVM-ACK "): only whole lines count.
    (( whole )) || continue
    case $line in
        *NVM-STREAM-BEGIN) seen=0 ;;
        *NVM-ACK\ *)
            # (a line the kernel's own output broke into tells no sequence: not counted)
            [[ $line =~ NVM-ACK\ ([0-9]+)$ ]] || { echo "nvm-store-guest.sh: not counted, a garbled acknowledgement: $line" >&2; continue; }
            seen=$((seen + 1)); last=${BASH_REMATCH[1]} ;;
        *) continue ;;
    esac
    if [[ $run == kill && -z $killed && $seen -ge $kill_after ]]; then
        kill -KILL "$qemu"
        killed=$seen
    fi
done
kill -KILL "$qemu" 2>/dev/null || true  # (a guest that printed nothing for 300 s)
{ wait "$qemu"; } 2>/dev/null || true  # (bash would report "Killed")
exec 3<&-
end=$(date +%s.%N)
tr -d '\r' < "$out/console.log" > "$out/console.txt"
grep -o 'NVM-.*' "$out/console.txt" > "$out/guest.txt" || true
cat "$out/guest.txt"
printf 'NVM-HOST seconds %.1f\n' "$(echo "$end - $start" | bc 2>/dev/null || echo 0)"
if [[ $run == kill ]]; then
    [[ -n $killed ]] || { echo "nvm-store-guest.sh: the guest never reached $kill_after acknowledgements (see $out/console.log)" >&2; exit 1; }
    # Acknowledgements already in the pipe when QEMU died count too: report the last one read.
    echo "$killed $seen $last" > "$out/killed"
    echo "NVM-HOST killed at acknowledgement $killed; $seen on the console in all, the last for sequence $last"
else
    grep -q '^NVM-DONE' "$out/guest.txt" || { echo "nvm-store-guest.sh: the guest did not finish (see $out/console.log)" >&2; exit 1; }
fi
