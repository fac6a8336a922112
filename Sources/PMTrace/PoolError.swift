import PMemBackend
import TraceVolume

/// Failures of opening, formatting or using a pool file.
public enum PoolError: Error, Equatable, Sendable {
    case mapping(PMemError)
    case store(TraceError)
    /// `format` refused to overwrite an existing file without `force`.
    case wouldOverwrite(path: String, what: String)
}

extension PoolError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .mapping(let e): return e.description
        case .store(let e): return e.description
        case .wouldOverwrite(let path, let what): return "\(path): \(what); pass --force to format over it"
        }
    }
}
