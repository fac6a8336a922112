import PMemBackend
import TraceFormat
import TraceVolume

extension PoolError {
    /// Mounting failed with `error`: if either superblock copy is intact
    /// apart from recording a region larger than the mapped file, the real
    /// problem is a truncated file, and that is what is reported. Otherwise
    /// the error is returned naming the path.
    static func diagnose(_ error: TraceError, mapping: PMemMapping) -> PoolError {
        let copies = [0, Layout.superblockCopySize]
        for (copy, offset) in copies.enumerated() where UInt64(offset + Layout.superblockSize) <= mapping.size {
            let bytes = UnsafeRawBufferPointer(start: mapping.base + offset, count: Layout.superblockSize)
            guard let sb = try? Superblock.decode(bytes, copy: copy, mappedSize: .max) else { continue }
            if sb.regionSize > mapping.size {
                return .truncated(path: mapping.path, fileSize: mapping.size, regionSize: sb.regionSize)
            }
        }
        switch error {
        case .notARegion, .regionMisplaced, .bothSuperblocksDamaged, .damaged, .unsupportedVersion, .newerMinorVersion:
            return .at(path: mapping.path, .store(error))
        default:
            return .store(error)
        }
    }
}
