import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Raw access to the bytes of a region, to check what FORMAT.md says is on media.
private struct Raw {
    let base: UnsafeMutableRawPointer
    let sb: Superblock

    init(_ pool: MemoryPool) {
        base = pool.memory.base
        sb = pool.store.superblock
    }

    func segment(_ i: UInt64) -> UnsafeMutableRawPointer { base + Int(sb.segmentOffset(i)) }

    func header(_ i: UInt64) throws -> (header: SegmentHeader, crc: UInt32) {
        try SegmentHeader.decode(UnsafeRawBufferPointer(start: segment(i), count: Layout.segmentHeaderSize), expectedIndex: i)
    }

    func record(_ i: UInt64, _ offset: Int) -> RecordHeader { RecordHeader.decodeFields(segment(i) + offset) }

    /// True if the record at (i, offset) passes its CRC check (seeded by the segment header's CRC).
    func recordValid(_ i: UInt64, _ offset: Int) throws -> Bool {
        let seed = try header(i).crc
        let p = segment(i) + offset
        let h = record(i, offset)
        let crc = CRC32C.update(CRC32C.update(seed, UnsafeRawBufferPointer(start: p, count: 28)),
                                UnsafeRawBufferPointer(start: p + 32, count: Int(h.payloadLength)))
        return crc == RecordHeader.storedCRC(p)
    }

    /// Changes a record's header fields and gives it a valid CRC again.
    func rewriteRecord(_ i: UInt64, _ offset: Int, _ change: (inout RecordHeader) -> Void) throws {
        let seed = try header(i).crc
        let p = segment(i) + offset
        var h = record(i, offset)
        change(&h)
        h.encodeFields(into: p)
        let crc = CRC32C.update(CRC32C.update(seed, UnsafeRawBufferPointer(start: p, count: 28)),
                                UnsafeRawBufferPointer(start: p + 32, count: Int(h.payloadLength)))
        p.storeLE(crc, at: 28)
    }

    /// Changes a segment header and gives it a valid CRC again (records in it then no longer validate).
    /// Rewrites segment `i`'s header, and its summary entry as a writer
    /// writing that header would (FORMAT.md §6.1).
    func rewriteHeader(_ i: UInt64, _ change: (inout SegmentHeader) -> Void) throws {
        var h = try header(i).header
        change(&h)
        h.encode(into: segment(i))
        if sb.summaryOffset != 0 { SummaryEntry(h).encode(into: base + Int(sb.summaryEntryOffset(i)), index: i) }
    }

    func entry(slot: Int, copy: Int) -> VolumeEntry.Decoded {
        let p = base + Int(sb.volumeSlotOffset(slot)) + copy * Layout.volumeEntrySize
        return VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: Layout.volumeEntrySize), slot: slot, copy: copy,
                                  maxLanes: sb.maxLanesPerVolume)
    }

    func writeEntry(_ e: VolumeEntry, slot: Int, copy: Int) {
        e.encode(into: base + Int(sb.volumeSlotOffset(slot)) + copy * Layout.volumeEntrySize)
    }
}

private func entryValue(_ d: VolumeEntry.Decoded) -> VolumeEntry? {
    if case .entry(let e) = d { return e }
    return nil
}

/// 64 KiB segments: records start at 64; a segment holds 65536 − 64 bytes of records.
private let segmentSize = 65536
/// Payload of a first record that leaves exactly `left` bytes after it in segment 0.
private func filler(leaving left: Int) -> Int { segmentSize - left - Layout.segmentHeaderSize - Layout.recordHeaderSize }

/// Pins FORMAT.md §3, §4, §6, §7 and §10.4 where a second implementation had to guess.
@Suite struct FormatContractTests {
    // MARK: §7 split rule

