import Foundation
import PMTrace
import PMTraceFoundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Readers as `Sequence` and `AsyncSequence`; `[UInt8]`/`Data` in and out; Codable listings.
@Suite struct ReaderSequenceTests {
    /// A store with volume "v" of `lanes` lanes holding `count` records of
    /// sizes that include records split over segments (64 KiB segments).
    static func filled(lanes: Int = 2, count: Int = 40) throws -> (MemoryPool, [[UInt8]]) {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters())
        try pool.store.createVolume(named: "v", lanes: lanes)
        let writers = try (0..<lanes).map { try pool.store.openWriter(volume: "v", lane: $0) }
        var written: [[UInt8]] = []
        for i in 0..<count {
            let bytes = payload(i, i % 7 == 3 ? 100_000 : i * 37)
            try writers[i % lanes].append(bytes: bytes, timestamp: UInt64(i + 1))
            written.append(bytes)
        }
        for w in writers { w.commit() }
        return (pool, written)
    }

    @Test func volumeReaderIsASequenceOfWholeRecords() throws {
        let (pool, written) = try Self.filled()
        let reader = try pool.store.openReader(volume: "v")
        let read = reader.records.map { $0.bytes }
        #expect(read == written)
        #expect(reader.iterationError == nil)
        // Single pass: the reader is at its tail now.
        #expect(Array(reader.records).isEmpty)
        #expect(written.contains { $0.count == 100_000 })
    }

    @Test func laneReaderIsASequence() throws {
        let (pool, written) = try Self.filled(lanes: 2)
        let lane1 = try pool.store.openLaneReader(volume: "v", lane: 1)
        var seen: [[UInt8]] = []
        for r in lane1.records { seen.append(r.bytes) }
        #expect(seen == written.enumerated().filter { $0.offset % 2 == 1 }.map { $0.element })
        #expect(try pool.store.openLaneReader(volume: "v", lane: 0).allRecords().count == (written.count + 1) / 2)
    }

    @Test func iterationStopsAtDamageAndKeepsTheError() throws {
        let (pool, written) = try Self.filled(lanes: 1, count: 10)
        // Flip one payload byte of the fifth record in the (in-memory) region.
        let fifth = try pool.store.openReader(volume: "v").allRecords()[4]
        let p = UnsafeMutableRawPointer(mutating: fifth.payload.baseAddress!)
        p.storeBytes(of: p.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
        let reader = try pool.store.openReader(volume: "v")
        let read = Array(reader.records)
        #expect(read.map { $0.bytes } == Array(written.prefix(4)))
        guard case .laneDamaged(volume: "v", lane: 0, _)? = reader.iterationError else {
            Issue.record("expected laneDamaged, got \(String(describing: reader.iterationError))")
            return
        }
        #expect(throws: TraceError.self) { try pool.store.openReader(volume: "v").allRecords() }
    }

    @Test func followReturnsRecordsAsTheyAreCommittedAndEndsAtSeal() async throws {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters())
        try pool.store.createVolume(named: "live", lanes: 2)
        let store = pool.store
        // The reader starts before anything is written: every record arrives while it follows.
        let reader = try store.openReader(volume: "live")
        let expected = (0..<60).map { payload($0, 1 + $0 * 101) }
        let writer = Task.detached {
            let lanes = try (0..<2).map { try store.openWriter(volume: "live", lane: $0) }
            for (i, bytes) in expected.enumerated() {
                try lanes[i % 2].append(bytes: bytes, timestamp: UInt64(i + 1))
                lanes[i % 2].commit()
            }
            for l in lanes { l.close() }
            try store.sealVolume("live")
        }
        var seen: [[UInt8]] = []
        for try await r in reader.follow(interval: .microseconds(100)) { seen.append(r.bytes) }
        try await writer.value
        #expect(seen == expected)
    }

    @Test func followEndsWhenTheTaskIsCancelled() async throws {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters())
        try pool.store.createVolume(named: "idle")
        let w = try pool.store.openWriter(volume: "idle", lane: 0)
        try w.append(bytes: [1, 2, 3])
        w.commit()
        let reader = try pool.store.openReader(volume: "idle")
        let follower = Task {
            var n = 0
            for try await _ in reader.follow() {
                n += 1
                withUnsafeCurrentTask { $0?.cancel() }  // after the one committed record: stop waiting
            }
            return n
        }
        #expect(try await follower.value == 1)
    }

    @Test func dataAndByteArraysInAndOut() throws {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters())
        try pool.store.createVolume(named: "d")
        let w = try pool.store.openWriter(volume: "d", lane: 0)
        let small = Data(payload(1, 300)), big = Data(payload(2, 150_000))
        try w.append(small)
        try w.append(big, kind: .marker)
        try w.append(bytes: [9, 8, 7])
        w.commit()
        let records = try pool.store.openReader(volume: "d").allRecords()
        #expect(records.map { $0.data } == [small, big, Data([9, 8, 7])])
        #expect(try records.map { try $0.verifiedData() } == [small, big, Data([9, 8, 7])])
        #expect(try records.map { try $0.verifiedBytes() } == [Array(small), Array(big), [9, 8, 7]])
        #expect(records[1].kind == .marker && !records[1].isContiguous)
        var lent: [Data] = []
        _ = try pool.store.openLaneReader(volume: "d", lane: 0).forEachRecord { (r: borrowing BorrowedRecord) throws(TraceError) -> Bool in
            lent.append(r.data)
            return true
        }
        #expect(lent == [small, big, Data([9, 8, 7])])
    }

    @Test func listingAndReportTypesAreCodable() throws {
        let (pool, _) = try Self.filled(lanes: 3, count: 6)
        let info = try pool.store.volume(named: "v")
        let json = try JSONEncoder().encode(info)
        #expect(try JSONDecoder().decode(VolumeInfo.self, from: json) == info)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["laneCount"] as? Int == 3)
        let report = try pool.store.check(repair: .none)
        let back = try JSONDecoder().decode(CheckReport.self, from: JSONEncoder().encode(report))
        #expect(back.recordsChecked == report.recordsChecked && back.recordsChecked > 0)
        #expect(back.findings == report.findings)
    }
}
