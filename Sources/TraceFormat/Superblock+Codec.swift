extension Superblock {
    /// Writes the 128-byte encoding (with its CRC) to `destination`.
    /// Precondition: `destination` has at least `Layout.superblockSize` bytes.
    public func encode(into destination: UnsafeMutableRawPointer) {
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
        try sb.validate(structure: s, mappedSize: mappedSize)
        return sb
    }

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
        guard !laneEnd.overflow, segmentAreaOffset >= laneEnd.partialValue, segmentAreaOffset % 4096 == 0 else {
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
    }
}
