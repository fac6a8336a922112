#!/usr/bin/env bash
# Runs every test: the Embedded Swift compile check, then the Swift Testing suites.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/check-embedded.sh
swift build --build-tests
swift test --skip-build
