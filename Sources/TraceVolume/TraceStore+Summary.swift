import TraceFormat

extension TraceStore {
    /// The chain of (slot, lane) as mount takes it (FORMAT.md §10.5): from
    /// the segment summary when the region has one and the walk over it
    /// agrees with the headers it is checked against, else from the headers
    /// (and the reason is added to `mountNotes`). Either way the result is
    /// the chain a walk over the headers finds, except that a header damaged
    /// in the middle of a chain is found by readers and the check, not here.
    /// O(segments in the chain) summary entries + at most 3 headers, or
    /// O(segments in the chain) headers.
    func mountWalk(slot: Int, lane: Int, uid: UInt64, ring: Bool) -> ChainWalk {
        guard media.hasSummary, options.usesSegmentSummary, !walksHeadersOnly else {
            return media.walkChain(slot: slot, lane: lane, uid: uid, ring: ring)
        }
        let fast = media.walkChain(slot: slot, lane: lane, uid: uid, ring: ring, summary: true)
        guard let reason = media.summaryDisagreement(fast, uid: uid, lane: lane) else {
            lanesMountedFromSummary += 1
            return fast
        }
        mountNotes.append("volume '\(slots[slot].name)' lane \(lane): \(reason); walked the segment headers instead of the summary")
        return media.walkChain(slot: slot, lane: lane, uid: uid, ring: ring)
    }
}

extension MediaView {
    /// Why a walk over the summary may differ from the walk over the headers,
    /// or nil when it cannot: it found no damage, the headers of its head and
    /// tail are valid and hold what their entries hold, and where a ring
    /// chain ended at a reclaimed predecessor, that segment's header does not
    /// continue the chain either. (Entries and headers are written together
    /// before the commit that links a segment, so after a crash they can
    /// differ only at a segment being taken: a ring lane's head or a segment
    /// no chain reaches.) O(1): reads at most three headers.
    func summaryDisagreement(_ walk: ChainWalk, uid: UInt64, lane: Int) -> String? {
        if let damage = walk.damage { return "\(damage)" }
        guard let head = walk.segments.first, let tail = walk.segments.last else { return nil }
        var headSequence: UInt64 = 0
        for s in head == tail ? [head] : [head, tail] {
            let h: SegmentHeader
            do throws(FormatError) { h = try segmentHeader(s).header } catch { return "\(error)" }
            guard let e = try? summaryEntry(s), e.matches(h) else { return "the summary entry of segment \(s) differs from its header" }
            if s == head { headSequence = h.sequence }
        }
        if let end = walk.endedAt {
            let h: SegmentHeader
            do throws(FormatError) { h = try segmentHeader(end).header } catch { return "\(error)" }
            if h.volumeUID == uid, h.lane == UInt32(lane), h.sequence &+ 1 == headSequence {
                return "the header of segment \(end) continues the chain its summary entry ends"
            }
        }
        return nil
    }
}

extension TraceStore {
    /// Every volume-table slot's lane chains as the store holds them (head →
    /// tail; empty for a slot without a live volume), the segments kept out of
    /// reuse and the free count: what the allocator treats as used. For tests
    /// that compare a mount from the summary with one over the headers.
    /// O(slots + segments in use); thread-safe.
    public func mountedSegments() -> (chains: [[[UInt64]]], reserved: [UInt64], free: UInt64) {
        lock.withLock { (slots.map { $0.isLive ? $0.chains : [] }, reserved, allocator.freeCount) }
    }
}
