import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace
import TraceAnalysis
import TraceFormat
import TracePayloads

struct Hot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The functions a memory-access trace spends its accesses in, most first.",
        discussion: """
            Symbolizes every access of the volume's memory-access and guest-access batches through the maps \
            recorded for --as. Recordings that carry the accessing instruction's PC (`pmtrace record`, \
            `record-vm`) are attributed to the function that made each access (like `perf report`); \
            --data attributes by the accessed address instead (the data object). Lackey imports carry no PC \
            and are always attributed by address.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume with memory-access batches.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Option(name: .customLong("as"), help: "Address space recorded by `maps import`.") var addressSpace: String
    @Option(help: "How many functions to print.") var top: Int = 15
    @Flag(help: "Attribute by the accessed address (the data object), not by the PC.") var data = false
    @Flag(help: "Print JSON.") var json = false

    /// One function of `--json` (README, "JSON output").
    struct Row: Encodable {
        var accesses: UInt64
        var percent: Double
        var app: String
        var function: String
    }

    func run() throws {
        let (p, catalog) = try openCatalog(pool, writable: false)
        let symbolizer = try catalog.symbolizer(addressSpace: addressSpace)
        let reader = try p.store.openReader(volumeBytes: volume.bytes)
        var counts: [String: (app: String, n: UInt64)] = [:]
        var total: UInt64 = 0, unknown: UInt64 = 0
        // Consecutive accesses mostly hit the same function: remember the last answer's range.
        var last: Range<UInt64> = 0..<0
        var lastKey: String?
        while let r = try reader.next() {
            guard AccessScan.carriesAccesses(r.kind) else { continue }
            try r.withContiguousPayload { payload in
                try AccessScan.forEach(kind: r.kind, payload: payload) { access in
                    total += 1
                    let address = data ? access.address : (access.pc ?? access.address)
                    if last.contains(address) {
                        if let k = lastKey { counts[k]!.n += 1 } else { unknown += 1 }
                        return
                    }
                    guard let s = symbolizer.lookup(address) else { unknown += 1; last = 0..<0; return }
                    last = s.range
                    guard let m = s.match else { unknown += 1; lastKey = nil; return }
                    let key = s.app + "\u{0}" + m.nameString
                    counts[key, default: (s.app, 0)].n += 1
                    lastKey = key
                }
            }
        }
        let rows = counts.sorted { $0.value.n > $1.value.n }.prefix(top).map { kv in
            Row(accesses: kv.value.n, percent: total > 0 ? 100 * Double(kv.value.n) / Double(total) : 0, app: kv.value.app,
                function: Demangler.demangle(String(kv.key.split(separator: "\u{0}", maxSplits: 1).last ?? "")))
        }
        if json { try printJSON(rows); return }
        print("\(total) accesses, \(total - unknown) in known functions (\(String(format: "%.1f", total > 0 ? 100 * Double(total - unknown) / Double(total) : 0))%)")
        print("  ACCESSES      %  APP / FUNCTION")
        for r in rows {
            print(String(format: "%10llu %6.2f  ", r.accesses, r.percent) + "\(TerminalText.escape(r.app)): \(TerminalText.escape(r.function))")
        }
    }
}
