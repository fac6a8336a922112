#!/usr/bin/env bash
# TraceFormat, and the whole of TraceVolume (the writer path included), and
# NVMDiscovery (ACPI SRAT/NFIT and namespace info blocks from untrusted bytes) must
# compile under Embedded Swift for a bare-metal VMM (no Foundation, no
# existentials, no reflection). The first command is the acceptance check.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
swiftc -enable-experimental-feature Embedded -wmo -parse-as-library -Xfrontend -disable-stack-protector -target x86_64-unknown-none-elf -c Sources/TraceFormat/*.swift -o "$tmp/TraceFormat.o"
E=(-package-name PMTrace -enable-experimental-feature Embedded -wmo -parse-as-library -Xfrontend -disable-stack-protector -target x86_64-unknown-none-elf)
swiftc "${E[@]}" -module-name TraceFormat -emit-module -emit-module-path "$tmp/TraceFormat.swiftmodule" \
    -c Sources/TraceFormat/*.swift -o "$tmp/TraceFormat-module.o"
swiftc "${E[@]}" -module-name TracePayloads -I "$tmp" -warnings-as-errors -c Sources/TracePayloads/*.swift -o "$tmp/TracePayloads.o"
swiftc "${E[@]}" -module-name TraceVolume -I "$tmp" -I include -warnings-as-errors -c Sources/TraceVolume/*.swift -o "$tmp/TraceVolume.o"
swiftc "${E[@]}" -module-name NVMDiscovery -warnings-as-errors -c Sources/NVMDiscovery/*.swift -o "$tmp/NVMDiscovery.o"
echo "embedded check: TraceFormat.o $(stat -c %s "$tmp/TraceFormat.o") bytes, TracePayloads.o $(stat -c %s "$tmp/TracePayloads.o") bytes, TraceVolume.o $(stat -c %s "$tmp/TraceVolume.o") bytes, NVMDiscovery.o $(stat -c %s "$tmp/NVMDiscovery.o") bytes (x86_64-unknown-none-elf)"
