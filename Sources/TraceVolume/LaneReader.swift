import TraceFormat

/// Reads the committed records of one lane, oldest first (FORMAT.md §10.4).
///
/// Works while a writer appends, in this process or another: it sees the
/// records committed when it was created or last `refresh()`ed. Every record
/// it returns passed its checksum; it never returns part of a record. It
/// retains the store, so it stays usable after the caller drops the pool.
/// Not thread-safe (one reader per thread). Cost per record: one checksum pass.
public final class LaneReader {
    /// The volume's name.
    public let volume: String
    /// The lane read.
    public let lane: Int
    let store: TraceStore
    /// The store's media view, held once (no retain per record).
    let media: MediaView
    let slot: Int
    let uid: UInt64
    let ring: Bool
    let options: ReadOptions

    /// The segments to read, in chain order, and where committed data ends in the last.
    var segments: [UInt64] = []
    /// The chain sequence each of `segments` had when the chain was walked: a
    /// ring writer that reclaims one gives it a new sequence (same lane).
    var sequences: [UInt64] = []
    var tailOffset = 0
    /// The commit point of the tail is unknown (damaged commit word): the
    /// tail is read like a salvage read and its records are marked salvaged.
    var tailUnknown = false
    var reportedChainDamage = false
    /// The chain is damaged and `segments` holds only its committed start
    /// (`committedStart`; none when the commit word itself is damaged):
    /// reading past them throws this. So opening never throws for chain
    /// damage: a merged read's other lanes go out first (adversary s24b).
    var damageAfterStart: TraceError?
    /// The record sequence whose later fragments are being skipped after a
    /// notice said so (`skipsSplicedRecord`, `noteOrphan`): one notice per record.
    var orphanNoticed: UInt64?
    /// A record's start (a whole record or a first fragment) was read since
    /// the reader was opened or last sought: a continuation fragment with no
    /// record before it is then damage, not where the read began (`noteOrphan`).
    @exclusivity(unchecked) var sawRecordStart = false

    /// A reading position: which segment of `segments`, and the cursor in it.
    struct Position {
        var index = 0
        var cursor: RecordCursor?
        var segmentSequence: UInt64 = 0
    }
    @exclusivity(unchecked) var position = Position()
    @exclusivity(unchecked) var pending: RecordView?
    /// The verified copy of the record group whose members `read(into:)` and
    /// the views' `copyVerified` are copying out (one checksum per group).
    let groupCache = VerifiedGroupCache()
    /// Where `read(into:)` wants the next fragment's payload (nil: verify in
    /// place), and whether a whole record group may be copied there
    /// (`read(batchInto:)`).
    @exclusivity(unchecked) var copySink: (pointer: UnsafeMutableRawPointer, capacity: Int, copy: StoreOptions.CopyChecksumFunction?, groups: Bool)?
    /// Reading past the tail's commit point (salvage).
    @exclusivity(unchecked) var salvaging = false
    @exclusivity(unchecked) var lastSequence: UInt64?
    @exclusivity(unchecked) var lastTimestamp: UInt64 = 0
    /// The last fragment read said more fragments follow (`hasMore`): past
    /// the commit point, a record start may then reuse its sequence (the
    /// record was abandoned, FORMAT.md §7).
    @exclusivity(unchecked) var lastOpen = false
    /// A ring lane read with `skipReclaimed`: records are checked for
    /// sequence continuity, gaps reported and repeats skipped.
    let followsGaps: Bool
    /// The lane held no record when this reader was opened (so its first
    /// record is sequence 0).
    var openedEmpty = false
    /// The sequence of the last record handed out whole (nil: none yet).
    @usableFromInline var handedThrough: UInt64?

    /// Everything this reader skipped or found cut short, in order.
    public private(set) var skipped: [ReadNotice] = []
    /// Called with each notice as it happens.
    public var onDamage: ((ReadNotice) -> Void)?
    /// The error that ended the last `records` iteration (nil: it reached the tail).
    public var iterationError: TraceError?

