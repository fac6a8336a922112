import TraceVolume

/// Failures of the metadata catalog.
public enum CatalogError: Error, CustomStringConvertible, Sendable {
    /// The store refused or failed (no space, a name taken, damage); wraps its error.
    case store(TraceError)
    /// The ELF file at `path` could not be read as one (what and where in `ELFError`).
    case elf(path: String, ELFError)
    /// A file could not be opened or read; `message` says why.
    case file(path: String, message: String)
    /// An app name breaks the rules (too long, control characters, a '/'); `reason` says which.
    case invalidAppName(String, reason: String)
    /// No symbol table is stored for `app` (with `buildID`, when given).
    case tableNotFound(app: String, buildID: String?)
    /// The stored table in `volume` fails its checks; lookups in it are refused.
    case damagedTable(volume: String, reason: String)
    /// A process-map record in `volume` (the catalog's `.maps`) fails its
    /// checks; `reason` names the record (lane, sequence) and the field.
    case damagedMaps(volume: String, reason: String)
    /// The maps of process `pid` could not be read (no such process, no permission).
    case noMaps(pid: UInt32, reason: String)
    /// No maps were ever imported for this address space; `known` lists the ones that exist.
    case unknownAddressSpace(String, known: [String])
    /// The address space's first maps import is later than the time asked about.
    case noMapsAtTime(addressSpace: String, time: UInt64, earliest: UInt64)

    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .store(let e): return e.description
        case .elf(let path, let e): return "\(path): \(e)"
        case .file(let path, let message): return "\(path): \(message)"
        case .invalidAppName(let name, let reason): return "invalid app name '\(name)': \(reason)"
        case .tableNotFound(let app, let buildID):
            return "no symbol table for app '\(app)'" + (buildID.map { " with build-id \($0)" } ?? "") + " (see `pmtrace symbols list`)"
        case .damagedTable(let volume, let reason): return "symbol table volume '\(volume)' is damaged: \(reason)"
        case .damagedMaps(let volume, let reason): return "process-map volume '\(volume)' is damaged: \(reason)"
        case .noMaps(let pid, let reason): return "process \(pid): \(reason)"
        case .unknownAddressSpace(let name, let known):
            return "unknown address space '\(name)'; " + (known.isEmpty ? "no process maps have been imported (see `pmtrace maps import`)"
                                                                       : "known: " + known.map { "'\($0)'" }.joined(separator: ", "))
        case .noMapsAtTime(let space, let time, let earliest):
            return "address space '\(space)' has no maps at or before time \(time) ns (its first import is at \(earliest) ns)"
        }
    }
}
