import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace

struct Symbols: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage per-application symbol tables stored in the region.",
        subcommands: [SymbolsImport.self, SymbolsList.self, SymbolsRemove.self])
}

func openCatalog(_ pool: String, writable: Bool) throws -> (TracePool, MetadataCatalog) {
    let p = try openPool(pool, writable: writable)
    let c = try MetadataCatalog(store: p.store)
    return (p, c)
}

struct SymbolsImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import the function and object symbols of an ELF file (.symtab, else .dynsym).",
        discussion: "Keyed by app name and GNU build-id; several builds of one app coexist. The import is atomic.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "ELF executable or shared object (ELF64, x86-64 or AArch64).") var elfFile: String
    @Option(help: "App name (default: the file's name); the volume-name rule applies (no control characters).", transform: { try VolumeName.existing($0).value }) var app: String?

    func run() throws {
        if let problem = inputFileProblem(elfFile) { throw CLIError("\(TerminalText.escape(elfFile)): \(problem)") }
        let (_, catalog) = try openCatalog(pool, writable: true)
        let start = monotonicNanoseconds()
        let t = try catalog.importELF(at: elfFile, app: app)
        let ms = Double(monotonicNanoseconds() - start) / 1e6
        print("imported \(t.symbols) symbols (\(t.ranges) ranges, \(t.bytes) bytes, \(String(format: "%.1f", Double(t.bytes) / Double(max(t.symbols, 1)))) bytes/symbol) of '\(TerminalText.escape(t.app))' build-id \(TerminalText.escape(t.buildID.isEmpty ? "none" : t.buildID)) in \(String(format: "%.1f", ms)) ms")
    }
}

struct SymbolsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the stored symbol tables.")

    @Argument(help: "Pool file or device.") var pool: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (_, catalog) = try openCatalog(pool, writable: false)
        let tables = try catalog.tables()
        if json { try printJSON(tables.map(TableRow.init)); return }
        if tables.isEmpty { print("(no symbol tables)"); return }
        for t in tables {
            print("\(TerminalText.escape(t.app))  build-id \(TerminalText.escape(t.buildID.isEmpty ? "none" : t.buildID))  \(t.symbols) symbols  \(TerminalText.escape(t.kind)) \(TerminalText.escape(t.machine))  \(formatBytes(UInt64(t.bytes)))  \(TerminalText.escape(t.path))")
        }
    }
}

struct SymbolsRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an app's symbol tables.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "App name.") var app: String
    @Option(help: "Only the table with this build-id (hex).") var buildId: String?

    func run() throws {
        let (_, catalog) = try openCatalog(pool, writable: true)
        let n = try catalog.remove(app: app, buildID: buildId)
        print("removed \(n) table(s) of '\(TerminalText.escape(app))'")
    }
}

struct Maps: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record process maps.", subcommands: [MapsImport.self])
}

struct MapsImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Record which ELF images a process maps where, and import their symbols.",
        discussion: "Reads /proc/<pid>/maps of a live process, or a saved copy given with --maps-file.")

    @Argument(help: "Pool file or device.") var pool: String
    @Option(parsing: .unconditional, help: "Process id.") var pid: UInt32
    @Option(name: .customLong("as"), help: "Address-space name (default pid:<pid>); the volume-name rule applies (not empty, no control characters).",
            transform: { try VolumeName.existing($0).value }) var addressSpace: String?
    @Option(help: "A saved /proc/<pid>/maps to read instead of the live one.") var mapsFile: String?

    func run() throws {
        if let mapsFile, let problem = inputFileProblem(mapsFile) { throw CLIError("\(TerminalText.escape(mapsFile)): --maps-file: \(problem)") }
        let path = mapsFile ?? "/proc/\(pid)/maps"
        guard let text = ProcMapsLine.readFile(path) else {
            throw CLIError("\(path): cannot read (no such process, or no permission)")
        }
        let (_, catalog) = try openCatalog(pool, writable: true)
        let r = try catalog.importProcessMaps(pid: pid, text: text, addressSpace: addressSpace)
        let apps = Set(r.entries.map { String(decoding: $0.app, as: UTF8.self) })
        print("recorded \(r.entries.count) mappings of \(apps.count) images for \(addressSpace ?? "pid:\(pid)"); imported symbols of \(r.importedTables.count) new image(s)")
        for s in r.skipped { standardErrorWrite(Data("pmtrace: skipped \(TerminalText.escape(s.path)): \(TerminalText.escape(s.reason))\n".utf8)) }
    }
}

