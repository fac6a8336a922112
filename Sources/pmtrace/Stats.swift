import ArgumentParser
import Foundation
import PMTrace
import PMTraceTesting
import TraceAnalysis
import TraceVolume

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize a volume: records and bytes by kind, time span, lanes, memory-access counts and pages.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name (the escaped form `list` prints is accepted).", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Flag(help: "Print JSON.") var json = false

    /// `--json` (README, "JSON output"): `VolumeStats` under the JSON convention.
    struct Output: Encodable {
        var volume: String
        var lanes: Int
        var records: UInt64
        var payloadBytes: UInt64
        var byKind: [String: VolumeStats.KindStats]
        var recordsPerLane: [UInt64]
        @OrNull var firstTimestamp: UInt64?
        @OrNull var firstTimestampISO: String?
        @OrNull var lastTimestamp: UInt64?
        @OrNull var lastTimestampISO: String?
        var accesses: [String: UInt64]
        var accessCount: UInt64
        var distinctPages: Int
        @OrNull var lowestAddress: UInt64?
        @OrNull var highestAddress: UInt64?
        var pmlEntries: UInt64

        init(_ s: VolumeStats) {
            volume = s.volume; lanes = s.lanes; records = s.records; payloadBytes = s.payloadBytes
            byKind = s.byKind; recordsPerLane = s.recordsPerLane
            firstTimestamp = s.firstTimestamp; firstTimestampISO = s.firstTimestamp.flatMap(JSONTime.iso)
            lastTimestamp = s.lastTimestamp; lastTimestampISO = s.lastTimestamp.flatMap(JSONTime.iso)
            accesses = s.accesses; accessCount = s.accessCount; distinctPages = s.distinctPages
            lowestAddress = s.lowestAddress; highestAddress = s.highestAddress; pmlEntries = s.pmlEntries
        }
    }

    func run() throws {
        let p = try openPool(pool, writable: false)
        let s = try VolumeStats.compute(store: p.store, volume: volume.value)
        if json { try printJSON(Output(s)); return }
        print("volume      \(TerminalText.escape(s.volume)) (\(s.lanes) lane\(s.lanes == 1 ? "" : "s"))")
        print("records     \(s.records), \(formatBytes(s.payloadBytes)) of payload")
        for (kind, k) in s.byKind.sorted(by: { $0.key < $1.key }) {
            print("  \(kind.padding(toLength: 14, withPad: " ", startingAt: 0)) \(k.records) records, \(formatBytes(k.bytes))")
        }
        if s.lanes > 1 { print("per lane    \(s.recordsPerLane.map(String.init).joined(separator: " "))") }
        if let a = s.firstTimestamp, let b = s.lastTimestamp {
            print("time span   \(formatTime(a)) … \(formatTime(b)) (\(String(format: "%.3f", Double(b - a) / 1e9)) s)")
        }
        if s.accessCount > 0 {
            print("accesses    \(s.accessCount)")
            for (kind, n) in s.accesses.sorted(by: { $0.key < $1.key }) {
                print("  \(kind.padding(toLength: 17, withPad: " ", startingAt: 0)) \(n)")
            }
            print("pages       \(s.distinctPages) distinct 4 KiB pages")
            print("range       0x\(String(s.lowestAddress!, radix: 16)) … 0x\(String(s.highestAddress!, radix: 16))")
        }
        if s.pmlEntries > 0 { print("PML entries \(s.pmlEntries)") }
        if s.checkpoints > 0 { print("checkpoints \(s.checkpoints)") }
    }
}
