import Foundation

/// Output paths a command must not write: the pool it reads or writes (a
/// careless `--out` or `--backup` naming the pool would replace the region
/// with the output), checked by device and inode, so another name for the
/// same file (a hard link, `./pool`, a symlink) is caught too.
enum OutputGuard {
    /// Throws a usage error (exit 2) when `output` names the same file as the
    /// pool argument `pool` (`<path>[@<offset>]`). Nothing is opened for
    /// writing before this check; a missing output is fine.
    static func refuse(_ output: String, option: String, samePoolAs pool: String) throws {
        guard output != "-" else { return }
        let poolPath = (try? RegionPath(pool).path) ?? pool
        var o = stat(), p = stat()
        guard stat(output, &o) == 0, stat(poolPath, &p) == 0 else { return }
        if o.st_dev == p.st_dev && o.st_ino == p.st_ino {
            throw CLIError("\(option) \(output) is the pool being read (\(poolPath)): writing it would destroy the region; choose another file")
        }
    }

    /// Throws a usage error when `path` exists: for outputs that are never
    /// replaced (the repair backup, which would otherwise truncate whatever
    /// the user named by mistake).
    static func refuseExisting(_ path: String, option: String) throws {
        var s = stat()
        if lstat(path, &s) == 0 {
            throw CLIError("\(option) \(path) already exists: the backup is a new file (remove it or choose another name)")
        }
    }

    /// Throws a usage error when `path` exists and is not a regular file (a
    /// device, FIFO, directory or socket), for outputs that replace the file.
    static func refuseNonRegular(_ path: String, option: String, purpose: String) throws {
        var s = stat()
        guard lstat(path, &s) == 0 else { return }
        if (s.st_mode & S_IFMT) != S_IFREG {
            throw CLIError("\(option) \(path) exists and is not a regular file (\(purpose)); refusing to replace it")
        }
    }

    /// Writes `bytes` to `path` exactly as given (no tilde expansion, no
    /// folding of "..": Foundation's URL writes did both, so `pool/` or
    /// `dir/../pool` reached the pool past `refuse`). The file is opened
    /// without truncation, checked by device and inode against the pool
    /// after opening (what is checked is what is written), and only then
    /// truncated and written. A usage error (exit 2) names a refusal.
    static func write(_ bytes: [UInt8], to path: String, option: String, samePoolAs pool: String) throws {
        let fd = try open(path, option: option, samePoolAs: pool)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try OutputStream.writeAll(fd, $0) }
    }

    /// Opens `path` for writing as given, refuses it when it is the pool
    /// (checked on the opened file: `/proc/self/fd/N` naming the pool's own
    /// descriptor is caught too), then truncates a regular file. Returns the
    /// descriptor (the caller closes it). A usage error (exit 2) otherwise.
    static func open(_ path: String, option: String, samePoolAs pool: String) throws -> Int32 {
        let fd = Foundation.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("\(option) \(path): cannot write there: \(String(cString: strerror(errno)))") }
        let poolPath = (try? RegionPath(pool).path) ?? pool
        var o = stat(), p = stat()
        guard fstat(fd, &o) == 0 else { close(fd); throw CLIError("\(option) \(path): \(String(cString: strerror(errno)))") }
        if stat(poolPath, &p) == 0 && o.st_dev == p.st_dev && o.st_ino == p.st_ino {
            close(fd)
            throw CLIError("\(option) \(path) is the pool being read (\(poolPath)): writing it would destroy the region; choose another file")
        }
        if (o.st_mode & S_IFMT) == S_IFREG && ftruncate(fd, 0) != 0 {
            close(fd)
            throw CLIError("\(option) \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}
