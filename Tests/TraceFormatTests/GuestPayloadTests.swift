import Testing
import TraceFormat
import TracePayloads

/// Guest-access batches (§8.9) and checkpoint records (§8.10): round trips
/// over hostile values, and every malformed payload refused with a typed error.
@Suite struct GuestPayloadTests {
    static func accesses(_ n: Int, seed: UInt64) -> [GuestAccess] {
        var x = seed
        func next() -> UInt64 { x = x &* 6364136223846793005 &+ 1442695040888963407; return x }
        var phys: UInt64 = 0x10_0000, pc: UInt64 = 0xFFFF_FFFF_8100_0000
        return (0..<n).map { i in
            switch i % 6 {
            case 0: phys &+= next() % 64
            case 1: phys &-= next() % 8192
            case 2: phys = next()
            case 3: phys = i % 2 == 0 ? 0 : .max
            default: phys &+= 8
            }
            pc = i % 7 == 0 ? next() : pc &+ next() % 16
            let translation: UInt64 = i % 11 == 0 ? next() : 0xFFFF_8880_0000_0000
            let size: UInt32 = [0, 1, 2, 4, 8, 62, 63, 64, 4096, .max][i % 10]
            return GuestAccess(kind: MemoryAccess.Kind(rawValue: UInt8(i % 4))!, size: size, physical: phys,
                               virtual: phys &+ translation, pc: pc)
        }
    }

    static func encode(_ a: [GuestAccess], fields: GuestAccessBatch.Fields, firstIndex: UInt64, capacity: Int = 1 << 20) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        var e = GuestAccessBatch.Encoder(buffer: buffer)
        e.reset(fields: fields, firstIndex: firstIndex)
        for x in a { e.append(x) }
        return [UInt8](e.payload())
    }

    @Test(arguments: [[], [GuestAccessBatch.Fields.virtual], [.pc], [.virtual, .pc], [.userMode, .pc], [.userMode]])
    func roundTrip(fields: GuestAccessBatch.Fields) throws {
        for n in [0, 1, 2, 1000] {
            let a = Self.accesses(n, seed: UInt64(n) &+ UInt64(fields.rawValue))
            let bytes = Self.encode(a, fields: fields, firstIndex: 12345)
            var back: [GuestAccess] = []
            try bytes.withUnsafeBytes { b in
                let h = try GuestAccessBatch.header(b)
                #expect(h.count == UInt32(n) && h.fields == fields && h.firstIndex == 12345)
                try GuestAccessBatch.forEach(b) { back.append($0) }
            }
            let expected = a.map { x in
                GuestAccess(kind: x.kind, size: x.size, physical: x.physical,
                            virtual: fields.contains(.virtual) ? x.virtual : 0, pc: fields.contains(.pc) ? x.pc : 0)
            }
            #expect(back == expected)
        }
    }

    /// Every prefix of a valid payload that cuts an entry is refused, and
    /// header damage (unknown bits, virtual with user mode) is refused.
    @Test func malformedPayloadsAreRefused() throws {
        let bytes = Self.encode(Self.accesses(50, seed: 7), fields: [.virtual, .pc], firstIndex: 0)
        var refused = 0
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[0..<cut])
            let ok: Bool = prefix.withUnsafeBytes { b in (try? GuestAccessBatch.forEach(b) { _ in }) != nil }
            if !ok { refused += 1 }
        }
        #expect(refused == bytes.count, "every truncation is refused")
        for bits: UInt16 in [8, 0x8000, 5] {
            var bad = bytes
            bad[4] = UInt8(bits & 0xFF)
            bad[5] = UInt8(bits >> 8)
            bad.withUnsafeBytes { b in
                _ = #expect(throws: FormatError.self) { _ = try GuestAccessBatch.header(b) }
            }
        }
        // A varint that never ends.
        var endless = Self.encode([GuestAccess(kind: .load, size: 8, physical: 1)], fields: [], firstIndex: 0)
        endless.removeLast()
        endless += [UInt8](repeating: 0xFF, count: 12)
        endless.withUnsafeBytes { b in _ = #expect(throws: FormatError.self) { try GuestAccessBatch.forEach(b) { _ in } } }
    }

    @Test func checkpointRoundTripAndRefusals() throws {
        let c = Checkpoint(flags: [.base, .final], epoch: .max, stores: 1, accesses: 2, images: 3, loggedPages: 4,
                           unloggedPages: 5, ramBytes: 1 << 40)
        var bytes = [UInt8](repeating: 0, count: Checkpoint.size)
        bytes.withUnsafeMutableBytes { c.encode(into: $0.baseAddress!) }
        #expect(try bytes.withUnsafeBytes { try Checkpoint.decode($0) } == c)
        for (offset, value) in [(0, UInt8(0)), (4, 4), (7, 0x80)] {
            var bad = bytes
            bad[offset] = value
            bad.withUnsafeBytes { b in _ = #expect(throws: FormatError.self) { try Checkpoint.decode(b) } }
        }
        for size in [0, 63, 65] {
            let sized = Array(bytes.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - 64))
            sized.withUnsafeBytes { b in _ = #expect(throws: FormatError.self) { try Checkpoint.decode(b) } }
        }
    }
}
