extension Superblock {
    /// Writes the 128-byte encoding (with its CRC) of superblock copy `copy`
    /// (0 = A, 1 = B) to `destination`. Since 1.3 each copy names itself
    /// (byte 116), so a region mounted 4096 bytes off is recognized.
    /// Precondition: `destination` has at least `Layout.superblockSize` bytes.
    public func encode(into destination: UnsafeMutableRawPointer, copy: Int = 0) {
        let p = destination
        (p + 0).initializeMemory(as: UInt8.self, repeating: 0, count: Layout.superblockSize)
        p.storeLE(Magic.superblock, at: 0)
        p.storeLE(versionMajor, at: 8)
        p.storeLE(versionMinor, at: 10)
        p.storeLE(UInt32(Layout.superblockSize), at: 12)
        p.storeLE(generation, at: 16)
        p.storeLE(regionSize, at: 24)
        p.storeLE(segmentSize, at: 32)
        p.storeLE(segmentCount, at: 40)
        p.storeLE(segmentAreaOffset, at: 48)
        p.storeLE(volumeTableOffset, at: 56)
        p.storeLE(volumeSlotCount, at: 64)
        p.storeLE(maxLanesPerVolume, at: 68)
        p.storeLE(laneTableOffset, at: 72)
        p.storeLE(uuidHigh, at: 80)
        p.storeLE(uuidLow, at: 88)
        p.storeLE(formatTime, at: 96)
        p.storeLE(summaryOffset, at: 104)
        p.storeLE(uidBase, at: 112)
        if versionMinor >= 3 { p.storeLE(UInt8(copy == 0 ? 0 : 1), at: 116) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124))
        p.storeLE(crc, at: 124)
    }

    /// Decodes and validates a superblock copy.
    ///
    /// Checks magic, CRC, version, and that the geometry is self-consistent
    /// and fits in `mappedSize` bytes (the region actually mapped), so every
    /// offset derived from it later is in bounds.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, copy: Int, mappedSize: UInt64
    ) throws(FormatError) -> Superblock {
        let s = Structure.superblock(copy: copy)
        guard bytes.count >= Layout.superblockSize, let p = bytes.baseAddress else {
            throw .truncated(s, needed: Layout.superblockSize, available: bytes.count)
        }
        let magic: UInt64 = p.loadLE(0)
        guard magic == Magic.superblock else { throw .badMagic(s, found: magic) }
        let stored: UInt32 = p.loadLE(124)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124))
        guard stored == computed else { throw .checksumMismatch(s, stored: stored, computed: computed) }
        let major: UInt16 = p.loadLE(8)
        let minor: UInt16 = p.loadLE(10)
        guard major == Layout.versionMajor else { throw .unsupportedVersion(major: major, minor: minor) }
        var sb = Superblock(
            generation: p.loadLE(16), regionSize: p.loadLE(24), segmentSize: p.loadLE(32),
            segmentCount: p.loadLE(40), segmentAreaOffset: p.loadLE(48), volumeTableOffset: p.loadLE(56),
            volumeSlotCount: p.loadLE(64), maxLanesPerVolume: p.loadLE(68), laneTableOffset: p.loadLE(72),
            uuidHigh: p.loadLE(80), uuidLow: p.loadLE(88), formatTime: p.loadLE(96))
        sb.versionMajor = major
        sb.versionMinor = minor
        if minor >= 3 {
            // Fields of 1.3; before it these bytes were reserved, written as zero and not checked.
            sb.summaryOffset = p.loadLE(104)
            sb.uidBase = p.loadLE(112)
            let named: UInt8 = p.loadLE(116)
            guard Int(named) == copy else { throw .invalidField(s, field: Self.misplacedCopyField, value: UInt64(named)) }
        }
        try sb.validate(structure: s, mappedSize: mappedSize)
        return sb
    }

    /// The field name of the error a copy gives when it names the other copy
    /// (the region was mapped 4096 bytes away from where it starts).
    public static let misplacedCopyField = "copy (names the other superblock copy)"

    /// Checks that every area lies inside the region and they do not overlap.
    func validate(structure s: Structure, mappedSize: UInt64) throws(FormatError) {
        guard regionSize <= mappedSize else {
            throw .invalidField(s, field: "regionSize (larger than the mapped file)", value: regionSize)
        }
        if let bad = Layout.invalidGeometry(segmentSize: segmentSize, volumeSlots: volumeSlotCount, maxLanes: maxLanesPerVolume) {
            throw .invalidField(s, field: bad.field, value: bad.value)
        }
        guard volumeTableOffset >= UInt64(2 * Layout.superblockCopySize) else {
            throw .invalidField(s, field: "volumeTableOffset", value: volumeTableOffset)
        }
        // Bounded above by 65536 * 512 and 65536 * 1024 * 64: no overflow.
        let volumeEnd = volumeTableOffset.addingReportingOverflow(UInt64(volumeSlotCount) * UInt64(Layout.volumeSlotSize))
        // Commit words are aligned 8-byte stores, each alone in its cache line (§5).
        guard !volumeEnd.overflow, laneTableOffset >= volumeEnd.partialValue, laneTableOffset % UInt64(Layout.laneWordStride) == 0 else {
            throw .invalidField(s, field: "laneTableOffset", value: laneTableOffset)
        }
        let laneEnd = laneTableOffset.addingReportingOverflow(
            UInt64(volumeSlotCount) * UInt64(maxLanesPerVolume) * UInt64(Layout.laneWordStride))
        var metadataEnd = laneEnd.partialValue
        if summaryOffset != 0 {
            // Bounded: segmentCount ≤ 2^40 is checked below, but check it here first for the product.
            guard segmentCount <= Layout.maxSegmentCount, !laneEnd.overflow, summaryOffset >= laneEnd.partialValue, summaryOffset % 4096 == 0,
                  summaryOffset <= UInt64.max - segmentCount * UInt64(Layout.summaryEntrySize)
            else { throw .invalidField(s, field: "summaryOffset", value: summaryOffset) }
            metadataEnd = summaryOffset + segmentCount * UInt64(Layout.summaryEntrySize)
        }
        guard !laneEnd.overflow, segmentAreaOffset >= metadataEnd, segmentAreaOffset % 4096 == 0 else {
            throw .invalidField(s, field: "segmentAreaOffset", value: segmentAreaOffset)
        }
        guard segmentCount >= Layout.minSegmentCount, segmentCount <= Layout.maxSegmentCount else {
            throw .invalidField(s, field: "segmentCount", value: segmentCount)
        }
        let area = segmentCount.multipliedReportingOverflow(by: segmentSize)
        let end = segmentAreaOffset.addingReportingOverflow(area.partialValue)
        guard !area.overflow, !end.overflow, end.partialValue <= regionSize else {
            throw .invalidField(s, field: "segmentCount (segments end past the region)", value: segmentCount)
        }
        if summaryOffset != 0 { try checkLayout(structure: s) }
    }

    /// Check 13 (FORMAT.md §3), since 1.3: the summary follows the lane
    /// table, the segments follow the summary, and `segmentCount` is the
    /// largest count whose segments end within the region — where §2's layout
    /// puts them, as every writer does. Without it a CRC-valid copy with its
    /// segment area moved (a forgery, or a copy written by something else)
    /// mounts and shows every lane as damaged. Runs after checks 1 … 12, so
    /// no sum here overflows. O(1): the count steps down at most a few times.
    func checkLayout(structure s: Structure) throws(FormatError) {
        let laneBytes = UInt64(volumeSlotCount) * UInt64(maxLanesPerVolume) * UInt64(Layout.laneWordStride)
        guard summaryOffset == alignUp64(laneTableOffset + laneBytes, 4096) else {
            throw .invalidField(s, field: "summaryOffset (not where the layout of §2 puts it)", value: summaryOffset)
        }
        let entry = UInt64(Layout.summaryEntrySize)
        guard segmentAreaOffset == summaryOffset + alignUp64(segmentCount * entry, 4096) else {
            throw .invalidField(s, field: "segmentAreaOffset (not where the layout of §2 puts it)", value: segmentAreaOffset)
        }
        guard segmentCount == Superblock.largestSegmentCount(regionSize: regionSize, summaryOffset: summaryOffset, segmentSize: segmentSize) else {
            throw .invalidField(s, field: "segmentCount (not the largest that fits, §2)", value: segmentCount)
        }
    }
}
