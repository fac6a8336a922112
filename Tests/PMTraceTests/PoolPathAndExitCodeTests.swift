import Foundation
import Testing

/// What may be a pool, what the messages say, which status comes back.
@Suite(.serialized) struct PoolPathAndExitCodeTests {
    /// Runs pmtrace with a bound: a hang is a failure, not a stuck test run.
    private func bounded(_ args: [String], seconds: Int = 20) throws -> (status: Int32?, stderr: String) {
        let errPath = scratchPath("err")
        defer { unlink(errPath) }
        let child = try SpawnedChild.start(args, stderrPath: errPath)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(Double(seconds))
        while waitpid(child.pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(child.pid, SIGKILL)
                _ = child.wait()
                return (nil, "still running after \(seconds) s")
            }
            usleep(20_000)
        }
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), err)
    }

    @Test func aFIFOIsRefusedNotWaitedOn() throws {
        let fifo = scratchPath("fifo")
        defer { unlink(fifo) }
        #expect(mkfifo(fifo, 0o644) == 0)
        for args in [["list", fifo], ["info", fifo], ["fsck", fifo], ["read", fifo, "v"], ["create", fifo, "v"], ["format", fifo, "--size", "16M"]] {
            let r = try bounded(args)
            #expect(r.status == 2 && r.stderr.contains("\(fifo): is a FIFO"), "\(args): \(r.status.map(String.init) ?? "hung") \(r.stderr)")
        }
    }

    @Test func directoriesAndOtherDevicesAreNamedForWhatTheyAre() throws {
        let dir = scratchPath("dir")
        #expect(mkdir(dir, 0o755) == 0)
        defer { rmdir(dir) }
        for (path, kind) in [(dir, "is a directory"), ("/dev/null", "is a character device")] {
            for args in [["format", path, "--size", "16M"], ["format", path, "--size", "16M", "--force"], ["info", path]] {
                let r = try bounded(args)
                #expect(r.status == 2 && r.stderr.contains(kind) && !r.stderr.contains("holds a PMTrace region"), "\(args): \(r.stderr)")
            }
        }
    }

    @Test func messagesNameTheProblemAndThePath() throws {
        let pool = scratchPath("trunc")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "32M"]).status == 0)
        #expect(truncate(pool, 16 << 20) == 0)
        for args in [["info", pool], ["fsck", pool], ["list", pool]] {
            let r = try pmtrace(args)
            #expect(r.status == 1 && r.stderr.contains("\(pool): truncated: the file is 16777216 bytes but its superblock records a region of 33554432 bytes"),
                    "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("both superblock copies"))
        }
        let passwd = try pmtrace(["info", "/etc/passwd"])
        #expect(passwd.status == 1 && passwd.stderr.hasPrefix("pmtrace: /etc/passwd: not a PMTrace region"), "\(passwd.stderr)")
    }

    /// fsck: 0 clean, 1 damage found, 2 cannot open; never `ExitCode(rawValue:)` on stderr.
    @Test func fsckExitStatusesAreDistinctAndDocumented() throws {
        let pool = scratchPath("fsck"), junk = scratchPath("junk")
        defer { unlink(pool); unlink(junk) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["fsck", pool]).status == 0)
        #expect(try pmtrace(["fsck", "/nonexistent/pool"]).status == 2)
        try Data(repeating: 0x41, count: 100_000).write(to: URL(fileURLWithPath: junk))
        #expect(try pmtrace(["fsck", junk]).status == 1)
        // Damage the superblock copy A: found, reported, status 1, no ExitCode noise.
        let fd = open(pool, O_RDWR)
        #expect(pwrite(fd, [UInt8](repeating: 0xEE, count: 64), 64, 16) == 64)
        close(fd)
        let damaged = try pmtrace(["fsck", pool])
        #expect(damaged.status == 1 && damaged.out.contains("NOT clean"), "\(damaged.out)")
        #expect(!damaged.stderr.contains("ExitCode"), "\(damaged.stderr)")
        // Standard error alone also says why the status is 1.
        #expect(damaged.stderr.contains("NOT clean") && damaged.stderr.contains("warning(s) remain"), "\(damaged.stderr)")
        let repaired = try pmtrace(["fsck", pool, "--repair"])
        #expect(repaired.status == 0 && !repaired.stderr.contains("ExitCode"), "\(repaired.out) \(repaired.stderr)")
        #expect(try pmtrace(["fsck", pool]).status == 0)
        let help = try pmtrace(["--help"]).out, fsckHelp = try pmtrace(["fsck", "--help"]).out
        #expect(help.contains("EXIT STATUS") && help.contains("2  usage error"))
        #expect(fsckHelp.contains("Exit status") && fsckHelp.contains("1 damage found"))
    }

    @Test func aFailedLackeyImportLeavesNoVolume() throws {
        let pool = scratchPath("lackey"), empty = scratchPath("empty"), junk = scratchPath("junk")
        defer { unlink(pool); unlink(empty); unlink(junk) }
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        try Data("hello\nworld\n".utf8).write(to: URL(fileURLWithPath: junk))
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        for file in [empty, junk] {
            let r = try pmtrace(["import-lackey", pool, "t", file])
            #expect(r.status == 1 && r.stderr.contains("no lackey memory-access lines"), "\(r.stderr)")
        }
        let list = try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json", "--all"]).stdout) as? [Any]
        #expect(list?.isEmpty == true, "\(String(describing: list))")
    }

    /// dump reads only a bounded prefix of each record: peak memory stays
    /// near the mapped pages it checksums, not twice the record.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time")))
    func dumpOfAHugeRecordUsesBoundedMemory() throws {
        let pool = scratchPath("dump"), input = scratchPath("in")
        defer { unlink(pool); unlink(input) }
        let record = 256 << 20
        try randomFile(input, bytes: record)
        #expect(try pmtrace(["format", pool, "--size", "400M"]).status == 0)
        #expect(try pmtrace(["write", pool, "big", "--record-size", "256M"], stdinFile: input).status == 0)
        // Measured by /usr/bin/time: a child spawned from this (large, busy)
        // test process would count this process's RSS in its own peak.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "%M", pmtraceBinary, "dump", pool, "big", "--limit", "1"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let report = String(decoding: err.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(report)")
        let peak = (report.split(separator: "\n").last.flatMap { Int($0) } ?? Int.max / 2048) * 1024
        let o = (exitStatus: p.terminationStatus, peakRSSBytes: peak)
        // The record's pages are mapped and checksummed (they count as RSS);
        // a copy of the payload would add another 256 MiB on top.
        #expect(o.peakRSSBytes < record + (96 << 20), "peak RSS \(o.peakRSSBytes >> 20) MiB for a \(record >> 20) MiB record")
    }
}
