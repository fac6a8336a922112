import json
import os
import sys
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
    r = subprocess.run([sys.executable, "-m", "pmtrace", "export-parquet", pool, "trace", str(out)], capture_output=True, text=True, env=env)
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


def test_runs_give_the_accesses_batches_give(pool):
    """Region.runs (pmt_reader_read_access_runs): the columns equal batches()' and the runs' counts,
    lanes and timestamps give back the per-access lane and timestamp columns, also when the run
    array or the access buffers hold less than a batch (one batch per call, or a retry)."""
    with pmtrace.Region(pool) as r:
        whole = r.accesses("trace")
        for capacity, run_capacity in ((1 << 20, 1 << 14), (5000, 2), (1 << 20, 1), (10, 4)):
            cols, lanes, stamps, fields = [], [], [], []
            for c, runs in r.runs("trace", capacity=capacity, run_capacity=run_capacity):
                assert 0 < len(runs) <= run_capacity
                assert int(runs["count"].sum()) == len(c["address"])
                cols.append({k: v.copy() for k, v in c.items()})
                lanes.append(np.repeat(runs["lane"], runs["count"]))
                stamps.append(np.repeat(runs["timestamp"], runs["count"]))
                fields.append(runs["fields"].copy())
            for name in ("kind", "size", "address", "virtual", "pc"):
                assert np.array_equal(np.concatenate([c[name] for c in cols]), whole[name]), name
            assert np.array_equal(np.concatenate(lanes), whole["lane"])
            assert np.array_equal(np.concatenate(stamps), whole["timestamp"])
            assert not np.any(np.concatenate(fields))  # import-lackey writes kind-2/12 batches: no guest fields


def _write_lanes(path, volume, lanes, per_lane, chunk):
    """Appends `per_lane` accesses to each of `lanes` lanes of a new volume through the C writer API,
    lane by lane in chunks of `chunk` with a commit after each (so batches of different lanes
    interleave in time); sizes up to 300 (above a byte) and every kind."""
    import ctypes
    from pmtrace._lib import check, lib

    class Access(ctypes.Structure):
        _fields_ = [("address", ctypes.c_uint64), ("size", ctypes.c_uint32), ("kind", ctypes.c_uint8),
                    ("reserved", ctypes.c_uint8 * 3)]

    L = lib()
    P = ctypes.c_void_p
    L.pmt_volume_create.argtypes = [P, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_int]
    L.pmt_lane_open.argtypes = [P, ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(P)]
    L.pmt_append_accesses.argtypes = [P, ctypes.POINTER(Access), ctypes.c_size_t]
    L.pmt_commit.argtypes = [P]
    L.pmt_lane_close.argtypes = [P]
    store = P()
    check(L.pmt_open(path.encode(), 1, 0, ctypes.byref(store)), "pmt_open")
    check(L.pmt_volume_create(store, volume.encode(), lanes, 0), "pmt_volume_create")
    handles = []
    for lane in range(lanes):
        h = P()
        check(L.pmt_lane_open(store, volume.encode(), lane, ctypes.byref(h)), "pmt_lane_open")
        handles.append(h)
    buf = (Access * chunk)()
    for start in range(0, per_lane, chunk):
        for lane, h in enumerate(handles):
            for j in range(chunk):
                i = start + j
                buf[j].address = (lane << 40) + i * 8 + (i % 7) * 4096
                buf[j].size = (1, 2, 4, 8, 300)[i % 5]
                buf[j].kind = (i * 3 + lane) % 4
            check(L.pmt_append_accesses(h, buf, chunk), "pmt_append_accesses")
            check(L.pmt_commit(h), "pmt_commit")
    for h in handles:
        L.pmt_lane_close(h)
    L.pmt_close(store)


