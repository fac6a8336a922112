import Testing
import TraceFormat
import TracePayloads

/// The fast paths produce exactly the bytes of the per-access encoders:
/// kind 9 from packed entries (`append(packed:…)`, what the QEMU plugin's
/// encoder thread hands over) and kind 2/12 in bulk (`append(contentsOf:)`),
/// including across payloads that fill up (every buffer size from tight to
/// roomy) and for hostile values (addresses near 2^56, sizes 1 … 128,
/// translations that change on every access or never).
@Suite struct PackedEncoderTests {
    /// Accesses a packed entry can carry (address < 2^56, size a power of two ≤ 128).
    static func packable(_ n: Int, seed: UInt64) -> [GuestAccess] {
        var x = seed
        func next() -> UInt64 { x = x &* 6364136223846793005 &+ 1442695040888963407; return x >> 8 }
        var phys: UInt64 = 0x10_0000, pc: UInt64 = 0xFFFF_FFFF_8100_0000, t: UInt64 = 0xFFFF_8880_0000_0000
        return (0..<n).map { i in
            switch i % 5 {
            case 0: phys = (phys &+ next() % 64) & GuestAccessBatch.Packed.addressMask
            case 1: phys = phys >= 8192 ? phys - next() % 8192 : phys
            case 2: phys = next() & GuestAccessBatch.Packed.addressMask
            case 3: phys = i % 2 == 0 ? 0 : GuestAccessBatch.Packed.addressMask
            default: phys = (phys &+ 8) & GuestAccessBatch.Packed.addressMask
            }
            pc = i % 7 == 0 ? next() << 8 : pc &+ next() % 16
            if i % 13 == 0 { t = next() << 8 }
            return GuestAccess(kind: MemoryAccess.Kind(rawValue: UInt8(i % 4))!, size: UInt32(1) << UInt32(i % 8),
                               physical: phys, virtual: phys &+ t, pc: pc)
        }
    }

    /// The accesses as packed entries: a translation entry wherever `virtual − physical` changes.
    static func entries(_ a: [GuestAccess]) -> [UInt64] {
        var words: [UInt64] = []
        var t: UInt64 = 0
        for x in a {
            if x.virtual &- x.physical != t {
                t = x.virtual &- x.physical
                words += [GuestAccessBatch.Packed.translationFlag, t]
            }
            words += [GuestAccessBatch.Packed.word(kind: x.kind, sizeShift: UInt8(x.size.trailingZeroBitCount), address: x.physical), x.pc]
        }
        return words
    }

    /// Payloads of the per-access encoder, a new one whenever it is full.
    static func perAccess(_ a: [GuestAccess], capacity: Int) -> [[UInt8]] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        var e = GuestAccessBatch.Encoder(buffer: buffer)
        var out: [[UInt8]] = []
        var index: UInt64 = 0
        e.reset(fields: [.virtual, .pc], firstIndex: 0)
        for x in a {
            if !e.hasRoom { out.append([UInt8](e.payload())); e.reset(fields: [.virtual, .pc], firstIndex: index) }
            e.append(x)
            index += 1
        }
        out.append([UInt8](e.payload()))
        return out
    }

    @Test(arguments: [GuestAccessBatch.headerBytes + GuestAccessBatch.maxAccessBytes, 100, 1000, 16384])
    func packedEntriesMatchPerAccess(capacity: Int) {
        for n in [0, 1, 2, 3000] {
            let a = Self.packable(n, seed: UInt64(n + capacity))
            let words = Self.entries(a)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
            defer { buffer.deallocate() }
            var e = GuestAccessBatch.Encoder(buffer: buffer)
            var out: [[UInt8]] = []
            var index: UInt64 = 0, translation: UInt64 = 0
            e.reset(fields: [.virtual, .pc], firstIndex: 0)
            words.withUnsafeBytes { raw in
                var i = 0
                let count = words.count / 2
                // Uneven calls: the state carries over between them.
                while i < count {
                    let (taken, accesses) = e.append(packed: raw.baseAddress! + i * 16, count: min(count - i, 1 + i % 37), translation: &translation)
                    i += taken
                    index += UInt64(accesses)
                    if taken == 0 || !e.hasRoom {
                        out.append([UInt8](e.payload()))
                        e.reset(fields: [.virtual, .pc], firstIndex: index)
                    }
                }
            }
            if e.count > 0 || out.isEmpty { out.append([UInt8](e.payload())) }
            let expected = Self.perAccess(a, capacity: capacity).filter { $0.count > GuestAccessBatch.headerBytes || n == 0 }
            #expect(out.filter { $0.count > GuestAccessBatch.headerBytes || n == 0 } == expected, "n \(n), capacity \(capacity)")
            var back: [GuestAccess] = []
            for p in out { p.withUnsafeBytes { try? GuestAccessBatch.forEach($0) { back.append($0) } } }
            #expect(back == a)
        }
    }

    @Test(arguments: [RecordKind.memoryAccessBatch, .memoryAccessStreams])
    func bulkAppendMatchesPerAccess(kind: RecordKind) {
        var x: UInt64 = 99
        func next() -> UInt64 { x = x &* 6364136223846793005 &+ 1442695040888963407; return x }
        var address: UInt64 = 0x40_0000
        let accesses: [MemoryAccess] = (0..<5000).map { i in
            switch i % 6 {
            case 0: address = next()
            case 1: address &+= next() % 16
            case 2: address &-= next() % 20000
            case 3: address = i % 2 == 0 ? 0 : .max
            default: address &+= next() % 200
            }
            return MemoryAccess(kind: MemoryAccess.Kind(rawValue: UInt8(next() % 4))!, address: address,
                                size: [0, 1, 8, 62, 63, 64, 4096, .max][i % 8])
        }
        for capacity in [MemoryAccessBatch.headerBytes + MemoryAccessBatch.maxAccessBytes, 333, 4096, 1 << 20] {
            let a = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
            defer { a.deallocate(); b.deallocate() }
            var one = MemoryAccessBatch.Encoder(buffer: a, kind: kind), bulk = MemoryAccessBatch.Encoder(buffer: b, kind: kind)
            var expected: [[UInt8]] = [], got: [[UInt8]] = []
            for m in accesses {
                if !one.hasRoom { expected.append([UInt8](one.payload())); one.reset() }
                one.append(m)
            }
            expected.append([UInt8](one.payload()))
            accesses.withUnsafeBufferPointer { all in
                var i = 0
                while i < all.count {
                    let taken = bulk.append(contentsOf: UnsafeBufferPointer(rebasing: all[i..<min(all.count, i + 1 + i % 500)]))
                    i += taken
                    if taken == 0 || !bulk.hasRoom { got.append([UInt8](bulk.payload())); bulk.reset() }
                }
            }
            if bulk.count > 0 { got.append([UInt8](bulk.payload())) }
            #expect(got == expected, "capacity \(capacity)")
        }
    }
}
