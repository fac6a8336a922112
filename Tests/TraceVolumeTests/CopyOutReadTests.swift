import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// `LaneReader.read(into:)`, the one-pass verified copy-out: the same records
/// as `next()`, through every checksum path, refusing what `next()` refuses.
@Suite struct CopyOutReadTests {
    static let sizes = [0, 1, 7, 100, 255, 256, 1000, 4096, 4100, 65_536, 100_000, 200_001, 33]

    func filledPool(_ options: StoreOptions) throws -> MemoryPool {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters(), options: options)
        try pool.store.createVolume(named: "c")
        let w = try pool.store.openWriter(volume: "c")
        for (i, n) in Self.sizes.enumerated() { try w.append(bytes: Array(payload(i, n)), kind: .blob, timestamp: UInt64(10 + i)) }
        w.close()
        return pool
    }

    @Test(arguments: CRC32CPath.available)
    func copiesTheRecordsNextReturns(_ path: CRC32CPath) throws {
        let pool = try filledPool(.testing(clock: testClock, path: path))
        let reader = try pool.store.openLaneReader(volume: "c", lane: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 300_000, alignment: 1)
        defer { buffer.deallocate() }
        for (i, n) in Self.sizes.enumerated() {
            // An odd destination offset: the copy must not need alignment.
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[3...])
            let r = try #require(try reader.read(into: target), "record \(i)")
            #expect(r.length == n && r.header.sequence == UInt64(i) && r.header.timestamp == UInt64(10 + i) && r.lane == 0 && !r.salvaged)
            #expect(Array(target[0..<n]) == Array(payload(i, n)), "\(path.name) record \(i) (\(n) bytes)")
        }
        #expect(try reader.read(into: buffer) == nil)
        // Appended later: picked up after refresh, like next().
        let w = try pool.store.openWriter(volume: "c")
        try w.append(bytes: Array(payload(99, 5000)))
        w.close()
        try reader.refresh()
        #expect(try reader.read(into: buffer)?.length == 5000)
    }

    @Test func aRecordLongerThanTheBufferIsRefusedAndCanBeRetried() throws {
        let pool = try filledPool(.testing(clock: testClock))
        let reader = try pool.store.openLaneReader(volume: "c", lane: 0)
        let big = UnsafeMutableRawBufferPointer.allocate(byteCount: 300_000, alignment: 8)
        defer { big.deallocate() }
        for _ in 0..<7 { _ = try reader.read(into: big) }  // up to the 4096-byte record
        let small = UnsafeMutableRawBufferPointer(rebasing: big[0..<1000])
        #expect(throws: TraceError.self) { _ = try reader.read(into: small) }
        #expect(try reader.read(into: big)?.length == 4096)
        // A split record (200 001 bytes over 64 KiB segments) whose later fragment does not fit.
        for _ in 0..<3 { _ = try reader.read(into: big) }
        #expect(throws: TraceError.self) { _ = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: big[0..<100_000])) }
        let r = try #require(try reader.read(into: big))
        #expect(r.length == 200_001 && Array(big[0..<200_001]) == Array(payload(11, 200_001)))
    }

    /// A flipped payload byte: `read(into:)` throws what `next()` throws, and
    /// with skipDamaged both skip the same record and report the same damage.
    @Test(arguments: CRC32CPath.available)
    func damageIsReportedLikeNext(_ path: CRC32CPath) throws {
        let pool = try filledPool(.testing(clock: testClock, path: path))
        let probe = try pool.store.openLaneReader(volume: "c", lane: 0)
        var victim: RecordView?
        while let r = try probe.next(), r.sequence <= 8 { if r.sequence == 8 { victim = r } }
        let v = try #require(victim)
        UnsafeMutableRawPointer(mutating: v.payload.baseAddress! + 4000).storeBytes(of: ~v.payload[4000], as: UInt8.self)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 300_000, alignment: 8)
        defer { buffer.deallocate() }

        let strict = try pool.store.openLaneReader(volume: "c", lane: 0)
        var copied = 0
        #expect(throws: TraceError.self) { while try strict.read(into: buffer) != nil { copied += 1 } }
        #expect(copied == 8)

        let viaNext = try pool.store.openLaneReader(volume: "c", lane: 0, options: ReadOptions(skipDamaged: true))
        var expected: [UInt64] = []
        while let r = try viaNext.next() { expected.append(r.sequence) }
        let viaCopy = try pool.store.openLaneReader(volume: "c", lane: 0, options: ReadOptions(skipDamaged: true))
        var got: [UInt64] = []
        while let r = try viaCopy.read(into: buffer) {
            got.append(r.header.sequence)
            let i = Int(r.header.sequence)
            #expect(Array(buffer[0..<r.length]) == Array(payload(i, Self.sizes[i])))
        }
        #expect(!expected.contains(8) && got == expected)
        #expect(viaCopy.skipped.map(\.description) == viaNext.skipped.map(\.description))
    }

    /// A reader copying out while a writer appends and commits (records split
    /// over segments included) gets every record once, whole and in order:
    /// one whose last fragment is not committed yet comes on a later call.
    @Test func followsAConcurrentWriter() throws {
        let pool = try memoryPool(size: 64 << 20)
        try pool.store.createVolume(named: "f")
        let count = 600
        let w = try pool.store.openWriter(volume: "f")
        let reader = try pool.store.openLaneReader(volume: "f", lane: 0)
        let size: @Sendable (Int) -> Int = { i in i % 50 == 7 ? 150_000 : (i * 997) % 9000 }
        let writer = Thread {
            for i in 0..<count {
                try? w.append(bytes: Array(payload(i, size(i))), timestamp: UInt64(i))
                if i % 3 == 0 { w.commit() }
            }
            w.close()
        }
        writer.start()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 200_000, alignment: 8)
        defer { buffer.deallocate() }
        var next = 0, polls = 0
        while next < count && polls < 10_000_000 {
            guard let r = try reader.read(into: buffer) else {
                try reader.refresh()
                polls += 1
                continue
            }
            #expect(r.header.sequence == UInt64(next) && r.length == size(next))
            #expect(Array(buffer[0..<r.length]) == Array(payload(next, size(next))), "record \(next)")
            next += 1
        }
        #expect(next == count)
        while !writer.isFinished { usleep(1000) }
    }
}
