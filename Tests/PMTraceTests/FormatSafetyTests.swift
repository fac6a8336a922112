import Foundation
import PMTrace
import Testing

/// `format` checks everything before touching anything, and a failed
/// format leaves no file behind and an existing pool as it was.
@Suite(.serialized) struct FormatSafetyTests {
    private func leftovers(beside path: String) -> [String] {
        let dir = (path as NSString).deletingLastPathComponent, base = (path as NSString).lastPathComponent
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".\(base).pmtrace-format") }
    }

    @Test(arguments: [["--size", "64"], ["--size", "64M", "--segment-size", "100K"], ["--size", "64M", "--max-lanes", "0"],
                      ["--size", "6T"], ["--size", "9E"], ["--size", "16E"], ["--size", "1E"]])
    func failedForceFormatKeepsTheExistingRegion(bad: [String]) throws {
        let pool = scratchPath("keep")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["create", pool, "precious"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: pool))
        let r = try pmtrace(["format", pool, "--force"] + bad)
        #expect(r.status != 0 && r.stderr.split(separator: "\n").count == 1, "\(bad): \(r.stderr)")
        #expect(!r.stderr.contains("ExitCode") && !r.stderr.contains("Fatal"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: pool)) == before, "\(bad) changed the pool")
        #expect(leftovers(beside: pool).isEmpty)
    }

    @Test(arguments: [["--size", "64"], ["--size", "6T"], ["--size", "9E"], ["--size", "18446744073709551615"], ["--size", "8E"]])
    func failedFormatLeavesNoFile(bad: [String]) throws {
        let pool = scratchPath("none")
        defer { unlink(pool) }
        let r = try pmtrace(["format", pool] + bad)
        #expect(r.status == 2 || r.status == 1, "\(bad): \(r.status) \(r.stderr)")
        #expect(access(pool, F_OK) != 0, "\(bad) left \(pool) behind")
        #expect(leftovers(beside: pool).isEmpty)
    }

    @Test func sizesAboveTheLargestFileAreRefusedWithAReason() throws {
        for size in ["9E", "16E", "99999999999999999999", "8E"] {
            let r = try pmtrace(["format", scratchPath("big"), "--size", size])
            #expect(r.status == 2 && r.stderr.contains("larger than any file"), "\(size): \(r.status) \(r.stderr)")
        }
        // 7E parses, then the free-space check refuses it before any allocation.
        let r = try pmtrace(["format", scratchPath("big"), "--size", "7E"])
        #expect(r.status == 2 && r.stderr.contains("not enough free space"), "\(r.stderr)")
    }

    /// A file system that cannot hold the region: refused up front (statvfs),
    /// nothing left behind; a region that fits is allocated in full.
    @Test func fullFileSystemFailsCleanly() throws {
        guard let dir = mountSmallTmpfs(megabytes: 8) else {
            Issue.record("cannot mount a tmpfs here (needs root)"); return
        }
        defer { unmountTmpfs(dir) }
        let r = try pmtrace(["format", "\(dir)/p", "--size", "16M"])
        #expect(r.status == 2 && r.stderr.contains("not enough free space"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        let ok = try pmtrace(["format", "\(dir)/p", "--size", "6M", "--volume-slots", "8", "--max-lanes", "4"])
        #expect(ok.status == 0, "\(ok.stderr)")
        var st = stat()
        #expect(stat("\(dir)/p", &st) == 0 && Int(st.st_blocks) * 512 >= 6 << 20, "space not reserved")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["p"])
    }

    /// RLIMIT_FSIZE: the allocation fails with EFBIG (no SIGXFSZ death), no file left.
    @Test func fileSizeLimitFailsCleanly() throws {
        let pool = scratchPath("fsize")
        defer { unlink(pool) }
        let r = try pmtrace(["format", pool, "--size", "64M"], environment: [:], fileSizeLimit: 16 << 20)
        #expect(r.status == 2 && r.stderr.contains("File too large"), "\(r.status) \(r.stderr)")
        #expect(access(pool, F_OK) != 0)
        #expect(leftovers(beside: pool).isEmpty)
    }
}
