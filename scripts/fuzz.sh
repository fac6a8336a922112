#!/usr/bin/env bash
# Fuzzes with libFuzzer and AddressSanitizer for a given time.
# Usage: scripts/fuzz.sh [seconds=60] [corpus-dir=.fuzz-corpus[-TARGET]] [target=mount]
# Targets:
#   mount    — mount + read + fsck of a region image (Sources/FuzzTarget); seeds are
#              real images (small regions with volumes, records across segments, a
#              symbol table), written by pmtrace itself.
#   symbols  — symbol-table lookups from arbitrary symbol-chunk bytes (Sources/FuzzSymbols);
#              seeds are chunks encoded from FORMAT.md §8.8 by scripts/symbol-chunk-seeds.py.
#   demangle — the bounded demangler on arbitrary names (Sources/FuzzDemangle); seeds are
#              real C++ and Swift names and nested back-references.
#   nvm      — ACPI SRAT/NFIT and namespace info blocks from arbitrary bytes (Sources/FuzzNVM);
#              seeds are the iasl-compiled test tables (Tests/NVMDiscoveryTests/Fixtures).
# A crash leaves crash-<sha1> in the current directory; replay it with the
# printed binary and the file as its argument.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SECONDS_TO_RUN=${1:-60}
TARGET=${3:-mount}
case "$TARGET" in
    mount) PRODUCT=PMTraceFuzzTarget; DEFAULT_CORPUS=.fuzz-corpus; FLAGS=(-max_len=2097152) ;;
    symbols) PRODUCT=PMTraceFuzzSymbols; DEFAULT_CORPUS=.fuzz-corpus-symbols; FLAGS=(-max_len=262144) ;;
    demangle) PRODUCT=PMTraceFuzzDemangle; DEFAULT_CORPUS=.fuzz-corpus-demangle; FLAGS=(-max_len=4096 -timeout=10 -rss_limit_mb=1024) ;;
    nvm) PRODUCT=PMTraceFuzzNVM; DEFAULT_CORPUS=.fuzz-corpus-nvm; FLAGS=(-max_len=16384) ;;
    *) echo "fuzz: unknown target '$TARGET' (mount, symbols, demangle, nvm)" >&2; exit 2 ;;
esac
CORPUS=${2:-$DEFAULT_CORPUS}
mkdir -p "$CORPUS"
if [ -z "$(ls -A "$CORPUS")" ]; then
    echo "fuzz: making seeds in $CORPUS"
    case "$TARGET" in
    mount)
        swift build --product pmtrace >/dev/null
        PMTRACE=$(swift build --show-bin-path)/pmtrace
        for i in 1 2 3; do
            P="$CORPUS/seed-$i.img"
            "$PMTRACE" format "$P" --size 2M --segment-size 64K --volume-slots 4 --max-lanes 2 --force >/dev/null
            head -c $((i * 70000)) /dev/urandom | "$PMTRACE" write "$P" "v$i" --record-size $((i * 3000)) 2>/dev/null
        done
        "$PMTRACE" create "$CORPUS/seed-3.img" lanes --lanes 2 >/dev/null
        "$PMTRACE" symbols import "$CORPUS/seed-2.img" /usr/bin/true >/dev/null || true
        ;;
    symbols)
        python3 scripts/symbol-chunk-seeds.py "$CORPUS"
        ;;
    demangle)
        swift build --product pmtrace >/dev/null
        for lib in /lib/x86_64-linux-gnu/libstdc++.so.6 "$(swift build --show-bin-path)/pmtrace"; do
            [ -e "$lib" ] || continue
            # One awk reads all of nm's output (no SIGPIPE under pipefail): every 97th mangled name, at most 200.
            { nm "$lib" 2>/dev/null || true; } | awk -v dir="$CORPUS" -v lib="$(basename "$lib")" \
                '$NF ~ /^(_Z|\$s)/ && ++seen % 97 == 0 && ++n <= 200 { f = dir "/name-" lib "-" n; printf "%s", $NF > f; close(f) }'
        done
        printf '%s' '_Z1fPFvPFviEEPFvS_S_EPFvS0_S0_EPFvS1_S1_E' > "$CORPUS/nested-substitutions"
        printf '%s' '_Z1fIPFvT_T_EEvT_PFvT_T_E' > "$CORPUS/nested-template-params"
        printf '%s' '_Z1fIJiiiEEvDpPFvDpT_S_E' > "$CORPUS/pack-expansion"
        ;;
    nvm)
        for f in Tests/NVMDiscoveryTests/Fixtures/*.asl; do
            iasl -p "$CORPUS/$(basename "$f" .asl)" "$f" >/dev/null
        done
        ;;
    esac
fi
swift build --scratch-path .build-fuzz --product "$PRODUCT" -Xswiftc -sanitize=fuzzer,address >/dev/null
LIB=$(swift build --scratch-path .build-fuzz --show-bin-path)
CLANG=$(dirname "$(readlink -f "$(command -v swift)")")/clang
"$CLANG" -fsanitize=fuzzer,address -o "$LIB/fuzz-$TARGET" -L"$LIB" -l"$PRODUCT" -Wl,-rpath,"$LIB"
echo "fuzz: $LIB/fuzz-$TARGET for $SECONDS_TO_RUN s"
"$LIB/fuzz-$TARGET" "$CORPUS" "${FLAGS[@]}" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1
