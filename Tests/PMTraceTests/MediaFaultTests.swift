import Foundation
import PMTrace
import PMemBackend
import TraceVolume
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

    /// A writer whose records land on a page the file can no longer back:
    /// the store instruction faults, the guard maps a zero page and counts
    /// it, and the commit after it must publish nothing. Before the lost-
    /// store check the commit word covered the lost record, and the reopened
    /// region held a committed record of zeros (fsck: damaged).
    @Test func aLostStoreIsNeverCommitted() throws {
        try Self.cutAfterTheFirstRecord(cutBeforeSecond: true) { p, w, second in
            try w.append(bytes: second)  // runs past the new end of file: bus errors, zero pages
            w.commit()
            #expect(w.storesLost, "the commit must see the lost stores")
            #expect(p.mapping.mediaFault != nil)
        }
    }

    /// The adversary's case: records stored, then the file cut below them
    /// by another process while the writer waits, and no store of the
    /// writer's touches those pages again (nothing faults; msync succeeds).
    /// At page granularity the commit's persist finds the file short, so
    /// the commit publishes nothing; the next segment is refused.
    @Test func aTruncationNoStoreTouchesStillStopsTheCommit() throws {
        try Self.cutAfterTheFirstRecord(cutBeforeSecond: false) { p, w, second in
            try #require(p.mapping.granularity == .page, "the size check runs in a page-granularity persist (a non-DAX file)")
            w.commit()
            #expect(w.storesLost, "the commit must see the file cut short")
            let refusal = Self.appendUntilRefused(w, second, times: 40)
            #expect(refusal?.contains("volume 'v' lane 0: a store to the region was lost") == true, "no new segment after the loss: \(refusal ?? "none")")
        }
    }

    /// Formats a pool, commits one 3000-byte record to volume 'v' and cuts
    /// the file at the first page boundary after it — before a 64 KiB second
    /// record is appended (`cutBeforeSecond`) or after (then it is stored,
    /// uncommitted). `body` then acts with the writer. Afterwards the file
    /// gets its size back (the cut pages read as zeros) and the pool must
    /// hold exactly the first record, with nothing for fsck to report.
    private static func cutAfterTheFirstRecord(cutBeforeSecond: Bool,
                                              _ body: (TracePool, LaneWriter, [UInt8]) throws -> Void) throws {
        let pool = scratchPath("cut")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "32M"]).status == 0)
        var size = stat()
        #expect(stat(pool, &size) == 0)
        let first = [UInt8](repeating: 0xB3, count: 3000), second = [UInt8](repeating: 0x6D, count: 64 << 10)
        do {
            let p = try TracePool.open(path: pool, writable: true)
            try p.store.createVolume(named: "v", lanes: 1)
            let w = try p.store.openWriter(volume: "v")
            try w.append(bytes: first)
            w.commit()
            #expect(!w.storesLost)
            if !cutBeforeSecond { try w.append(bytes: second) }  // stored, not committed
            // Where the committed record's bytes are in the file; cut the file just past them.
            let bytes = [UInt8](try #require(FileManager.default.contents(atPath: pool)))
            let at = try #require(offset(of: first, in: bytes))
            #expect(truncate(pool, off_t((at + first.count + 4095) / 4096 * 4096)) == 0)
            try body(p, w, second)
            w.close()
        }
        _ = PMemMapping.takeReleasedFaults()
        #expect(truncate(pool, size.st_size) == 0)
        let p = try TracePool.open(path: pool, writable: false)
        let reader = try p.store.openReader(volume: "v")
        var payloads: [[UInt8]] = []
        while let r = try reader.next() { payloads.append(r.bytes) }
        #expect(payloads == [first], "exactly the record committed before the loss")
        let report = try p.store.check()
        #expect(report.findings.filter { $0.severity != .info }.isEmpty, "\(report.findings.map(\.message))")
    }

    /// Appends `bytes` (fragmented records) `times` times; the first error's text, if any.
    private static func appendUntilRefused(_ w: LaneWriter, _ bytes: [UInt8], times: Int) -> String? {
        do {
            for _ in 0..<times { try w.append(bytes: bytes) }
        } catch {
            return String(describing: error)
        }
        return nil
    }

    /// Where `needle` first occurs in `haystack`.
    private static func offset(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && haystack[i + needle.count - 1] == needle[needle.count - 1] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
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
        // Every all-zero block becomes a hole (content unchanged; util-linux is essential on
        // Debian), so a metadata change below must allocate a page.
        let dig = Process()
        dig.executableURL = URL(fileURLWithPath: "/usr/bin/fallocate")
        dig.arguments = ["--dig-holes", pool]
        try dig.run()
        dig.waitUntilExit()
        #expect(dig.terminationStatus == 0)
        // Fill what is left, then fsck (read-only) walks segment headers in holes.
        let filler = "\(dir)/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 1, count: 1 << 16)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        let f = try pmtrace(["fsck", pool])
        #expect(f.status == 2 && f.stderr.contains("bus error"), "\(f.status): \(f.stderr)")
        // Pages it could not read are not called clean.
        #expect(f.out.contains("NOT clean") && f.out.contains("was not checked"), "\(f.out)")
        // A volume whose entry lands in a hole that cannot be backed is not reported as created.
        let c = try pmtrace(["create", pool, "w", "--lanes", "3"])
        #expect(c.status == 2 && !c.out.contains("created") && c.stderr.contains("the change to the volume was not made"),
                "\(c.status): \(c.out) \(c.stderr)")
    }
}
