import CPMem2
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

func system_open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(PMemError) -> Int32 {
    let fd = open(path, flags | O_CLOEXEC, mode)
    guard fd >= 0 else {
        if errno == ENOENT { throw .notFound(path: path) }
        if errno == EEXIST { throw .fileExists(path: path) }
        throw systemError("open", path)
    }
    return fd
}

func system_lockExclusive(_ fd: Int32, _ path: String) throws(PMemError) {
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
        if errno == EWOULDBLOCK { throw .inUse(path: path) }
        throw systemError("flock", path)
    }
}

func system_fileSize(_ fd: Int32, _ path: String) throws(PMemError) -> UInt64 {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw systemError("fstat", path) }
    return UInt64(st.st_size)
}

func system_allocate(_ fd: Int32, _ size: UInt64, _ path: String, reserve: Bool) throws(PMemError) {
    guard ftruncate(fd, off_t(size)) == 0 else { throw systemError("ftruncate", path) }
    guard reserve else { return }
    // Reserve the space now so a full file system fails here, not with SIGBUS later.
    let r = posix_fallocate(fd, 0, off_t(size))
    guard r == 0 || r == EOPNOTSUPP || r == EINVAL else {
        errno = r
        throw systemError("posix_fallocate", path)
    }
}
