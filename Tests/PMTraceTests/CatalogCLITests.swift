import Foundation
import Testing

@Suite(.serialized) struct CatalogCLITests {
    static let libc = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6"]
        .first { FileManager.default.fileExists(atPath: $0) } ?? "/usr/lib/x86_64-linux-gnu/libc.so.6"

    /// `malloc`'s address in the C library, from nm.
    static func mallocAddress() throws -> UInt64 {
        let nm = Process()
        nm.executableURL = URL(fileURLWithPath: "/usr/bin/nm")
        nm.arguments = ["-D", "--defined-only", libc]
        let pipe = Pipe()
        nm.standardOutput = pipe
        try nm.run()
        let text = String(decoding: pipe.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
        nm.waitUntilExit()
        let line = try #require(text.split(separator: "\n").first { $0.contains(" T malloc@@") })
        return try #require(UInt64(line.split(separator: " ")[0], radix: 16))
    }

    /// Import in one process, symbolize in another (the reboot case).
    @Test func importThenSymbolizeInNewProcesses() throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        let imp = try pmtrace(["symbols", "import", pool, Self.libc])
        #expect(imp.status == 0 && imp.out.contains("imported"), "\(imp.stderr)")
        let address = try Self.mallocAddress()
        let r = try pmtrace(["symbolize", pool, "--app", "libc.so.6", "0x" + String(address + 4, radix: 16), "0"])
        #expect(r.status == 0)
        #expect(r.out == "0x\(String(address + 4, radix: 16)) malloc+0x4\n0x0 ??\n", "\(r.out.debugDescription)")
        let list = try JSONSerialization.jsonObject(with: try pmtrace(["symbols", "list", pool, "--json"]).stdout) as? [[String: Any]]
        #expect(list?.first?["app"] as? String == "libc.so.6")
        #expect(try pmtrace(["symbols", "remove", pool, "libc.so.6"]).status == 0)
        let gone = try pmtrace(["symbolize", pool, "--app", "libc.so.6", "0x10"])
        #expect(gone.status != 0 && gone.stderr.contains("no symbol table"))
        let bad = try pmtrace(["symbols", "import", pool, "/etc/hostname"])
        #expect(bad.status != 0 && bad.stderr.contains("not an ELF file"))
    }

    /// kill -9 of an import at every step: the catalog always mounts and
    /// answers, with the old table or the new one, never half of one.
    @Test(arguments: ["import.created", "import.chunk.0", "import.sealed", "import.old-deleted", "import.renamed"])
    func crashDuringImport(step: String) throws {
        let pool = scratchPath("pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "64M", "--segment-size", "64K"]).status == 0)
        // An old table of the same app and build, so a replace happens.
        #expect(try pmtrace(["symbols", "import", pool, Self.libc, "--app", "c"]).status == 0)
        let killed = try pmtrace(["symbols", "import", pool, Self.libc, "--app", "c"], environment: ["PMTRACE_KILL_AT": step])
        #expect(killed.status != 0, "the import should have been killed at \(step)")
        // Read-only, in a new process: mounts, and the table answers fully or is absent.
        let list = try pmtrace(["symbols", "list", pool, "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let malloc = "0x" + String(try Self.mallocAddress(), radix: 16)
        let r = try pmtrace(["symbolize", pool, "--app", "c", malloc])
        if r.status == 0 { #expect(r.out == "\(malloc) malloc+0x0\n", "\(r.out)") }
        // A writable open finishes or discards the interrupted import.
        #expect(try pmtrace(["symbols", "import", pool, "/usr/bin/ls", "--app", "other"]).status == 0)
        let after = try pmtrace(["symbolize", pool, "--app", "c", malloc])
        #expect(after.status == 0 && after.out == "\(malloc) malloc+0x0\n", "after \(step): \(after.out) \(after.stderr)")
        let volumes = try JSONSerialization.jsonObject(with: try pmtrace(["list", pool, "--json", "--all"]).stdout) as? [[String: Any]]
        #expect(volumes?.contains { ($0["volume"] as? String)?.hasPrefix(".sym/c/") == true } == true)
        #expect(volumes?.contains { ($0["volume"] as? String)?.hasPrefix(".tmp/") == true } == false)
    }
}
