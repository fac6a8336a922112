import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

@Suite struct AppendReadTests {
    /// Every record size from 0 to one past the segment size, each record
    /// crossing or landing on segment boundaries somewhere; read back byte-exact.
    @Test func everyRecordSizeAcrossSegmentBoundaries() throws {
        let segmentSize = 64 << 10
        let pool = try memoryPool(size: 48 << 20, segmentSize: UInt64(segmentSize))
        let store = pool.store
        var size = 0
        var batch = 0
        while size <= segmentSize + 1 {
            let name = "sizes-\(batch)"
            try store.createVolume(named: name)
            let w = try store.openWriter(volume: name)
            var written: [Int] = []
            var bytes = 0
            while size <= segmentSize + 1 && bytes < 24 << 20 {
                try payload(size, size).withUnsafeBytes { try w.append($0, timestamp: UInt64(size)) }
                written.append(size)
                bytes += size
                size += 1
            }
            w.close()
            let records = try readAll(try store.openReader(volume: name))
            #expect(records.map { $0.bytes.count } == written)
            for (r, n) in zip(records, written) where r.bytes != Array(payload(n, n)) {
                Issue.record("record of size \(n) differs")
            }
            #expect(records.map(\.sequence) == Array(0..<UInt64(written.count)))
            try store.deleteVolume(name)
            batch += 1
        }
        #expect(store.space.free == store.space.total)
    }

    @Test func recordsLargerThanASegmentAreJoined() throws {
        let pool = try memoryPool(size: 32 << 20)
        try pool.store.createVolume(named: "big")
        let w = try pool.store.openWriter(volume: "big")
        let sizes = [3 * 65536 + 17, 10, 65536 * 5, 0, 200_000]
        let data = sizes.map { n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ n) } }
        for d in data { try w.append(bytes: d) }
        w.close()
        let back = try readAll(try pool.store.openReader(volume: "big"))
        #expect(back.map(\.bytes) == data)
    }

    @Test func uncommittedRecordsAreNotReadAndCommittedOnesSurviveACrash() throws {
        let pool = try memoryPool(commitInterval: 0)
        try pool.store.createVolume(named: "c")
        let w = try pool.store.openWriter(volume: "c")
        for i in 0..<10 { try w.append(bytes: Array(payload(i, 50))) }
        w.commit()
        for i in 10..<15 { try w.append(bytes: Array(payload(i, 50))) }
        // A reader sees only committed records, even while the writer is open.
        #expect(try readAll(try pool.store.openReader(volume: "c")).count == 10)
        // Power loss now: a copy of the bytes is what media holds.
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: true)
        let back = try readAll(try crashed.store.openReader(volume: "c"))
        #expect(back.map(\.bytes) == (0..<10).map { Array(payload($0, 50)) })
        // The recovered writer resumes at the commit point.
        let w2 = try crashed.store.openWriter(volume: "c")
        try w2.append(bytes: [9])
        w2.close()
        #expect(try readAll(try crashed.store.openReader(volume: "c")).map(\.sequence) == Array(0...10))
        w.close()
    }

    @Test func aRecordAbandonedMidwayIsNeverReturned() throws {
        let pool = try memoryPool(commitInterval: 0)
        try pool.store.createVolume(named: "a")
        let w = try pool.store.openWriter(volume: "a")
        try w.append(bytes: [1, 2, 3])
        w.commit()
        // Spans four segments: each segment switch commits, so part of it is committed.
        try w.append(bytes: [UInt8](repeating: 7, count: 4 * 65536))
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: true)
        w.close()
        #expect(try readAll(try crashed.store.openReader(volume: "a")).map(\.bytes) == [[1, 2, 3]])
        let w2 = try crashed.store.openWriter(volume: "a")
        try w2.append(bytes: [4, 5])
        w2.close()
        #expect(try readAll(try crashed.store.openReader(volume: "a")).map(\.bytes) == [[1, 2, 3], [4, 5]])
    }

    @Test func readerFollowsAWriterAfterRefresh() throws {
        let pool = try memoryPool(commitInterval: 0)
        try pool.store.createVolume(named: "f")
        let w = try pool.store.openWriter(volume: "f")
        let reader = try pool.store.openLaneReader(volume: "f", lane: 0)
        var seen: [UInt64] = []
        for round in 0..<5 {
            for i in 0..<300 { try w.append(bytes: Array(payload(i, 1000)), timestamp: UInt64(round * 300 + i)) }
            w.commit()
            try reader.refresh()
            while let r = try reader.next() { seen.append(r.timestamp) }
            #expect(seen.count == (round + 1) * 300)
        }
        #expect(seen == (0..<1500).map { UInt64($0) })
        w.close()
    }

    @Test func seekFindsFirstRecordAtOrAfterTimestamp() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "s", lanes: 2)
        let w0 = try pool.store.openWriter(volume: "s", lane: 0)
        let w1 = try pool.store.openWriter(volume: "s", lane: 1)
        for i in 0..<5000 { try w0.append(bytes: Array(payload(i, 200)), timestamp: UInt64(i * 10)) }
        for i in 0..<5000 { try w1.append(bytes: Array(payload(i, 100)), timestamp: UInt64(i * 10 + 5)) }
        w0.close(); w1.close()
        let reader = try pool.store.openReader(volume: "s")
        let all: [UInt64] = (0..<5000).flatMap { (i: Int) -> [UInt64] in [UInt64(i * 10), UInt64(i * 10 + 5)] }
        for target in [UInt64(0), 1, 5, 12_345, 49_995, 49_996] {
            try reader.seek(timestamp: target)
            let first = try reader.next()
            let expected = all.filter { $0 >= target }.min()
            #expect(first?.timestamp == expected, "seek \(target)")
        }
    }

    @Test func mergedReaderOrdersByTimestamp() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "m", lanes: 3)
        let writers = try (0..<3).map { try pool.store.openWriter(volume: "m", lane: $0) }
        var rng = SystemRandomNumberGenerator()
        var t = [UInt64](repeating: 0, count: 3)
        for i in 0..<3000 {
            let lane = Int.random(in: 0..<3, using: &rng)
            t[lane] += UInt64.random(in: 0...20, using: &rng)
            try writers[lane].append(bytes: Array(payload(i, 16)), timestamp: t[lane])
        }
        writers.forEach { $0.close() }
        let back = try readAll(try pool.store.openReader(volume: "m"))
        #expect(back.count == 3000)
        #expect(zip(back, back.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
    }
}
