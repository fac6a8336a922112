import TraceFormat

/// Parameters of `TraceStore.format`.
public struct FormatParameters: Sendable {
    public var segmentSize: UInt64
    public var volumeSlots: UInt32
    public var maxLanesPerVolume: UInt32
    public var uuidHigh: UInt64
    public var uuidLow: UInt64
    /// Nanoseconds since the Unix epoch, or 0.
    public var formatTime: UInt64

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
        guard p.segmentSize >= Layout.minSegmentSize, p.segmentSize <= Layout.maxSegmentSize,
              p.segmentSize & (p.segmentSize - 1) == 0
        else { throw .invalidParameter(name: "segment size (a power of two, 64 KiB...8 MiB)", value: p.segmentSize) }
        guard p.volumeSlots >= 1, p.volumeSlots <= 65536 else {
            throw .invalidParameter(name: "volume slots (1...65536)", value: UInt64(p.volumeSlots))
        }
        guard p.maxLanesPerVolume >= 1, p.maxLanesPerVolume <= Layout.maxLanesLimit else {
            throw .invalidParameter(name: "lanes per volume (1...\(Layout.maxLanesLimit))", value: UInt64(p.maxLanesPerVolume))
        }
        guard let sb = Superblock.layout(
            regionSize: region.size, segmentSize: p.segmentSize, volumeSlots: p.volumeSlots,
            maxLanes: p.maxLanesPerVolume, uuidHigh: p.uuidHigh, uuidLow: p.uuidLow, formatTime: p.formatTime)
        else {
            throw .regionTooSmall(size: region.size, minimum: Superblock.minimumRegionSize(
                segmentSize: p.segmentSize, volumeSlots: p.volumeSlots, maxLanes: p.maxLanesPerVolume))
        }
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
