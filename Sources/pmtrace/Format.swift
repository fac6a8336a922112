import ArgumentParser
import PMTrace
import TraceFormat
import TraceVolume

struct Format: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a pool file (or take a DAX device) and format it as an empty region.",
        discussion: """
            Refuses to touch an existing non-empty file unless --force is given. Everything is checked \
            before anything is touched (sizes, segment size, slots, lanes, free space); the region is \
            built in a new file beside the pool, with its space allocated, and renamed over the pool only \
            once formatted: a failed format leaves no file behind and an existing file as it was.

            `<file>@<offset>` formats a region that starts at that offset inside an existing file or \
            device (e.g. after a namespace info block: `pmtrace locate --namespace` prints the offset), \
            in place: the bytes before the offset are not touched; --size bytes of a file (extended if \
            shorter), the rest of a device.
            """)

    @Argument(help: "Pool file, DAX file or devdax device; <path>@<offset> for a region inside it.") var pool: String
    @Option(parsing: .unconditional, help: "Region size, e.g. 512M, 4G, 6T (binary units K M G T P E; below 8E). Ignored for devices.", transform: ByteSize.parse) var size: ByteSize
    @Option(parsing: .unconditional, help: "Segment size: a power of two from 64K to 8M.", transform: ByteSize.parse) var segmentSize: ByteSize = ByteSize(argument: "1M")!
    @Option(parsing: .unconditional, help: "Most volumes the region can hold.") var volumeSlots: UInt32 = 1024
    @Option(parsing: .unconditional, help: "Most lanes one volume can have.") var maxLanes: UInt32 = 64
    @Flag(help: "Overwrite an existing file or region.") var force = false

    func run() throws {
        let params = FormatParameters(segmentSize: segmentSize.bytes, volumeSlots: volumeSlots, maxLanesPerVolume: maxLanes)
        let region = try RegionPath(pool)
        let p = try TracePool.format(path: region.path, offset: region.offset, size: size.bytes, parameters: params, force: force)
        let sb = p.store.superblock
        print("formatted \(TerminalText.escape(pool)): \(formatBytes(sb.regionSize)), \(sb.segmentCount) segments of \(formatBytes(sb.segmentSize)), \(sb.volumeSlotCount) volume slots, store granularity \(p.granularity.name)")
    }
}
