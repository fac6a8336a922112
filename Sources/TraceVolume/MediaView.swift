import Synchronization
import TraceFormat

/// The one read-side view of the structures on media, shared by the writer,
/// the readers and the check: commit words, segment headers, the records of
/// a segment up to a limit, and lane chains. Every index and offset it takes
/// from media is checked against the superblock before it is used; it never
/// reads outside the region.
///
/// A value holding the region owner: copies are cheap and keep the mapping
/// alive. Thread safety: read-only, except `commitWord(slot:lane:)`, whose
/// pointer is used with atomic loads and stores only.
struct MediaView {
    let region: PersistentRegion
    let superblock: Superblock
    let crc: CRC32C.Function
    /// For a region mapped from a file cut short: the bytes the file holds
    /// (`StoreOptions.readableBytes`); a commit word past them is damage.
    var readableBytes: UInt64?

    var segmentSize: Int { Int(superblock.segmentSize) }

    /// The commit word of (slot, lane) (FORMAT.md §5), as an atomic.
    /// Precondition: slot and lane are inside the superblock's tables.
    func commitWord(slot: Int, lane: Int) -> UnsafeMutablePointer<UInt64Atomic> {
        UnsafeMutablePointer(OpaquePointer(region.pointer(superblock.laneWordOffset(slot: slot, lane: lane))))
    }

    /// Loads the commit word of (slot, lane) with acquire ordering.
    func loadCommitWord(slot: Int, lane: Int) -> UInt64 {
        UInt64(littleEndian: commitWord(slot: slot, lane: lane).pointee.load(ordering: .acquiring))
    }

    /// What the commit-window word beside the commit word of (slot, lane) says
    /// about its tail segment (FORMAT.md §10.3), given the commit offset
    /// `tailOffset` the caller loaded and the tail header's CRC `seed`:
    /// `tornFrom`, where the torn-commit window starts (`Int.max`: none), and
    /// `damage` when, in a 1.4 region, the commit word is not what the last
    /// commit stored (its window word fails against the tail, or names an
    /// end beyond the commit offset that a crash cannot explain). A commit
    /// word that changes while this looks is never called damaged (a
    /// concurrent writer). Regions before 1.3 have no window. O(1).
    func commitWindow(slot: Int, lane: Int, tail: UInt64, seed: UInt32, tailOffset o: Int) -> (tornFrom: Int, damage: FormatError?) {
        let minor = superblock.versionMinor
        guard minor >= 3 else { return (Int.max, nil) }
        let word: UInt64 = (UnsafeRawPointer(commitWord(slot: slot, lane: lane)) + Layout.commitWindowWordOffset).loadLE(0)
        func window(_ start: Int) -> Int {
            start >= Layout.segmentHeaderSize && start < o && o - start <= Layout.tornCommitWindow && start % Layout.recordAlignment == 0
                ? start : Int.max
        }
        guard minor >= 4 else {
            guard let w = CommitWord(rawValue: word), w.segment == tail else { return (Int.max, nil) }
            return (window(Int(w.offset)), nil)
        }
        // Loaded again after the window word: a writer that committed meanwhile
        // explains any disagreement (FORMAT.md §10.3, a look from another process).
        func moved() -> Bool { CommitWord(rawValue: loadCommitWord(slot: slot, lane: lane)) != CommitWord(segment: tail, offset: UInt32(o)) }
        func damaged(_ field: String, _ value: Int) -> (Int, FormatError?) {
            (Int.max, moved() ? nil : .invalidField(.laneWord(slot: slot, lane: lane), field: field, value: UInt64(value)))
        }
        guard let w = CommitWindow.decode(word, seed: seed, crc: crc) else {
            // A commit that opens a segment writes a word for that segment
            // (start = end = 64). A crash before both words persisted leaves
            // the previous segment's word (or the zero word of a new lane)
            // beside the new commit word at 64, or the new segment's word
            // beside the old commit word: neither is damage, and each is
            // checked against the segment it names where that persisted.
            if o == Layout.segmentHeaderSize && openedTailExplains(word, tail: tail)
                || CommitWindow.opensSegment(word) && (moved() || nextSegmentExplains(word, tail: tail)) {
                return (Int.max, nil)
            }
            return damaged("commit word (its commit-window word does not match the tail segment \(tail))", o)
        }
        if w.end == o { return (w.torn ? window(w.start) : Int.max, nil) }  // the last commit, whole
        if w.start == o { return (Int.max, nil) }  // a crash between the two stores: that commit did not happen
        if w.end < o { return (window(w.end), nil) }  // the next commit's word did not persist: its records may be torn
        return damaged("commit word (the last commit stored offset \(w.end))", o)
    }

