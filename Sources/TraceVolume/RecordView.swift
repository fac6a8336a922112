import TraceFormat

/// One committed record, handed out in place: `payload` points into the
/// mapped region (no copy). Valid while the store's region stays mapped and,
/// in ring mode, until a writer reclaims the segment; do not escape the
/// pointer beyond that.
public struct RecordView {
    public let header: RecordHeader
    /// The payload, or its first fragment when the record spans segments.
    public let payload: UnsafeRawBufferPointer
    /// Further fragments, in order (empty for all but records larger than a segment).
    public let moreFragments: [UnsafeRawBufferPointer]
    public let lane: Int
    /// Where the record (its first fragment) lives.
    public let segment: UInt64
    public let offset: Int
    /// True for a record found past the lane's commit point by a salvage
    /// read: CRC-valid and in sequence, but never committed.
    public var salvaged: Bool = false

    public var kind: RecordKind { header.kind }
    public var timestamp: UInt64 { header.timestamp }
    public var sequence: UInt64 { header.sequence }
    /// Total payload bytes over all fragments.
    public var length: Int { moreFragments.reduce(payload.count) { $0 + $1.count } }

    /// Calls `body` with each contiguous piece of the payload, in order.
    public func forEachFragment<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        try body(payload)
        for f in moreFragments { try body(f) }
    }
}
