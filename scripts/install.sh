#!/usr/bin/env bash
# Installs PMTrace under a prefix (default /usr/local):
#   bin/pmtrace                              the CLI (Swift runtime linked in statically)
#   lib/libPMTraceC.so                       the C library of include/pmtrace.h (Swift runtime linked in
#                                            statically; exports only pmt_*)
#   include/pmtrace.h, pmtrace_region.h, pmtrace_vmm.h
#   lib/pkgconfig/pmtrace.pc                 cc prog.c $(pkg-config --cflags --libs pmtrace)
#   share/man/man1/pmtrace*.1                swift-argument-parser's generate-manual, hidden commands left out
#   share/bash-completion/completions/pmtrace, share/zsh/site-functions/_pmtrace,
#   share/fish/vendor_completions.d/pmtrace.fish   (volume names completed from the pool on the line)
#   share/doc/pmtrace/{README.md,FORMAT.md,CHANGELOG.md,LICENSE}
# Nothing installed needs the Swift toolchain at run time; libpmem2 (Debian: libpmem2-1) does.
#
# Usage: scripts/install.sh [--prefix <dir>]
#   PMTRACE_BUILD_DIR  scratch path of the release build (default .build-install)
#   DESTDIR            staged install root, as usual (files go to $DESTDIR$prefix)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prefix=/usr/local
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (usage: scripts/install.sh [--prefix <dir>])" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) prefix=$PWD/$prefix ;; esac
dest=${DESTDIR:-}$prefix
scratch=${PMTRACE_BUILD_DIR:-$root/.build-install}

# The version, from the one place it is defined (include/pmtrace_region.h).
macro() { awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' include/pmtrace_region.h; }
version="$(macro PMT_VERSION_MAJOR).$(macro PMT_VERSION_MINOR).$(macro PMT_VERSION_PATCH)"

echo "install.sh: building PMTrace $version (release) in $scratch"
# One scratch directory per set of flags: sharing one would rebuild everything each time.
swift build -c release --scratch-path "$scratch/cli" --static-swift-stdlib --product pmtrace
# A dynamic library ignores --static-swift-stdlib: -static-stdlib goes to swiftc itself.
swift build -c release --scratch-path "$scratch/lib" --product PMTraceC -Xswiftc -static-stdlib \
    -Xlinker --version-script="$root/scripts/pmtrace-c.map" -Xlinker --gc-sections
swift build -c release --scratch-path "$scratch/tools" --product generate-manual
bin=$scratch/cli/release lib=$scratch/lib/release tools=$scratch/tools/release

install -d "$dest/bin" "$dest/lib/pkgconfig" "$dest/include" "$dest/share/man/man1" "$dest/share/doc/pmtrace" \
    "$dest/share/bash-completion/completions" "$dest/share/zsh/site-functions" "$dest/share/fish/vendor_completions.d"
install -m 755 -s "$bin/pmtrace" "$dest/bin/pmtrace"
install -m 755 "$lib/libPMTraceC.so" "$dest/lib/libPMTraceC.so"
install -m 644 include/pmtrace.h include/pmtrace_region.h include/pmtrace_vmm.h "$dest/include/"
install -m 644 README.md FORMAT.md CHANGELOG.md LICENSE "$dest/share/doc/pmtrace/"

sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" scripts/pmtrace.pc.in > "$dest/lib/pkgconfig/pmtrace.pc"

# Man pages: one per command; hidden commands (shouldDisplay false in the
# tool's help dump) are removed, with every reference to them.
man=$(mktemp -d)
trap 'rm -rf "$man"' EXIT
"$tools/generate-manual" "$bin/pmtrace" --multi-page --output-directory "$man"
hidden=$("$bin/pmtrace" --experimental-dump-help | python3 -c '
import json, sys
def walk(c, path):
    for s in c.get("subcommands") or []:
        p = path + [s["commandName"]]
        if s.get("shouldDisplay") is False:
            print(".".join(p))
        walk(s, p)
walk(json.load(sys.stdin)["command"], ["pmtrace"])')
for h in $hidden; do
    rm -f "$man/$h.1"
    sed -i "/\\b${h//./\\.}\\b/d" "$man"/*.1
done
install -m 644 "$man"/*.1 "$dest/share/man/man1/"

"$bin/pmtrace" --generate-completion-script bash > "$dest/share/bash-completion/completions/pmtrace"
"$bin/pmtrace" --generate-completion-script zsh > "$dest/share/zsh/site-functions/_pmtrace"
"$bin/pmtrace" --generate-completion-script fish > "$dest/share/fish/vendor_completions.d/pmtrace.fish"

echo "install.sh: installed PMTrace $version under $dest"
echo "$dest"
