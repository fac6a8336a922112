import Foundation
import Testing

/// `read --skip-damaged` over lanes whose rebuilt chain misses a segment: a
/// record is handed out whole or not at all, and every record it drops is
/// named on standard error (an adversary found a 1 MiB record handed out
/// with a 64 KiB hole and no word about it).
@Suite struct SkipDamagedCLITests {
    /// 2,000,000 bytes as 1 MiB records in 64 KiB segments: record 0 fills
    /// segments 0…16, record 1 starts in segment 16.
    private func pool() throws -> (pool: String, input: Data, segmentArea: Int) {
        let pool = scratchPath("skip")
        let input = try writtenPool(pool, volume: "b", bytes: 2_000_000, extra: ["--record-size", "1M"])
        return (pool, input, try segmentAreaOffset(ofPool: pool))
    }

    private func zeroHeader(_ pool: String, at offset: Int) {
        let fd = open(pool, O_RDWR)
        #expect(pwrite(fd, [UInt8](repeating: 0, count: 64), 64, off_t(offset)) == 64)
        close(fd)
    }

    @Test func aRecordMissingAMiddleSegmentIsSkippedAndNamed() throws {
        let (pool, input, area) = try pool()
        defer { unlink(pool) }
        zeroHeader(pool, at: area + 3 * 65_536)
        let r = try pmtrace(["read", pool, "b", "--skip-damaged"])
        #expect(r.status == 1)
        #expect(r.stdout == input.suffix(from: 1 << 20), "\(r.stdout.count) bytes")
        #expect(r.stderr.contains("skipped record sequence 0: damage lies between its fragments"), "\(r.stderr)")
    }

    /// `fsck` of a damaged region no writer touches reports the damage once
    /// and says nothing of a writer: the check is repeated only while its
    /// findings change (adversary s27: "checked 3 times: a writer changed the
    /// region" on an idle, damaged region).
    @Test func fsckOfAnIdleDamagedRegionBlamesNoWriter() throws {
        let (pool, _, area) = try pool()
        defer { unlink(pool) }
        zeroHeader(pool, at: area + 3 * 65_536)
        let r = try pmtrace(["fsck", pool])
        #expect(r.status == 1, "\(r.out)")
        #expect(r.out.contains("NOT clean"), "\(r.out)")
        #expect(!r.out.contains("a writer changed the region") && !r.out.contains("checked 3 times"), "\(r.out)")
    }

    @Test func recordsAroundALostSegmentAreBothNamed() throws {
        let (pool, _, area) = try pool()
        defer { unlink(pool) }
        // Segment 16 holds record 0's end and record 1's start.
        zeroHeader(pool, at: area + 16 * 65_536)
        let r = try pmtrace(["read", pool, "b", "--skip-damaged"])
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(r.stderr.contains("skipped record sequence 0: its later fragments were lost"), "\(r.stderr)")
        #expect(r.stderr.contains("skipped the rest of record sequence 1: its first fragment was lost"), "\(r.stderr)")
    }

    @Test func aLostFirstSegmentIsNamed() throws {
        let pool = scratchPath("skip-first")
        defer { unlink(pool) }
        _ = try writtenPool(pool, volume: "a", bytes: 400_000, extra: ["--record-size", "4K"])
        zeroHeader(pool, at: try segmentAreaOffset(ofPool: pool))
        let r = try pmtrace(["read", pool, "a", "--skip-damaged"])
        #expect(r.status == 1 && r.stderr.contains("segments with chain sequence 0...0 are missing"), "\(r.stderr)")
    }

    /// Output that cannot be written is a one-line error and status 2, never a trap.
    @Test func aFullOutputDeviceIsAnErrorNotACrash() throws {
        let pool = scratchPath("full-out")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        for command in ["info \(pool) --json", "fsck \(pool) --json", "list \(pool)", "info \(pool)", "--help", "--version", "help read"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "\"$0\" \(command) > /dev/full", pmtraceBinary]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 2 && text.contains("writing output: No space left on device"), "\(command): \(p.terminationStatus) \(text)")
        }
    }
}
