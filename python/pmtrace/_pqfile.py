"""A small Parquet file writer for access columns, written for speed on one core.

PyArrow's writer spends most of the export's time hashing values into dictionaries, encoding
them one by one and computing statistics; here every column chunk is built from whole NumPy
arrays and handed to the codec in one call:

- timestamp, virtual: RLE_DICTIONARY over their runs (a batch's accesses share one timestamp;
  virtual is 0 unless the trace records it): the dictionary is the run values, the indices one
  RLE run each. PLAIN when runs average fewer than RUN_MIN accesses.
- kind (0..3), size (below 256): RLE_DICTIONARY with the dictionary 0..2^w-1, so the indices
  are the values themselves, bit-packed with NumPy shifts (w = 2 for kind, 4 or 8 for size).
  size >= 256: PLAIN.
- address, pc: PLAIN (their bytes as they are), then compressed.

Only encodings every Parquet reader has (format 1.0's PLAIN, RLE_DICTIONARY with a PLAIN
dictionary page, data pages v1) and one data page per column chunk. Columns are REQUIRED and
carry both the legacy converted type and the logical type (unsigned integers), so DuckDB, Spark,
pandas and PyArrow read the same column types PyArrow writes for these NumPy dtypes. Statistics
(min/max, ColumnOrder TYPE_ORDER) on timestamp only: they come free from the runs, while a row
group's addresses span the whole address space (heap, stack, libraries), so min/max of address
would prune nothing and cost two passes.

Thrift compact protocol: the subset the footer and page headers need (structs, i32, i64, binary,
lists, booleans), from parquet.thrift of apache/parquet-format."""
import struct

import numpy as np

# parquet.thrift: Type, ConvertedType, Encoding, CompressionCodec, PageType, FieldRepetitionType.
INT32, INT64 = 1, 2
UINT_8, UINT_16, UINT_32, UINT_64 = 11, 12, 13, 14
PLAIN, RLE, RLE_DICTIONARY = 0, 3, 8
CODECS = {"none": 0, "uncompressed": 0, "snappy": 1, "zstd": 6, "lz4": 7, "lz4_raw": 7}  # lz4 = LZ4_RAW
DATA_PAGE, DICTIONARY_PAGE = 0, 2
REQUIRED = 0

#: A column is run-encoded when its runs average at least this many values.
RUN_MIN = 256

# Thrift compact protocol type ids.
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _BINARY, _LIST, _STRUCT = 1, 2, 3, 4, 5, 6, 8, 9, 12
_BOOL = -1  # our marker: the value is folded into the field header


def _varint(n):
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes([i]) for i in range(0x80)]


def _zigzag(n):
    return (n << 1) ^ (n >> 63)


def _value(t, v):
    if t in (_I16, _I32, _I64):
        return _varint(_zigzag(v))
    if t == _BYTE:
        return bytes([v & 0xFF])
    if t == _BINARY:
        b = v.encode() if isinstance(v, str) else bytes(v)
        return _varint(len(b)) + b
    if t == _STRUCT:
        return v  # already encoded
    if t == _LIST:
        et, items = v
        head = bytes([len(items) << 4 | et]) if len(items) < 15 else bytes([0xF0 | et]) + _varint(len(items))
        return head + b"".join(_value(et, i) for i in items)
    raise ValueError(t)


def _struct(*fields):
    """A Thrift compact struct from (field id, type, value) in increasing id order; None values are left out."""
    out = bytearray()
    last = 0
    for fid, t, v in fields:
        if v is None:
            continue
        ct = (_BOOL_TRUE if v else _BOOL_FALSE) if t == _BOOL else t
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | ct)
        else:
            out.append(ct)
            out += _varint(_zigzag(fid))
        last = fid
        if t != _BOOL:
            out += _value(t, v)
    out.append(0)
    return bytes(out)


def _page_header(kind, raw_len, body_len, num_values, encoding):
    """PageHeader of a DATA_PAGE (v1, RLE levels) or DICTIONARY_PAGE; the bytes _struct gives for
    it, built directly (two per column chunk: the encoder's per-field calls cost ~3 % of the export)."""
    v = _varint
    head = b"\x15" + v(kind << 1) + b"\x15" + v(raw_len << 1) + b"\x15" + v(body_len << 1)
    if kind == DATA_PAGE:
        return head + b"\x2c\x15" + v(num_values << 1) + b"\x15" + v(encoding << 1) + b"\x15\x06\x15\x06\x00\x00"
    return head + b"\x4c\x15" + v(num_values << 1) + b"\x15" + v(encoding << 1) + b"\x00\x00"


_META_PREFIX = {}