    init(store: TraceStore, info: VolumeInfo, lane: Int, options: ReadOptions = ReadOptions()) throws(TraceError) {
        self.store = store
        media = store.media
        self.options = options
        volume = info.name
        self.lane = lane
        slot = info.slot
        uid = info.uid
        ring = info.ring
        followsGaps = info.ring && options.skipReclaimed
        try refresh()
        openedEmpty = segments.isEmpty
    }

    func notice(_ problem: FormatError?, _ action: String) {
        let n = ReadNotice(volume: volume, lane: lane, problem: problem, action: action)
        skipped.append(n)
        onDamage?(n)
    }

    /// Picks up records committed since the last look. O(segments in lane)
    /// (O(segment count) for a damaged lane read with `skipDamaged`).
    public func refresh() throws(TraceError) {
        let walk = media.walkChain(slot: slot, lane: lane, uid: uid, ring: ring)
        var list = walk.segments
        var listSequences = walk.sequences
        var tail = Int(walk.tailOffset)
        tailUnknown = false
        damageAfterStart = nil
        if let damage = walk.damage, !options.skipDamaged {
            // The records before the damage still go out, then the damage is thrown.
            // (None when the damage lies where the chain starts, at its commit word for one: nothing goes out.)
            let start = committedStart(walk, damage: damage)
            list = start?.segments ?? []
            listSequences = start?.sequences ?? []
            tail = store.segmentSize
            damageAfterStart = .laneDamaged(volume: volume, lane: lane, damage)
        } else if let damage = walk.damage {
            // Rebuild the chain from every header that names this lane.
            let found = media.scanLane(uid: uid, lane: lane)
            list = []
            listSequences = []
            var previous: UInt64?
            for (sequence, segment) in found where previous != sequence {
                if previous == nil, !ring, sequence > 0 {
                    // Outside ring mode a lane's chain starts at sequence 0: its start is lost too.
                    notice(.invalidField(.segmentHeader(segment: segment), field: "sequence (chain gap)", value: sequence),
                           "segments with chain sequence 0...\(sequence - 1) are missing; continuing at segment \(segment)")
                }
                if let p = previous, sequence != p + 1 {
                    notice(.invalidField(.segmentHeader(segment: segment), field: "sequence (chain gap)", value: sequence),
                           "segments with chain sequence \(p + 1)...\(sequence - 1) are missing; continuing at segment \(segment)")
                }
                list.append(segment)
                listSequences.append(sequence)
                previous = sequence
            }
            if !reportedChainDamage {
                reportedChainDamage = true
                notice(damage, "rebuilt the lane from \(list.count) segment header(s) that name it")
            }
            if let last = list.last, last == walk.segments.last, !walk.tailDoubtful {
                tail = Int(walk.tailOffset)
            } else {
                tail = store.segmentSize
                tailUnknown = true
            }
        }
        let current = position.cursor?.segment
        segments = list
        sequences = listSequences
        tailOffset = tail
        if let current, let k = segments.firstIndex(of: current) {
            position.index = k
            position.cursor!.limit = limit(at: k)
            position.cursor!.tornFrom = tornFrom(at: k, seed: position.cursor!.seed)
        } else if current != nil {
            // Our segment was reclaimed by a ring writer: start again at the new head.
            position = Position()
        }
    }

    func limit(at index: Int) -> Int { index == segments.count - 1 ? tailOffset : store.segmentSize }

    /// For a chain whose walk from the commit word met `damage` in a segment
    /// header: the lane's segments that certainly hold only committed records,
    /// found by their headers — chain sequences 0, 1, … up to the first one
    /// no header names, each before the tail (the segment the valid commit
    /// word names, and below its sequence when its header was read). A commit
    /// that names a later segment covered every record of the earlier ones.
    /// nil for a ring lane, when the commit word itself is damaged, or when
    /// no such segment exists. O(segment count).
    func committedStart(_ walk: ChainWalk, damage: FormatError) -> (segments: [UInt64], sequences: [UInt64])? {
        guard !ring, let tail = walk.tail, case .segmentHeader? = damage.structure else { return nil }
        let below = walk.sequences.last ?? .max
        var segments: [UInt64] = []
        var sequences: [UInt64] = []
        for (sequence, segment) in media.scanLane(uid: uid, lane: lane) {
            guard sequence == UInt64(segments.count), sequence < below, segment != tail else { break }
            segments.append(segment)
            sequences.append(sequence)
        }
        return segments.isEmpty ? nil : (segments, sequences)
    }

