/// Joining two CRC32C results (zlib's `crc32_combine`, for the Castagnoli
/// polynomial): the writer checksums a record group's payload while it streams
/// the members into the segment, before the group's header (which the record
/// checksum covers first) is known, and joins the two at the group's close.
extension CRC32C {
    /// The checksum of `a + b` from `update(0, a)`, `update(0, b)` and `b.count`:
    /// `combine(update(c, a), update(0, b), length2: b.count) == update(update(c, a), b)`
    /// for any `c`. O(log length2): one 32-step multiplication per bit set in
    /// `length2`, plus one; pure, thread-safe.
    public static func combine(_ crc1: UInt32, _ crc2: UInt32, length2: Int) -> UInt32 {
        combine(crc1, crc2, shift: shift(length: length2))
    }

    /// The operator `combine` applies for a second part of `length` bytes
    /// (x^(8 · length) modulo the polynomial), for callers that join many
    /// pieces of one length. O(log length).
    public static func shift(length: Int) -> UInt32 {
        precondition(length >= 0, "negative length")
        return xPower2n(length, 3)
    }

    /// `combine(crc1, crc2, length2:)` with `shift(length: length2)` computed
    /// beforehand: one 32-step multiplication.
    public static func combine(_ crc1: UInt32, _ crc2: UInt32, shift: UInt32) -> UInt32 {
        multiplyModP(shift, crc1) ^ crc2
    }

    /// a · b modulo the polynomial (bit-reflected, x^0 in the top bit).
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var p: UInt32 = 0
        var b = b
        while true {
            if a & m != 0 {
                p ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ 0x82F6_3B78 : b >> 1
        }
        return p
    }

    /// x^(2^k) modulo the polynomial, k = 0...31 (zlib's x2n_table).
    static let powers: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 32)
        var p: UInt32 = 1 << 30  // x^1
        for k in 0..<32 {
            t[k] = p
            p = multiplyModP(p, p)
        }
        return t
    }()

    /// x^(n · 2^k) modulo the polynomial: one multiplication per bit set in n.
    static func xPower2n(_ n: Int, _ k: Int) -> UInt32 {
        var p: UInt32 = 1 << 31  // x^0
        var n = n
        var k = k
        while n != 0 {
            if n & 1 != 0 { p = multiplyModP(powers[k & 31], p) }
            n >>= 1
            k += 1
        }
        return p
    }
}
