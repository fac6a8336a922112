#!/usr/bin/env bash
# Runs every test: the Embedded Swift compile check, then the Swift Testing suites
# (which include scripts/install.sh into a temporary prefix and the README's snippets),
# then the documentation coverage of the library modules (must stay at 100 %).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/check-embedded.sh
swift build --build-tests
swift test --skip-build
./scripts/test-python.sh
./scripts/doc-coverage.sh --check
