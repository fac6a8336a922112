#!/usr/bin/env bash
# A Python virtual environment for the Python bridge (python/) in .build/pyenv:
# the package with NumPy and PyArrow, plus pytest and DuckDB, from PyPI. A venv,
# not the system interpreter: Debian 12's python3 refuses `pip install`
# (PEP 668, externally managed). scripts/setup.sh installs python3-venv.
# Installs only when python/ or this script changed. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
env=$PWD/.build/pyenv
py=$env/bin/python3
stamp=$env/.pmtrace-stamp
want=$(cat python/pyproject.toml "$0" 2>/dev/null | sha256sum | cut -c1-16)
if [[ ! -x $py || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    rm -rf "$env"
    python3 -m venv "$env" >&2 || { echo "python-env: python3 -m venv failed (apt-get install -y python3-venv)" >&2; exit 1; }
    "$py" -m pip install -q --disable-pip-version-check ./python pytest duckdb >&2 \
        || { echo "python-env: pip could not install the package, numpy, pyarrow, pytest, duckdb (network?)" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
echo "$py"
