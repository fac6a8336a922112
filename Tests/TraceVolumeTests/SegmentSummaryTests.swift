import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The segment summary (FORMAT.md §6.1) and mount from it (§10.5): the same
/// chains as the walk over the headers, and a damaged, stale or missing
/// summary falls back to that walk (and says so) without losing a record.
@Suite struct SegmentSummaryTests {
    /// Three volumes (one ring), several lanes, many segments.
    static func sample() throws -> (MemoryPool, [[UInt8]]) {
        let pool = try memoryPool(size: 8 << 20)
        try pool.store.createVolume(named: "a", lanes: 3)
        try pool.store.createVolume(named: "r", lanes: 2, ring: true)
        try pool.store.createVolume(named: "b")
        var all: [[UInt8]] = []
        for (name, lanes) in [("a", 3), ("r", 2), ("b", 1)] {
            for lane in 0..<lanes {
                let w = try pool.store.openWriter(volume: name, lane: lane)
                for i in 0..<(6 + lane) {
                    let bytes = Array(payload(i + lane * 100, 30_000 + i * 999))
                    try w.append(bytes: bytes, timestamp: UInt64(i))
                    all.append(bytes)
                }
                w.close()
            }
        }
        return (pool, all)
    }

    static func contents(_ store: TraceStore) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for name in ["a", "r", "b"] { out += try readAll(try store.openReader(volume: name)).map(\.bytes) }
        return out.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func mountBoth(_ memory: InMemoryRegion) throws -> (fast: TraceStore, walked: TraceStore) {
        (try MemoryPool.mount(memory: memory, writable: false).store,
         try MemoryPool.mount(memory: memory, writable: false, options: .testing(usesSegmentSummary: false)).store)
    }

    static func entryOffset(_ store: TraceStore, _ segment: UInt64) -> Int { Int(store.superblock.summaryEntryOffset(segment)) }

    /// Rewrites segment `segment`'s summary entry in `image` as `change` says, with a valid checksum (a forgery).
    static func forge(_ image: InMemoryRegion, _ store: TraceStore, _ segment: UInt64, _ change: (inout SummaryEntry) -> Void) throws {
        let p = image.base + entryOffset(store, segment)
        var e = try SummaryEntry.decode(UnsafeRawBufferPointer(start: p, count: Layout.summaryEntrySize), index: segment)
        change(&e)
        e.encode(into: p, index: segment)
    }

    @Test func mountFromTheSummaryFindsWhatTheHeaderWalkFinds() throws {
        let (pool, all) = try Self.sample()
        #expect(pool.store.superblock.summaryOffset != 0 && pool.store.superblock.versionMinor >= 3)
        let (fast, walked) = try Self.mountBoth(pool.snapshot())
        #expect(fast.lanesMountedFromSummary == 6 && fast.mountNotes.isEmpty)
        #expect(walked.lanesMountedFromSummary == 0)
        #expect(fast.mountedSegments().chains == walked.mountedSegments().chains)
        #expect(fast.space.free == walked.space.free)
        #expect(try Self.contents(fast) == all.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try fast.check().findings.filter { $0.severity != .info }.isEmpty)
    }

