"""Parquet export: Hive-partitioned by lane and time window, readable by DuckDB, Spark and pandas.

As usual for Hive partitioning, the partition keys live in the directory names only: the files hold
timestamp, kind, size, address, virtual, pc; readers add lane (and window) from the path
(DuckDB: read_parquet(..., hive_partitioning = true); pyarrow: partitioning="hive"; Spark: by default).

Speed: batches are read into reused NumPy buffers and handed to PyArrow without copying. A batch
that lies in one (lane, window) partition — the usual case: the reader merges lanes in time order
and a batch spans a few ms — is written as it is; a batch that straddles partitions is split into
zero-copy slices (after one stable radix sort by lane when it holds several lanes). Columns are declared non-nullable (no definition levels
to encode). Dictionary encoding is used only for the low-cardinality
columns (timestamp, kind, size): for addresses and PCs it costs a hash per value and makes files
no smaller under zstd."""
import os

import numpy as np

from . import COLUMNS, Region, schema

#: Columns Parquet dictionary-encodes (the others are plain-encoded, then compressed).
DICTIONARY_COLUMNS = ("timestamp", "kind", "size")
#: Accesses read per batch (one Parquet row group per batch and partition).
BATCH_ACCESSES = 1 << 19


def split_by_partition(lane, window, part):
    """[(lane, window, record batch)] of `part` (a pyarrow.RecordBatch whose rows carry the lanes and
    windows given as NumPy arrays); rows keep their order within each lane. One partition: `part`
    itself (no copy). Otherwise the rows are grouped by lane with one stable radix sort and one take
    (skipped for a single lane), and each lane's rows are cut into zero-copy slices where the window
    changes: the reader hands rows out in time order, so a lane's windows come in runs. (A clock that
    went backwards only makes more, smaller slices; every slice still goes to its own partition.)"""
    import pyarrow as pa

    n = len(lane)
    l0, l1 = int(lane.min()), int(lane.max())
    w0, w1 = int(window.min()), int(window.max())
    if l0 == l1 and w0 == w1:
        return [(l0, w0, part)]
    if l0 == l1:
        lane_runs = [(l0, 0, n)]
    else:
        # uint16 keys take NumPy's radix sort (O(n), stable); lanes are far below 65,536.
        keys = lane.astype(np.uint16) if l1 < 1 << 16 else lane
        order = np.argsort(keys, kind="stable")
        part = part.take(pa.array(order))
        lane, window = lane[order], window[order]
        cuts = np.flatnonzero(np.diff(lane)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [n]))
        lane_runs = [(int(lane[s]), int(s), int(e)) for s, e in zip(starts, ends)]
    out = []
    for lane_of, s, e in lane_runs:
        w = window[s:e]
        cuts = np.flatnonzero(np.diff(w)) + 1
        for a, b in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [e - s]))):
            out.append((lane_of, int(w[a]), part.slice(s + int(a), int(b - a))))
    return out


def export_parquet(pool, volume, directory, window_ns=1_000_000_000, compression="zstd"):
    """Writes `volume`'s accesses under directory/lane=<lane>/window=<start ns>/part-0.parquet
    (window = timestamp // window_ns * window_ns). Streams batch by batch: memory is one batch.
    Returns the number of accesses written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Non-nullable fields (accesses have no nulls): Parquet then writes no definition levels.
    sch = pa.schema([f.with_nullable(False) for f in schema() if f.name != "lane"])
    file_columns = [name for name, _ in COLUMNS if name != "lane"]
    writers = {}
    rows = 0
    width = np.uint64(window_ns)
    try:
        with Region(pool) as region:
            for b in region.batches(volume, capacity=BATCH_ACCESSES, reuse=True):
                rows += len(b["lane"])
                # Zero-copy views of the reused buffers: each part is written (encoded, copied) below,
                # before the next batch refills them.
                part = pa.RecordBatch.from_arrays([pa.array(b[name]) for name in file_columns], schema=sch)
                ts = b["timestamp"]
                window = ts // width * width
                for lane, win, rows_of_part in split_by_partition(b["lane"], window, part):
                    w = writers.get((lane, win))
                    if w is None:
                        d = os.path.join(directory, f"lane={lane}", f"window={win}")
                        os.makedirs(d, exist_ok=True)
                        w = writers[(lane, win)] = pq.ParquetWriter(
                            os.path.join(d, "part-0.parquet"), sch, compression=compression,
                            use_dictionary=list(DICTIONARY_COLUMNS))
                    w.write_batch(rows_of_part)
    finally:
        for w in writers.values():
            w.close()
    return rows
