import TraceFormat

/// Steps through the records of one segment between the header and `limit`,
/// validating each before handing it out: the length must stay inside
/// `limit`, the flags must be known and the checksum (FORMAT.md §7) must
/// match. Reads nothing outside `[base, base + limit)`.
///
/// A value type: copying it saves a reading position (readers use that to
/// look ahead for the fragments of a split record).
struct RecordCursor {
    let base: UnsafeRawPointer
    let segment: UInt64
    var limit: Int
    /// The segment header's CRC: the seed of every record checksum in it.
    let seed: UInt32
    let crc: CRC32C.Function
    /// Offset of the next record to read.
    var offset = Layout.segmentHeaderSize

    init(base: UnsafeRawPointer, segment: UInt64, limit: Int, seed: UInt32, crc: CRC32C.Function) {
        self.base = base
        self.segment = segment
        self.limit = limit
        self.seed = seed
        self.crc = crc
    }

    enum Step {
        case record(RecordHeader, payload: UnsafeRawBufferPointer, offset: Int)
        /// An end-of-segment record at `offset`: the writer moved on.
        case endMarker(offset: Int)
        /// `limit` reached.
        case limit
    }

    /// Where the record at the current offset lives, for errors.
    var location: Structure { .record(segment: segment, offset: UInt64(offset)) }

    mutating func next() throws(FormatError) -> Step {
        guard limit - offset >= Layout.recordHeaderSize else { return .limit }
        let p = base + offset
        let h = RecordHeader.decodeFields(p)
        let length = Int(h.payloadLength)
        guard length <= limit - offset - Layout.recordHeaderSize else {
            throw .invalidField(location, field: "payloadLength", value: UInt64(length))
        }
        let stored = RecordHeader.storedCRC(p)
        let computed = RecordHeader.checksum(seed: seed, header: p, payload: p + Layout.recordHeaderSize, count: length, crc: crc)
        guard stored == computed else { throw .checksumMismatch(location, stored: stored, computed: computed) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(location, field: "flags", value: UInt64(h.flags.rawValue))
        }
        if h.kind == .endOfSegment { return .endMarker(offset: offset) }
        let at = offset
        // limit - offset is a multiple of 8, so the aligned footprint still fits.
        offset += Layout.recordFootprint(payloadLength: length)
        return .record(h, payload: UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length), offset: at)
    }
}
