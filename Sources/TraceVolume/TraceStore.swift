import TraceFormat

/// A mounted PMTrace region: the volume table, the free-segment map and the
/// lanes' segment chains, rebuilt in DRAM from media at mount.
///
/// Thread safety: every method may be called from any thread. Metadata
/// operations (create, rename, seal, delete, segment allocation) serialize on
/// one internal lock; appends and commits take no lock (see `LaneWriter`).
///
/// Durability: each metadata operation is durable when it returns, and atomic
/// across a crash (FORMAT.md §9).
public final class TraceStore: @unchecked Sendable {
    // SAFETY: `slots` and `allocator` are only touched under `lock`;
    // `media`, `writable`, `options` never change after init; `warnings` only
    // during init and under `lock`.

    /// The region and its structures; retains the region owner.
    let media: MediaView
    /// Mounted for writing (appends, volume changes, repair).
    public let writable: Bool
    /// The options the store was mounted with.
    public let options: StoreOptions
    /// Which superblock copy was used (0 = A, 1 = B).
    public let superblockCopy: Int
    /// Problems found and worked around (at mount: a damaged superblock copy,
    /// a damaged volume-table slot or lane chain; later: segments kept out of
    /// reuse), in order. Thread-safe.
    public var warnings: [TraceError] { lock.withLock { mountWarnings } }
    var mountWarnings: [TraceError] = []
    /// Lane chains the mount took from the segment summary (FORMAT.md §6.1)
    /// rather than from every segment header. Set at mount, then constant.
    public internal(set) var lanesMountedFromSummary = 0
    /// Lanes whose chain the mount walked over the headers although the
    /// region has a segment summary, and why (a crash while a ring lane's head
    /// was being reclaimed, or a damaged or stale summary entry). Set at
    /// mount, then constant.
    public internal(set) var mountNotes: [String] = []

    /// Mount walks every lane over the segment headers (set when chains taken
    /// from the summary claimed one segment twice). Set at mount, then constant.
    var walksHeadersOnly = false
    /// The first segment two chains taken from the summary both claimed. Mount only.
    var summaryClaimConflict: UInt64?

    let lock = SpinLock()
    var slots: [VolumeSlot]
    var allocator: SegmentAllocator
    /// Free-looking segments kept back because they may hold a live volume's
    /// data (see `allocateSegment`); released when that volume is deleted.
    var reserved: [UInt64] = []

    /// The region this store lives in (retained by the store).
    public var region: PersistentRegion { media.region }
    /// The superblock in use.
    public var superblock: Superblock { media.superblock }
    var segmentSize: Int { media.segmentSize }

    /// Mounts a formatted region, recovering from any crash.
    ///
    /// The store retains `region`; writers, readers and record views made
    /// from the store retain the store, so the mapping stays valid for as
    /// long as any of them lives.
    ///
    /// Cost: O(volume slots + segments in use + segment count / 64); reads the
    /// volume table, every lane's commit word and, for every segment in a
    /// chain, its 32-byte summary entry (regions formatted since 1.3) or its
    /// header, never the records. A writable mount also repairs a damaged
    /// superblock copy from the good one.
    public init(region: PersistentRegion, writable: Bool, options: StoreOptions = StoreOptions()) throws(TraceError) {
        self.writable = writable
        self.options = options
        let (sb, copy, sbWarnings) = try Self.readSuperblock(region, crc: options.crc32c)
        if writable && sb.versionMinor > Layout.versionMinor {
            throw .newerMinorVersion(major: sb.versionMajor, minor: sb.versionMinor)
        }
        media = MediaView(region: region, superblock: sb, crc: options.crc32c, readableBytes: options.readableBytes)
        superblockCopy = copy
        mountWarnings = sbWarnings
        allocator = SegmentAllocator(count: sb.segmentCount)
        slots = []
        slots.reserveCapacity(Int(sb.volumeSlotCount))
        for slot in 0..<Int(sb.volumeSlotCount) {
            slots.append(readSlot(slot))
        }
        if let readable = options.readableBytes {
            // The file ends inside the volume table: slots past the end read as
            // empty, but what they held is unknown.
            if let first = (0..<Int(sb.volumeSlotCount)).first(where: { sb.volumeSlotOffset($0) + UInt64(Layout.volumeSlotSize) > readable }) {
                let available = readable > sb.volumeSlotOffset(first) ? Int(readable - sb.volumeSlotOffset(first)) : 0
                mountWarnings.append(.damaged(.truncated(.volumeEntry(slot: first, copy: 0), needed: Layout.volumeSlotSize, available: available)))
                mountNotes.append("the file ends at byte \(readable), inside the volume table: slots \(first) … \(sb.volumeSlotCount - 1) are unknown")
            }
        }
        for slot in slots.indices where slots[slot].isLive {
            rebuildChains(slot)
        }
        if let contested = summaryClaimConflict {
            // Two chains taken from the summary claim one segment: a summary
            // entry lies (written by a tool, or forged), and the first claimer
            // may be the liar. Walk every lane over the headers instead, so the
            // owner the headers name keeps the segment (FORMAT.md §10.5).
            mountNotes.append("segment \(contested) is claimed by two lanes in the segment summary; walked every lane's segment headers instead")
            allocator = SegmentAllocator(count: sb.segmentCount)
            mountWarnings = sbWarnings
            lanesMountedFromSummary = 0
            walksHeadersOnly = true
            for slot in slots.indices where slots[slot].isLive {
                slots[slot].laneDamage = slots[slot].laneDamage.map { _ in nil }
                rebuildChains(slot)
            }
        }
        if writable && !sbWarnings.isEmpty && options.rewritesDamagedSuperblockAtMount {
            // Rewrite the damaged copy from the good one.
            writeSuperblockCopy(sb, copy: 1 - copy)
        }
        _checkInvariants()
    }