    /// Where the torn-commit window of segment `index` starts (FORMAT.md
    /// §10.3): the last commit's start when it was a one-fence commit in the
    /// tail (whose header CRC is `seed`); `Int.max` elsewhere.
    func tornFrom(at index: Int, seed: UInt32) -> Int {
        guard index == segments.count - 1, !tailUnknown else { return Int.max }
        return media.commitWindow(slot: slot, lane: lane, tail: segments[index], seed: seed, tailOffset: tailOffset).tornFrom
    }

    /// One fragment as the cursor found it.
    struct Found {
        var header: RecordHeader
        var fragment: RecordFragment
        var salvaged: Bool
        /// The chain sequence of the segment it lies in.
        var chainSequence: UInt64
    }

    /// The next fragment, or nil at the committed tail.
    func nextFragment() throws(TraceError) -> Found? {
        if let found = try nextFragmentInChain() { return found }
        if let damageAfterStart { throw damageAfterStart }
        return nil
    }

    /// The next fragment of `segments`, or nil at their committed end.
    func nextFragmentInChain() throws(TraceError) -> Found? {
        while true {
            if position.cursor == nil {
                guard position.index < segments.count else { return nil }
                let index = segments[position.index]
                let h: (header: SegmentHeader, crc: UInt32)
                do throws(FormatError) { h = try media.segmentHeader(index) } catch {
                    if ring { try overtaken(at: index); continue }
                    guard options.skipDamaged else { throw .laneDamaged(volume: volume, lane: lane, error) }
                    notice(error, "skipped segment \(index)")
                    position.index += 1
                    continue
                }
                // A ring writer that reclaimed the segment since the walk gave it
                // a new life in this same lane: a new sequence, records not ours.
                guard h.header.volumeUID == uid, h.header.lane == UInt32(lane),
                      !ring || position.index >= sequences.count || h.header.sequence == sequences[position.index] else {
                    try overtaken(at: index)
                    continue
                }
                position.segmentSequence = h.header.sequence
                position.cursor = media.records(in: index, seed: h.crc, limit: limit(at: position.index))
                position.cursor!.tornFrom = tornFrom(at: position.index, seed: h.crc)
                salvaging = tailUnknown && position.index == segments.count - 1
            }
            let step: RecordCursor.Step
            do throws(FormatError) {
                if let s = copySink {
                    step = try position.cursor!.next(copyingTo: s.pointer, capacity: s.capacity, copy: s.copy, groups: s.groups && !salvaging)
                }
                else { step = try position.cursor!.next() }
            } catch {
                if salvaging {
                    // The torn tail ends the salvage; nothing past it is trusted.
                    position.cursor!.stop()
                    return nil
                }
                if ring, let h = try? media.segmentHeader(position.cursor!.segment), h.header.sequence != position.segmentSequence {
                    try overtaken(at: position.cursor!.segment)
                    continue
                }
                guard options.skipDamaged else { throw .laneDamaged(volume: volume, lane: lane, error) }
                resynchronize(after: error)
                continue
            }
            switch step {
            case .record(let h, let payload, let offset):
                if salvaging {
                    // Past the commit point: only what continues the lane's sequence and time
                    // (a record start after an abandoned one may reuse its sequence, §7).
                    let continues = lastSequence.map { last in
                        h.flags.contains(.continuation) ? h.sequence == last : h.sequence == last &+ 1 || (lastOpen && h.sequence == last)
                    } ?? true
                    guard continues, h.timestamp >= lastTimestamp else {
                        position.cursor!.stop()
                        return nil
                    }
                }
                lastSequence = h.sequence
                lastTimestamp = h.timestamp
                lastOpen = h.flags.contains(.hasMore)
                if !h.flags.contains(.continuation) { sawRecordStart = true }
                let cursor = position.cursor!
                let record = cursor.base + cursor.container.offset
                let fragment = RecordFragment(
                    record: record, recordLength: Int(cursor.container.header.payloadLength), recordSequence: cursor.container.header.sequence,
                    start: payload.baseAddress! - (record + Layout.recordHeaderSize), length: payload.count,
                    seed: cursor.seed, segment: cursor.segment, offset: offset)
                return Found(header: h, fragment: fragment, salvaged: salvaging, chainSequence: position.segmentSequence)
            case .torn:
                // The lane's last commit was cut by a crash here (or, under a live
                // writer, is not visible yet): its committed records end before it.
                return nil
            case .endMarker, .limit:
                if position.index >= segments.count - 1 {
                    if options.salvage && !salvaging && position.index == segments.count - 1 {
                        // Look past the commit point, to the end of the segment.
                        salvaging = true
                        position.cursor!.limit = store.segmentSize
                        continue
                    }
                    return nil
                }
                position.index += 1
                position.cursor = nil
            }
        }
    }

