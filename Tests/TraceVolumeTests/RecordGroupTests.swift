import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Record groups (FORMAT.md §7.1): small records packed under one header read
/// back exactly as if they had been written one by one; a damaged group is a
/// typed error at its place, skipped whole by a damage-skipping reader.
@Suite struct RecordGroupTests {
    /// Record `i`'s size, kind and timestamp in the mixed workload.
    static func shape(_ i: Int) -> (size: Int, kind: RecordKind, timestamp: UInt64) {
        let sizes = [0, 1, 5, 8, 13, 64, 100, 255, 256, 700, 1024, 1025, 3000]
        let kind: RecordKind = i % 7 == 0 ? .marker : (i % 11 == 0 ? RecordKind(rawValue: 0x8001) : .blob)
        // Mostly increasing; a jump past 2^32 ns and a step back close groups.
        var ts = UInt64(1_000 + i * 10)
        if i >= 300 { ts += 5 << 32 }
        if i == 450 { ts = 7 }
        return (sizes[(i * 7) % sizes.count], kind, ts)
    }

    static func write(_ pool: MemoryPool, count: Int, commitEvery: Int) throws {
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        for i in 0..<count {
            let s = shape(i)
            try w.append(bytes: Array(payload(i, s.size)), kind: s.kind, timestamp: s.timestamp)
            if commitEvery > 0 && i % commitEvery == commitEvery - 1 { w.commit() }
        }
        w.close()
    }

    /// Kinds of the on-media records of a lane's segments (what a 1.2 reader would see).
    static func mediaKinds(_ pool: MemoryPool, segment: UInt64) -> [UInt16] {
        let sb = pool.store.superblock
        let base = UnsafeRawPointer(pool.memory.base) + Int(sb.segmentOffset(segment))
        var at = Layout.segmentHeaderSize, kinds: [UInt16] = []
        while at + 32 <= Int(sb.segmentSize) {
            let h = RecordHeader.decodeFields(base + at)
            if h.kind == .endOfSegment && h.payloadLength == 0 { break }
            kinds.append(h.kind.rawValue)
            at += Layout.recordFootprint(payloadLength: Int(h.payloadLength))
        }
        return kinds
    }