    /// Whether a commit word at offset 64 of `tail` with window word `word`
    /// (which does not match `tail`) is a state a crash can leave: the word
    /// of the commit before, which matches the tail's predecessor, or zero
    /// when the tail is the lane's first segment (FORMAT.md §10.3). O(1).
    func openedTailExplains(_ word: UInt64, tail: UInt64) -> Bool {
        guard let t = try? segmentHeader(tail) else { return false }
        if word == 0 { return t.header.sequence == 0 }
        guard t.header.previous < superblock.segmentCount, let p = try? segmentHeader(t.header.previous) else { return false }
        return CommitWindow.decode(word, seed: p.crc, crc: crc) != nil
    }

    /// Whether a segment-opening window word beside a commit word in `tail`
    /// can be what a crash leaves: the word of the commit that was opening the
    /// segment after `tail`, whose header may not have persisted either. It
    /// cannot when the word matches the header of a segment that is not
    /// `tail`'s successor in its lane (sequence + 1, `previous` = tail): then
    /// the commit word names the wrong segment. O(segment count): the
    /// summary entries (or, without a summary, the headers) of every segment,
    /// and the header of each entry that names the tail's lane; only on this
    /// rare path (a crash between the two stores, or damage), and not when the
    /// commit word moved meanwhile (a live writer).
    func nextSegmentExplains(_ word: UInt64, tail: UInt64) -> Bool {
        guard let t = try? segmentHeader(tail) else { return false }
        for i in 0..<superblock.segmentCount where i != tail {
            // The segment the interrupted commit opened has the tail's lane in
            // its summary entry (written with its header, §6.1); reading only
            // those headers keeps this off every other segment's page.
            if hasSummary {
                guard let e = try? summaryEntry(i), e.volumeUID == t.header.volumeUID, e.lane == t.header.lane else { continue }
            }
            guard let h = try? segmentHeader(i), CommitWindow.decode(word, seed: h.crc, crc: crc) != nil else { continue }
            return h.header.volumeUID == t.header.volumeUID && h.header.lane == t.header.lane
                && h.header.sequence == t.header.sequence &+ 1 && h.header.previous == tail
        }
        return true
    }

    /// Decodes and checks the header of segment `index`; returns it and its CRC
    /// (the seed of the segment's record checksums).
    func segmentHeader(_ index: UInt64) throws(FormatError) -> (header: SegmentHeader, crc: UInt32) {
        guard index < superblock.segmentCount else {
            throw .invalidField(.segmentHeader(segment: index), field: "index (beyond the segment count)", value: index)
        }
        let bytes = region.bytes(superblock.segmentOffset(index), Layout.segmentHeaderSize)!
        return try SegmentHeader.decode(bytes, expectedIndex: index)
    }

    /// Whether the region has a segment summary (FORMAT.md §6.1, since 1.3).
    var hasSummary: Bool { superblock.summaryOffset != 0 }

    /// Decodes and checks segment `index`'s summary entry.
    /// Precondition: `hasSummary`.
    func summaryEntry(_ index: UInt64) throws(FormatError) -> SummaryEntry {
        guard index < superblock.segmentCount else {
            throw .invalidField(.summaryEntry(segment: index), field: "index (beyond the segment count)", value: index)
        }
        return try SummaryEntry.decode(region.bytes(superblock.summaryEntryOffset(index), Layout.summaryEntrySize)!, index: index)
    }

    /// Pointer to segment `index`'s summary entry. Precondition: `hasSummary`, index < segment count.
    func summaryEntryPointer(_ index: UInt64) -> UnsafeMutableRawPointer {
        precondition(hasSummary && index < superblock.segmentCount, "no summary entry")
        return region.pointer(superblock.summaryEntryOffset(index))
    }

    /// First byte of segment `index`. Precondition: index < segment count.
    func segmentBase(_ index: UInt64) -> UnsafeMutableRawPointer {
        precondition(index < superblock.segmentCount, "segment index out of range")
        return region.pointer(superblock.segmentOffset(index))
    }

