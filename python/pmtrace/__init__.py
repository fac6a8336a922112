"""PMTrace from Python: open a region read-only, list its volumes, read a
volume's memory accesses (memory-access and guest-access batches) as NumPy
arrays or PyArrow tables, batch by batch for traces larger than memory, and
export them to Parquet (`python3 -m pmtrace export-parquet <pool> <volume> <dir>`).

Built on the C reader API of include/pmtrace.h (libPMTraceC.so; set
PMTRACE_LIB to its path if it is not found).
"""
import contextlib
import ctypes
import os
import sys
import warnings

# `python3 -m pmtrace …` runs on one core: NumPy's OpenBLAS would otherwise start a thread per core
# that spins between calls. Only then (sys.argv[0] is "-m" while -m locates this package), so a
# program importing pmtrace keeps its BLAS threads; it must come before NumPy is first imported.
if sys.argv[:1] == ["-m"]:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (after the environment is set)

from ._lib import AccessColumns, AccessRun, PMTraceError, PMT_END, TruncatedRegionWarning, check, lib

__all__ = ["Region", "PMTraceError", "TruncatedRegionWarning", "KIND_NAMES", "COLUMNS", "RUN_DTYPE", "GUEST_VIRTUAL", "GUEST_PC", "GUEST_USER"]

#: Access kinds by their number in the `kind` column.
KIND_NAMES = ("load", "store", "modify", "fetch")
#: Columns of an access batch and their NumPy types.
COLUMNS = (("lane", np.uint32), ("timestamp", np.uint64), ("kind", np.uint8), ("size", np.uint32),
           ("address", np.uint64), ("virtual", np.uint64), ("pc", np.uint64))

#: One batch of a `Region.runs` chunk (pmt_access_run): its accesses share lane and timestamp;
#: fields = the GUEST_* bits the batch recorded (virtual and pc are 0 where their bit is clear).
RUN_DTYPE = np.dtype([("timestamp", np.uint64), ("lane", np.uint32), ("count", np.uint32),
                      ("fields", np.uint32), ("reserved", np.uint32)])
assert RUN_DTYPE.itemsize == ctypes.sizeof(AccessRun)
#: Bits of RUN_DTYPE's fields (PMT_GUEST_* in include/pmtrace_region.h).
GUEST_VIRTUAL, GUEST_PC, GUEST_USER = 1, 2, 4