    /// A lane whose segment 0 holds one record and then `left` free bytes.
    private func lane(leaving left: Int, commitInterval: Int = 1 << 20, size: UInt64 = 16 << 20) throws -> (MemoryPool, LaneWriter) {
        let pool = try memoryPool(size: size, commitInterval: commitInterval, grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        try w.append(bytes: Array(payload(0, filler(leaving: left))), timestamp: 10)
        #expect(Raw(pool).record(0, 64).payloadLength == UInt32(filler(leaving: left)))
        return (pool, w)
    }

    @Test func recordOf4097BytesWith3432LeftIsMovedWhole() throws {
        let (pool, w) = try lane(leaving: 3432)
        try w.append(bytes: Array(payload(1, 4097)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        let r = raw.record(1, 64)
        #expect(r.payloadLength == 4097 && r.flags.isEmpty && r.sequence == 1 && r.timestamp == 20)
        // The old tail ends with an end-of-segment record: sequence and timestamp of the append that moved on.
        let end = raw.record(0, segmentSize - 3432)
        #expect(end.kind == .endOfSegment && end.payloadLength == 0 && end.flags.isEmpty && end.sequence == 1 && end.timestamp == 20)
        #expect(try raw.recordValid(0, segmentSize - 3432))
        let h = try raw.header(1).header
        #expect(h.sequence == 1 && h.previous == 0 && h.firstRecordSequence == 1 && h.firstTimestamp == 20 && h.index == 1 && h.lane == 0)
    }

    @Test func recordOf4096OrMoreIsSplitWhenAtLeast4128BytesAreLeft() throws {
        let (pool, w) = try lane(leaving: 4128)
        try w.append(bytes: Array(payload(1, 10000)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        let first = raw.record(0, segmentSize - 4128)
        #expect(first.payloadLength == 4096 && first.flags == .hasMore && first.sequence == 1 && first.timestamp == 20)
        let last = raw.record(1, 64)
        #expect(last.payloadLength == 10000 - 4096 && last.flags == .continuation && last.sequence == 1 && last.timestamp == 20)
        // The segment opened by the continuation names the split record, not the next one.
        let h = try raw.header(1).header
        #expect(h.firstRecordSequence == 1 && h.firstTimestamp == 20)
        let back = try readAll(try pool.store.openReader(volume: "v"))
        #expect(back.map(\.bytes) == [Array(payload(0, filler(leaving: 4128))), Array(payload(1, 10000))])
    }

    @Test func recordOf4096OrMoreIsMovedWholeWhenFewerThan4128BytesAreLeft() throws {
        let (pool, w) = try lane(leaving: 4120)
        try w.append(bytes: Array(payload(1, 10000)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        #expect(raw.record(0, segmentSize - 4120).kind == .endOfSegment)
        let r = raw.record(1, 64)
        #expect(r.payloadLength == 10000 && r.flags.isEmpty && r.sequence == 1)
    }

    @Test func smallRecordThatDoesNotFitIsMovedWhole() throws {
        let (pool, w) = try lane(leaving: 4000)
        try w.append(bytes: Array(payload(1, 4095)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        #expect(raw.record(0, segmentSize - 4000).kind == .endOfSegment)
        #expect(raw.record(1, 64).payloadLength == 4095 && raw.record(1, 64).flags.isEmpty)
    }

    @Test func noEndRecordWhenFewerThan32BytesAreLeft() throws {
        let (pool, w) = try lane(leaving: 24)
        try w.append(bytes: Array(payload(1, 100)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        #expect((0..<24).allSatisfy { raw.segment(0).load(fromByteOffset: segmentSize - 24 + $0, as: UInt8.self) == 0 })
        #expect(raw.record(1, 64).payloadLength == 100)
        #expect(try readAll(try pool.store.openReader(volume: "v")).count == 2)
    }

    @Test func contiguousRecordIsMovedWholeUnlessLargerThanASegment() throws {
        let (pool, w) = try lane(leaving: 8000)
        try w.append(bytes: Array(payload(1, 10000)), timestamp: 20, contiguous: true)
        let maxFragment = segmentSize - 96
        #expect(w.maxFragment == maxFragment)
        try w.append(bytes: Array(payload(2, maxFragment)), timestamp: 30, contiguous: true)  // exactly one empty segment
        try w.append(bytes: Array(payload(3, 100)), timestamp: 40)
        try w.append(bytes: Array(payload(4, maxFragment + 1)), timestamp: 50, contiguous: true)
        w.close()
        let raw = Raw(pool)
        #expect(raw.record(0, segmentSize - 8000).kind == .endOfSegment)
        #expect(raw.record(1, 64).payloadLength == 10000 && raw.record(1, 64).flags.isEmpty)
        #expect(raw.record(2, 64).payloadLength == UInt32(maxFragment) && raw.record(2, 64).flags.isEmpty)
        // Segment 3: record 3 (100 bytes) then record 4 split under the ordinary rule.
        let at = 64 + Layout.recordFootprint(payloadLength: 100)
        #expect(raw.record(3, at).flags == .hasMore && raw.record(3, at).payloadLength == UInt32(segmentSize - at - 32))
        #expect(raw.record(4, 64).flags == .continuation && raw.record(4, 64).sequence == 4)
        #expect(try raw.header(4).header.firstRecordSequence == 4)
    }

    @Test func recordLargerThanASegmentFillsWholeSegments() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        try w.append(bytes: Array(payload(1, 3 * segmentSize)), timestamp: 7)
        try w.append(bytes: Array(payload(2, 5)), timestamp: 8)
        w.close()
        let raw = Raw(pool)
        let m = UInt32(segmentSize - 96)
        #expect(raw.record(0, 64).flags == .hasMore && raw.record(0, 64).payloadLength == m)
        #expect(raw.record(1, 64).flags == [.hasMore, .continuation] && raw.record(1, 64).payloadLength == m)
        #expect(raw.record(2, 64).flags == [.hasMore, .continuation] && raw.record(2, 64).payloadLength == m)
        #expect(raw.record(3, 64).flags == .continuation && raw.record(3, 64).payloadLength == UInt32(3 * segmentSize) - 3 * m)
        for s in UInt64(0)...3 {
            let h = try raw.header(s).header
            #expect(h.sequence == s && h.firstRecordSequence == 0 && h.firstTimestamp == 7)
            #expect(h.previous == (s == 0 ? Layout.noSegment : s - 1))
        }
        // Record 1 starts in segment 3 after the last fragment, yet segment 3 names record 0.
        #expect(raw.record(3, 64 + Layout.recordFootprint(payloadLength: 288)).sequence == 1)
    }

    // MARK: §7 end-of-segment record

    @Test func damagedEndOfSegmentRecordIsDamage() throws {
        let (pool, w) = try lane(leaving: 3432)
        try w.append(bytes: Array(payload(1, 4000)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        let at = segmentSize - 3432
        #expect(raw.record(0, at).kind == .endOfSegment)
        raw.segment(0).storeBytes(of: raw.segment(0).load(fromByteOffset: at + 16, as: UInt8.self) ^ 1, toByteOffset: at + 16, as: UInt8.self)
        let damaged = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let reader = try damaged.store.openReader(volume: "v")
        #expect(try reader.next()?.sequence == 0)
        #expect {
            _ = try reader.next()
        } throws: { e in
            guard case TraceError.laneDamaged(volume: "v", lane: 0, .checksumMismatch(.record(segment: 0, offset: UInt64(at)), _, _)) = e
            else { return false }
            return true
        }
    }

    @Test func bytesAfterAnEndRecordAreNeverRead() throws {
        let (pool, w) = try lane(leaving: 3432)
        try w.append(bytes: Array(payload(1, 4000)), timestamp: 20)
        w.close()
        let raw = Raw(pool)
        // Garbage after the end record (as a reused segment holds) changes nothing.
        for k in (segmentSize - 3432 + 32)..<segmentSize { raw.segment(0).storeBytes(of: 0xA5, toByteOffset: k, as: UInt8.self) }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(try readAll(try image.store.openReader(volume: "v")).map(\.sequence) == [0, 1])
        #expect(try image.store.check().clean)
    }

    // MARK: §7 fragments: kind and timestamp of continuations

    @Test func continuationKindAndTimestampAreTakenFromTheFirstFragment() throws {
        let (pool, w) = try lane(leaving: 4128)
        try w.append(bytes: Array(payload(1, 10000)), kind: .marker, timestamp: 20)
        w.close()
        let raw = Raw(pool)
        try raw.rewriteRecord(1, 64) { h in
            h.kind = .blob
            h.timestamp = 5
        }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let back = try readAll(try image.store.openReader(volume: "v"))
        #expect(back.count == 2)
        #expect(back[1].kind == .marker && back[1].timestamp == 20 && back[1].bytes == Array(payload(1, 10000)))
    }

    @Test func unknownKindsAreReturnedAsOpaqueRecords() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for (i, k) in [UInt16(1), 1, 0x8000, 0xFFFF].enumerated() {
            try w.append(bytes: Array(payload(i, 40)), kind: RecordKind(rawValue: k), timestamp: UInt64(i))
        }
        w.close()
        // Kind 9 and 0x7FFF are reserved: no writer of this version appends them, readers still return them.
        let raw = Raw(pool)
        try raw.rewriteRecord(0, 64) { $0.kind = RecordKind(rawValue: 9) }
        try raw.rewriteRecord(0, 64 + Layout.recordFootprint(payloadLength: 40)) { $0.kind = RecordKind(rawValue: 0x7FFF) }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let back = try readAll(try image.store.openReader(volume: "v"))
        #expect(back.map(\.kind.rawValue) == [9, 0x7FFF, 0x8000, 0xFFFF])
        #expect(back.enumerated().allSatisfy { $0.element.bytes == Array(payload($0.offset, 40)) })
    }

    @Test
    func writerRefusesKindZeroAndReservedKinds() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for k in [UInt16(0), RecordKind.firstReserved, 0x7FFF] {
            #expect(throws: TraceError.self) { try w.append(bytes: [1, 2, 3], kind: RecordKind(rawValue: k)) }
        }
        w.close()
    }

    // MARK: §10.4 salvage and orphan continuations

    /// Record 1 is split: its first fragment is committed (the segment switch commits), its last is not.
    private func crashedMidSplit() throws -> MemoryPool {
        let (pool, w) = try lane(leaving: 4128, commitInterval: 0)
        w.commit()
        try w.append(bytes: Array(payload(1, 10000)), timestamp: 20)
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        w.close()
        let committed = commitWordOf(image)
        #expect(committed == CommitWord(segment: 1, offset: 64))
        return image
    }

    private func commitWordOf(_ pool: MemoryPool) -> CommitWord? {
        let sb = pool.store.superblock
        return CommitWord(rawValue: pool.memory.base.load(fromByteOffset: Int(sb.laneWordOffset(slot: 0, lane: 0)), as: UInt64.self))
    }

    @Test func splitRecordWithUncommittedLastFragmentIsOnlySalvaged() throws {
        let image = try crashedMidSplit()
        #expect(try readAll(try image.store.openReader(volume: "v")).map(\.sequence) == [0])
        let back = try readAll(try image.store.openReader(volume: "v", salvage: true))
        #expect(back.map(\.sequence) == [0, 1])
        #expect(back.last?.bytes == Array(payload(1, 10000)))
    }

    @Test
    func splitRecordWithUncommittedLastFragmentIsMarkedSalvaged() throws {
        let image = try crashedMidSplit()
        let reader = try image.store.openReader(volume: "v", salvage: true)
        #expect(try reader.next()?.salvaged == false)
        let r = try reader.next()
        #expect(r?.sequence == 1 && r?.salvaged == true)
    }

    /// Adversary s23b (B5): a split record whose first fragment is committed and
    /// whose rest was never written (the writer was killed before it) was handed
    /// out by a salvage read as "salvaged, cut short". §10.4: it is not returned.
    @Test func salvageDoesNotReturnACommittedFirstFragmentWhoseRestWasNeverWritten() throws {
        let image = try crashedMidSplit()
        let raw = Raw(image)
        #expect(raw.record(1, 64).flags.contains(.continuation) && raw.record(0, 64 + Layout.recordFootprint(payloadLength: filler(leaving: 4128))).flags == .hasMore)
        // The last fragment never reached segment 1: everything past the commit point is zero.
        (raw.segment(1) + 64).initializeMemory(as: UInt8.self, repeating: 0, count: segmentSize - 64)
        let reader = try image.store.openReader(volume: "v", salvage: true)
        #expect(try readAll(reader).map(\.sequence) == [0])
        #expect(reader.skipped.isEmpty)
        // The one-pass copy-out agrees.
        let copying = try image.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(salvage: true))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        #expect(try copying.read(into: buffer)?.header.sequence == 0)
        #expect(try copying.read(into: buffer) == nil)
    }

    /// Adversary s24 (F3): a writer killed mid-split, restarted (it resumes at
    /// the tail and its next record may reuse the abandoned record's sequence,
    /// §7) and killed again before committing. The salvage read refused the
    /// restarted writer's records (it wanted the abandoned sequence + 1) while
    /// fsck counted them as salvageable.
    @Test func salvageAcceptsARestartedWritersRecordsAfterAnAbandonedOne() throws {
        let image = try crashedMidSplit()
        let raw = Raw(image)
        (raw.segment(1) + 64).initializeMemory(as: UInt8.self, repeating: 0, count: segmentSize - 64)
        var options = StoreOptions.testing(commitInterval: 1 << 20, clock: testClock)
        options.recordGroupBytes = 0  // plain records, written at append (not staged)
        let restarted = try MemoryPool.mount(memory: image.snapshot(), writable: true, options: options)
        let w = try restarted.store.openWriter(volume: "v")
        try w.append(bytes: Array(payload(7, 300)), timestamp: 30)
        try w.append(bytes: Array(payload(8, 300)), timestamp: 31)
        let crashed = try MemoryPool.mount(memory: restarted.snapshot(), writable: false)
        w.close()
        #expect(try readAll(try crashed.store.openReader(volume: "v")).map(\.sequence) == [0])
        let rep = try crashed.store.check()
        #expect(rep.salvageableRecords == 2, "\(rep.findings)")
        let reader = try crashed.store.openReader(volume: "v", salvage: true)
        let back = try readAll(reader)
        #expect(back.count == 3 && back.dropFirst().map(\.bytes) == [Array(payload(7, 300)), Array(payload(8, 300))], "\(back.map(\.sequence))")
        #expect(reader.skipped.isEmpty, "\(reader.skipped)")
        let copying = try crashed.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(salvage: true))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var copied = 0
        while try copying.read(into: buffer) != nil { copied += 1 }
        #expect(copied == 3)
    }

    /// Adversary s24 (F2): a fragment that says more fragments follow but does
    /// not end its segment is left by no writer (§7). Re-flagged `hasMore`,
    /// the record before an end-of-segment record, or the lane's last
    /// committed record, vanished for every reader and fsck.
    @Test(arguments: [true, false])
    func aHasMoreFragmentThatDoesNotEndItsSegmentIsDamage(beforeEndMarker: Bool) throws {
        let pool: MemoryPool
        let at: (segment: UInt64, offset: Int)
        let expected: [UInt64]
        if beforeEndMarker {
            let (p, w) = try lane(leaving: 3432)
            try w.append(bytes: Array(payload(1, 4097)), timestamp: 20)  // moved whole: an end marker after record 0
            w.close()
            #expect(Raw(p).record(0, 64 + Layout.recordFootprint(payloadLength: filler(leaving: 3432))).kind == .endOfSegment)
            (pool, at, expected) = (p, (0, 64), [1])
        } else {
            let p = try memoryPool(commitInterval: 0, grouping: false)
            try p.store.createVolume(named: "v")
            let w = try p.store.openWriter(volume: "v")
            for i in 0..<3 { try w.append(bytes: Array(payload(i, 100)), timestamp: UInt64(10 + i)) }
            w.close()
            (pool, at, expected) = (p, (0, 64 + 2 * Layout.recordFootprint(payloadLength: 100)), [0, 1])
        }
        try Raw(pool).rewriteRecord(at.segment, at.offset) { $0.flags = .hasMore }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let strict = try image.store.openLaneReader(volume: "v", lane: 0)
        var got: [UInt64] = []
        #expect { while let r = try strict.next() { got.append(r.sequence) } } throws: { e in
            "\(e)".contains("does not end its segment")
        }
        #expect(got == expected.filter { $0 < (beforeEndMarker ? 0 : 2) })
        let copier = try image.store.openLaneReader(volume: "v", lane: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        #expect(throws: TraceError.self) { while try copier.read(into: buffer) != nil {} }
        let skipping = try image.store.openLaneReader(volume: "v", lane: 0, options: ReadOptions(skipDamaged: true))
        #expect(try skipping.allRecords().map(\.sequence) == expected)
        #expect(skipping.skipped.count == 1, "\(skipping.skipped)")
        let report = try image.store.check()
        #expect(report.findings.contains { $0.severity == .error && $0.message.contains("does not end its segment") }, "\(report.findings)")
    }

    @Test func salvageReturnsAFirstFragmentWhoseRestWasNeverWrittenAsIs() throws {
        // 4 segments: the split record's first fragment lands in the last one, then the region is full.
        let size = UInt64(24576 + 4096 + 4 * segmentSize)  // + the segment summary's page
        let pool = try memoryPool(size: size, commitInterval: 0, grouping: false)
        #expect(pool.store.superblock.segmentCount == 4)
        try pool.store.createVolume(named: "v")
        let w = try pool.store.openWriter(volume: "v")
        for i in 0..<3 { try w.append(bytes: Array(payload(i, segmentSize - 96)), timestamp: UInt64(i)) }
        try w.append(bytes: Array(payload(3, filler(leaving: 4128))), timestamp: 3)
        w.commit()
        #expect(throws: TraceError.self) { try w.append(bytes: Array(payload(4, 10000)), timestamp: 4) }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(try readAll(try image.store.openReader(volume: "v")).count == 4)
        let reader = try image.store.openReader(volume: "v", salvage: true)
        var got: [RecordView] = []
        while let r = try reader.next() { got.append(r) }
        #expect(got.count == 5)
        #expect(got.last?.salvaged == true && got.last?.header.flags == .hasMore && got.last?.length == 4096)
    }

    @Test func orphanContinuationAtARingHeadIsSkipped() throws {
        let size = UInt64(24576 + 4096 + 8 * segmentSize)  // + the segment summary's page
        let pool = try memoryPool(size: size, grouping: false)
        #expect(pool.store.superblock.segmentCount == 8)
        try pool.store.createVolume(named: "r", lanes: 1, ring: true)
        let w = try pool.store.openWriter(volume: "r")
        let n = 100_000
        for i in 0..<20 { try w.append(bytes: Array(payload(i, n)), timestamp: UInt64(i)) }
        w.close()
        let raw = Raw(pool)
        let info = try pool.store.volume(named: "r")
        #expect(info.segmentCount == 8)
        // The head segment's first fragment continues a record whose start was reclaimed.
        let chainHeads = try (UInt64(0)..<8).map { try raw.header($0).header }
        let head = chainHeads.min { $0.sequence < $1.sequence }!
        #expect(head.sequence > 0 && head.previous != Layout.noSegment)
        let orphan = raw.record(head.index, 64)
        #expect(orphan.flags.contains(.continuation) && orphan.sequence == head.firstRecordSequence)
        let back = try readAll(try pool.store.openReader(volume: "r"))
        #expect(back.first.map { $0.sequence > head.firstRecordSequence } == true)
        #expect(back.last?.sequence == 19)
        #expect(back.allSatisfy { $0.bytes == Array(payload(Int($0.sequence), n)) })
        #expect(back.map(\.sequence) == Array(back.first!.sequence...19))
    }

    // MARK: §6 chain heads

    private func threeSegmentLane(ring: Bool) throws -> MemoryPool {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "c", lanes: 1, ring: ring)
        let w = try pool.store.openWriter(volume: "c")
        for i in 0..<3 { try w.append(bytes: Array(payload(i, segmentSize - 96)), timestamp: UInt64(i)) }
        w.close()
        #expect(try pool.store.volume(named: "c").segmentCount == 3)
        return pool
    }

    @Test func headerWithSequenceZeroEndsTheWalkWhateverPreviousSays() throws {
        let pool = try threeSegmentLane(ring: false)
        try Raw(pool).rewriteHeader(0) { $0.previous = 2 }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image.store.warnings.isEmpty)
        #expect(try image.store.volume(named: "c").segmentCount == 3)
    }

    @Test func headerWithIndexOfAnotherSegmentIsInvalid() throws {
        let pool = try threeSegmentLane(ring: false)
        try Raw(pool).rewriteHeader(1) { $0.index = 7 }
        // The walk over the headers (readers, the check, mounts of regions without a summary).
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false, options: .testing(usesSegmentSummary: false))
        #expect(image.store.warnings.contains {
            if case .laneDamaged(volume: "c", lane: 0, .invalidField(.segmentHeader(segment: 1), field: "index", value: 7)) = $0 { return true }
            return false
        })
        // A mount from the summary does not read that header (§10.5); the reader and the check do.
        let fast = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(fast.store.warnings.isEmpty && fast.store.lanesMountedFromSummary == 1)
        // The reader hands out the committed start of the chain (segment 0), then names the damage.
        let read = readUntilDamage(fast.store, "c")
        #expect(read.timestamps == [0])
        guard case .laneDamaged(volume: "c", lane: 0, .invalidField(.segmentHeader(segment: 1), field: "index", value: 7))? = read.error else {
            Issue.record("\(String(describing: read.error))")
            return
        }
        #expect(try fast.store.check().findings.contains { $0.severity == .error && $0.message.contains("index") })
    }

    @Test func ringHeadWithReclaimedPredecessorIsNotDamage() throws {
        let pool = try threeSegmentLane(ring: true)
        // Segment 0 reused by another volume: segment 1 is now the head.
        try Raw(pool).rewriteHeader(0) { $0.volumeUID = 0xDEAD }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image.store.warnings.isEmpty)
        #expect(try image.store.volume(named: "c").segmentCount == 2)
    }

    @Test
    func nonRingHeadWithNonZeroSequenceIsDamage() throws {
        let pool = try threeSegmentLane(ring: false)
        try Raw(pool).rewriteHeader(1) { $0.previous = Layout.noSegment }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image.store.warnings.contains {
            if case .laneDamaged(volume: "c", lane: 0, _) = $0 { return true }
            return false
        })
        // Segments 0 and 1 name the lane with sequences 0 and 1, before the tail's 2: the reader takes
        // both as the committed start, but the rewritten header of segment 1 no longer seeds its
        // record's checksum (§7), so segment 0's record goes out and then that damage is named.
        let read = readUntilDamage(image.store, "c")
        #expect(read.timestamps == [0])
        guard case .laneDamaged(volume: "c", lane: 0, .checksumMismatch(.record(segment: 1, offset: 64), _, _))? = read.error else {
            Issue.record("\(String(describing: read.error))")
            return
        }
    }