    @Test(arguments: [0, 1, 2, 17])
    func readBackExactly(commitEvery: Int) throws {
        let pool = try memoryPool()
        let count = 600
        try Self.write(pool, count: count, commitEvery: commitEvery)
        let records = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        #expect(records.count == count)
        var offsets = Set<String>()
        for (i, r) in records.enumerated() {
            let s = Self.shape(i)
            #expect(r.sequence == UInt64(i))
            #expect(r.timestamp == s.timestamp, "record \(i)")
            #expect(r.kind == s.kind)
            #expect(r.bytes == Array(payload(i, s.size)), "record \(i)")
            #expect(try r.verifiedBytes() == Array(payload(i, s.size)))
            offsets.insert("\(r.segment):\(r.offset)")
        }
        #expect(offsets.count == count, "every record has its own place")
        // The lending scan sees the same.
        var n = 0
        _ = try pool.store.openLaneReader(volume: "g", lane: 0).forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
            #expect(r.sequence == UInt64(n) && r.bytes == Array(payload(n, Self.shape(n).size)))
            n += 1
            return true
        }
        #expect(n == count)
        let report = try pool.store.check()
        #expect(report.findings.filter { $0.severity != .info }.isEmpty, "\(report.findings)")
        #expect(report.recordsChecked == UInt64(count))
        let firstSegment = records[0].segment
        let kinds = Self.mediaKinds(pool, segment: firstSegment)
        if commitEvery == 1 {
            #expect(!kinds.contains(RecordKind.recordGroup.rawValue), "a commit per record writes plain records")
        } else {
            #expect(kinds.contains(RecordKind.recordGroup.rawValue), "small records were grouped: \(kinds.prefix(10))")
        }
    }

    /// Every member length from 0 to 140 bytes (the fast path copies up to
    /// 128 bytes inline with overlapping 1-, 4-, 8- and 16-byte moves,
    /// `copyMemberPayload`, larger ones through the library), each from a
    /// source at an odd address, reads back byte for byte in order, with
    /// nothing of a neighbour in it; and in every group on media each
    /// member's padding is zero (a move past the member's end would leave
    /// source bytes there, where no reader looks).
    @Test func everySmallMemberLengthReadsBackExactly() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        let longest = 140
        var source = [UInt8](repeating: 0, count: 4 * (longest + 1) + 1)
        var expected: [[UInt8]] = []
        for round in 0..<3 {
            for n in 0...longest {
                for i in source.indices { source[i] = UInt8(truncatingIfNeeded: i &* 31 &+ n &* 7 &+ round) | 1 }  // never 0
                let start = 1 + (n * 3) % 64  // odd and even offsets, never 16-byte aligned at the start
                let bytes = Array(source[start..<(start + n)])
                try source.withUnsafeBytes { b in
                    try w.append(UnsafeRawBufferPointer(rebasing: b[start..<(start + n)]), timestamp: UInt64(expected.count))
                }
                expected.append(bytes)
            }
            w.commit()
        }
        w.close()
        let records = try pool.store.openLaneReader(volume: "s", lane: 0).allRecords()
        #expect(records.count == expected.count)
        for (i, r) in records.enumerated() where i < expected.count {
            #expect(r.bytes == expected[i], "record \(i) (\(expected[i].count) bytes)")
        }
        // The members' padding on media, group by group.
        let sb = pool.store.superblock
        var groups = 0, members = 0
        for segment in Set(records.map(\.segment)) {
            let base = UnsafeRawPointer(pool.memory.base) + Int(sb.segmentOffset(segment))
            var at = Layout.segmentHeaderSize
            while at + Layout.recordHeaderSize <= Int(sb.segmentSize) {
                let h = RecordHeader.decodeFields(base + at)
                if h.kind == .endOfSegment && h.payloadLength == 0 { break }
                if h.kind == .recordGroup {
                    groups += 1
                    let payload = base + at + Layout.recordHeaderSize
                    var m = 0
                    while m < Int(h.payloadLength) {
                        let length = Int(payload.loadLE(m, as: UInt64.self) & 0xFFFF)
                        let end = m + RecordGroup.memberFootprint(payloadLength: length)
                        for pad in (m + RecordGroup.memberHeaderSize + length)..<end {
                            #expect(payload.load(fromByteOffset: pad, as: UInt8.self) == 0, "member of \(length) bytes: padding byte \(pad - m) not zero")
                        }
                        members += 1
                        m = end
                    }
                }
                at += Layout.recordFootprint(payloadLength: Int(h.payloadLength))
            }
        }
        #expect(groups > 0 && members > 2 * (longest + 1), "\(groups) groups, \(members) members")
    }

    @Test func writerResumesAfterGroupsAndSeekFindsMembers() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        var w = try pool.store.openWriter(volume: "g")
        for i in 0..<50 { try w.append(bytes: Array(payload(i, 10)), timestamp: UInt64(100 + i)) }
        w.close()
        w = try pool.store.openWriter(volume: "g")
        #expect(w.nextSequence == 50)
        for i in 50..<80 { try w.append(bytes: Array(payload(i, 10)), timestamp: UInt64(100 + i)) }
        w.close()
        let reader = try pool.store.openLaneReader(volume: "g", lane: 0)
        try reader.seek(timestamp: 137)
        let r = try #require(try reader.next())
        #expect(r.sequence == 37 && r.timestamp == 137)
        #expect(try reader.allRecords().map(\.sequence) == Array(38..<80).map(UInt64.init))
    }

    /// A timestamp just past 2^64 after a group started near 2^64 (the
    /// wrapping difference is small) closes the group, as any step back
    /// does, on every path that joins a group: staged members, members
    /// streamed straight in, batches. Before, it joined the group with the
    /// wrapped delta, and after the commit returned the whole group was
    /// unreadable ("invalid member timestampDelta"; adversary s27).
    @Test(arguments: [8, 64, 800])
    func timestampWrappingPast2To64ClosesTheGroup(size: Int) throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "w")
        let w = try pool.store.openWriter(volume: "w")
        let high = UInt64.max - 15
        var expected: [(UInt64, [UInt8])] = []
        for i in 0..<40 {
            let ts = i < 20 ? high + UInt64(i % 10) : UInt64(84 + i)
            let p = Array(payload(i, size))
            if i % 10 == 5 {
                let batch = Array(payload(100 + i, 3 * size))
                try batch.withUnsafeBytes { try w.append(batch: $0, recordLength: size, timestamp: ts) }
                for k in 0..<3 { expected.append((ts, Array(batch[(k * size)..<((k + 1) * size)]))) }
            }
            try w.append(bytes: p, timestamp: ts)
            expected.append((ts, p))
        }
        w.close()
        let records = try pool.store.openLaneReader(volume: "w", lane: 0).allRecords()
        #expect(records.count == expected.count)
        for (r, e) in zip(records, expected) where r.timestamp != e.0 || r.bytes != e.1 {
            Issue.record("record \(r.sequence): timestamp \(r.timestamp), expected \(e.0)")
            break
        }
        #expect(try pool.store.check().clean)
    }

    @Test func manySegmentsWithoutACommit() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        let count = 5000  // ~ 5000 × 120 B: several 64 KiB segments, groups cut by the segment ends
        for i in 0..<count { try w.append(bytes: Array(payload(i, 100 + i % 17)), timestamp: UInt64(i)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        #expect(records.map(\.sequence) == Array(0..<count).map(UInt64.init))
        #expect(Set(records.map(\.segment)).count >= 9)
        for (i, r) in records.enumerated() where r.bytes != Array(payload(i, 100 + i % 17)) { Issue.record("record \(i) differs") }
    }

    @Test func olderRegionsGetPlainRecords() throws {
        let pool = try memoryPool()
        let image = pool.snapshot()
        var sb = pool.store.superblock
        sb.versionMinor = 2
        sb.encode(into: image.base)
        sb.encode(into: image.base + 4096)
        let old = try MemoryPool.mount(memory: image, writable: true)
        try Self.write(old, count: 100, commitEvery: 0)
        let records = try old.store.openLaneReader(volume: "g", lane: 0).allRecords()
        #expect(records.map(\.sequence) == Array(0..<100).map(UInt64.init))
        #expect(!Self.mediaKinds(old, segment: records[0].segment).contains(RecordKind.recordGroup.rawValue))
        #expect(old.store.superblock.versionMinor == 2)
    }

    /// A group written but not committed (a larger record closed it) is
    /// salvaged whole; records still staged in DRAM are not in the mapping.
    @Test func writtenGroupPastTheCommitPointIsSalvaged() throws {
        let pool = try memoryPool(commitInterval: 0)
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        for i in 0..<5 { try w.append(bytes: Array(payload(i, 50)), timestamp: UInt64(i)) }
        w.commit()
        for i in 5..<15 { try w.append(bytes: Array(payload(i, 50)), timestamp: UInt64(i)) }
        try w.append(bytes: Array(payload(15, 2000)), timestamp: 15)  // writes the group of 5...14, then itself
        for i in 16..<20 { try w.append(bytes: Array(payload(i, 50)), timestamp: UInt64(i)) }  // staged only
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        w.close()
        #expect(try crashed.store.openLaneReader(volume: "s", lane: 0).allRecords().map(\.sequence) == Array(0..<5).map(UInt64.init))
        let reader = try crashed.store.openReader(volume: "s", salvage: true)
        var got: [(UInt64, Bool)] = []
        while let r = try reader.next() {
            got.append((r.sequence, r.salvaged))
            let size = r.sequence == 15 ? 2000 : 50
            let expected = Array(payload(Int(r.sequence), size))
            #expect(r.bytes == expected)
        }
        #expect(got.map(\.0) == Array(0..<16).map(UInt64.init))
        #expect(got.allSatisfy { $0.1 == ($0.0 >= 5) })
        let report = try crashed.store.check()
        #expect(report.clean && report.salvageableRecords == 11)
    }

    /// Groups larger than the writer's streaming batch (4 KiB) go into the
    /// segment in pieces before their header (`LaneWriter.streamChunk`): they
    /// read back exactly with the fused copy and without it, with members of
    /// every size and commits cutting groups anywhere. A snapshot taken while a
    /// group is half streamed shows only what was committed, to readers,
    /// salvage and check alike; a writer resuming there overwrites the pieces.
    @Test(arguments: [true, false])
    func streamedGroupsReadBackAndStayInvisibleUntilClosed(fused: Bool) throws {
        let (pool, options) = try groupingPool(fused: fused)
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        let sizes = [64, 0, 5, 256, 1024, 13, 700, 64, 64, 255]
        func size(_ i: Int) -> Int { sizes[(i * 3) % sizes.count] }
        for i in 0..<3000 {
            try w.append(bytes: Array(payload(i, size(i))), timestamp: UInt64(i))
            if i % 401 == 400 { w.commit() }
        }
        w.commit()
        // An open group streamed well past one batch (groups the segment's end
        // closed before it were committed by the segment switch).
        for i in 3000..<3150 { try w.append(bytes: Array(payload(i, size(i))), timestamp: UInt64(i)) }
        let crashed = try MemoryPool.mount(memory: pool.snapshot(), writable: true, options: options)
        w.close()
        let records = try pool.store.openLaneReader(volume: "s", lane: 0).allRecords()
        #expect(records.count == 3150)
        for (i, r) in records.enumerated() {
            #expect(r.sequence == UInt64(i) && r.timestamp == UInt64(i))
            #expect(r.bytes == Array(payload(i, size(i))), "record \(i)")
        }
        let committed = try crashed.store.openLaneReader(volume: "s", lane: 0).allRecords().count
        // ≥ 40 members (~10 KiB at these sizes) were in the open group.
        #expect(committed >= 3000 && committed <= 3150 - 40, "\(committed) committed")
        let salvage = try crashed.store.openReader(volume: "s", salvage: true)
        var seen = 0
        while try salvage.next() != nil { seen += 1 }
        #expect(seen == committed)
        let report = try crashed.store.check()
        #expect(report.clean && report.salvageableRecords == 0)
        // The writer of the crashed image continues at the commit point.
        let again = try crashed.store.openWriter(volume: "s")
        for i in 0..<200 { try again.append(bytes: Array(payload(10_000 + i, 64)), timestamp: UInt64(5000 + i)) }
        again.close()
        let after = try crashed.store.openLaneReader(volume: "s", lane: 0).allRecords()
        #expect(after.count == committed + 200)
        #expect(after.last.map { $0.bytes == Array(payload(10_199, 64)) } == true)
        #expect(try crashed.store.check().clean)
    }

    @Test func callersCannotAppendGroups() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        #expect(throws: TraceError.reservedKind(11)) { try w.append(bytes: [1, 2, 3], kind: .recordGroup) }
    }

    /// Three committed groups; returns the pool and the (segment, offset) of the middle group's header.
    static func threeGroups() throws -> (MemoryPool, segment: UInt64, offset: Int) {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        for i in 0..<30 {
            try w.append(bytes: Array(payload(i, 40)), timestamp: UInt64(i))
            if i % 10 == 9 { w.commit() }
        }
        w.close()
        let records = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        // Member 10 is the first of the middle group: its member header follows the group header.
        return (pool, records[10].segment, records[10].offset - Layout.recordHeaderSize)
    }

    /// `copyVerified` of group members checks each group once (the reader's
    /// verified copy) and still never serves a byte that did not pass: a group
    /// changed after its members were handed out, and not copied yet, is
    /// `.recordChanged`; members of groups copied before the change come from
    /// the copy that passed.
    @Test func membersCopyOutFromOneVerifiedCopyPerGroup() throws {
        let (pool, segment, offset) = try Self.threeGroups()
        let views = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        #expect(views.count == 30)
        // Members 0 … 14: groups 1 and 2 copied and checked (group 2 stays cached).
        for i in 0..<15 { #expect(try views[i].verifiedBytes() == Array(payload(i, 40)), "member \(i)") }
        // Change a byte of the middle group's last member, then of the last group.
        let groupAt = pool.memory.base + Int(pool.store.superblock.segmentOffset(segment)) + offset
        let lastGroupAt = groupAt + Layout.recordFootprint(payloadLength: 10 * 48)
        for p in [groupAt + 32 + 9 * 48 + 8, lastGroupAt + 32 + 8] { p.storeBytes(of: p.load(as: UInt8.self) ^ 0x01, as: UInt8.self) }
        // The middle group's copy passed before the change: its members come from it, unchanged.
        for i in 15..<20 { #expect(try views[i].verifiedBytes() == Array(payload(i, 40)), "member \(i)") }
        // The last group was not copied before: its copy fails the checksum, for every member.
        for i in 20..<30 {
            #expect(throws: TraceError.recordChanged(segment: views[i].segment, offset: views[i].offset)) { _ = try views[i].verifiedBytes() }
        }
        // read(into:) shares the cache logic: a fresh reader refuses the changed group.
        let reader = try pool.store.openLaneReader(volume: "g", lane: 0)
        var buffer = [UInt8](repeating: 0, count: 64)
        var read = 0
        do {
            while let r = try buffer.withUnsafeMutableBytes({ b throws(TraceError) in try reader.read(into: b) }) {
                #expect(Array(buffer[0..<r.length]) == Array(payload(read, 40)))
                read += 1
            }
            Issue.record("no error")
        } catch {
            #expect(read == 10, "every member before the changed group, none of it")
        }
    }

    @Test func damagedGroupIsATypedErrorAndSkippedWhole() throws {
        let (pool, segment, offset) = try Self.threeGroups()
        let sb = pool.store.superblock
        let groupAt = Int(sb.segmentOffset(segment)) + offset
        #expect(RecordHeader.decodeFields(UnsafeRawPointer(pool.memory.base) + groupAt).kind == .recordGroup)
        pool.memory.base.storeBytes(of: pool.memory.base.load(fromByteOffset: groupAt + 100, as: UInt8.self) ^ 0x10,
                                    toByteOffset: groupAt + 100, as: UInt8.self)
        let image = pool.snapshot()
        let damaged = try MemoryPool.mount(memory: image, writable: false)
        let reader = try damaged.store.openLaneReader(volume: "g", lane: 0)
        var seen: [UInt64] = []
        do {
            while let r = try reader.next() { seen.append(r.sequence) }
            Issue.record("no error")
        } catch {
            guard case .laneDamaged(let volume, let lane, let e) = error, case .checksumMismatch(let s, _, _) = e else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(volume == "g" && lane == 0)
            #expect(s == .record(segment: segment, offset: UInt64(offset)))
        }
        #expect(seen == Array(0..<10).map(UInt64.init), "every record before the group, none of it")
        var options = ReadOptions()
        options.skipDamaged = true
        let skipping = try damaged.store.openLaneReader(volume: "g", lane: 0, options: options)
        let got = try skipping.allRecords().map(\.sequence)
        let expected: [UInt64] = Array(0..<10) + Array(20..<30)
        #expect(got == expected, "the group skipped whole: \(got)")
        #expect(skipping.skipped.count == 1)
        let report = try damaged.store.check()
        #expect(report.findings.contains { $0.severity == .error && $0.message.contains("offset \(offset)") })
    }

    /// A group whose checksum is right but whose members do not add up (a
    /// buggy writer): an error naming the member, never a trap.
    @Test(arguments: [
        (8, UInt64(0xFFFF)),                 // member length past the group
        (10, UInt64(0)),                     // member kind 0
        (10, UInt64(11)),                    // member kind 11
        (12, UInt64(UInt32.max)),            // timestamp overflow (the group's timestamp is made huge)
    ])
    func malformedGroupWithValidChecksum(field: Int, value: UInt64) throws {
        let (pool, segment, offset) = try Self.threeGroups()
        let sb = pool.store.superblock
        let segmentBase = pool.memory.base + Int(sb.segmentOffset(segment))
        let group = segmentBase + offset
        // The second member's header (the first member is 8 + 40 bytes).
        let member = 32 + 48
        let width = field == 12 ? 4 : 2
        if width == 2 { group.storeLE(UInt16(value), at: member + field - 8) } else { group.storeLE(UInt32(value), at: member + field - 8) }
        if field == 12 { group.storeLE(UInt64.max - 5, at: 16) }  // the group's timestamp
        // Re-seal the group with a valid checksum.
        let seed: UInt32 = UnsafeRawPointer(segmentBase).loadLE(60)
        let length = Int(RecordHeader.decodeFields(UnsafeRawPointer(group)).payloadLength)
        let crc = RecordHeader.checksum(seed: seed, header: group, payload: group + 32, count: length, crc: CRC32C.software)
        group.storeLE(crc, at: 28)
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(throws: TraceError.self) { _ = try damaged.store.openLaneReader(volume: "g", lane: 0).allRecords() }
        do {
            _ = try damaged.store.openLaneReader(volume: "g", lane: 0).allRecords()
        } catch {
            guard case .laneDamaged(_, _, let e) = error, case .invalidField(let s, _, _) = e else { Issue.record("\(error)"); return }
            #expect(s == .record(segment: segment, offset: UInt64(offset + member)))
        }
        var options = ReadOptions()
        options.skipDamaged = true
        let got = try damaged.store.openLaneReader(volume: "g", lane: 0, options: options).allRecords().map(\.sequence)
        #expect(got.prefix(10) == ArraySlice(0..<10), "\(got)")
        #expect(!got.contains(15))
    }

    /// A group of many `RecordGroup.scanChunk`s (64 B records, one commit: a
    /// 64 KiB group), as the reader checks it in one pass, chunk by chunk: a
    /// member made malformed deep in the group (checksum re-sealed) is named
    /// at its place, a flipped byte in the last chunk is a checksum mismatch,
    /// and neither hands out a member of the group.
    @Test(arguments: [false, true])
    func largeGroupIsCheckedWholeInOnePass(resealed: Bool) throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "g")
        let w = try pool.store.openWriter(volume: "g")
        for i in 0..<2_000 { try w.append(bytes: Array(payload(i, 64)), timestamp: UInt64(i)) }
        w.close()
        let records = try pool.store.openLaneReader(volume: "g", lane: 0).allRecords()
        #expect(records.count == 2_000)
        let segmentBase = pool.memory.base + Int(pool.store.superblock.segmentOffset(records[0].segment))
        let groupOffset = records[0].offset - Layout.recordHeaderSize
        let group = segmentBase + groupOffset
        let h = RecordHeader.decodeFields(UnsafeRawPointer(group))
        try #require(h.kind == .recordGroup && h.payloadLength > 3 * UInt32(RecordGroup.scanChunk))
        // Member 600 lies well past the first chunks; its kind becomes 0.
        let k = 600
        try #require(records[k].segment == records[0].segment && records[k].offset - groupOffset < Int(h.payloadLength))
        let last = group + Layout.recordHeaderSize + Int(h.payloadLength) - 1
        if resealed {
            (segmentBase + records[k].offset).storeLE(UInt16(0), at: 2)
            let seed: UInt32 = UnsafeRawPointer(segmentBase).loadLE(60)
            group.storeLE(RecordHeader.checksum(seed: seed, header: group, payload: group + 32, count: Int(h.payloadLength), crc: CRC32C.software), at: 28)
        } else {
            last.storeBytes(of: last.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
        }
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        var handedOut = 0
        do {
            _ = try damaged.store.openLaneReader(volume: "g", lane: 0).forEachRecord { _ in handedOut += 1; return true }
            Issue.record("no error")
        } catch {
            guard case .laneDamaged(_, _, let e) = error else { Issue.record("\(error)"); return }
            switch e {
            case .invalidField(let s, let field, _) where resealed:
                #expect(s == .record(segment: records[k].segment, offset: UInt64(records[k].offset)))
                #expect(field == "member kind")
            case .checksumMismatch(let s, _, _) where !resealed:
                #expect(s == .record(segment: records[0].segment, offset: UInt64(groupOffset)))
            default: Issue.record("unexpected \(e)")
            }
        }
        #expect(handedOut == 0, "no member of a damaged group leaves")
    }
}