struct Symbolize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn addresses into symbol+offset.",
        discussion: """
            With --app, addresses are the app's own (link-time) addresses; with --as, they are runtime \
            addresses in an address space recorded by `maps import`. Addresses are hexadecimal, on the \
            command line or one per line on standard input. Prints `<address> <symbol>+0x<offset>` or \
            `<address> ??`; with --as, followed by ` (<image>)` when a recorded image is mapped there.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Option(help: "App name.") var app: String?
    @Option(help: "Build-id (hex) of the app's table (default: the newest import).") var buildId: String?
    @Option(name: .customLong("as"), help: "Address space recorded by `maps import` (e.g. pid:1234).") var addressSpace: String?
    @Option(parsing: .unconditional, help: "With --as: the time (ns since the Unix epoch) whose maps apply (default: the newest).") var at: UInt64?
    @Flag(help: "Print mangled names as stored.") var raw = false
    @Argument(help: "Hexadecimal addresses (default: read from standard input).") var addresses: [String] = []

    func validate() throws {
        guard (app == nil) != (addressSpace == nil) else { throw ValidationError("give exactly one of --app or --as") }
    }

    func run() throws {
        let (_, catalog) = try openCatalog(pool, writable: false)
        let lookup: (UInt64) -> (match: SymbolTable.Match?, image: String?)
        if let app {
            let table = try catalog.table(app: app, buildID: buildId)
            lookup = { (table.lookup($0), nil) }
        } else {
            let s = try catalog.symbolizer(addressSpace: addressSpace!, at: at ?? .max)
            lookup = { a in
                let r = s.lookup(a)
                return (r?.match, r?.app)
            }
        }
        var out = OutputStream(fd: 1)
        func emit(_ text: Substring) throws {
            let t = text.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else { return }
            let digits = t.hasPrefix("0x") || t.hasPrefix("0X") ? t.dropFirst(2) : Substring(t)
            guard let a = UInt64(digits, radix: 16) else { throw CLIError("'\(quoted(t))' is not a hexadecimal address") }
            var line = "0x" + String(a, radix: 16) + " "
            let found = lookup(a)
            if let m = found.match {
                let name = raw ? m.nameString : Demangler.demangle(m.nameString)
                line += TerminalText.escape(name) + "+0x" + String(m.offset, radix: 16)
            } else {
                line += "??"
            }
            if let image = found.image { line += " (" + TerminalText.escape(image) + ")" }
            line += "\n"
            try Array(line.utf8).withUnsafeBytes { try out.write($0) }
        }
        if addresses.isEmpty {
            while let l = readLine() { try emit(Substring(l)) }
        } else {
            for a in addresses { try emit(Substring(a)) }
        }
        try out.flush()
    }
}

/// One table of `symbols list --json` (README, "JSON output").
struct TableRow: Encodable {
    var app: String
    var buildID: String
    var symbols: UInt64
    var ranges: Int
    var chunks: Int
    var bytes: Int
    var kind: String
    var machine: String
    var path: String
    @OrNull var imported: UInt64?
    @OrNull var importedISO: String?
    var volume: String

    init(_ t: MetadataCatalog.TableSummary) {
        app = t.app; buildID = t.buildID; symbols = t.symbols; ranges = t.ranges; chunks = t.chunks; bytes = t.bytes
        kind = t.kind; machine = t.machine; path = t.path
        imported = JSONTime.ns(t.imported); importedISO = JSONTime.iso(t.imported); volume = t.volume
    }
}
