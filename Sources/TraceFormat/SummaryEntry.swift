/// One entry of the segment summary (FORMAT.md §6.1, since 1.3): the owner
/// and chain links of segment `index`, a dense copy of the fields of its
/// header that the chain walk reads, so a mount walks 32-byte entries
/// instead of touching one header per segment.
public struct SummaryEntry: Equatable, Sendable {
    /// Uid of the owning volume (as in the segment's header).
    public var volumeUID: UInt64
    /// Position in the lane's chain (as in the header).
    public var sequence: UInt64
    /// Predecessor segment or `Layout.noSegment` (as in the header).
    public var previous: UInt64
    /// Lane within the owner volume (as in the header).
    public var lane: UInt32

    /// An entry with the given fields.
    public init(volumeUID: UInt64, sequence: UInt64, previous: UInt64, lane: UInt32) {
        self.volumeUID = volumeUID
        self.sequence = sequence
        self.previous = previous
        self.lane = lane
    }

    /// The entry a writer writes beside `header`.
    public init(_ header: SegmentHeader) {
        self.init(volumeUID: header.volumeUID, sequence: header.sequence, previous: header.previous, lane: header.lane)
    }

    /// Whether `header` holds the same owner and links.
    public func matches(_ header: SegmentHeader) -> Bool {
        header.volumeUID == volumeUID && header.sequence == sequence && header.previous == previous && header.lane == lane
    }

    /// Writes the 32-byte encoding of the entry of segment `index` (its CRC
    /// covers bytes 0 … 27 and then `index` as a little-endian u64, so an
    /// entry found in another place fails its check). Precondition: 32 bytes.
    public func encode(into p: UnsafeMutableRawPointer, index: UInt64) {
        p.storeLE(volumeUID, at: 0)
        p.storeLE(sequence, at: 8)
        p.storeLE(previous, at: 16)
        p.storeLE(lane, at: 24)
        p.storeLE(Self.checksum(UnsafeRawPointer(p), index: index), at: 28)
    }

    static func checksum(_ p: UnsafeRawPointer, index: UInt64) -> UInt32 {
        var where_ = index.littleEndian
        let c = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 28))
        return withUnsafeBytes(of: &where_) { CRC32C.update(c, $0) }
    }

    /// Decodes the entry of segment `index`; throws when its CRC fails
    /// (never written, torn, damaged, or left by an earlier format).
    public static func decode(_ bytes: UnsafeRawBufferPointer, index: UInt64) throws(FormatError) -> SummaryEntry {
        let s = Structure.summaryEntry(segment: index)
        guard bytes.count >= Layout.summaryEntrySize, let p = bytes.baseAddress else {
            throw .truncated(s, needed: Layout.summaryEntrySize, available: bytes.count)
        }
        let stored: UInt32 = p.loadLE(28)
        let computed = checksum(p, index: index)
        guard stored == computed else { throw .checksumMismatch(s, stored: stored, computed: computed) }
        return SummaryEntry(volumeUID: p.loadLE(0), sequence: p.loadLE(8), previous: p.loadLE(16), lane: p.loadLE(24))
    }
}
