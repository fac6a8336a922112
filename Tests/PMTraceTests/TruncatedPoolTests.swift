import Foundation
import Testing

/// A pool file cut short at rest (an interrupted copy, a full disk): the
/// read-only commands read what the file holds and call the rest damage;
/// nothing writes to it.
@Suite struct TruncatedPoolTests {
    /// 300,000 bytes written as 64 KiB blob records into 64 KiB segments:
    /// record n starts in segment n and ends in segment n + 1 (two fragments),
    /// the last one (37,856 bytes) fills part of segment 4, the tail.
    private func pool() throws -> (pool: String, input: Data, segmentArea: Int) {
        let pool = scratchPath("truncated")
        let input = try writtenPool(pool, volume: "v", bytes: 300_000)
        return (pool, input, try segmentAreaOffset(ofPool: pool))
    }

    @Test func readingStopsAtTheCutAfterEveryWholeRecordBeforeIt() throws {
        let (pool, input, area) = try pool()
        defer { unlink(pool) }
        // Segments 0...2 stay; the tail (4), whose header starts the chain walk, is gone.
        #expect(truncate(pool, off_t(area + 3 * 65_536)) == 0)
        let read = try pmtrace(["read", pool, "v"])
        // Records 0 and 1 lie whole in segments 0...2; record 2 lost its second fragment.
        #expect(read.stdout == input.prefix(2 * 65_536))
        #expect(read.status == 1)
        #expect(read.stderr.contains("truncated: the file is \(area + 3 * 65_536) bytes but its superblock records a region of 16777216 bytes"), "\(read.stderr)")
        #expect(read.stderr.contains("header of segment 4"), "\(read.stderr)")
        let dump = try pmtrace(["dump", pool, "v"])
        #expect(dump.status == 1 && dump.out.split(separator: "\n").count == 2, "\(dump.out)\n\(dump.stderr)")
        // --skip-damaged: the same whole records, then record 2's first fragment, named as cut short.
        let skipping = try pmtrace(["read", pool, "v", "--skip-damaged"])
        #expect(skipping.status == 1 && skipping.stdout.prefix(2 * 65_536) == input.prefix(2 * 65_536))
        #expect(skipping.stderr.contains("record sequence 2 is cut short"), "\(skipping.stderr)")
        let fsck = try pmtrace(["fsck", pool])
        #expect(fsck.status == 1 && fsck.out.contains("NOT clean"), "\(fsck.out)\n\(fsck.stderr)")
    }

    @Test func aCutPastEveryCommittedRecordStillSaysTruncated() throws {
        let (pool, input, area) = try pool()
        defer { unlink(pool) }
        #expect(truncate(pool, off_t(area + 5 * 65_536)) == 0)
        let read = try pmtrace(["read", pool, "v"])
        #expect(read.stdout == input && read.status == 1 && read.stderr.contains("truncated"), "\(read.stderr)")
    }

    @Test func nothingWritesToATruncatedPool() throws {
        let (pool, _, area) = try pool()
        defer { unlink(pool) }
        #expect(truncate(pool, off_t(area + 3 * 65_536)) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: pool))
        for args in [["write", pool, "v"], ["create", pool, "w"], ["fsck", pool, "--repair"], ["seal", pool, "v"]] {
            let r = try pmtrace(args)
            #expect(r.status == 1 && r.stderr.contains("truncated"), "\(args): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: pool)) == before)
    }

    /// Adversary s23 (A7): a file cut before the lane table (the first ~4.7 MiB
    /// at the default geometry) read every lane as empty: its commit words
    /// were zeros. Now such a lane is damaged, named as cut off, and the
    /// volume-table slots past the cut are named as unknown.
    @Test func aCutInsideTheMetadataNamesTheLanesItTook() throws {
        let (pool, _, _) = try pool()
        defer { unlink(pool) }
        let image = try Data(contentsOf: URL(fileURLWithPath: pool))
        let laneTable = image.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 72, as: UInt64.self)) }
        // Volume slot 0 ('v') stays; slots from 8 on and the lane table are cut off.
        #expect(truncate(pool, off_t(8192 + 8 * 512)) == 0)
        let read = try pmtrace(["read", pool, "v"])
        #expect(read.status == 1 && read.stdout.isEmpty, "\(read.status)")
        #expect(read.stderr.contains("volume 'v' lane 0 is damaged: commit word of slot 0 lane 0: truncated (needs 8 bytes, 0 available)"),
                "\(read.stderr)")
        let list = try pmtrace(["list", pool])
        #expect(list.status == 1 && list.stderr.contains("volume table slot 8 copy A: truncated"), "\(list.out)\n\(list.stderr)")
        #expect(laneTable > 8192 + 8 * 512)
    }
}
