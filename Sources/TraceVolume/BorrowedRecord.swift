import TraceFormat

/// One committed record lent to a `LaneReader.forEachRecord` body: in place,
/// checksum-verified like `RecordView`, but noncopyable, so it cannot outlive
/// the call and needs no reference to keep the mapping alive (no reference
/// counting per record). Use `RecordView` (from `next()`) to keep a record.
public struct BorrowedRecord: ~Copyable {
    public let header: RecordHeader
    let first: RecordFragment
    let rest: [RecordFragment]
    public let lane: Int
    /// Found past the lane's commit point by a salvage read (see `RecordView.salvaged`).
    public let salvaged: Bool

    init(header: RecordHeader, first: RecordFragment, rest: [RecordFragment], lane: Int, salvaged: Bool) {
        self.header = header
        self.first = first
        self.rest = rest
        self.lane = lane
        self.salvaged = salvaged
    }

    public var kind: RecordKind { header.kind }
    public var timestamp: UInt64 { header.timestamp }
    public var sequence: UInt64 { header.sequence }
    /// Total payload bytes over all fragments. O(fragments).
    public var length: Int { rest.reduce(first.length) { $0 + $1.length } }
    /// Whether the payload lies in one piece.
    public var isContiguous: Bool { rest.isEmpty }

    /// Calls `body` with each contiguous piece of the payload, in order (in
    /// place). Do not escape the pointer.
    public func forEachFragment<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        try body(first.payload)
        for f in rest { try body(f.payload) }
    }

    /// Calls `body` with the whole payload as one buffer (in place when
    /// contiguous, else joined into a temporary buffer). Do not escape the pointer.
    public func withContiguousPayload<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if rest.isEmpty { return try body(first.payload) }
        return try joinedFragments(first, rest, body)
    }

    /// The whole payload, copied.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out.append(contentsOf: first.payload)
        for f in rest { out.append(contentsOf: f.payload) }
        return out
    }
}

/// The payload of `first` + `rest` joined in a temporary buffer for `body`.
func joinedFragments<R, E: Error>(
    _ first: RecordFragment, _ rest: [RecordFragment], _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let total = rest.reduce(first.length) { $0 + $1.length }
    return try withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 8) { buf throws(E) -> R in
        var at = 0
        for f in CollectionOfOne(first) + rest {
            if f.length > 0 { (buf.baseAddress! + at).copyMemory(from: f.payload.baseAddress!, byteCount: f.length) }
            at += f.length
        }
        return try body(UnsafeRawBufferPointer(start: buf.baseAddress, count: total))
    }
}