    /// A cursor over the records of `segment` from its header up to `limit`.
    func records(in segment: UInt64, seed: UInt32, limit: Int) -> RecordCursor {
        RecordCursor(base: UnsafeRawPointer(segmentBase(segment)), segment: segment,
                     limit: min(max(limit, Layout.segmentHeaderSize), segmentSize), seed: seed, crc: crc)
    }
}

// MARK: Chains

/// What walking a lane's chain back from its commit word found.
struct ChainWalk {
    /// Verified segments, head → tail. When `damage` is set these are the
    /// newest part of the chain, after the damaged link.
    var segments: [UInt64] = []
    /// The chain sequence each of `segments` had when walked.
    var sequences: [UInt64] = []
    /// Where committed data ends in the tail segment.
    var tailOffset: UInt32 = 0
    /// The commit word or a link is invalid; older segments are unreachable
    /// by walking (a scan of segment headers may still find them).
    var damage: FormatError?
    /// In a ring volume, the segment whose owner or sequence ended the walk
    /// (the predecessor of the head, reclaimed), if that is how it ended.
    var endedAt: UInt64?
    /// The commit word is not what the last commit stored (FORMAT.md §10.3,
    /// 1.4): `tailOffset` (or the tail itself) may be wrong, so a reader that
    /// rebuilds the lane reads its tail segment to the end.
    var tailDoubtful = false
    /// The segment the commit word names as the tail, when the word is
    /// valid (nil: no commit yet, or the word itself is the damage).
    var tail: UInt64?
}

extension MediaView {
    /// Walks back from the commit word of (slot, lane) through `previous`
    /// links, checking each header's owner and sequence (FORMAT.md §10.5).
    /// Never reads out of bounds and always ends: sequences strictly decrease
    /// along the walk. O(segments in the chain).
    ///
    /// With `summary`, the owner and links come from the segment summary
    /// (FORMAT.md §6.1) instead of the headers, and any entry that fails its
    /// check is damage (the caller then walks the headers).
    func walkChain(slot: Int, lane: Int, uid: UInt64, ring: Bool, summary: Bool = false) -> ChainWalk {
        var walk = ChainWalk()
        let wordLocation = Structure.laneWord(slot: slot, lane: lane)
        let wordAt = superblock.laneWordOffset(slot: slot, lane: lane)
        if let readable = readableBytes, wordAt + 8 > readable {
            // Its zeros would read as an empty lane: what it said is unknown.
            walk.damage = .truncated(wordLocation, needed: 8, available: readable > wordAt ? Int(readable - wordAt) : 0)
            return walk
        }
        guard let word = CommitWord(rawValue: loadCommitWord(slot: slot, lane: lane)) else { return walk }
        guard word.segment < superblock.segmentCount else {
            walk.damage = .invalidField(wordLocation, field: "segment", value: word.segment)
            return walk
        }
        guard word.offset >= UInt32(Layout.segmentHeaderSize), UInt64(word.offset) <= superblock.segmentSize,
              word.offset % UInt32(Layout.recordAlignment) == 0
        else {
            walk.damage = .invalidField(wordLocation, field: "offset", value: UInt64(word.offset))
            return walk
        }
        walk.tail = word.segment
        var reversed: [UInt64] = []
        var reversedSequences: [UInt64] = []
        var index = word.segment
        var expectedSequence: UInt64? = nil
        while true {
            let header: SummaryEntry
            do throws(FormatError) {
                header = summary ? try summaryEntry(index) : SummaryEntry(try segmentHeader(index).header)
            } catch {
                if summary {
                    walk.damage = error
                    break
                }
                // In ring mode a header that does not decode is normally the old head
                // torn by a reclaim a crash interrupted. It is damage instead when an
                // older segment of the lane still exists: then the chain was cut, and
                // ending here would hide its older part. O(segment count), rare.
                if let expected = expectedSequence, ring {
                    if expected > 0, findSegment(uid: uid, lane: lane, sequence: expected - 1) != nil { walk.damage = error }
                } else {
                    walk.damage = error
                }
                break
            }
            guard header.volumeUID == uid, header.lane == UInt32(lane),
                  expectedSequence == nil || header.sequence == expectedSequence!
            else {
                // In ring mode a head that now belongs to another lane or a later
                // life of this one was reclaimed: the normal end of a ring chain.
                if expectedSequence == nil || !ring {
                    walk.damage = .invalidField(summary ? .summaryEntry(segment: index) : .segmentHeader(segment: index),
                                                field: "owner or sequence (not the lane's chain)", value: header.sequence)
                } else {
                    walk.endedAt = index
                }
                break
            }
            reversed.append(index)
            reversedSequences.append(header.sequence)
            if header.previous == Layout.noSegment || header.sequence == 0 {
                // A head. Outside ring mode every chain starts at sequence 0.
                if !ring && header.sequence != 0 {
                    walk.damage = .invalidField(summary ? .summaryEntry(segment: index) : .segmentHeader(segment: index),
                                                field: "sequence (a chain head must be 0)",
                                                value: header.sequence)
                }
                break
            }
            // The count check is a backstop; decreasing sequences already bound the walk.
            guard header.previous < superblock.segmentCount, UInt64(reversed.count) <= superblock.segmentCount else {
                walk.damage = .invalidField(summary ? .summaryEntry(segment: index) : .segmentHeader(segment: index),
                                            field: "previous", value: header.previous)
                break
            }
            expectedSequence = header.sequence - 1  // > 0 checked above
            index = header.previous
        }
        walk.segments = reversed.reversed()
        walk.sequences = reversedSequences.reversed()
        walk.tailOffset = walk.segments.isEmpty ? 0 : word.offset
        if superblock.versionMinor >= 4, walk.segments.last == word.segment, let tail = try? segmentHeader(word.segment),
           let damage = commitWindow(slot: slot, lane: lane, tail: word.segment, seed: tail.crc, tailOffset: Int(word.offset)).damage {
            walk.tailDoubtful = true
            if walk.damage == nil { walk.damage = damage }
        }
        return walk
    }

