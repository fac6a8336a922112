import Foundation
import TraceFormat
import TracePayloads
import TraceVolume

extension MetadataCatalog {
    /// What `importProcessMaps` did.
    public struct MapsImport: Sendable {
        /// The mappings recorded, one per ELF image mapped by the process.
        public var entries: [ProcessMapEntry]
        /// Tables imported in the same step (images seen for the first time).
        public var importedTables: [String]
        /// Mapped files that could not be read as ELF, with the reason.
        public var skipped: [(path: String, reason: String)]
    }

    /// Records which ELF images are mapped where in process `pid` (from the
    /// text of its `/proc/<pid>/maps`) and imports each image's symbols that
    /// the catalog does not have yet. `addressSpace` names the address space
    /// (default "pid:<pid>"). Entries are valid from now until a later import
    /// for the same address space replaces them.
    public func importProcessMaps(pid: UInt32, text: String, addressSpace: String? = nil) throws -> MapsImport {
        let lines = ProcMapsLine.parse(text)
        guard !lines.isEmpty else { throw CatalogError.noMaps(pid: pid, reason: "no mappings in the maps text") }
        let space = addressSpace ?? "pid:\(pid)"
        let now = store.options.clock()
        var result = MapsImport(entries: [], importedTables: [], skipped: [])
        var images: [String: (ELFFile, String)?] = [:]
        for line in lines {
            guard let path = line.path, path.hasPrefix("/") else { continue }
            if images[path] == nil {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    // Gone since it was mapped, or a special file (shared memory, "(deleted)").
                    images[path] = .some(nil)
                    continue
                }
                do {
                    let elf = try ELFFile(contentsOf: path)
                    let app = URL(fileURLWithPath: path).lastPathComponent
                    try Self.validateApp(app)
                    if (try? table(app: app, buildID: Self.hex(elf.buildID).isEmpty ? "no-build-id" : Self.hex(elf.buildID))) == nil {
                        do {
                            _ = try importELF(at: path, app: app)
                            result.importedTables.append(app)
                        } catch CatalogError.elf(_, .noSymbols) {
                            // Still a mapping worth recording; lookups will say "??".
                        }
                    }
                    images[path] = .some((elf, app))
                } catch ELFError.notELF {
                    images[path] = .some(nil)  // data files (locales, caches): nothing to symbolize
                } catch let e as CatalogError {
                    // The store refused (region full, volume table full, read-only): that is
                    // the answer, not a property of this one image.
                    if case .store = e { throw e }
                    images[path] = .some(nil)
                    result.skipped.append((path, "\(e)"))
                } catch {
                    images[path] = .some(nil)
                    result.skipped.append((path, "\(error)"))
                }
            }
            guard case .some(.some(let (elf, app))) = images[path], let delta = elf.linkDelta(forFileOffset: line.offset) else { continue }
            // runtime = link-time + bias, for the PT_LOAD holding this file offset.
            let bias = line.start &- line.offset &- delta
            result.entries.append(ProcessMapEntry(
                pid: pid, validFrom: now, validTo: 0, start: line.start, end: line.end, fileOffset: line.offset,
                loadBias: bias, app: Array(app.utf8), buildID: elf.buildID, addressSpace: Array(space.utf8), path: Array(path.utf8)))
        }
        guard !result.entries.isEmpty else {
            let why = result.skipped.prefix(3).map { "\($0.path): \($0.reason)" }.joined(separator: "; ")
            throw CatalogError.noMaps(pid: pid, reason: "no readable ELF image is mapped" + (why.isEmpty ? "" : " (skipped: \(why))"))
        }
        try wrap { () throws(TraceError) in
            try store.volumeCreatingIfMissing(nameBytes: Array(Self.mapsVolume.utf8), lanes: 1, ring: false, allowReserved: true)
            let w = try store.openWriter(volume: Self.mapsVolume)
            var bytes: [UInt8] = []
            for e in result.entries {
                e.encode(into: &bytes)
                try w.append(bytes: bytes, kind: .processMap, timestamp: now)
            }
            w.close()
        }
        return result
    }

    /// Every recorded mapping, oldest first. Throws `damagedMaps` naming the
    /// record (lane, sequence) whose payload fails its checks.
    public func processMaps() throws -> [ProcessMapEntry] {
        guard (try? store.volume(named: Self.mapsVolume)) != nil else { return [] }
        let reader = try wrap { () throws(TraceError) in try store.openReader(volume: Self.mapsVolume) }
        var out: [ProcessMapEntry] = []
        while let r = try wrap({ () throws(TraceError) in try reader.next() }) {
            guard r.kind == .processMap else { continue }
            do {
                out.append(try withJoined(r) { try ProcessMapEntry.decode($0) })
            } catch {
                throw CatalogError.damagedMaps(volume: Self.mapsVolume, reason: "record at lane \(r.lane), sequence \(r.sequence): \(error)")
            }
        }
        return out
    }

    /// Symbolizes runtime addresses of one address space at one time, through
    /// the recorded maps. Build once, query many times (O(log mappings) each).
    /// An image with no imported table resolves to its mapping only; a stored
    /// table that fails its checks throws `damagedTable` (as `table(app:)`).
    public func symbolizer(addressSpace: String, at time: UInt64 = .max) throws -> AddressSpaceSymbolizer {
        let every = try processMaps()
        let all = every.filter { String(decoding: $0.addressSpace, as: UTF8.self) == addressSpace }
        guard let earliest = all.map(\.validFrom).min() else {
            let known = Set(every.map { String(decoding: $0.addressSpace, as: UTF8.self) }).sorted()
            throw CatalogError.unknownAddressSpace(addressSpace, known: known)
        }
        // The newest import at or before `time` describes the address space then.
        let imports = Set(all.map(\.validFrom)).filter { $0 <= time }
        guard let when = imports.max() else {
            throw CatalogError.noMapsAtTime(addressSpace: addressSpace, time: time, earliest: earliest)
        }
        var mappings: [(ProcessMapEntry, SymbolTable?)] = []
        for e in all where e.validFrom == when {
            let app = String(decoding: e.app, as: UTF8.self)
            let id = e.buildID.isEmpty ? "no-build-id" : Self.hex(e.buildID)
            // An image without an imported table has no symbols; a damaged table is
            // refused, as `symbolize --app` refuses it (never "??" in silence).
            let table: SymbolTable?
            do { table = try self.table(app: app, buildID: id) } catch CatalogError.tableNotFound { table = nil }
            mappings.append((e, table))
        }
        return AddressSpaceSymbolizer(mappings: mappings.sorted { $0.0.start < $1.0.start })
    }
}

