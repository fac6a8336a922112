import Foundation
import Testing

/// fsck --repair --dry-run / --backup and read --skip-damaged from the command line.
@Suite struct RepairCLITests {
    @Test func dryRunChangesNothingAndBackupSavesWhatRepairOverwrites() throws {
        let pool = scratchPath("pool"), input = scratchPath("in"), backup = scratchPath("backup")
        defer { unlink(pool); unlink(input); unlink(backup) }
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: input))
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["write", pool, "v"], stdinFile: input).status == 0)
        // Damage the stale copy (A) of volume-table slot 0: a writable mount leaves it to repair.
        let fd = open(pool, O_RDWR)
        var junk: UInt8 = 0xEE
        _ = pwrite(fd, &junk, 1, 8192 + 40)
        close(fd)
        let damaged = try Data(contentsOf: URL(fileURLWithPath: pool))
        let plan = try pmtrace(["fsck", pool, "--repair", "--dry-run"])
        #expect(plan.out.contains("repair would:"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: pool)) == damaged)
        let fixed = try pmtrace(["fsck", pool, "--repair", "--backup", backup])
        #expect(fixed.status == 0, "\(fixed.out)\(fixed.stderr)")
        let saved = try Data(contentsOf: URL(fileURLWithPath: backup))
        #expect(saved.starts(with: Data("PMTRACE-FSCK-BACKUP 1\n".utf8)))
        // The backup holds the damaged byte at the offset repair rewrote.
        let body = Array(saved.dropFirst(22))
        try #require(body.count >= 16 + 256, "backup holds \(body.count) bytes")
        let offset = body.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(offset == 8192 && body[16 + 40] == 0xEE)
        #expect(try pmtrace(["read", pool, "v"]).stdout == (try Data(contentsOf: URL(fileURLWithPath: input))))
    }

    /// Adversary s23b (B10): `fsck --repair --backup nodir/x` said "the damaged
    /// copy was rewritten" at mount, then could not create the backup and wrote
    /// nothing. fsck's mount never rewrites (its check does, and says so).
    @Test func aFailedBackupClaimsNoRewrite() throws {
        let pool = scratchPath("pool-b10")
        defer { unlink(pool) }
        _ = try writtenPool(pool, volume: "v", bytes: 10_000)
        let fd = open(pool, O_RDWR)
        var junk: UInt8 = 0xEE
        _ = pwrite(fd, &junk, 1, 4096 + 40)  // superblock copy B
        close(fd)
        let before = try Data(contentsOf: URL(fileURLWithPath: pool))
        let r = try pmtrace(["fsck", pool, "--repair", "--backup", scratchPath("no-such-dir") + "/backup"])
        #expect(r.status == 2 && !r.stderr.contains("rewritten"), "\(r.stderr)")
        let unchanged = try Data(contentsOf: URL(fileURLWithPath: pool)) == before
        #expect(unchanged)
    }
}
