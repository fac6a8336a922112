import Testing
import TraceFormat
@testable import TracePayloads

/// The column decoder agrees with the per-access decoders on every batch
/// shape, and refuses every truncated or hostile payload with an error.
@Suite struct AccessColumnsTests {
    struct Decoded: Equatable { var kind: [UInt8]; var size: [UInt32]; var address: [UInt64]; var virtual: [UInt64]; var pc: [UInt64] }

    static func columns(_ kind: RecordKind, _ payload: UnsafeRawBufferPointer) throws(FormatError) -> Decoded? {
        guard let shape = try AccessColumns.shape(kind: kind, payload: payload) else { return nil }
        var d = Decoded(kind: .init(repeating: 0, count: shape.count), size: .init(repeating: 0, count: shape.count),
                        address: .init(repeating: 0, count: shape.count), virtual: .init(repeating: 0, count: shape.count),
                        pc: .init(repeating: 0, count: shape.count))
        try d.kind.withUnsafeMutableBufferPointer { (k) throws(FormatError) in
            try d.size.withUnsafeMutableBufferPointer { (s) throws(FormatError) in
                try d.address.withUnsafeMutableBufferPointer { (a) throws(FormatError) in
                    try d.virtual.withUnsafeMutableBufferPointer { (v) throws(FormatError) in
                        try d.pc.withUnsafeMutableBufferPointer { (p) throws(FormatError) in
                            let c = AccessColumnPointers(kind: k.baseAddress, size: s.baseAddress, address: a.baseAddress,
                                                         virtual: v.baseAddress, pc: p.baseAddress)
                            _ = try AccessColumns.decode(kind: kind, payload: payload, into: c, at: 0)
                        }
                    }
                }
            }
        }
        return d
    }

    static func accesses(_ n: Int, seed: UInt64) -> [GuestAccess] {
        var x = seed | 1
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        return (0..<n).map { i in
            let size: UInt32 = i % 11 == 0 ? UInt32(next() % 100_000) : UInt32(next() % 64)
            return GuestAccess(kind: MemoryAccess.Kind(rawValue: UInt8(next() & 3))!, size: size, physical: next() >> (next() % 64),
                               virtual: next(), pc: 0x40_0000 &+ next() % 4096)
        }
    }

    @Test(arguments: [0, 1, 2, 17, 300])
    func memoryAccessBatchMatchesForEach(count: Int) throws {
        let a = Self.accesses(count, seed: UInt64(count) + 7).map { MemoryAccess(kind: $0.kind, address: $0.physical, size: $0.size) }
        var bytes: [UInt8] = []
        a.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &bytes) }
        try bytes.withUnsafeBytes { p in
            let d = try #require(try Self.columns(.memoryAccessBatch, p))
            #expect(d.address == a.map(\.address) && d.size == a.map(\.size) && d.kind == a.map(\.kind.rawValue))
            #expect(d.pc.allSatisfy { $0 == 0 } && d.virtual.allSatisfy { $0 == 0 })
        }
    }

    @Test(arguments: [GuestAccessBatch.Fields(), [.pc], [.virtual, .pc], [.userMode, .pc]])
    func guestAccessBatchMatchesForEach(fields: GuestAccessBatch.Fields) throws {
        let a = Self.accesses(500, seed: UInt64(fields.rawValue) + 3)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
        defer { buffer.deallocate() }
        var e = GuestAccessBatch.Encoder(buffer: buffer)
        e.reset(fields: fields, firstIndex: 9)
        for x in a where e.hasRoom { e.append(x) }
        var expected: [GuestAccess] = []
        try GuestAccessBatch.forEach(e.payload()) { expected.append($0) }
        let d = try #require(try Self.columns(.guestAccessBatch, e.payload()))
        #expect(d.address == expected.map(\.physical) && d.size == expected.map(\.size))
        #expect(d.pc == expected.map { fields.contains(.pc) ? $0.pc : 0 })
        #expect(d.virtual == expected.map { fields.contains(.virtual) ? $0.virtual : 0 })
    }

    /// Every truncation of a valid batch is refused (never a trap); so is a
    /// count larger than the payload could hold.
    @Test func truncatedAndHostilePayloadsThrow() throws {
        let a = Self.accesses(40, seed: 99).map { MemoryAccess(kind: $0.kind, address: $0.physical, size: $0.size) }
        var bytes: [UInt8] = []
        a.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &bytes) }
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            _ = prefix.withUnsafeBytes { p in
                #expect(throws: FormatError.self) { _ = try Self.columns(.memoryAccessBatch, p) }
            }
        }
        var hostile = bytes
        hostile[0] = 0xFF; hostile[1] = 0xFF; hostile[2] = 0xFF; hostile[3] = 0x7F
        _ = hostile.withUnsafeBytes { p in
            #expect(throws: FormatError.self) { _ = try AccessColumns.shape(kind: .memoryAccessBatch, payload: p) }
        }
        #expect(try [UInt8](repeating: 0, count: 8).withUnsafeBytes { try AccessColumns.shape(kind: .blob, payload: $0) } == nil)
    }
}