    // MARK: Superblock

    static func readSuperblock(_ region: PersistentRegion, crc: CRC32C.Function) throws(TraceError) -> (Superblock, Int, [TraceError]) {
        guard region.size >= UInt64(2 * Layout.superblockCopySize) else {
            throw .notARegion(reason: "\(region.size) bytes is smaller than the two superblock copies")
        }
        var results: [Result<Superblock, FormatError>] = []
        for copy in 0..<2 {
            let bytes = region.bytes(UInt64(copy * Layout.superblockCopySize), Layout.superblockSize)!
            do throws(FormatError) {
                results.append(.success(try Superblock.decode(bytes, copy: copy, mappedSize: region.size)))
            } catch {
                results.append(.failure(error))
            }
        }
        switch (results[0], results[1]) {
        case (.success(let a), .success(let b)):
            if a == b { return (a, 0, []) }
            // Different contents: only an interrupted superblock update or damage
            // that kept a valid CRC does this. Take the copy that serves the region
            // better (`ChainScore`: a CRC-valid copy with a wrong geometry must not
            // win), then the newer generation; and say so: the check reports the other copy.
            let scoreA = chainScore(MediaView(region: region, superblock: a, crc: crc))
            let scoreB = chainScore(MediaView(region: region, superblock: b, crc: crc))
            let pick = scoreA != scoreB ? (scoreB > scoreA ? 1 : 0) : (b.generation > a.generation ? 1 : 0)
            let other = Structure.superblock(copy: 1 - pick)
            let (used, unused) = pick == 1 ? (b, a) : (a, b)
            let reason = unused.generation == used.generation
                ? "contents (differs from the copy in use at the same generation)"
                : "contents (differs from the copy in use, generation \(used.generation))"
            return (used, pick, [.damaged(.invalidField(other, field: reason, value: unused.generation))])
        case (.success(let a), .failure(let e)):
            return (a, 0, [.damaged(e)])
        case (.failure(let e), .success(let b)):
            return (b, 1, [.damaged(e)])
        case (.failure(let ea), .failure(let eb)):
            // A copy that names the other copy: the mapping starts 4096 bytes off the region.
            // Copy B where A belongs: the region starts 4096 bytes earlier; copy A where B belongs: later.
            if case .invalidField(_, Superblock.misplacedCopyField, _) = ea { throw .regionMisplaced(by: -4096) }
            if case .invalidField(_, Superblock.misplacedCopyField, _) = eb { throw .regionMisplaced(by: 4096) }
            if case .unsupportedVersion(let major, let minor) = ea { throw .unsupportedVersion(major: major, minor: minor) }
            if case .unsupportedVersion(let major, let minor) = eb { throw .unsupportedVersion(major: major, minor: minor) }
            if case .badMagic = ea, case .badMagic = eb {
                throw .notARegion(reason: "no PMTrace superblock at offset 0 or 4096 (never formatted, or another kind of file)")
            }
            if case .badMagic = ea {
                // Format writes copy B, then A: B torn and A not yet written is an interrupted format.
                throw .notARegion(reason: "no complete superblock (superblock copy A is empty and \(eb)): a format was interrupted")
            }
            if let recorded = Self.recordedSizeBeyondMapping(ea, eb) {
                throw .regionTruncated(recordedSize: recorded, mappedSize: region.size)
            }
            throw .bothSuperblocksDamaged(a: ea, b: eb)
        }
    }

