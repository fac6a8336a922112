/// What a region is: its geometry and where each area starts (FORMAT.md §3).
/// Two copies at offsets 0 and 4096; the valid copy with the highest
/// `generation` wins.
public struct Superblock: Equatable, Sendable {
    public var versionMajor: UInt16 = Layout.versionMajor
    public var versionMinor: UInt16 = Layout.versionMinor
    public var generation: UInt64
    public var regionSize: UInt64
    public var segmentSize: UInt64
    public var segmentCount: UInt64
    public var segmentAreaOffset: UInt64
    public var volumeTableOffset: UInt64
    public var volumeSlotCount: UInt32
    public var maxLanesPerVolume: UInt32
    public var laneTableOffset: UInt64
    /// 16 random bytes identifying this region (format time).
    public var uuidHigh: UInt64
    public var uuidLow: UInt64
    /// Nanoseconds since the Unix epoch at format time; 0 when unknown.
    public var formatTime: UInt64

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
        let segmentArea = alignUp64(laneTable + laneBytes, 4096)
        guard regionSize > segmentArea else { return nil }
        let count = min((regionSize - segmentArea) / segmentSize, Layout.maxSegmentCount)
        guard count >= Layout.minSegmentCount else { return nil }
        return Superblock(
            generation: 1, regionSize: regionSize, segmentSize: segmentSize, segmentCount: count,
            segmentAreaOffset: segmentArea, volumeTableOffset: volumeTable, volumeSlotCount: volumeSlots,
            maxLanesPerVolume: maxLanes, laneTableOffset: laneTable, uuidHigh: uuidHigh, uuidLow: uuidLow,
            formatTime: formatTime)
    }

    /// Smallest region `layout` accepts for these parameters.
    public static func minimumRegionSize(segmentSize: UInt64, volumeSlots: UInt32, maxLanes: UInt32) -> UInt64 {
        let volumeTable = UInt64(2 * Layout.superblockCopySize)
        let laneTable = alignUp64(volumeTable + UInt64(volumeSlots) * UInt64(Layout.volumeSlotSize), 4096)
        let segmentArea = alignUp64(laneTable + UInt64(volumeSlots) * UInt64(maxLanes) * UInt64(Layout.laneWordStride), 4096)
        return segmentArea + Layout.minSegmentCount * segmentSize
    }
}