/// Runtime address → mapping → symbol. Read-only; thread-safe.
public struct AddressSpaceSymbolizer: @unchecked Sendable {
    // SAFETY: immutable; tables point into the mapped region.
    let mappings: [(ProcessMapEntry, SymbolTable?)]

    /// What one address resolved to.
    public struct Result {
        /// The app whose image is mapped at the address.
        public var app: String
        /// The symbol covering the address, or nil when the image has none there.
        public var match: SymbolTable.Match?
        /// Runtime addresses this same answer holds for.
        public var range: Range<UInt64>
    }

    /// `[address, address + 1)`, or the empty range at 2^64 − 1 (which has no successor).
    static func single(_ address: UInt64) -> Range<UInt64> { address == .max ? address..<address : address..<(address + 1) }

    /// What one address resolved to, without naming the app: the index of
    /// the recorded mapping (see `app(ofMapping:)`), for callers that group
    /// millions of addresses and intern images as integers.
    public struct Resolution {
        /// Index of the mapping holding the address (`0 ..< mappingCount`).
        public var mapping: Int
        /// The symbol covering the address, or nil when the image has none there.
        public var match: SymbolTable.Match?
        /// Runtime addresses this same answer holds for (same mapping, same
        /// match; without a match, the gap between the symbols around the
        /// address, or the whole mapping when its image has no symbol table).
        public var range: Range<UInt64>
        /// Runtime addresses of the whole mapping.
        public var mappingRange: Range<UInt64>
        /// Whether the mapping's image has a symbol table in the catalog
        /// (false: no address of the mapping has a symbol).
        public var hasSymbols: Bool
    }

    /// Recorded mappings (the indices `Resolution.mapping` takes).
    public var mappingCount: Int { mappings.count }

    /// The app whose image is mapped by mapping `index` (`0 ..< mappingCount`).
    public func app(ofMapping index: Int) -> String { String(decoding: mappings[index].0.app, as: UTF8.self) }

    /// The mapping and symbol at runtime `address`, or nil when no recorded
    /// mapping covers it. Thread-safe; O(log mappings + log symbols), no allocation.
    public func resolve(_ address: UInt64) -> Resolution? {
        var lo = 0, hi = mappings.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if mappings[mid].0.start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, address < mappings[lo - 1].0.end else { return nil }
        let index = lo - 1
        let start = mappings[index].0.start, end = mappings[index].0.end, bias = mappings[index].0.loadBias
        let match = mappings[index].1?.lookup(address &- bias)
        var range: Range<UInt64>
        if let m = match {
            let low = max(start, m.range.lowerBound &+ bias), high = min(end, m.range.upperBound &+ bias)
            range = low < high ? low..<high : Self.single(address)
        } else if let table = mappings[index].1 {
            // The gap between the symbols around the address, in the mapping.
            let g = table.gap(around: address &- bias)
            let low = g.lowerBound &+ bias
            var high = g.upperBound &+ bias
            if high < low { high = .max }  // the gap runs past 2^64 at run time: the mapping ends first
            let r = max(start, low)..<max(start, low, min(end, high))
            range = g.isEmpty || !r.contains(address) ? Self.single(address) : r
        } else {
            range = start..<end
        }
        return Resolution(mapping: index, match: match, range: range, mappingRange: start..<end, hasSymbols: mappings[index].1 != nil)
    }

    /// The addresses around `address` that no recorded mapping covers (empty
    /// when a mapping covers `address`): the gap between the mappings on
    /// either side. O(log mappings).
    public func unmappedRange(around address: UInt64) -> Range<UInt64> {
        var lo = 0, hi = mappings.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if mappings[mid].0.start <= address { lo = mid + 1 } else { hi = mid }
        }
        let low = lo > 0 ? mappings[lo - 1].0.end : 0
        let high = lo < mappings.count ? mappings[lo].0.start : .max
        guard low <= address, address < high else { return address..<address }
        return low..<high
    }

    /// The app and symbol at runtime `address`, or nil when no recorded mapping covers it.
    /// Thread-safe (read-only after creation); O(log mappings + log symbols); allocates the app's name
    /// (`resolve` does not).
    public func lookup(_ address: UInt64) -> Result? {
        guard let r = resolve(address) else { return nil }
        return Result(app: app(ofMapping: r.mapping), match: r.match, range: r.match == nil ? Self.single(address) : r.range)
    }
}
