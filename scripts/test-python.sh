#!/usr/bin/env bash
# The Python bridge (python/): installs the package with its dependencies (NumPy,
# PyArrow) and the test tools (pytest, DuckDB) from PyPI, then runs its tests
# against this checkout's libPMTraceC.so and pmtrace (built by `swift build`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product PMTraceC >/dev/null && swift build --product pmtrace >/dev/null
python3 -m pip --version >/dev/null 2>&1 || { echo "test-python: python3 has no pip (apt-get install python3-pip)" >&2; exit 1; }
python3 -m pip install -q --disable-pip-version-check ./python pytest duckdb 2>&1 | grep -v "^WARNING: Running pip as the 'root' user" || true
python3 -c "import numpy, pyarrow, pytest" || { echo "test-python: pip could not install numpy/pyarrow/pytest" >&2; exit 1; }
PMTRACE_BUILD=debug PMTRACE_LIB="$PWD/.build/debug/libPMTraceC.so" python3 -m pytest -q python/tests
