import TraceFormat

/// Records `LaneReader.read(batchInto:)` copied out, in order: the members of
/// one record group, or one other record. Iterate it (`for r in batch`) to
/// get each record's header and payload.
///
/// The payloads lie in the caller's buffer, which the batch points into: it
/// is valid while that buffer is and unchanged (not Sendable for that
/// reason). Layout in the buffer: a single record's payload at the start; a
/// group's members as FORMAT.md §7.1 lays them out (an 8-byte member header,
/// the payload, zeros to a multiple of 8), so each payload starts 8-byte
/// aligned when the buffer does. Use the iteration, not the layout.
public struct CopiedBatch {
    /// The lane the records were appended to.
    public let lane: Int
    /// How many records the batch holds (≥ 1).
    public let count: Int
    /// Bytes of the buffer, from its start, that the batch uses.
    public let byteCount: Int
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let shape: Shape

    @usableFromInline
    enum Shape {
        /// One record, its payload at `base`.
        case record(CopiedRecord)
        /// Members of a group at `[at, end)` of `base`; the first has index
        /// `index` (sequence `sequence + index`), timestamps from `timestamp`;
        /// `uniformLength` is the payload length all have, or -1; `ahead`
        /// the bytes after the group in its segment, to prefetch.
        case members(at: Int, end: Int, index: Int, sequence: UInt64, timestamp: UInt64, uniformLength: Int, ahead: Ahead)
    }

    /// Committed bytes of the mapping after a batch's group, for the
    /// iterator to prefetch while the caller handles the batch (the next
    /// group's copy then reads them from the cache). Only ever passed to
    /// `pmt_prefetch`, which neither faults nor reads: nothing is handed out
    /// from it, and a prefetch after the mapping is gone is harmless.
    @usableFromInline
    struct Ahead {
        @usableFromInline let start: UnsafeRawPointer?
        /// How many 64-byte lines from `start` to prefetch, one per record
        /// handed out.
        @usableFromInline let lines: Int

        @inlinable
        init(start: UnsafeRawPointer?, lines: Int) {
            self.start = start
            self.lines = lines
        }

        @inlinable static var none: Ahead { Ahead(start: nil, lines: 0) }
    }

    /// One record of a batch.
    public struct Record {
        /// Its header: kind, sequence, timestamp; `payloadLength` is
        /// `payload.count` (the whole record's, split or not) and `flags` empty.
        public let header: RecordHeader
        /// Its payload, in the caller's buffer.
        public let payload: UnsafeRawBufferPointer
        /// Found past the lane's commit point by a salvage read (see `RecordView.salvaged`).
        public let salvaged: Bool

        @inlinable
        init(header: RecordHeader, payload: UnsafeRawBufferPointer, salvaged: Bool) {
            self.header = header
            self.payload = payload
            self.salvaged = salvaged
        }
    }
}

extension CopiedBatch: Sequence {
    /// Steps through a batch's records. O(1) per record; reads only the
    /// batch's bytes of the buffer.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let base: UnsafeRawPointer
        @usableFromInline var single: CopiedRecord?
        @usableFromInline var at: Int
        @usableFromInline let end: Int
        @usableFromInline var index: Int
        @usableFromInline let sequence: UInt64
        @usableFromInline let timestamp: UInt64
        @usableFromInline var remaining: Int
        @usableFromInline let uniformLength: Int
        @usableFromInline var ahead: UInt
        @usableFromInline var aheadLines: Int

        @inlinable
        init(base: UnsafeRawPointer, single: CopiedRecord?, at: Int, end: Int, index: Int, sequence: UInt64, timestamp: UInt64, remaining: Int,
             uniformLength: Int, ahead: Ahead) {
            self.base = base
            self.single = single
            self.at = at
            self.end = end
            self.index = index
            self.sequence = sequence
            self.timestamp = timestamp
            self.remaining = remaining
            self.uniformLength = uniformLength
            self.ahead = UInt(bitPattern: ahead.start)
            self.aheadLines = ahead.start == nil ? 0 : ahead.lines
        }

        /// The next record, or nil after the last.
        /// - Precondition: the buffer still holds what the read put there.
        @inlinable
        public mutating func next() -> Record? {
            if let r = single {
                single = nil
                remaining = 0
                // The whole record's length (a split record's first header gives its first fragment's), no fragment flags.
                var h = r.header
                h.payloadLength = UInt32(truncatingIfNeeded: r.length)
                h.flags = []
                return Record(header: h, payload: UnsafeRawBufferPointer(start: base, count: r.length), salvaged: r.salvaged)
            }
            guard remaining > 0 else { return nil }
            // The next group's bytes, a line per record, while the caller
            // handles this batch: its copy then reads them from L2. Measured
            // (`_profile-read 64`, a reused 128 KiB buffer): JOURNAL.md, s26.
            if aheadLines > 0 {
                pmt_prefetch(UnsafeRawPointer(bitPattern: ahead))
                ahead &+= 64
                aheadLines &-= 1
            }
            let word: UInt64 = base.loadLE(at)
            let length: Int
            if uniformLength >= 0 {
                // Every member has this length (the read checked them all and
                // `count` of them fill the group): the next one's place does
                // not wait for this header's load. Measured (`_profile-read 64`):
                // the chain of loads cost ~2 ns per member from L1.
                length = uniformLength
            } else {
                length = Int(word & 0xFFFF)
                // The read checked every member header; a failure here means the caller changed the buffer.
                precondition(length <= end &- at &- RecordGroup.memberHeaderSize, "CopiedBatch: the buffer was changed after the read")
            }
            let header = RecordHeader(payloadLength: UInt32(length), kind: RecordKind(rawValue: UInt16(truncatingIfNeeded: word >> 16)),
                                      flags: [], sequence: sequence &+ UInt64(index), timestamp: timestamp &+ (word >> 32))
            let payload = UnsafeRawBufferPointer(start: base + at + RecordGroup.memberHeaderSize, count: length)
            at &+= RecordGroup.memberFootprint(payloadLength: length)  // ≤ end + 7: far from overflow
            index &+= 1
            remaining &-= 1
            return Record(header: header, payload: payload, salvaged: false)
        }
    }

    /// An iterator over the batch's records, oldest first.
    @inlinable
    public func makeIterator() -> Iterator {
        switch shape {
        case .record(let r):
            return Iterator(base: base, single: r, at: 0, end: 0, index: 0, sequence: 0, timestamp: 0, remaining: 1, uniformLength: -1,
                            ahead: .none)
        case .members(let at, let end, let index, let sequence, let timestamp, let uniformLength, let ahead):
            return Iterator(base: base, single: nil, at: at, end: end, index: index, sequence: sequence, timestamp: timestamp, remaining: count,
                            uniformLength: uniformLength, ahead: ahead)
        }
    }

    /// The number of records (`count`).
    @inlinable
    public var underestimatedCount: Int { count }
}

