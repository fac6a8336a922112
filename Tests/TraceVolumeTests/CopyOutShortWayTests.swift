import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// `read(into:)`'s short way (`LaneReader.copyWholeRecordInSegment`): whole
/// records in the current segment are copied without the general fragment
/// path, which must leave the reader where that path would — here, the last
/// sequence and time a salvage read checks the records past the commit point
/// against (FORMAT.md §10.4). The other cases (fragments, groups, damage,
/// torn commits, rings, a concurrent writer) are covered by CopyOutReadTests,
/// TornCommitCopyOutTests, BatchReadTests and OrphanFragmentTests, whose
/// records after the first of each segment now take the short way.
@Suite struct CopyOutShortWayTests {
    /// Every record `read(into:)` returns until nil: (sequence, salvaged), its bytes checked against `sizes`.
    static func copyAll(_ reader: LaneReader, sizes: [Int]) throws -> [(UInt64, Bool)] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        var out: [(UInt64, Bool)] = []
        while let r = try reader.read(into: buffer) {
            let i = Int(r.header.sequence)
            #expect(Array(buffer[0..<r.length]) == Array(payload(i, sizes[i])))
            out.append((r.header.sequence, r.salvaged))
        }
        return out
    }

    /// Plain records 0…4 committed, 5…9 written after the commit point in the
    /// same segment (timestamps `stamps`), the pool taken as a crash left it.
    static func crashed(stamps: [UInt64]) throws -> MemoryPool {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        for i in 0..<5 { try w.append(bytes: Array(payload(i, 100)), timestamp: stamps[i]) }
        w.commit()
        for i in 5..<10 { try w.append(bytes: Array(payload(i, 100)), timestamp: stamps[i]) }
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        w.close()
        return crashed
    }

    /// The salvage read goes on past the commit point with sequence 5: the
    /// records before it, copied the short way, moved its last sequence on.
    @Test func aSalvageReadContinuesAfterRecordsCopiedTheShortWay() throws {
        let pool = try Self.crashed(stamps: Array(0..<10).map { UInt64($0) })
        let options = ReadOptions(salvage: true)
        let viaNext = try pool.store.openLaneReader(volume: "s", lane: 0, options: options).allRecords()
        #expect(viaNext.map(\.sequence) == Array(0..<10).map(UInt64.init))
        let copied = try Self.copyAll(pool.store.openLaneReader(volume: "s", lane: 0, options: options), sizes: Array(repeating: 100, count: 10))
        #expect(copied.map(\.0) == viaNext.map(\.sequence))
        #expect(copied.map(\.1) == viaNext.map(\.salvaged))
        #expect(copied.allSatisfy { $0.1 == ($0.0 >= 5) })
    }

    /// Record 5, past the commit point, is older than record 4 (copied the
    /// short way) but newer than record 0: a salvage read stops before it, as
    /// `next()` does — it checks it against record 4's time, not an older one.
    @Test func aSalvageReadChecksTimeAgainstTheLastRecordCopiedTheShortWay() throws {
        let pool = try Self.crashed(stamps: [10, 100, 100, 100, 100, 50, 200, 200, 200, 200])
        let options = ReadOptions(salvage: true)
        let viaNext = try pool.store.openLaneReader(volume: "s", lane: 0, options: options).allRecords()
        #expect(viaNext.map(\.sequence) == Array(0..<5).map(UInt64.init))
        let copied = try Self.copyAll(pool.store.openLaneReader(volume: "s", lane: 0, options: options), sizes: Array(repeating: 100, count: 10))
        #expect(copied.map(\.0) == viaNext.map(\.sequence))
    }
}
