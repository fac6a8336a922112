import ArgumentParser
import PMTrace
import TraceVolume

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty volume.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name: 1 to 200 bytes of UTF-8.") var volume: String
    @Option(help: "Number of lanes (independent writers).") var lanes: Int = 1
    @Flag(help: "Ring mode: reclaim this volume's oldest segments when the region is full.") var ring = false

    func run() throws {
        let name = try runChecked { try volumeName(volume) }
        let p = try openPool(pool, writable: true)
        let v = try runChecked { try p.store.createVolume(named: name, lanes: lanes, ring: ring) }
        print("created volume '\(v.name)' with \(v.laneCount) lane(s)\(ring ? " in ring mode" : "")")
    }
}

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rename a volume (atomic).")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Current name.") var old: String
    @Argument(help: "New name.") var new: String

    func run() throws {
        let (o, n) = try runChecked { (try volumeName(old), try volumeName(new)) }
        let p = try openPool(pool, writable: true)
        try runChecked { try p.store.renameVolume(o, to: n) }
        print("renamed '\(o)' to '\(n)'")
    }
}

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Seal a volume: read-only from now on.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name.") var volume: String

    func run() throws {
        let p = try openPool(pool, writable: true)
        try runChecked { try p.store.sealVolume(volume) }
        print("sealed '\(volume)'")
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a volume; its space becomes free.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name.") var volume: String

    func run() throws {
        let p = try openPool(pool, writable: true)
        let info = try runChecked { try p.store.volume(named: volume) }
        try runChecked { try p.store.deleteVolume(volume) }
        print("deleted '\(volume)' (\(info.segmentCount) segment(s) freed)")
    }
}
