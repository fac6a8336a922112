import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// A merged read holds each lane's next record between calls, for as long as
/// the caller takes (a slow pipe). Adversary s24 (F5, left by its fix): a ring
/// writer that reclaimed the held record's segment meanwhile made the reader
/// hand out the segment's next life as that record. Now the held record's
/// segments are checked before it is handed out.
@Suite struct HeldRecordReclaimTests {
    /// Lane 0: one record at time 1. Lane 1: record 0 (4,000 bytes of key 0)
    /// at time 5, held by the reader while lane 0's record is handed out;
    /// then lane 1 writes on until the ring reclaimed record 0's segment.
    static func heldAndReclaimed(options: ReadOptions) throws -> (reader: VolumeReader, lane1: [UInt64: [UInt8]]) {
        let pool = try memoryPool(size: 2 << 20, commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "r", lanes: 2, ring: true)
        let w0 = try pool.store.openWriter(volume: "r", lane: 0)
        try w0.append(bytes: Array(payload(1000, 100)), timestamp: 1)
        w0.commit()
        let w1 = try pool.store.openWriter(volume: "r", lane: 1)
        var written: [UInt64: [UInt8]] = [0: Array(payload(0, 4000))]
        try w1.append(bytes: written[0]!, timestamp: 5)
        w1.commit()
        let reader = try pool.store.openReader(volume: "r", options: options)
        let first = try #require(try reader.next())
        #expect(first.lane == 0 && first.timestamp == 1)
        // 4 MiB through a 2 MiB region: lane 1's chain wraps, its first segment is reclaimed.
        for i in 1..<1000 {
            written[UInt64(i)] = Array(payload(i, 4000))
            try w1.append(bytes: written[UInt64(i)]!, timestamp: UInt64(5 + i))
            w1.commit()
        }
        let now = try pool.store.openLaneReader(volume: "r", lane: 1).next()
        #expect(now.map { $0.sequence > 0 } == true, "lane 1's record 0 must be gone from the ring")
        return (reader, written)
    }

    @Test func aHeldRecordWhoseSegmentWasReclaimedIsNotHandedOut() throws {
        let (reader, _) = try Self.heldAndReclaimed(options: ReadOptions())
        #expect { _ = try reader.next() } throws: { e in
            guard case TraceError.overwrittenWhileReading(_, 1) = e else { return false }
            return true
        }
    }

    @Test func followingGapsItGoesOnWithTheRingsRecords() throws {
        let (reader, written) = try Self.heldAndReclaimed(options: ReadOptions(skipReclaimed: true))
        var got = 0
        while let r = try reader.next() {
            #expect(r.lane == 1 && r.bytes == written[r.sequence], "lane \(r.lane) sequence \(r.sequence)")
            got += 1
        }
        #expect(got > 0 && got < 1000)
    }
}
