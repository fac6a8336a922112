import TraceFormat

/// Reads the committed records of one lane, oldest first (FORMAT.md §10.4).
///
/// Works while a writer appends, in this process or another: it sees the
/// records committed when it was created or last `refresh()`ed. Every record
/// it returns passed its CRC check; it never returns part of a record.
/// Not thread-safe (one reader per thread). Cost per record: one CRC pass.
public final class LaneReader {
    public let volume: String
    public let lane: Int
    let store: TraceStore
    let slot: Int
    let uid: UInt64
    let ring: Bool
    var chain: [UInt64] = []
    var tailOffset: UInt32 = 0
    var chainIndex = 0
    var scanner: SegmentScanner?
    var segmentSequence: UInt64 = 0
    var pending: RecordView?
    /// Salvage mode: past the commit point of the tail segment, keep
    /// returning records while they are CRC-valid and in sequence.
    let salvage: Bool
    var salvaging = false
    var lastSequence: UInt64?
    var lastTimestamp: UInt64 = 0

    init(store: TraceStore, info: VolumeInfo, lane: Int, salvage: Bool = false) throws(TraceError) {
        self.store = store
        self.salvage = salvage
        volume = info.name
        self.lane = lane
        slot = info.slot
        uid = info.uid
        ring = info.ring
        try refresh()
    }

    /// Picks up records committed since the last look. O(segments in lane).
    public func refresh() throws(TraceError) {
        let walk = store.walkChain(slot: slot, lane: lane, uid: uid, ring: ring)
        if let d = walk.damage { throw .laneDamaged(volume: volume, lane: lane, d) }
        let current = scanner.map { $0.index }
        chain = walk.segments
        tailOffset = walk.tailOffset
        if let current, let k = chain.firstIndex(of: current) {
            chainIndex = k
            scanner!.limit = k == chain.count - 1 ? Int(tailOffset) : store.segmentSize
        } else if current != nil {
            // Our segment was reclaimed by a ring writer: start again at the new head.
            chainIndex = 0
            scanner = nil
        }
    }

    /// The next fragment, or nil at the committed tail.
    func nextFragment() throws(TraceError) -> RecordView? {
        while true {
            if scanner == nil {
                guard chainIndex < chain.count else { return nil }
                let index = chain[chainIndex]
                let h: (header: SegmentHeader, crc: UInt32)
                do throws(FormatError) { h = try store.readSegmentHeader(index) } catch {
                    throw ring ? .overwrittenWhileReading(volume: volume, lane: lane) : .laneDamaged(volume: volume, lane: lane, error)
                }
                guard h.header.volumeUID == uid, h.header.lane == UInt32(lane) else {
                    throw .overwrittenWhileReading(volume: volume, lane: lane)
                }
                segmentSequence = h.header.sequence
                let limit = chainIndex == chain.count - 1 ? Int(tailOffset) : store.segmentSize
                scanner = SegmentScanner(base: UnsafeRawPointer(store.segmentPointer(index)), index: index, limit: limit,
                                         seed: h.crc, crc: store.region.crc32c)
            }
            let step: SegmentScanner.Step
            do throws(FormatError) { step = try scanner!.next() } catch {
                if salvaging {
                    // The torn tail ends the salvage; nothing past it is trusted.
                    scanner!.limit = scanner!.offset
                    return nil
                }
                if ring, let h = try? store.readSegmentHeader(scanner!.index), h.header.sequence != segmentSequence {
                    throw .overwrittenWhileReading(volume: volume, lane: lane)
                }
                throw .laneDamaged(volume: volume, lane: lane, error)
            }
            switch step {
            case .record(let h, let payload, let offset):
                if salvaging {
                    // Past the commit point: only what continues the lane's sequence and time.
                    let expected = lastSequence.map { h.flags.contains(.continuation) ? $0 : $0 &+ 1 }
                    guard expected == nil || h.sequence == expected!, h.timestamp >= lastTimestamp else {
                        scanner!.limit = scanner!.offset
                        return nil
                    }
                }
                lastSequence = h.sequence
                lastTimestamp = h.timestamp
                var view = RecordView(header: h, payload: payload, moreFragments: [], lane: lane, segment: scanner!.index, offset: offset)
                view.salvaged = salvaging
                return view
            case .end:
                if chainIndex >= chain.count - 1 {
                    if salvage && !salvaging && chainIndex == chain.count - 1 {
                        // Look past the commit point, to the end of the segment.
                        salvaging = true
                        scanner!.limit = store.segmentSize
                        continue
                    }
                    return nil
                }
                chainIndex += 1
                scanner = nil
            }
        }
    }

    /// The next whole record, or nil when none is committed yet. Fragments of
    /// a record larger than a segment are joined (as views, not copies); a
    /// record whose last fragment is not committed is not returned yet, and
    /// one abandoned by a crash mid-record is skipped.
    public func next() throws(TraceError) -> RecordView? {
        if let p = pending { pending = nil; return p }
        while true {
            let savedIndex = chainIndex, savedScanner = scanner, savedSequence = segmentSequence
            guard let first = try nextFragment() else { return nil }
            let flags = first.header.flags
            if flags.isEmpty { return first }
            if first.salvaged && flags.contains(.hasMore) {
                // A salvaged record's later fragments may be missing: return what is there, in order.
                return first
            }
            if flags.contains(.continuation) { continue }  // tail of a record whose start was reclaimed or abandoned
            var parts: [UnsafeRawBufferPointer] = []
            var last = first
            while last.header.flags.contains(.hasMore) {
                let beforeIndex = chainIndex, beforeScanner = scanner, beforeSequence = segmentSequence
                guard let f = try nextFragment() else {
                    // Not all committed yet: come back to this record later.
                    chainIndex = savedIndex; scanner = savedScanner; segmentSequence = savedSequence
                    return nil
                }
                guard f.header.flags.contains(.continuation), f.header.sequence == first.header.sequence else {
                    // The record was abandoned (crash mid-record): drop it, resume at `f`.
                    chainIndex = beforeIndex; scanner = beforeScanner; segmentSequence = beforeSequence
                    parts = []
                    break
                }
                parts.append(f.payload)
                last = f
            }
            if last.header.flags.contains(.hasMore) { continue }
            return RecordView(header: first.header, payload: first.payload, moreFragments: parts, lane: lane,
                              segment: first.segment, offset: first.offset)
        }
    }

    /// Positions the reader at the first record with timestamp ≥ `timestamp`.
    /// Binary search over segment headers, then a scan of one segment:
    /// O(log segments + records per segment).
    public func seek(timestamp: UInt64) throws(TraceError) {
        pending = nil
        var lo = 0, hi = chain.count - 1, start = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            let t: UInt64
            do throws(FormatError) { t = try store.readSegmentHeader(chain[mid]).header.firstTimestamp } catch {
                throw .laneDamaged(volume: volume, lane: lane, error)
            }
            if t <= timestamp { start = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        // Records spanning into `start` may begin in the segment before it.
        chainIndex = max(0, start - 1)
        scanner = nil
        while let r = try next() {
            if r.timestamp >= timestamp { pending = r; return }
        }
    }
}
