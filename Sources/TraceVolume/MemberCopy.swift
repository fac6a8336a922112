/// The copy of a small record-group member's payload into the writer's
/// staging buffer, inlined into `append`'s caller.
///
/// Why not `copyMemory` (a `memmove` call): the call clobbers the
/// caller-saved registers, so the caller's loop around `append` spilled and
/// reloaded its values around every member. Measured (`Benchmarks
/// _profile-append <size> 67108864 524288`, main's binary and this one
/// alternating, medians of 12–18 passes): 64 B 7.3 → 6.0 ms, 16 B 6.5 →
/// 4.7 ms, 100 B 7.4 → 7.4 ms, 256 B (not staged) 4.65 → 4.3 ms. Written
/// without loops and kept small: a version with a loop of 16-byte moves
/// kept `append` from being inlined into large callers at all.
extension UnsafeMutableRawPointer {
    /// Copies `count` bytes from `source` to `self` with overlapping
    /// 16-, 8-, 4- or 1-byte loads and stores (no call, no loop) up to
    /// `inlineMemberCopyLimit` bytes, with `copyMemory` above. Reads only
    /// `source[0 ..< count]` and writes only `self[0 ..< count]`; the two must
    /// not overlap. O(count).
    @inlinable @inline(__always)
    func copyMemberPayload(from source: UnsafeRawPointer, count n: Int) {
        // No loops: pieces that overlap instead, every one inside [0, n) (a loop here kept
        // `append` from being inlined into its callers).
        if n > 64 {
            if n > UnsafeMutableRawPointer.inlineMemberCopyLimit {
                copyMemory(from: source, byteCount: n)
                return
            }
            // 65 ... 128 bytes: 0 ..< 64 and n - 64 ..< n.
            copy16(from: source, at: 0)
            copy16(from: source, at: 16)
            copy16(from: source, at: 32)
            copy16(from: source, at: 48)
            copy16(from: source, at: n &- 64)
            copy16(from: source, at: n &- 48)
            copy16(from: source, at: n &- 32)
            copy16(from: source, at: n &- 16)
        } else if n > 32 {
            copy16(from: source, at: 0)
            copy16(from: source, at: 16)
            copy16(from: source, at: n &- 32)
            copy16(from: source, at: n &- 16)
        } else if n >= 16 {
            copy16(from: source, at: 0)
            copy16(from: source, at: n &- 16)
        } else if n >= 8 {
            storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
            storeBytes(of: source.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 {
            storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
            storeBytes(of: source.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self), toByteOffset: n &- 4, as: UInt32.self)
        } else if n > 0 {
            // 1 ... 3 bytes: the first, the middle and the last.
            storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
            storeBytes(of: source.load(fromByteOffset: n >> 1, as: UInt8.self), toByteOffset: n >> 1, as: UInt8.self)
            storeBytes(of: source.load(fromByteOffset: n &- 1, as: UInt8.self), toByteOffset: n &- 1, as: UInt8.self)
        }
    }

    /// Bytes `at ..< at + 16` from `source`: both words loaded before either is stored.
    @inlinable @inline(__always)
    func copy16(from source: UnsafeRawPointer, at: Int) {
        let a = source.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        let b = source.loadUnaligned(fromByteOffset: at &+ 8, as: UInt64.self)
        storeBytes(of: a, toByteOffset: at, as: UInt64.self)
        storeBytes(of: b, toByteOffset: at &+ 8, as: UInt64.self)
    }

    /// Largest payload `copyMemberPayload` copies without a call.
    @inlinable static var inlineMemberCopyLimit: Int { 128 }
}
