import Foundation
import Testing

/// `pmtrace locate` over iasl-compiled tables, and `<path>@<offset>`
/// regions through every kind of command.
@Suite struct NVMLocateCLITests {
    static let fixtures = VMMArchiveTests.root.appendingPathComponent("Tests/NVMDiscoveryTests/Fixtures")

    /// A directory holding SRAT and NFIT compiled by iasl from the fixtures.
    static func tablesDirectory() throws -> String {
        let dir = scratchPath("acpi")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, table) in [("srat-pmem", "SRAT"), ("nfit-pmem", "NFIT")] {
            let r = try VMMArchiveTests.run("/usr/bin/env", ["iasl", "-p", "\(dir)/\(table)", Self.fixtures.appendingPathComponent("\(name).asl").path])
            try #require(r.status == 0, "iasl (scripts/setup.sh installs acpica-tools): \(r.err)")
            try FileManager.default.moveItem(atPath: "\(dir)/\(table).aml", toPath: "\(dir)/\(table)")
        }
        return dir
    }

    @Test func locateReportsTheNonVolatileRange() throws {
        let dir = try Self.tablesDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try pmtrace(["locate", "--acpi-tables", dir])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.out.contains("non-volatile: 0x100000000-0x10fffffff (256.0 MiB): NFIT persistent memory, SRAT non-volatile hot-pluggable, proximity domain 1"), "\(text.out)")
        let json = try pmtrace(["locate", "--acpi-tables", dir, "--json"])
        let o = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        JSONConventionTests.checkConvention(o, "locate")
        let ranges = try #require(o["nonVolatileRanges"] as? [[String: Any]])
        #expect(ranges.count == 1 && ranges[0]["base"] as? Int == 0x1_0000_0000 && ranges[0]["length"] as? Int == 256 << 20)
        #expect(o["namespace"] is NSNull)
        #expect(((o["nfit"] as? [String: Any])?["entries"] as? [Any])?.count == 2)

        // A damaged table: status 1, the file and the structure named.
        var srat = Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/SRAT")))
        srat[50] &+= 1
        try Data(srat).write(to: URL(fileURLWithPath: "\(dir)/SRAT"))
        let bad = try pmtrace(["locate", "--acpi-tables", dir])
        #expect(bad.status == 1 && bad.stderr == "pmtrace: \(dir)/SRAT: SRAT table header: checksum mismatch (bytes sum to 1, not 0)\n", "\(bad.stderr)")
    }

    @Test func everyCommandOpensARegionAtAnOffset() throws {
        let file = scratchPath("offset")
        defer { unlink(file) }
        try randomFile(file, bytes: 24 << 20)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        let region = "\(file)@2M"
        #expect(try pmtrace(["format", region, "--size", "16M", "--segment-size", "64K"]).status == 0)
        let input = scratchPath("offset-input")
        defer { unlink(input) }
        try randomFile(input, bytes: 300_000)
        #expect(try pmtrace(["write", region, "v", "--record-size", "4096"], stdinFile: input).status == 0)
        let read = try pmtrace(["read", "\(file)@0x200000", "v"])
        let written = try Data(contentsOf: URL(fileURLWithPath: input))
        #expect(read.status == 0 && read.stdout == written)
        for args in [["info", region], ["list", region], ["stats", region, "v"], ["fsck", region], ["dump", region, "v"]] {
            let r = try pmtrace(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        #expect(try pmtrace(["info", region, "--json"]).out.contains("\"pool\" : \"\(region.replacingOccurrences(of: "/", with: "\\/"))\""))
        let after = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(after.count == original.count)
        #expect(after.prefix(2 << 20) == original.prefix(2 << 20), "bytes before the offset changed")
        #expect(after.suffix(6 << 20) == original.suffix(6 << 20), "bytes after the region changed")

        let misaligned = try pmtrace(["info", "\(file)@1000"])
        #expect(misaligned.status == 2 && misaligned.stderr.contains("\(file)@1000: cannot map a region at offset 1000 (0x3e8): not a multiple of 4096 bytes"), "\(misaligned.stderr)")
        let notThere = try pmtrace(["info", "\(file)@4M"])
        #expect(notThere.status == 1 && notThere.stderr.hasPrefix("pmtrace: \(file)@4M: not a PMTrace region"), "\(notThere.stderr)")
        let badOffset = try pmtrace(["info", "\(file)@12Q"])
        #expect(badOffset.status == 2 && badOffset.stderr.contains("offset 12Q"), "\(badOffset.stderr)")
        let negative = try pmtrace(["info", "\(file)@-4096"])
        #expect(negative.status == 2 && negative.stderr.contains("offset -4096: an offset is 0 or more bytes"), "\(negative.stderr)")
    }
}
