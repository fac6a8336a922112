import Foundation
import Testing
import TraceFormat

/// A CRC-valid superblock whose segment area was moved (V7 of the s21
/// adversary round): check 13 of FORMAT.md §3 refuses the copy, so no command
/// reads segments from the wrong place and calls the lanes damaged.
@Suite struct ForgedSuperblockCLITests {
    /// Rewrites superblock copy `copy` of `pool` with its segment area one
    /// segment later and one segment fewer (every other check still holds),
    /// its generation raised by one, and a valid CRC.
    private func forge(_ pool: String, copy: Int) throws {
        var image = try Data(contentsOf: URL(fileURLWithPath: pool))
        image.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress! + copy * Layout.superblockCopySize
            let field = { (offset: Int) -> UInt64 in UnsafeRawPointer(p).loadLE(offset) }
            p.storeLE(field(16) + 1, at: 16)
            p.storeLE(field(40) - 1, at: 40)
            p.storeLE(field(48) + field(32), at: 48)
            p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124)), at: 124)
        }
        try image.write(to: URL(fileURLWithPath: pool))
    }

    @Test func bothCopiesMovedIsRefusedNamingTheField() throws {
        let pool = scratchPath("forged-both")
        defer { unlink(pool) }
        _ = try writtenPool(pool, volume: "v", bytes: 200_000)
        try forge(pool, copy: 0)
        try forge(pool, copy: 1)
        for args in [["list", pool], ["read", pool, "v"], ["fsck", pool]] {
            let r = try pmtrace(args)
            #expect(r.status == 1, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("segmentAreaOffset (not where the layout of §2 puts it)"), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("lane"), "\(args): \(r.stderr)")
        }
    }

    @Test func oneCopyMovedMountsFromTheOtherAndRepairRestoresIt() throws {
        let pool = scratchPath("forged-one")
        defer { unlink(pool) }
        let input = try writtenPool(pool, volume: "v", bytes: 200_000)
        try forge(pool, copy: 0)
        let read = try pmtrace(["read", pool, "v"])
        #expect(read.stdout == input, "\(read.stderr)")
        #expect(read.stderr.contains("superblock copy A") && read.stderr.contains("segmentAreaOffset"), "\(read.stderr)")
        #expect(try pmtrace(["fsck", pool]).status == 1)
        #expect(try pmtrace(["fsck", pool, "--repair"]).status == 0)
        let again = try pmtrace(["read", pool, "v"])
        #expect(again.status == 0 && again.stdout == input && again.stderr.isEmpty, "\(again.stderr)")
    }
}
