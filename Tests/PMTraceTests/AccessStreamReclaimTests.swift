import PMTraceTesting
import Testing
@testable import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

/// Adversary finding (round 24, F5): `AccessStream` kept the record that did
/// not fit a block as a view and decoded it in place into the next block.
/// A ring writer that reclaimed the segment in between (the export's output a
/// slow pipe) made it decode the segment's next life: wrong rows, or
/// "payload … invalid count". Every access handed out must be one committed.
@Suite struct AccessStreamReclaimTests {
    /// Accesses per record: as many as make one record's footprint (32-byte
    /// header, payload padded to 8) divide a segment's record space (64 KiB
    /// less its 64-byte header) exactly, over the group limit (1024 bytes).
    /// So no record is split and every life of a segment holds its records
    /// at the same offsets: an in-place decode of a reclaimed record reads
    /// another whole record, with other addresses (the worst case: wrong rows).
    static let perRecord: Int = {
        for n in 100... {
            let footprint = 32 + (payload(0, count: n).count + 7) & ~7
            if footprint > 1024 + 32, (65_536 - 64) % footprint == 0 { return n }
        }
        fatalError("unreachable")
    }()

    /// Accesses of record `i`: addresses that name the record, the same
    /// encoded length for every `i`.
    static func accesses(_ i: Int, count: Int = perRecord) -> [MemoryAccess] {
        (0..<count).map { MemoryAccess(kind: .load, address: 1 << 40 | UInt64(i) << 20 | UInt64($0) << 6, size: 8) }
    }

    static func payload(_ i: Int, count: Int = perRecord) -> [UInt8] {
        var out: [UInt8] = []
        accesses(i, count: count).withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &out) }
        return out
    }

    /// A full pool with ring volume "ring" and `append(i)` that writes record `i`
    /// (one access batch, committed).
    static func ringPool() throws -> (MemoryPool, (Int) throws -> Void) {
        let pool = try MemoryPool.inMemory(size: 2 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 2))
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        let append = { (i: Int) throws in
            try w.append(bytes: payload(i), kind: .memoryAccessBatch, timestamp: UInt64(i))
            w.commit()
        }
        return (pool, append)
    }

    /// Appends records from `next` on until `segment` was reclaimed and
    /// written past `offset` in its new life.
    static func reclaim(_ pool: MemoryPool, segment: UInt64, past offset: Int, from next: inout Int, _ append: (Int) throws -> Void) throws {
        func chain() -> [UInt64] { pool.store.mountedSegments().chains[0][0] }
        // On to the next segment, then round the ring until the writer reclaims this one.
        while chain().last == segment {
            try append(next)
            next += 1
        }
        while chain().last != segment {
            try append(next)
            next += 1
        }
        // Fill the new life: its records lie where the old life's did.
        for _ in 1..<((65_536 - 64) / (32 + (payload(0).count + 7) & ~7)) {
            try append(next)
            next += 1
        }
        #expect(chain().last == segment && chain().first != segment && offset > 64)
    }

    /// The record held over to the next block is decoded from its verified
    /// copy: the next block holds exactly its committed accesses.
    @Test func aHeldOverRecordIsDecodedAsCommittedAfterItsSegmentIsReclaimed() throws {
        let (pool, append) = try Self.ringPool()
        // Records 0 and 1 are what the reader sees committed (its tail): after
        // the held-over record the stream meets the tail, not the reclaim.
        var next = 0
        for _ in 0..<2 { try append(next); next += 1 }
        let stream = try AccessStream(reader: try pool.store.openReader(volume: "ring"))
        // Room for one record and a half: record 1 is held over.
        let block = AccessBlock(capacity: Self.perRecord * 3 / 2)
        #expect(try stream.next(into: block))
        #expect(block.count == Self.perRecord && block.address[0] == Self.accesses(0)[0].address)
        let held = try #require(stream.pending)
        #expect(held.sequence == 1 && held.offset == 64 + 32 + (held.bytes.count + 7) & ~7)
        try Self.reclaim(pool, segment: held.segment, past: held.offset, from: &next, append)
        // What the next block holds is record 1 as committed, or nothing (a reclaim reported).
        do {
            #expect(try stream.next(into: block))
            let got = (0..<block.count).map { block.address[$0] }
            let committed = got == Self.accesses(1).map(\.address)
            #expect(committed, "the held-over record came out as \(got.count) other accesses, first \(got.first.map { String($0, radix: 16) } ?? "none")")
        } catch {
            #expect(error == .overwrittenWhileReading(volume: "ring", lane: 0))
        }
        // Then the tail as of the reader's walk (or the reclaim, said so).
        do { #expect(try !stream.next(into: block)) } catch {
            #expect(error == .overwrittenWhileReading(volume: "ring", lane: 0))
        }
    }

    /// A record reclaimed between its hand-out and the copy that holds it
    /// over is refused as a reclaim, never decoded.
    @Test func aRecordReclaimedBeforeItIsHeldOverIsReportedAsAReclaim() throws {
        let (pool, append) = try Self.ringPool()
        var next = 0
        for _ in 0..<8 { try append(next); next += 1 }
        let reader = try pool.store.openReader(volume: "ring")
        _ = try reader.next()
        let r = try #require(try reader.next())
        try Self.reclaim(pool, segment: r.segment, past: r.offset, from: &next, append)
        #expect(throws: TraceError.overwrittenWhileReading(volume: "ring", lane: 0)) {
            _ = try VerifiedAccessRecord(r, volume: reader.info)
        }
    }
}
