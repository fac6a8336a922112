import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat

@Suite(.serialized) struct CLITests {
    @Test func writeThenReadInNewProcessesIsByteExact() throws {
        let pool = scratchPath("pool"), input = scratchPath("in")
        defer { unlink(pool); unlink(input) }
        try randomFile(input, bytes: 9 * 1_048_576 + 12345)
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        let w = try pmtrace(["write", pool, "blob", "--record-size", "100K"], stdinFile: input)
        #expect(w.status == 0, "\(w.stderr)")
        let r = try pmtrace(["read", pool, "blob"])
        #expect(r.status == 0)
        #expect(r.stdout == (try Data(contentsOf: URL(fileURLWithPath: input))))

        let list = try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json"]).stdout) as? [[String: Any]]
        #expect(list?.first?["volume"] as? String == "blob")
        let info = try JSONSerialization.jsonObject(with: try pmtrace(["info", pool, "--json"]).stdout) as? [String: Any]
        #expect(info?["volumes"] as? Int == 1)
        #expect(info?["formatVersion"] as? String == "\(Layout.versionMajor).\(Layout.versionMinor)")
        let stats = try JSONSerialization.jsonObject(with: try pmtrace(["stats", pool, "blob", "--json"]).stdout) as? [String: Any]
        #expect(stats?["records"] as? Int == (9 * 1_048_576 + 12345 + 102_399) / 102_400)
        #expect(stats?["payloadBytes"] as? Int == 9 * 1_048_576 + 12345)
        let dump = try pmtrace(["dump", pool, "blob", "--limit", "3"])
        #expect(dump.out.split(separator: "\n").count == 3)
        #expect(dump.out.contains("seq=2") && dump.out.contains("kind=blob"))
    }

