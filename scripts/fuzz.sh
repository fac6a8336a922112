#!/usr/bin/env bash
# Fuzzes mount + read + fsck with libFuzzer and AddressSanitizer for a given time.
# Usage: scripts/fuzz.sh [seconds=60] [corpus-dir=.fuzz-corpus]
# The seed corpus is made of real images (small regions with volumes, records
# across segments, a symbol table), written by pmtrace itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SECONDS_TO_RUN=${1:-60}
CORPUS=${2:-.fuzz-corpus}
mkdir -p "$CORPUS"
swift build --product pmtrace >/dev/null
PMTRACE=$(swift build --show-bin-path)/pmtrace
if [ -z "$(ls -A "$CORPUS")" ]; then
    echo "fuzz: making seed images in $CORPUS"
    for i in 1 2 3; do
        P="$CORPUS/seed-$i.img"
        "$PMTRACE" format "$P" --size 2M --segment-size 64K --volume-slots 4 --max-lanes 2 --force >/dev/null
        head -c $((i * 70000)) /dev/urandom | "$PMTRACE" write "$P" "v$i" --record-size $((i * 3000)) 2>/dev/null
    done
    "$PMTRACE" create "$CORPUS/seed-3.img" lanes --lanes 2 >/dev/null
    "$PMTRACE" symbols import "$CORPUS/seed-2.img" /usr/bin/true >/dev/null || true
fi
swift build --scratch-path .build-fuzz --product PMTraceFuzzTarget -Xswiftc -sanitize=fuzzer,address >/dev/null
LIB=$(swift build --scratch-path .build-fuzz --show-bin-path)
CLANG=$(dirname "$(readlink -f "$(command -v swift)")")/clang
"$CLANG" -fsanitize=fuzzer,address -o "$LIB/fuzz-mount" -L"$LIB" -lPMTraceFuzzTarget -Wl,-rpath,"$LIB"
"$LIB/fuzz-mount" "$CORPUS" -max_len=2097152 -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1
