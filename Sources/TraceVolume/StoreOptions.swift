import TraceFormat

/// Settings of a mounted store that are not on media: commit policy, clock
/// and the checksum implementations of the host.
public struct StoreOptions: Sendable {
    /// A writer commits by itself once this many bytes were appended since the
    /// last commit (0 = only at explicit commits and segment boundaries).
    public var commitInterval: Int
    /// Nanosecond clock for volume timestamps; returns 0 where there is none.
    public var clock: @convention(c) () -> UInt64
    /// CRC32C implementation (hardware on hosts that have it). Every
    /// implementation must give `CRC32C.software`'s results.
    public var crc32c: CRC32C.Function
    /// One-pass "checksum and copy with non-temporal stores" for large
    /// payloads: copies a prefix of `count` bytes, extends `*crc` over it and
    /// returns how many bytes it handled (the store does the rest). Used only
    /// where the region's copy is non-temporal too (not at page granularity).
    public typealias CopyChecksumFunction = @convention(c) (UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int
    /// The fused copy-and-checksum, or nil to copy and checksum in two passes.
    public var copyWithChecksum: CopyChecksumFunction?
    /// One-pass "copy out with ordinary stores and checksum the bytes copied"
    /// for verified reads (`LaneReader.read(into:)`): same signature as
    /// `copyWithChecksum`, any alignment; returns how many bytes it handled
    /// (the reader copies and checksums the rest in two passes). Nil: always two passes.
    public var copyOutWithChecksum: CopyChecksumFunction?
    /// Writes record groups' members straight into the segment as they are
    /// appended (see `GroupStreamFunctions`) instead of staging them in DRAM,
    /// for members of at least `LaneWriter.directMemberMinimum` bytes; nil
    /// (the default) stages every member. Ignored at page granularity. The
    /// bytes on media are the same either way.
    public var groupStream: GroupStreamFunctions?
    /// A writable mount rewrites a damaged superblock copy from the valid one
    /// (the default). fsck turns this off so that the rewrite happens inside
    /// `check(repair:)`, where it is reported, planned and backed up.
    public var rewritesDamagedSuperblockAtMount = true
    /// Mount takes lane chains from the segment summary where the region has
    /// one (the default; FORMAT.md §10.5). False walks every segment header,
    /// as for regions formatted before 1.3 (tests compare the two).
    public var usesSegmentSummary = true
    /// For a region mapped from a file cut short (the missing bytes read as
    /// zeros, `TracePool.open(readingTruncated:)`): how many bytes of the
    /// region the file holds; nil (the default) for a whole region. Mount
    /// then reports a lane whose commit word lies past it as damaged (its
    /// zeros would read as an empty lane) and volume-table slots past it as
    /// unknown, instead of as empty.
    public var readableBytes: UInt64?
    /// DRAM bytes per writer for staging small records (≤ 1 KiB) that are
    /// written as one record group (FORMAT.md §7.1): one header and one
    /// checksum for many records. 0 (or less than 2 KiB) turns grouping off;
    /// regions formatted before 1.3 never get groups. Default 64 KiB.
    public var recordGroupBytes = 64 << 10

    /// Options; the defaults commit every 8 MiB, have no clock and use the software CRC.
    public init(
        commitInterval: Int = 8 << 20, clock: @convention(c) () -> UInt64 = { 0 },
        crc32c: CRC32C.Function = CRC32C.software, copyWithChecksum: CopyChecksumFunction? = nil,
        copyOutWithChecksum: CopyChecksumFunction? = nil
    ) {
        self.commitInterval = commitInterval
        self.clock = clock
        self.crc32c = crc32c
        self.copyWithChecksum = copyWithChecksum
        self.copyOutWithChecksum = copyOutWithChecksum
    }
}
