"""Parquet export: Hive-partitioned by lane and time window, readable by DuckDB, Spark and pandas.

As usual for Hive partitioning, the partition keys live in the directory names only: the files hold
timestamp, kind, size, address, virtual, pc; readers add lane (and window) from the path
(DuckDB: read_parquet(..., hive_partitioning = true); pyarrow: partitioning="hive"; Spark: by default)."""
import os

import numpy as np

from . import COLUMNS, Region, schema


def export_parquet(pool, volume, directory, window_ns=1_000_000_000, compression="zstd"):
    """Writes `volume`'s accesses under directory/lane=<lane>/window=<start ns>/part-<n>.parquet
    (window = timestamp // window_ns * window_ns). Streams batch by batch: memory is one batch.
    Returns the number of accesses written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sch = schema()
    sch = sch.remove(sch.get_field_index("lane"))
    file_columns = [name for name, _ in COLUMNS if name != "lane"]
    writers = {}
    rows = 0
    try:
        with Region(pool) as region:
            for b in region.batches(volume):
                rows += len(b["lane"])
                window = b["timestamp"] // np.uint64(window_ns) * np.uint64(window_ns)
                key = b["lane"].astype(np.uint64) << np.uint64(48) ^ window  # group rows by (lane, window)
                # Batches are in time order: most batches hold one or a few (lane, window) groups.
                order = np.argsort(key, kind="stable")
                keys, starts = np.unique(key[order], return_index=True)
                bounds = list(starts) + [len(order)]
                for i in range(len(keys)):
                    idx = order[bounds[i]:bounds[i + 1]]
                    lane, win = int(b["lane"][idx[0]]), int(window[idx[0]])
                    part = pa.RecordBatch.from_arrays([pa.array(b[name][idx]) for name in file_columns], schema=sch)
                    w = writers.get((lane, win))
                    if w is None:
                        d = os.path.join(directory, f"lane={lane}", f"window={win}")
                        os.makedirs(d, exist_ok=True)
                        w = writers[(lane, win)] = pq.ParquetWriter(os.path.join(d, "part-0.parquet"), sch,
                                                                    compression=compression)
                    w.write_batch(part)
    finally:
        for w in writers.values():
            w.close()
    return rows
