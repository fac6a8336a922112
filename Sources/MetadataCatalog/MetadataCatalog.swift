import Foundation
import TraceFormat
import TracePayloads
import TraceVolume

/// Per-application symbol tables and process maps, kept as volumes of the
/// trace store (FORMAT.md §12):
/// - `.sym/<app>/<build-id hex>`: one sealed volume per table — a
///   `symbolTableInfo` record, then `symbolChunk` records;
/// - `.maps`: `processMap` records, one per mapping of an ELF image;
/// - `.tmp/<id>`: an import in progress.
///
/// Imports are atomic: the table is written to a `.tmp/` volume, sealed, and
/// renamed into place (a rename is one atomic volume-table update); a
/// writable open finishes or discards what a crash left in `.tmp/`.
///
/// Not thread-safe: use from one thread (the store itself is).
public final class MetadataCatalog {
    /// Volume-name prefix of stored symbol tables: `.sym/<app>/<build-id>` (FORMAT.md §12).
    public static let symbolPrefix = ".sym/"
    /// Volume-name prefix of imports in progress; recovery removes or completes them.
    public static let temporaryPrefix = ".tmp/"
    /// The volume holding every recorded process map.
    public static let mapsVolume = ".maps"
    /// The longest app name accepted, in bytes.
    public static let maxAppNameLength = 120

    /// Crash-test hook: called with the name of each step of an import
    /// ("import.created", "import.chunk.<n>", "import.sealed",
    /// "import.old-deleted", "import.renamed"). Tests point it at `kill(getpid(),
    /// SIGKILL)` to stop a child process exactly there. Nil in production.
    nonisolated(unsafe) public static var stepHook: ((String) -> Void)?

    /// The store; it owns the mapping, so tables opened from it stay valid
    /// for as long as the catalog lives.
    public let store: TraceStore
    var openTables: [String: SymbolTable] = [:]

    /// What `tables()` reports about one table.
    public struct TableSummary: Codable, Equatable, Sendable {
        /// The application's name.
        public var app: String
        /// The GNU build-id as lowercase hex (empty when the file has none).
        public var buildID: String
        /// Symbols kept after alias removal.
        public var symbols: UInt64
        /// Address ranges stored (a symbol split around a nested one counts twice).
        public var ranges: Int
        /// Symbol-chunk records holding the ranges.
        public var chunks: Int
        /// Payload bytes of those chunks on media.
        public var bytes: Int
        /// "executable" or "shared/PIE".
        public var kind: String
        /// "x86-64", "aarch64" or the ELF machine number.
        public var machine: String
        /// The path the table was imported from.
        public var path: String
        /// Import time, nanoseconds since the Unix epoch (0: unknown).
        public var imported: UInt64
        /// The volume that holds the table.
        public var volume: String
    }

    /// Opens the catalog of `store`. A writable store also completes or
    /// removes imports a crash interrupted.
    public convenience init(store: TraceStore) throws {
        self.init(withoutRecovery: store)
        if store.writable { try recover() }
    }

