import TraceFormat

/// A record `LaneReader.read(into:)` copied out: its header and where its
/// payload ended up. Thread safety: a plain value.
public struct CopiedRecord: Sendable {
    /// The first fragment's header (kind, sequence, timestamp).
    public let header: RecordHeader
    /// Payload bytes written to the start of the buffer.
    public let length: Int
    /// The lane the record was appended to.
    public let lane: Int
    /// Found past the lane's commit point by a salvage read (see `RecordView.salvaged`).
    public let salvaged: Bool
}

extension LaneReader {
    /// Copies the next whole committed record's payload to the start of
    /// `buffer` and returns its header and length, or nil when none is
    /// committed yet.
    ///
    /// The verified read out of the mapping in one pass: each fragment's
    /// checksum is computed over the bytes as they are copied (with
    /// `StoreOptions.copyOutWithChecksum`, else copy, then checksum the copy),
    /// so `buffer` holds exactly what was committed even under a concurrent
    /// writer, and the record is returned only when every fragment passed.
    /// The same records, order, damage handling and notices as `next()`;
    /// cost: one pass over the payload instead of a checksum pass plus the
    /// caller's copy. On nil or a throw `buffer` may hold bytes of a record
    /// not returned.
    ///
    /// - Throws: `.invalidParameter` when the record is longer than `buffer`
    ///   (the reader stays before it: retry with a larger buffer); otherwise
    ///   what `next()` throws.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> CopiedRecord? {
        if let base = buffer.baseAddress, let r = copyWholeRecordInSegment(to: base, capacity: buffer.count, copy: store.options.copyOutWithChecksum) {
            return r
        }
        switch try copyNext(into: buffer, groups: false) {
        case .record(let r)?: return r
        case .group?, nil: return nil  // .group only when asked for (groups: true)
        }
    }

    /// What `copyNext` copied out: a whole record, or (with `groups`) a whole
    /// record group whose first member is `first` (`position.cursor!.copiedGroup`
    /// says how many members it has; the cursor stands after the first).
    enum CopyOutcome {
        case record(CopiedRecord)
        case group(first: Found)
    }

    /// `read(into:)`, and with `groups` also a whole record group copied and
    /// checked in one pass when it fits `buffer` (`read(batchInto:)`).
    func copyNext(into buffer: UnsafeMutableRawBufferPointer, groups: Bool) throws(TraceError) -> CopyOutcome? {
        if let p = pending {
            guard p.length <= buffer.count else { throw tooSmall(p.length) }
            pending = nil
            return .record(try copyOut(p, into: buffer))
        }
        let copy = store.options.copyOutWithChecksum
        let base = buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!
        defer { copySink = nil }
        while true {
            // Where to go back to when the record is left to next() or not whole yet:
            // the position and what reading ahead changes (salvage state, last sequence
            // and time, which a salvage read checks the next record against).
            let start = (position, salvaging, lastSequence, lastTimestamp, lastOpen)
            copySink = (base, buffer.count, copy, groups)
            guard let first = try nextFragment() else { return nil }
            if position.cursor!.copiedGroup != nil { return .group(first: first) }
            if position.cursor!.delegated {
                (position, salvaging, lastSequence, lastTimestamp, lastOpen) = start
                copySink = nil
                return try readViaView(into: buffer).map { .record($0) }
            }
            guard position.cursor!.copied else {
                (position, salvaging, lastSequence, lastTimestamp, lastOpen) = start
                throw tooSmall(first.fragment.length)
            }
            let flags = first.header.flags
            if flags.isEmpty {
                // A ring followed with skipReclaimed skips what it handed out already and reports gaps, as next() does.
                guard admits(first) else { continue }
                return .record(CopiedRecord(header: first.header, length: first.fragment.length, lane: lane, salvaged: first.salvaged))
            }
            if flags.contains(.continuation) {  // tail of a record whose start was reclaimed, abandoned or lost
                try noteOrphan(first)
                continue
            }
            guard endsItsSegment(first) else {
                guard !first.salvaged else { position.cursor?.stop(); return nil }  // not a writer's: the salvage ends
                try noteMisplaced(first, record: first)
                continue
            }
            let noticesBefore = skipped.count
            var filled = first.fragment.length
            var fragmentsJoined = 0
            var abandoned = false
            var salvaged = first.salvaged
            var last = first
            while last.header.flags.contains(.hasMore) {
                let before = position
                copySink = (base + filled, buffer.count - filled, copy, false)
                guard let f = try nextFragment() else {
                    if first.salvaged || (salvaging && tailUnknown) {
                        // A salvaged record's later fragments are missing: hand out what is there, and say so.
                        // One whose first fragment was committed is not returned (FORMAT.md §10.4),
                        // except in a rebuilt lane, whose commit point is unknown: its end was lost to damage.
                        guard admits(first) else { return nil }
                        noteCutShort(first, fragments: 1 + fragmentsJoined, bytes: filled)
                        return .record(CopiedRecord(header: first.header, length: filled, lane: lane, salvaged: true))
                    }
                    (position, salvaging, lastSequence, lastTimestamp, lastOpen) = start
                    return nil
                }
                // Fragments join by flags and sequence (FORMAT.md §7), as in `next()`.
                guard f.header.flags.contains(.continuation), f.header.sequence == first.header.sequence else {
                    try noteLostEnd(first, noticesBefore: noticesBefore, last: last, next: f)
                    rewind(to: before, after: last)
                    abandoned = true
                    break
                }
                if skipsSplicedRecord(first, noticesBefore: noticesBefore, last: last, next: f) {
                    abandoned = true
                    break
                }
                if !endsItsSegment(f) {
                    guard !f.salvaged else { position.cursor?.stop(); return nil }  // not a writer's: the salvage ends
                    try noteMisplaced(f, record: first)
                    abandoned = true
                    break
                }
                if position.cursor!.delegated {
                    // Only groups are delegated, and a later fragment is never one; kept as a safe fallback.
                    (position, salvaging, lastSequence, lastTimestamp, lastOpen) = start
                    copySink = nil
                    return try readViaView(into: buffer).map { .record($0) }
                }
                guard position.cursor!.copied else {
                    (position, salvaging, lastSequence, lastTimestamp, lastOpen) = start
                    throw tooSmall(filled + f.fragment.length)
                }
                filled += f.fragment.length
                fragmentsJoined += 1
                salvaged = salvaged || f.salvaged
                last = f
            }
            if abandoned || last.header.flags.contains(.hasMore) { continue }
            guard admits(first) else { continue }
            return .record(CopiedRecord(header: first.header, length: filled, lane: lane, salvaged: salvaged))
        }
    }

    /// `read(into:)`'s short way for the common case: the next record in the
    /// current segment is whole (no fragment flags) and not a group member,
    /// the reader is not salvaging or following a ring's gaps. It takes the
    /// same cursor step as the general way and does for such a record what
    /// that way does (sequence, time, hand-out bookkeeping); anything else —
    /// a fragment, a group, an end marker, the limit, a torn or failing
    /// record, a record larger than `capacity` — puts the cursor back and
    /// returns nil, and the general way takes the same step again (and
    /// throws or reports exactly as before).
    ///
    /// Why it exists: with the general way run between two copies, each
    /// copy of a 16 KiB record took ~1.3 µs instead of the ~0.95 µs of the
    /// same calls at the same addresses without a reader
    /// (`Benchmarks _profile-copy-calls 16384`): its 1 KiB pieces 4…11 ran at
    /// 5–6 GB/s instead of ~20, as if the hardware prefetcher had lost the
    /// stream. Not the header read and its checksum, a 150 ns pause, eight
    /// locked adds or 16 scattered loads between copies (none slowed them);
    /// a bare cursor loop in this module did not slow them either. Which
    /// part of the general way does it inside the CPU is not known (no
    /// hardware counters in this VM); with this way the pieces run at
    /// 50–90 ns per KiB and `_profile-bulk-read` copy-out ÷ direct at
    /// 16 KiB went from 0.67–0.78 to 0.95–1.05.
    @inline(__always)
    private func copyWholeRecordInSegment(to base: UnsafeMutableRawPointer, capacity: Int,
                                          copy: StoreOptions.CopyChecksumFunction?) -> CopiedRecord? {
        guard pending == nil, !salvaging, !followsGaps, position.cursor?.atPlainRecord == true else { return nil }
        let saved = position.cursor!
        let step: RecordCursor.Step
        do throws(FormatError) { step = try position.cursor!.next(copyingTo: base, capacity: capacity, copy: copy) } catch {
            position.cursor = saved
            return nil
        }
        guard case .record(let h, let payload, _) = step, h.flags.isEmpty, position.cursor!.copied, !position.cursor!.delegated else {
            position.cursor = saved
            return nil
        }
        // What nextFragmentInChain and copyNext do for a whole record outside a salvage read.
        lastSequence = h.sequence
        lastTimestamp = h.timestamp
        lastOpen = false
        sawRecordStart = true
        // admits(_:) also sets handedThrough, which only a reader following a ring's gaps reads: those take the general way.
        return CopiedRecord(header: h, length: payload.count, lane: lane, salvaged: false)
    }

    /// The next record read like `next()` (a record-group member, which the
    /// one-pass copy leaves to it) and
    /// copied out verified: a plain record with `copyVerified`; a member from
    /// a copy of its whole group that was checked against the group's
    /// checksum, kept while the reader is in that group (one copy and one
    /// checksum per group, not per member).
    private func readViaView(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> CopiedRecord? {
        guard let r = try next() else { return nil }
        guard r.length <= buffer.count else { pending = r; throw tooSmall(r.length) }
        let f = r.first
        if r.isContiguous && (f.start != 0 || f.recordLength != f.length) {
            try groupCache.withVerifiedPayload(f, crc: store.options.crc32c) { b in
                buffer.baseAddress!.copyMemory(from: b.baseAddress!, byteCount: b.count)
            }
            return CopiedRecord(header: r.header, length: f.length, lane: lane, salvaged: r.salvaged)
        }
        return try copyOut(r, into: buffer)
    }

    /// `r` copied to the start of `buffer` with `copyVerified` (it fits: checked by the caller).
    private func copyOut(_ r: RecordView, into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> CopiedRecord {
        var at = 0
        try r.copyVerified { b in
            UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + b.count)]).copyMemory(from: b)
            at += b.count
        }
        return CopiedRecord(header: r.header, length: at, lane: lane, salvaged: r.salvaged)
    }

    private func tooSmall(_ needed: Int) -> TraceError {
        .invalidParameter(name: "buffer (smaller than the next record; at least this many bytes)", value: UInt64(needed))
    }
}
