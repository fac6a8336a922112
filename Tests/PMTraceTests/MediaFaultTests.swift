import Foundation
import PMTrace
import PMemBackend
import Testing

/// A region file truncated while in use, or a sparse region on a full file
/// system, raises SIGBUS on access. Nothing may die of it: the fault is
/// recorded and reported as an error naming the file and offset.
@Suite(.serialized) struct MediaFaultTests {
    private func makePool(megabytes: Int, volumeMegabytes: Int) throws -> String {
        let pool = scratchPath("fault"), input = scratchPath("in")
        defer { unlink(input) }
        try randomFile(input, bytes: volumeMegabytes << 20)
        #expect(try pmtrace(["format", pool, "--size", "\(megabytes)M"]).status == 0)
        #expect(try pmtrace(["write", pool, "big"], stdinFile: input).status == 0)
        return pool
    }

    /// In process, deterministic: map, truncate, read.
    @Test func truncatedUnderAnOpenReaderGivesATypedError() throws {
        let pool = try makePool(megabytes: 64, volumeMegabytes: 32)
        defer { unlink(pool) }
        let p = try TracePool.open(path: pool, writable: false)
        let reader = try p.store.openReader(volume: "big")
        #expect(truncate(pool, 1 << 20) == 0)
        var failed = false
        do { while try reader.next() != nil {} } catch { failed = true }
        #expect(failed, "zeros must fail the record checksums")
        guard case .mediaFault(let path, let offset, let faults, let size)? = p.mapping.mediaFault else {
            Issue.record("no fault recorded"); return
        }
        #expect(path == pool && offset >= 1 << 20 && faults >= 1 && size == 1 << 20)
    }

    /// `read` with a slow consumer; the file is truncated after the first
    /// megabyte has arrived. The child must exit 2 naming file and offset.
    @Test func truncatedDuringReadInAChild() throws {
        let pool = try makePool(megabytes: 64, volumeMegabytes: 40)
        let errPath = scratchPath("err")
        defer { unlink(pool); unlink(errPath) }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        // Close-on-exec: the child must not inherit the other end (no EOF otherwise).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let child = try SpawnedChild.start(["read", pool, "big"], stdoutFD: fds[1], stderrPath: errPath)
        close(fds[1])
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var got = 0
        while got < 1 << 20 { let n = read(fds[0], &buf, buf.count); if n <= 0 { break }; got += n }
        #expect(truncate(pool, 2 << 20) == 0)
        while read(fds[0], &buf, buf.count) > 0 {}
        close(fds[0])
        let o = child.wait()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(o.signal == nil, "died of signal \(o.signal ?? 0)")
        #expect(o.exitStatus == 2, "\(err)")
        #expect(err.contains(pool) && err.contains("bus error") && err.contains("truncated to 2097152"), "\(err)")
    }

    /// `write` from a pipe; the file is truncated while the writer waits for input.
    @Test func truncatedDuringWriteInAChild() throws {
        let pool = scratchPath("wfault"), errPath = scratchPath("err")
        defer { unlink(pool); unlink(errPath) }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        // Close-on-exec: the child must not inherit the other end (no EOF otherwise).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // If the child dies, writing to the pipe must fail with EPIPE, not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        let child = try SpawnedChild.start(["write", pool, "v", "--commit-every", "1M"], stdinFD: fds[0], stderrPath: errPath)
        close(fds[0])
        let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        for _ in 0..<4 { _ = chunk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } }
        #expect(truncate(pool, 1 << 20) == 0)
        for _ in 0..<8 { _ = chunk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } }
        close(fds[1])
        let o = child.wait()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(o.signal == nil, "died of signal \(o.signal ?? 0)")
        #expect(o.exitStatus == 2 && err.contains("bus error") && err.contains(pool), "\(o.exitStatus ?? -1): \(err)")
    }

    /// A sparse region on a full file system: writing into a hole and even
    /// the read-only fsck touching one raise SIGBUS (tmpfs must allocate the
    /// page). Both must fail with the fault reported, not die.
    @Test func sparseRegionOnAFullFileSystem() throws {
        guard let dir = mountSmallTmpfs(megabytes: 8) else {
            Issue.record("cannot mount a tmpfs here (needs root)"); return
        }
        defer { unmountTmpfs(dir) }
        let pool = "\(dir)/sparse", input = scratchPath("in"), errPath = scratchPath("err")
        defer { unlink(input); unlink(errPath) }
        _ = try TracePool.format(path: pool, size: 32 << 20, parameters: .init(segmentSize: 1 << 20), reserve: false)
        try randomFile(input, bytes: 12 << 20)
        let w = try pmtrace(["write", pool, "v"], stdinFile: input)
        #expect(w.status == 2 && w.stderr.contains("bus error") && w.stderr.contains("could not back the page"), "\(w.status): \(w.stderr)")
        // Fill what is left, then fsck (read-only) walks segment headers in holes.
        let filler = "\(dir)/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 1, count: 1 << 16)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        let f = try pmtrace(["fsck", pool])
        #expect(f.status == 2 && f.stderr.contains("bus error"), "\(f.status): \(f.stderr)")
    }
}
