import Testing
import TraceFormat

func withBuffer<R>(_ count: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    let b = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 8, alignment: 8)
    defer { b.deallocate() }
    b.initializeMemory(as: UInt8.self, repeating: 0xAA)
    return try body(b.baseAddress!)
}

@Suite struct SuperblockTests {
    static let sixTB: UInt64 = 6 * (1 << 40)

    func sample(size: UInt64 = 64 << 20) -> Superblock {
        Superblock.layout(regionSize: size, segmentSize: 1 << 20, volumeSlots: 256, maxLanes: 64,
                          uuidHigh: 0x1234, uuidLow: 0x5678, formatTime: 42)!
    }

    @Test(arguments: [0, 1, 3, 5]) func roundTripAtAnyAlignment(_ misalign: Int) throws {
        let sb = sample()
        try withBuffer(Layout.superblockSize + misalign) { p in
            sb.encode(into: p + misalign)
            let decoded = try Superblock.decode(UnsafeRawBufferPointer(start: p + misalign, count: Layout.superblockSize),
                                                copy: 0, mappedSize: 64 << 20)
            #expect(decoded == sb)
        }
    }

    @Test func sixTerabyteRegionIsRepresentable() throws {
        let sb = sample(size: Self.sixTB)
        #expect(sb.segmentCount == (Self.sixTB - sb.segmentAreaOffset) / (1 << 20))
        #expect(sb.segmentOffset(sb.segmentCount - 1) + sb.segmentSize <= Self.sixTB)
        #expect(sb.segmentOffset(sb.segmentCount - 1) > UInt64(UInt32.max))
        // The last segment's index still fits a commit word.
        let w = CommitWord(segment: sb.segmentCount - 1, offset: UInt32(sb.segmentSize))
        #expect(CommitWord(rawValue: w.rawValue) == w)
        try withBuffer(Layout.superblockSize) { p in
            sb.encode(into: p, copy: 1)
            let decoded = try Superblock.decode(UnsafeRawBufferPointer(start: p, count: 128), copy: 1, mappedSize: Self.sixTB)
            #expect(decoded == sb)
        }
    }

    @Test func everyFlippedBitIsRejected() {
        let sb = sample()
        withBuffer(Layout.superblockSize) { p in
            sb.encode(into: p)
            for bit in 0..<(Layout.superblockSize * 8) {
                p.storeBytes(of: p.load(fromByteOffset: bit / 8, as: UInt8.self) ^ (1 << UInt8(bit % 8)), toByteOffset: bit / 8, as: UInt8.self)
                #expect(throws: FormatError.self) {
                    try Superblock.decode(UnsafeRawBufferPointer(start: p, count: 128), copy: 0, mappedSize: 64 << 20)
                }
                p.storeBytes(of: p.load(fromByteOffset: bit / 8, as: UInt8.self) ^ (1 << UInt8(bit % 8)), toByteOffset: bit / 8, as: UInt8.self)
            }
        }
    }

    @Test func newerMajorVersionIsNamed() {
        var sb = sample()
        sb.versionMajor = 2
        withBuffer(128) { p in
            sb.encode(into: p)
            #expect(throws: FormatError.unsupportedVersion(major: 2, minor: Layout.versionMinor)) {
                try Superblock.decode(UnsafeRawBufferPointer(start: p, count: 128), copy: 0, mappedSize: 64 << 20)
            }
        }
    }

    @Test func regionLargerThanMappingIsRejected() {
        let sb = sample()
        withBuffer(128) { p in
            sb.encode(into: p)
            #expect(throws: FormatError.self) {
                try Superblock.decode(UnsafeRawBufferPointer(start: p, count: 128), copy: 0, mappedSize: (64 << 20) - 1)
            }
        }
    }

    @Test func tooSmallRegionHasNoLayout() {
        let min = Superblock.minimumRegionSize(segmentSize: 1 << 20, volumeSlots: 256, maxLanes: 64)
        #expect(Superblock.layout(regionSize: min - 1, segmentSize: 1 << 20, volumeSlots: 256, maxLanes: 64, uuidHigh: 0, uuidLow: 0, formatTime: 0) == nil)
        #expect(Superblock.layout(regionSize: min, segmentSize: 1 << 20, volumeSlots: 256, maxLanes: 64, uuidHigh: 0, uuidLow: 0, formatTime: 0)?.segmentCount == 4)
        #expect(Superblock.layout(regionSize: 1 << 30, segmentSize: 3 << 20, volumeSlots: 1, maxLanes: 1, uuidHigh: 0, uuidLow: 0, formatTime: 0) == nil)
    }
}

