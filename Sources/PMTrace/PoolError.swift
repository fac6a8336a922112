import PMemBackend
import TraceVolume

/// Failures of opening, formatting or using a pool: one error type for the
/// facade, wrapping the layer below (the mapping's `PMemError`, the store's
/// `TraceError`) so a caller can still switch on the cause.
/// Every description names the pool's path or the structure and offset.
public enum PoolError: Error, Equatable, Sendable {
    /// Mapping the file failed (no such file, wrong file type, permission, in use, no space); the error names the path.
    case mapping(PMemError)
    /// The store refused or failed; see `at(path:_:)` for the same with the pool's path.
    case store(TraceError)
    /// `format` refused to overwrite an existing file without `force`.
    case wouldOverwrite(path: String, what: String)
    /// The file is shorter than the region its superblock describes
    /// (cut off by a copy, a full disk or `truncate`).
    case truncated(path: String, fileSize: UInt64, regionSize: UInt64)
    /// A store error on the pool at `path` (the store's errors name
    /// structures and offsets, not the file).
    indirect case at(path: String, PoolError)
}

extension PoolError: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .mapping(let e): return e.description
        case .store(let e): return e.description
        case .wouldOverwrite(let path, let what): return "\(path): \(what); pass --force to format over it"
        case .truncated(let path, let fileSize, let regionSize):
            return "\(path): truncated: the file is \(fileSize) bytes but its superblock records a region of \(regionSize) bytes"
        case .at(let path, let e): return "\(path): \(e)"
        }
    }
}
