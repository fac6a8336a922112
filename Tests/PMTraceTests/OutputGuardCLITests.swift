import Foundation
import Testing

/// Adversary s23 (F-out-is-pool): an output option naming the pool replaced the
/// region with the output (`fsck --repair --backup <pool>` left a 22-byte file
/// and said "clean"; `export --out <pool>` made it a SQLite file). Every output
/// option now refuses the pool, under any name, before anything is written.
@Suite struct OutputGuardCLITests {
    @Test func everyOutputOptionRefusesThePoolItself() throws {
        let pool = scratchPath("guard") + ".svg"  // heatmap takes only .svg or .png outputs
        let link = pool + ".link.svg"
        defer { unlink(pool); unlink(link) }
        _ = try writtenPool(pool, volume: "v", bytes: 100_000)
        #expect(link.withCString { l in pool.withCString { symlink($0, l) } } == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: pool))
        for name in [pool, link, pool + "@0"] {
            let target = name.hasSuffix("@0") ? pool : name
            for args in [["fsck", name, "--repair", "--backup", target],
                         ["export", name, "v", "--format", "csv", "--out", target],
                         ["export", name, "v", "--format", "sqlite", "--out", target],
                         ["heatmap", name, "v", "--out", target],
                         ["working-set", name, "v", "--window", "1M", "--svg", target],
                         ["restore", name, "v", "--at", "last", "--out", target, "--force"]] {
                let r = try pmtrace(args)
                #expect(r.status == 2 && r.stderr.contains("is the pool being read"), "\(args): \(r.status) \(r.stderr)")
            }
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: pool))
        let unchanged = after == before
        #expect(unchanged)
    }

    /// Adversary s23b (B1): `working-set --svg <pool>/` and `heatmap --out
    /// dir/no-such-dir/../<pool>` passed the check (the name as given is no
    /// file) and then Foundation's URL write folded the name onto the pool
    /// and replaced it with an SVG. Outputs are now written to the name as
    /// given, checked after opening.
    @Test func nonCanonicalNamesOfThePoolAreRefusedToo() throws {
        let pool = try AnalysisCLITests.pool()  // volume "t" holds accesses
        defer { unlink(pool) }
        let svgPool = pool + ".svg"
        defer { unlink(svgPool) }
        #expect(link(pool, svgPool) == 0)  // a second name ending in .svg, for heatmap
        let before = try Data(contentsOf: URL(fileURLWithPath: pool))
        let dir = (pool as NSString).deletingLastPathComponent
        // /proc/self/fd/3 is the pool's own descriptor once it is open (adversary s23b: export emptied it).
        for target in [pool + "/", pool + "/.", "\(dir)/no-such-dir/../\((pool as NSString).lastPathComponent)",
                       "\(dir)/no-such-dir/../\((svgPool as NSString).lastPathComponent)", "/proc/self/fd/3"] {
            for args in [["heatmap", pool, "t", "--out", target], ["working-set", pool, "t", "--window", "1M", "--svg", target],
                         ["export", pool, "t", "--format", "csv", "--out", target]] {
                let r = try pmtrace(args)
                #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
            }
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: pool))
        let unchanged = after == before
        #expect(unchanged)
    }

    @Test func theRepairBackupIsANewFile() throws {
        let pool = scratchPath("guard-backup"), existing = scratchPath("existing")
        defer { unlink(pool); unlink(existing) }
        _ = try writtenPool(pool, volume: "v", bytes: 10_000)
        try Data("a user's file".utf8).write(to: URL(fileURLWithPath: existing))
        let r = try pmtrace(["fsck", pool, "--repair", "--backup", existing])
        #expect(r.status == 2 && r.stderr.contains("already exists"), "\(r.status) \(r.stderr)")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "a user's file")
    }

    /// Adversary s23 A1: `fsck --repair --backup /dev/full` (a rename over the
    /// path) and `export --format sqlite --out <FIFO>` (an unlink first)
    /// replaced a device node and a FIFO with regular files. A FIFO stands in
    /// for the device here; both commands now refuse it and leave it a FIFO.
    @Test func outputsNeverReplaceAFIFO() throws {
        let pool = scratchPath("guard-fifo"), fifo = scratchPath("fifo")
        defer { unlink(pool); unlink(fifo) }
        _ = try writtenPool(pool, volume: "v", bytes: 10_000)
        #expect(mkfifo(fifo, 0o600) == 0)
        // Damage copy B so that repair has something to back up.
        let fd = open(pool, O_RDWR)
        var junk: UInt8 = 0xEE
        _ = pwrite(fd, &junk, 1, 4096 + 40)
        close(fd)
        for args in [["fsck", pool, "--repair", "--backup", fifo], ["export", pool, "v", "--format", "sqlite", "--out", fifo]] {
            let r = try pmtrace(args)
            #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
            var s = stat()
            #expect(lstat(fifo, &s) == 0 && (s.st_mode & S_IFMT) == S_IFIFO, "\(args)")
        }
    }
}