    /// Every single bit of every used summary entry flipped: the mount falls
    /// back to the headers for that lane, names it, and loses nothing; fsck
    /// reports the entry and repair rewrites it from the header.
    @Test func damagedEntryFallsBackToTheHeaders() throws {
        let (pool, all) = try Self.sample()
        let expected = all.sorted { $0.lexicographicallyPrecedes($1) }
        let used = pool.store.mountedSegments().chains.flatMap { $0.flatMap { $0 } }
        for segment in used.prefix(6) {
            for bit in stride(from: 0, to: Layout.summaryEntrySize * 8, by: 13) {
                let image = pool.snapshot()
                let at = Self.entryOffset(pool.store, segment) + bit / 8
                image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ (1 << UInt8(bit % 8)), toByteOffset: at, as: UInt8.self)
                let (fast, walked) = try Self.mountBoth(image)
                #expect(fast.mountNotes.count == 1, "segment \(segment) bit \(bit)")
                #expect(fast.mountedSegments().chains == walked.mountedSegments().chains)
                #expect(fast.warnings.isEmpty)
                #expect(try Self.contents(fast) == expected)
                let writable = try MemoryPool.mount(memory: image, writable: true).store
                let report = try writable.check(repair: true)
                #expect(report.findings.contains { $0.location == "segment \(segment)" && $0.repaired })
                let again = try MemoryPool.mount(memory: image, writable: false).store
                #expect(again.mountNotes.isEmpty && again.lanesMountedFromSummary == 6)
            }
        }
    }

    /// A CRC-valid entry that names another owner or link than its header
    /// (stale, or written by a buggy tool): the walk over the summary
    /// disagrees with a header it checks, or cuts the chain; either way the
    /// lane is walked over its headers.
    @Test func staleEntriesFallBackToTheHeaders() throws {
        let (pool, all) = try Self.sample()
        let expected = all.sorted { $0.lexicographicallyPrecedes($1) }
        let chains = pool.store.mountedSegments().chains
        let changes: [(String, (inout SummaryEntry) -> Void)] = [
            ("previous", { $0.previous = $0.previous == Layout.noSegment ? 3 : $0.previous &+ 1 }),
            ("sequence", { $0.sequence &+= 1 }),
            ("lane", { $0.lane ^= 1 }),
            ("uid", { $0.volumeUID ^= 1 << 40 }),
        ]
        for (slot, lanes) in chains.enumerated() {
            for chain in lanes {
                for segment in [chain.first!, chain[chain.count / 2], chain.last!] {
                    for (what, change) in changes {
                        let image = pool.snapshot()
                        try Self.forge(image, pool.store, segment, change)
                        let (fast, walked) = try Self.mountBoth(image)
                        #expect(fast.mountedSegments().chains == walked.mountedSegments().chains, "slot \(slot) segment \(segment) \(what)")
                        #expect(fast.warnings.map(\.description) == walked.warnings.map(\.description))
                        #expect(try Self.contents(fast) == expected, "slot \(slot) segment \(segment) \(what)")
                        #expect(try fast.check().findings.contains { $0.location == "segment \(segment)" })
                    }
                }
            }
        }
    }

    /// Adversary finding F2: CRC-valid lying entries in the middle of one
    /// lane's chain route it through a segment of another volume. The first
    /// lane mounted claimed that segment, and the innocent owner was reported
    /// damaged (writes refused). Two chains claiming one segment now make the
    /// mount walk every lane over the headers: nobody is blamed, nothing is lost.
    @Test func forgedEntriesThatStealASegmentBlameNobody() throws {
        let (pool, all) = try Self.sample()
        let expected = all.sorted { $0.lexicographicallyPrecedes($1) }
        let chains = pool.store.mountedSegments().chains
        let a = chains[0][2], b = chains[2][0]  // volume a lane 2, volume b lane 0
        try #require(a.count >= 4 && b.count >= 3)
        let uidA = try pool.store.volume(named: "a").uid
        let image = pool.snapshot()
        // a[2] (mid-chain) now links to b[1], which claims to be a's lane 2, sequence 1, before a[0].
        try Self.forge(image, pool.store, a[2]) { $0.previous = b[1] }
        try Self.forge(image, pool.store, b[1]) { $0 = SummaryEntry(volumeUID: uidA, sequence: 1, previous: a[0], lane: 2) }
        let (fast, walked) = try Self.mountBoth(image)
        #expect(fast.warnings.isEmpty, "\(fast.warnings)")
        #expect(fast.mountNotes.contains { $0.contains("segment \(b[1]) is claimed by two lanes") }, "\(fast.mountNotes)")
        #expect(fast.mountedSegments().chains == walked.mountedSegments().chains)
        #expect(fast.space.free == walked.space.free)
        #expect(try Self.contents(fast) == expected)
        let writable = try MemoryPool.mount(memory: image, writable: true).store
        let w = try writable.openWriter(volume: "b")
        try w.append(bytes: [1, 2, 3], timestamp: 99)
        w.close()
        let report = try writable.check(repair: true)
        #expect(report.findings.contains { $0.location == "segment \(b[1])" && $0.repaired })
        let again = try MemoryPool.mount(memory: image, writable: false).store
        #expect(again.mountNotes.isEmpty && again.warnings.isEmpty)
        #expect(try readAll(try again.openReader(volume: "b")).last?.bytes == [1, 2, 3])
    }

    /// Adversary finding (second round): lying entries that route a lane's
    /// chain around one of its segments, plus damage to that segment's first
    /// record, made it look free (the keep-out test looked at the first record
    /// only), and a write to another volume overwrote its committed records.
    /// The keep-out test now looks for any valid record in the segment.
    @Test func aSegmentCutOutByLiesIsKeptWhenItsFirstRecordIsDamaged() throws {
        let (pool, _) = try Self.sample()
        let chains = pool.store.mountedSegments().chains
        let a = chains[0][2]  // volume a lane 2
        try #require(a.count >= 4)
        let used = Set(chains.flatMap { $0.flatMap { $0 } })
        let free = (0..<pool.store.superblock.segmentCount).last { !used.contains($0) }!
        let uidA = try pool.store.volume(named: "a").uid
        let image = pool.snapshot()
        try Self.forge(image, pool.store, a[2]) { $0.previous = free }
        SummaryEntry(volumeUID: uidA, sequence: 1, previous: a[0], lane: 2).encode(into: image.base + Self.entryOffset(pool.store, free), index: free)
        let hit = Int(pool.store.superblock.segmentOffset(a[1])) + 64 + 40
        image.base.storeBytes(of: image.base.load(fromByteOffset: hit, as: UInt8.self) ^ 1, toByteOffset: hit, as: UInt8.self)
        func lane2(_ store: TraceStore) throws -> [UInt64] {
            let r = try store.openLaneReader(volume: "a", lane: 2, options: ReadOptions(skipDamaged: true))
            var got: [UInt64] = []
            while let v = try r.next() { got.append(v.sequence) }
            return got
        }
        let store = try MemoryPool.mount(memory: image, writable: true).store
        let before = try lane2(store)
        try store.createVolume(named: "filler")
        let w = try store.openWriter(volume: "filler")
        var full = false
        while !full {
            do { try w.append(bytes: Array(payload(1, 20_000))) } catch { full = true }
        }
        w.close()
        #expect(try lane2(store) == before)
        #expect(store.warnings.contains(.segmentReserved(segment: a[1], volume: "a")), "\(store.warnings)")
    }

    /// A region formatted before 1.3 (no summary, uids from 1, copies that do
    /// not name themselves) mounts by the walk, takes appends without writing
    /// a summary, and checks clean.
    @Test func regionsFormattedBefore13MountByTheWalk() throws {
        let pool = try memoryPool(size: 4 << 20)
        var sb = pool.store.superblock
        sb.versionMinor = 2
        sb.summaryOffset = 0
        sb.uidBase = 0
        for copy in 0..<2 { sb.encode(into: pool.memory.base + copy * 4096, copy: copy) }
        let summary = Array(UnsafeRawBufferPointer(start: pool.memory.base + Int(pool.store.superblock.summaryOffset), count: 4096))
        let old = try MemoryPool.mount(memory: pool.memory, writable: true)
        #expect(old.store.superblock.summaryOffset == 0 && old.store.superblock.versionMinor == 2)
        try old.store.createVolume(named: "v", lanes: 2)
        #expect(try old.store.volume(named: "v").uid == 1 << 32 | 1)  // FORMAT.md §4 before 1.3
        for lane in 0..<2 {
            let w = try old.store.openWriter(volume: "v", lane: lane)
            for i in 0..<5 { try w.append(bytes: Array(payload(i, 40_000))) }
            w.close()
        }
        #expect(Array(UnsafeRawBufferPointer(start: pool.memory.base + Int(pool.store.superblock.summaryOffset), count: 4096)) == summary)
        let again = try MemoryPool.mount(memory: pool.memory, writable: false)
        #expect(again.store.lanesMountedFromSummary == 0 && again.store.mountNotes.isEmpty)
        #expect(try readAll(try again.store.openReader(volume: "v")).count == 10)
        #expect(try again.store.check().findings.filter { $0.severity != .info }.isEmpty)
    }

    /// Formatting over a region (in place) leaves its segment headers and
    /// summary entries; none of them names a volume of the new format.
    @Test func reformatInPlaceLeavesNothingThatNamesTheNewVolumes() throws {
        let pool = try memoryPool(size: 4 << 20)
        for round in 0..<3 {
            try TraceStore.format(region: try PersistentRegion(pool.memory.regionDescriptor()), parameters: smallParameters())
            let store = try MemoryPool.mount(memory: pool.memory, writable: true).store
            try store.createVolume(named: "v", lanes: 2)
            for lane in 0..<2 {
                let w = try store.openWriter(volume: "v", lane: lane)
                for i in 0..<(8 + round) { try w.append(bytes: Array(payload(i, 50_000))) }
                w.close()
            }
            #expect(store.warnings.isEmpty, "round \(round): \(store.warnings)")
            let report = try store.check()
            #expect(report.findings.filter { $0.severity != .info }.isEmpty, "round \(round): \(report.findings)")
            #expect(try readAll(try store.openReader(volume: "v")).count == 2 * (8 + round))
        }
    }
}