    /// The ring writer reclaimed `segment` while this reader was in it or
    /// about to read it. With `skipReclaimed`, walk the chain again and go on
    /// at the lane's oldest record (the next one handed out is reported with
    /// the gap); without it, throw `overwrittenWhileReading`.
    func overtaken(at segment: UInt64) throws(TraceError) {
        guard options.skipReclaimed else { throw .overwrittenWhileReading(volume: volume, lane: lane) }
        position = Position()
        pending = nil
        // A chain that is really damaged (not a live reclaim) still throws here.
        try refresh()
    }

    /// Whether the record starting with `first` is handed out: always,
    /// except on a ring followed with `skipReclaimed`, where a record handed
    /// out already is not (after a reclaim skip) and a gap before it is
    /// reported. Marks it handed out. O(1).
    func admits(_ first: Found) -> Bool {
        let sequence = first.header.sequence
        if followsGaps, let expected = handedThrough.map({ $0 &+ 1 }) ?? (openedEmpty ? 0 : nil) {
            if sequence < expected { return false }
            if sequence > expected { reportGap(from: expected, resumingAt: sequence, segment: first.fragment.segment) }
        }
        handedThrough = sequence
        return true
    }

    /// Reports the records a ring writer reclaimed before this reader
    /// reached them: sequence `first` up to `next`, the first one after the
    /// gap (found in `segment`).
    func reportGap(from first: UInt64, resumingAt next: UInt64, segment: UInt64) {
        notice(nil, "\(next - first) record(s), sequence \(first)...\(next - 1), were reclaimed by the ring writer before this reader "
               + "reached them; continuing at sequence \(next) (segment \(segment))")
    }

    /// After a record failed its checks: find the next record of this lane in
    /// the same segment (an 8-aligned offset whose header continues the lane's
    /// sequence and time and passes its checksum), or give up on the segment.
    /// O(segment) with one checksum per plausible candidate.
    func resynchronize(after error: FormatError) {
        var cursor = position.cursor!
        let start = cursor.offset
        let base = cursor.base
        var at = start + Layout.recordAlignment
        let floor = lastSequence ?? 0
        while cursor.limit - at >= Layout.recordHeaderSize {
            let h = RecordHeader.decodeFields(base + at)
            // A later record of the lane: sequence ahead of the last good one
            // (by less than a segment's worth of records), time not going back.
            if h.sequence > floor || (lastSequence == nil && h.sequence == 0), h.sequence &- floor <= UInt64(store.segmentSize),
               h.timestamp >= lastTimestamp, Int(h.payloadLength) <= cursor.limit - at - Layout.recordHeaderSize {
                var probe = cursor
                probe.move(to: at)
                if case .record? = try? probe.next() {
                    notice(error, "skipped bytes \(start)..<\(at) of segment \(cursor.segment)")
                    cursor.move(to: at)
                    position.cursor = cursor
                    return
                }
            }
            at += Layout.recordAlignment
        }
        notice(error, "skipped bytes \(start)..<\(cursor.limit) of segment \(cursor.segment) (no valid record follows in it)")
        cursor.move(to: cursor.limit)
        position.cursor = cursor
    }

