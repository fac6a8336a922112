/// Failures of mapping a file or device. Every case names the path.
public enum PMemError: Error, Equatable, Sendable {
    /// A system call failed (`errno`, with the call named).
    case system(call: String, path: String, errno: Int32, message: String)
    /// A libpmem2 call failed; `message` is `pmem2_errormsg()` read at once.
    case pmem2(call: String, path: String, code: Int32, message: String)
    /// Another process has the region open for writing.
    case inUse(path: String)
    /// `format` without `force` found a file at `path`.
    case fileExists(path: String)
    /// No file or device at `path`.
    case notFound(path: String)
    /// The path is not a regular file, a block device or a DAX character
    /// device (a FIFO, directory, socket, /dev/null, ...); `kind` says what it is.
    case unsupportedFileType(path: String, kind: String)
    /// A size that no file can have (above the largest `off_t`).
    case sizeTooLarge(path: String, size: UInt64)
    /// The file system has less free space than the region needs.
    case noSpace(path: String, needed: UInt64, available: UInt64)
    /// A region at byte `offset` of the file or device cannot be mapped:
    /// `reason` says why (not a multiple of the alignment libpmem2 requires,
    /// at or past the end).
    case invalidOffset(path: String, offset: UInt64, reason: String)
    /// A load or store in the mapping raised SIGBUS: the page at `offset`
    /// could not be read or written. `fileSize` is the file's size when the
    /// fault was reported (smaller than `offset` means it was truncated).
    /// The faulting pages read as zeros and writes to them were lost.
    case mediaFault(path: String, offset: UInt64, faults: UInt64, fileSize: UInt64?)
}

extension PMemError: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .system(let call, let path, _, let message): return "\(path): \(call) failed: \(message)"
        case .pmem2(let call, let path, let code, let message): return "\(path): \(call) failed (\(code)): \(message)"
        case .inUse(let path): return "\(path): in use by another writer (it holds the region's exclusive lock)"
        case .fileExists(let path): return "\(path): already exists"
        case .notFound(let path): return "\(path): no such file or device"
        case .unsupportedFileType(let path, let kind):
            return "\(path): is \(kind), not a regular file, block device or DAX device"
        case .sizeTooLarge(let path, let size):
            return "\(path): size \(size) bytes is larger than any file can be (at most \(Int64.max))"
        case .noSpace(let path, let needed, let available):
            return "\(path): not enough free space: the region needs \(needed) bytes, the file system has \(available) available"
        case .invalidOffset(let path, let offset, let reason):
            return "\(path): cannot map a region at offset \(offset) (0x\(String(offset, radix: 16))): \(reason)"
        case .mediaFault(let path, let offset, let faults, let fileSize):
            if let fileSize, fileSize <= offset {
                // Found by a bus error or by a commit's size check (no signal then): say both.
                return "\(path): the file was truncated to \(fileSize) bytes while in use (found at offset \(offset) "
                    + "(0x\(String(offset, radix: 16))) by a bus error or a commit's size check, \(faults) time(s)); "
                    + "what lay past its end read as zeros and writes there were lost"
            }
            return "\(path): bus error (SIGBUS) at offset \(offset) (0x\(String(offset, radix: 16))): "
                + "the file system could not back the page (full file system or I/O error); "
                + "\(faults) page(s) read as zeros and writes to them were lost"
        }
    }
}