    /// Reads `volume` to its end or its first error: the timestamps of the
    /// records handed out before, and the error.
    private func readUntilDamage(_ store: TraceStore, _ volume: String) -> (timestamps: [UInt64], error: TraceError?) {
        var timestamps: [UInt64] = []
        do throws(TraceError) {
            let reader = try store.openReader(volume: volume)
            while let r = try reader.next() { timestamps.append(r.timestamp) }
            return (timestamps, nil)
        } catch {
            return (timestamps, error)
        }
    }

    // MARK: §4 update sequences

    @Test func updateSequencesStartAtOneAndTwoAndCopyAWinsATie() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "a")
        let raw = Raw(pool)
        #expect(entryValue(raw.entry(slot: 0, copy: 0))?.updateSequence == 1)
        #expect(entryValue(raw.entry(slot: 0, copy: 1))?.updateSequence == 2)
        try pool.store.renameVolume("a", to: "b")
        #expect(entryValue(raw.entry(slot: 0, copy: 0)).map { ($0.updateSequence, $0.name) } ?? (0, []) == (3, Array("b".utf8)))
        #expect(entryValue(raw.entry(slot: 0, copy: 1))?.updateSequence == 2)
        // Tie: copy B rewritten with copy A's updateSequence and another name. Copy A wins.
        var e = entryValue(raw.entry(slot: 0, copy: 1))!
        e.updateSequence = 3
        e.name = Array("c".utf8)
        raw.writeEntry(e, slot: 0, copy: 1)
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image.store.volumes().map(\.name) == ["b"])
        // And with copy A damaged, copy B is used.
        raw.base.storeBytes(of: 0xFF, toByteOffset: Int(raw.sb.volumeSlotOffset(0)) + 100, as: UInt8.self)
        let image2 = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image2.store.volumes().map(\.name) == ["c"])
    }

    @Test func reusedSlotContinuesItsUpdateSequence() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "a")
        try pool.store.deleteVolume("a")  // copy A, sequence 3
        try pool.store.createVolume(named: "b")  // copy B, sequence 4: not written twice
        let raw = Raw(pool)
        #expect(entryValue(raw.entry(slot: 0, copy: 0)).map { ($0.updateSequence, $0.state) } ?? (0, VolumeEntry.State.live) == (3, VolumeEntry.State.deleted))
        let second = 1 << 32 | (raw.sb.firstUIDGeneration + 1)
        #expect(raw.sb.firstUIDGeneration >= 0x8000_0000)  // FORMAT.md §4 since 1.3
        #expect(entryValue(raw.entry(slot: 0, copy: 1)).map { ($0.updateSequence, $0.uid) } ?? (0, 0) == (4, second))
    }

    // MARK: §3 superblock checks

    @Test func superblockHeaderSizeIsNotChecked() throws {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "a")
        let base = pool.memory.base
        for copy in 0..<2 {
            let p = base + copy * Layout.superblockCopySize
            p.storeLE(UInt32(4096), at: 12)
            p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124)), at: 124)
        }
        let image = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(image.store.warnings.isEmpty && image.store.volumes().map(\.name) == ["a"])
    }

    @Test func superblockChecksRunInTheDocumentedOrder() throws {
        let mapped: UInt64 = 16 << 20
        let valid = Superblock.layout(regionSize: mapped, segmentSize: 65536, volumeSlots: 15, maxLanes: 8,
                                      uuidHigh: 1, uuidLow: 2, formatTime: 3)!
        func decode(_ sb: Superblock, _ patch: (UnsafeMutableRawPointer) -> Void = { _ in }, recrc: Bool = true) -> FormatError? {
            withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buf in
                let p = buf.baseAddress!
                sb.encode(into: p)
                patch(p)
                if recrc { p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124)), at: 124) }
                do throws(FormatError) {
                    _ = try Superblock.decode(UnsafeRawBufferPointer(buf), copy: 0, mappedSize: mapped)
                    return nil
                } catch { return error }
            }
        }
        #expect(decode(valid) == nil)
        // magic before CRC before version.
        let v2: (UnsafeMutableRawPointer) -> Void = { $0.storeLE(UInt16(2), at: 8) }
        if case .badMagic = decode(valid, { v2($0); $0.storeLE(UInt64(1), at: 0) }, recrc: false) {} else { Issue.record("magic first") }
        if case .checksumMismatch = decode(valid, v2, recrc: false) {} else { Issue.record("CRC second") }
        var broken = valid
        broken.segmentSize = 3
        #expect(decode(broken, v2) == .unsupportedVersion(major: 2, minor: Layout.versionMinor))
        // Minor versions are not checked.
        #expect(decode(valid, { $0.storeLE(UInt16(0xFFFF), at: 10) }) == nil)
        // 3a (since 1.3): after the version, before the geometry, a copy must name itself.
        if case .invalidField(.superblock(copy: 0), Superblock.misplacedCopyField, 1) = decode(broken, { $0.storeLE(UInt8(1), at: 116) }) {} else {
            Issue.record("copy check third")
        }
        // Before 1.3 bytes 104 ... 123 are reserved, not checked (a summary offset there is ignored).
        #expect(decode(valid, { $0.storeLE(UInt16(2), at: 10); $0.storeLE(UInt8(1), at: 116); $0.storeLE(UInt64(3), at: 104) }) == nil)
        // Geometry: breaking checks k...n at once must report check k.
        let breakers: [(String, (inout Superblock) -> Void)] = [
            ("regionSize (larger than the mapped file)", { $0.regionSize = mapped + 1 }),
            ("segmentSize", { $0.segmentSize = 3 * 65536 }),
            ("volumeSlotCount", { $0.volumeSlotCount = 0 }),
            ("maxLanesPerVolume", { $0.maxLanesPerVolume = 1025 }),
            ("volumeTableOffset", { $0.volumeTableOffset = 4096 }),
            ("laneTableOffset", { $0.laneTableOffset = $0.volumeTableOffset + UInt64($0.volumeSlotCount) * 512 - 64 }),
            ("summaryOffset", { $0.summaryOffset += 64 }),
            ("segmentAreaOffset", { $0.segmentAreaOffset += 8 }),
            ("segmentCount", { $0.segmentCount = 3 }),
            ("segmentCount (segments end past the region)", { $0.regionSize = $0.segmentAreaOffset + $0.segmentCount * $0.segmentSize - 1 }),
            // 13 (since 1.3): the areas where §2's layout puts them (V7: a forged copy
            // with its segment area moved one segment on and one segment fewer).
            ("segmentAreaOffset (not where the layout of §2 puts it)", { $0.segmentAreaOffset += $0.segmentSize; $0.segmentCount -= 1 }),
        ]
        for k in breakers.indices {
            var sb = valid
            for j in breakers.indices.reversed() where j >= k { breakers[j].1(&sb) }
            let e = decode(sb)
            if case .invalidField(.superblock(copy: 0), let field, _) = e, field == breakers[k].0 {} else {
                Issue.record("check \(k) (\(breakers[k].0)) should fail first, got \(String(describing: e))")
            }
        }
        // Not checked: generation, uuid, formatTime, reserved bytes, alignment of the
        // volume table (the lane table must be 64-aligned: misalignedLaneTableIsRefused).
        var lax = valid
        lax.generation = 0
        lax.volumeTableOffset = 8192 + 8
        lax.laneTableOffset += 64
        #expect(decode(lax, { $0.storeLE(UInt64.max, at: 117) }) == nil)
    }

    @Test
    func misalignedLaneTableIsRefused() throws {
        var sb = Superblock.layout(regionSize: 16 << 20, segmentSize: 65536, volumeSlots: 15, maxLanes: 8,
                                   uuidHigh: 1, uuidLow: 2, formatTime: 3)!
        sb.laneTableOffset += 4
        let refused = withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buf in
            sb.encode(into: buf.baseAddress!)
            return (try? Superblock.decode(UnsafeRawBufferPointer(buf), copy: 0, mappedSize: 16 << 20)) == nil
        }
        #expect(refused)
    }

    // MARK: Name rules (§4)

    @Test func nameRulesThatWritersEnforce() throws {
        let pool = try memoryPool(grouping: false)
        let s = pool.store
        func refused(_ b: [UInt8]) -> Bool { (try? s.createVolume(nameBytes: b, lanes: 1, ring: false)) == nil }
        #expect(refused([]))
        #expect(refused([UInt8](repeating: 0x61, count: 201)))
        #expect(!refused([UInt8](repeating: 0x62, count: 200)))
        #expect(refused([0x61, 0x00]))
        #expect(refused([0xC0, 0xAF]))  // overlong '/'
        #expect(refused([0xED, 0xA0, 0x80]))  // surrogate
        #expect(refused([0xF4, 0x90, 0x80, 0x80]))  // U+110000
        #expect(!refused([0xF4, 0x8F, 0xBF, 0xBF]))  // U+10FFFF
        #expect(!refused([0xC2, 0xA0]))  // U+00A0, first after the C1 controls
        #expect(refused(Array(".maps".utf8)))  // reserved for the library (the catalog creates them through its own call)
        #expect(!refused(Array("maps".utf8)))
        #expect(refused(Array("maps".utf8)))  // duplicate
    }

    @Test
    func writersRefuseControlCharacters() throws {
        let pool = try memoryPool(grouping: false)
        for b: [UInt8] in [[0x61, 0x01], [0x1F], [0x7F], [0xC2, 0x80], [0xC2, 0x9F], [0x61, 0x0A, 0x62]] {
            #expect(throws: TraceError.self) { try pool.store.createVolume(nameBytes: b, lanes: 1, ring: false) }
        }
        try pool.store.createVolume(named: "ok")
        #expect(throws: TraceError.self) { try pool.store.renameVolume("ok", to: "bad\u{7F}") }
    }

    /// A live entry with `name` in slot 0 (as an older writer or another tool may have left it).
    private func regionWithName(_ name: [UInt8], twin: Bool = false) throws -> MemoryPool {
        let pool = try memoryPool(grouping: false)
        try pool.store.createVolume(named: "x")
        if twin { try pool.store.createVolume(named: "y") }
        let raw = Raw(pool)
        for slot in 0..<(twin ? 2 : 1) {
            for copy in 0..<2 {
                var e = entryValue(raw.entry(slot: slot, copy: copy))!
                e.name = name
                raw.writeEntry(e, slot: slot, copy: copy)
            }
        }
        return try MemoryPool.mount(memory: pool.snapshot(), writable: true)
    }

    @Test func readersAcceptAnyNameBytes() throws {
        let image = try regionWithName([0x01, 0xFF, 0x00, 0x7F, 0xC2, 0x80, 0xED, 0xA0, 0x80])
        #expect(image.store.warnings.isEmpty)
        #expect(image.store.volumes().count == 1)
        let dup = try regionWithName(Array("same".utf8), twin: true)
        #expect(dup.store.volumes().map(\.name) == ["same", "same"])
        #expect(try dup.store.volume(named: "same").slot == 0)  // lookup takes the lowest slot
    }

    @Test
    func fsckReportsNameViolations() throws {
        let bad = try regionWithName([0x61, 0x01])
        #expect(!(try bad.store.check().clean))
        let dup = try regionWithName(Array("same".utf8), twin: true)
        #expect(!(try dup.store.check().clean))
    }
}
