#!/usr/bin/env bash
# Builds the small test guest that `pmtrace record-vm`, the demo and the VM
# tests boot: Debian's own kernel (from the linux-image .deb, no bootloader
# hooks run) and a busybox-static initramfs whose /init runs a short workload
# and powers the machine off.
#
# The workload writes a marker generated at run time (a fresh UUID from
# /proc/sys/kernel/random/uuid, so it cannot already sit in the initramfs
# image in guest RAM) into a page-aligned buffer and prints it on the serial
# console as "PMTRACE-MARKER <uuid>"; a host that finds that text in the guest
# RAM file knows the guest wrote that page.
#
# Usage: scripts/guest.sh [--force]
#   PMTRACE_GUEST_DIR  cache folder (default .guest, git-ignored)
# The last two lines printed are the kernel's and the initramfs's paths.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${PMTRACE_GUEST_DIR:-$PWD/.guest}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
kernel=$dir/vmlinuz
initrd=$dir/initrd.cpio.gz
stamp=$dir/initrd.script-stamp

need() { command -v "$1" >/dev/null 2>&1 || { echo "guest.sh: $1 is missing (apt-get install -y $2)" >&2; exit 1; }; }
need busybox busybox-static
need dpkg-deb dpkg

if [[ ${1:-} == --force ]]; then rm -f "$kernel" "$initrd"; fi

if [[ ! -s $kernel ]]; then
    kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
    pkg=$(kernel_package)
    # A fresh machine (or a container with its package lists cleared) knows no kernel package yet.
    if [[ -z $pkg && $(id -u) -eq 0 ]]; then apt-get update -qq >&2 && pkg=$(kernel_package); fi
    [[ -n $pkg ]] || { echo "guest.sh: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
    echo "guest.sh: downloading $pkg (about 70 MB, once)" >&2
    tmp=$(mktemp -d "$dir/tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download "$pkg" >&2)
    deb=$(ls "$tmp"/*.deb)
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
    mv "$tmp"/boot/vmlinuz-* "$kernel.partial"
    mv "$kernel.partial" "$kernel"
    basename "$deb" > "$dir/kernel-package"
fi

# The init script; the initramfs is rebuilt when this script changes.
script_hash=$(sha256sum "$0" | cut -c1-16)
if [[ ! -s $initrd || ! -f $stamp || $(cat "$stamp") != "$script_hash" ]]; then
    root=$(mktemp -d "$dir/root.XXXXXX")
    mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc}
    cp "$(command -v busybox)" "$root/bin/busybox"
    for applet in sh mount echo cat dd sync poweroff seq ls head tr wc sleep mkdir rm cp; do
        ln -s busybox "$root/bin/$applet"
    done
    cat > "$root/init" <<'EOF'
#!/bin/sh
# PMTrace test guest: a short, bounded workload, then power off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t devtmpfs dev /dev
echo "PMTRACE-GUEST start"
marker=$(cat /proc/sys/kernel/random/uuid)
# A page-sized file in tmpfs: its page cache page holds the marker repeated, so
# the host finds whole copies of it in guest RAM.
i=0
: > /tmp/marker
while [ $i -lt 100 ]; do echo "PMTRACE-MARKER $marker" >> /tmp/marker; i=$((i+1)); done
echo "PMTRACE-MARKER $marker"
# Some work that dirties pages: copy, checksum-like reads, a tree walk.
dd if=/dev/zero of=/tmp/zero bs=4096 count=256 2>/dev/null
cp /bin/busybox /tmp/bb
cat /tmp/bb /tmp/zero > /dev/null
ls -R /sys/bus > /dev/null 2>&1
rm -f /tmp/zero
sync
echo "PMTRACE-GUEST done"
poweroff -f
EOF
    chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$initrd.partial"
    mv "$initrd.partial" "$initrd"
    rm -rf "$root"
    echo "$script_hash" > "$stamp"
fi

echo "$kernel"
echo "$initrd"
