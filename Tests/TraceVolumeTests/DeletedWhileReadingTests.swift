import PMTraceTesting
import Testing
import TraceFormat
@testable import TraceVolume

/// Adversary finding (round 24, F6): `dump --follow` and `read` of a volume
/// deleted under the reader, its segments reused by a new volume, said
/// "volume 'v' lane 0 is damaged: record at segment 33 … invalid
/// payloadLength" or "header of segment 42: invalid owner" — and fsck found
/// nothing wrong. The reader now says the volume was deleted while read.
@Suite struct DeletedWhileReadingTests {
    /// Volume "v" over several segments of a small pool, a reader of it that
    /// has read `readFirst` records, then "v" deleted and its segments
    /// reused by volume "w" (other bytes). Returns the reader and the
    /// records it handed out before the deletion.
    static func deletedUnderReader(readFirst: Int) throws -> (MemoryPool, VolumeReader, [RecordView]) {
        let pool = try memoryPool(size: 1 << 20, segmentSize: 64 << 10, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<60 { try w.append(bytes: Array(payload(i, 3000)), timestamp: UInt64(i)) }
        w.commit()
        w.close()
        let reader = try pool.store.openReader(volume: "v")
        var handed: [RecordView] = []
        for _ in 0..<readFirst { handed.append(try #require(try reader.next())) }
        try pool.store.deleteVolume("v")
        try pool.store.createVolume(named: "w")
        let other = try pool.store.openWriter(volume: "w")
        // Fill the pool: every segment "v" had is reused.
        var i = 0
        while (try? other.append(bytes: [UInt8](repeating: 0x42, count: 5000 + 8 * (i % 7)), timestamp: UInt64(i))) != nil, i < 1000 {
            i += 1
        }
        other.commit()
        other.close()
        return (pool, reader, handed)
    }

    @Test func readingOnSaysTheVolumeWasDeleted() throws {
        let (_, reader, _) = try Self.deletedUnderReader(readFirst: 3)
        var caught: TraceError?
        do throws(TraceError) { while try reader.next() != nil {} } catch { caught = error }
        #expect(caught == .volumeDeletedWhileReading(volume: "v", lane: 0))
    }

    /// `dump --follow` refreshes: the chain walk meets another owner's segments
    /// (a merged reader's lane throws that at its next record).
    @Test func refreshingSaysTheVolumeWasDeleted() throws {
        let (_, reader, _) = try Self.deletedUnderReader(readFirst: 3)
        #expect(throws: TraceError.volumeDeletedWhileReading(volume: "v", lane: 0)) {
            try reader.refresh()
            while try reader.next() != nil {}
        }
    }

    /// `read` copies each record out verified: a record whose bytes changed
    /// under the copy is explained by the deletion too.
    @Test func aRecordChangedUnderTheCopyIsExplainedByTheDeletion() throws {
        let (_, reader, handed) = try Self.deletedUnderReader(readFirst: 3)
        var changed: TraceError?
        do throws(TraceError) { _ = try handed[1].verifiedBytes() } catch { changed = error }
        guard case .recordChanged? = changed else {
            Issue.record("expected recordChanged, got \(String(describing: changed))")
            return
        }
        #expect(reader.explained(changed!) == .volumeDeletedWhileReading(volume: "v", lane: 0))
    }

    /// Damage of a volume that is still there is reported as damage.
    @Test func damageOfALiveVolumeIsNotCalledADeletion() throws {
        let pool = try memoryPool(size: 1 << 20)
        try pool.store.createVolume(named: "v")
        let reader = try pool.store.openReader(volume: "v")
        let damage = TraceError.laneDamaged(volume: "v", lane: 0, .invalidField(.segmentHeader(segment: 3), field: "owner", value: 9))
        #expect(reader.explained(damage) == damage)
        #expect(reader.explained(.recordChanged(segment: 3, offset: 64)) == .recordChanged(segment: 3, offset: 64))
    }
}