def _column_chunk(name, ptype, codec, n, raw, written, start, data_offset, dict_offset, stats):
    """ColumnChunk {file_offset, ColumnMetaData}; the bytes _struct gives for it, with the fields
    that never change for a (column, codec, dictionary or not) encoded once."""
    key = (name, ptype, codec, dict_offset is None)
    prefix = _META_PREFIX.get(key)
    if prefix is None:
        encodings = [PLAIN, RLE] if dict_offset is None else [PLAIN, RLE, RLE_DICTIONARY]
        prefix = _META_PREFIX[key] = _struct((1, _I32, ptype), (2, _LIST, (_I32, encodings)), (3, _LIST, (_BINARY, [name])),
                                             (4, _I32, codec))[:-1]
    v = _varint
    meta = prefix + b"\x16" + v(n << 1) + b"\x16" + v(raw << 1) + b"\x16" + v(written << 1) + b"\x26" + v(data_offset << 1)
    if dict_offset is not None:
        meta += b"\x26" + v(dict_offset << 1)
        if stats is not None:
            meta += b"\x1c" + stats
    elif stats is not None:
        meta += b"\x3c" + stats
    return b"\x26" + v(start << 1) + b"\x1c" + meta + b"\x00\x00"


#: Columns of a file: name, NumPy dtype, physical type, converted type, bit width.
SCHEMA = (("timestamp", np.uint64, INT64, UINT_64, 64), ("kind", np.uint8, INT32, UINT_8, 8),
          ("size", np.uint32, INT32, UINT_32, 32), ("address", np.uint64, INT64, UINT_64, 64),
          ("virtual", np.uint64, INT64, UINT_64, 64), ("pc", np.uint64, INT64, UINT_64, 64))
_STATS = ("timestamp",)


