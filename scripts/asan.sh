#!/usr/bin/env bash
# Runs the corruption, crash-state, repair-invariant and ELF-fuzzing tests under AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --scratch-path .build-asan --build-tests -Xswiftc -sanitize=address
swift test --scratch-path .build-asan --skip-build -Xswiftc -sanitize=address \
    --filter 'CorruptionTests|CrashStateTests|RepairInvariantTests|ELFReaderTests|CheckAndSalvageTests'
