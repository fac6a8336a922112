import Foundation
import Testing

/// `pmtrace format --force` in place (`<file>@<offset>`, or a device) over
/// an existing region leaves that region's segment headers and summary
/// entries. Since format 1.3 every format picks its own uid base (FORMAT.md
/// §4), so none of them names a volume of the new region: fsck is clean and
/// nothing is kept out of reuse. (Was the known issue
/// `knownIssueReformatLeavesOldSegments`.) A region opened 4096 bytes off
/// where it starts is refused by name (§3).
@Suite(.serialized) struct ReformatTests {
    static func fill(_ region: String, _ name: String, bytes: Int) throws -> String {
        let input = scratchPath("reformat-input")
        try randomFile(input, bytes: bytes)
        let w = try pmtrace(["write", region, name], stdinFile: input)
        #expect(w.status == 0, "\(w.stderr)")
        return input
    }

    static func expectClean(_ region: String, _ what: String) throws {
        let fsck = try pmtrace(["fsck", region])
        #expect(fsck.status == 0, "\(what): \(fsck.out) \(fsck.stderr)")
        #expect(!fsck.out.contains("kept out of reuse") && !fsck.stderr.contains("kept out of reuse"), "\(what): \(fsck.out)")
    }

    static func expectReadsBack(_ region: String, _ name: String, _ input: String) throws {
        let r = try pmtrace(["read", region, name])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try Data(contentsOf: URL(fileURLWithPath: input))))
        #expect(!r.stderr.contains("kept out of reuse"), "\(r.stderr)")
    }

    @Test func reformatInPlaceLeavesNoOldSegments() throws {
        let file = scratchPath("reformat")
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let region = "\(file)@2M"
        var inputs: [String] = []
        defer { inputs.forEach { unlink($0) } }
        for _ in 0..<2 {
            #expect(try pmtrace(["format", region, "--size", "64M", "--force"]).status == 0)
            inputs.append(try Self.fill(region, "v", bytes: 3 << 20))
        }
        try Self.expectClean(region, "second format")
        try Self.expectReadsBack(region, "v", inputs[1])
    }

    /// Over a full region: every segment has a header of the old region.
    @Test func reformatOverAFullRegionThenWriteAndRead() throws {
        let file = scratchPath("reformat-full")
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let region = "\(file)@1M"
        #expect(try pmtrace(["format", region, "--size", "16M", "--segment-size", "64K", "--force"]).status == 0)
        let big = scratchPath("reformat-big")
        defer { unlink(big) }
        try randomFile(big, bytes: 24 << 20)
        let full = try pmtrace(["write", region, "old"], stdinFile: big)
        #expect(full.status != 0 && full.stderr.contains("region full"), "\(full.stderr)")
        #expect(try pmtrace(["format", region, "--size", "16M", "--segment-size", "64K", "--force"]).status == 0)
        try Self.expectClean(region, "format over a full region")
        let input = try Self.fill(region, "new", bytes: 10 << 20)
        defer { unlink(input) }
        try Self.expectClean(region, "after writing")
        try Self.expectReadsBack(region, "new", input)
    }

    /// Another segment size, then another offset overlapping the old region:
    /// old headers may land where the new region's segments start.
    @Test func reformatWithAnotherSegmentSizeAndAnOverlappingOffset() throws {
        let file = scratchPath("reformat-shift")
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        var inputs: [String] = []
        defer { inputs.forEach { unlink($0) } }
        let steps: [(String, String)] = [("\(file)@2M", "64K"), ("\(file)@2M", "128K"), ("\(file)@2M", "64K"),
                                         ("\(file)@3M", "64K"), ("\(file)@2112K", "64K"), ("\(file)@2M", "1M")]
        for (region, segment) in steps {
            #expect(try pmtrace(["format", region, "--size", "32M", "--segment-size", segment, "--force"]).status == 0)
            try Self.expectClean(region, "\(region) \(segment) formatted")
            inputs.append(try Self.fill(region, "v", bytes: 20 << 20))
            try Self.expectClean(region, "\(region) \(segment) written")
            try Self.expectReadsBack(region, "v", inputs.last!)
        }
    }

    /// The superblock copies name themselves: opened 4096 bytes before or
    /// after where it starts, the region is refused with the offset to use.
    @Test func regionOpenedAtTheWrongOffsetIsRefused() throws {
        let file = scratchPath("misplaced")
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        #expect(try pmtrace(["format", "\(file)@64K", "--size", "16M", "--force"]).status == 0)
        let input = try Self.fill("\(file)@64K", "v", bytes: 1 << 20)
        defer { unlink(input) }
        for (offset, says) in [(60, "starts 4096 bytes after"), (68, "starts 4096 bytes before")] {
            for command in [["list"], ["fsck"], ["fsck", "--repair"]] {
                let r = try pmtrace(command + ["\(file)@\(offset)K"])
                #expect(r.status == 1, "\(command) at \(offset)K: \(r.out) \(r.stderr)")
                #expect(r.stderr.contains(says), "\(command) at \(offset)K: \(r.stderr)")
            }
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(try pmtrace(["list", "\(file)@60K"]).status == 1)  // nothing was written by the refused opens
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes)
        try Self.expectClean("\(file)@64K", "after the refused opens")
        try Self.expectReadsBack("\(file)@64K", "v", input)
    }
}
