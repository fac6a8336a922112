import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The repair rule (trust issue, item 1): repair never makes a committed
/// record unreadable that a read could return before the repair, or that
/// undoing the original damage would bring back. And (item 2) segments a
/// damaged lane lost track of are never handed to another writer.
@Suite struct RepairSafetyTests {
    /// A region with volume "v" (2 lanes, many segments each) and "w".
    static func sample() throws -> (MemoryPool, [String: [[UInt8]]]) {
        let pool = try memoryPool(size: 8 << 20)
        var expected: [String: [[UInt8]]] = [:]
        for (name, lanes, count) in [("v", 2, 600), ("w", 1, 50)] {
            try pool.store.createVolume(named: name, lanes: lanes)
            for lane in 0..<lanes {
                let w = try pool.store.openWriter(volume: name, lane: lane)
                for i in 0..<count {
                    let bytes = Array(payload(i * 3 + lane, 500 + i % 900))
                    try w.append(bytes: bytes, timestamp: UInt64(i * 2 + lane))
                    expected[name, default: []].append(bytes)
                }
                w.close()
            }
        }
        return (pool, expected)
    }

    /// Every record of every volume (sorted per volume, so lane merge order does not matter).
    static func contents(_ store: TraceStore, options: ReadOptions = ReadOptions()) -> [String: [[UInt8]]] {
        var out: [String: [[UInt8]]] = [:]
        for v in store.volumes() {
            guard let reader = try? store.openReader(volume: v.name, options: options) else { continue }
            var records: [[UInt8]] = []
            while let r = try? reader.next() { records.append(r.bytes) }
            out[v.name] = records.sorted { $0.lexicographicallyPrecedes($1) }
        }
        return out
    }

    /// One kind of damage: which bytes to change, given the clean image's store.
    struct Damage: CustomStringConvertible, Sendable {
        let description: String
        let apply: @Sendable (TraceStore, UnsafeMutableRawPointer) -> (offset: Int, count: Int)
    }

    static let damages: [Damage] = [
        Damage(description: "commit word segment index") { store, base in
            let at = Int(store.superblock.laneWordOffset(slot: 0, lane: 1))
            base.storeBytes(of: base.load(fromByteOffset: at, as: UInt64.self) ^ (1 << 26), toByteOffset: at, as: UInt64.self)
            return (at, 8)
        },
        Damage(description: "commit word points at an earlier segment of the lane") { store, base in
            let at = Int(store.superblock.laneWordOffset(slot: 0, lane: 0))
            let word = CommitWord(rawValue: base.load(fromByteOffset: at, as: UInt64.self))!
            // Two lanes allocate in turn, so lane 0's segment two links back is 4 lower.
            precondition(word.segment >= 4, "the sample lane is shorter than the test assumes")
            base.storeBytes(of: CommitWord(segment: word.segment - 4, offset: word.offset).rawValue, toByteOffset: at, as: UInt64.self)
            return (at, 8)
        },
        Damage(description: "commit word offset") { store, base in
            let at = Int(store.superblock.laneWordOffset(slot: 0, lane: 0))
            base.storeBytes(of: base.load(fromByteOffset: at, as: UInt64.self) ^ 0x7, toByteOffset: at, as: UInt64.self)
            return (at, 8)
        },
        Damage(description: "segment header in the middle of a chain") { store, base in
            let at = Int(store.superblock.segmentOffset(2)) + 20
            base.storeBytes(of: base.load(fromByteOffset: at, as: UInt8.self) ^ 0x40, toByteOffset: at, as: UInt8.self)
            return (at, 1)
        },
        Damage(description: "previous link of a segment") { store, base in
            let at = Int(store.superblock.segmentOffset(4)) + 24
            base.storeBytes(of: base.load(fromByteOffset: at, as: UInt8.self) ^ 0x01, toByteOffset: at, as: UInt8.self)
            return (at, 1)
        },
        Damage(description: "CRC-valid superblock copy A with a wrong geometry, newer generation") { store, base in
            var sb = store.superblock
            sb.generation += 1
            sb.segmentAreaOffset += UInt64(store.superblock.segmentSize)
            sb.segmentCount -= 1
            sb.encode(into: base)
            return (0, Layout.superblockSize)
        },
    ]

