#!/usr/bin/env bash
# The long reliability run: many more sampled crash states per point, 1,000
# kill -9s, 20,000 random-byte images, the ASan run and 10 minutes of fuzzing
# of each target (mount, symbols, demangle).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
PMTRACE_CRASH_SAMPLES=16 PMTRACE_CRASH_EXHAUSTIVE=10 PMTRACE_TORTURE_KILLS=1000 PMTRACE_CORRUPT_TRIALS=20000 \
    swift test --skip-build --filter 'CrashStateTests|TortureTests|CorruptionTests'
./scripts/asan.sh
./scripts/fuzz.sh 600
./scripts/fuzz.sh 600 '' symbols
./scripts/fuzz.sh 600 '' demangle
