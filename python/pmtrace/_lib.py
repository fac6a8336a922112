"""ctypes bindings of the C reader API in include/pmtrace.h (libPMTraceC.so)."""
import ctypes
import ctypes.util
import os

PMT_OK, PMT_END = 0, 2


class Record(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_uint16), ("reserved", ctypes.c_uint16), ("lane", ctypes.c_uint32),
                ("sequence", ctypes.c_uint64), ("timestamp", ctypes.c_uint64),
                ("payload", ctypes.c_void_p), ("length", ctypes.c_uint64)]


class AccessColumns(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p) for name in
                ("lane", "timestamp", "kind", "size", "address", "virtual_address", "pc")]


class AccessRun(ctypes.Structure):
    _fields_ = [("timestamp", ctypes.c_uint64), ("lane", ctypes.c_uint32), ("count", ctypes.c_uint32),
                ("fields", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class PMTraceError(Exception):
    """A failure of the C library: `code` is the PMT_E_* value, the text pmt_last_error()."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class TruncatedRegionWarning(UserWarning):
    """The pool file is shorter than the region its superblock records (an interrupted copy): what
    the file holds is read, and readers raise PMTraceError where they meet the missing bytes."""


def _find():
    """libPMTraceC.so: $PMTRACE_LIB, then the package build (the newer of .build/release and
    .build/debug, so a stale build of the other kind is not taken), then the system."""
    env = os.environ.get("PMTRACE_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.getcwd(), os.path.join(here, "..", ".."), os.path.join(here, "..")):
        found = [p for p in (os.path.join(root, ".build", config, "libPMTraceC.so") for config in ("release", "debug"))
                 if os.path.exists(p)]
        if found:
            return max(found, key=os.path.getmtime)
    return ctypes.util.find_library("PMTraceC") or "libPMTraceC.so"


_lib = None


def lib():
    """The loaded library, with argument types declared (loaded once)."""
    global _lib
    if _lib is not None:
        return _lib
    L = ctypes.CDLL(_find())
    P, I, U32, U64, SZ = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
    sig = {
        "pmt_open": (I, [ctypes.c_char_p, I, U64, ctypes.POINTER(P)]),
        "pmt_open_truncated": (I, [ctypes.c_char_p, ctypes.POINTER(P), ctypes.POINTER(U64), ctypes.POINTER(U64)]),
        "pmt_close": (None, [P]),
        "pmt_volume_count": (I, [P, ctypes.POINTER(U32)]),
        "pmt_volume_name": (I, [P, U32, ctypes.c_char_p, SZ, ctypes.POINTER(SZ), ctypes.POINTER(U32)]),
        "pmt_reader_open": (I, [P, ctypes.c_char_p, ctypes.POINTER(P)]),
        "pmt_reader_seek": (I, [P, U64]),
        "pmt_reader_next": (I, [P, ctypes.POINTER(Record)]),
        "pmt_access_count": (I, [ctypes.POINTER(Record), ctypes.POINTER(U64)]),
        "pmt_decode_accesses": (I, [ctypes.POINTER(Record), ctypes.POINTER(AccessColumns), SZ, ctypes.POINTER(SZ)]),
        "pmt_reader_read_accesses": (I, [P, ctypes.POINTER(AccessColumns), SZ, ctypes.POINTER(SZ)]),
        "pmt_reader_read_access_runs": (I, [P, ctypes.POINTER(AccessColumns), SZ, P, SZ, ctypes.POINTER(SZ), ctypes.POINTER(SZ)]),
        "pmt_reader_close": (None, [P]),
        "pmt_last_error": (ctypes.c_char_p, []),
        "pmt_strerror": (ctypes.c_char_p, [I]),
    }
    for name, (res, args) in sig.items():
        f = getattr(L, name)
        f.restype, f.argtypes = res, args
    _lib = L
    return L


def check(code, what):
    """Raises PMTraceError for a negative result code; returns the code otherwise."""
    if code < 0:
        L = lib()
        detail = L.pmt_last_error().decode("utf-8", "replace")
        raise PMTraceError(code, f"{what}: {L.pmt_strerror(code).decode()}" + (f" ({detail})" if detail else ""))
    return code
