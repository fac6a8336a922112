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
    """A batch straddling lanes and windows is split by (lane, window) with each part's rows in
    batch order; a batch inside one partition is passed through as it is."""
    import numpy as np
    import pyarrow as pa
    from pmtrace.parquet import split_by_partition

    rng = np.random.default_rng(11)
    n = 20000
    lane = rng.integers(0, 5, n).astype(np.uint32)
    window = (np.sort(rng.integers(0, 3, n)) * 10**9 + 1_700_000_000 * 10**9).astype(np.uint64)
    address = np.arange(n, dtype=np.uint64)
    part = pa.RecordBatch.from_arrays([pa.array(address)], names=["address"])
    out = split_by_partition(lane, window, part)
    assert len(out) == len(set(zip(lane.tolist(), window.tolist())))
    assert sum(rb.num_rows for _, _, rb in out) == n
    for l, w, rb in out:
        assert np.array_equal(rb.column(0).to_numpy(), address[(lane == l) & (window == w)])
    one = split_by_partition(np.full(n, 3, np.uint32), np.full(n, 7 * 10**9, np.uint64), part)
    assert len(one) == 1 and one[0][:2] == (3, 7 * 10**9) and one[0][2] is part
