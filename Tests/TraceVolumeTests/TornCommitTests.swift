import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The one-fence commit's torn-commit window (FORMAT.md §10.3): when the last
/// commit was a one-fence commit of one record, that record failing its
/// checks ends the lane (a crash cut the commit); any other is damage.
@Suite struct TornCommitTests {
    /// 40 records of 200 bytes, a commit after each; returns the pool and each record's (segment, offset).
    static func lane() throws -> (MemoryPool, [(UInt64, Int)]) {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "t")
        let w = try pool.store.openWriter(volume: "t")
        for i in 0..<40 {
            try w.append(bytes: Array(payload(i, 200)), timestamp: UInt64(i))
            w.commit()
        }
        w.close()
        let places = try pool.store.openLaneReader(volume: "t", lane: 0).allRecords().map { ($0.segment, $0.offset) }
        return (pool, places)
    }

    static func damage(_ pool: MemoryPool, _ place: (UInt64, Int)) throws -> MemoryPool {
        let image = pool.snapshot()
        let at = Int(pool.store.superblock.segmentOffset(place.0)) + place.1 + 32 + 10
        image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ 0x5A, toByteOffset: at, as: UInt8.self)
        return try MemoryPool.mount(memory: image, writable: true)
    }

    @Test func aTornLastCommitEndsTheLaneQuietly() throws {
        let (pool, places) = try Self.lane()
        #expect(places.count == 40)
        let torn = try Self.damage(pool, places[39])  // the last commit's one record
        let got = try torn.store.openLaneReader(volume: "t", lane: 0).allRecords().map(\.sequence)
        #expect(got == Array(0..<39).map(UInt64.init))
        let report = try torn.store.check()
        #expect(report.findings.allSatisfy { $0.severity == .info }, "\(report.findings)")
        #expect(report.findings.contains { $0.message.contains("last commit was cut") })
        // A writer reopening the lane continues where the torn commit's records end.
        let w = try torn.store.openWriter(volume: "t")
        #expect(w.nextSequence == 39)
        try w.append(bytes: Array(payload(99, 200)), timestamp: 99)
        w.close()
        let after = try torn.store.openLaneReader(volume: "t", lane: 0).allRecords()
        #expect(after.map(\.sequence) == Array(0..<40).map(UInt64.init))
        #expect(after.last?.bytes == Array(payload(99, 200)))
        #expect(try torn.store.check().findings.allSatisfy { $0.severity == .info })
    }

    @Test func damageBeforeTheWindowIsStillDamage() throws {
        let (pool, places) = try Self.lane()
        // The record before the last commit: outside the window (one record wide).
        let damaged = try Self.damage(pool, places[38])
        #expect(throws: TraceError.self) { _ = try damaged.store.openLaneReader(volume: "t", lane: 0).allRecords() }
        #expect(try damaged.store.check().findings.contains { $0.severity == .error })
    }

    @Test func olderRegionsHaveNoWindow() throws {
        let (pool, places) = try Self.lane()
        let image = pool.snapshot()
        var sb = pool.store.superblock
        sb.versionMinor = 2
        sb.encode(into: image.base)
        sb.encode(into: image.base + 4096)
        let at = Int(sb.segmentOffset(places[39].0)) + places[39].1 + 42
        image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ 0x5A, toByteOffset: at, as: UInt8.self)
        let old = try MemoryPool.mount(memory: image, writable: false)
        #expect(throws: TraceError.self) { _ = try old.store.openLaneReader(volume: "t", lane: 0).allRecords() }
    }

    /// The window word of lane 0 of slot 0 in `image`.
    static func windowWordOffset(_ pool: MemoryPool) -> Int {
        Int(pool.store.superblock.laneWordOffset(slot: 0, lane: 0)) + Layout.commitWindowWordOffset
    }

    /// Adversary finding F1: one flipped bit in the window word that moved its
    /// start back over older committed records, plus damage to one of them,
    /// read as a torn commit (fsck clean, 13 records silently dropped). Since
    /// 1.4 the word carries a check: a changed word names no window, and the
    /// damage is damage again, whichever bit flipped.
    @Test func aFlippedWindowWordNamesNoWindow() throws {
        let (pool, places) = try Self.lane()
        #expect(pool.store.superblock.versionMinor >= 4)
        // Every single-bit flip, and the start moved back to the damaged record with the check kept.
        let changes: [(String, (UInt64) -> UInt64)] = (0..<64).map { bit in ("\(bit)", { $0 ^ (1 << UInt64(bit)) }) }
            + [("start moved back", { $0 & ~0xFF_FFFF | UInt64(places[36].1) })]
        for (bit, change) in changes {
            let damaged = try Self.damage(pool, places[36])
            let image = damaged.snapshot()
            let at = Self.windowWordOffset(pool)
            let word = image.base.load(fromByteOffset: at, as: UInt64.self)
            image.base.storeBytes(of: change(word), toByteOffset: at, as: UInt64.self)
            let flipped = try MemoryPool.mount(memory: image, writable: true)
            #expect(throws: TraceError.self, "\(bit)") { _ = try flipped.store.openLaneReader(volume: "t", lane: 0).allRecords() }
            #expect(try flipped.store.check().findings.contains { $0.severity == .error }, "\(bit)")
            #expect(throws: TraceError.self, "\(bit)") { _ = try flipped.store.openWriter(volume: "t") }
        }
    }

    /// A window word copied from another lane (or left by another segment)
    /// fails its check against this lane's tail: no window.
    @Test func aWindowWordOfAnotherLaneNamesNoWindow() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "t", lanes: 2)
        for lane in 0..<2 {
            let w = try pool.store.openWriter(volume: "t", lane: lane)
            for i in 0..<10 {
                try w.append(bytes: Array(payload(i + 100 * lane, 200)), timestamp: UInt64(i))
                w.commit()
            }
            w.close()
        }
        let last = try pool.store.openLaneReader(volume: "t", lane: 0).allRecords().last!
        let image = pool.snapshot()
        let lane0 = Self.windowWordOffset(pool)
        let lane1 = Int(pool.store.superblock.laneWordOffset(slot: 0, lane: 1)) + Layout.commitWindowWordOffset
        image.base.storeBytes(of: image.base.load(fromByteOffset: lane1, as: UInt64.self), toByteOffset: lane0, as: UInt64.self)
        let at = Int(pool.store.superblock.segmentOffset(last.segment)) + last.offset + 42
        image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ 0x5A, toByteOffset: at, as: UInt8.self)
        let copied = try MemoryPool.mount(memory: image, writable: false)
        #expect(throws: TraceError.self) { _ = try copied.store.openLaneReader(volume: "t", lane: 0).allRecords() }
        #expect(try copied.store.check().findings.contains { $0.severity == .error })
    }

    /// Regions formatted 1.3 keep the 1.3 word (the commit-word encoding of
    /// the window's start, unchecked): readers still honour a torn window a
    /// 1.3 writer left, and a 1.4 writer there commits with two fences and
    /// stores its commit word's value (no window) after every commit.
    @Test func version13RegionsKeepTheirWindowWord() throws {
        let blank = try memoryPool()
        let image = blank.snapshot()
        var sb = blank.store.superblock
        sb.versionMinor = 3
        sb.encode(into: image.base)
        sb.encode(into: image.base + 4096)
        let pool = try MemoryPool.mount(memory: image, writable: true)
        try pool.store.createVolume(named: "t")
        let w = try pool.store.openWriter(volume: "t")
        let at = Self.windowWordOffset(pool)
        let commitAt = Int(pool.store.superblock.laneWordOffset(slot: 0, lane: 0))
        for i in 0..<40 {
            try w.append(bytes: Array(payload(i, 200)), timestamp: UInt64(i))
            w.commit()
            let region = pool.snapshot()
            #expect(region.base.load(fromByteOffset: at, as: UInt64.self) == region.base.load(fromByteOffset: commitAt, as: UInt64.self))
        }
        w.close()
        let places = try pool.store.openLaneReader(volume: "t", lane: 0).allRecords().map { ($0.segment, $0.offset) }
        // What a 1.3 writer's one-fence commit of the last record leaves, then that record torn.
        let torn = try Self.damage(pool, places[39])
        let tornImage = torn.snapshot()
        tornImage.base.storeBytes(of: CommitWord(segment: places[39].0, offset: UInt32(places[39].1)).rawValue,
                                  toByteOffset: at, as: UInt64.self)
        let old = try MemoryPool.mount(memory: tornImage, writable: false)
        #expect(try old.store.openLaneReader(volume: "t", lane: 0).allRecords().count == 39)
        #expect(try old.store.check().findings.allSatisfy { $0.severity == .info })
    }

    /// Adversary findings (second round): one flipped bit of the commit word
    /// itself dropped committed records with fsck clean (a lowered offset), or
    /// moved the tail to the lane's own head and hid two segments. Since 1.4
    /// the window word keeps the offset the last commit stored, checked
    /// against the tail's header: every single-bit flip of the commit word
    /// either loses nothing or is reported as damage, and then
    /// `skipDamaged` still returns every record.
    @Test(arguments: [(40, 200), (100, 2000)])
    func aFlippedCommitWordNeverLosesRecordsQuietly(_ shape: (count: Int, size: Int)) throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "t")
        let w = try pool.store.openWriter(volume: "t")
        for i in 0..<shape.count {
            try w.append(bytes: Array(payload(i, shape.size)), timestamp: UInt64(i))
            w.commit()
        }
        w.close()
        let at = Int(pool.store.superblock.laneWordOffset(slot: 0, lane: 0))
        let all = (0..<shape.count).map { Array(payload($0, shape.size)) }
        for bit in 0..<64 {
            let image = pool.snapshot()
            let word = image.base.load(fromByteOffset: at, as: UInt64.self)
            image.base.storeBytes(of: word ^ (1 << UInt64(bit)), toByteOffset: at, as: UInt64.self)
            let flipped = try MemoryPool.mount(memory: image, writable: false)
            let read = try? flipped.store.openLaneReader(volume: "t", lane: 0).allRecords().map(\.bytes)
            if read == all { continue }  // nothing lost (a raised offset over zeros reads as a torn commit)
            #expect(read == nil, "bit \(bit): \(read?.count ?? -1) records read without an error")
            #expect(try flipped.store.check().findings.contains { $0.severity == .error }, "bit \(bit)")
            let lenient = try flipped.store.openLaneReader(volume: "t", lane: 0, options: ReadOptions(skipDamaged: true))
            var got: [[UInt8]] = []
            while let r = try lenient.next() { got.append(r.bytes) }
            #expect(got == all, "bit \(bit): skipDamaged returned \(got.count) of \(all.count)")
        }
    }

    /// Adversary finding (third round): a writer stopped right after the
    /// commit that opened a new segment leaves the commit word at offset 64
    /// beside that commit's segment-opening window word; one flipped segment
    /// bit then named an older segment of the lane, and reads silently lost
    /// the records committed after it. The opening word is now checked
    /// against the segment it names.
    @Test func aFlippedCommitWordAtASegmentStartIsDamage() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "t")
        let w = try pool.store.openWriter(volume: "t")
        for i in 0..<12 {
            try w.append(bytes: Array(payload(i, 30_000)), timestamp: UInt64(i))
            w.commit()
        }
        // Fill the tail so the next record opens a segment (committed at 64), then stop there.
        let reader = try pool.store.openLaneReader(volume: "t", lane: 0)
        let all = try reader.allRecords().map(\.bytes)
        try w.append(bytes: Array(payload(99, 60_000)), timestamp: 99)
        let image = pool.snapshot()  // the writer's process dies here
        let at = Int(pool.store.superblock.laneWordOffset(slot: 0, lane: 0))
        let word = CommitWord(rawValue: image.base.load(fromByteOffset: at, as: UInt64.self))!
        try #require(word.offset == 64 && word.segment >= 4)
        for bit in 24..<(24 + 3) {
            let flipped = InMemoryRegion(copying: UnsafeRawBufferPointer(start: image.base, count: Int(image.size)))
            flipped.base.storeBytes(of: word.rawValue ^ (1 << UInt64(bit)), toByteOffset: at, as: UInt64.self)
            let store = try MemoryPool.mount(memory: flipped, writable: true).store
            let read = try? store.openLaneReader(volume: "t", lane: 0).allRecords().map(\.bytes)
            if read == all { continue }
            #expect(read == nil, "bit \(bit): \(read?.count ?? -1) of \(all.count) records read without an error")
            #expect(throws: TraceError.self, "bit \(bit)") { _ = try store.openWriter(volume: "t") }
            let lenient = try store.openLaneReader(volume: "t", lane: 0, options: ReadOptions(skipDamaged: true))
            var got: [[UInt8]] = []
            while let r = try lenient.next() { got.append(r.bytes) }
            #expect(Array(got.prefix(all.count)) == all, "bit \(bit): skipDamaged returned \(got.count)")
        }
        w.close()
    }
}
