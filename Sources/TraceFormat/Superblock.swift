/// What a region is: its geometry and where each area starts (FORMAT.md §3).
/// Two copies at offsets 0 and 4096; the valid copy with the highest
/// `generation` wins.
public struct Superblock: Equatable, Sendable {
    /// Format major version of the region.
    public var versionMajor: UInt16 = Layout.versionMajor
    /// Format minor version of the region.
    public var versionMinor: UInt16 = Layout.versionMinor
    /// Bumped by every superblock update; the valid copy with the higher one wins.
    public var generation: UInt64
    /// Bytes of the region.
    public var regionSize: UInt64
    /// Bytes of each segment (a power of two, 64 KiB … 8 MiB).
    public var segmentSize: UInt64
    /// Segments in the segment area.
    public var segmentCount: UInt64
    /// Byte offset of segment 0.
    public var segmentAreaOffset: UInt64
    /// Byte offset of the volume table.
    public var volumeTableOffset: UInt64
    /// Slots in the volume table (most volumes at once).
    public var volumeSlotCount: UInt32
    /// Most lanes one volume may have.
    public var maxLanesPerVolume: UInt32
    /// Byte offset of the lane table (commit words).
    public var laneTableOffset: UInt64
    /// 16 random bytes identifying this region (format time).
    public var uuidHigh: UInt64
    /// Low 8 bytes of the region's uuid.
    public var uuidLow: UInt64
    /// Nanoseconds since the Unix epoch at format time; 0 when unknown.
    public var formatTime: UInt64
    /// Byte offset of the segment summary (FORMAT.md §6.1), 0 when the region
    /// has none (regions formatted before 1.3).
    public var summaryOffset: UInt64 = 0
    /// The uid generation of the first volume of a never-used slot (FORMAT.md
    /// §4): chosen at format so that no uid of an earlier format of the same
    /// bytes recurs; 0 in regions formatted before 1.3, meaning 1.
    public var uidBase: UInt32 = 0

    /// A superblock with the given geometry (`TraceStore.format` computes it; FORMAT.md §3).
    public init(
        generation: UInt64, regionSize: UInt64, segmentSize: UInt64, segmentCount: UInt64,
        segmentAreaOffset: UInt64, volumeTableOffset: UInt64, volumeSlotCount: UInt32,
        maxLanesPerVolume: UInt32, laneTableOffset: UInt64, uuidHigh: UInt64, uuidLow: UInt64,
        formatTime: UInt64
    ) {
        self.generation = generation
        self.regionSize = regionSize
        self.segmentSize = segmentSize
        self.segmentCount = segmentCount
        self.segmentAreaOffset = segmentAreaOffset
        self.volumeTableOffset = volumeTableOffset
        self.volumeSlotCount = volumeSlotCount
        self.maxLanesPerVolume = maxLanesPerVolume
        self.laneTableOffset = laneTableOffset
        self.uuidHigh = uuidHigh
        self.uuidLow = uuidLow
        self.formatTime = formatTime
    }

    /// Absolute byte offset of segment `index`'s summary entry.
    /// Precondition: the region has a summary (`summaryOffset != 0`).
    public func summaryEntryOffset(_ index: UInt64) -> UInt64 { summaryOffset + index * UInt64(Layout.summaryEntrySize) }

    /// The low half of the uid of the first volume created in a never-used slot.
    public var firstUIDGeneration: UInt64 { uidBase == 0 ? 1 : UInt64(uidBase) }

    /// Absolute byte offset of segment `index`.
    @inlinable
    public func segmentOffset(_ index: UInt64) -> UInt64 { segmentAreaOffset + index * segmentSize }

    /// Absolute byte offset of the commit word of `lane` in volume slot `slot`.
    public func laneWordOffset(slot: Int, lane: Int) -> UInt64 {
        laneTableOffset + UInt64(slot * Int(maxLanesPerVolume) + lane) * UInt64(Layout.laneWordStride)
    }

    /// Absolute byte offset of volume slot `slot`.
    public func volumeSlotOffset(_ slot: Int) -> UInt64 {
        volumeTableOffset + UInt64(slot) * UInt64(Layout.volumeSlotSize)
    }
}

extension Superblock {
    /// Computes the layout for a region of `regionSize` bytes.
    /// Returns nil when the region is too small for the metadata plus
    /// `Layout.minSegmentCount` segments, or a parameter is out of range.
    public static func layout(
        regionSize: UInt64, segmentSize: UInt64, volumeSlots: UInt32, maxLanes: UInt32,
        uuidHigh: UInt64, uuidLow: UInt64, formatTime: UInt64
    ) -> Superblock? {
        guard Layout.invalidGeometry(segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanes) == nil
        else { return nil }
        let volumeTable = UInt64(2 * Layout.superblockCopySize)
        let laneTable = alignUp64(volumeTable + UInt64(volumeSlots) * UInt64(Layout.volumeSlotSize), 4096)
        let laneBytes = UInt64(volumeSlots) * UInt64(maxLanes) * UInt64(Layout.laneWordStride)
        // Since 1.3 the segment summary (32 bytes per segment) sits between the
        // lane table and the segments.
        let summary = alignUp64(laneTable + laneBytes, 4096)
        guard regionSize > summary else { return nil }
        let entry = UInt64(Layout.summaryEntrySize)
        let count = largestSegmentCount(regionSize: regionSize, summaryOffset: summary, segmentSize: segmentSize)
        guard count >= Layout.minSegmentCount else { return nil }
        var sb = Superblock(
            generation: 1, regionSize: regionSize, segmentSize: segmentSize, segmentCount: count,
            segmentAreaOffset: summary + alignUp64(count * entry, 4096), volumeTableOffset: volumeTable, volumeSlotCount: volumeSlots,
            maxLanesPerVolume: maxLanes, laneTableOffset: laneTable, uuidHigh: uuidHigh, uuidLow: uuidLow,
            formatTime: formatTime)
        sb.summaryOffset = summary
        return sb
    }

    /// The largest segment count ≤ 2^40 whose summary (from `summaryOffset`,
    /// 32 bytes a segment, 4096-aligned) and segments end within
    /// `regionSize` (FORMAT.md §2); `layout` writes it and check 13 of §3
    /// reads it. Precondition: `summaryOffset ≤ regionSize`, `regionSize`
    /// far below 2^64 (a mapped size). O(1): the count steps down at most
    /// a few times.
    static func largestSegmentCount(regionSize: UInt64, summaryOffset: UInt64, segmentSize: UInt64) -> UInt64 {
        let entry = UInt64(Layout.summaryEntrySize)
        var count = min((regionSize - summaryOffset) / (segmentSize + entry), Layout.maxSegmentCount)
        while count > 0 && summaryOffset + alignUp64(count * entry, 4096) + count * segmentSize > regionSize { count -= 1 }
        return count
    }

    /// Smallest region `layout` accepts for these parameters.
    public static func minimumRegionSize(segmentSize: UInt64, volumeSlots: UInt32, maxLanes: UInt32) -> UInt64 {
        let volumeTable = UInt64(2 * Layout.superblockCopySize)
        let laneTable = alignUp64(volumeTable + UInt64(volumeSlots) * UInt64(Layout.volumeSlotSize), 4096)
        let summary = alignUp64(laneTable + UInt64(volumeSlots) * UInt64(maxLanes) * UInt64(Layout.laneWordStride), 4096)
        return summary + alignUp64(Layout.minSegmentCount * UInt64(Layout.summaryEntrySize), 4096) + Layout.minSegmentCount * segmentSize
    }
}
