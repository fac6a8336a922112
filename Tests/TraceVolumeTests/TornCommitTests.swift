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
}
