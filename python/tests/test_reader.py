import json
import os
import subprocess

import numpy as np
import pytest

import pmtrace
from pmtrace.parquet import export_parquet

from conftest import ROOT, stats


def test_volumes_lists_user_volumes(pool):
    with pmtrace.Region(pool) as r:
        names = dict(r.volumes())
    assert names == {"trace": 1, "empty": 1}


def test_row_count_equals_stats(pool, pmtrace_cli):
    s = stats(pmtrace_cli, pool, "trace")
    with pmtrace.Region(pool) as r:
        a = r.accesses("trace")
        t = r.table("trace")
    assert len(a["address"]) == s["accessCount"]
    assert t.num_rows == s["accessCount"]
    kinds = np.bincount(a["kind"], minlength=4)
    assert kinds[0] == s["accesses"].get("load", 0)
    assert kinds[1] == s["accesses"].get("store", 0)
    assert kinds[3] == s["accesses"].get("instruction-fetch", 0)
    assert len(np.unique(a["address"] >> np.uint64(12))) == s["distinctPages"]
    assert int(a["address"].min()) == s["lowestAddress"]


def test_small_batches_give_the_same_accesses(pool):
    with pmtrace.Region(pool) as r:
        whole = r.accesses("trace")
        parts = list(r.batches("trace", capacity=5000))
    assert len(parts) > 1
    assert np.array_equal(np.concatenate([p["address"] for p in parts]), whole["address"])
    assert all(np.all(np.diff(p["timestamp"].astype(np.int64)) >= 0) for p in parts)


def test_empty_volume_and_missing_volume(pool):
    with pmtrace.Region(pool) as r:
        assert len(r.accesses("empty")["address"]) == 0
        with pytest.raises(pmtrace.PMTraceError) as e:
            r.accesses("nope")
        assert "nope" in str(e.value) or e.value.code == -5


def test_not_a_region(tmp_path):
    bad = tmp_path / "bad.pool"
    bad.write_bytes(b"\0" * (1 << 20))
    with pytest.raises(pmtrace.PMTraceError):
        pmtrace.Region(str(bad))


def test_parquet_partitions_and_counts(pool, pmtrace_cli, tmp_path):
    out = tmp_path / "pq"
    rows = export_parquet(pool, "trace", str(out), window_ns=1_000_000)
    assert rows == stats(pmtrace_cli, pool, "trace")["accessCount"]
    files = list(out.rglob("*.parquet"))
    assert files and all(f.parent.parent.name.startswith("lane=") and f.parent.name.startswith("window=") for f in files)
    import pyarrow.dataset as ds
    assert ds.dataset(str(out), format="parquet", partitioning="hive").count_rows() == rows


def test_cli_module_export(pool, tmp_path):
    out = tmp_path / "pq2"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run(["python3", "-m", "pmtrace", "export-parquet", pool, "trace", str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "exported" in r.stderr


def test_duckdb_top_pages_equal_hot(pool, pmtrace_cli, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "pq3"
    export_parquet(pool, "trace", str(out))
    top = duckdb.sql(f"""
        select address >> 12 as page, count(*) as n
        from read_parquet('{out}/**/*.parquet', hive_partitioning = true)
        group by page order by n desc, page limit 10""").fetchall()
    hot = json.loads(subprocess.run([pmtrace_cli, "hot", pool, "trace", "--by", "page", "--top", "10", "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    assert [(r["page"] >> 12, r["accesses"]) for r in hot] == [(int(p), int(n)) for p, n in top]


def test_split_by_partition_keeps_every_row_in_order():
    """A chunk straddling lanes and windows is split by (lane, window) with each part's rows in
    chunk order and its runs beside them; a chunk inside one partition is passed through as it is."""
    from pmtrace import RUN_DTYPE
    from pmtrace.parquet import split_by_partition

    rng = np.random.default_rng(11)
    k = 500
    runs = np.zeros(k, RUN_DTYPE)
    runs["lane"] = rng.integers(0, 5, k)
    runs["timestamp"] = np.sort(rng.integers(0, 3 * 10**9, k)) + 1_700_000_000 * 10**9
    runs["count"] = rng.integers(1, 60, k)
    n = int(runs["count"].sum())
    lane = np.repeat(runs["lane"], runs["count"])
    window = np.repeat(runs["timestamp"] // 10**9 * 10**9, runs["count"])
    address = np.arange(n, dtype=np.uint64)
    out = split_by_partition(runs, 10**9, {"address": address})
    assert len(out) == len(set(zip(lane.tolist(), window.tolist())))
    assert sum(len(cols["address"]) for _, _, cols, _ in out) == n
    for l, w, cols, part_runs in out:
        assert np.array_equal(cols["address"], address[(lane == l) & (window == w)])
        assert int(part_runs["count"].sum()) == len(cols["address"])
        assert np.all(part_runs["lane"] == l) and np.all(part_runs["timestamp"] // 10**9 * 10**9 == w)
    one_runs = runs.copy()
    one_runs["lane"] = 3
    one_runs["timestamp"] = 7 * 10**9
    cols = {"address": address}
    one = split_by_partition(one_runs, 10**9, cols)
    assert len(one) == 1 and one[0][:2] == (3, 7 * 10**9) and one[0][2] is cols