    @Test(arguments: 0..<damages.count)
    func repairThenUndoLosesNothing(_ k: Int) throws {
        let damage = Self.damages[k]
        let (pool, expected) = try Self.sample()
        #expect(Self.contents(pool.store) == expected.mapValues { $0.sorted { $0.lexicographicallyPrecedes($1) } })
        let image = pool.snapshot()
        let (offset, count) = damage.apply(pool.store, image.base)
        let original = Array(UnsafeRawBufferPointer(start: pool.memory.base + offset, count: count))
        // Before repair: what can be read of the damaged image.
        let before = Self.contents(try MemoryPool.mount(memory: InMemoryRegion(copying: UnsafeRawBufferPointer(start: image.base, count: Int(image.size))), writable: false).store)
        // Repair (a writable mount, then check with repair), then write more to another volume.
        do {
            let damaged = try MemoryPool.mount(memory: image, writable: true)
            _ = try damaged.store.check(repair: true)
            if let w = try? damaged.store.openWriter(volume: "w") {
                for i in 0..<200 { try? w.append(bytes: Array(payload(i, 3000))) }
                w.close()
            }
            let after = Self.contents(damaged.store)
            for (name, records) in before where name != "w" {
                #expect(after[name] == records, "\(damage): repair lost records of '\(name)' that a read returned before it")
            }
        }
        // Undo the damage (only if repair did not already rewrite those bytes from a good twin).
        if offset >= 8192 || Array(UnsafeRawBufferPointer(start: image.base + offset, count: count)) != Array(UnsafeRawBufferPointer(start: pool.memory.base + offset, count: count)) {
            original.withUnsafeBytes { (image.base + offset).copyMemory(from: $0.baseAddress!, byteCount: count) }
        }
        let restored = try MemoryPool.mount(memory: image, writable: false)
        let back = Self.contents(restored.store)
        #expect(back["v"] == expected["v"]!.sorted { $0.lexicographicallyPrecedes($1) }, "\(damage): undoing the damage did not bring every record back")
    }

    @Test func damagedLaneSegmentsAreNotReused() throws {
        let (pool, expected) = try Self.sample()
        let image = pool.snapshot()
        let (offset, count) = Self.damages[1].apply(pool.store, image.base)  // lane 0 of "v" looks shorter
        let damaged = try MemoryPool.mount(memory: image, writable: true)
        // Fill the region from another volume until it is full.
        try damaged.store.createVolume(named: "filler")
        let w = try damaged.store.openWriter(volume: "filler")
        var full = false
        for i in 0..<100_000 where !full {
            do { try w.append(bytes: Array(payload(i, 4000))) } catch { full = true }
        }
        w.close()
        #expect(full)
        #expect(damaged.store.warnings.contains { if case .segmentReserved(_, volume: "v") = $0 { return true } else { return false } })
        // Undo the damage: lane 1 of "v" reads complete again.
        let original = Array(UnsafeRawBufferPointer(start: pool.memory.base + offset, count: count))
        original.withUnsafeBytes { (image.base + offset).copyMemory(from: $0.baseAddress!, byteCount: count) }
        let restored = try MemoryPool.mount(memory: image, writable: false)
        #expect(Self.contents(restored.store)["v"] == expected["v"]!.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func skipDamagedReadsEveryIntactRecordAndSaysWhere() throws {
        let (pool, expected) = try Self.sample()
        let image = pool.snapshot()
        _ = Self.damages[3].apply(pool.store, image.base)  // a header mid-chain
        let damaged = try MemoryPool.mount(memory: image, writable: false)
        #expect(throws: TraceError.self) { _ = try damaged.store.openReader(volume: "v").allRecords() }
        let reader = try damaged.store.openReader(volume: "v", options: ReadOptions(skipDamaged: true))
        var got: [[UInt8]] = []
        while let r = try reader.next() { got.append(r.bytes) }
        #expect(!reader.skipped.isEmpty)
        #expect(reader.skipped.contains { $0.description.contains("segment 2") })
        // Everything but the records of the damaged segment is there.
        let all = Set(expected["v"]!)
        #expect(Set(got).isSubset(of: all))
        #expect(got.count > expected["v"]!.count - 150 && got.count < expected["v"]!.count)
    }

