import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The torn-commit window (FORMAT.md §10.3) on the one-pass copy-out
/// (`LaneReader.read(into:)`), which checks records in the window itself
/// instead of handing them to `next()` and copying them a second time: the
/// same records as `next()`, a torn last commit still ends the lane quietly,
/// and damage before the window still throws.
@Suite struct TornCommitCopyOutTests {
    /// Every record `read(into:)` returns until nil, as (sequence, bytes).
    static func copyAll(_ reader: LaneReader) throws -> [(UInt64, [UInt8])] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        var out: [(UInt64, [UInt8])] = []
        while let r = try reader.read(into: buffer) { out.append((r.header.sequence, Array(buffer[0..<r.length]))) }
        return out
    }

    /// The byte `delta` bytes into the record at `place` of `pool`, changed by `change`, in a new pool.
    static func damaged(_ pool: MemoryPool, _ place: (UInt64, Int), at delta: Int, _ change: (UInt8) -> UInt8) throws -> MemoryPool {
        let image = pool.snapshot()
        let at = Int(pool.store.superblock.segmentOffset(place.0)) + place.1 + delta
        image.base.storeBytes(of: change(image.base.load(fromByteOffset: at, as: UInt8.self)), toByteOffset: at, as: UInt8.self)
        return try MemoryPool.mount(memory: image, writable: false)
    }

    @Test func anIntactWindowCopiesOutWhole() throws {
        let (pool, _) = try TornCommitTests.lane()
        let got = try Self.copyAll(pool.store.openLaneReader(volume: "t", lane: 0))
        #expect(got.map(\.0) == Array(0..<40).map(UInt64.init))
        #expect(got.enumerated().allSatisfy { $0.element.1 == Array(payload($0.offset, 200)) })
    }

    /// A flipped payload byte (checksum) or a payload length past the segment
    /// (header check) in the last commit's record: the lane ends before it.
    @Test(arguments: [(42, "payload byte"), (3, "payloadLength high byte")])
    func aTornLastCommitEndsTheCopyOutQuietly(_ delta: Int, _ what: String) throws {
        let (pool, places) = try TornCommitTests.lane()
        let torn = try Self.damaged(pool, places[39], at: delta) { $0 ^ 0x5A }
        let copied = try Self.copyAll(torn.store.openLaneReader(volume: "t", lane: 0))
        let viewed = try torn.store.openLaneReader(volume: "t", lane: 0).allRecords()
        #expect(copied.map(\.0) == Array(0..<39).map(UInt64.init), "\(what)")
        #expect(copied.map(\.0) == viewed.map(\.sequence), "\(what)")
        #expect(copied.enumerated().allSatisfy { $0.element.1 == Array(payload($0.offset, 200)) }, "\(what)")
    }

    @Test func damageBeforeTheWindowStillThrows() throws {
        let (pool, places) = try TornCommitTests.lane()
        let damaged = try Self.damaged(pool, places[38], at: 42) { $0 ^ 0x5A }
        #expect(throws: TraceError.self) { _ = try Self.copyAll(damaged.store.openLaneReader(volume: "t", lane: 0)) }
    }

    /// A record split over segments: opening a segment commits, so its last
    /// fragment, alone in the tail segment, is the last commit, which the
    /// window covers when it is at most 4 KiB —
    /// the case that sent every 16 MiB record of `sweep` through `next()`
    /// and a second copy. Intact, it copies out whole; torn, the record is
    /// not returned (as with `next()`) and nothing throws.
    @Test func aSplitRecordWhoseLastFragmentIsInTheWindow() throws {
        // 64 KiB segments: fragments of 64 408, 65 440 and 65 440 bytes, then 2 712 in the tail.
        let pool = try memoryPool()
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        try w.append(bytes: Array(payload(1, 1000)), timestamp: 1)
        w.commit()
        try w.append(bytes: Array(payload(2, 198_000)), timestamp: 2)
        w.commit()
        w.close()
        let got = try Self.copyAll(pool.store.openLaneReader(volume: "s", lane: 0))
        #expect(got.map(\.0) == [0, 1])
        #expect(got.last?.1 == Array(payload(2, 198_000)))
        let views = try pool.store.openLaneReader(volume: "s", lane: 0).allRecords()
        let tail = try #require(views.last?.moreFragments.last)
        // Its last fragment's place in the region, from where the view points.
        let at = tail.baseAddress! + 10 - UnsafeRawPointer(pool.memory.base)
        let image = pool.snapshot()
        image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ 0x5A, toByteOffset: at, as: UInt8.self)
        let torn = try MemoryPool.mount(memory: image, writable: false)
        let copied = try Self.copyAll(torn.store.openLaneReader(volume: "s", lane: 0))
        let viewed = try torn.store.openLaneReader(volume: "s", lane: 0).allRecords()
        #expect(copied.map(\.0) == viewed.map(\.sequence))
        #expect(copied.map(\.0) == [0])
    }
}
