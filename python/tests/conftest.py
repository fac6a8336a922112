"""Fixtures: a pool with a traced program, made by the pmtrace CLI of this checkout."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Test this checkout's package, whatever version pip installed.
sys.path.insert(0, os.path.join(ROOT, "python"))


def binary(name):
    # PMTRACE_BUILD picks the build (scripts/test-python.sh: the debug build
    # scripts/test.sh has just made); otherwise debug first, then release.
    configs = [os.environ["PMTRACE_BUILD"]] if os.environ.get("PMTRACE_BUILD") else ["debug", "release"]
    for config in configs:
        p = os.path.join(ROOT, ".build", config, name)
        if os.path.exists(p):
            return p
    pytest.skip(f"{name} is not built (swift build)")


@pytest.fixture(scope="session")
def pmtrace_cli():
    return binary("pmtrace")


@pytest.fixture(scope="session", autouse=True)
def library():
    if not os.environ.get("PMTRACE_LIB"):
        os.environ["PMTRACE_LIB"] = binary("libPMTraceC.so")


@pytest.fixture(scope="session")
def pool(tmp_path_factory, pmtrace_cli):
    """A pool with volume 'trace': a lackey-style import of a small synthetic program trace (4 lanes
    are not needed here: import-lackey writes lane 0), and 'empty' with no accesses."""
    d = tmp_path_factory.mktemp("pool")
    path = str(d / "p.pool")
    subprocess.run([pmtrace_cli, "format", path, "--size", "64M"], check=True, capture_output=True)
    lackey = d / "trace.lackey"
    lines = []
    for i in range(30000):
        page = 0x10000 + (i * 7919 % 37) * 4096
        lines.append(f" L {page + (i % 64) * 8:x},8")
        if i % 3 == 0:
            lines.append(f" S {0x7ff000 + (i % 512) * 8:x},4")
        if i % 5 == 0:
            lines.append(f"I  {0x400000 + i % 4096:x},3")
    lackey.write_text("\n".join(lines) + "\n")
    subprocess.run([pmtrace_cli, "import-lackey", path, "trace", str(lackey)], check=True, capture_output=True)
    subprocess.run([pmtrace_cli, "create", path, "empty"], check=True, capture_output=True)
    return path


def stats(cli, pool, volume):
    out = subprocess.run([cli, "stats", pool, volume, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def duckdb_available():
    return shutil.which("duckdb") is not None or _can_import("duckdb")


def _can_import(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False
