import TraceFormat

/// One piece of a record as it lies in a segment: where its payload is, and
/// the on-media record that holds it — the fragment's own record, or the
/// record group (FORMAT.md §7.1) it is a member of — with that record's
/// checksum seed, so a copy can be verified again.
@usableFromInline
struct RecordFragment {
    /// The 32-byte header of the on-media record holding the payload.
    @usableFromInline let record: UnsafeRawPointer
    /// Payload bytes of that on-media record (the whole group for a member).
    let recordLength: Int
    /// That on-media record's sequence number.
    let recordSequence: UInt64
    /// Offset of this fragment's payload from the on-media record's payload.
    @usableFromInline let start: Int
    @usableFromInline let length: Int
    let seed: UInt32
    let segment: UInt64
    let offset: Int

    @usableFromInline
    init(record: UnsafeRawPointer, recordLength: Int, recordSequence: UInt64, start: Int, length: Int, seed: UInt32, segment: UInt64, offset: Int) {
        self.record = record
        self.recordLength = recordLength
        self.recordSequence = recordSequence
        self.start = start
        self.length = length
        self.seed = seed
        self.segment = segment
        self.offset = offset
    }

    @inlinable
    var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: record + 32 + start, count: length) }
}

/// One committed record, handed out in place: no copy is made.
///
/// The view retains the store, and through it the mapping, so its memory
/// stays mapped for as long as the view lives. Every byte it covers passed
/// its checksum when the reader handed it out. Under a concurrent writer the
/// bytes can still change afterwards: when a volume is deleted and its
/// segment reused, or a ring writer reclaims the segment (FORMAT.md §10.4).
/// Use `copyVerified(_:)` where bytes leave the process (it checks the copy,
/// not the mapping); the `payload` pointers are for in-place analysis.
///
/// Thread safety: a value holding raw pointers, not `Sendable`; keep it on the
/// thread or task of the reader that made it. Cost: creating one allocates
/// nothing for records in one piece; copying one retains the store.
public struct RecordView {
    /// The first fragment's header (kind, sequence, timestamp).
    public let header: RecordHeader
    /// Keeps the mapping alive; never used to reach media from here.
    let owner: TraceStore
    /// The record's pieces (the first inline: no allocation per record).
    let fragments: FragmentList
    var first: RecordFragment { fragments.first }
    var rest: [RecordFragment] { fragments.rest }
    /// The lane the record was appended to.
    public let lane: Int
    /// True for a record found past the lane's commit point by a salvage
    /// read (or a damaged-lane read): checksum-valid and in sequence, but never committed.
    public internal(set) var salvaged: Bool = false
    /// For a member of a record group: the reading reader's verified copy of
    /// groups, so `copyVerified` checks each group once, not once per member.
    var groupCache: VerifiedGroupCache?

    init(header: RecordHeader, owner: TraceStore, first: RecordFragment, rest: [RecordFragment], lane: Int) {
        self.header = header
        self.owner = owner
        fragments = FragmentList(first: first, rest: rest)
        self.lane = lane
    }

    /// What the payload holds.
    public var kind: RecordKind { header.kind }
    /// When the record was appended, ns (the writer's clock).
    public var timestamp: UInt64 { header.timestamp }
    /// The record's number in its lane (0, 1, 2, … per lane).
    public var sequence: UInt64 { header.sequence }
    /// Segment of the record's first fragment.
    public var segment: UInt64 { first.segment }
    /// Byte offset of the record's first fragment in its segment.
    public var offset: Int { first.offset }
    /// Total payload bytes over all fragments. O(fragments).
    public var length: Int { fragments.length }
    /// Whether the payload lies in one piece (true for all records that were
    /// not split at a segment end).
    public var isContiguous: Bool { rest.isEmpty }

