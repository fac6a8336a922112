/// A lane's commit word (FORMAT.md §5): one aligned little-endian u64, the
/// only thing a commit writes. 0 means the lane has no committed record.
/// Otherwise bits 63...24 are the tail segment's index and bits 23...0 the
/// byte offset in that segment where committed data ends.
public struct CommitWord: Equatable, Sendable {
    /// Index of the lane's tail segment.
    public var segment: UInt64
    /// Byte offset in that segment where committed data ends (below 2^24).
    public var offset: UInt32

    /// A commit word naming `segment` and `offset`. Precondition for encoding: `offset < 2^24`, `segment < 2^40`.
    public init(segment: UInt64, offset: UInt32) {
        self.segment = segment
        self.offset = offset
    }

    /// The encoded value. Precondition: segment < 2^40, offset < 2^24.
    @inlinable
    public var rawValue: UInt64 { segment << 24 | UInt64(offset) }

    /// Decodes a raw word; nil for 0 (empty lane).
    @inlinable
    public init?(rawValue: UInt64) {
        guard rawValue != 0 else { return nil }
        segment = rawValue >> 24
        offset = UInt32(truncatingIfNeeded: rawValue & 0xFF_FFFF)
    }
}
