import ArgumentParser
import PMTrace
import TraceVolume

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty volume.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name: 1 to 200 bytes of UTF-8, no control characters, not starting with '.'.", transform: VolumeName.new)
    var volume: VolumeName
    @Option(parsing: .unconditional, help: "Number of lanes (independent writers).") var lanes: Int = 1
    @Flag(help: "Ring mode: reclaim this volume's oldest segments when the region is full.") var ring = false

    func run() throws {
        let p = try openPool(pool, writable: true)
        let v = try p.store.createVolume(named: volume.value, lanes: lanes, ring: ring)
        print("created volume '\(TerminalText.escape(v.name))' with \(v.laneCount) lane(s)\(ring ? " in ring mode" : "")")
    }
}

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rename a volume (atomic).")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Current name.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var old: VolumeName
    @Argument(help: "New name (the rule of `create`).", transform: VolumeName.new) var new: VolumeName

    func run() throws {
        let p = try openPool(pool, writable: true)
        try p.store.renameVolume(nameBytes: old.bytes, to: new.value)
        print("renamed '\(old)' to '\(new)'")
    }
}

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Seal a volume: read-only from now on.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName

    func run() throws {
        let p = try openPool(pool, writable: true)
        try p.store.sealVolume(nameBytes: volume.bytes)
        print("sealed '\(volume)'")
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a volume; its space becomes free.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName

    func run() throws {
        let p = try openPool(pool, writable: true)
        let info = try p.store.volume(nameBytes: volume.bytes)
        try p.store.deleteVolume(nameBytes: volume.bytes)
        print("deleted '\(volume)' (\(info.segmentCount) segment(s) freed)")
    }
}
