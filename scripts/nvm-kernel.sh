#!/usr/bin/env bash
# Fetches, once, Debian's kernel and the modules an emulated NVDIMM needs
# (libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem) from the linux-image
# .deb into <dir> (vmlinuz, modules/*.ko). Used by nvm-guest.sh and
# nvm-store-guest.sh. The .deb has no modules.dep: the load order the guests
# use follows each module's `depends=` in its .modinfo.
#
# Usage: scripts/nvm-kernel.sh <dir>
set -euo pipefail
dir=${1:?usage: nvm-kernel.sh <dir>}
mkdir -p "$dir"
modules=(libnvdimm nd_btt nd_pmem nfit device_dax dax_pmem)
if [[ ! -s $dir/vmlinuz || ! -s $dir/modules/dax_pmem.ko ]]; then
    deb=$(ls "$dir"/deb/linux-image-*.deb 2>/dev/null | head -1 || true)
    if [[ -z $deb ]]; then
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
        [[ -n $pkg ]] || { echo "nvm-kernel.sh: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
        echo "nvm-kernel.sh: downloading $pkg (about 70 MB, once)" >&2
        mkdir -p "$dir/deb"
        (cd "$dir/deb" && apt-get download "$pkg" >&2)
        deb=$(ls "$dir"/deb/linux-image-*.deb | head -1)
    fi
    tmp=$(mktemp -d "$dir/tmp.XXXXXX")
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' \
        './lib/modules/*/kernel/drivers/nvdimm/*' './lib/modules/*/kernel/drivers/acpi/nfit/*' './lib/modules/*/kernel/drivers/dax/*'
    mkdir -p "$dir/modules"
    for m in "${modules[@]}"; do cp "$(find "$tmp" -name "$m.ko" | head -1)" "$dir/modules/"; done
    mv "$tmp"/boot/vmlinuz-* "$dir/vmlinuz"
    rm -rf "$tmp"
fi
