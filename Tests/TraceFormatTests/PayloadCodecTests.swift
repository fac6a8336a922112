import Testing
import TraceFormat
import TracePayloads

@Suite struct PayloadCodecTests {
    @Test(arguments: [0, 1, 2, 100, 5000], [RecordKind.memoryAccessBatch, .memoryAccessStreams])
    func memoryAccessBatchRoundTrip(count: Int, kind: RecordKind) throws {
        var rng = SystemRandomNumberGenerator()
        var accesses: [MemoryAccess] = []
        var address: UInt64 = 0x4000_0000
        for i in 0..<count {
            // Mix of nearby, far, backwards and extreme addresses and sizes.
            switch i % 5 {
            case 0: address &+= UInt64.random(in: 0...64, using: &rng)
            case 1: address &-= UInt64.random(in: 0...4096, using: &rng)
            case 2: address = UInt64.random(in: 0...UInt64.max, using: &rng)
            case 3: address = i % 2 == 0 ? 0 : .max
            default: address &+= 1 << 40
            }
            let size: UInt32 = [0, 1, 4, 8, 62, 63, 64, 4096, .max][i % 9]
            accesses.append(MemoryAccess(kind: MemoryAccess.Kind(rawValue: UInt8(i % 4))!, address: address, size: size))
        }
        var out: [UInt8] = [1, 2, 3]
        accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: kind, into: &out) }
        #expect(out == referenceEncoding(accesses[...], streams: kind == .memoryAccessStreams))
        var back: [MemoryAccess] = []
        try out.withUnsafeBytes { b in
            #expect(MemoryAccessBatch.count(b) == count)
            try MemoryAccessBatch.forEach(b, kind: kind) { back.append($0) }
        }
        #expect(back == accesses)
    }

    /// The allocation-free encoder the bare-metal writer uses produces the
    /// bytes of `encode(_:into:)`, batch after batch in one buffer.
    @Test(arguments: [24, 100, 4096]) func fixedBufferEncoderMatchesEncode(capacity: Int) throws {
        var rng = SystemRandomNumberGenerator()
        let sizes: [UInt32] = [0, 1, 8, 62, 63, 64, 4096, .max]
        var address: UInt64 = 0
        let accesses = (0..<3000).map { i -> MemoryAccess in
            address = i % 3 == 0 ? UInt64.random(in: 0...UInt64.max, using: &rng) : address &+ UInt64.random(in: 0...4096, using: &rng)
            return MemoryAccess(kind: MemoryAccess.Kind(rawValue: UInt8(i % 4))!, address: address, size: sizes[i % sizes.count])
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        var encoder = MemoryAccessBatch.Encoder(buffer: buffer)
        var start = 0, batches = 0
        func check(_ end: Int) {
            var expected: [UInt8] = []
            accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode(UnsafeBufferPointer(rebasing: $0[start..<end]), into: &expected) }
            #expect(Array(encoder.payload()) == expected)
            #expect(expected == referenceEncoding(accesses[start..<end]))
            #expect(encoder.count == end - start && encoder.byteCount == expected.count)
            #expect(encoder.byteCount <= capacity)
            batches += 1
            start = end
            encoder.reset()
        }
        for (i, a) in accesses.enumerated() {
            if !encoder.hasRoom { check(i) }
            encoder.append(a)
        }
        check(accesses.count)
        #expect(batches > 1)
    }

    /// FORMAT.md §8.2 (and §8.12 with `streams`: one previous address per
    /// access kind) spelled out byte by byte with the plain LEB128 loop: the
    /// reference the (wide-store) encoders are checked against.
    func referenceEncoding(_ accesses: ArraySlice<MemoryAccess>, streams: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: UInt32(accesses.count) >> UInt32(shift))) }
        out += [0, 0, 0, 0]
        var previous: [UInt64] = [0, 0, 0, 0]
        for a in accesses {
            let stream = streams ? Int(a.kind.rawValue) : 0
            out.append(a.kind.rawValue | UInt8(a.size < 63 ? a.size : 63) << 2)
            if a.size >= 63 { Varint.append(UInt64(a.size), to: &out) }
            Varint.append(Varint.zigzag(Int64(bitPattern: a.address &- previous[stream])), to: &out)
            previous[stream] = a.address
        }
        return out
    }

    /// Kind 12 by hand: a fetch, a load far away, a fetch next to the first
    /// and a load next to the first load each cost one delta byte from their
    /// own stream (kind 2 would pay the jump between the streams each time).
    @Test func streamsTakeEachDeltaFromTheSameKind() throws {
        let a: [MemoryAccess] = [
            .init(kind: .instructionFetch, address: 0x10, size: 1), .init(kind: .load, address: 0x7FFF_0000, size: 8),
            .init(kind: .instructionFetch, address: 0x11, size: 1), .init(kind: .load, address: 0x7FFF_0008, size: 8),
        ]
        var out: [UInt8] = []
        a.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: .memoryAccessStreams, into: &out) }
        // fetch 0x10 from 0: zigzag 0x20; load from 0: 5 bytes; fetch +1: 2; load +8: 16.
        let fetch: UInt8 = 3 | 1 << 2, load: UInt8 = 0 | 8 << 2
        let expected: [UInt8] = [4, 0, 0, 0, 0, 0, 0, 0, fetch, 0x20, load, 0x80, 0x80, 0xF8, 0xFF, 0x0F, fetch, 2, load, 16]
        #expect(out == expected)
        var back: [MemoryAccess] = []
        try out.withUnsafeBytes { b in try MemoryAccessBatch.forEach(b, kind: .memoryAccessStreams) { back.append($0) } }
        #expect(back == a)
        var single: [UInt8] = []
        a.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: .memoryAccessBatch, into: &single) }
        #expect(single.count > out.count)
    }

    /// The branch-free 8-byte store writes exactly the loop's bytes, for
    /// every length (each power of two and its neighbours) and random values.
    @Test func varintStoreWideMatchesAppend() {
        var rng = SystemRandomNumberGenerator()
        var values: [UInt64] = [0, 1, 127, 128, .max, .max >> 1, (1 << 56) - 1, 1 << 56]
        for shift in 0..<64 { values += [1 << UInt64(shift), (1 << UInt64(shift)) &- 1, (1 << UInt64(shift)) &+ 1] }
        for _ in 0..<2000 { values.append(UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)) }
        for v in values {
            var expected: [UInt8] = []
            Varint.append(v, to: &expected)
            var bytes = [UInt8](repeating: 0xEE, count: 12)
            let n = bytes.withUnsafeMutableBytes { Varint.storeWide(v, at: $0.baseAddress!) }
            #expect(n == expected.count && Array(bytes[0..<n]) == expected, "value \(v)")
            #expect(bytes[max(n, 8)...].allSatisfy { $0 == 0xEE }, "wrote past 8 bytes for \(v)")
        }
    }

    @Test func varintStoreMatchesAppend() {
        var values: [UInt64] = [0, 1, 127, 128, 16383, 16384, .max, .max >> 1]
        for shift in 0..<64 { values.append(1 << UInt64(shift)) }
        for v in values {
            var expected: [UInt8] = []
            Varint.append(v, to: &expected)
            var bytes = [UInt8](repeating: 0xEE, count: 12)
            let n = bytes.withUnsafeMutableBytes { Varint.store(v, at: $0.baseAddress!) }
            #expect(Array(bytes[0..<n]) == expected)
            #expect(bytes[n] == 0xEE)
        }
    }

    @Test func sequentialAccessesAreCompact() {
        let accesses = (0..<1000).map { MemoryAccess(kind: .load, address: 0x7FFF_0000 + UInt64($0) * 8, size: 8) }
        var out: [UInt8] = []
        accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &out) }
        #expect(out.count < 8 + 6 + 2 * 1000)
    }

    @Test func everyTruncationOfABatchThrows() {
        let accesses = (0..<50).map { MemoryAccess(kind: .store, address: UInt64($0) << 33, size: UInt32($0 * 5)) }
        var out: [UInt8] = []
        accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &out) }
        for cut in 0..<out.count {
            #expect(throws: FormatError.self) {
                try out.withUnsafeBytes { try MemoryAccessBatch.forEach(UnsafeRawBufferPointer(rebasing: $0[0..<cut])) { _ in } }
            }
        }
    }

    @Test func varintRejectsOverlongInput() {
        let bad = [UInt8](repeating: 0xFF, count: 11)
        bad.withUnsafeBytes { b in
            var i = 0
            #expect(Varint.read(b, &i) == nil)
        }
        for v in [UInt64(0), 127, 128, 1 << 35, .max] {
            var out: [UInt8] = []
            Varint.append(v, to: &out)
            out.withUnsafeBytes { b in
                var i = 0
                #expect(Varint.read(b, &i) == v && i == out.count)
            }
        }
        for v in [Int64.min, -1, 0, 1, .max] { #expect(Varint.unzigzag(Varint.zigzag(v)) == v) }
    }

    @Test(arguments: [1, 2, 511, 512]) func pmlBatchRoundTrip(count: Int) throws {
        let gpas = (0..<count).map { UInt64($0) << 12 | 0x1_0000_0000 }
        var out: [UInt8] = []
        gpas.withUnsafeBufferPointer { PMLBatch.encode($0, into: &out) }
        var back: [UInt64] = []
        try out.withUnsafeBytes { try PMLBatch.forEach($0) { back.append($0) } }
        #expect(back == gpas)
        #expect(throws: FormatError.self) {
            try out.withUnsafeBytes { try PMLBatch.forEach(UnsafeRawBufferPointer(rebasing: $0.dropLast())) { _ in } }
        }
    }

    @Test func pmlBatchCountOutOfRangeThrows() {
        var out = [UInt8](repeating: 0, count: 8 + 8 * 513)
        out[0] = 0x01; out[1] = 0x02  // 513
        #expect(throws: FormatError.self) { try out.withUnsafeBytes { try PMLBatch.forEach($0) { _ in } } }
    }

    @Test func pageImageRoundTrip() throws {
        var payload = [UInt8](repeating: 0, count: PageImage.headerSize + PageImage.pageSize)
        payload.withUnsafeMutableBytes { PageImage.encodeHeader(address: 0xDEAD_B000, into: $0.baseAddress!) }
        for i in 0..<PageImage.pageSize { payload[PageImage.headerSize + i] = UInt8(truncatingIfNeeded: i) }
        try payload.withUnsafeBytes { b in
            let (address, page) = try PageImage.decode(b)
            #expect(address == 0xDEAD_B000 && page.count == 4096 && page[4095] == 255)
            #expect(throws: FormatError.self) { try PageImage.decode(UnsafeRawBufferPointer(rebasing: b.dropLast())) }
        }
    }
}