    /// Every segment whose header is valid and names (uid, lane), in chain
    /// order (by header sequence). Finds what a damaged link cut off.
    /// O(segment count): used by damaged-lane reads and the check only.
    func scanLane(uid: UInt64, lane: Int) -> [(sequence: UInt64, segment: UInt64)] {
        var found: [(sequence: UInt64, segment: UInt64)] = []
        for i in 0..<superblock.segmentCount {
            guard let h = try? segmentHeader(i).header, h.volumeUID == uid, h.lane == UInt32(lane) else { continue }
            found.append((h.sequence, i))
        }
        found.sort { $0.sequence < $1.sequence }
        return found
    }

    /// The segment whose valid header names (uid, lane, sequence), if any.
    /// O(segment count).
    func findSegment(uid: UInt64, lane: Int, sequence: UInt64) -> UInt64? {
        for i in 0..<superblock.segmentCount {
            if let h = try? segmentHeader(i).header, h.volumeUID == uid, h.lane == UInt32(lane), h.sequence == sequence { return i }
        }
        return nil
    }

    /// Whether segment `index` holds at least one record that passes its
    /// checksum in the header's current life: reusing such a segment could
    /// lose data, so the allocator keeps it.
    func holdsRecords(_ index: UInt64) -> Bool {
        guard let h = try? segmentHeader(index) else { return false }
        return holdsRecords(index, seed: h.crc)
    }

    /// Whether any record of segment `index` validates with `seed`: the first,
    /// or, past a first record that fails its checks, one at any later
    /// 8-aligned offset (damage to the first record must not make a segment
    /// full of committed data look empty). O(segment) with one checksum per
    /// candidate whose length fits; only for segments about to be reused.
    func holdsRecords(_ index: UInt64, seed: UInt32) -> Bool {
        var cursor = records(in: index, seed: seed, limit: segmentSize)
        if case .record? = try? cursor.next() { return true }
        let base = UnsafeRawPointer(segmentBase(index))
        var at = Layout.segmentHeaderSize + Layout.recordAlignment
        while segmentSize - at >= Layout.recordHeaderSize {
            let h = RecordHeader.decodeFields(base + at)
            if h.kind != .endOfSegment, Int(h.payloadLength) <= segmentSize - at - Layout.recordHeaderSize {
                var probe = cursor
                probe.move(to: at)
                if case .record? = try? probe.next() { return true }
            }
            at += Layout.recordAlignment
        }
        return false
    }

    /// The checksum field of segment `index`'s header, whatever the rest holds.
    func storedHeaderChecksum(_ index: UInt64) -> UInt32 {
        UnsafeRawPointer(segmentBase(index)).loadLE(Layout.segmentHeaderSize - 4)
    }
}

/// `Synchronization.Atomic<UInt64>` has the layout of a `UInt64`: commit words
/// on media are accessed through it so loads and stores are single atomic
/// 8-byte operations.
typealias UInt64Atomic = Atomic<UInt64>
