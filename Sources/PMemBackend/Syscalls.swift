import CPMem2
import CFaultGuard
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// One call site per C function; errno and pmem2_errormsg() are read at once.

func systemError(_ call: String, _ path: String) -> PMemError {
    let e = errno
    return .system(call: call, path: path, errno: e, message: String(cString: strerror(e)))
}

func pmem2Error(_ call: String, _ path: String, _ code: Int32) -> PMemError {
    let message = pmt_pmem2_errormsg().map { String(cString: $0) } ?? "error \(code)"
    return .pmem2(call: call, path: path, code: code, message: message)
}

/// Opens without blocking (a FIFO would block forever), then refuses
/// anything but a regular file, block device or DAX device
/// (`FileKind.check`), then clears O_NONBLOCK again.
func system_open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(PMemError) -> Int32 {
    let fd = open(path, flags | O_CLOEXEC | O_NONBLOCK, mode)
    guard fd >= 0 else {
        if errno == ENOENT { throw .notFound(path: path) }
        if errno == EEXIST { throw .fileExists(path: path) }
        if errno == EISDIR { throw .unsupportedFileType(path: path, kind: "a directory") }
        throw systemError("open", path)
    }
    do throws(PMemError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError("fstat", path) }
        try FileKind.check(st, path: path)
        let fl = fcntl(fd, F_GETFL)
        guard fl >= 0, fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 else { throw systemError("fcntl", path) }
        return fd
    } catch {
        close(fd)
        throw error
    }
}

/// The writer lock of the file open at `fd`: an exclusive flock on an open
/// file description of its own (a fresh open of `/proc/self/fd/<fd>`: the
/// same file even if `path` was renamed meanwhile), registered so a forked
/// child closes its copy (fork_locks.h). Returns the lock's descriptor;
/// `system_releaseWriterLock` lets it go.
///
/// Why not lock `fd` itself: a mapping holds the file description it was
/// made from, so a child that inherits the mapping would hold the lock as
/// long as it lives, closing descriptors or not. Where /proc is missing,
/// the lock falls back to a fresh open of `path`.
///
/// A lock held elsewhere is tried again for up to `writerLockPatience`
/// before `.inUse`: a child this process starts with posix_spawn, popen or
/// system() runs no fork handlers and holds a copy of the lock's
/// descriptor until its exec closes it (close-on-exec), typically well
/// under a millisecond (adversary s26b: 10 of 20 opens refused beside a
/// posix_spawn loop, the longest for 1 ms).
func system_takeWriterLock(of fd: Int32, _ path: String) throws(PMemError) -> Int32 {
    func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }
    let until = now() + writerLockPatience
    while true {
        var lockFD: Int32 = -1
        let r = pmt_fork_locks_take(fd, path, &lockFD)
        switch r {
        case 0: return lockFD
        case EWOULDBLOCK:
            guard now() < until else { throw .inUse(path: path) }
            usleep(500)
        case ESTALE: throw .inUse(path: path)
        default:
            errno = r
            throw systemError("open (writer lock)", path)
        }
    }
}

/// Nanoseconds a writer open waits for a lock held elsewhere (see
/// `system_takeWriterLock`) before reporting the region in use.
let writerLockPatience: Int64 = 50_000_000

/// Releases a lock from `system_takeWriterLock` (nothing for -1).
func system_releaseWriterLock(_ lockFD: Int32) {
    pmt_fork_locks_release(lockFD)
}

func system_fileSize(_ fd: Int32, _ path: String) throws(PMemError) -> UInt64 {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw systemError("fstat", path) }
    return UInt64(st.st_size)
}

/// The size of the file at `path` now, or nil if it cannot be read.
func system_currentSize(_ path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(max(st.st_size, 0)) : nil
}

/// `size` as an `off_t`, refusing what no file can hold (no trap).
func system_offset(_ size: UInt64, _ path: String) throws(PMemError) -> off_t {
    guard size <= UInt64(Int64.max) else { throw .sizeTooLarge(path: path, size: size) }
    return off_t(size)
}

/// Fails with `.noSpace` unless the file system holding `directory` has
/// `size` bytes available to this user.
func system_checkFreeSpace(directory: String, size: UInt64, path: String) throws(PMemError) {
    var s = statvfs()
    guard statvfs(directory, &s) == 0 else { throw systemError("statvfs", directory) }
    let (available, overflow) = UInt64(s.f_bavail).multipliedReportingOverflow(by: UInt64(s.f_frsize))
    if !overflow, available < size { throw .noSpace(path: path, needed: size, available: available) }
}

func system_allocate(_ fd: Int32, _ size: UInt64, _ path: String, reserve: Bool) throws(PMemError) {
    let length = try system_offset(size, path)
    guard ftruncate(fd, length) == 0 else { throw systemError("ftruncate", path) }
    guard reserve else { return }
    // Reserve the space now so a full file system fails here, not with SIGBUS later.
    let r = posix_fallocate(fd, 0, length)
    guard r == 0 || r == EOPNOTSUPP else {
        errno = r
        throw systemError("posix_fallocate", path)
    }
}

/// Checks that a region at `offset` (of `length` bytes, or to the end) fits
/// the file or device behind `fd`, extending a regular file opened for
/// writing that is shorter than `offset + length` (sparse; never shrinks).
func system_prepareWindow(_ fd: Int32, _ path: String, offset: UInt64, length: UInt64?, writable: Bool) throws(PMemError) {
    _ = try system_offset(offset, path)
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw systemError("fstat", path) }
    let regular = st.st_mode & S_IFMT == S_IFREG
    let size = regular ? UInt64(max(st.st_size, 0)) : nil
    if let length {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw .sizeTooLarge(path: path, size: length) }
        _ = try system_offset(end, path)
        if let size, end > size {
            guard writable else { throw .invalidOffset(path: path, offset: offset, reason: "the file has \(size) bytes, fewer than offset + \(length)") }
            guard ftruncate(fd, off_t(end)) == 0 else { throw systemError("ftruncate", path) }
        }
    } else if let size, offset >= size {
        throw .invalidOffset(path: path, offset: offset, reason: "at or past the end of the file (\(size) bytes)")
    }
}
