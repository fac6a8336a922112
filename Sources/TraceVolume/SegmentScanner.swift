import TraceFormat

/// Steps through the records of one segment between the header and `limit`,
/// validating each: the length must stay inside `limit`, the flags must be
/// known and the CRC must match. Reads nothing outside `[base, base + limit)`.
struct SegmentScanner {
    let base: UnsafeRawPointer
    let index: UInt64
    var limit: Int
    let seed: UInt32
    let crc: CRC32C.Function
    var offset = Layout.segmentHeaderSize

    init(base: UnsafeRawPointer, index: UInt64, limit: Int, seed: UInt32, crc: @escaping CRC32C.Function) {
        self.base = base
        self.index = index
        self.limit = limit
        self.seed = seed
        self.crc = crc
    }

    enum Step {
        case record(RecordHeader, payload: UnsafeRawBufferPointer, offset: Int)
        /// No more records: `limit` reached or an end-of-segment record.
        case end
    }

    mutating func next() throws(FormatError) -> Step {
        guard limit - offset >= Layout.recordHeaderSize else { return .end }
        let p = base + offset
        let where_ = Structure.record(segment: index, offset: UInt64(offset))
        let h = RecordHeader.decodeFields(p)
        let length = Int(h.payloadLength)
        guard length <= limit - offset - Layout.recordHeaderSize else {
            throw .invalidField(where_, field: "payloadLength", value: UInt64(length))
        }
        let stored = RecordHeader.storedCRC(p)
        let computed = crc(crc(seed, p, 28), p + Layout.recordHeaderSize, length)
        guard stored == computed else { throw .checksumMismatch(where_, stored: stored, computed: computed) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(where_, field: "flags", value: UInt64(h.flags.rawValue))
        }
        if h.kind == .endOfSegment { return .end }
        let at = offset
        // limit - offset is a multiple of 8, so the aligned footprint still fits.
        offset += Layout.recordFootprint(payloadLength: length)
        return .record(h, payload: UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length), offset: at)
    }
}
