/// A GUID as ACPI stores it: 16 bytes, the first three fields little-endian
/// (so "66F0D379-B4F3-…" is stored 79 D3 F0 66 F3 B4 …).
public struct ACPIGUID: Equatable, Sendable, CustomStringConvertible {
    /// Bytes 0–7 as stored, little-endian.
    public let low: UInt64
    /// Bytes 8–15 as stored, little-endian.
    public let high: UInt64

    /// The GUID whose stored bytes, read as two little-endian words, are `low` and `high`.
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// The GUID written `d1-d2-d3-d4-d5` (d4 and d5 are stored in the order written).
    public init(_ d1: UInt32, _ d2: UInt16, _ d3: UInt16, _ d4: UInt16, _ d5: UInt64) {
        low = UInt64(d1) | UInt64(d2) << 32 | UInt64(d3) << 48
        var h: UInt64 = 0
        // d4 (2 bytes) then d5 (6 bytes), each most significant byte first, into bytes 8…15.
        let tail = UInt64(d4) << 48 | (d5 & 0xFFFF_FFFF_FFFF)
        for i in 0..<8 { h |= ((tail >> UInt64(56 - 8 * i)) & 0xFF) << UInt64(8 * i) }
        high = h
    }

    /// Persistent-memory region, the SPA range type of byte-addressable NVM
    /// (ACPI 6.x Table 5-150): 66F0D379-B4F3-4074-AC43-0D3318B78CDB.
    public static let persistentMemory = ACPIGUID(0x66F0_D379, 0xB4F3, 0x4074, 0xAC43, 0x0D33_18B7_8CDB)

    /// Upper-case text in the usual 8-4-4-4-12 form.
    public var description: String {
        func hex(_ v: UInt64, _ digits: Int) -> String {
            var s = String(v, radix: 16, uppercase: true)
            while s.utf8.count < digits { s = "0" + s }  // UTF-8 count: no grapheme tables
            return s
        }
        var tail: UInt64 = 0
        for i in 0..<8 { tail = tail << 8 | ((high >> UInt64(8 * i)) & 0xFF) }
        return hex(low & 0xFFFF_FFFF, 8) + "-" + hex(low >> 32 & 0xFFFF, 4) + "-" + hex(low >> 48, 4) + "-"
            + hex(tail >> 48, 4) + "-" + hex(tail & 0xFFFF_FFFF_FFFF, 12)
    }
}
