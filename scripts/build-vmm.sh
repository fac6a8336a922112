#!/usr/bin/env bash
# Builds the bare-metal writer: TraceFormat + TracePayloads + TraceVolume + PMTraceABI
# (+ NVMDiscovery, the entry points of include/pmtrace_nvm.h) compiled with Embedded Swift for x86_64-unknown-none-elf into one static
# archive holding the C entry points of include/pmtrace.h. Link it with
# include/pmtrace_vmm.h, which lists what the host must provide.
#
# The three modules are linked into one relocatable object (ld -r), together
# with the members of the Embedded Swift runtime's Unicode data tables that
# String comparison of volume names needs; every symbol but the pmt_* entry
# points is then made local, so the archive cannot clash with the host's own
# symbols (or another Embedded Swift library's runtime).
#
# Usage: scripts/build-vmm.sh [--force]
#   PMTRACE_VMM_OUT  output directory (default .build-vmm)
#   PMTRACE_VMM_OPT  optimization flag (default -Osize; -O is faster, bigger)
# Rebuilds only when a source, a header or this script is newer than the
# archive (or with --force). The last line printed is the archive's path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${PMTRACE_VMM_OUT:-$root/.build-vmm}
opt=${PMTRACE_VMM_OPT:--Osize}
archive=$out/libpmtrace_vmm.a
target=x86_64-unknown-none-elf
bin=$(dirname "$(readlink -f "$(command -v swiftc)")")
tables=$bin/../lib/swift/embedded/$target/libswiftUnicodeDataTables.a

sources=(Sources/TraceFormat/*.swift Sources/TracePayloads/*.swift Sources/TraceVolume/*.swift Sources/PMTraceABI/*.swift Sources/NVMDiscovery/*.swift include/*.h include/module.modulemap "$0")
if [[ ${1:-} != --force && -f $archive && -f $out/opt && $(cat "$out/opt") == "$opt" ]] \
    && [[ -z $(find "${sources[@]}" -newer "$archive" 2>/dev/null) ]]; then
    echo "$archive"
    exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# -function-sections: a host linking with --gc-sections keeps only what its
# calls reach (a writer that never calls fsck-like code drops about a quarter).
E=(-package-name PMTrace -enable-experimental-feature Embedded -wmo -parse-as-library
   -Xfrontend -disable-stack-protector -Xfrontend -function-sections
   -target "$target" "$opt" -warnings-as-errors -I "$tmp" -I include)
start=$SECONDS
swiftc "${E[@]}" -module-name TraceFormat -emit-module -emit-module-path "$tmp/TraceFormat.swiftmodule" \
    -c Sources/TraceFormat/*.swift -o "$tmp/TraceFormat.o"
swiftc "${E[@]}" -module-name TracePayloads -emit-module -emit-module-path "$tmp/TracePayloads.swiftmodule" \
    -c Sources/TracePayloads/*.swift -o "$tmp/TracePayloads.o"
swiftc "${E[@]}" -module-name TraceVolume -emit-module -emit-module-path "$tmp/TraceVolume.swiftmodule" \
    -c Sources/TraceVolume/*.swift -o "$tmp/TraceVolume.o"
swiftc "${E[@]}" -module-name PMTraceABI -c Sources/PMTraceABI/*.swift -o "$tmp/PMTraceABI.o"
# NVM discovery (include/pmtrace_nvm.h): where persistent memory is, before any OS runs.
swiftc "${E[@]}" -module-name NVMDiscovery -c Sources/NVMDiscovery/*.swift -o "$tmp/NVMDiscovery.o"

"$bin/ld.lld" -r -o "$tmp/pmtrace_vmm.o" "$tmp/TraceFormat.o" "$tmp/TracePayloads.o" "$tmp/TraceVolume.o" "$tmp/PMTraceABI.o" "$tmp/NVMDiscovery.o" "$tables"
"$bin/llvm-objcopy" --wildcard --keep-global-symbol='pmt_*' "$tmp/pmtrace_vmm.o"
rm -f "$tmp/lib.a"
"$bin/llvm-ar" rcsD "$tmp/lib.a" "$tmp/pmtrace_vmm.o"
mv -f "$tmp/lib.a" "$archive"
echo "$opt" > "$out/opt"
echo "built in $((SECONDS - start)) s: $(stat -c %s "$archive") bytes; undefined: $("$bin/llvm-nm" -u "$archive" | awk '$1 == "U" {print $2}' | sort -u | tr '\n' ' ')" >&2
echo "$archive"
