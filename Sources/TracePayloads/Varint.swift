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

    /// Stores `value` as LEB128 at `p` like `store(_:at:)` and returns the
    /// same byte count, without a loop or a branch per byte: values below
    /// 2^56 (every address difference a 57-bit address space produces) are
    /// spread into 7-bit groups with shifts and masks and written as one
    /// 8-byte store, so up to 8 bytes at `p` are written although only the
    /// first `n` belong to the varint. Callers reserve 10 bytes per varint,
    /// as `store` needs; the bytes past `n` are left unspecified.
    /// Measured: ~2× the byte loop on mixed 1–3-byte values, where the loop's
    /// exit branch mispredicts (`Benchmarks events`). The 7-bit groups are
    /// spread in three halving steps (28 → 32, 14 → 16, 7 → 8 bits: 12
    /// operations instead of 23), and the length and continuation bits come
    /// from the spread value's highest nonzero byte (no division by 7).
    @inlinable @inline(__always)
    public static func storeWide(_ value: UInt64, at p: UnsafeMutableRawPointer) -> Int {
        guard value < 1 << 56 else { return store(value, at: p) }
        // Bits 28…55 to 32…59, then 14-bit halves to 16, then 7-bit groups to 8.
        var x = (value & 0x0FFF_FFFF) | ((value << 4) & 0x0FFF_FFFF_0000_0000)
        x = (x & 0x0000_3FFF_0000_3FFF) | ((x << 2) & 0x3FFF_0000_3FFF_0000)
        x = (x & 0x007F_007F_007F_007F) | ((x << 1) & 0x7F00_7F00_7F00_7F00)
        // Highest nonzero byte k (0 for value 0): n = k + 1 bytes, continuation on bytes 0 ..< k.
        let z = (x | 1).leadingZeroBitCount  // 8 × (7 − k) + (0 … 7)
        let more: UInt64 = 0x0080_8080_8080_8080 &>> UInt64(z & 0x38)
        p.storeBytes(of: (x | more).littleEndian, as: UInt64.self)
        return 8 &- (z &>> 3)
    }

    /// `storeWide(_:at:)` with a short path for values below 2^14 (one or
    /// two bytes: the address differences of a program's access streams,
    /// FORMAT.md §8.12), which skips the three spreading steps and the
    /// leading-zero count. Same bytes, same count, up to 8 bytes at `p`
    /// written. Use it where nearly every value is short, so that the extra
    /// branch predicts: measured in `Benchmarks events`.
    @inlinable @inline(__always)
    public static func storeShortFirst(_ value: UInt64, at p: UnsafeMutableRawPointer) -> Int {
        guard value < 1 << 14 else { return storeWide(value, at: p) }
        let high = value &>> 7
        let two: UInt64 = high == 0 ? 0 : 1
        p.storeBytes(of: UInt16(truncatingIfNeeded: (value & 0x7F) | two &<< 7 | high &<< 8).littleEndian, as: UInt16.self)
        return 1 &+ Int(two)
    }

    /// Reads a LEB128 value at `index`, advancing it. Returns nil when the
    /// bytes end first or the value does not fit 64 bits.
    @inlinable @inline(__always)
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
