import TraceFormat

/// Parameters of `TraceStore.format`.
public struct FormatParameters: Sendable {
    /// Bytes per segment: a power of two, 64 KiB … 8 MiB.
    public var segmentSize: UInt64
    /// Volume-table slots (most volumes at once).
    public var volumeSlots: UInt32
    /// Most lanes per volume.
    public var maxLanesPerVolume: UInt32
    /// High 8 bytes of the region's uuid (0 with `uuidLow` 0: the caller picks none).
    public var uuidHigh: UInt64
    /// Low 8 bytes of the region's uuid.
    public var uuidLow: UInt64
    /// Nanoseconds since the Unix epoch, or 0.
    public var formatTime: UInt64

    /// Parameters; checked by `validate(regionSize:)` before anything is written.
    public init(
        segmentSize: UInt64 = Layout.defaultSegmentSize, volumeSlots: UInt32 = 1024, maxLanesPerVolume: UInt32 = 64,
        uuidHigh: UInt64 = 0, uuidLow: UInt64 = 0, formatTime: UInt64 = 0
    ) {
        self.segmentSize = segmentSize
        self.volumeSlots = volumeSlots
        self.maxLanesPerVolume = maxLanesPerVolume
        self.uuidHigh = uuidHigh
        self.uuidLow = uuidLow
        self.formatTime = formatTime
    }
}

extension FormatParameters {
    /// Checks everything `TraceStore.format` checks, before anything is
    /// touched: the parameter ranges (`Layout.invalidGeometry`) and, when the
    /// size is known (nil for a device whose size is read later), that the
    /// region holds the metadata plus the minimum number of segments. O(1).
    public func validate(regionSize: UInt64?) throws(TraceError) {
        if let bad = Layout.invalidGeometry(segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanesPerVolume) {
            let what = bad.field == "segmentSize" ? "segment size" : bad.field == "volumeSlotCount" ? "volume slots" : "lanes per volume"
            throw .invalidParameter(name: "\(what) (\(bad.range))", value: bad.value)
        }
        guard let regionSize else { return }
        guard Superblock.layout(
            regionSize: regionSize, segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanesPerVolume,
            uuidHigh: 1, uuidLow: 1, formatTime: 0) != nil
        else {
            throw .regionTooSmall(size: regionSize, minimum: Superblock.minimumRegionSize(
                segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanesPerVolume))
        }
    }
}

extension TraceStore {
    /// Formats the whole region (FORMAT.md §10.1).
    ///
    /// Crash safety: both superblock copies are invalidated first and written
    /// last (B, then A), so a crash at any instant leaves a region that is
    /// either cleanly "not a PMTrace region" or formatted and empty.
    /// Cost: O(metadata size); the segment area is not touched.
    /// The caller holds the region exclusively.
    @discardableResult
    public static func format(region: PersistentRegion, parameters p: FormatParameters) throws(TraceError) -> Superblock {
        try p.validate(regionSize: region.size)
        let sb = Superblock.layout(
            regionSize: region.size, segmentSize: p.segmentSize, volumeSlots: p.volumeSlots,
            maxLanes: p.maxLanesPerVolume, uuidHigh: p.uuidHigh, uuidLow: p.uuidLow, formatTime: p.formatTime)!
        // 1. Invalidate both superblocks: from here on the region is "unformatted".
        let sbArea = 2 * Layout.superblockCopySize
        region.base.initializeMemory(as: UInt8.self, repeating: 0, count: sbArea)
        region.persist(region.base, sbArea)
        // 2. Clear the volume table and lane table.
        let tables = Int(sb.segmentAreaOffset) - sbArea
        (region.base + sbArea).initializeMemory(as: UInt8.self, repeating: 0, count: tables)
        region.persist(region.base + sbArea, tables)
        // 3. Superblock copy B, then A.
        withUnsafeTemporaryAllocation(byteCount: Layout.superblockSize, alignment: 8) { buf in
            sb.encode(into: buf.baseAddress!)
            region.write(buf.baseAddress!, count: Layout.superblockSize, at: UInt64(Layout.superblockCopySize))
            region.write(buf.baseAddress!, count: Layout.superblockSize, at: 0)
        }
        return sb
    }
}
