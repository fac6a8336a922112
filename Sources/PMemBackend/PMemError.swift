/// Failures of mapping a file or device.
public enum PMemError: Error, Equatable, Sendable {
    /// A system call failed (`errno`, with the call named).
    case system(call: String, path: String, errno: Int32, message: String)
    /// A libpmem2 call failed; `message` is `pmem2_errormsg()` read at once.
    case pmem2(call: String, path: String, code: Int32, message: String)
    /// Another process has the region open for writing.
    case inUse(path: String)
    case fileExists(path: String)
    case notFound(path: String)
}

extension PMemError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .system(let call, let path, _, let message): return "\(path): \(call) failed: \(message)"
        case .pmem2(let call, let path, let code, let message): return "\(path): \(call) failed (\(code)): \(message)"
        case .inUse(let path): return "\(path): in use by another writer (it holds the region's exclusive lock)"
        case .fileExists(let path): return "\(path): already exists"
        case .notFound(let path): return "\(path): no such file or device"
        }
    }
}