class Region:
    """A PMTrace region (pool file or device) opened read-only. Use as a context manager.

    A pool file shorter than its region (an interrupted copy) opens too, as `pmtrace`'s read-only
    commands open it: `truncation` is then (bytes the file holds, region size) and a
    TruncatedRegionWarning is issued; every record before the cut reads as usual, and a reader
    raises PMTraceError (PMT_E_DAMAGED) where it meets the missing bytes. `truncation` is None
    for a whole region."""

    def __init__(self, path):
        self._lib = lib()
        self._store = ctypes.c_void_p()
        have, size = ctypes.c_uint64(), ctypes.c_uint64()
        check(self._lib.pmt_open_truncated(str(path).encode(), ctypes.byref(self._store), ctypes.byref(have),
                                           ctypes.byref(size)), f"open {path}")
        self.truncation = (have.value, size.value) if have.value < size.value else None
        if self.truncation:
            warnings.warn(f"{path}: truncated: the file holds {have.value} of the region's {size.value} bytes; "
                          "reading what it holds (the rest is reported as damage where a reader meets it)",
                          TruncatedRegionWarning, stacklevel=2)

    def close(self):
        """Detaches the region (readers still open keep it alive)."""
        if self._store:
            self._lib.pmt_close(self._store)
            self._store = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def volumes(self, catalog=False):
        """[(name, lanes)] of the live volumes; catalog volumes ('.sym/…', '.maps') only with catalog=True."""
        n = ctypes.c_uint32()
        check(self._lib.pmt_volume_count(self._store, ctypes.byref(n)), "pmt_volume_count")
        out = []
        buf = ctypes.create_string_buffer(512)
        for i in range(n.value):
            length, lanes = ctypes.c_size_t(), ctypes.c_uint32()
            check(self._lib.pmt_volume_name(self._store, i, buf, len(buf), ctypes.byref(length), ctypes.byref(lanes)),
                  "pmt_volume_name")
            name = buf.raw[:length.value].decode("utf-8", "surrogateescape")
            if catalog or not name.startswith("."):
                out.append((name, lanes.value))
        return out

    @contextlib.contextmanager
    def _reader(self, volume, since):
        """A C reader of `volume`, sought to `since` (ns since the Unix epoch) when given; closed on exit."""
        reader = ctypes.c_void_p()
        check(self._lib.pmt_reader_open(self._store, volume.encode("utf-8", "surrogateescape"), ctypes.byref(reader)),
              f"open volume {volume!r}")
        try:
            if since is not None:
                check(self._lib.pmt_reader_seek(reader, since), "pmt_reader_seek")
            yield reader
        finally:
            self._lib.pmt_reader_close(reader)

    def batches(self, volume, since=None, capacity=1 << 20, reuse=False):
        """Yields dicts of NumPy arrays (COLUMNS) of up to `capacity` accesses each, in timestamp
        order; each dict is new (safe to keep), unless `reuse`: then the same arrays are refilled
        for every batch (a dict is valid only until the next one is asked for; nothing is allocated
        or first-touched per batch, for streaming consumers such as the Parquet export).
        `since`: ns since the Unix epoch to seek to."""
        with self._reader(volume, since) as reader:
            arrays = None
            n = ctypes.c_size_t()
            while True:
                if arrays is None or not reuse:
                    arrays = {name: np.empty(capacity, dtype) for name, dtype in COLUMNS}
                    cols = AccessColumns(*(arrays[name].ctypes.data for name, _ in COLUMNS))
                rc = self._lib.pmt_reader_read_accesses(reader, ctypes.byref(cols), capacity, ctypes.byref(n))
                if rc == PMT_END:
                    return
                if rc < 0 and n.value > capacity:
                    capacity = n.value  # one batch larger than the buffer: retry with room for it
                    arrays = None
                    continue
                check(rc, "pmt_reader_read_accesses")
                yield {name: a[:n.value] for name, a in arrays.items()}

    def runs(self, volume, since=None, capacity=1 << 20, run_capacity=1 << 14):
        """Yields (columns, runs) for streaming consumers: `columns` a dict of NumPy arrays kind,
        size, address, virtual, pc (no lane or timestamp column) of up to `capacity` accesses,
        `runs` a RUN_DTYPE array, one entry per batch in reading order, whose counts sum to the
        columns' length and give each access its lane and timestamp. One C call per chunk
        (pmt_reader_read_access_runs); the same arrays are refilled for every chunk (valid until
        the next one is asked for). `since`: ns since the Unix epoch to seek to."""
        wanted = [(name, dtype) for name, dtype in COLUMNS if name not in ("lane", "timestamp")]
        with self._reader(volume, since) as reader:
            arrays = None
            runs = np.empty(run_capacity, RUN_DTYPE)
            n, k = ctypes.c_size_t(), ctypes.c_size_t()
            while True:
                if arrays is None:
                    arrays = {name: np.empty(capacity, dtype) for name, dtype in wanted}
                    cols = AccessColumns(lane=None, timestamp=None,
                                         **{("virtual_address" if name == "virtual" else name): arrays[name].ctypes.data
                                            for name, _ in wanted})
                rc = self._lib.pmt_reader_read_access_runs(reader, ctypes.byref(cols), capacity, runs.ctypes.data, run_capacity,
                                                           ctypes.byref(n), ctypes.byref(k))
                if rc == PMT_END:
                    return
                if rc < 0 and n.value > capacity:
                    capacity = n.value  # one batch larger than the buffers: retry with room for it
                    arrays = None
                    continue
                check(rc, "pmt_reader_read_access_runs")
                yield {name: a[:n.value] for name, a in arrays.items()}, runs[:k.value]

    def accesses(self, volume, since=None):
        """All of a volume's accesses as one dict of NumPy arrays (for traces that fit in memory)."""
        parts = list(self.batches(volume, since=since))
        if not parts:
            return {name: np.empty(0, dtype) for name, dtype in COLUMNS}
        return {name: np.concatenate([p[name] for p in parts]) for name, _ in COLUMNS}

    def record_batches(self, volume, since=None, capacity=1 << 20):
        """Yields pyarrow.RecordBatch objects (columns lane, timestamp, kind, address, size, virtual, pc)."""
        import pyarrow as pa
        for b in self.batches(volume, since=since, capacity=capacity):
            yield pa.RecordBatch.from_arrays([pa.array(b[name]) for name, _ in COLUMNS], names=[n for n, _ in COLUMNS])

    def table(self, volume, since=None):
        """A volume's accesses as one pyarrow.Table."""
        import pyarrow as pa
        return pa.Table.from_batches(list(self.record_batches(volume, since=since)), schema=schema())


def schema():
    """The Arrow schema of access batches."""
    import pyarrow as pa
    return pa.schema([(name, pa.from_numpy_dtype(np.dtype(dtype))) for name, dtype in COLUMNS])
