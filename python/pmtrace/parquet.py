"""Parquet export: Hive-partitioned by lane and time window, readable by DuckDB, Spark and pandas.

As usual for Hive partitioning, the partition keys live in the directory names only: the files hold
timestamp, kind, size, address, virtual, pc; readers add lane (and window) from the path
(DuckDB: read_parquet(..., hive_partitioning = true); pyarrow: partitioning="hive"; Spark: by default).

Speed (one core): batches are decoded by one C call per BATCH_ACCESSES accesses into reused NumPy
buffers, and each partition's rows are written by pmtrace._pqfile, which encodes whole columns with
NumPy and one codec call per column chunk (no per-value work in Python or in PyArrow's encoders):
timestamp and virtual as runs, kind and size bit-packed, address and pc plain, then compressed. A
batch that lies in one (lane, window) partition — the usual case: the reader merges lanes in time
order and a batch spans a few ms — is written as it is; a batch that straddles partitions is split
into views (after one stable radix sort by lane when it holds several lanes)."""
import os

import numpy as np

from . import Region
from ._pqfile import SCHEMA, ParquetFile

#: Accesses read per chunk (one Parquet row group per chunk and partition; DuckDB's own row groups
#: hold 122,880 rows). 2^17 was the fastest of 2^15 … 2^19 for a whole `python3 -m pmtrace
#: export-parquet` (py trace: 49.5 M accesses/s against 42.9 at 2^19 in one noisy series): a chunk's
#: ~3.8 MB of columns stay in cache between the decode and the codec, and fewer fresh pages are
#: touched; 2^16 and below lose to per-chunk Python work.
BATCH_ACCESSES = 1 << 17
#: Codecs export_parquet accepts ("lz4" is Parquet's LZ4_RAW).
COMPRESSIONS = ("lz4", "zstd", "snappy", "none")
#: The fastest codec on one core; files ~3.5x smaller than the store's payload (zstd: ~7.5x, ~25 % slower).
DEFAULT_COMPRESSION = "lz4"


def split_by_partition(runs, window_ns, columns):
    """[(lane, window, columns, runs)]: the rows of `columns` (a dict of equally long NumPy arrays)
    grouped by lane and time window (timestamp // window_ns * window_ns), `runs` (RUN_DTYPE, as
    Region.runs yields them) giving each row's lane and timestamp. Rows keep their order within
    each partition. One partition: the arguments themselves (no copy); a partition whose rows are
    contiguous: views; otherwise the partition's rows are gathered (one boolean take per column).
    Work per run and partition is vectorized (no Python loop over runs)."""
    width = np.uint64(window_ns)
    lanes = runs["lane"]
    windows = runs["timestamp"] // width * width
    if lanes.min() == lanes.max() and windows.min() == windows.max():
        return [(int(lanes[0]), int(windows[0]), columns, runs)]
    keys, inverse = np.unique(np.stack([lanes.astype(np.uint64), windows]), axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    offsets = np.zeros(len(runs) + 1, np.int64)
    np.cumsum(runs["count"], out=offsets[1:])
    out = []
    for p in range(keys.shape[1]):
        mine = inverse == p
        idx = np.flatnonzero(mine)
        if idx[-1] - idx[0] + 1 == len(idx):
            lo, hi = offsets[idx[0]], offsets[idx[-1] + 1]
            part = {name: col[lo:hi] for name, col in columns.items()}
        else:
            rows = np.repeat(mine, runs["count"])
            part = {name: col[rows] for name, col in columns.items()}
        out.append((int(keys[0, p]), int(keys[1, p]), part, runs[idx]))
    return out


def export_parquet(pool, volume, directory, window_ns=1_000_000_000, compression=DEFAULT_COMPRESSION):
    """Writes `volume`'s accesses under directory/lane=<lane>/window=<start ns>/part-0.parquet
    (window = timestamp // window_ns * window_ns), one file per partition, a row group per batch
    and partition. `compression`: one of COMPRESSIONS. Streams batch by batch: memory is one
    batch. Returns the number of accesses written."""
    if str(compression).lower() not in COMPRESSIONS:
        raise ValueError(f"compression {compression!r}: one of {', '.join(COMPRESSIONS)}")
    files = {}
    rows = 0
    try:
        with Region(pool) as region:
            for columns, runs in region.runs(volume, capacity=BATCH_ACCESSES):
                rows += len(columns["address"])
                # Views of the reused buffers: each part is encoded and written below, before the
                # next chunk refills them.
                for lane, window, part, part_runs in split_by_partition(runs, window_ns, columns):
                    f = files.get((lane, window))
                    if f is None:
                        d = os.path.join(directory, f"lane={lane}", f"window={window}")
                        os.makedirs(d, exist_ok=True)
                        f = files[(lane, window)] = ParquetFile(os.path.join(d, "part-0.parquet"), compression)
                    f.write(part, part_runs)
    finally:
        for f in files.values():
            f.close()
    return rows
