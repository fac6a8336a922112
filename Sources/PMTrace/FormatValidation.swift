import TraceFormat
import TraceVolume

extension FormatParameters {
    /// Checks everything `TraceStore.format` would check, before any file is
    /// created or touched: the parameter ranges and, when the size is known
    /// (`regionSize`; nil for a device whose size is read later), that the
    /// region holds the metadata plus the minimum number of segments.
    /// Throws the same `TraceError`s as `TraceStore.format`, wrapped.
    ///
    /// Mirrors the guards at the top of `TraceStore.format`
    /// (TraceStore+Format.swift); both must change together.
    public func validate(regionSize: UInt64?) throws(PoolError) {
        guard segmentSize >= Layout.minSegmentSize, segmentSize <= Layout.maxSegmentSize,
              segmentSize & (segmentSize - 1) == 0
        else { throw .store(.invalidParameter(name: "segment size (a power of two, 64 KiB...8 MiB)", value: segmentSize)) }
        guard volumeSlots >= 1, volumeSlots <= 65536 else {
            throw .store(.invalidParameter(name: "volume slots (1...65536)", value: UInt64(volumeSlots)))
        }
        guard maxLanesPerVolume >= 1, maxLanesPerVolume <= Layout.maxLanesLimit else {
            throw .store(.invalidParameter(name: "lanes per volume (1...\(Layout.maxLanesLimit))", value: UInt64(maxLanesPerVolume)))
        }
        guard let regionSize else { return }
        guard Superblock.layout(
            regionSize: regionSize, segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanesPerVolume,
            uuidHigh: 1, uuidLow: 1, formatTime: 0) != nil
        else {
            throw .store(.regionTooSmall(size: regionSize, minimum: Superblock.minimumRegionSize(
                segmentSize: segmentSize, volumeSlots: volumeSlots, maxLanes: maxLanesPerVolume)))
        }
    }
}
