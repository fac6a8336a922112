import TraceFormat

/// LEB128 unsigned varints and zigzag signed mapping, used by the compact
/// memory-access encoding.
public enum Varint {
    /// Appends `value` as LEB128 (1...10 bytes).
    @inlinable
    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Stores `value` as LEB128 at `p` (1...10 bytes) and returns how many
    /// bytes that took: the bytes `append(_:to:)` would add, with no allocation.
    @inlinable
    public static func store(_ value: UInt64, at p: UnsafeMutableRawPointer) -> Int {
        var v = value
        var n = 0
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        p.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        return n + 1
    }

    /// Reads a LEB128 value at `index`, advancing it. Returns nil when the
    /// bytes end first or the value does not fit 64 bits.
    @inlinable
    public static func read(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            if shift == 63 && b > 1 { return nil }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    /// Maps signed to unsigned so small magnitudes encode short (0, -1, 1, -2 → 0, 1, 2, 3).
    @inlinable public static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    /// The inverse of `zigzag`.
    @inlinable public static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}
