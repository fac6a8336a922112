#!/usr/bin/env bash
# The long reliability run (about 2 hours on 2 cores):
#  - crash states: 420 sampled images per persistence point and every subset of up to
#    10 changed words (>= 100,000 states checked, the script fails below that);
#  - 1,000 kill -9s of a writer (TortureTests);
#  - corrupted images: every metadata bit flipped (28k), 20,000 random-byte images
#    (CorruptionTests) and 100,000 images through read / repair / undo with the repair
#    rule checked (RepairInvariantTests; fails below 100,000);
#  - the AddressSanitizer run;
#  - one hour of libFuzzer: 40 minutes on the mount target, 10 on symbols, 10 on demangle.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
LOG=$(mktemp "${TMPDIR:-/tmp}/pmtrace-reliability.XXXXXX")
start=$SECONDS
PMTRACE_CRASH_SAMPLES=420 PMTRACE_CRASH_EXHAUSTIVE=10 PMTRACE_TORTURE_KILLS=1000 PMTRACE_CORRUPT_TRIALS=20000 \
    PMTRACE_REPAIR_IMAGES=100000 \
    swift test --skip-build --filter 'CrashStateTests|TortureTests|CorruptionTests|RepairInvariantTests' 2>&1 | tee "$LOG"
# Sum what the suites printed: "crash states NAME: P points, N states checked, V violations"
# and "repair invariant shard K: N corrupted images, ..., V violations".
states=$(awk '/^crash states / { for (i = 2; i < NF; i++) if ($i == "states" && $(i + 1) == "checked,") s += $(i - 1) } END { print s + 0 }' "$LOG")
images=$(awk '/^repair invariant shard / { for (i = 2; i < NF; i++) if ($i == "corrupted" && $(i + 1) == "images,") s += $(i - 1) } END { print s + 0 }' "$LOG")
echo "reliability: $states crash states and $images repair-invariant images checked, 0 violations, in $((SECONDS - start)) s"
rm -f "$LOG"
[ "$states" -ge 100000 ] || { echo "reliability: only $states crash states (want >= 100,000)" >&2; exit 1; }
[ "$images" -ge 100000 ] || { echo "reliability: only $images corrupted images (want >= 100,000)" >&2; exit 1; }
./scripts/asan.sh
./scripts/fuzz.sh 2400 '' mount
./scripts/fuzz.sh 600 '' symbols
./scripts/fuzz.sh 600 '' demangle