extension LaneReader {
    /// Copies the next committed records out verified, as many as one pass
    /// can: the rest of a record group (FORMAT.md §7.1) when the whole group's
    /// payload fits `buffer`, else one record as `read(into:)` does. Returns
    /// nil when none is committed yet.
    ///
    /// A group is copied to `buffer` in one pass over the mapping: its
    /// checksum is folded over the bytes as they are copied and its member
    /// headers are checked in the copy, so the batch is exactly what was
    /// committed, and it is returned only when the group's checksum matched —
    /// no byte of it is handed out unverified. Same records, order, damage
    /// handling and notices as `next()` (a salvage read, and a reader in the
    /// middle of a group, get one record per batch). Cost: one pass over the
    /// group and O(1) per record, instead of a checksum pass and then the
    /// caller's copy of each record; a batch never spans two groups. On nil
    /// or a throw `buffer` may hold bytes not handed out. Not thread-safe
    /// (like the reader).
    ///
    /// - Throws: `.invalidParameter` when the next record is longer than
    ///   `buffer` (the reader stays before it); otherwise what `next()` throws.
    public func read(batchInto buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> CopiedBatch? {
        let base = UnsafeRawPointer(buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!)
        while true {
            switch try copyNext(into: buffer, groups: true) {
            case nil:
                return nil
            case .record(let r)?:
                return CopiedBatch(lane: lane, count: 1, byteCount: r.length, base: base, shape: .record(r))
            case .group(let first)?:
                if let batch = takeCopiedGroup(first, base: base) { return batch }
            }
        }
    }

    /// The members of the group `copyNext` just copied to `base` as a batch
    /// (nil when all were handed out already: a ring read with
    /// `skipReclaimed` after a reclaim skip); the cursor moves past the group.
    private func takeCopiedGroup(_ first: Found, base: UnsafeRawPointer) -> CopiedBatch? {
        let copied = position.cursor!.copiedGroup!
        position.cursor!.copiedGroup = nil
        let g = position.cursor!.container.header
        let end = Int(g.payloadLength)
        // As next() does member by member: on a ring followed with skipReclaimed,
        // members handed out already are skipped and a gap before them reported.
        var skip = 0
        if followsGaps, let expected = handedThrough.map({ $0 &+ 1 }) ?? (openedEmpty ? 0 : nil), g.sequence < expected {
            skip = Int(min(UInt64(copied.count), expected &- g.sequence))
        }
        position.cursor!.consumedMembers(upTo: end, index: copied.count)
        let lastWord: UInt64 = base.loadLE(copied.lastMember)
        let lastSequence = g.sequence &+ UInt64(copied.count &- 1)  // no overflow: checked by the group's member checks
        self.lastSequence = lastSequence
        lastTimestamp = g.timestamp &+ (lastWord >> 32)
        guard skip < copied.count else { return nil }
        var at = 0
        for _ in 0..<skip {
            let word: UInt64 = base.loadLE(at)
            at &+= RecordGroup.memberFootprint(payloadLength: Int(word & 0xFFFF))  // the members were checked: at stays < end
        }
        var f = first
        f.header.sequence = g.sequence &+ UInt64(skip)
        _ = admits(f)  // true: f.sequence ≥ expected; reports a gap before it
        handedThrough = lastSequence
        // What follows the group in this segment, up to one group's worth: committed bytes of the mapping.
        let c = position.cursor!
        let lines = max(0, min(c.limit &- c.offset, Self.prefetchBytes)) >> 6
        let records = copied.count - skip
        // One line per record handed out, from the next group's start.
        let ahead = CopiedBatch.Ahead(start: c.base + c.offset, lines: min(records, lines))
        return CopiedBatch(lane: lane, count: records, byteCount: end, base: base,
                           shape: .members(at: at, end: end, index: skip, sequence: g.sequence, timestamp: g.timestamp,
                                           uniformLength: copied.uniformLength ?? -1, ahead: ahead))
    }

    /// Bytes after a batch's group its iterator prefetches: one default
    /// record group and its header.
    static var prefetchBytes: Int { (64 << 10) + 64 }
}