    /// The next whole record, or nil when none is committed yet. Fragments of
    /// a split record are joined (as views, not copies); a record whose last
    /// fragment is not committed is not returned yet, and one abandoned by a
    /// crash mid-record is skipped. A record with any fragment past the commit
    /// point is marked salvaged.
    public func next() throws(TraceError) -> RecordView? {
        if let p = pending { pending = nil; return p }
        let parts: Parts?
        do { parts = try nextParts() } catch { throw explained(error) }  // LaneReader+Deletion.swift
        guard let r = parts else { return nil }
        return view(r.header, r.first, r.rest, salvaged: r.salvaged)
    }

    /// Calls `body` with each next whole record, lent in place, until `body`
    /// returns false or no committed record is left. The same records and
    /// guarantees as `next()`, without reference counting per record: a
    /// `BorrowedRecord` cannot be copied or kept, so it needs no owner
    /// reference (this reader keeps the mapping alive during the call).
    /// The fastest way to scan a lane: members of a record group (FORMAT.md
    /// §7.1), checked whole when the group is reached, are handed out in a
    /// tight loop. Cost per record: O(1) plus its share of one checksum pass.
    /// - Returns: the error `body` threw (which ended the scan), or nil.
    @inlinable
    public func forEachRecord<E: Error>(_ body: (borrowing BorrowedRecord) throws(E) -> Bool) throws(TraceError) -> E? {
        var failure: E?
        try forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
            do throws(E) { return try body(r) } catch {
                failure = error
                return false
            }
        }
        return failure
    }

    /// `forEachRecord` for a body that does not throw (the same records and
    /// guarantees; inlined into the caller, no generic dispatch per record).
    /// - Returns: nil (the body cannot fail), like the generic variant.
    @inlinable @discardableResult
    public func forEachRecord(_ body: (borrowing BorrowedRecord) -> Bool) throws(TraceError) -> Never? {
        if let p = takePending() {
            guard lend(p, body) else { return nil }
        }
        while true {
            // Members of a record group, checked whole already: handed out in a tight loop.
            if var run = memberRun() {
                defer { finishRun(run) }
                while run.at < run.end {
                    let word: UInt64 = (run.record + 32).loadLE(run.at)
                    let length = Int(word & 0xFFFF)
                    let header = RecordHeader(payloadLength: UInt32(length), kind: RecordKind(rawValue: UInt16(truncatingIfNeeded: word >> 16)),
                                              flags: [], sequence: run.sequence &+ UInt64(run.index), timestamp: run.timestamp &+ (word >> 32))
                    let fragment = RecordFragment(record: run.record, recordLength: run.end, recordSequence: run.sequence, start: run.at + 8,
                                                  length: length, seed: run.seed, segment: run.segment, offset: run.offset + 32 + run.at)
                    run.at += (8 + length + 7) & ~7
                    run.index += 1
                    run.lastTimestamp = header.timestamp
                    guard body(BorrowedRecord(header: header, first: fragment, lane: lane)) else { return nil }
                }
                continue
            }
            guard let r = try nextParts() else { return nil }
            guard lend(r, body) else { return nil }
        }
    }

    /// Calls `body` with `r` lent as a `BorrowedRecord` (its later fragments
    /// lent from `r.rest`, which lives for the call); returns what `body` returned.
    @inlinable
    func lend(_ r: Parts, _ body: (borrowing BorrowedRecord) -> Bool) -> Bool {
        if r.rest.isEmpty {
            return body(BorrowedRecord(header: r.header, first: r.first, more: UnsafeBufferPointer(start: nil, count: 0), lane: lane, salvaged: r.salvaged))
        }
        return r.rest.withUnsafeBufferPointer { more in
            body(BorrowedRecord(header: r.header, first: r.first, more: more, lane: lane, salvaged: r.salvaged))
        }
    }

    /// What `forEachRecord` needs to walk the rest of a group by itself.
    @usableFromInline
    struct MemberRun {
        /// The group's record header in the mapping; its payload follows.
        @usableFromInline let record: UnsafeRawPointer
        /// Next member header (offset in the group payload), and the payload's end.
        @usableFromInline var at: Int
        @usableFromInline let end: Int
        /// Index of the next member; the group's sequence and timestamp.
        @usableFromInline var index: Int
        @usableFromInline let sequence: UInt64
        @usableFromInline let timestamp: UInt64
        @usableFromInline let seed: UInt32
        @usableFromInline let segment: UInt64
        /// In-segment offset of the group's record header.
        @usableFromInline let offset: Int
        /// Timestamp of the last member handed out.
        @usableFromInline var lastTimestamp: UInt64
    }

    /// The rest of the current group, when the reader is inside one and not
    /// salvaging (a salvage read checks every record on its own). O(1).
    @usableFromInline
    func memberRun() -> MemberRun? {
        guard !salvaging, let cursor = position.cursor, let (at, index) = cursor.pendingMembers else { return nil }
        let c = cursor.container
        return MemberRun(record: cursor.base + c.offset, at: at, end: Int(c.header.payloadLength), index: index,
                         sequence: c.header.sequence, timestamp: c.header.timestamp, seed: cursor.seed, segment: cursor.segment, offset: c.offset,
                         lastTimestamp: lastTimestamp)
    }

    /// Moves the cursor past the members `run` handed out.
    @usableFromInline
    func finishRun(_ run: MemberRun) {
        guard run.index > 0 else { return }
        position.cursor!.consumedMembers(upTo: run.at, index: run.index)
        // The last member's sequence and timestamp, for salvage and resynchronization (§10.4).
        lastSequence = run.sequence &+ UInt64(run.index - 1)
        handedThrough = lastSequence
        lastTimestamp = run.lastTimestamp
    }

    /// A whole record's pieces, before they are wrapped for the caller.
    @usableFromInline
    struct Parts {
        @usableFromInline var header: RecordHeader
        @usableFromInline var first: RecordFragment
        @usableFromInline var rest: [RecordFragment]
        @usableFromInline var salvaged: Bool
    }

    /// The record `seek` found and kept for the next read, if any (taken).
    @usableFromInline
    func takePending() -> Parts? {
        guard let p = pending else { return nil }
        pending = nil
        return Parts(header: p.header, first: p.first, rest: p.rest, salvaged: p.salvaged)
    }

    @usableFromInline
    func nextParts() throws(TraceError) -> Parts? {
        while true {
            let start = position
            let startSalvaging = salvaging
            let startLast = (lastSequence, lastTimestamp, lastOpen)
            guard let first = try nextFragment() else { return nil }
            let flags = first.header.flags
            if flags.isEmpty {
                guard admits(first) else { continue }
                return Parts(header: first.header, first: first.fragment, rest: [], salvaged: first.salvaged)
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
            var parts: [RecordFragment] = []
            var abandoned = false
            var salvaged = first.salvaged
            var last = first
            while last.header.flags.contains(.hasMore) {
                let before = position
                guard let f = try nextFragment() else {
                    if first.salvaged || (salvaging && tailUnknown) {
                        // A salvaged record's later fragments are missing: hand out what is
                        // there, and say it is cut short (its payload is not the whole record).
                        // One whose first fragment was committed is not returned (FORMAT.md §10.4),
                        // except in a rebuilt lane, whose commit point is unknown: its end was lost to damage.
                        guard admits(first) else { return nil }
                        noteCutShort(first, fragments: parts.count + 1, bytes: parts.reduce(first.fragment.length) { $0 + $1.length })
                        return Parts(header: first.header, first: first.fragment, rest: parts, salvaged: true)
                    }
                    // Not all committed yet: come back to this record later.
                    position = start
                    salvaging = startSalvaging
                    (lastSequence, lastTimestamp, lastOpen) = startLast
                    return nil
                }
                // Fragments join by flags and sequence; kind and timestamp are the first's (FORMAT.md §7).
                // (After a reclaim skip, `f` is the first record after the gap and `before`
                // lies in the reclaimed segment: reading on from there meets the reclaim
                // again, and the reader goes back to the head, where it finds `f` anew.)
                guard f.header.flags.contains(.continuation), f.header.sequence == first.header.sequence else {
                    // The record was abandoned (crash mid-record), or its end lost to damage: drop it, resume at `f`.
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
                    guard !f.salvaged else { position.cursor?.stop(); return nil }
                    try noteMisplaced(f, record: first)
                    abandoned = true
                    break
                }
                parts.append(f.fragment)
                salvaged = salvaged || f.salvaged
                last = f
            }
            if abandoned || last.header.flags.contains(.hasMore) { continue }
            guard admits(first) else { continue }
            return Parts(header: first.header, first: first.fragment, rest: parts, salvaged: salvaged)
        }
    }

    /// `first` starts a record whose fragment `next` follows fragment `last`:
    /// when this reader raised notices since it found `first` (it had raised
    /// `noticesBefore`) or `next` does not lie in the chain segment right
    /// after `last`'s (a rebuilt lane missing a segment), damage lies between
    /// them and joining them would hand out a spliced payload. Reports the
    /// record as skipped (its remaining fragments are then skipped without
    /// another notice) and returns true; false otherwise. In a ring the
    /// record is skipped without a notice: a reclaim explains the missing
    /// segment, and the reader reports the gap by sequence. O(1).
    func skipsSplicedRecord(_ first: Found, noticesBefore: Int, last: Found, next: Found) -> Bool {
        guard skipped.count != noticesBefore || next.chainSequence != last.chainSequence &+ 1 else { return false }
        orphanNoticed = first.header.sequence
        // In a ring a reclaim explains the missing segment; the gap is reported by sequence (as in noteOrphan).
        guard !ring else { return true }
        notice(.invalidField(.record(segment: first.fragment.segment, offset: UInt64(first.fragment.offset)),
                             field: "fragments (damage lies between them)", value: first.header.sequence),
               "skipped record sequence \(first.header.sequence): damage lies between its fragments in segments "
               + "\(first.fragment.segment) and \(next.fragment.segment), so it is not whole")
        return true
    }

    /// `first` starts a record whose next fragment should follow `last` but
    /// `next` belongs to another record. A crash or failed append mid-record
    /// leaves that, silently (the record was never committed): its last
    /// fragment written ends its segment (FORMAT.md §7), so `next` opens the
    /// chain's next segment. Anywhere else the record's end was lost to damage
    /// (adversary s23b B8: a whole record re-flagged `hasMore` vanished for
    /// `dump` and the C reader): thrown as lane damage, or with `skipDamaged`
    /// reported as skipped — except in a ring, where a reclaim explains it and
    /// the reader reports the gap by sequence. O(1).
    func noteLostEnd(_ first: Found, noticesBefore: Int, last: Found, next: Found) throws(TraceError) {
        // In a ring a reclaim explains it; the gap is reported by sequence (as in noteOrphan).
        guard !ring, skipped.count != noticesBefore || next.chainSequence != last.chainSequence &+ 1 else { return }
        let error = FormatError.invalidField(.record(segment: first.fragment.segment, offset: UInt64(first.fragment.offset)),
                                             field: "fragments (the later ones are missing)", value: first.header.sequence)
        // Past the commit point (salvage) a crash explains it (§7): not damage.
        guard !next.salvaged else { return }
        guard options.skipDamaged else { throw .laneDamaged(volume: volume, lane: lane, error) }
        notice(error, "skipped record sequence \(first.header.sequence): its later fragments were lost to the damage")
    }

    /// Goes back to `position` (before the fragment that followed `last`), with
    /// the salvage checks' state as it was after `last`. O(1).
    func rewind(to position: Position, after last: Found) {
        self.position = position
        lastSequence = last.header.sequence
        lastTimestamp = last.header.timestamp
        lastOpen = last.header.flags.contains(.hasMore)
    }

    /// A fragment that says more fragments follow (`hasMore`) ends exactly at
    /// its segment's end, as every fragment but a record's last (FORMAT.md §7).
    func endsItsSegment(_ f: Found) -> Bool {
        !f.header.flags.contains(.hasMore) || f.fragment.offset + Layout.recordHeaderSize + f.fragment.length == store.segmentSize
    }

    /// `f`, a fragment of the record `first` starts, says more fragments
    /// follow but does not end its segment: no writer leaves that, so the
    /// record's end is lost to damage (adversary s24 F2: a record re-flagged
    /// `hasMore` before an end-of-segment record, or as the lane's last, was
    /// dropped in silence). Thrown as lane damage, or with `skipDamaged`
    /// reported as the record skipped. O(1).
    func noteMisplaced(_ f: Found, record first: Found) throws(TraceError) {
        let error = FormatError.invalidField(.record(segment: f.fragment.segment, offset: UInt64(f.fragment.offset)),
                                             field: "flags (hasMore, but the fragment does not end its segment)", value: UInt64(f.header.flags.rawValue))
        guard options.skipDamaged else { throw .laneDamaged(volume: volume, lane: lane, error) }
        notice(error, "skipped record sequence \(first.header.sequence): it says more fragments follow, "
               + "but does not end its segment as a split record's fragments do")
    }

    /// `f` continues a record whose start this reader never saw. Not a ring
    /// (there a reclaim explains it, and the gap is reported by sequence), and
    /// after a record start or skipped damage (not where the read began): the
    /// record's start is lost — thrown as lane damage, or with `skipDamaged`
    /// reported as the record's rest skipped, once per record. O(1).
    func noteOrphan(_ f: Found) throws(TraceError) {
        // Past the commit point (salvage) an orphan is what a crash left: skipped, as
        // before (adversary s23b B5: thrown there, it hid other lanes' committed records).
        guard !ring, !f.salvaged, orphanNoticed != f.header.sequence else { return }
        // A read or seek that starts inside a record meets its later fragments
        // first (FORMAT.md §7); after a record start, no writer leaves one in a
        // lane that is not a ring: the record's start is lost (adversary s23 A5:
        // a whole record re-flagged as a continuation vanished in silence).
        guard sawRecordStart || !skipped.isEmpty else { return }
        let error = FormatError.invalidField(.record(segment: f.fragment.segment, offset: UInt64(f.fragment.offset)),
                                             field: "fragment (its record's start is lost)", value: f.header.sequence)
        guard options.skipDamaged else { throw .laneDamaged(volume: volume, lane: lane, error) }
        orphanNoticed = f.header.sequence
        notice(error, skipped.isEmpty
               ? "skipped the rest of record sequence \(f.header.sequence): a fragment that continues no record this lane holds"
               : "skipped the rest of record sequence \(f.header.sequence): its first fragment was lost to the damage")
    }

    /// Reports a salvaged record handed out without its later fragments. O(1).
    func noteCutShort(_ first: Found, fragments: Int, bytes: Int) {
        notice(.invalidField(.record(segment: first.fragment.segment, offset: UInt64(first.fragment.offset)),
                             field: "fragments (the later ones are missing)", value: UInt64(fragments)),
               "record sequence \(first.header.sequence) is cut short: only the \(bytes) payload bytes of its "
               + "first \(fragments) fragment(s) are here, handed out as salvaged")
    }

    @inline(__always)
    func view(_ header: RecordHeader, _ first: RecordFragment, _ rest: [RecordFragment], salvaged: Bool) -> RecordView {
        var v = RecordView(header: header, owner: store, first: first, rest: rest, lane: lane)
        v.salvaged = salvaged
        // A member of a record group copies out from the reader's verified copy of the group.
        if rest.isEmpty && (first.start != 0 || first.recordLength != first.length) { v.groupCache = groupCache }
        return v
    }

    /// Positions the reader at the first record with timestamp ≥ `timestamp`.
    /// Binary search over segment headers, then a scan of one segment:
    /// O(log segments + records per segment).
    public func seek(timestamp: UInt64) throws(TraceError) {
        pending = nil
        sawRecordStart = false
        var lo = 0, hi = segments.count - 1, start = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            let t: UInt64
            do throws(FormatError) { t = try media.segmentHeader(segments[mid]).header.firstTimestamp } catch {
                throw .laneDamaged(volume: volume, lane: lane, error)
            }
            // The last segment opened before `timestamp`: every segment of a record
            // split over several carries its timestamp (the append that opened them),
            // so a segment opened at `timestamp` may continue a record that began
            // further back (adversary s23b B2: `<=` started inside it and lost it).
            if t < timestamp { start = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        // Records spanning into `start` may begin in the segment before it.
        position = Position(index: max(0, start - 1))
        salvaging = false
        // A seek is a new starting point, not a gap: what it passes over is
        // not reported, and what it goes back to is handed out again.
        handedThrough = nil
        openedEmpty = false
        while let r = try next() {
            if r.timestamp >= timestamp { pending = r; return }
        }
    }
}
