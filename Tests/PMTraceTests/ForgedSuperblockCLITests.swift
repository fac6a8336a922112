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

    /// Rewrites superblock copy A of `pool` with half the volume slots and
    /// every offset and count §2 derives from them laid out again (checks 1
    /// to 13 hold), its generation raised by one, and a valid CRC: the lane
    /// table moves onto zeros, so under it every lane is empty.
    private func forgeGeometry(_ pool: String, shrinkOnly: Bool = false) throws {
        var image = try Data(contentsOf: URL(fileURLWithPath: pool))
        let size = UInt64(image.count)
        try image.withUnsafeMutableBytes { raw in
            let sb = try Superblock.decode(UnsafeRawBufferPointer(start: raw.baseAddress!, count: Layout.superblockSize), copy: 0, mappedSize: size)
            var forged = try #require(Superblock.layout(
                regionSize: shrinkOnly ? sb.regionSize - 8 * sb.segmentSize : sb.regionSize, segmentSize: sb.segmentSize,
                volumeSlots: shrinkOnly ? sb.volumeSlotCount : sb.volumeSlotCount / 2,
                maxLanes: sb.maxLanesPerVolume, uuidHigh: sb.uuidHigh, uuidLow: sb.uuidLow, formatTime: sb.formatTime))
            forged.generation = sb.generation + 1
            forged.uidBase = sb.uidBase
            #expect(shrinkOnly ? forged.segmentCount < sb.segmentCount : forged.laneTableOffset != sb.laneTableOffset)
            forged.encode(into: raw.baseAddress!, copy: 0)
            _ = try Superblock.decode(UnsafeRawBufferPointer(start: raw.baseAddress!, count: Layout.superblockSize), copy: 0, mappedSize: size)
        }
        try image.write(to: URL(fileURLWithPath: pool))
    }

    /// Adversary s23: a newer, CRC-valid copy A with another geometry used to
    /// win (its empty lanes walk cleanly, and the generation broke the tie):
    /// `read` gave 0 bytes with exit 0, and `fsck --repair` rewrote the good
    /// copy B from it, so undoing the forgery did not bring the records back.
    /// The copy under which the lanes reach more segments now wins.
    @Test func aNewerCopyWithAnotherGeometryDoesNotWinAndRepairKeepsTheGoodOne() throws {
        let pool = scratchPath("forged-geometry")
        let original = pool + ".orig"
        defer { unlink(pool); unlink(original) }
        let input = try writtenPool(pool, volume: "v", bytes: 300_000)
        try FileManager.default.copyItem(atPath: pool, toPath: original)
        try forgeGeometry(pool)
        let read = try pmtrace(["read", pool, "v"])
        // Compared into a Bool first: a failed `Data == Data` expectation diffs 300,000 elements.
        let readBack = read.stdout == input
        #expect(readBack, "\(read.stdout.count) bytes, status \(read.status): \(read.stderr)")
        #expect(read.stderr.contains("superblock copy A"), "\(read.stderr)")
        #expect(try pmtrace(["fsck", pool, "--repair"]).status == 0)
        // Repair rewrote copy A from copy B: the forgery is gone, B is untouched.
        let repaired = try Data(contentsOf: URL(fileURLWithPath: pool))
        let good = try Data(contentsOf: URL(fileURLWithPath: original))
        let superblocksRestored = repaired.prefix(2 * Layout.superblockCopySize) == good.prefix(2 * Layout.superblockCopySize)
        #expect(superblocksRestored)
        let again = try pmtrace(["read", pool, "v"])
        let readAgain = again.stdout == input
        #expect(again.status == 0 && readAgain && again.stderr.isEmpty, "\(again.stdout.count) bytes: \(again.stderr)")
    }

    /// Adversary s23b (B3): the same forgery with one segment header of the
    /// lane damaged: the forged copy's empty lane walked cleanly and the true
    /// copy's lane did not, so counting clean lanes first let the forgery win
    /// and repair rewrite copy B. Segments reached now decide first.
    @Test func theForgeryLosesEvenWhenALaneOfTheGoodCopyIsDamaged() throws {
        let pool = scratchPath("forged-geometry-damaged")
        let original = pool + ".orig"
        defer { unlink(pool); unlink(original) }
        _ = try writtenPool(pool, volume: "v", bytes: 300_000)
        // A CRC mismatch in segment 2's header, in the middle of the lane's chain.
        let fd = open(pool, O_RDWR)
        var junk: UInt8 = 0x5A
        #expect(pwrite(fd, &junk, 1, off_t(try segmentAreaOffset(ofPool: pool) + 2 * 65_536 + 40)) == 1)
        close(fd)
        try FileManager.default.copyItem(atPath: pool, toPath: original)
        try forgeGeometry(pool)
        let list = try pmtrace(["list", pool, "--json"])
        #expect(!list.out.contains("\"segments\" : 0") && !list.out.contains("\"segments\":0"), "\(list.out)")
        _ = try pmtrace(["fsck", pool, "--repair"])
        let repaired = try Data(contentsOf: URL(fileURLWithPath: pool))
        let good = try Data(contentsOf: URL(fileURLWithPath: original))
        let superblocksRestored = repaired.prefix(2 * Layout.superblockCopySize) == good.prefix(2 * Layout.superblockCopySize)
        #expect(superblocksRestored)
    }

    /// Adversary s23b (B6): a newer copy that only shrinks the region (same
    /// lanes, same segments reached) won on its generation, and repair copied
    /// it over the good one: capacity lost for good. The larger segment count
    /// now decides before the generation.
    @Test func aCopyThatOnlyShrinksTheRegionDoesNotWin() throws {
        let pool = scratchPath("forged-shrink")
        let original = pool + ".orig"
        defer { unlink(pool); unlink(original) }
        _ = try writtenPool(pool, volume: "v", bytes: 100_000)
        try FileManager.default.copyItem(atPath: pool, toPath: original)
        try forgeGeometry(pool, shrinkOnly: true)
        #expect(try pmtrace(["fsck", pool, "--repair"]).status == 0)
        let repaired = try Data(contentsOf: URL(fileURLWithPath: pool))
        let good = try Data(contentsOf: URL(fileURLWithPath: original))
        let superblocksRestored = repaired.prefix(2 * Layout.superblockCopySize) == good.prefix(2 * Layout.superblockCopySize)
        #expect(superblocksRestored)
    }
}
