/// The first 64 bytes of every segment in use (FORMAT.md §6). Names the
/// owner (volume uid, lane), the position in the lane's chain (`sequence`,
/// `previous`), and the first record's sequence and timestamp so readers can
/// seek without scanning.
public struct SegmentHeader: Equatable, Sendable {
    /// The lane that owns the segment.
    public var lane: UInt32
    /// Uid of the owning volume (never reused, so a stale header is recognized).
    public var volumeUID: UInt64
    /// Position in the lane's chain: the predecessor has `sequence - 1`.
    public var sequence: UInt64
    /// Index of the predecessor segment, or `Layout.noSegment`.
    public var previous: UInt64
    /// Sequence number of the first record that starts in this segment.
    public var firstRecordSequence: UInt64
    /// Timestamp of that record (readers binary-search segments by it).
    public var firstTimestamp: UInt64
    /// The segment's own index (detects a header found in the wrong place).
    public var index: UInt64

    /// A header with the given fields (FORMAT.md §6).
    public init(
        lane: UInt32, volumeUID: UInt64, sequence: UInt64, previous: UInt64,
        firstRecordSequence: UInt64, firstTimestamp: UInt64, index: UInt64
    ) {
        self.lane = lane
        self.volumeUID = volumeUID
        self.sequence = sequence
        self.previous = previous
        self.firstRecordSequence = firstRecordSequence
        self.firstTimestamp = firstTimestamp
        self.index = index
    }

    /// Writes the 64-byte encoding; returns its CRC, which also seeds the CRC
    /// of every record in this segment.
    @discardableResult
    public func encode(into p: UnsafeMutableRawPointer) -> UInt32 {
        p.storeLE(Magic.segment, at: 0)
        p.storeLE(lane, at: 4)
        p.storeLE(volumeUID, at: 8)
        p.storeLE(sequence, at: 16)
        p.storeLE(previous, at: 24)
        p.storeLE(firstRecordSequence, at: 32)
        p.storeLE(firstTimestamp, at: 40)
        p.storeLE(index, at: 48)
        p.storeLE(UInt32(0), at: 56)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60))
        p.storeLE(crc, at: 60)
        return crc
    }

    /// Decodes and checks magic, CRC and that `index` matches where it was
    /// read. Returns the header and its CRC (the record seed).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, expectedIndex: UInt64
    ) throws(FormatError) -> (header: SegmentHeader, crc: UInt32) {
        let s = Structure.segmentHeader(segment: expectedIndex)
        guard bytes.count >= Layout.segmentHeaderSize, let p = bytes.baseAddress else {
            throw .truncated(s, needed: Layout.segmentHeaderSize, available: bytes.count)
        }
        let magic: UInt32 = p.loadLE(0)
        guard magic == Magic.segment else { throw .badMagic(s, found: UInt64(magic)) }
        let stored: UInt32 = p.loadLE(60)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60))
        guard stored == computed else { throw .checksumMismatch(s, stored: stored, computed: computed) }
        let h = SegmentHeader(
            lane: p.loadLE(4), volumeUID: p.loadLE(8), sequence: p.loadLE(16), previous: p.loadLE(24),
            firstRecordSequence: p.loadLE(32), firstTimestamp: p.loadLE(40), index: p.loadLE(48))
        guard h.index == expectedIndex else { throw .invalidField(s, field: "index", value: h.index) }
        return (h, stored)
    }
}
