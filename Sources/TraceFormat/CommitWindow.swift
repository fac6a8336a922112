/// The commit-window word of format 1.4 (FORMAT.md §10.3): where the records
/// of a one-fence commit start in the lane's tail segment, with a check that
/// ties the word to that segment's header.
///
/// Bits 23 … 0 hold the start offset, bits 31 … 24 are zero, bits 63 … 32 hold
/// `CRC32C(seed: tail header CRC, start as u32 LE ‖ "WNDW")`. A flipped bit, a
/// word left from another segment or another incarnation of the same segment,
/// and the zero word ("no window") all fail `decode`, so damage can never
/// widen the window in which a failing record reads as a torn commit.
/// Pure functions; thread-safe; O(1).
public enum CommitWindow {
    /// The tag checksummed after the start offset ("WNDW" in ASCII, little-endian).
    @usableFromInline static let tag: UInt32 = 0x5744_4E57

    /// The word naming `start` in the segment whose header CRC is `seed`.
    /// Precondition: `start < 2^24`.
    @inlinable
    public static func encode(start: Int, seed: UInt32, crc: CRC32C.Function) -> UInt64 {
        UInt64(check(start: UInt32(truncatingIfNeeded: start), seed: seed, crc: crc)) << 32 | UInt64(start)
    }

    /// The start offset `word` names for the segment whose header CRC is
    /// `seed`, or nil when the word is zero, has reserved bits set or fails
    /// its check. The caller still checks the range (§10.3).
    @inlinable
    public static func decode(_ word: UInt64, seed: UInt32, crc: CRC32C.Function) -> Int? {
        guard word != 0, word & 0xFF00_0000 == 0 else { return nil }
        let start = UInt32(truncatingIfNeeded: word & 0xFF_FFFF)
        guard UInt32(truncatingIfNeeded: word >> 32) == check(start: start, seed: seed, crc: crc) else { return nil }
        return Int(start)
    }

    @usableFromInline
    static func check(start: UInt32, seed: UInt32, crc: CRC32C.Function) -> UInt32 {
        var bytes = UInt64(start.littleEndian) | UInt64(tag.littleEndian) << 32
        return withUnsafeBytes(of: &bytes) { crc(seed, $0.baseAddress, 8) }
    }
}
