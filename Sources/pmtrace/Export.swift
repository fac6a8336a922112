import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace
import TraceAnalysis
import TracePayloads

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one row per access to CSV, JSON Lines or SQLite.",
        discussion: """
            Columns: lane, timestamp (ns since the Unix epoch: the time the access's batch was sealed), kind \
            (load, store, modify, instruction-fetch), address (guest-physical for a VM, virtual for a process), size, pc and \
            virtual (empty/null when the recording has none); with --symbolize --as, symbol and image: the \
            function holding the PC (or, without a PC, the address), or the mapping holding it ([heap], [stack], \
            [anon], an image without symbols) with no symbol: the groups `hot --by function` counts. SQLite \
            (libsqlite3): table accesses (plus a page column = address >> 12, indexed, and address indexed), \
            table symbols (id, name, image, start, end) that accesses.symbol refers to, and table mappings (the \
            volume's recorded /proc maps and the catalog's mapped images). SQLite integers are signed: addresses \
            of 2^63 and above are stored as their two's complement (negative); page is never negative.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, jsonl, sqlite }

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume with memory-access batches.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Option(help: "csv, jsonl or sqlite.") var format: Format
    @Option(help: "Output file ('-' for standard output; not for sqlite). Replaced if it exists.") var out: String
    @Flag(help: "Add symbol and image columns (needs --as).") var symbolize = false
    @Option(name: .customLong("as"), help: "Address space recorded by `maps import` (`pmtrace record` names it like the volume).") var addressSpace: String?
    @OptionGroup var filter: ReadFilterOptions

    func validate() throws {
        if symbolize && addressSpace == nil { throw ValidationError("--symbolize needs --as <address space>") }
        if format == .sqlite && out == "-" { throw ValidationError("--format sqlite needs a file for --out") }
    }

    func run() throws {
        try OutputGuard.refuse(out, option: "--out", samePoolAs: pool)
        var attribution: SymbolAttribution?
        var maps = MappingTable([])
        var catalogMaps: [ProcessMapEntry] = []
        let p: TracePool
        if symbolize, let addressSpace {
            let (pool, catalog) = try openCatalog(self.pool, writable: false)
            p = pool
            maps = try MappingTable.recorded(in: p.store, volumeBytes: volume.bytes)
            attribution = SymbolAttribution(symbolizer: try catalog.symbolizer(addressSpace: addressSpace), maps: maps)
            catalogMaps = try catalog.processMaps().filter { String(decoding: $0.addressSpace, as: UTF8.self) == addressSpace }
        } else {
            p = try openPool(pool, writable: false)
            maps = try MappingTable.recorded(in: p.store, volumeBytes: volume.bytes)
        }
        let reader = try p.store.openReader(volumeBytes: volume.bytes)
        let stream = try AccessStream(reader: reader, filter: try filter.filter(for: reader))
        let rows: UInt64
        switch format {
        case .sqlite:
            rows = try SQLiteExport(path: out).write(stream, attribution: attribution, maps: maps, catalogMaps: catalogMaps)
        case .csv, .jsonl:
            rows = try writeText(stream, attribution: attribution)
        }
        if out != "-" { standardErrorWrite(Data("pmtrace: exported \(rows) accesses to \(out)\n".utf8)) }
    }

    func writeText(_ stream: AccessStream, attribution: SymbolAttribution?) throws -> UInt64 {
        var sink: OutputStream
        if out == "-" { sink = OutputStream(fd: 1) } else {
            sink = OutputStream(fd: try OutputGuard.open(out, option: "--out", samePoolAs: pool))
        }
        defer { if out != "-" { close(sink.fd) } }
        var t = AccessText()
        t.bytes.reserveCapacity(1 << 20)
        let csv = format == .csv
        if csv { t.text("lane,timestamp,kind,address,size,pc,virtual" + (attribution != nil ? ",symbol,image" : "") + "\n") }
        let block = AccessBlock()
        var rows: UInt64 = 0
        let kinds = AccessText.kindNames
        var prefix: [UInt8] = [], prefixLane: UInt32 = 0, prefixTimestamp: UInt64 = 0
        while try stream.next(into: block) {
            for i in 0..<block.count {
                let g = attribution?.group(of: block.hasPC ? block.pc[i] : block.address[i])
                let hasPC = block.hasPC, hasVirtual = block.hasVirtual
                if csv {
                    // A batch's accesses share lane and timestamp: format them once per batch.
                    if block.lane[i] != prefixLane || block.timestamp[i] != prefixTimestamp || prefix.isEmpty {
                        prefixLane = block.lane[i]
                        prefixTimestamp = block.timestamp[i]
                        var p = AccessText()
                        p.decimal(UInt64(prefixLane)); p.bytes.append(44)
                        p.decimal(prefixTimestamp); p.bytes.append(44)
                        prefix = p.bytes
                    }
                    t.raw(prefix)
                    t.raw(kinds[Int(block.kind[i])]); t.bytes.append(44)
                    t.decimal(block.address[i]); t.bytes.append(44)
                    t.decimal(UInt64(block.size[i])); t.bytes.append(44)
                    if hasPC { t.decimal(block.pc[i]) }
                    t.bytes.append(44)
                    if hasVirtual { t.decimal(block.virtual[i]) }
                    if let g, let a = attribution {
                        t.bytes.append(44)
                        if let name = a.groups[g].name { t.csvField(name) }
                        t.bytes.append(44)
                        t.csvField(a.groups[g].image)
                    }
                    t.bytes.append(10)
                } else {
                    t.text("{\"lane\":"); t.decimal(UInt64(block.lane[i]))
                    t.text(",\"timestamp\":"); t.decimal(block.timestamp[i])
                    t.text(",\"kind\":\""); t.raw(kinds[Int(block.kind[i])])
                    t.text("\",\"address\":"); t.decimal(block.address[i])
                    t.text(",\"size\":"); t.decimal(UInt64(block.size[i]))
                    t.text(",\"pc\":"); if hasPC { t.decimal(block.pc[i]) } else { t.text("null") }
                    t.text(",\"virtual\":"); if hasVirtual { t.decimal(block.virtual[i]) } else { t.text("null") }
                    if let g, let a = attribution {
                        t.text(",\"symbol\":"); if let name = a.groups[g].name { t.jsonString(name) } else { t.text("null") }
                        t.text(",\"image\":"); t.jsonString(a.groups[g].image)
                    }
                    t.text("}\n")
                }
                if t.bytes.count >= 1 << 20 {
                    try t.bytes.withUnsafeBytes { try sink.write($0) }
                    t.bytes.removeAll(keepingCapacity: true)
                }
            }
            rows &+= UInt64(block.count)
        }
        try t.bytes.withUnsafeBytes { try sink.write($0) }
        try sink.flush()
        return rows
    }
}
