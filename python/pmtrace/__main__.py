"""python3 -m pmtrace export-parquet <pool> <volume> <dir> [--window-ns N] [--compression C]
   python3 -m pmtrace volumes <pool>"""
import argparse
import sys
import time
import warnings

from . import PMTraceError, Region, TruncatedRegionWarning  # (pmtrace/__init__.py keeps OpenBLAS to one thread under -m)
from .parquet import COMPRESSIONS, DEFAULT_COMPRESSION, export_parquet


def main(argv=None):
    """Runs the command; exit status 0, or 1 when the region is damaged or truncated (as `pmtrace`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedRegionWarning)
        try:
            status = _run(argv)
        except PMTraceError as e:
            status = 1
            print(f"python3 -m pmtrace: {e}", file=sys.stderr)
    for w in caught:
        print(f"python3 -m pmtrace: warning: {w.message}", file=sys.stderr)
    truncated = any(issubclass(w.category, TruncatedRegionWarning) for w in caught)
    return 1 if truncated else status


def _run(argv):
    p = argparse.ArgumentParser(prog="python3 -m pmtrace")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export-parquet", help="write a volume's accesses as Parquet, partitioned by lane and time")
    e.add_argument("pool")
    e.add_argument("volume")
    e.add_argument("directory")
    e.add_argument("--window-ns", type=int, default=1_000_000_000, help="time partition width (default 1 s)")
    e.add_argument("--compression", default=DEFAULT_COMPRESSION, choices=COMPRESSIONS,
                   help=f"Parquet codec (default {DEFAULT_COMPRESSION}; zstd: the smallest files; lz4 is LZ4_RAW)")
    v = sub.add_parser("volumes", help="list volumes and lanes")
    v.add_argument("pool")
    a = p.parse_args(argv)
    if a.command == "volumes":
        with Region(a.pool) as r:
            for name, lanes in r.volumes():
                print(f"{name}\t{lanes}")
        return 0
    import pyarrow  # noqa: F401 (imported before the clock starts: the rate is the export's)
    from ._lib import lib
    lib()  # libPMTraceC.so and the Swift runtime loaded before the clock starts too (~10-20 ms)
    t, c = time.perf_counter(), time.process_time()
    rows = export_parquet(a.pool, a.volume, a.directory, window_ns=a.window_ns, compression=a.compression)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    print(f"exported {rows} accesses to {a.directory} in {dt:.3f} s ({rows / dt / 1e6 if dt > 0 else 0:.1f} M accesses/s), "
          f"CPU {dc:.3f} s ({rows / dc / 1e6 if dc > 0 else 0:.1f} M accesses/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
