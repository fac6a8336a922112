#!/usr/bin/env bash
# Builds the pmtrace CLI that the NVM store guest carries: release, the Swift
# runtime and Foundation linked in statically (--static-swift-stdlib), as
# scripts/install.sh builds it and in the same scratch directory
# (.build-install/cli, so an install and the guest share one build), then
# stripped into .build-guest/pmtrace. It still needs libpmem2 & co. and glibc:
# nvm-store-guest.sh copies what ldd lists into the initramfs.
#
# Usage: scripts/build-guest-pmtrace.sh [--force]
#   PMTRACE_BUILD_DIR  scratch path of the release build (default .build-install)
# Skips the build when no source is newer than the stripped binary. The last
# line printed is the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PMTRACE_GUEST_PMTRACE_OUT:-$PWD/.build-guest}
scratch=${PMTRACE_BUILD_DIR:-$PWD/.build-install}
bin=$out/pmtrace
mkdir -p "$out"
if [[ ${1:-} != --force && -x $bin ]] \
    && [[ -z $(find Sources include Package.swift "$0" -newer "$bin" 2>/dev/null | head -1) ]]; then
    echo "$bin"
    exit 0
fi
swift build -c release --scratch-path "$scratch/cli" --static-swift-stdlib --product pmtrace >&2
strip -o "$bin.tmp" "$scratch/cli/release/pmtrace"
mv -f "$bin.tmp" "$bin"
echo "$bin"
