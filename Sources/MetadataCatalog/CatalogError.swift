import TraceVolume

/// Failures of the metadata catalog.
public enum CatalogError: Error, CustomStringConvertible, Sendable {
    case store(TraceError)
    case elf(path: String, ELFError)
    case file(path: String, message: String)
    case invalidAppName(String, reason: String)
    case tableNotFound(app: String, buildID: String?)
    case damagedTable(volume: String, reason: String)
    case noMaps(pid: UInt32, reason: String)

    public var description: String {
        switch self {
        case .store(let e): return e.description
        case .elf(let path, let e): return "\(path): \(e)"
        case .file(let path, let message): return "\(path): \(message)"
        case .invalidAppName(let name, let reason): return "invalid app name '\(name)': \(reason)"
        case .tableNotFound(let app, let buildID):
            return "no symbol table for app '\(app)'" + (buildID.map { " with build-id \($0)" } ?? "") + " (see `pmtrace symbols list`)"
        case .damagedTable(let volume, let reason): return "symbol table volume '\(volume)' is damaged: \(reason)"
        case .noMaps(let pid, let reason): return "process \(pid): \(reason)"
        }
    }
}
