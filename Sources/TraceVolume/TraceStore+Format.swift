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
    /// Low half of the first volume uid of each slot (FORMAT.md §4); 0 picks
    /// one from the uuid and the format time, different from the one of a
    /// region formatted at the same place before.
    public var uidBase: UInt32 = 0

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
        var sb = Superblock.layout(
            regionSize: region.size, segmentSize: p.segmentSize, volumeSlots: p.volumeSlots,
            maxLanes: p.maxLanesPerVolume, uuidHigh: p.uuidHigh, uuidLow: p.uuidLow, formatTime: p.formatTime)!
        sb.uidBase = uidBase(p, replacing: region)
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
            sb.encode(into: buf.baseAddress!, copy: 1)
            region.write(buf.baseAddress!, count: Layout.superblockSize, at: UInt64(Layout.superblockCopySize))
            sb.encode(into: buf.baseAddress!, copy: 0)
            region.write(buf.baseAddress!, count: Layout.superblockSize, at: 0)
        }
        return sb
    }

    /// The uid base of a new format (FORMAT.md §4): the caller's, else mixed
    /// from the uuid and format time; never the base of a region that is
    /// formatted at this place now (its old segment headers then name no
    /// volume of the new one). The top bit is set, so no uid of a region
    /// formatted before 1.3 (generations from 1) can recur either.
    static func uidBase(_ p: FormatParameters, replacing region: PersistentRegion) -> UInt32 {
        var old: UInt32?
        for copy in 0..<2 {
            if let bytes = region.bytes(UInt64(copy * Layout.superblockCopySize), Layout.superblockSize),
               let sb = try? Superblock.decode(bytes, copy: copy, mappedSize: region.size) { old = sb.uidBase }
        }
        if p.uidBase != 0 && p.uidBase != old { return p.uidBase }
        var x = p.uuidHigh ^ p.uuidLow.rotated(by: 17) ^ p.formatTime.rotated(by: 41) ^ UInt64(p.uidBase)
        // splitmix64 finalizer
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        var base = UInt32(truncatingIfNeeded: x) | 0x8000_0000
        // Without entropy (no uuid, no time: tests), or too close to the old
        // base (its slots' generations count up from it): the old one + 2^24.
        if let old, (p.uuidHigh | p.uuidLow | p.formatTime) == 0 || base &- old < 0x0100_0000 || old &- base < 0x0100_0000 {
            base = (old &+ 0x0100_0000) | 0x8000_0000
        }
        return base
    }
}

extension UInt64 {
    fileprivate func rotated(by n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
