import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

@Suite struct CheckAndSalvageTests {
    @Test func cleanRegionChecksClean() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "a", lanes: 2)
        for lane in 0..<2 {
            let w = try pool.store.openWriter(volume: "a", lane: lane)
            for i in 0..<500 { try w.append(bytes: Array(payload(i, 300 + lane))) }
            w.close()
        }
        let r = try pool.store.check()
        #expect(r.clean && r.recordsChecked == 1000 && r.lanes == 2 && r.findings.isEmpty, "\(r.findings)")
    }

    @Test func salvageReturnsUncommittedRecordsMarked() throws {
        // Plain records: staged small records (record groups) are not in the mapping before their group is written.
        let pool = try memoryPool(commitInterval: 0, grouping: false)
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        for i in 0..<20 { try w.append(bytes: Array(payload(i, 100)), timestamp: UInt64(i)) }
        w.commit()
        for i in 20..<30 { try w.append(bytes: Array(payload(i, 100)), timestamp: UInt64(i)) }
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        w.close()
        #expect(try readAll(try crashed.store.openReader(volume: "s")).count == 20)
        let reader = try crashed.store.openReader(volume: "s", salvage: true)
        var got: [(UInt64, Bool, [UInt8])] = []
        while let r = try reader.next() { got.append((r.sequence, r.salvaged, Array(r.payload))) }
        #expect(got.map(\.0) == Array(0..<30))
        #expect(got.allSatisfy { $0.1 == ($0.0 >= 20) })
        #expect(got.allSatisfy { $0.2 == Array(payload(Int($0.0), 100)) })
        let report = try crashed.store.check()
        #expect(report.clean && report.salvageableRecords == 10)
    }

    @Test func damagedCommittedRecordIsNamed() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "d")
        let w = try pool.store.openWriter(volume: "d")
        for i in 0..<10 { try w.append(bytes: Array(payload(i, 200))) }
        w.close()
        let image = pool.snapshot()
        let segment = pool.store.superblock.segmentAreaOffset  // the volume's first segment is segment 0
        let recordOffset = 64 + 3 * Layout.recordFootprint(payloadLength: 200) + 40
        image.base.storeBytes(of: image.base.load(fromByteOffset: Int(segment) + recordOffset, as: UInt8.self) ^ 0xFF,
                              toByteOffset: Int(segment) + recordOffset, as: UInt8.self)
        let damaged = try MemoryPool.mount(memory: image, writable: false)
        let reader = try damaged.store.openReader(volume: "d")
        var read = 0
        #expect {
            while try reader.next() != nil { read += 1 }
        } throws: { e in
            guard case TraceError.laneDamaged(volume: "d", lane: 0, .checksumMismatch(.record(segment: 0, offset: UInt64(64 + 3 * 232)), _, _)) = e else { return false }
            return true
        }
        #expect(read == 3)
        let r = try damaged.store.check()
        #expect(!r.clean && r.findings.contains { $0.severity == .error && $0.message.contains("committed record damaged") })
    }

    @Test func repairFixesCopiesAndLeavesSegmentsAlone() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "r")
        let w = try pool.store.openWriter(volume: "r")
        for i in 0..<100 { try w.append(bytes: Array(payload(i, 500))) }
        w.close()
        try pool.store.renameVolume("r", to: "r2")  // both entry copies now valid
        let image = pool.snapshot()
        let sb = pool.store.superblock
        image.base.storeBytes(of: 0xEE, toByteOffset: 4096 + 30, as: UInt8.self)  // superblock copy B
        // Entry copies of slot 0: create wrote A (seq 1) and B (seq 2), the rename A (seq 3): B is the older one.
        image.base.storeBytes(of: 0xEE, toByteOffset: Int(sb.volumeSlotOffset(0)) + 256 + 100, as: UInt8.self)
        // An orphan: a segment header naming the volume, in a free segment (a crash between allocate and commit).
        let info = try pool.store.volume(named: "r2")
        let orphan: UInt64 = sb.segmentCount - 1
        _ = SegmentHeader(lane: 0, volumeUID: info.uid, sequence: 99, previous: 0, firstRecordSequence: 0, firstTimestamp: 0, index: orphan)
            .encode(into: image.base + Int(sb.segmentOffset(orphan)))
        let before = try MemoryPool.mount(memory: image, writable: false).store.check()
        #expect(before.findings.contains { $0.location.contains("superblock copy B") })
        #expect(before.findings.contains { $0.location == "segment \(orphan)" && $0.severity == .info && $0.message.contains("never committed into") })
        #expect(before.findings.contains { $0.location.contains("slot 0 copy B") })
        // A writable mount rewrites the superblock copy itself; check(repair:) does the rest.
        let damaged = try MemoryPool.mount(memory: image, writable: true)
        let repaired = try damaged.store.check(repair: true)
        #expect(repaired.clean)
        let after = try damaged.store.check()
        #expect(after.findings.filter { $0.severity != .info }.isEmpty, "\(after.findings)")
        // Repair writes no segment: the header it found is still there.
        #expect(image.base.load(fromByteOffset: Int(sb.segmentOffset(orphan)), as: UInt32.self) == Magic.segment)
        #expect(try readAll(try damaged.store.openReader(volume: "r2")).count == 100)
    }
}
