import Foundation
import PMTrace
import Testing
import TraceFormat

/// Names read from a region are untrusted: printed escaped, JSON stays
/// valid, and names given on the command line follow the rule before the
/// region is touched.
@Suite(.serialized) struct HostileNameTests {
    /// Rewrites the name of the volume in slot 0, both copies, as another
    /// writer (or a damaged or hostile image) could have left it.
    private func plantName(_ pool: String, _ name: [UInt8]) throws {
        let offset = try { () throws -> UInt64 in
            let p = try TracePool.open(path: pool, writable: false)
            return p.store.superblock.volumeSlotOffset(0)
        }()
        let fd = open(pool, O_RDWR)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: Layout.volumeEntrySize)
        for copy in 0..<2 {
            let at = off_t(offset) + off_t(copy * Layout.volumeEntrySize)
            #expect(pread(fd, &buf, buf.count, at) == buf.count)
            guard case .entry(var e) = buf.withUnsafeBytes({ VolumeEntry.decode($0, slot: 0, copy: copy, maxLanes: 1024) }) else { continue }
            e.name = name
            buf.withUnsafeMutableBytes { e.encode(into: $0.baseAddress!) }
            #expect(pwrite(fd, buf, buf.count, at) == buf.count)
        }
    }

    @Test func controlCharactersInAStoredNameArePrintedEscaped() throws {
        let pool = scratchPath("names")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["create", pool, "placeholder"]).status == 0)
        let hostile = "x\u{1B}]0;pwned\u{07}\u{1B}[2J\nforged row\u{85}\u{202E}"
        try plantName(pool, Array(hostile.utf8))
        let list = try pmtrace(["list", pool])
        #expect(list.status == 0)
        #expect(!list.stdout.contains(0x1B) && !list.stdout.contains(0x07) && !list.stdout.contains(0x85))
        #expect(list.out.split(separator: "\n").count == 2, "a newline in a name forged a row: \(list.out)")
        #expect(list.out.contains(#"x\x1B]0;pwned\x07\x1B[2J\x0Aforged row\u{85}\u{202E}"#), "\(list.out)")
        // JSON output is valid JSON and carries the name exactly.
        let rows = try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json"]).stdout) as? [[String: Any]]
        #expect(rows?.first?["volume"] as? String == hostile)
        // The printed form is accepted back to address the volume.
        let escaped = #"x\x1B]0;pwned\x07\x1B[2J\x0Aforged row\u{85}\u{202E}"#
        let stats = try pmtrace(["stats", pool, escaped])
        #expect(stats.status == 0 && !stats.stdout.contains(0x1B), "\(stats.stderr)")
        // Errors naming it are escaped too.
        let seal = try pmtrace(["seal", pool, escaped])
        #expect(seal.status == 0 && !seal.stdout.contains(0x1B), "\(seal.stderr)")
        let write = try pmtrace(["write", pool, "y"], stdinFile: "/dev/null")
        #expect(write.status == 0)
    }

    @Test func storedNameThatIsNotUTF8IsShownAsHexBytes() throws {
        let pool = scratchPath("names")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["create", pool, "placeholder"]).status == 0)
        try plantName(pool, Array("bad".utf8) + [0xFF, 0xC0] + Array("name".utf8))
        let list = try pmtrace(["list", pool])
        // The stored bytes are shown as they are, escaped, and the escaped form addresses the volume.
        #expect(list.out.contains(#"bad\xff\xc0name"#) || list.out.contains(#"bad\xFF\xC0name"#), "\(list.out)")
        #expect(try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json"]).stdout) is [[String: Any]])
        let escaped = list.out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.first { $0.hasPrefix("bad") }!
        #expect(try pmtrace(["read", pool, escaped]).status == 0)
        #expect(try pmtrace(["dump", pool, escaped]).status == 0)
        #expect(try pmtrace(["seal", pool, escaped]).status == 0)
        let renamed = try pmtrace(["rename", pool, escaped, "fixed"])
        #expect(renamed.status == 0, "\(renamed.stderr)")
        #expect(try pmtrace(["delete", pool, "fixed"]).status == 0)
        // New names must be UTF-8: the escaped bytes are refused for create.
        #expect(try pmtrace(["create", pool, escaped]).status != 0)
    }

    /// The rule is enforced by the argument type, for every command, before
    /// the pool is opened: a missing pool is never the error reported.
    @Test func everyCommandValidatesNamesBeforeTouchingThePool() throws {
        let missing = "/nonexistent/pool"
        let bad: [(String, String)] = [
            ("", "empty"), ("a\u{1B}b", "U+001B"), ("a\nb", "U+000A"), ("a\u{7F}", "U+007F"), ("a\u{85}", "U+0085"),
            (String(repeating: "n", count: 201), "at most 200"), (#"a\xZZ"#, "malformed escape"),
        ]
        for command in ["create", "seal", "delete", "read", "dump", "stats", "write", "import-lackey"] {
            for (name, needle) in bad {
                let r = try pmtrace([command, missing, name])
                #expect(r.status == 2 && r.stderr.contains(needle) && !r.stderr.contains("no such file"),
                        "\(command) \(name.debugDescription): \(r.status) \(r.stderr)")
                #expect(!r.stderr.contains("\u{1B}") && r.stderr.split(separator: "\n").count == 1)
            }
        }
        for args in [["create", missing, ".sym/x"], ["rename", missing, "a", ".x"]] {
            let r = try pmtrace(args)
            #expect(r.status == 2 && r.stderr.contains("reserved"), "\(args): \(r.stderr)")
        }
        let app = try pmtrace(["symbols", "import", missing, "/bin/true", "--app", "a\u{1B}]0;x\u{07}"])
        #expect(app.status == 2 && app.stderr.contains("U+001B") && !app.stderr.contains("no such file"), "\(app.stderr)")
    }
}
