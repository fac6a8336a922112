import ArgumentParser
import Foundation
import PMTrace
import TraceAnalysis

struct WorkingSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "working-set",
        abstract: "Distinct pages and the read/write mix per window of time or accesses.",
        discussion: """
            --window is a duration (10ms, 1s, 500us, 100ns) or a count of accesses (100000, 1M). A time window \
            is measured on record timestamps (the time each batch was sealed). Prints one line per window: \
            its start, accesses, distinct 4 KiB pages, loads, stores (modify counts as both) and the \
            load/store ratio; --csv prints the same as CSV; --svg draws distinct pages per window.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume with memory-access batches.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Option(help: "Window: a duration (ns|us|ms|s) or a number of accesses (K|M|G allowed).") var window: String
    @Flag(help: "Print CSV.") var csv = false
    @Option(help: "Also draw distinct pages per window to this SVG file.") var svg: String?
    @OptionGroup var filter: ReadFilterOptions

    enum Window { case nanoseconds(UInt64), accesses(UInt64) }

    static func parseWindow(_ text: String) throws -> Window {
        for (suffix, scale) in [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)] where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v > 0, v * scale >= 1, v * scale < 1.8e19 else { break }
            return .nanoseconds(UInt64(v * scale))
        }
        var t = text.uppercased(), scale: UInt64 = 1
        if let last = t.last, let s = ["K": UInt64(1_000), "M": 1_000_000, "G": 1_000_000_000][String(last)] { scale = s; t.removeLast() }
        guard let n = UInt64(t), n > 0, n <= UInt64.max / scale else {
            throw CLIError("--window \(text): expected a duration (10ms, 1s) or a positive number of accesses (100000, 1M)")
        }
        return .accesses(n * scale)
    }

    struct Row { var start: UInt64; var accesses: UInt64 = 0; var pages = Set<UInt64>(); var loads: UInt64 = 0; var stores: UInt64 = 0 }

    func run() throws {
        if let svg { try OutputGuard.refuse(svg, option: "--svg", samePoolAs: pool) }
        let w = try Self.parseWindow(window)
        let p = try openPool(pool, writable: false)
        let reader = try p.store.openReader(volumeBytes: volume.bytes)
        let stream = try AccessStream(reader: reader, filter: try filter.filter(for: reader))
        let block = AccessBlock()
        var rows: [(start: UInt64, accesses: UInt64, pages: Int, loads: UInt64, stores: UInt64)] = []
        var cur: Row?
        var index: UInt64 = 0, lastPage = UInt64.max
        func close() { if let c = cur { rows.append((c.start, c.accesses, c.pages.count, c.loads, c.stores)) } }
        while try stream.next(into: block) {
            for i in 0..<block.count {
                let key: UInt64
                switch w {
                case .nanoseconds(let ns): key = block.timestamp[i] / ns * ns
                case .accesses(let n): key = index / n * n
                }
                index &+= 1
                if cur?.start != key { close(); cur = Row(start: key); lastPage = .max }
                cur!.accesses &+= 1
                let page = block.address[i] >> 12
                if page != lastPage { cur!.pages.insert(page); lastPage = page }
                switch block.kind[i] {
                case 0: cur!.loads &+= 1
                case 1: cur!.stores &+= 1
                case 2: cur!.loads &+= 1; cur!.stores &+= 1
                default: break
                }
            }
        }
        close()
        let timeWindows: Bool
        if case .nanoseconds = w { timeWindows = true } else { timeWindows = false }
        let origin = rows.first?.start ?? 0
        func ratio(_ l: UInt64, _ s: UInt64) -> String { s == 0 ? "" : String(format: "%.3f", Double(l) / Double(s)) }
        if csv {
            print(timeWindows ? "window_start_ns,accesses,distinct_pages,loads,stores,load_store_ratio" : "first_access,accesses,distinct_pages,loads,stores,load_store_ratio")
            for r in rows { print("\(r.start),\(r.accesses),\(r.pages),\(r.loads),\(r.stores),\(ratio(r.loads, r.stores))") }
        } else {
            func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
            print([pad(timeWindows ? "START (s)" : "FIRST ACCESS", 14), pad("ACCESSES", 12), pad("PAGES", 8), pad("LOADS", 12), pad("STORES", 12), pad("LD/ST", 8)].joined(separator: " "))
            for r in rows {
                let start = timeWindows ? String(format: "%.6f", Double(r.start - origin) / 1e9) : String(r.start)
                print([pad(start, 14), pad(String(r.accesses), 12), pad(String(r.pages), 8), pad(String(r.loads), 12), pad(String(r.stores), 12), pad(ratio(r.loads, r.stores), 8)].joined(separator: " "))
            }
        }
        if let svg {
            let maxPages = max(1, rows.map(\.pages).max() ?? 1)
            let W = 800, H = 300, left = 70
            var pts: [String] = []
            for (i, r) in rows.enumerated() {
                pts.append("\(left + (rows.count > 1 ? i * W / (rows.count - 1) : 0)),\(20 + H - r.pages * H / maxPages)")
            }
            let text = """
                <svg xmlns="http://www.w3.org/2000/svg" width="\(left + W + 20)" height="\(H + 70)" font-family="monospace" font-size="11">
                <rect width="100%" height="100%" fill="white"/>
                <polyline fill="none" stroke="#3b528b" stroke-width="1.5" points="\(pts.joined(separator: " "))"/>
                <line x1="\(left)" y1="\(20 + H)" x2="\(left + W)" y2="\(20 + H)" stroke="black"/><line x1="\(left)" y1="20" x2="\(left)" y2="\(20 + H)" stroke="black"/>
                <text x="\(left - 5)" y="24" text-anchor="end">\(maxPages)</text><text x="\(left - 5)" y="\(20 + H)" text-anchor="end">0</text>
                <text x="\(left + W / 2)" y="\(H + 50)" text-anchor="middle">\(rows.count) windows of \(window) — distinct 4 KiB pages per window</text>
                </svg>

                """
            try OutputGuard.write(Array(text.utf8), to: svg, option: "--svg", samePoolAs: pool)
        }
    }
}