    /// The region size both copies record when both fail only because it is
    /// larger than what is mapped: the file was truncated.
    static func recordedSizeBeyondMapping(_ a: FormatError, _ b: FormatError) -> UInt64? {
        guard case .invalidField(_, let fa, let va) = a, case .invalidField(_, let fb, let vb) = b,
              fa.hasPrefix("regionSize"), fb.hasPrefix("regionSize") else { return nil }
        return max(va, vb)
    }

    /// How a candidate superblock serves the region, compared in this order
    /// (FORMAT.md §3, Choice): the segments the live lanes' chain walks reach
    /// under it (a damaged walk's newer, verified part included); the lanes
    /// that walk without damage (not first: a copy that moves the lane table
    /// onto zeros leaves every lane empty, and an empty lane walks cleanly —
    /// adversary s23b); its segment count (no writer changes a region's
    /// geometry: a copy that only shrinks the region must not win).
    struct ChainScore: Comparable {
        var segmentsReached = 0
        var cleanLanes = 0
        var segmentCount: UInt64 = 0

        static func < (l: ChainScore, r: ChainScore) -> Bool {
            (l.segmentsReached, l.cleanLanes, l.segmentCount) < (r.segmentsReached, r.cleanLanes, r.segmentCount)
        }
    }

    /// The `ChainScore` of a candidate superblock: every live lane's chain
    /// walked once under it.
    static func chainScore(_ media: MediaView) -> ChainScore {
        let sb = media.superblock
        var score = ChainScore(segmentCount: sb.segmentCount)
        for slot in 0..<Int(sb.volumeSlotCount) {
            guard let entry = bestEntry(media, slot: slot), entry.state == .live else { continue }
            for lane in 0..<Int(entry.laneCount) {
                let walk = media.walkChain(slot: slot, lane: lane, uid: entry.uid, ring: entry.flags.contains(.ring))
                score.segmentsReached += walk.segments.count
                if walk.damage == nil { score.cleanLanes += 1 }
            }
        }
        return score
    }

    static func bestEntry(_ media: MediaView, slot: Int) -> VolumeEntry? {
        var best: VolumeEntry?
        for copy in 0..<2 {
            let bytes = media.region.bytes(media.superblock.volumeSlotOffset(slot) + UInt64(copy * Layout.volumeEntrySize), Layout.volumeEntrySize)!
            if case .entry(let e) = VolumeEntry.decode(bytes, slot: slot, copy: copy, maxLanes: media.superblock.maxLanesPerVolume),
               best == nil || e.updateSequence > best!.updateSequence { best = e }
        }
        return best
    }

    func writeSuperblockCopy(_ sb: Superblock, copy: Int) {
        withUnsafeTemporaryAllocation(byteCount: Layout.superblockSize, alignment: 8) { buf in
            sb.encode(into: buf.baseAddress!, copy: copy)
            region.write(buf.baseAddress!, count: Layout.superblockSize, at: UInt64(copy * Layout.superblockCopySize))
        }
    }

    // MARK: Volume table

    func readSlot(_ slot: Int) -> VolumeSlot {
        let base = superblock.volumeSlotOffset(slot)
        var decoded: [VolumeEntry.Decoded] = []
        for copy in 0..<2 {
            let bytes = region.bytes(base + UInt64(copy * Layout.volumeEntrySize), Layout.volumeEntrySize)!
            decoded.append(VolumeEntry.decode(bytes, slot: slot, copy: copy, maxLanes: superblock.maxLanesPerVolume))
        }
        var best: (VolumeEntry, Int)?
        var damage: FormatError?
        for (copy, d) in decoded.enumerated() {
            switch d {
            case .empty: break
            case .damaged(let e): damage = e
            case .entry(let e):
                if best == nil || e.updateSequence > best!.0.updateSequence { best = (e, copy) }
            }
        }
        guard let (entry, copy) = best else {
            // One copy torn and the other never written: a first create that did not
            // finish (a completed first create writes both copies). The slot is empty.
            let neverWritten = decoded.contains { if case .empty = $0 { return true } else { return false } }
            if let damage, !neverWritten {
                mountWarnings.append(.damaged(damage))
                return VolumeSlot(state: .damaged(damage), entry: nil, activeCopy: 0)
            }
            return VolumeSlot(state: .empty, entry: nil, activeCopy: 1)
        }
        // One copy damaged beside a valid one is what a torn update leaves: not a warning.
        var s = VolumeSlot(state: entry.state == .live ? .live : .deleted, entry: entry, activeCopy: copy)
        if entry.state == .live {
            let lanes = Int(entry.laneCount)
            s.chains = [[UInt64]](repeating: [], count: lanes)
            s.laneDamage = [FormatError?](repeating: nil, count: lanes)
            s.writerOpen = [Bool](repeating: false, count: lanes)
        }
        return s
    }

