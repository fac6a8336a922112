import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace
import TraceAnalysis
import TraceFormat
import TracePayloads

struct Hot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Where a memory-access trace spends its accesses: functions, pages, images or mappings, most first.",
        discussion: """
            Reads every access of the volume's memory-access and guest-access batches. --by function (the \
            default) and --by image symbolize through the maps recorded for --as; recordings that carry the \
            accessing instruction's PC (`pmtrace record`, `record-vm`) are attributed to the function that \
            made each access (like `perf report`), and --data attributes by the accessed address instead. \
            Lackey imports carry no PC and are always attributed by address. Addresses no symbol covers are \
            broken down by the mapping holding them ([heap], [stack], [anon], an image without symbols, \
            [unmapped]) when the volume recorded its mappings (`pmtrace record`). --by page counts 4 KiB pages \
            of the accessed address; --by mapping needs no --as.
            """)

    enum Grouping: String, ExpressibleByArgument, CaseIterable {
        case function, page, image, mapping
        var grouping: HotCounter.Grouping {
            switch self {
            case .function: .function
            case .page: .page
            case .image: .image
            case .mapping: .mapping
            }
        }
    }

    enum AccessKind: String, ExpressibleByArgument, CaseIterable {
        case load, store, modify, fetch
        var kind: MemoryAccess.Kind {
            switch self {
            case .load: .load
            case .store: .store
            case .modify: .modify
            case .fetch: .instructionFetch
            }
        }
    }

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume with memory-access batches.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Option(name: .customLong("as"), help: "Address space recorded by `maps import` (needed for --by function|image).") var addressSpace: String?
    @Option(help: "Group by function, page, image or mapping.") var by: Grouping = .function
    @Option(help: "Count only these access kinds (repeatable): load, store, modify, fetch.") var kind: [AccessKind] = []
    @Option(parsing: .unconditional, help: "How many rows to print.") var top: Int = 15
    @Flag(help: "Attribute by the accessed address (the data object), not by the PC.") var data = false
    @OptionGroup var filter: ReadFilterOptions
    @Flag(help: "Print JSON.") var json = false

    /// One row of `--json` (README, "JSON output").
    struct Row: Encodable {
        var accesses: UInt64
        var percent: Double
        /// The image (app) or mapping the row lies in.
        var app: String
        /// Function (`--by function`), page address text, image or mapping.
        var function: String
        /// `--by page`: the page's first address, else null.
        @OrNull var page: UInt64?
        var symbolized: Bool
    }

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
        if (by == .function || by == .image) && addressSpace == nil {
            throw ValidationError("--by \(by.rawValue) needs --as <address space> (or use --by page|mapping)")
        }
    }

    func run() throws {
        let p: TracePool
        var symbolizer: AddressSpaceSymbolizer?
        if let addressSpace, by == .function || by == .image {
            let (pool, catalog) = try openCatalog(self.pool, writable: false)
            p = pool
            symbolizer = try catalog.symbolizer(addressSpace: addressSpace)
        } else {
            p = try openPool(pool, writable: false)
        }
        let reader = try p.store.openReader(volumeBytes: volume.bytes)
        let stream = try AccessStream(reader: reader, filter: try filter.filter(for: reader))
        let counter = HotCounter(grouping: by.grouping, symbolizer: symbolizer, byPC: !data,
                                 kinds: kind.isEmpty ? nil : Set(kind.map(\.kind)))
        let block = AccessBlock()
        while try stream.next(into: block) { counter.add(block) }
        let total = counter.total
        let maps = try filter.recordedMaps(stream, store: p.store, volumeBytes: volume.bytes)
        let rows = counter.rows(top: top, maps: maps).map { r in
            Row(accesses: r.accesses, percent: total > 0 ? 100 * Double(r.accesses) / Double(total) : 0, app: r.image,
                function: r.name, page: r.page, symbolized: r.symbolized)
        }
        if json { try printJSON(rows); return }
        if by == .function || by == .image {
            let known = counter.symbolized
            print("\(total) accesses, \(known) in known \(by == .function ? "functions" : "images") (\(String(format: "%.1f", total > 0 ? 100 * Double(known) / Double(total) : 0))%)")
        } else {
            print("\(total) accesses")
        }
        let header = ["function": "APP / FUNCTION", "page": "PAGE        MAPPING", "image": "IMAGE", "mapping": "MAPPING"][by.rawValue]!
        print("  ACCESSES      %  \(header)")
        for r in rows {
            let label: String
            switch by {
            case .function: label = r.symbolized ? "\(TerminalText.escape(r.app)): \(TerminalText.escape(r.function))" : TerminalText.escape(r.function)
            case .page: label = "\(r.function.padding(toLength: max(12, r.function.count), withPad: " ", startingAt: 0)) \(TerminalText.escape(r.app))"
            case .image, .mapping: label = TerminalText.escape(r.function)
            }
            print(String(format: "%10llu %6.2f  ", r.accesses, r.percent) + label)
        }
    }
}
