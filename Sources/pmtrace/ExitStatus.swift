import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace
import PMemBackend
import TraceVolume

/// The exit statuses every command uses (documented in `pmtrace --help`).
enum ExitStatus {
    static let success: Int32 = 0
    /// The region is damaged or refused the request (no such volume, region
    /// full, sealed, not a PMTrace region, truncated); for fsck: problems
    /// found that remain after the run.
    static let refused: Int32 = 1
    /// Usage error, or the pool could not be opened or read: no such file,
    /// wrong file type, permission, in use by another writer, no space,
    /// bus error (SIGBUS) on the mapping.
    static let usageOrIO: Int32 = 2

    static let help = """
        EXIT STATUS
          0  success (fsck: the region is clean, or every problem was repaired)
          1  the region is damaged or refused the operation (no such volume, region full,
             sealed, not a PMTrace region, truncated); fsck: problems remain
          2  usage error, or the pool could not be opened or read (no such file, not a
             regular file or DAX device, permission, in use, no space, bus error);
             output that cannot be written ("writing output: …": a full disk, a
             closed descriptor)
        A reader that stops reading a pipe (`| head`) ends the command by SIGPIPE,
        as it ends any filter (status 141 in the shell); a region being written keeps
        what was committed, as after a crash.
        `record` exits with the program's status; 128 + N when signal N ended it.
        """

    /// The one place an error becomes a message and a status.
    static func describe(_ error: Error) -> (message: String, status: Int32) {
        switch error {
        case let e as PoolError: return (e.description, status(e))
        case let e as TraceError: return (e.description, refused)
        case let e as PMemError: return (e.description, usageOrIO)
        case let e as CatalogError:
            switch e {
            case .file: return (e.description, usageOrIO)
            default: return (e.description, refused)
            }
        case let e as CLIError: return (e.description, e.status)
        case let e as VolumeName.Problem: return (e.description, usageOrIO)
        default: return ("\(error)", refused)
        }
    }

    static func status(_ e: PoolError) -> Int32 {
        switch e {
        case .mapping: return usageOrIO
        case .store, .wouldOverwrite, .truncated: return refused
        case .at(_, let inner): return status(inner)
        }
    }
}

/// A one-line error for the user (`pmtrace: <description>`); by default a
/// usage or I/O error (status 2).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    let status: Int32
    init(_ message: String, status: Int32 = ExitStatus.usageOrIO) {
        description = message
        self.status = status
    }
}
