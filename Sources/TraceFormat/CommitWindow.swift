/// The commit-window word of format 1.4 (FORMAT.md §10.3): what the lane's
/// last commit covered in its tail segment — where its records start, where
/// they end (the commit offset it stored), whether they may be torn — with a
/// check that ties the word to that segment's header.
///
/// | bits | field |
/// |---|---|
/// | 20 … 0 | start ÷ 8 |
/// | 41 … 21 | end ÷ 8 |
/// | 42 | torn: a one-fence commit (its records may be torn by a crash) |
/// | 63 … 43 | check: the low 21 bits of CRC32C(seed: tail header CRC, bits 42 … 0 as u64 LE ‖ "WNDW") |
///
/// Every single- and double-bit change of bits 42 … 0 changes the check (for
/// any seed: CRC is linear), so a flipped bit never passes; a word left from
/// another segment or lane fails it too. The copy of the commit offset lets
/// readers catch a commit word that no longer says what the last commit
/// stored. Pure functions; thread-safe; O(1).
public struct CommitWindow: Equatable, Sendable {
    /// In-segment offset where the last commit's records start.
    public var start: Int
    /// In-segment offset where they end: the commit offset that commit stored.
    public var end: Int
    /// The commit took one fence, so its records may be torn by a crash.
    public var torn: Bool

    /// A window. Precondition: start ≤ end < 2^24, both multiples of 8.
    @inlinable
    public init(start: Int, end: Int, torn: Bool) {
        self.start = start
        self.end = end
        self.torn = torn
    }

    /// The tag checksummed after the fields ("WNDW" in ASCII, little-endian).
    @usableFromInline static let tag: UInt32 = 0x5744_4E57
    @usableFromInline static let fieldMask: UInt64 = (1 << 43) - 1

    /// The word for the segment whose header CRC is `seed`.
    @inlinable
    public func encode(seed: UInt32, crc: CRC32C.Function) -> UInt64 {
        let fields = UInt64(start >> 3) | UInt64(end >> 3) << 21 | (torn ? 1 << 42 : 0)
        return UInt64(Self.check(fields, seed: seed, crc: crc)) << 43 | fields
    }

    /// The window `word` names for the segment whose header CRC is `seed`, or
    /// nil when its check fails (a zero word, a changed word, or one written
    /// for another segment) or start > end.
    @inlinable
    public static func decode(_ word: UInt64, seed: UInt32, crc: CRC32C.Function) -> CommitWindow? {
        let fields = word & fieldMask
        guard word != 0, UInt32(truncatingIfNeeded: word >> 43) == check(fields, seed: seed, crc: crc) else { return nil }
        let w = CommitWindow(start: Int(fields & 0x1F_FFFF) << 3, end: Int(fields >> 21 & 0x1F_FFFF) << 3, torn: fields >> 42 != 0)
        return w.start <= w.end ? w : nil
    }

    /// Whether `word`'s fields, whatever its check, are those of a commit
    /// that opened its segment (start = end = 64, not torn): the word a
    /// crash may leave beside the previous segment's commit word.
    @inlinable
    public static func opensSegment(_ word: UInt64) -> Bool {
        word & fieldMask == UInt64(8) | UInt64(8) << 21
    }

    @usableFromInline
    static func check(_ fields: UInt64, seed: UInt32, crc: CRC32C.Function) -> UInt32 {
        var bytes: (UInt64, UInt32) = (fields.littleEndian, tag.littleEndian)
        return withUnsafeBytes(of: &bytes) { crc(seed, $0.baseAddress, 12) } & 0x1F_FFFF
    }
}
