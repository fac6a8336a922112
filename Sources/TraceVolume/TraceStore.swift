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
    // `region`, `superblock`, `writable`, `options` never change after init.

    public let region: PersistentRegion
    public let superblock: Superblock
    public let writable: Bool
    public let options: StoreOptions
    /// Which superblock copy was used (0 = A, 1 = B).
    public let superblockCopy: Int
    /// Problems found and worked around at mount (a damaged superblock copy,
    /// a damaged volume-table slot or lane chain), in order.
    public private(set) var warnings: [TraceError] = []

    let lock = SpinLock()
    var slots: [VolumeSlot]
    var allocator: SegmentAllocator

    var segmentSize: Int { Int(superblock.segmentSize) }

    /// Mounts a formatted region, recovering from any crash.
    ///
    /// Cost: O(volume slots + segments in use + segment count / 64); reads the
    /// volume table, every lane's commit word and the header of every segment
    /// in a chain, never the records. A writable mount also repairs a damaged
    /// superblock copy from the good one.
    public init(region: PersistentRegion, writable: Bool, options: StoreOptions = StoreOptions()) throws(TraceError) {
        self.region = region
        self.writable = writable
        self.options = options
        let (sb, copy, sbWarnings) = try Self.readSuperblock(region)
        if writable && sb.versionMinor > Layout.versionMinor {
            throw .newerMinorVersion(major: sb.versionMajor, minor: sb.versionMinor)
        }
        superblock = sb
        superblockCopy = copy
        warnings = sbWarnings
        allocator = SegmentAllocator(count: sb.segmentCount)
        slots = []
        slots.reserveCapacity(Int(sb.volumeSlotCount))
        for slot in 0..<Int(sb.volumeSlotCount) {
            slots.append(readSlot(slot))
        }
        for slot in slots.indices where slots[slot].isLive {
            rebuildChains(slot)
        }
        if writable && !sbWarnings.isEmpty {
            // Rewrite the damaged copy from the good one.
            writeSuperblockCopy(sb, copy: 1 - copy)
        }
    }

    // MARK: Superblock

    static func readSuperblock(_ region: PersistentRegion) throws(TraceError) -> (Superblock, Int, [TraceError]) {
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
            return b.generation > a.generation ? (b, 1, []) : (a, 0, [])
        case (.success(let a), .failure(let e)):
            return (a, 0, [.damaged(e)])
        case (.failure(let e), .success(let b)):
            return (b, 1, [.damaged(e)])
        case (.failure(let ea), .failure(let eb)):
            if case .unsupportedVersion(let major, let minor) = ea { throw .unsupportedVersion(major: major, minor: minor) }
            if case .unsupportedVersion(let major, let minor) = eb { throw .unsupportedVersion(major: major, minor: minor) }
            if case .badMagic = ea, case .badMagic = eb {
                throw .notARegion(reason: "no PMTrace superblock at offset 0 or 4096 (never formatted, or another kind of file)")
            }
            if case .badMagic = ea {
                // Format writes copy B, then A: B torn and A not yet written is an interrupted format.
                throw .notARegion(reason: "no complete superblock (superblock copy A is empty and \(eb)): a format was interrupted")
            }
            throw .bothSuperblocksDamaged(a: ea, b: eb)
        }
    }

    func writeSuperblockCopy(_ sb: Superblock, copy: Int) {
        withUnsafeTemporaryAllocation(byteCount: Layout.superblockSize, alignment: 8) { buf in
            sb.encode(into: buf.baseAddress!)
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
                warnings.append(.damaged(damage))
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
    func commitEntry(_ entry: VolumeEntry, slot: Int) {
        var e = entry
        e.updateSequence = (slots[slot].entry?.updateSequence ?? 0) + 1
        let copy = 1 - slots[slot].activeCopy
        let offset = superblock.volumeSlotOffset(slot) + UInt64(copy * Layout.volumeEntrySize)
        withUnsafeTemporaryAllocation(byteCount: Layout.volumeEntrySize, alignment: 8) { buf in
            e.encode(into: buf.baseAddress!)
            region.write(buf.baseAddress!, count: Layout.volumeEntrySize, at: offset)
        }
        slots[slot].entry = e
        slots[slot].activeCopy = copy
    }

    // MARK: Chains

    /// Rebuilds every lane chain of a live slot and claims its segments.
    func rebuildChains(_ slot: Int) {
        let entry = slots[slot].entry!
        for lane in 0..<Int(entry.laneCount) {
            let walk = walkChain(slot: slot, lane: lane, uid: entry.uid, ring: entry.flags.contains(.ring))
            var chain = walk.segments
            var damage = walk.damage
            // A segment claimed by two chains is damage; the first claimer keeps it.
            if let i = chain.firstIndex(where: { allocator.isUsed($0) }) {
                damage = .invalidField(.segmentHeader(segment: chain[i]), field: "owner (segment claimed by two lanes)", value: chain[i])
                chain = Array(chain[(i + 1)...])
            }
            for s in chain { _ = allocator.claim(s) }
            slots[slot].chains[lane] = chain
            if let damage {
                slots[slot].laneDamage[lane] = damage
                warnings.append(.laneDamaged(volume: slots[slot].name, lane: lane, damage))
            }
        }
    }

    /// The result of walking a lane's chain back from its commit word.
    struct ChainWalk {
        /// Head → tail.
        var segments: [UInt64] = []
        var tailOffset: UInt32 = 0
        /// Set when the commit word or a link is invalid (not for a head
        /// reclaimed in ring mode, which is the normal end of a ring chain).
        var damage: FormatError?
    }

    /// Reads the commit word of (slot, lane) with acquire ordering.
    func loadCommitWord(slot: Int, lane: Int) -> UInt64 {
        let p = region.pointer(superblock.laneWordOffset(slot: slot, lane: lane))
        return UInt64(littleEndian: UnsafeMutablePointer<UInt64Atomic>(OpaquePointer(p)).pointee.load(ordering: .acquiring))
    }

    /// Walks back from the commit word through `previous` links, checking
    /// each header's owner and sequence. Never reads out of bounds: every
    /// index and offset is checked against the superblock first.
    /// O(segments in the chain).
    func walkChain(slot: Int, lane: Int, uid: UInt64, ring: Bool) -> ChainWalk {
        var walk = ChainWalk()
        guard let word = CommitWord(rawValue: loadCommitWord(slot: slot, lane: lane)) else { return walk }
        let where_ = Structure.laneWord(slot: slot, lane: lane)
        guard word.segment < superblock.segmentCount else {
            walk.damage = .invalidField(where_, field: "segment", value: word.segment)
            return walk
        }
        guard word.offset >= UInt32(Layout.segmentHeaderSize), UInt64(word.offset) <= superblock.segmentSize,
              word.offset % UInt32(Layout.recordAlignment) == 0
        else {
            walk.damage = .invalidField(where_, field: "offset", value: UInt64(word.offset))
            return walk
        }
        var reversed: [UInt64] = []
        var index = word.segment
        var expectedSequence: UInt64? = nil
        while true {
            let header: SegmentHeader
            do throws(FormatError) {
                header = try readSegmentHeader(index).header
            } catch {
                if expectedSequence == nil || !ring { walk.damage = error }
                break
            }
            guard header.volumeUID == uid, header.lane == UInt32(lane),
                  expectedSequence == nil || header.sequence == expectedSequence!
            else {
                if expectedSequence == nil || !ring {
                    walk.damage = .invalidField(.segmentHeader(segment: index), field: "owner or sequence", value: header.sequence)
                }
                break
            }
            reversed.append(index)
            guard header.previous != Layout.noSegment, header.sequence > 0 else { break }
            // Sequences strictly decrease along the walk, so no segment repeats
            // and the chain cannot outgrow the region; the count check is a backstop.
            guard header.previous < superblock.segmentCount, UInt64(reversed.count) <= superblock.segmentCount else {
                walk.damage = .invalidField(.segmentHeader(segment: index), field: "previous", value: header.previous)
                break
            }
            expectedSequence = header.sequence - 1
            index = header.previous
        }
        walk.segments = reversed.reversed()
        walk.tailOffset = walk.segments.isEmpty ? 0 : word.offset
        return walk
    }

    /// Decodes the header of segment `index` (< segmentCount, checked by caller).
    func readSegmentHeader(_ index: UInt64) throws(FormatError) -> (header: SegmentHeader, crc: UInt32) {
        let bytes = region.bytes(superblock.segmentOffset(index), Layout.segmentHeaderSize)!
        return try SegmentHeader.decode(bytes, expectedIndex: index)
    }

    func segmentPointer(_ index: UInt64) -> UnsafeMutableRawPointer {
        region.pointer(superblock.segmentOffset(index))
    }

    // MARK: Space

    /// Free segments and total segments, right now.
    public var space: (free: UInt64, total: UInt64) {
        lock.withLock { (allocator.freeCount, superblock.segmentCount) }
    }
}

/// `Synchronization.Atomic<UInt64>` has the layout of a `UInt64`: commit words
/// on media are accessed through it so loads and stores are single atomic
/// 8-byte operations.
typealias UInt64Atomic = Atomic<UInt64>

import Synchronization
