import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// `LaneReader.read(batchInto:)`, the batch copy-out: a record group copied
/// and checked in one pass, its members handed out from the copy. The same
/// records, errors and notices as `next()` on every fixture the one-record
/// copy-out (`read(into:)`) is tested on: every checksum path, damaged and
/// malformed groups, torn last commits, salvage, ring laps, a live writer.
@Suite struct BatchReadTests {
    /// One record as a test compares it.
    struct Got: Equatable {
        var sequence: UInt64
        var timestamp: UInt64
        var kind: UInt16
        var bytes: [UInt8]
        var salvaged: Bool
    }

    /// Every record `next()` returns until nil (or the error that ended it).
    static func viaNext(_ reader: LaneReader) -> (records: [Got], error: TraceError?) {
        var out: [Got] = []
        do {
            while let r = try reader.next() {
                out.append(Got(sequence: r.sequence, timestamp: r.timestamp, kind: r.kind.rawValue, bytes: r.bytes, salvaged: r.salvaged))
            }
            return (out, nil)
        } catch { return (out, error) }
    }

    /// Every record the batches return until nil (or the error that ended
    /// them), read into a buffer of `capacity` bytes at an odd address.
    static func viaBatches(_ reader: LaneReader, capacity: Int = 1 << 20) -> (records: [Got], error: TraceError?, batches: Int) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity + 3, alignment: 8)
        defer { storage.deallocate() }
        let buffer = UnsafeMutableRawBufferPointer(rebasing: storage[3...])
        var out: [Got] = []
        var batches = 0
        do {
            while let batch = try reader.read(batchInto: buffer) {
                batches += 1
                var n = 0
                for r in batch {
                    #expect(Int(r.header.payloadLength) == r.payload.count)
                    #expect(r.payload.isEmpty || (r.payload.baseAddress! >= UnsafeRawPointer(buffer.baseAddress!)
                        && r.payload.baseAddress! + r.payload.count <= UnsafeRawPointer(buffer.baseAddress! + batch.byteCount)))
                    out.append(Got(sequence: r.header.sequence, timestamp: r.header.timestamp, kind: r.header.kind.rawValue,
                                   bytes: Array(r.payload), salvaged: r.salvaged))
                    n += 1
                }
                #expect(n == batch.count && batch.count >= 1 && batch.lane == reader.lane)
            }
            return (out, nil, batches)
        } catch { return (out, error, batches) }
    }

    /// Batches and `next()` agree on `pool`'s lane: records, the error, notices.
    static func expectSame(_ pool: MemoryPool, volume: String, options: ReadOptions = ReadOptions(), capacity: Int = 1 << 20,
                           _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let a = try pool.store.openLaneReader(volume: volume, lane: 0, options: options)
        let b = try pool.store.openLaneReader(volume: volume, lane: 0, options: options)
        let expected = viaNext(a)
        let got = viaBatches(b, capacity: capacity)
        #expect(got.records == expected.records, comment, sourceLocation: sourceLocation)
        #expect(got.error.map { "\($0)" } == expected.error.map { "\($0)" }, comment, sourceLocation: sourceLocation)
        #expect(b.skipped.map(\.description) == a.skipped.map(\.description), comment, sourceLocation: sourceLocation)
    }

    @Test(arguments: CRC32CPath.available, [0, 1, 17])
    func theSameRecordsAsNextOnEveryPath(_ path: CRC32CPath, commitEvery: Int) throws {
        let pool = try MemoryPool.inMemory(size: 16 << 20, parameters: smallParameters(), options: .testing(clock: testClock, path: path))
        try RecordGroupTests.write(pool, count: 600, commitEvery: commitEvery)
        // Plain records of every size, split ones included, after the groups.
        let w = try pool.store.openWriter(volume: "g")
        for (i, n) in CopyOutReadTests.sizes.enumerated() { try w.append(bytes: Array(payload(i, n)), timestamp: UInt64(10_000 + i)) }
        w.close()
        try Self.expectSame(pool, volume: "g", "\(path.name)")
        let reader = try pool.store.openLaneReader(volume: "g", lane: 0)
        let got = Self.viaBatches(reader)
        #expect(got.records.count == 600 + CopyOutReadTests.sizes.count)
        if commitEvery != 1 { #expect(got.batches < got.records.count / 2, "groups come out as batches: \(got.batches) batches") }
        // Picked up after refresh, like next().
        let more = try pool.store.openWriter(volume: "g")
        for i in 0..<50 { try more.append(bytes: Array(payload(i, 30)), timestamp: UInt64(20_000 + i)) }
        more.close()
        try reader.refresh()
        #expect(Self.viaBatches(reader).records.map(\.sequence) == Array(613..<663).map(UInt64.init))
    }

    /// A buffer smaller than a group: its members come out one per batch
    /// (through the reader's verified copy of the group); a record longer
    /// than the buffer is refused and can be retried.
    @Test func aBufferSmallerThanAGroupStillGetsEveryRecord() throws {
        let pool = try memoryPool()
        try RecordGroupTests.write(pool, count: 300, commitEvery: 0)
        try Self.expectSame(pool, volume: "g", capacity: 4096)
        let reader = try pool.store.openLaneReader(volume: "g", lane: 0)
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 2000, alignment: 8)
        defer { small.deallocate() }
        var seen = 0
        while seen < 300 {
            do {
                guard let batch = try reader.read(batchInto: small) else { break }
                seen += batch.count
            } catch {
                // The 3000-byte members: retried with a larger buffer.
                let big = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
                defer { big.deallocate() }
                let batch = try #require(try reader.read(batchInto: big))
                #expect(batch.first { _ in true }?.payload.count ?? 0 >= 2000)
                seen += batch.count
            }
        }
        #expect(seen == 300)
    }

    /// Mixing the calls: a reader in the middle of a group (after `next()` or
    /// `seek`) gets the rest of it one record per batch, then whole groups again.
    @Test func afterNextAndSeekTheRestOfAGroupComesOutInOrder() throws {
        let pool = try memoryPool()
        try RecordGroupTests.write(pool, count: 400, commitEvery: 0)
        let reference = Self.viaNext(try pool.store.openLaneReader(volume: "g", lane: 0)).records
        let reader = try pool.store.openLaneReader(volume: "g", lane: 0)
        for _ in 0..<5 { _ = try reader.next() }
        #expect(Self.viaBatches(reader).records == Array(reference.dropFirst(5)))
        let seeking = try pool.store.openLaneReader(volume: "g", lane: 0)
        try seeking.seek(timestamp: reference[120].timestamp)
        let fromSeek = Self.viaBatches(seeking).records
        #expect(fromSeek.first == reference.first { $0.timestamp >= reference[120].timestamp })
        #expect(fromSeek.last == reference.last)
    }

    /// A flipped byte inside a group: strict readers stop before it with the
    /// same error; skipping readers skip the group whole with the same notice.
    @Test(arguments: CRC32CPath.available)
    func aDamagedGroupIsReportedLikeNext(_ path: CRC32CPath) throws {
        let (pool, segment, offset) = try RecordGroupTests.threeGroups()
        let groupAt = Int(pool.store.superblock.segmentOffset(segment)) + offset
        pool.memory.base.storeBytes(of: pool.memory.base.load(fromByteOffset: groupAt + 100, as: UInt8.self) ^ 0x10,
                                    toByteOffset: groupAt + 100, as: UInt8.self)
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false, options: .testing(clock: testClock, path: path))
        let strict = Self.viaBatches(try damaged.store.openLaneReader(volume: "g", lane: 0))
        #expect(strict.records.map(\.sequence) == Array(0..<10).map(UInt64.init) && strict.error != nil)
        try Self.expectSame(damaged, volume: "g", "\(path.name)")
        try Self.expectSame(damaged, volume: "g", options: ReadOptions(skipDamaged: true), "\(path.name)")
    }

    /// A group whose checksum is right but whose members do not add up: the
    /// member is named at its place, as `next()` names it; nothing of the group leaves.
    @Test(arguments: [(8, UInt64(0xFFFF)), (10, UInt64(0)), (10, UInt64(11)), (12, UInt64(UInt32.max))])
    func aMalformedGroupIsNamedLikeNext(field: Int, value: UInt64) throws {
        let (pool, segment, offset) = try RecordGroupTests.threeGroups()
        let segmentBase = pool.memory.base + Int(pool.store.superblock.segmentOffset(segment))
        let group = segmentBase + offset
        let member = 32 + 48
        if field == 12 { group.storeLE(UInt32(value), at: member + field - 8) } else { group.storeLE(UInt16(value), at: member + field - 8) }
        if field == 12 { group.storeLE(UInt64.max - 5, at: 16) }
        let seed: UInt32 = UnsafeRawPointer(segmentBase).loadLE(60)
        let length = Int(RecordHeader.decodeFields(UnsafeRawPointer(group)).payloadLength)
        group.storeLE(RecordHeader.checksum(seed: seed, header: group, payload: group + 32, count: length, crc: CRC32C.software), at: 28)
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let strict = Self.viaBatches(try damaged.store.openLaneReader(volume: "g", lane: 0))
        guard case .laneDamaged(_, _, let e)? = strict.error else { Issue.record("no error: \(strict.records.count) records"); return }
        // (Near the 64-bit limits, field 12, the exact walk names the member.)
        guard case .invalidField(let s, _, _) = e else { Issue.record("\(e)"); return }
        #expect(s == .record(segment: segment, offset: UInt64(offset + member)))
        #expect(strict.records.map(\.sequence) == Array(0..<10).map(UInt64.init))
        try Self.expectSame(damaged, volume: "g", "field \(field)")
        try Self.expectSame(damaged, volume: "g", options: ReadOptions(skipDamaged: true), "field \(field)")
    }

    /// A 64 KiB group of 64 B members (many checksum chunks): a member made
    /// malformed deep in it, or a flipped byte in its last chunk, is reported
    /// as `next()` reports it, and no member of the group leaves.
    @Test(arguments: [false, true])
    func aLargeGroupIsCheckedWhole(resealed: Bool) throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        for i in 0..<2_000 { try w.append(bytes: Array(payload(i, 64)), timestamp: UInt64(i)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        let segmentBase = pool.memory.base + Int(pool.store.superblock.segmentOffset(records[0].segment))
        let group = segmentBase + records[0].offset - Layout.recordHeaderSize
        let h = RecordHeader.decodeFields(UnsafeRawPointer(group))
        try #require(h.kind == .recordGroup && h.payloadLength > 3 * UInt32(RecordGroup.scanChunk))
        if resealed {
            (segmentBase + records[600].offset).storeLE(UInt16(0), at: 2)
            let seed: UInt32 = UnsafeRawPointer(segmentBase).loadLE(60)
            group.storeLE(RecordHeader.checksum(seed: seed, header: group, payload: group + 32, count: Int(h.payloadLength), crc: CRC32C.software), at: 28)
        } else {
            let last = group + Layout.recordHeaderSize + Int(h.payloadLength) - 1
            last.storeBytes(of: last.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
        }
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let got = Self.viaBatches(try damaged.store.openLaneReader(volume: "g", lane: 0))
        #expect(got.records.isEmpty && got.error != nil, "no member of a damaged group leaves")
        try Self.expectSame(damaged, volume: "g")
        try Self.expectSame(damaged, volume: "g", options: ReadOptions(skipDamaged: true))
    }

    /// The torn-commit window (FORMAT.md §10.3): a last commit of one group
    /// (or one record) that fails its checks ends the lane quietly, as with
    /// `next()`; damage before the window still throws.
    @Test(arguments: [(42, "payload byte"), (3, "payloadLength high byte")])
    func aTornLastCommitEndsTheBatchesQuietly(_ delta: Int, _ what: String) throws {
        let (pool, places) = try TornCommitTests.lane()
        let torn = try TornCommitCopyOutTests.damaged(pool, places[39], at: delta) { $0 ^ 0x5A }
        let got = Self.viaBatches(try torn.store.openLaneReader(volume: "t", lane: 0))
        #expect(got.error == nil && got.records.map(\.sequence) == Array(0..<39).map(UInt64.init), "\(what)")
        try Self.expectSame(torn, volume: "t", "\(what)")
        let before = try TornCommitCopyOutTests.damaged(pool, places[38], at: 42) { $0 ^ 0x5A }
        #expect(Self.viaBatches(try before.store.openLaneReader(volume: "t", lane: 0)).error != nil)
        try Self.expectSame(before, volume: "t")
    }

    /// A torn last commit that is a whole group of small records: the batch
    /// path copies and checks it in the window and ends the lane before it.
    @Test func aTornLastGroupEndsTheBatchesQuietly() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "t")
        let w = try pool.store.openWriter(volume: "t")
        for i in 0..<100 {
            try w.append(bytes: Array(payload(i, 24)), timestamp: UInt64(i))
            if i % 25 == 24 { w.commit() }
        }
        w.close()
        let records = try pool.store.openLaneReader(volume: "t", lane: 0).allRecords()
        #expect(records.count == 100)
        // A payload byte of the last group's last member.
        let torn = try TornCommitCopyOutTests.damaged(pool, (records[99].segment, records[99].offset), at: 5) { $0 ^ 0x5A }
        let got = Self.viaBatches(try torn.store.openLaneReader(volume: "t", lane: 0))
        #expect(got.error == nil && got.records.map(\.sequence) == Array(0..<75).map(UInt64.init))
        try Self.expectSame(torn, volume: "t")
    }

    /// A group written past the commit point is salvaged whole, one record
    /// per batch (a salvage read checks every record on its own), as `next()`
    /// does — and by `read(into:)`, whose look-ahead at a group member used to
    /// leave the salvage read's last sequence behind, so that it stopped at
    /// the commit point (it returned records 0…4 only).
    @Test func salvageReadsTheSameRecords() throws {
        let pool = try memoryPool(commitInterval: 0)
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        for i in 0..<5 { try w.append(bytes: Array(payload(i, 50)), timestamp: UInt64(i)) }
        w.commit()
        for i in 5..<15 { try w.append(bytes: Array(payload(i, 50)), timestamp: UInt64(i)) }
        try w.append(bytes: Array(payload(15, 2000)), timestamp: 15)
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        w.close()
        try Self.expectSame(crashed, volume: "s")
        try Self.expectSame(crashed, volume: "s", options: ReadOptions(salvage: true))
        let got = Self.viaBatches(try crashed.store.openLaneReader(volume: "s", lane: 0, options: ReadOptions(salvage: true)))
        #expect(got.records.map(\.sequence) == Array(0..<16).map(UInt64.init))
        #expect(got.records.allSatisfy { $0.salvaged == ($0.sequence >= 5) })
        let single = try crashed.store.openLaneReader(volume: "s", lane: 0, options: ReadOptions(salvage: true))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        var copied: [(UInt64, Bool)] = []
        while let r = try single.read(into: buffer) {
            copied.append((r.header.sequence, r.salvaged))
            #expect(Array(buffer[0..<r.length]) == Array(payload(Int(r.header.sequence), r.header.sequence == 15 ? 2000 : 50)))
        }
        #expect(copied.map(\.0) == Array(0..<16).map(UInt64.init))
        #expect(copied.allSatisfy { $0.1 == ($0.0 >= 5) })
    }

    /// A ring lane read with skipReclaimed, lapped by its writer between two
    /// reads: the batches report the same gap and hand out the same records
    /// as `next()`, groups included.
    @Test(arguments: [24, 300])
    func aLappedRingReaderGetsTheSameGapsAndRecords(size: Int) throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        let options = ReadOptions(skipReclaimed: true)
        let a = try pool.store.openLaneReader(volume: "ring", lane: 0, options: options)
        let b = try pool.store.openLaneReader(volume: "ring", lane: 0, options: options)
        var next = 0
        func write(_ bytes: Int) throws {
            for _ in 0..<(bytes / size) {
                try w.append(bytes: Array(payload(next, size)), timestamp: UInt64(next))
                next += 1
                if next % 97 == 0 { w.commit() }
            }
            w.commit()
        }
        for round in 0..<4 {
            // Less than the ring, then several times the ring: the readers are lapped.
            try write(round % 2 == 0 ? 200_000 : 5_000_000)
            try a.refresh()
            try b.refresh()
            let expected = Self.viaNext(a)
            let got = Self.viaBatches(b)
            #expect(got.records == expected.records, "round \(round)")
            #expect(got.error.map { "\($0)" } == expected.error.map { "\($0)" })
            #expect(b.skipped.map(\.description) == a.skipped.map(\.description), "round \(round)")
            #expect(got.records.allSatisfy { $0.bytes == Array(payload(Int($0.sequence), size)) })
        }
        #expect(!a.skipped.isEmpty, "the ring lapped the readers")
        w.close()
    }

    /// A reader taking batches while a writer appends and commits small
    /// records (groups cut by commits anywhere) gets every record once, whole
    /// and in order.
    @Test func followsAConcurrentWriter() throws {
        let pool = try memoryPool(size: 64 << 20)
        try pool.store.createVolume(named: "f")
        let count = 20_000
        let w = try pool.store.openWriter(volume: "f")
        let reader = try pool.store.openLaneReader(volume: "f", lane: 0)
        let size: @Sendable (Int) -> Int = { i in i % 500 == 7 ? 150_000 : (i * 37) % 200 }
        let writer = Thread {
            for i in 0..<count {
                try? w.append(bytes: Array(payload(i, size(i))), timestamp: UInt64(i))
                if i % 61 == 0 { w.commit() }
            }
            w.close()
        }
        writer.start()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        var next = 0, polls = 0
        while next < count && polls < 10_000_000 {
            guard let batch = try reader.read(batchInto: buffer) else {
                try reader.refresh()
                polls += 1
                continue
            }
            for r in batch {
                #expect(r.header.sequence == UInt64(next) && r.payload.count == size(next))
                #expect(Array(r.payload) == Array(payload(next, size(next))), "record \(next)")
                next += 1
            }
        }
        #expect(next == count)
        while !writer.isFinished { usleep(1000) }
    }
}

