import ArgumentParser
import PMTrace
import TraceVolume

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the volumes.",
        discussion: "Symbol tables (.sym/…), process maps (.maps) and imports in progress (.tmp/…) are volumes too; --all shows them.")

    @Argument(help: "Pool file or device.") var pool: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Also list the catalog's internal volumes (names starting with '.').") var all = false

    /// One volume of `--json` (README, "JSON output").
    struct Row: Encodable {
        var volume: String
        var lanes: Int
        var sealed: Bool
        var ring: Bool
        var segments: Int
        var bytes: UInt64
        @OrNull var createdTime: UInt64?
        @OrNull var createdTimeISO: String?
        @OrNull var sealedTime: UInt64?
        @OrNull var sealedTimeISO: String?
        var uid: UInt64
    }

    func run() throws {
        let p = try openPool(pool, writable: false)
        let segmentSize = p.store.superblock.segmentSize
        let volumes = p.store.volumes().filter { all || !$0.name.hasPrefix(".") }
        let rows = volumes.map {
            Row(volume: $0.name, lanes: $0.laneCount, sealed: $0.sealed, ring: $0.ring, segments: $0.segmentCount,
                bytes: UInt64($0.segmentCount) * segmentSize,
                createdTime: JSONTime.ns($0.createdTime), createdTimeISO: JSONTime.iso($0.createdTime),
                sealedTime: JSONTime.ns($0.sealedTime), sealedTimeISO: JSONTime.iso($0.sealedTime), uid: $0.uid)
        }
        if json { try printJSON(rows); return }
        if rows.isEmpty { print("(no volumes)"); return }
        let shown = volumes.map { TerminalText.escape(bytes: $0.nameBytes) }
        let width = max(4, shown.map { $0.count }.max() ?? 0)
        print("NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  LANES  STATE   SEGMENTS  SPACE       CREATED")
        for (r, name) in zip(rows, shown) {
            let state = r.sealed ? "sealed" : (r.ring ? "ring" : "open")
            print(name.padding(toLength: width, withPad: " ", startingAt: 0)
                  + "  " + String(r.lanes).padding(toLength: 5, withPad: " ", startingAt: 0)
                  + "  " + state.padding(toLength: 6, withPad: " ", startingAt: 0)
                  + "  " + String(r.segments).padding(toLength: 8, withPad: " ", startingAt: 0)
                  + "  " + formatBytes(r.bytes).padding(toLength: 10, withPad: " ", startingAt: 0)
                  + "  " + formatTime(r.createdTime ?? 0))
        }
    }
}
