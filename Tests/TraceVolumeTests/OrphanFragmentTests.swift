import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Adversary s23 (A5): a CRC-valid record re-flagged as a continuation in the
/// middle of a lane that is not a ring vanished: `read` and `--skip-damaged`
/// said nothing. No writer leaves a continuation with no record start before
/// it there (FORMAT.md §7: orphans occur at a ring's head or where a read or
/// seek begins), so it is now damage: thrown, or reported when skipping.
@Suite struct OrphanFragmentTests {
    /// Gives the record header at `header`, in the segment at `segmentBase`,
    /// a valid checksum again over `count` payload bytes (a CRC-valid forgery).
    static func reseal(_ header: UnsafeMutableRawPointer, segmentBase: UnsafeRawPointer, count: Int) {
        let seed: UInt32 = segmentBase.loadLE(60)
        header.storeLE(RecordHeader.checksum(seed: seed, header: header, payload: header + 32, count: count, crc: CRC32C.software), at: 28)
    }

    /// Ten 100-byte records; record 5 re-flagged as a continuation, its
    /// checksum re-sealed so that only the flags are wrong.
    static func forged(flags: RecordHeader.Flags = .continuation) throws -> MemoryPool {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<10 { try w.append(bytes: Array(payload(i, 100)), timestamp: UInt64(i + 1)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "v", lane: 0).allRecords()
        let segmentBase = pool.memory.base + Int(pool.store.superblock.segmentOffset(records[5].segment))
        let header = segmentBase + records[5].offset  // a plain record's offset is its header's
        header.storeLE(flags.rawValue, at: 6)
        Self.reseal(header, segmentBase: segmentBase, count: 100)
        return try MemoryPool.mount(memory: pool.snapshot(), writable: false)
    }

    @Test func aStrictReadStopsThereNamingIt() throws {
        let pool = try Self.forged()
        Self.expectStrictReadsStopAtRecord5(pool, naming: "its record's start is lost")
    }

    /// `next()` and the one-pass copy-out both hand out records 0 … 4, then
    /// throw lane damage whose text contains `naming`.
    static func expectStrictReadsStopAtRecord5(_ pool: MemoryPool, naming: String) {
        var sequences: [UInt64] = []
        #expect {
            let reader = try pool.store.openLaneReader(volume: "v", lane: 0)
            while let r = try reader.next() { sequences.append(r.sequence) }
        } throws: { e in
            guard case TraceError.laneDamaged(_, 0, let inner) = e else { return false }
            return "\(inner)".contains(naming)
        }
        #expect(sequences == [0, 1, 2, 3, 4])
        var buffer = [UInt8](repeating: 0, count: 256)
        var copied = 0
        #expect(throws: TraceError.self) {
            let copier = try pool.store.openLaneReader(volume: "v", lane: 0)
            try buffer.withUnsafeMutableBytes { b in while try copier.read(into: b) != nil { copied += 1 } }
        }
        #expect(copied == 5)
    }

    @Test func skippingReportsItAndReturnsTheRest() throws {
        let pool = try Self.forged()
        let reader = try pool.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(skipDamaged: true))
        let sequences = try reader.allRecords().map(\.sequence)
        #expect(sequences == [0, 1, 2, 3, 4, 6, 7, 8, 9])
        #expect(reader.skipped.count == 1 && "\(reader.skipped)".contains("sequence 5"), "\(reader.skipped)")
    }

    /// 30,000-byte records in 64 KiB segments are split over two segments;
    /// 200,000-byte records over four, three of which the record opened (their
    /// first timestamp is the record's: adversary s23b B2, a seek to exactly
    /// such a record's timestamp started inside it and lost it).
    @Test(arguments: [30_000, 200_000])
    func aSeekIntoTheLaneStillStartsCleanly(size: Int) throws {
        let pool = try memoryPool(size: 32 << 20, commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<12 { try w.append(bytes: Array(payload(i, size)), timestamp: UInt64(i + 1)) }
        w.close()
        for t in UInt64(1)...12 {
            let reader = try pool.store.openLaneReader(volume: "v", lane: 0)
            try reader.seek(timestamp: t)
            let got = try reader.allRecords()
            #expect(got.map(\.sequence) == Array((t - 1)..<12) && reader.skipped.isEmpty, "seek \(t)")
        }
    }

    /// fsck follows fragments across the lane's segments too: it said "clean".
    @Test func theCheckNamesIt() throws {
        let report = try Self.forged().store.check()
        let orphans = report.findings.filter { $0.message.contains("continues record sequence 5") }
        #expect(orphans.count == 1 && orphans[0].severity == .error && !report.clean, "\(report.findings)")
    }

    /// Adversary s23b (B5): past the commit point an orphan is what a crash
    /// may leave; a salvage read skips it (it threw, and the merged read lost
    /// other lanes' committed records behind the throw).
    @Test func aSalvageReadSkipsAnOrphanPastTheCommitPoint() throws {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<10 { try w.append(bytes: Array(payload(i, 100)), timestamp: UInt64(i + 1)) }
        w.commit()
        try w.append(bytes: Array(payload(10, 100)), timestamp: 11)
        let image = pool.snapshot()
        w.close()
        let committed = try MemoryPool.mount(memory: image, writable: false).store.openLaneReader(volume: "v", lane: 0).allRecords()
        try #require(committed.count == 10)
        // The uncommitted record becomes a continuation of record 9 (re-sealed).
        let last = committed[9]
        let segmentBase = image.base + Int(pool.store.superblock.segmentOffset(last.segment))
        let header = segmentBase + last.offset + (Layout.recordHeaderSize + 100 + 7) / 8 * 8
        header.storeLE(RecordHeader.Flags.continuation.rawValue, at: 6)
        header.storeLE(UInt64(9), at: 8)
        Self.reseal(header, segmentBase: segmentBase, count: 100)
        let crashed = try MemoryPool.mount(memory: image, writable: false)
        let reader = try crashed.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(salvage: true))
        #expect(try reader.allRecords().map(\.sequence) == Array(0..<10))
    }
    /// Adversary s23b (B8): record 5 re-flagged `hasMore` (a record start
    /// whose end never comes) mid-segment. A crash or failed append leaves
    /// such a start only as the last fragment of its segment (FORMAT.md §7),
    /// so here its end is lost to damage: `read` reported it, but `dump`, the
    /// C reader (strict readers) and fsck dropped record 5 in silence.
    @Test func aRecordStartWhoseEndNeverComesMidSegmentIsDamage() throws {
        let pool = try Self.forged(flags: .hasMore)
        Self.expectStrictReadsStopAtRecord5(pool, naming: "does not end its segment")
        let skipping = try pool.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(skipDamaged: true))
        #expect(try skipping.allRecords().map(\.sequence) == [0, 1, 2, 3, 4, 6, 7, 8, 9])
        #expect(skipping.skipped.count == 1 && "\(skipping.skipped)".contains("sequence 5"), "\(skipping.skipped)")
        let report = try pool.store.check()
        let lost = report.findings.filter { $0.message.contains("(sequence 5) says more fragments follow") }
        #expect(lost.count == 1 && lost[0].severity == .error && !report.clean, "\(report.findings)")
    }

    /// What a crash or failed append does leave — a record's first fragment
    /// ending its segment, the next record opening the next segment — stays
    /// silent for every reader and for fsck.
    @Test func anAbandonedRecordAtASegmentsEndIsNotDamage() throws {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<3 { try w.append(bytes: Array(payload(i, 30_000)), timestamp: UInt64(i + 1)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "v", lane: 0).allRecords()
        // Record 2 is split over two segments: its last fragment, which opens the
        // second one, becomes a record start of its own (sequence 3).
        try #require(records.count == 3 && records[2].moreFragments.count == 1)
        let last = records[2].moreFragments[0]
        let header = UnsafeMutableRawPointer(mutating: last.baseAddress! - Layout.recordHeaderSize)
        let segmentBase = header - 64
        let sb = pool.store.superblock
        try #require((segmentBase - pool.memory.base - Int(sb.segmentAreaOffset)) % Int(sb.segmentSize) == 0)
        header.storeLE(RecordHeader.Flags().rawValue, at: 6)
        header.storeLE(UInt64(3), at: 8)
        Self.reseal(header, segmentBase: segmentBase, count: last.count)
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let back = try image.store.openLaneReader(volume: "v", lane: 0)
        #expect(try back.allRecords().map(\.sequence) == [0, 1, 3] && back.skipped.isEmpty, "\(back.skipped)")
        let report = try image.store.check()
        #expect(report.clean, "\(report.findings)")
    }
    /// A record's first fragment ends its segment, but the next segment opens
    /// with an end-of-segment record (CRC-valid), so the next record start lies
    /// two segments on: the record's end is lost to damage, not to a crash.
    @Test func aRecordStartFollowedByARecordTwoSegmentsOnIsDamage() throws {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<8 { try w.append(bytes: Array(payload(i, 30_000)), timestamp: UInt64(i + 1)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "v", lane: 0).allRecords()
        try #require(records[2].moreFragments.count == 1)
        let last = records[2].moreFragments[0]
        let header = UnsafeMutableRawPointer(mutating: last.baseAddress! - Layout.recordHeaderSize)
        let segmentBase = header - 64
        header.storeLE(RecordKind.endOfSegment.rawValue, at: 4)
        header.storeLE(UInt16(0), at: 6)
        Self.reseal(header, segmentBase: segmentBase, count: last.count)
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let strict = try image.store.openLaneReader(volume: "v", lane: 0)
        var got: [UInt64] = []
        #expect { while let r = try strict.next() { got.append(r.sequence) } } throws: { e in
            "\(e)".contains("the later ones are missing")
        }
        #expect(got == [0, 1])
        let report = try image.store.check()
        #expect(report.findings.contains { $0.severity == .error && $0.message.contains("record sequence 2 has no end") }, "\(report.findings)")
    }
}
