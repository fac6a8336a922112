import TraceFormat

/// One committed record lent to a `LaneReader.forEachRecord` body: in place,
/// checksum-verified like `RecordView`, but noncopyable, so it cannot outlive
/// the call and needs no reference to keep the mapping alive (no reference
/// counting per record). Use `RecordView` (from `next()`) to keep a record.
/// Thread safety: valid on the calling thread for the duration of the call.
///
/// Its stored properties are all trivial (no references): lending one costs
/// no retain, release or destroy call per record. The fragments after the
/// first of a split record are lent too, from the reader's array that lives
/// for the duration of the call.
public struct BorrowedRecord: ~Copyable {
    /// The first fragment's header (kind, sequence, timestamp).
    public let header: RecordHeader
    @usableFromInline let first: RecordFragment
    /// Fragments after the first (empty unless the record was split); points
    /// into an array the lending reader keeps alive during the call.
    @usableFromInline let more: UnsafeBufferPointer<RecordFragment>
    var rest: [RecordFragment] { Array(more) }
    var fragments: FragmentList { FragmentList(first: first, rest: rest) }
    /// The lane the record was appended to.
    public let lane: Int
    /// Found past the lane's commit point by a salvage read (see `RecordView.salvaged`).
    public let salvaged: Bool

    /// A record whose later fragments are `more` (valid for the call only).
    @usableFromInline
    init(header: RecordHeader, first: RecordFragment, more: UnsafeBufferPointer<RecordFragment>, lane: Int, salvaged: Bool) {
        self.header = header
        self.first = first
        self.more = more
        self.lane = lane
        self.salvaged = salvaged
    }

    /// A committed record in one piece.
    @inlinable
    init(header: RecordHeader, first: RecordFragment, lane: Int) {
        self.header = header
        self.first = first
        more = UnsafeBufferPointer(start: nil, count: 0)
        self.lane = lane
        salvaged = false
    }

    /// What the payload holds.
    public var kind: RecordKind { header.kind }
    /// When the record was appended, ns (the writer's clock).
    public var timestamp: UInt64 { header.timestamp }
    /// The record's number in its lane (0, 1, 2, … per lane).
    public var sequence: UInt64 { header.sequence }
    /// Total payload bytes over all fragments. O(fragments).
    public var length: Int { more.reduce(first.length) { $0 + $1.length } }
    /// Whether the payload lies in one piece.
    public var isContiguous: Bool { more.isEmpty }

    /// Calls `body` with each contiguous piece of the payload, in order (in
    /// place). Do not escape the pointer.
    @inlinable
    public func forEachFragment<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        try body(first.payload)
        for f in more { try body(f.payload) }
    }

    /// `forEachFragment` for a body that does not throw (inlined into the
    /// caller: no generic dispatch per record).
    @inlinable
    public func forEachFragment(_ body: (UnsafeRawBufferPointer) -> Void) {
        body(first.payload)
        for f in more { body(f.payload) }
    }

    /// Calls `body` with the whole payload as one buffer (in place when
    /// contiguous, else joined into a temporary buffer). Do not escape the pointer.
    public func withContiguousPayload<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try fragments.withContiguous(body)
    }

    /// The whole payload, copied.
    public var bytes: [UInt8] { fragments.bytes }
}
