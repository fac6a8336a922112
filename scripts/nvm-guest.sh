#!/usr/bin/env bash
# Boots the test guest with an emulated NVDIMM and lets the real Linux kernel
# describe and configure it: the guest prints its ACPI NFIT and SRAT (base64)
# on the serial console, turns the NVDIMM's label-less namespace into an
# fsdax or devdax namespace through sysfs (the kernel writes the info block
# 4 KiB into the NVDIMM), and prints the physical addresses the kernel reports
# for the region, the namespace and the data (the pfn/dax device's resource).
#
# Usage: scripts/nvm-guest.sh <fsdax|devdax|raw> <out-dir>
#   writes <out-dir>/NFIT, <out-dir>/SRAT (as the guest read them),
#   <out-dir>/nv.img (the NVDIMM's backing file, 256 MiB, sparse),
#   <out-dir>/kernel.txt (the guest's "NVM-…" lines) and <out-dir>/console.log.
#   PMTRACE_GUEST_DIR  cache folder (default .guest; the kernel package and
#                      modules are kept in <dir>/nvm)
# Needs qemu-system-x86, busybox-static, dpkg (scripts/setup.sh installs them).
# One boot takes a few seconds (TCG).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: nvm-guest.sh <fsdax|devdax|raw> <out-dir>}
out=${2:?usage: nvm-guest.sh <fsdax|devdax|raw> <out-dir>}
case "$mode" in fsdax|devdax|raw) ;; *) echo "nvm-guest.sh: mode must be fsdax, devdax or raw" >&2; exit 2 ;; esac
dir=${PMTRACE_GUEST_DIR:-$PWD/.guest}/nvm
mkdir -p "$dir" "$out"
dir=$(cd "$dir" && pwd)
out=$(cd "$out" && pwd)
kernel=$dir/vmlinuz
initrd=$dir/initrd-nvm.cpio.gz
stamp=$dir/initrd-nvm.stamp

# Kernel and the modules the NVDIMM needs, from Debian's linux-image .deb.
modules=(libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem)
scripts/nvm-kernel.sh "$dir"

script_hash=$(sha256sum "$0" | cut -c1-16)
if [[ ! -s $initrd || ! -f $stamp || $(cat "$stamp") != "$script_hash" ]]; then
    root=$(mktemp -d "$dir/root.XXXXXX")
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/nvm}
    cp "$(command -v busybox)" "$root/bin/busybox"
    for a in $(busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"; done
    for m in "${modules[@]}"; do cp "$dir/modules/$m.ko" "$root/lib/nvm/"; done
    cat > "$root/init" <<'INIT'
#!/bin/sh
# PMTrace NVM guest: load the NVDIMM drivers, dump the tables, configure the
# namespace as the kernel command line asks (pmtrace.nvm=fsdax|devdax|raw).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem; do insmod /lib/nvm/$m.ko || echo "NVM-ERROR insmod $m"; done
for t in NFIT SRAT; do
    echo "NVM-TABLE-BEGIN $t"
    base64 /sys/firmware/acpi/tables/$t
    echo "NVM-TABLE-END $t"
done
mode=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^pmtrace.nvm=//p')
bus=/sys/bus/nd/devices
region=$bus/region0
i=0; while [ ! -e $bus/namespace0.0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
echo "NVM-REGION $(cat $region/resource) $(cat $region/size)"
echo "NVM-NAMESPACE $(cat $bus/namespace0.0/resource) $(cat $bus/namespace0.0/size) $(cat $bus/namespace0.0/mode)"
if [ "$mode" != raw ]; then
    # Take the namespace from nd_pmem, put a pfn (fsdax) or dax (devdax) device on it, bind that.
    echo namespace0.0 > /sys/bus/nd/drivers/nd_pmem/unbind
    if [ "$mode" = fsdax ]; then dev=$(cat $region/pfn_seed); driver=nd_pmem; else dev=$(cat $region/dax_seed); driver=dax_pmem; fi
    cat /proc/sys/kernel/random/uuid > $bus/$dev/uuid
    echo pmem > $bus/$dev/mode  # the memmap (struct pages) in the namespace, before the data
    echo namespace0.0 > $bus/$dev/namespace
    echo $dev > /sys/bus/nd/drivers/$driver/bind || echo "NVM-ERROR bind $dev to $driver"
    echo "NVM-DEVICE $dev $(cat $bus/$dev/mode 2>/dev/null) $(cat $bus/$dev/align)"
    echo "NVM-DATA $(cat $bus/$dev/resource) $(cat $bus/$dev/size)"
    ls /dev/pmem* /dev/dax* 2>/dev/null | sed 's/^/NVM-DEV /'
fi
sync
echo "NVM-DONE"
poweroff -f
INIT
    chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -6) > "$initrd.partial"
    mv "$initrd.partial" "$initrd"
    rm -rf "$root"
    echo "$script_hash" > "$stamp"
fi

nv=$out/nv.img
rm -f "$nv"  # QEMU reuses an existing mem-path file
truncate -s 256M "$nv"
timeout 120 qemu-system-x86_64 -accel tcg -machine pc,nvdimm=on -m 512M,slots=2,maxmem=2G \
    -object memory-backend-file,id=nv0,share=on,mem-path="$nv",size=256M -device nvdimm,id=nvdimm0,memdev=nv0 \
    -nographic -no-reboot -nic none -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 pmtrace.nvm=$mode" </dev/null > "$out/console.log" 2>&1
tr -d '\r' < "$out/console.log" > "$out/console.txt"
for t in NFIT SRAT; do
    # (the console's first line may start with terminal escapes: match the marker at the end of a line)
    awk -v t="$t" '$0 ~ ("NVM-TABLE-BEGIN " t "$") {on = 1; next} $0 ~ ("NVM-TABLE-END " t "$") {on = 0} on' "$out/console.txt" | base64 -d > "$out/$t"
done
grep -o 'NVM-.*' "$out/console.txt" | grep -v '^NVM-TABLE' > "$out/kernel.txt" || true
grep -q '^NVM-DONE' "$out/kernel.txt" || { echo "nvm-guest.sh: the guest did not finish (see $out/console.log)" >&2; exit 1; }
cat "$out/kernel.txt"
