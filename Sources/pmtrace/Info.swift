import ArgumentParser
import PMTrace
import PMemBackend
import TraceFormat
import TraceVolume

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the region's superblock, geometry and free space.")

    @Argument(help: "Pool file or device.") var pool: String
    @Flag(help: "Print JSON.") var json = false

    /// `--json` (README, "JSON output").
    struct Output: Encodable {
        var pool: String
        var formatVersion: String
        var superblockCopy: String
        var generation: UInt64
        var regionSize: UInt64
        var segmentSize: UInt64
        var segmentCount: UInt64
        var freeSegments: UInt64
        var freeBytes: UInt64
        var volumeSlots: UInt32
        var maxLanesPerVolume: UInt32
        var volumes: Int
        var uuid: String
        @OrNull var formatTime: UInt64?
        @OrNull var formatTimeISO: String?
        var storeGranularity: String
        @OrNull var forcedGranularity: String?
        @OrNull var unsafeShutdownCount: UInt64?
        @OrNull var badBlocks: [ByteRange]?
        var warnings: [String]
    }

    func run() throws {
        let p = try openPool(pool, writable: false)
        let sb = p.store.superblock
        let space = p.store.space
        let o = Output(
            pool: pool, formatVersion: "\(sb.versionMajor).\(sb.versionMinor)",
            superblockCopy: p.store.superblockCopy == 0 ? "A" : "B", generation: sb.generation,
            regionSize: sb.regionSize, segmentSize: sb.segmentSize, segmentCount: sb.segmentCount,
            freeSegments: space.free, freeBytes: space.free * sb.segmentSize, volumeSlots: sb.volumeSlotCount,
            maxLanesPerVolume: sb.maxLanesPerVolume, volumes: p.store.volumes().count,
            uuid: String(format: "%016llx%016llx", sb.uuidHigh, sb.uuidLow),
            formatTime: JSONTime.ns(sb.formatTime), formatTimeISO: JSONTime.iso(sb.formatTime),
            storeGranularity: p.granularity.name, forcedGranularity: PMemMapping.forcedGranularity,
            unsafeShutdownCount: p.mapping.unsafeShutdownCount,
            badBlocks: p.mapping.badBlocks?.map { ByteRange(offset: $0.offset, length: $0.length) },
            warnings: p.store.warnings.map { $0.description })
        if json { try printJSON(o); return }
        print("""
            region          \(TerminalText.escape(o.pool))
            format version  \(o.formatVersion) (superblock copy \(o.superblockCopy), generation \(o.generation))
            uuid            \(o.uuid)
            formatted       \(formatTime(sb.formatTime))
            size            \(formatBytes(o.regionSize)) (\(o.regionSize) bytes)
            segments        \(o.segmentCount) × \(formatBytes(o.segmentSize)), \(o.freeSegments) free (\(formatBytes(o.freeBytes)))
            volumes         \(o.volumes) of \(o.volumeSlots) slots, up to \(o.maxLanesPerVolume) lanes each
            granularity     \(o.storeGranularity)\(o.forcedGranularity.map { " (PMEM2_FORCE_GRANULARITY=\($0))" } ?? "")
            unsafe shutdowns \(o.unsafeShutdownCount.map { String($0) } ?? "not available")
            bad blocks      \(o.badBlocks.map { $0.isEmpty ? "none" : String($0.count) } ?? "not available")
            """)
    }
}