def _runs(values):
    """(dictionary, counts) of `values`' runs, or None when runs average fewer than RUN_MIN values."""
    n = len(values)
    cuts = np.flatnonzero(values[1:] != values[:-1])
    if len(cuts) + 1 > max(1, n // RUN_MIN):
        return None
    starts = np.empty(len(cuts) + 1, np.int64)
    starts[0] = 0
    starts[1:] = cuts + 1
    return values[starts], np.diff(starts, append=n)


def _rle(counts):
    """Page body of dictionary indices 0, 1, 2, … repeated counts[i] times: one RLE run each."""
    width = max(1, (len(counts) - 1).bit_length())
    size = (width + 7) // 8
    body = bytearray([width])
    for i, c in enumerate(counts.tolist()):
        body += _varint(c << 1)
        body += i.to_bytes(size, "little")
    return bytes(body)


def _packed(values, width):
    """(head, body) of a data page of dictionary indices = `values` (all < 2^width, width 2, 4 or 8):
    one bit-packed run, values from the least significant bits of each byte on (parquet-format's
    RLE/bit-packing hybrid). Whole-array NumPy operations: for width 2 one multiply gathers the
    2-bit values of a 32-bit word (bytes at bits 0, 8, 16, 24) into its top byte; for width 4 a
    shift and an or merge the two bytes of a 16-bit word."""
    n = len(values)
    groups = (n + 7) // 8
    if n % 8 == 0 and values.dtype == np.uint8 and values.flags.c_contiguous:
        v = values
    else:
        v = np.zeros(groups * 8, np.uint8)
        v[:n] = values
    if width == 2:
        # Value k (bits 8k..8k+1) times 2^(24-6k) lands at bits 24+2k; every other product lands
        # below bit 24 in distinct 2-bit slots (no carries) or beyond bit 31 (dropped).
        v = ((v.view("<u4") * np.uint32(1 << 24 | 1 << 18 | 1 << 12 | 1 << 6)) >> np.uint32(24)).astype(np.uint8)
    elif width == 4:
        w = v.view("<u2")
        v = (w | (w >> np.uint16(4))).astype(np.uint8)
    return bytes([width]) + _varint(groups << 1 | 1), v


class ParquetFile:
    """One Parquet file of access columns (SCHEMA), written a row group per write()."""

    def __init__(self, path, compression="zstd", compression_level=None):
        import pyarrow as pa

        name = str(compression).lower()
        if name not in CODECS:
            raise ValueError(f"unknown compression {compression!r} (zstd, lz4, snappy, none)")
        self._codec_id = CODECS[name]
        self._codec = None if self._codec_id == 0 else pa.Codec(
            {1: "snappy", 6: "zstd", 7: "lz4_raw"}[self._codec_id], compression_level)
        self._f = open(path, "wb")
        self._f.write(b"PAR1")
        self._offset = 4
        self._row_groups = []
        self._rows = 0

    def _page(self, kind, body_parts, num_values, encoding):
        """Writes one page (header + body); returns (uncompressed bytes, written bytes) with the header."""
        raw = body_parts[0] if len(body_parts) == 1 else b"".join(body_parts)
        raw_len = memoryview(raw).nbytes
        body = raw if self._codec is None else self._codec.compress(raw)
        body_len = memoryview(body).nbytes
        header = _page_header(kind, raw_len, body_len, num_values, encoding)
        self._f.write(header)
        self._f.write(body)
        self._offset += len(header) + body_len
        return len(header) + raw_len, len(header) + body_len

    def _chunk(self, name, values, ptype, n, runs=None):
        """Writes a column chunk of `values` (or of `runs`: (dictionary, counts) when given); its
        ColumnChunk struct and (uncompressed, written) bytes."""
        start = self._offset
        dict_offset = None
        lo = hi = None
        if runs is None and name in ("timestamp", "virtual"):
            runs = _runs(values)
        if runs is not None:
            dictionary, counts = runs
            if name in _STATS:
                lo, hi = dictionary.min(), dictionary.max()
            dict_offset = start
            u1, c1 = self._page(DICTIONARY_PAGE, [np.ascontiguousarray(dictionary)], len(dictionary), PLAIN)
            data_offset = self._offset
            u2, c2 = self._page(DATA_PAGE, [_rle(counts)], n, RLE_DICTIONARY)
        elif name == "kind" or (name == "size" and (top := int(values.max())) < 256):
            width = 2 if name == "kind" else 4 if top < 16 else 8
            dict_offset = start
            u1, c1 = self._page(DICTIONARY_PAGE, [np.arange(1 << width, dtype=np.int32)], 1 << width, PLAIN)
            data_offset = self._offset
            head, packed = _packed(values, width)
            u2, c2 = self._page(DATA_PAGE, [head, packed], n, RLE_DICTIONARY)
        else:
            if name in _STATS:
                lo, hi = values.min(), values.max()
            if values.dtype.itemsize < 4:
                values = values.astype(np.int32)
            data_offset = start
            u1 = c1 = 0
            u2, c2 = self._page(DATA_PAGE, [np.ascontiguousarray(values)], n, PLAIN)
        stats = None
        if lo is not None:
            fmt = "<Q" if ptype == INT64 else "<I"
            stats = _struct((3, _I64, 0), (5, _BINARY, struct.pack(fmt, int(hi))), (6, _BINARY, struct.pack(fmt, int(lo))))
        return _column_chunk(name, ptype, self._codec_id, n, u1 + u2, c1 + c2, start, data_offset, dict_offset,
                             stats), u1 + u2, c1 + c2

    def write(self, columns, runs=None):
        """Appends one row group of n rows. `columns` maps the SCHEMA names to 1-D arrays of length n
        (kind holding 0..3 only, as the reader hands them out); with `runs` (a RUN_DTYPE array
        whose counts sum to n, as Region.runs yields) the timestamp column is not needed, and
        virtual is known to be 0 when no run has GUEST_VIRTUAL set."""
        n = len(columns["address"])
        if n == 0:
            return
        given = {}
        if runs is not None:
            counts = runs["count"]
            if len(runs) <= max(1, n // RUN_MIN):
                given["timestamp"] = (runs["timestamp"], counts)
            elif "timestamp" not in columns:
                columns = dict(columns, timestamp=np.repeat(runs["timestamp"], counts))
            if not np.any(runs["fields"] & 1):  # GUEST_VIRTUAL
                given["virtual"] = (np.zeros(1, np.uint64), np.array([n]))
        start = self._offset
        chunks, raw_total, total = [], 0, 0
        for name, dtype, ptype, _, _ in SCHEMA:
            chunk, u, c = self._chunk(name, columns.get(name), ptype, n, given.get(name))
            chunks.append(chunk)
            raw_total += u
            total += c
        self._row_groups.append(_struct((1, _LIST, (_STRUCT, chunks)), (2, _I64, raw_total), (3, _I64, n),
                                        (5, _I64, start), (6, _I64, total), (7, _I16, len(self._row_groups) if len(self._row_groups) < 1 << 15 else None)))
        self._rows += n

    def close(self):
        """Writes the footer and closes the file."""
        if self._f is None:
            return
        schema = [_struct((4, _BINARY, "schema"), (5, _I32, len(SCHEMA)))]
        for name, _, ptype, converted, bits in SCHEMA:
            logical = _struct((10, _STRUCT, _struct((1, _BYTE, bits), (2, _BOOL, False))))
            schema.append(_struct((1, _I32, ptype), (3, _I32, REQUIRED), (4, _BINARY, name), (6, _I32, converted),
                                  (10, _STRUCT, logical)))
        orders = [_struct((1, _STRUCT, _struct())) for _ in SCHEMA]  # TYPE_ORDER: unsigned for UINT_*
        footer = _struct((1, _I32, 1), (2, _LIST, (_STRUCT, schema)), (3, _I64, self._rows),
                         (4, _LIST, (_STRUCT, self._row_groups)), (6, _BINARY, "pmtrace (parquet-format subset)"),
                         (7, _LIST, (_STRUCT, orders)))
        self._f.write(footer)
        self._f.write(struct.pack("<I", len(footer)) + b"PAR1")
        self._f.close()
        self._f = None
