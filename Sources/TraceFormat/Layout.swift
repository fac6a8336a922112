/// Fixed numbers of the on-media layout (see FORMAT.md §2).
public enum Layout {
    /// Format version written by this code. A reader accepts any minor version
    /// of its major version; a different major version is refused.
    public static let versionMajor: UInt16 = 1
    /// Minor format version written by this code (readers accept any minor of their major).
    public static let versionMinor: UInt16 = 4

    /// Bytes reserved for each superblock copy; copy A at 0, copy B at 4096.
    public static let superblockCopySize = 4096
    /// Bytes of one encoded superblock (the rest of the 4 KiB copy is zero).
    public static let superblockSize = 128
    /// One volume-table slot: two 256-byte entry copies.
    public static let volumeEntrySize = 256
    /// Bytes of one volume-table slot (both entry copies).
    public static let volumeSlotSize = 512
    /// Each lane's commit word lives alone in a 64-byte cache line.
    public static let laneWordStride = 64
    /// Segment header at the start of every segment; records follow it.
    public static let segmentHeaderSize = 64
    /// One segment-summary entry (FORMAT.md §6.1, since 1.3).
    public static let summaryEntrySize = 32
    /// Record header; records start and end on 8-byte boundaries.
    public static let recordHeaderSize = 32
    /// Records start and end on multiples of this many bytes.
    public static let recordAlignment = 8
    /// Since 1.3 a commit of one record of at most this many bytes in its tail
    /// segment may be made durable with one fence (FORMAT.md §10.3); its start
    /// is written beside the commit word, and a record that fails its checks
    /// there is the end of a torn commit, not damage.
    public static let tornCommitWindow = 4096
    /// Offset of the commit-window word from the commit word, in the same line.
    public static let commitWindowWordOffset = 8
    /// Longest volume name in UTF-8 bytes.
    public static let maxNameLength = 200

    /// Segment sizes are powers of two in this range (the commit word keeps a
    /// 24-bit in-segment offset, so 8 MiB is the most it can address).
    public static let minSegmentSize: UInt64 = 64 * 1024
    /// Largest segment size (the commit word's 24-bit offset).
    public static let maxSegmentSize: UInt64 = 8 * 1024 * 1024
    /// Segment size used when none is given.
    public static let defaultSegmentSize: UInt64 = 1024 * 1024
    /// Commit words address at most 2^40 segments.
    public static let maxSegmentCount: UInt64 = 1 << 40
    /// Fewest segments a region may have.
    public static let minSegmentCount: UInt64 = 4
    /// Most lanes a region may allow per volume.
    public static let maxLanesLimit: UInt32 = 1024
    /// Legal range of the volume-table slot count.
    public static let volumeSlotRange: ClosedRange<UInt32> = 1...65536
    /// Legal range of lanes per volume.
    public static let lanesPerVolumeRange: ClosedRange<UInt32> = 1...maxLanesLimit

    /// The one check of the format parameters (FORMAT.md §3): returns the
    /// first one out of range as (superblock field name, legal range text,
    /// value), or nil when all are legal. Used by format, by the superblock
    /// decoder and by layout computation alike.
    public static func invalidGeometry(
        segmentSize: UInt64, volumeSlots: UInt32, maxLanes: UInt32
    ) -> (field: String, range: String, value: UInt64)? {
        // `&-` cannot wrap: segmentSize >= minSegmentSize > 0 is checked first.
        guard segmentSize >= minSegmentSize, segmentSize <= maxSegmentSize, segmentSize & (segmentSize &- 1) == 0 else {
            return ("segmentSize", "a power of two, 64 KiB...8 MiB", segmentSize)
        }
        guard volumeSlotRange.contains(volumeSlots) else {
            return ("volumeSlotCount", "\(volumeSlotRange.lowerBound)...\(volumeSlotRange.upperBound)", UInt64(volumeSlots))
        }
        guard lanesPerVolumeRange.contains(maxLanes) else {
            return ("maxLanesPerVolume", "\(lanesPerVolumeRange.lowerBound)...\(lanesPerVolumeRange.upperBound)", UInt64(maxLanes))
        }
        return nil
    }

    /// "No segment" in a `prev` link.
    public static let noSegment: UInt64 = .max

    /// Largest payload that fits one record in an empty segment.
    public static func maxFragmentPayload(segmentSize: UInt64) -> Int {
        Int(segmentSize) - segmentHeaderSize - recordHeaderSize
    }

    /// Bytes a record with `payloadLength` bytes takes in a segment.
    @inlinable
    public static func recordFootprint(payloadLength: Int) -> Int {
        alignUp(32 + payloadLength, 8)
    }
}

/// Magic numbers: ASCII tags read as little-endian integers.
public enum Magic {
    /// "PMTRACE\0"
    public static let superblock: UInt64 = 0x0045_4341_5254_4D50
    /// "PMVE"
    public static let volumeEntry: UInt32 = 0x4556_4D50
    /// "PMSG"
    public static let segment: UInt32 = 0x4753_4D50
}