    /// Writes `entry` to the slot's inactive copy and persists it: the atomic
    /// step of every volume-table change. Caller holds the lock.
    func commitEntry(_ entry: VolumeEntry, slot: Int) throws(TraceError) {
        // After a lost store nothing more is published: not even the entry of a
        // change whose earlier stores (a create's zeroed commit words) were lost.
        guard !region.storesLost else { throw .updateLost(volume: slots[slot].entry.map { String(decoding: $0.name, as: UTF8.self) } ?? String(decoding: entry.name, as: UTF8.self)) }
        var e = entry
        e.updateSequence = (slots[slot].entry?.updateSequence ?? 0) + 1
        let copy = 1 - slots[slot].activeCopy
        let offset = superblock.volumeSlotOffset(slot) + UInt64(copy * Layout.volumeEntrySize)
        withUnsafeTemporaryAllocation(byteCount: Layout.volumeEntrySize, alignment: 8) { buf in
            e.encode(into: buf.baseAddress!)
            region.write(buf.baseAddress!, count: Layout.volumeEntrySize, at: offset)
        }
        // The write-back may itself have found the loss: the entry may not be on
        // media, so this process does not take it as made either.
        guard !region.storesLost else { throw .updateLost(volume: String(decoding: e.name, as: UTF8.self)) }
        slots[slot].entry = e
        slots[slot].activeCopy = copy
    }

    // MARK: Chains

    /// Rebuilds every lane chain of a live slot and claims its segments.
    /// A damaged lane keeps the newest part of its chain that walks cleanly;
    /// the segments it lost track of stay reserved (see `allocateSegment`).
    func rebuildChains(_ slot: Int) {
        let entry = slots[slot].entry!
        for lane in 0..<Int(entry.laneCount) {
            let walk = mountWalk(slot: slot, lane: lane, uid: entry.uid, ring: entry.flags.contains(.ring))
            var chain = walk.segments
            var damage = walk.damage
            // A segment claimed by two chains is damage; the first claimer keeps it.
            if let i = chain.lastIndex(where: { allocator.isUsed($0) }) {
                if lanesMountedFromSummary > 0 && !walksHeadersOnly && summaryClaimConflict == nil { summaryClaimConflict = chain[i] }
                damage = .invalidField(.segmentHeader(segment: chain[i]), field: "owner (segment claimed by two lanes)", value: chain[i])
                chain = Array(chain[(i + 1)...])
            }
            for s in chain { _ = allocator.claim(s) }
            slots[slot].chains[lane] = chain
            if let damage {
                slots[slot].laneDamage[lane] = damage
                mountWarnings.append(.laneDamaged(volume: slots[slot].name, lane: lane, damage))
            }
        }
    }

    /// Reads the commit word of (slot, lane) with acquire ordering.
    func loadCommitWord(slot: Int, lane: Int) -> UInt64 { media.loadCommitWord(slot: slot, lane: lane) }

    /// Checks the allocator and the chains: every chain segment and every
    /// reserved segment is marked used, and none is in two places. A no-op
    /// unless built with `PMTRACE_INTERNAL_CHECKS`. O(segments in use).
    /// Caller holds the lock (or is `init`).
    func _checkInvariants() {
        #if PMTRACE_INTERNAL_CHECKS
        allocator._checkInvariants()
        var seen = SegmentAllocator(count: superblock.segmentCount)
        for s in slots where s.isLive {
            for chain in s.chains {
                for i in chain {
                    precondition(allocator.isUsed(i), "chain segment \(i) is free in the allocator")
                    precondition(seen.claim(i), "segment \(i) is in two chains")
                }
            }
        }
        for i in reserved {
            precondition(allocator.isUsed(i), "reserved segment \(i) is free in the allocator")
            precondition(seen.claim(i), "reserved segment \(i) is also in a chain")
        }
        #endif
    }

    // MARK: Space

    /// Free segments and total segments, right now.
    public var space: (free: UInt64, total: UInt64) {
        lock.withLock { (allocator.freeCount, superblock.segmentCount) }
    }
}