@Suite struct VolumeEntryTests {
    @Test(arguments: [1, 2, 100, 200]) func roundTrip(nameLength: Int) {
        let e = VolumeEntry(state: .live, flags: [.ring], updateSequence: 7, uid: 1 << 32 | 3, laneCount: 4,
                            createdTime: 99, sealedTime: 0, name: [UInt8](repeating: 0x61, count: nameLength))
        withBuffer(256) { p in
            e.encode(into: p)
            #expect(VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: 256), slot: 0, copy: 0, maxLanes: 64) == .entry(e))
            #expect(VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: 256), slot: 0, copy: 0, maxLanes: 3) != .entry(e))
        }
    }

    @Test func zerosAreEmptyAndGarbageIsDamage() {
        withBuffer(256) { p in
            p.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
            #expect(VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: 256), slot: 3, copy: 1, maxLanes: 64) == .empty)
            p.storeBytes(of: 1, toByteOffset: 100, as: UInt8.self)
            guard case .damaged(.badMagic(.volumeEntry(3, 1), _)) = VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: 256), slot: 3, copy: 1, maxLanes: 64) else {
                Issue.record("expected bad magic")
                return
            }
        }
    }

    @Test func truncatedCopyIsDamage() {
        withBuffer(256) { p in
            guard case .damaged(.truncated) = VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: 255), slot: 0, copy: 0, maxLanes: 64) else {
                Issue.record("expected truncated")
                return
            }
        }
    }
}

@Suite struct SegmentAndRecordHeaderTests {
    @Test func segmentHeaderRoundTripAndWrongPlace() throws {
        let h = SegmentHeader(lane: 3, volumeUID: 0x1_0000_0002, sequence: 9, previous: 17, firstRecordSequence: 1000,
                              firstTimestamp: 123_456, index: 44)
        try withBuffer(64) { p in
            let crc = h.encode(into: p)
            let d = try SegmentHeader.decode(UnsafeRawBufferPointer(start: p, count: 64), expectedIndex: 44)
            #expect(d.header == h && d.crc == crc)
            #expect(throws: FormatError.invalidField(.segmentHeader(segment: 45), field: "index", value: 44)) {
                try SegmentHeader.decode(UnsafeRawBufferPointer(start: p, count: 64), expectedIndex: 45)
            }
            #expect(throws: FormatError.self) { try SegmentHeader.decode(UnsafeRawBufferPointer(start: p, count: 63), expectedIndex: 44) }
        }
    }

    @Test func recordHeaderFieldsRoundTrip() {
        let h = RecordHeader(payloadLength: 70000, kind: .pageImage, flags: [.hasMore, .continuation], sequence: .max - 1, timestamp: 1 << 62)
        withBuffer(32) { p in
            h.encodeFields(into: p + 1)
            #expect(RecordHeader.decodeFields(UnsafeRawPointer(p + 1)) == h)
        }
    }

    @Test func commitWordRoundTrip() {
        for seg in [UInt64(0), 1, 0xFF_FFFF_FFFF] {
            for off in [UInt32(64), 4096, 0x80_0000] {
                let w = CommitWord(segment: seg, offset: off)
                #expect(CommitWord(rawValue: w.rawValue) == w)
            }
        }
        #expect(CommitWord(rawValue: 0) == nil)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 100]) func footprintIsAlignedAndCoversRecord(_ n: Int) {
        let f = Layout.recordFootprint(payloadLength: n)
        #expect(f % 8 == 0 && f >= 32 + n && f < 32 + n + 8)
    }
}