    /// A catalog that changes nothing at open (for `check`).
    init(withoutRecovery store: TraceStore) {
        self.store = store
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func volumeName(app: String, buildID: [UInt8]) -> String {
        symbolPrefix + app + "/" + (buildID.isEmpty ? "no-build-id" : hex(buildID))
    }

    static func validateApp(_ app: String) throws {
        guard !app.isEmpty else { throw CatalogError.invalidAppName(app, reason: "empty") }
        guard app.utf8.count <= maxAppNameLength else {
            throw CatalogError.invalidAppName(app, reason: "longer than \(maxAppNameLength) bytes")
        }
        guard !app.contains("/"), !app.contains("\0") else { throw CatalogError.invalidAppName(app, reason: "contains '/' or NUL") }
    }

    func wrap<R>(_ body: () throws(TraceError) -> R) throws -> R {
        do { return try body() } catch { throw CatalogError.store(error) }
    }

    // MARK: Tables

    /// Reads the info record and chunk views of a table volume, in place, and
    /// validates every chunk and their order (throws `damagedTable` naming the
    /// volume and record).
    func loadTable(_ volume: String) throws -> SymbolTable {
        if let t = openTables[volume] { return t }
        let reader = try wrap { () throws(TraceError) in try store.openLaneReader(volume: volume, lane: 0) }
        guard let first = try wrap({ () throws(TraceError) in try reader.next() }), first.kind == .symbolTableInfo else {
            throw CatalogError.damagedTable(volume: volume, reason: "no symbol-table info record")
        }
        let info: SymbolTableInfo
        do { info = try withJoined(first) { try SymbolTableInfo.decode($0) } } catch {
            throw CatalogError.damagedTable(volume: volume, reason: "\(error)")
        }
        var chunks: [SymbolChunk] = []
        while let r = try wrap({ () throws(TraceError) in try reader.next() }) {
            guard r.kind == .symbolChunk, r.moreFragments.isEmpty else {
                throw CatalogError.damagedTable(volume: volume, reason: "record \(r.sequence) is not a contiguous symbol chunk")
            }
            do {
                let chunk = try SymbolChunk(r.payload)
                try chunk.validate()
                chunks.append(chunk)
            } catch {
                throw CatalogError.damagedTable(volume: volume, reason: "record \(r.sequence): \(error)")
            }
        }
        guard chunks.count == Int(info.chunkCount) else {
            throw CatalogError.damagedTable(volume: volume, reason: "\(chunks.count) of \(info.chunkCount) chunks present")
        }
        let table = try SymbolTable(info: info, volume: volume, chunks: chunks)
        openTables[volume] = table
        return table
    }

    func withJoined<R>(_ r: RecordView, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if r.moreFragments.isEmpty { return try body(r.payload) }
        var bytes: [UInt8] = []
        r.forEachFragment { bytes.append(contentsOf: $0) }
        return try bytes.withUnsafeBytes(body)
    }

    /// Every stored table, by app then import time. O(tables).
    public func tables() throws -> [TableSummary] {
        var out: [TableSummary] = []
        for v in store.volumes() where v.name.hasPrefix(Self.symbolPrefix) {
            let t = try loadTable(v.name)
            out.append(TableSummary(
                app: String(decoding: t.info.app, as: UTF8.self), buildID: Self.hex(t.info.buildID),
                symbols: t.info.symbolCount, ranges: t.rangeCount, chunks: t.chunks.count,
                bytes: t.chunks.reduce(0) { $0 + $1.byteCount },
                kind: t.info.elfType == 2 ? "executable" : "shared/PIE",
                machine: t.info.machine == 62 ? "x86-64" : (t.info.machine == 183 ? "aarch64" : "\(t.info.machine)"),
                path: String(decoding: t.info.path, as: UTF8.self), imported: t.info.importTime, volume: v.name))
        }
        return out.sorted { ($0.app, $0.imported) < ($1.app, $1.imported) }
    }

    /// The table of `app` with `buildID` (hex), or the most recently imported
    /// one of `app` when `buildID` is nil.
    public func table(app: String, buildID: String? = nil) throws -> SymbolTable {
        let prefix = Self.symbolPrefix + app + "/"
        let candidates = store.volumes().filter { $0.name.hasPrefix(prefix) && (buildID == nil || $0.name == prefix + buildID!.lowercased()) }
        let tables = try candidates.map { try loadTable($0.name) }
        guard let best = tables.max(by: { $0.info.importTime < $1.info.importTime }) else {
            throw CatalogError.tableNotFound(app: app, buildID: buildID)
        }
        return best
    }

    /// Imports the symbols of the ELF file at `path` as app `app` (default:
    /// the file's name). Atomic; durable on return. Replaces a table with the
    /// same app and build-id. Cost: O(symbols log symbols).
    ///
    /// A stripped file has only `.dynsym`; with `useDebugFile` (the default)
    /// its full `.symtab` is taken from `/usr/lib/debug/.build-id/…` when a
    /// debug file with the same build-id is installed.
    @discardableResult
    public func importELF(at path: String, app: String? = nil, useDebugFile: Bool = true) throws -> TableSummary {
        let elf: ELFFile
        do { elf = try ELFFile(contentsOf: path) } catch let e as ELFError { throw CatalogError.elf(path: path, e) } catch {
            throw CatalogError.file(path: path, message: (error as NSError).localizedDescription)
        }
        let name = app ?? URL(fileURLWithPath: path).lastPathComponent
        try Self.validateApp(name)
        var symbols: [ELFSymbol]
        var source: ELFFile.SymbolSource
        var sectionSource = elf
        do { (symbols, source) = try elf.symbols() } catch { throw CatalogError.elf(path: path, error) }
        // A stripped file's full .symtab may sit in a separate debug file found by build-id
        // (Debian's *-dbg / *-dbgsym packages), where debuggers and llvm-symbolizer look too.
        if useDebugFile, source == .dynsym, let debug = Self.debugFile(for: elf), let (more, s) = try? debug.symbols(), s == .symtab {
            symbols = more
            source = s
            sectionSource = debug
        }
        let (kept, ranges) = SymbolTableBuilder.build(symbols, sectionEnd: sectionSource.sectionEnd)
        let maxChunk = min(Layout.maxFragmentPayload(segmentSize: store.superblock.segmentSize), 4 << 20)
        let chunks = SymbolTableBuilder.chunks(kept: kept, ranges: ranges, maxChunkBytes: maxChunk)
        let info = SymbolTableInfo(
            elfType: elf.kind.rawValue, machine: elf.machine, symbolCount: UInt64(kept.count), importTime: store.options.clock(),
            linkBase: elf.linkBase, chunkCount: UInt32(chunks.count), app: Array(name.utf8), buildID: elf.buildID,
            path: Array(URL(fileURLWithPath: path).standardizedFileURL.path.utf8))
        let final = Self.volumeName(app: name, buildID: elf.buildID)
        let temporary = Self.temporaryPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try wrap { () throws(TraceError) in
            let step = Self.stepHook
            try store.createVolume(nameBytes: Array(temporary.utf8), lanes: 1, ring: false, allowReserved: true)
            step?("import.created")
            let w = try store.openWriter(volume: temporary)
            var bytes: [UInt8] = []
            info.encode(into: &bytes)
            try w.append(bytes: bytes, kind: .symbolTableInfo)
            for (i, c) in chunks.enumerated() {
                try w.append(bytes: c, kind: .symbolChunk, contiguous: true)
                w.commit()
                step?("import.chunk.\(i)")
            }
            w.close()
            try store.sealVolume(temporary)
            step?("import.sealed")
            if (try? store.volume(named: final)) != nil {
                openTables[final] = nil
                try store.deleteVolume(final)
                step?("import.old-deleted")
            }
            try store.renameVolume(temporary, to: final, allowReserved: true)
            step?("import.renamed")
        }
        return try tables().first { $0.volume == final }!
    }

    /// Whether a separate debug file with the same build-id is installed.
    public static func hasDebugFile(for elf: ELFFile) -> Bool { debugFile(for: elf) != nil }

    /// `/usr/lib/debug/.build-id/xx/yyyy.debug` for the file's build-id, if
    /// present and carrying the same build-id.
    static func debugFile(for elf: ELFFile) -> ELFFile? {
        let id = hex(elf.buildID)
        guard id.count > 2 else { return nil }
        let path = "/usr/lib/debug/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug"
        guard let debug = try? ELFFile(contentsOf: path), debug.buildID == elf.buildID else { return nil }
        return debug
    }

    /// Removes the tables of `app` (all of them, or the one with `buildID`).
    /// Returns how many were removed. Each removal is atomic.
    public func remove(app: String, buildID: String? = nil) throws -> Int {
        let prefix = Self.symbolPrefix + app + "/"
        let doomed = store.volumes().filter { $0.name.hasPrefix(prefix) && (buildID == nil || $0.name == prefix + buildID!.lowercased()) }
        guard !doomed.isEmpty else { throw CatalogError.tableNotFound(app: app, buildID: buildID) }
        for v in doomed {
            openTables[v.name] = nil
            try wrap { () throws(TraceError) in try store.deleteVolume(v.name) }
        }
        return doomed.count
    }

    /// Finishes or discards imports a crash interrupted: a sealed `.tmp/`
    /// volume is a complete table (seal is the import's last write before the
    /// rename); anything else in `.tmp/` is discarded.
    func recover() throws {
        for v in store.volumes() where v.name.hasPrefix(Self.temporaryPrefix) {
            var final: String?
            if v.sealed, let t = try? loadTable(v.name) {
                final = Self.volumeName(app: String(decoding: t.info.app, as: UTF8.self), buildID: t.info.buildID)
            }
            openTables[v.name] = nil
            try wrap { () throws(TraceError) in
                if let final, (try? store.volume(named: final)) == nil {
                    try store.renameVolume(v.name, to: final, allowReserved: true)
                } else {
                    try store.deleteVolume(v.name)
                }
            }
        }
    }
}
