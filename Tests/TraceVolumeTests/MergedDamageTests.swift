import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Adversary s23 (A10): a merged read of several lanes stopped at the first
/// damaged record of any lane, so the other lanes' intact records after that
/// moment were never handed out (`read` wrote less than every intact record).
/// Damage now ends only its own lane: the others are read to their tails,
/// then the damage is thrown.
@Suite struct MergedDamageTests {
    /// Two lanes of ten 100-byte records each (record i of lane l holds
    /// `payload(l * 100 + i, 100)`), interleaved in time: lane 0 at odd
    /// timestamps, lane 1 at even ones.
    static func twoLanes() throws -> MemoryPool {
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "v", lanes: 2)
        for lane in 0..<2 {
            let w = try pool.store.openWriter(volume: "v", lane: lane)
            for i in 0..<10 { try w.append(bytes: Array(payload(lane * 100 + i, 100)), timestamp: UInt64(2 * i + 1 - lane)) }
            w.close()
        }
        return pool
    }

    /// `twoLanes()` with lane 0's record 3 given one flipped payload byte
    /// (its checksum no longer matches).
    static func damaged() throws -> MemoryPool {
        let pool = try twoLanes()
        let records = try pool.store.openLaneReader(volume: "v", lane: 0).allRecords()
        let r3 = records[3]
        let at = pool.memory.base + Int(pool.store.superblock.segmentOffset(r3.segment)) + r3.offset + Layout.recordHeaderSize + 10
        at.storeBytes(of: at.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
        return try MemoryPool.mount(memory: pool.snapshot(), writable: false)
    }

    @Test func damageEndsOnlyItsLaneAndIsThrownAfterTheOthers() throws {
        let pool = try Self.damaged()
        let reader = try pool.store.openReader(volume: "v")
        var got: [(lane: Int, sequence: UInt64, bytes: [UInt8])] = []
        #expect { while let r = try reader.next() { got.append((r.lane, r.sequence, r.bytes)) } } throws: { e in
            guard case TraceError.laneDamaged(_, 0, _) = e else { return false }
            return true
        }
        // Lane 0's records before the damage, and every record of lane 1, in timestamp order.
        #expect(got.filter { $0.lane == 0 }.map(\.sequence) == [0, 1, 2])
        #expect(got.filter { $0.lane == 1 }.map(\.sequence) == Array(0..<10))
        #expect(got.allSatisfy { $0.bytes == Array(payload($0.lane * 100 + Int($0.sequence), 100)) })
        #expect(got.count == 13)
        // The damage stays: a later call throws it again.
        #expect(throws: TraceError.self) { _ = try reader.next() }
        // A seek starts over with both lanes.
        try reader.seek(timestamp: 0)
        let first = try #require(try reader.next())
        #expect(first.lane == 1 && first.sequence == 0)
    }
    /// Adversary s24b: damage where a lane's chain starts (its commit word)
    /// threw when the merged reader was opened, so `read` and `dump` wrote
    /// nothing of the volume's intact other lanes.
    @Test func aLaneDamagedAtItsCommitWordEndsOnlyItself() throws {
        let pool = try Self.twoLanes()
        let sb = pool.store.superblock
        let slot = try pool.store.volume(named: "v").slot
        // Lane 1's commit word names a segment past the region's end.
        pool.memory.base.storeBytes(of: UInt64.max, toByteOffset: Int(sb.laneWordOffset(slot: slot, lane: 1)), as: UInt64.self)
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        // The lane alone: nothing, then the damage.
        #expect(throws: TraceError.self) { _ = try image.store.openLaneReader(volume: "v", lane: 1).next() }
        let reader = try image.store.openReader(volume: "v")
        var got: [(lane: Int, sequence: UInt64)] = []
        #expect { while let r = try reader.next() { got.append((r.lane, r.sequence)) } } throws: { e in
            guard case TraceError.laneDamaged(_, 1, _) = e else { return false }
            return true
        }
        #expect(got.map(\.lane) == Array(repeating: 0, count: 10) && got.map(\.sequence) == Array(0..<10))
    }
}