    @Test func volumeCommandsInNewProcesses() throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "32M", "--segment-size", "256K"]).status == 0)
        #expect(try pmtrace(["create", pool, "a", "--lanes", "4"]).status == 0)
        #expect(try pmtrace(["create", pool, "r", "--ring"]).status == 0)
        #expect(try pmtrace(["rename", pool, "a", "b"]).status == 0)
        #expect(try pmtrace(["seal", pool, "b"]).status == 0)
        let list = try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json"]).stdout) as? [[String: Any]]
        #expect(list?.map { $0["volume"] as? String } == ["b", "r"])
        #expect(list?.first?["sealed"] as? Bool == true && list?.first?["lanes"] as? Int == 4)
        #expect(list?.last?["ring"] as? Bool == true)
        #expect(try pmtrace(["delete", pool, "b"]).status == 0)
        #expect(try pmtrace(["list", pool]).out.contains("b ") == false)
    }

    /// Each bad input: non-zero exit, one line on stderr naming the problem, nothing changed.
    @Test func badInputsGiveOneLineErrors() throws {
        let pool = scratchPath("pool"), junk = scratchPath("junk"), input = scratchPath("in")
        defer { unlink(pool); unlink(junk); unlink(input) }
        try Data(repeating: 0x41, count: 100_000).write(to: URL(fileURLWithPath: junk))
        try randomFile(input, bytes: 10 * 1_048_576)
        #expect(try pmtrace(["format", pool, "--size", "8M", "--segment-size", "64K", "--volume-slots", "8", "--max-lanes", "4"]).status == 0)
        #expect(try pmtrace(["create", pool, "sealed"]).status == 0)
        #expect(try pmtrace(["seal", pool, "sealed"]).status == 0)
        let cases: [([String], String)] = [
            (["info", junk], "not a PMTrace region"),
            (["list", "/nonexistent/x.pool"], "no such file"),
            // Valid parameters (they are checked first), so the refusal is about the existing file.
            (["format", pool, "--size", "8M", "--volume-slots", "8"], "already a PMTrace region"),
            (["format", junk, "--size", "8M", "--volume-slots", "8"], "not a PMTrace region; pass --force"),
            (["format", scratchPath("small"), "--size", "100K"], "too small"),
            (["format", scratchPath("seg"), "--size", "8M", "--segment-size", "100K"], "segment size"),
            (["format", scratchPath("size"), "--size", "12Q"], "size"),
            (["create", pool, ""], "empty"),
            (["create", pool, String(repeating: "n", count: 201)], "at most 200"),
            (["create", pool, "sealed"], "already exists"),
            (["create", pool, "l", "--lanes", "5"], "lane count"),
            // A negative number is taken as the option's value (and refused as such), not as a missing value.
            (["create", pool, "l", "--lanes", "-1"], "invalid lane count -1"),
            (["dump", pool, "sealed", "--limit", "-1"], "--limit must be 0 or more"),
            (["format", pool + ".new", "--size", "-5"], "The value '-5' is invalid for '--size <size>'"),
            (["read", pool, "missing"], "no volume named 'missing'"),
            (["rename", pool, "missing", "x"], "no volume named 'missing'"),
            (["seal", pool, "missing"], "no volume named 'missing'"),
            (["delete", pool, "missing"], "no volume named 'missing'"),
            (["dump", pool, "missing"], "no volume named 'missing'"),
            (["stats", pool, "missing"], "no volume named 'missing'"),
        ]
        for (args, needle) in cases {
            let r = try pmtrace(args)
            #expect(r.status != 0, "\(args) should fail")
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1 && r.stderr.lowercased().contains(needle.lowercased()), "\(args): \(r.stderr)")
        }
        let sealed = try pmtrace(["write", pool, "sealed"], stdinFile: input)
        #expect(sealed.status != 0 && sealed.stderr.contains("sealed"))
        // Region full: the write fails clearly and what was committed stays readable.
        let full = try pmtrace(["write", pool, "big"], stdinFile: input)
        #expect(full.status != 0 && full.stderr.contains("region full"), "\(full.stderr)")
        let back = try pmtrace(["read", pool, "big"])
        let original = try Data(contentsOf: URL(fileURLWithPath: input))
        #expect(back.status == 0 && back.stdout.count > 0 && back.stdout == original.prefix(back.stdout.count))
        // The junk file was not touched by the refused format.
        #expect(try Data(contentsOf: URL(fileURLWithPath: junk)) == Data(repeating: 0x41, count: 100_000))
    }

    @Test func nonUTF8NameIsRefused() throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "exec \"$0\" create \"$1\" \"$(printf 'bad\\377name')\"", pmtraceBinary, pool]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
        #expect(p.terminationStatus != 0 && text.contains("not valid UTF-8"), "\(text)")
    }

    @Test func secondWriterProcessIsRefused() throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        let holder = try TracePool.format(path: pool, size: 16 << 20)
        let r = try pmtrace(["create", pool, "x"])
        #expect(r.status != 0 && r.stderr.contains("in use"), "\(r.stderr)")
        // Readers are fine while the writer holds the region.
        #expect(try pmtrace(["list", pool]).status == 0)
        _ = holder
    }

    /// kill -9 of `pmtrace write` mid-stream: the volume reads back as a
    /// prefix of the input, holding at least everything before the last
    /// automatic commit the writer must have made.
    @Test(arguments: [(12, 8 << 20), (40, 1 << 20), (70, 64 << 10)])
    func killDuringWriteLeavesAPrefix(megabytesBeforeKill: Int, commitEvery: Int) throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "256M"]).status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: pmtraceBinary)
        p.arguments = ["write", pool, "v", "--record-size", "7K", "--commit-every", String(commitEvery)]
        let input = Pipe()
        p.standardInput = input
        p.standardError = FileHandle.nullDevice
        try p.run()
        var rng = SystemRandomNumberGenerator()
        var fed = Data()
        let chunk = 1 << 20
        for _ in 0..<megabytesBeforeKill {
            var d = Data(count: chunk)
            d.withUnsafeMutableBytes { b in for i in b.bindMemory(to: UInt64.self).indices { b.bindMemory(to: UInt64.self)[i] = rng.next() } }
            input.fileHandleForWriting.write(d)  // blocks while the writer is behind
            fed.append(d)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        let r = try pmtrace(["read", pool, "v"])
        #expect(r.status == 0)
        #expect(r.stdout == fed.prefix(r.stdout.count))
        // Not yet read by the writer: at most a pipe buffer (64 KiB) + one record;
        // not yet committed: at most the commit interval.
        #expect(r.stdout.count >= fed.count - commitEvery - (64 << 10) - 2 * 7168)
    }

    @Test func importLackeyCountsMatchTheInput() throws {
        let pool = scratchPath("pool"), trace = scratchPath("lackey")
        defer { unlink(pool); unlink(trace) }
        var text = "==123== Lackey, an example Valgrind tool\n"
        var expected = ["load": 0, "store": 0, "modify": 0, "instruction-fetch": 0]
        var pages = Set<UInt64>()
        for i in 0..<20_000 {
            let address = UInt64(0x4000_0000) + UInt64((i * 7919) % 1_000_000)
            pages.insert(address >> 12)
            switch i % 4 {
            case 0: text += "I  \(String(address, radix: 16)),3\n"; expected["instruction-fetch"]! += 1
            case 1: text += " L \(String(address, radix: 16)),8\n"; expected["load"]! += 1
            case 2: text += " S \(String(address, radix: 16)),4\n"; expected["store"]! += 1
            default: text += " M \(String(address, radix: 16)),2\n"; expected["modify"]! += 1
            }
        }
        text += "==123== \n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: trace))
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        let imp = try pmtrace(["import-lackey", pool, "t", trace])
        #expect(imp.status == 0 && imp.out.contains("imported 20000"), "\(imp.stderr)")
        let stats = try JSONSerialization.jsonObject(with: try pmtrace(["stats", pool, "t", "--json"]).stdout) as? [String: Any]
        #expect(stats?["accessCount"] as? Int == 20_000)
        #expect((stats?["accesses"] as? [String: Int]) == expected)
        #expect(stats?["distinctPages"] as? Int == pages.count)
        // `read` (blobs only) on a memory trace says what the volume holds instead of printing nothing.
        let read = try pmtrace(["read", pool, "t"])
        #expect(read.status == 1 && read.stdout.isEmpty, "\(read.stderr)")
        #expect(read.stderr.contains("holds no blob records") && read.stderr.contains("memory-access-streams")
                && read.stderr.contains("dump --accesses"), "\(read.stderr)")
        // Garbage input is an error that says what was expected.
        let bad = scratchPath("bad")
        defer { unlink(bad) }
        try Data("hello\nworld\n".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try pmtrace(["import-lackey", pool, "t2", bad])
        #expect(r.status != 0 && r.stderr.contains("no lackey memory-access lines"))
    }

    /// A real program traced by valgrind lackey, imported and summarized.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind")))
    func importRealLackeyTrace() throws {
        let pool = scratchPath("pool"), trace = scratchPath("lackey")
        defer { unlink(pool); unlink(trace) }
        let v = Process()
        v.executableURL = URL(fileURLWithPath: "/usr/bin/valgrind")
        v.arguments = ["--tool=lackey", "--trace-mem=yes", "--log-file=\(trace)", "/bin/true"]
        try v.run()
        v.waitUntilExit()
        #expect(v.terminationStatus == 0)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let accessLines = lines.filter { l in ["I ", " L", " S", " M"].contains(where: { l.hasPrefix($0) }) }
        #expect(accessLines.count > 10_000)
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        #expect(try pmtrace(["import-lackey", pool, "true", trace]).status == 0)
        let stats = try JSONSerialization.jsonObject(with: try pmtrace(["stats", pool, "true", "--json"]).stdout) as? [String: Any]
        #expect(stats?["accessCount"] as? Int == accessLines.count)
    }
}
