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
    /// Whether the last `next(copyingTo:capacity:copy:)` copied the payload
    /// (false when it did not fit and was checked in place instead).
    var copied = false

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

    /// `next()` for a verified copy-out: the header is read once into a local
    /// copy (its fields and the checksum come from the same bytes), and the
    /// payload is copied to `sink` with the checksum computed over the bytes
    /// copied (in one pass with `copy`, else copy then checksum the copy), so
    /// what lands in `sink` is exactly what was verified, whatever a concurrent
    /// writer does meanwhile. A payload longer than `capacity` is checked in
    /// place by `next()` instead and `copied` is false. `sink` may hold
    /// garbage after a throw. The returned payload still points into the segment.
    mutating func next(copyingTo sink: UnsafeMutableRawPointer, capacity: Int,
                       copy: StoreOptions.CopyChecksumFunction?) throws(FormatError) -> Step {
        guard limit - offset >= Layout.recordHeaderSize else { return .limit }
        let p = base + offset
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let (h, stored, headerSum) = withUnsafeMutableBytes(of: &words) { local -> (RecordHeader, UInt32, UInt32) in
            local.copyMemory(from: UnsafeRawBufferPointer(start: p, count: Layout.recordHeaderSize))
            let l = UnsafeRawPointer(local.baseAddress!)
            return (RecordHeader.decodeFields(l), RecordHeader.storedCRC(l), crc(seed, l, RecordHeader.checksummedHeaderBytes))
        }
        let length = Int(h.payloadLength)
        guard length <= limit - offset - Layout.recordHeaderSize else {
            throw .invalidField(location, field: "payloadLength", value: UInt64(length))
        }
        guard length <= capacity else {
            copied = false
            return try next()
        }
        var sum = headerSum
        var done = 0
        if let copy, length > 0 { done = copy(&sum, sink, p + Layout.recordHeaderSize, length) }
        if done < length {
            (sink + done).copyMemory(from: p + Layout.recordHeaderSize + done, byteCount: length - done)
            sum = crc(sum, sink + done, length - done)
        }
        guard stored == sum else { throw .checksumMismatch(location, stored: stored, computed: sum) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(location, field: "flags", value: UInt64(h.flags.rawValue))
        }
        copied = true
        if h.kind == .endOfSegment { return .endMarker(offset: offset) }
        let at = offset
        offset += Layout.recordFootprint(payloadLength: length)
        return .record(h, payload: UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length), offset: at)
    }
}
