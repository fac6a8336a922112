import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Records many segments long come back once each, whole, in order.
@Suite struct LargeRecordTests {
    @Test(arguments: [100_000, 1 << 20, 4 << 20])
    func recordsLargerThanSegmentsReadBackOnce(_ size: Int) throws {
        let pool = try memoryPool(size: 64 << 20, segmentSize: 64 << 10)
        try pool.store.createVolume(named: "big")
        let w = try pool.store.openWriter(volume: "big")
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        for i in 0..<5 { try w.append(bytes: data, timestamp: UInt64(i)) }
        w.close()
        let reader = try pool.store.openLaneReader(volume: "big", lane: 0)
        var n = 0
        while let r = try reader.next() {
            #expect(r.sequence == UInt64(n) && r.length == size)
            var got: [UInt8] = []
            r.forEachFragment { got.append(contentsOf: $0) }
            #expect(got == data)
            n += 1
        }
        #expect(n == 5)
    }
}

/// `forEachRecord` lends the same records `next()` returns.
@Suite struct BorrowedRecordTests {
    @Test func forEachRecordMatchesNextAndStopsWhenAsked() throws {
        let pool = try memoryPool(size: 32 << 20, segmentSize: 64 << 10)
        try pool.store.createVolume(named: "b")
        let w = try pool.store.openWriter(volume: "b")
        for i in 0..<300 { try w.append(bytes: Array(payload(i, i % 3 == 0 ? 70_000 : 300)), timestamp: UInt64(i)) }
        w.close()
        var viaNext: [[UInt8]] = []
        let a = try pool.store.openLaneReader(volume: "b", lane: 0)
        while let r = try a.next() { viaNext.append(r.bytes) }
        var lent: [[UInt8]] = []
        let b = try pool.store.openLaneReader(volume: "b", lane: 0)
        let failure: Never? = try b.forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
            lent.append(r.withContiguousPayload { Array($0) })
            return true
        }
        #expect(failure == nil && lent == viaNext && lent.count == 300)
        var seen = 0
        _ = try pool.store.openLaneReader(volume: "b", lane: 0).forEachRecord { (_: borrowing BorrowedRecord) -> Bool in
            seen += 1
            return seen < 10
        }
        #expect(seen == 10)
    }
}

/// The writer's one-pass checksum + copy (header and payload) gives the same
/// media through every CRC32C path: records written through each read back
/// whole through every other and through the portable Swift CRC.
@Suite struct ChecksumPathTests {
    @Test(arguments: CRC32CPath.available)
    func recordsWrittenThroughAPathReadBackThroughEvery(_ path: CRC32CPath) throws {
        let memory = InMemoryRegion(size: 16 << 20)
        let region = try PersistentRegion(memory.regionDescriptor())
        try TraceStore.format(region: region, parameters: smallParameters())
        let sizes = [0, 1, 7, 8, 200, 224, 225, 255, 256, 257, 1000, 3071, 3072, 4095, 4096, 4100, 65_000, 65_536 + 3, 200_001]
        do {
            let store = try TraceStore(region: region, writable: true, options: .testing(clock: testClock, path: path))
            try store.createVolume(named: "p")
            let w = try store.openWriter(volume: "p")
            for (i, n) in sizes.enumerated() { try w.append(bytes: Array(payload(i, n)), timestamp: UInt64(i)) }
            w.close()
        }
        var readers = CRC32CPath.available.map { StoreOptions.testing(clock: testClock, path: $0) }
        readers.append(StoreOptions(commitInterval: 0, crc32c: CRC32C.software))
        for options in readers {
            let store = try TraceStore(region: region, writable: false, options: options)
            let reader = try store.openLaneReader(volume: "p", lane: 0)
            var got: [[UInt8]] = []
            while let r = try reader.next() { got.append(r.bytes) }
            #expect(got == sizes.enumerated().map { Array(payload($0.offset, $0.element)) }, "written through \(path.name)")
        }
    }
}