    @Test func oneDamagedPayloadHidesNothingElse() throws {
        let pool = try memoryPool(grouping: false)  // plain records: one damaged record, nothing else (a group is skipped whole)
        try pool.store.createVolume(named: "d")
        let w = try pool.store.openWriter(volume: "d")
        for i in 0..<40 { try w.append(bytes: Array(payload(i, 200)), timestamp: UInt64(i)) }
        w.close()
        let image = pool.snapshot()
        let victim = try { () throws -> RecordView in
            let r = try pool.store.openReader(volume: "d")
            for _ in 0..<20 { _ = try r.next() }
            return try r.next()!
        }()
        let at = Int(pool.store.superblock.segmentOffset(victim.segment)) + victim.offset + 32 + 50
        for k in 0..<4 { image.base.storeBytes(of: 0xFF, toByteOffset: at + k, as: UInt8.self) }
        let damaged = try MemoryPool.mount(memory: image, writable: false)
        // A plain read hands out the 20 intact records before the damage, then stops with where.
        let plain = try damaged.store.openReader(volume: "d")
        var first: [UInt64] = []
        #expect(throws: TraceError.self) { while let r = try plain.next() { first.append(r.sequence) } }
        #expect(first == Array(0..<20))
        // Skipping the damage returns the other 39 and names the skip.
        let skipping = try damaged.store.openReader(volume: "d", options: ReadOptions(skipDamaged: true))
        var seen: [UInt64] = []
        while let r = try skipping.next() { seen.append(r.sequence); #expect(r.bytes == Array(payload(Int(r.sequence), 200))) }
        #expect(seen == Array(0..<20) + Array(21..<40))
        #expect(skipping.skipped.count == 1 && skipping.skipped[0].description.contains("checksum mismatch"))
    }

    @Test func reservedKindsAreRefused() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "k")
        let w = try pool.store.openWriter(volume: "k")
        for kind: UInt16 in [0, RecordKind.firstReserved, 100, 0x7FFF] {
            #expect(throws: TraceError.reservedKind(kind)) { try w.append(bytes: [1], kind: RecordKind(rawValue: kind)) }
        }
        for kind: UInt16 in [1, 8, 0x8000, 0xFFFF] { try w.append(bytes: [2], kind: RecordKind(rawValue: kind)) }
        w.close()
        #expect(try readAll(try pool.store.openReader(volume: "k")).map(\.kind.rawValue) == [1, 8, 0x8000, 0xFFFF])
    }

    @Test func endMarkerInsideCommittedDataIsReported() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "e")
        let w = try pool.store.openWriter(volume: "e")
        for i in 0..<10 { try w.append(bytes: Array(payload(i, 100))) }
        w.close()
        // Rewrite record 3 as an end-of-segment marker with a valid checksum (what kind 0 used to do).
        let image = pool.snapshot()
        let r = try pool.store.openReader(volume: "e")
        for _ in 0..<3 { _ = try r.next() }
        let victim = try r.next()!
        let seg = pool.store.superblock.segmentOffset(victim.segment)
        let p = image.base + Int(seg) + victim.offset
        let seed = try { () throws -> UInt32 in
            let bytes = UnsafeRawBufferPointer(start: image.base + Int(seg), count: 64)
            return try SegmentHeader.decode(bytes, expectedIndex: victim.segment).crc
        }()
        RecordHeader(payloadLength: 0, kind: .endOfSegment, flags: [], sequence: 3, timestamp: 0).encodeFields(into: p)
        p.storeLE(RecordHeader.checksum(seed: seed, header: p, payload: p + 32, count: 0, crc: CRC32C.software), at: 28)
        let report = try MemoryPool.mount(memory: image, writable: false).store.check()
        #expect(report.findings.contains { $0.severity == .error && $0.message.contains("end-of-segment record") }, "\(report.findings)")
    }

    @Test func copyVerifiedRefusesBytesThatChanged() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "c")
        let w = try pool.store.openWriter(volume: "c")
        try w.append(bytes: Array(payload(1, 5000)))
        w.close()
        let record = try pool.store.openReader(volume: "c").next()!
        var out: [UInt8] = []
        try record.copyVerified { out.append(contentsOf: $0) }
        #expect(out == Array(payload(1, 5000)))
        // A concurrent writer reuses the bytes: the copy no longer verifies, and nothing is handed out.
        let at = Int(pool.store.superblock.segmentOffset(record.segment)) + record.offset + 32 + 100
        pool.memory.base.storeBytes(of: ~pool.memory.base.load(fromByteOffset: at, as: UInt8.self), toByteOffset: at, as: UInt8.self)
        var handed = 0
        #expect(throws: TraceError.recordChanged(segment: record.segment, offset: record.offset)) {
            try record.copyVerified { handed += $0.count }
        }
        #expect(handed == 0)
    }

    /// A ring volume whose chain is cut in the middle must not read as a
    /// shorter ring (silent truncation): the older segments still exist.
    @Test func ringChainCutInTheMiddleIsDamageNotAShorterRing() throws {
        let pool = try memoryPool(size: 4 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        for i in 0..<200 { try w.append(bytes: Array(payload(i, 2000)), timestamp: UInt64(i)) }
        w.close()
        let chain = try { () throws -> [UInt64] in
            let r = try pool.store.openLaneReader(volume: "ring", lane: 0)
            var segments: [UInt64] = []
            while let record = try r.next() { if segments.last != record.segment { segments.append(record.segment) } }
            return segments
        }()
        #expect(chain.count >= 4)
        let image = pool.snapshot()
        let victim = chain[chain.count / 2]
        let at = Int(pool.store.superblock.segmentOffset(victim)) + 40
        image.base.storeBytes(of: ~image.base.load(fromByteOffset: at, as: UInt8.self), toByteOffset: at, as: UInt8.self)
        let damaged = try MemoryPool.mount(memory: image, writable: false)
        #expect(throws: TraceError.self) {
            let r = try damaged.store.openReader(volume: "ring")
            while try r.next() != nil {}
        }
        #expect(!(try damaged.store.check().clean))
        // Skipping the damage returns everything outside the damaged segment.
        let r = try damaged.store.openReader(volume: "ring", options: ReadOptions(skipDamaged: true))
        var n = 0
        while try r.next() != nil { n += 1 }
        #expect(n >= 200 - 2 * (Int(pool.store.superblock.segmentSize) / 2032 + 1) && n < 200)
    }
}