def test_parquet_of_several_lanes_and_windows_holds_every_access(pool, pmtrace_cli, tmp_path):
    """Several lanes interleaved in time, short windows (chunks straddle lanes and windows), sizes
    above 255 (size written PLAIN) and every kind: the Hive dataset read back by PyArrow holds
    exactly the reader's accesses, with the same column types as before (PyArrow's own writer)."""
    import pyarrow.dataset as ds
    path = str(tmp_path / "lanes.pool")
    subprocess.run([pmtrace_cli, "format", path, "--size", "64M"], check=True, capture_output=True)
    _write_lanes(path, "multi", lanes=3, per_lane=60_000, chunk=1500)
    with pmtrace.Region(path) as r:
        a = r.accesses("multi")
    assert len(a["address"]) == 180_000 and len(np.unique(a["lane"])) == 3
    for compression in ("zstd", "lz4", "snappy", "none"):
        out = tmp_path / f"pq-{compression}"
        window = max(1, int(a["timestamp"].max() - a["timestamp"].min()) // 5)
        assert export_parquet(path, "multi", str(out), window_ns=window, compression=compression) == 180_000
        t = ds.dataset(str(out), format="parquet", partitioning="hive").to_table()
        names = ["lane", "timestamp", "kind", "size", "address", "virtual", "pc"]
        got = np.stack([t.column(n).to_numpy().astype(np.uint64) for n in names])
        want = np.stack([a[n].astype(np.uint64) for n in names])
        assert np.array_equal(got[:, np.lexsort(got[::-1])], want[:, np.lexsort(want[::-1])]), compression
        files = pytest.importorskip("pyarrow.parquet").read_schema(next(out.rglob("*.parquet")))
        assert [(f.name, str(f.type)) for f in files] == [
            ("timestamp", "uint64"), ("kind", "uint8"), ("size", "uint32"), ("address", "uint64"), ("virtual", "uint64"),
            ("pc", "uint64")]
        assert len({p.parent.name for p in out.rglob("*.parquet")}) > 1, "several windows"
        for p in out.rglob("*.parquet"):
            lane = int(p.parent.parent.name.split("=")[1])
            win = int(p.parent.name.split("=")[1])
            ts = pytest.importorskip("pyarrow.parquet").read_table(p).column("timestamp").to_numpy()
            assert np.all(ts // window * window == win), "rows in their window"
            assert lane in (0, 1, 2)


def test_parquet_file_encodings_round_trip(tmp_path):
    """The writer's fallbacks and corner cases read back unchanged by PyArrow and DuckDB: timestamps
    changing every row (PLAIN), virtual addresses present (runs given with GUEST_VIRTUAL), sizes
    above 255 (PLAIN) and below 16 (4-bit), row counts not a multiple of 8, one row, several row
    groups, every codec."""
    import pyarrow.parquet as pq
    from pmtrace import GUEST_VIRTUAL, RUN_DTYPE
    from pmtrace._pqfile import ParquetFile

    rng = np.random.default_rng(5)

    def group(n, sizes, ts_runs, virtual):
        runs = np.zeros(ts_runs, RUN_DTYPE)
        runs["count"] = np.diff(np.linspace(0, n, ts_runs + 1).astype(np.int64))
        runs["timestamp"] = np.sort(rng.integers(1 << 60, 1 << 61, ts_runs))
        runs["fields"] = GUEST_VIRTUAL if virtual else 0
        cols = {"kind": rng.integers(0, 4, n).astype(np.uint8), "size": rng.choice(sizes, n).astype(np.uint32),
                "address": rng.integers(0, 1 << 64, n, dtype=np.uint64),
                "virtual": rng.integers(0, 1 << 64, n, dtype=np.uint64) if virtual else np.zeros(n, np.uint64),
                "pc": rng.integers(0, 1 << 47, n, dtype=np.uint64)}
        return cols, runs

    groups = [group(1001, [1, 2, 4, 8], 3, False), group(1, [4], 1, True), group(777, [1, 300, 70000], 777, True),
              group(4096, [200, 8], 2, False)]
    for compression in ("zstd", "lz4", "snappy", "none"):
        path = tmp_path / f"t-{compression}.parquet"
        f = ParquetFile(str(path), compression)
        for cols, runs in groups:
            f.write(cols, runs)
        f.close()
        t = pq.read_table(path)
        assert pq.ParquetFile(path).metadata.num_row_groups == len(groups)
        for name in ("kind", "size", "address", "virtual", "pc"):
            assert np.array_equal(t.column(name).to_numpy(), np.concatenate([c[name] for c, _ in groups])), name
        ts = np.concatenate([np.repeat(r["timestamp"], r["count"]) for _, r in groups])
        assert np.array_equal(t.column("timestamp").to_numpy(), ts)
        duckdb = pytest.importorskip("duckdb")
        got = duckdb.sql(f"select count(*), max(size), sum(kind), min(timestamp), max(address) from '{path}'").fetchall()[0]
        sizes = np.concatenate([c["size"] for c, _ in groups])
        kinds = np.concatenate([c["kind"] for c, _ in groups])
        addresses = np.concatenate([c["address"] for c, _ in groups])
        assert got == (len(ts), int(sizes.max()), int(kinds.sum()), int(ts.min()), int(addresses.max()))


def test_direct_thrift_encodings_equal_the_general_encoder():
    """The page headers and column chunks built byte by byte equal what the general Thrift
    compact encoder gives for the same fields (parquet.thrift's PageHeader, ColumnChunk)."""
    from pmtrace import _pqfile as P

    S, I32, I64, L, B = P._STRUCT, P._I32, P._I64, P._LIST, P._BINARY
    for kind, raw, body, nv, enc in ((P.DATA_PAGE, 1 << 20, 70000, 131072, P.RLE_DICTIONARY), (P.DICTIONARY_PAGE, 16, 16, 4, P.PLAIN),
                                     (P.DATA_PAGE, 5, 3, 1, P.PLAIN)):
        sub = ((5, S, P._struct((1, I32, nv), (2, I32, enc), (3, I32, P.RLE), (4, I32, P.RLE))) if kind == P.DATA_PAGE
               else (7, S, P._struct((1, I32, nv), (2, I32, enc))))
        assert P._page_header(kind, raw, body, nv, enc) == P._struct((1, I32, kind), (2, I32, raw), (3, I32, body), sub)
    stats = P._struct((3, I64, 0), (5, B, b"\xff" * 8), (6, B, b"\x01" * 8))
    for dict_offset in (None, 4, 1 << 40):
        for st in (None, stats):
            for codec in (0, 6, 7):
                encodings = [P.PLAIN, P.RLE] if dict_offset is None else [P.PLAIN, P.RLE, P.RLE_DICTIONARY]
                meta = P._struct((1, I32, P.INT64), (2, L, (I32, encodings)), (3, L, (B, ["address"])), (4, I32, codec),
                                 (5, I64, 131072), (6, I64, 1 << 21), (7, I64, 99999), (9, I64, 1 << 33),
                                 (11, I64, dict_offset), (12, S, st))
                want = P._struct((2, I64, 1 << 33), (3, S, meta))
                got = P._column_chunk("address", P.INT64, codec, 131072, 1 << 21, 99999, 1 << 33, 1 << 33, dict_offset, st)
                assert got == want, (dict_offset, st is None, codec)


def test_truncated_pool_reads_every_batch_before_the_cut(pmtrace_cli, tmp_path):
    """An interrupted copy: the file ends inside the segment area. Region opens it with a
    TruncatedRegionWarning, hands out exactly a prefix of the whole pool's accesses, then raises."""
    whole = str(tmp_path / "whole.pool")
    subprocess.run([pmtrace_cli, "format", whole, "--size", "16M", "--segment-size", "64K"], check=True,
                   capture_output=True)
    lackey = tmp_path / "t.lackey"
    lackey.write_text("".join(f" L {0x10000 + (i * 7919 % 4099) * 64:x},8\n S {0x900000 + i * 24:x},4\n"
                              for i in range(150000)))
    subprocess.run([pmtrace_cli, "import-lackey", whole, "t", str(lackey)], check=True, capture_output=True)
    with pmtrace.Region(whole) as r:
        assert r.truncation is None
        expected = np.concatenate([b["address"] for b in r.batches("t", capacity=4096)])
    data = open(whole, "rb").read()
    area = int.from_bytes(data[48:56], "little")
    segments = -(-(len(data) - area) // 65536)
    cut = str(tmp_path / "cut.pool")
    with open(cut, "wb") as f:
        f.write(data[:area + 2 * 65536 + 1000])
    with pytest.warns(pmtrace.TruncatedRegionWarning, match="truncated"):
        region = pmtrace.Region(cut)
    with region as r:
        assert r.truncation == (area + 2 * 65536 + 1000, len(data))
        got = []
        with pytest.raises(pmtrace.PMTraceError):
            for b in r.batches("t", capacity=4096):
                got.append(b["address"].copy())
    got = np.concatenate(got) if got else np.empty(0, np.uint64)
    assert 0 < len(got) < len(expected) and segments > 3
    assert np.array_equal(got, expected[:len(got)])


def test_module_on_a_truncated_pool_says_so_and_exits_1(pool, tmp_path):
    data = open(pool, "rb").read()
    cut = tmp_path / "cut.pool"
    cut.write_bytes(data[:len(data) // 2])
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, "-m", "pmtrace", "volumes", str(cut)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "warning" in r.stderr and "truncated" in r.stderr, r.stderr
    assert r.stdout.splitlines() == ["trace\t1", "empty\t1"], r.stdout
    bad = tmp_path / "bad.pool"
    bad.write_bytes(b"\0" * (1 << 20))
    r = subprocess.run([sys.executable, "-m", "pmtrace", "volumes", str(bad)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "pmtrace" in r.stderr, r.stderr


def test_a_cut_inside_the_metadata_is_an_error_not_empty_lanes(pool, tmp_path):
    """A file cut before the lane table (or inside the volume table): the lanes and volumes whose
    metadata lay past the cut are damage (PMTraceError), never an empty table."""
    data = open(pool, "rb").read()
    lane_table = int.from_bytes(data[72:80], "little")
    for length, what in ((lane_table, "commit word"), (8192 + 512, "volume table slot 1")):
        cut = tmp_path / f"cut-{length}.pool"
        cut.write_bytes(data[:length])
        with pytest.warns(pmtrace.TruncatedRegionWarning):
            region = pmtrace.Region(str(cut))
        with region as r:
            with pytest.raises(pmtrace.PMTraceError, match=what):
                for name, _ in r.volumes():
                    r.table(name)