    /// The payload when it is in one piece, else its first fragment. Points
    /// into the mapping: valid while this view (or another owner) lives; do
    /// not escape it. Prefer `withContiguousPayload` for whole records.
    public var payload: UnsafeRawBufferPointer { first.payload }
    /// Fragments after the first, in order (empty unless the record was split).
    public var moreFragments: [UnsafeRawBufferPointer] { rest.map { $0.payload } }

    /// Calls `body` with each contiguous piece of the payload, in order (in place).
    public func forEachFragment<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        try fragments.forEach(body)
    }

    /// Calls `body` with the whole payload as one buffer: in place when the
    /// record is contiguous, else joined into a temporary buffer (one copy).
    /// Do not escape the pointer.
    public func withContiguousPayload<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try fragments.withContiguous(body)
    }

    /// `withContiguousPayload` for decoders: a payload error `body` throws
    /// about `.payload(kind:)` comes out naming this record — its kind,
    /// lane, sequence, segment and offset — so a person can find it (with
    /// `pmtrace dump`). Other errors pass through unchanged.
    public func decodePayload<R>(_ body: (UnsafeRawBufferPointer) throws(FormatError) -> R) throws(FormatError) -> R {
        do {
            return try withContiguousPayload(body)
        } catch {
            guard case .payload(let kind)? = error.structure else { throw error }
            throw error.about(.recordPayload(kind: kind, lane: lane, sequence: sequence, segment: segment, offset: UInt64(offset)))
        }
    }

    /// The whole payload, copied.
    public var bytes: [UInt8] { fragments.bytes }

    /// Copies each fragment out of the mapping, checks the copy against the
    /// record's checksum, and only then calls `body` with it (in order; a
    /// member of a record group is served from its reader's copy of the
    /// group, checked against the group's checksum when it was copied). So
    /// `body` never sees a byte that was not verified as it was handed over,
    /// even if a concurrent writer reuses the segment meanwhile. Memory: one
    /// fragment or group (at most a segment). Cost: one copy and one checksum
    /// pass (for group members: per group, shared by the members read in a row).
    ///
    /// - Throws: `.recordChanged` when the copy no longer passes the checks
    ///   (the fragments before it were handed over; nothing after it is).
    public func copyVerified(_ body: (UnsafeRawBufferPointer) -> Void) throws(TraceError) {
        try copyVerified(first, body)
        for f in rest { try copyVerified(f, body) }
    }

    /// The whole payload copied out with `copyVerified(_:)`: every byte was
    /// checked against the record's checksum as it was copied, so the array
    /// is exactly what was committed even under a concurrent writer.
    /// Cost: one copy and one checksum pass; memory: the payload.
    /// - Throws: `.recordChanged` when the record changed under the copy.
    public func verifiedBytes() throws(TraceError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        try copyVerified { out.append(contentsOf: $0) }
        return out
    }

    private func copyVerified(_ f: RecordFragment, _ body: (UnsafeRawBufferPointer) -> Void) throws(TraceError) {
        let crc = owner.options.crc32c
        if let groupCache { return try groupCache.withVerifiedPayload(f, crc: crc, body) }
        // The whole on-media record is copied and checked (for a group member: the group).
        let footprint = Layout.recordHeaderSize + f.recordLength
        let ok = withUnsafeTemporaryAllocation(byteCount: footprint, alignment: 8) { buf -> Bool in
            let p = buf.baseAddress!
            p.copyMemory(from: f.record, byteCount: footprint)
            let h = RecordHeader.decodeFields(UnsafeRawPointer(p))
            guard Int(h.payloadLength) == f.recordLength, h.sequence == f.recordSequence,
                  RecordHeader.storedCRC(UnsafeRawPointer(p))
                    == RecordHeader.checksum(seed: f.seed, header: p, payload: p + Layout.recordHeaderSize, count: f.recordLength, crc: crc)
            else { return false }
            body(UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize + f.start, count: f.length))
            return true
        }
        guard ok else { throw .recordChanged(segment: f.segment, offset: f.offset) }
    }
}
