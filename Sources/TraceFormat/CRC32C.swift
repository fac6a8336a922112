/// CRC32C (Castagnoli), the checksum of every structure on media.
///
/// Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF:
/// `CRC32C.update(0, "123456789")` is 0xE3069283. `update(update(0, a), b)`
/// equals `update(0, a + b)`, so a checksum can be extended over several
/// buffers. This is the portable table implementation (slicing-by-8); hosted
/// builds pass a hardware implementation with the same contract to the store.
/// Pure function; thread-safe.
public enum CRC32C {
    /// The signature of a CRC32C function the store can be given
    /// (`crc` is a previous result, 0 to start).
    public typealias Function = @convention(c) (UInt32, UnsafeRawPointer?, Int) -> UInt32

    /// The portable implementation as a C function pointer.
    public static let software: Function = { crc, pointer, count in
        guard let pointer, count > 0 else { return crc }
        return CRC32C.update(crc, UnsafeRawBufferPointer(start: pointer, count: count))
    }

    @usableFromInline
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[n] = c
        }
        for n in 0..<256 {
            for s in 1..<8 {
                let prev = t[(s - 1) * 256 + n]
                t[s * 256 + n] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// Extends `crc` over `bytes`. O(n).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        guard var p = bytes.baseAddress else { return crc }
        var n = bytes.count
        tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let w = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(c)
                c = t[7 * 256 + Int(w & 0xFF)] ^ t[6 * 256 + Int((w >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((w >> 16) & 0xFF)] ^ t[4 * 256 + Int((w >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((w >> 32) & 0xFF)] ^ t[2 * 256 + Int((w >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((w >> 48) & 0xFF)] ^ t[Int(w >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// Checksum of `bytes` from the start.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(0, bytes) }
}
