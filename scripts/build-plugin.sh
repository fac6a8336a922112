#!/usr/bin/env bash
# Builds the QEMU TCG plugin (plugins/qemu/pmtrace_qemu.c) linked with the
# bare-metal writer archive (scripts/build-vmm.sh, built here with -O into
# .build-plugin/): no Swift runtime in the plugin, only libc and pthreads.
# The same .so serves qemu-system-x86_64 and qemu-x86_64 (user mode).
#
# Usage: scripts/build-plugin.sh [--force]
# Rebuilds only when a source is newer than the plugin. The last line printed
# is the plugin's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PMTRACE_PLUGIN_OUT:-$PWD/.build-plugin}
plugin=$out/pmtrace_qemu.so
archive=$(PMTRACE_VMM_OUT=$out PMTRACE_VMM_OPT=-O scripts/build-vmm.sh ${1:-} | tail -1)
if [[ ${1:-} != --force && -f $plugin && ! $archive -nt $plugin ]] \
    && [[ -z $(find plugins/qemu include "$0" -newer "$plugin" 2>/dev/null) ]]; then
    echo "$plugin"
    exit 0
fi
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "build-plugin.sh: no C compiler ($cc); apt-get install -y gcc" >&2; exit 1; }
"$cc" -std=gnu11 -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -msse4.2 \
    -Iinclude -Iplugins/qemu plugins/qemu/pmtrace_qemu.c "$archive" \
    -Wl,--gc-sections -lpthread -o "$plugin.tmp.$$"  # per process: tests may build it concurrently
mv -f "$plugin.tmp.$$" "$plugin"
echo "$plugin"
