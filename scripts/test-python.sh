#!/usr/bin/env bash
# The Python bridge (python/): installs the package with its dependencies (NumPy,
# PyArrow) and the test tools (pytest, DuckDB) from PyPI into a venv
# (scripts/python-env.sh), then runs its tests
# against this checkout's libPMTraceC.so and pmtrace (built by `swift build`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product PMTraceC >/dev/null && swift build --product pmtrace >/dev/null
py=$(./scripts/python-env.sh | tail -1)
PMTRACE_BUILD=debug PMTRACE_LIB="$PWD/.build/debug/libPMTraceC.so" "$py" -m pytest -q python/tests
