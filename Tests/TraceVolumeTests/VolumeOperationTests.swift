import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

@Suite struct VolumeOperationTests {
    @Test func renameKeepsDataAndRefusesDuplicates() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "a")
        try pool.store.createVolume(named: "b")
        let w = try pool.store.openWriter(volume: "a")
        try w.append(bytes: [1, 2, 3])
        w.close()
        #expect(throws: TraceError.duplicateName("b")) { try pool.store.renameVolume("a", to: "b") }
        try pool.store.renameVolume("a", to: "c")
        #expect(throws: TraceError.volumeNotFound("a")) { try pool.store.openReader(volume: "a") }
        #expect(try readAll(try pool.store.openReader(volume: "c")).map(\.bytes) == [[1, 2, 3]])
        let again = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(again.store.volumes().map(\.name) == ["c", "b"])
    }

    @Test func sealMakesVolumeReadOnlyForever() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "s")
        let w = try pool.store.openWriter(volume: "s")
        try w.append(bytes: [9])
        #expect(throws: TraceError.volumeBusy("s")) { try pool.store.sealVolume("s") }
        w.close()
        try pool.store.sealVolume("s")
        #expect(throws: TraceError.volumeSealed("s")) { try pool.store.openWriter(volume: "s") }
        let again = try MemoryPool.mount(memory: pool.snapshot(), writable: true)
        #expect(throws: TraceError.volumeSealed("s")) { try again.store.openWriter(volume: "s") }
        #expect(try again.store.volume(named: "s").sealed)
        #expect(try readAll(try again.store.openReader(volume: "s")).map(\.bytes) == [[9]])
    }

    @Test func deleteFreesSpaceAndNameCanBeReused() throws {
        let pool = try memoryPool()
        let before = pool.store.space.free
        try pool.store.createVolume(named: "d", lanes: 2)
        for lane in 0..<2 {
            let w = try pool.store.openWriter(volume: "d", lane: lane)
            for i in 0..<300 { try w.append(bytes: Array(payload(i, 1000))) }
            w.close()
        }
        #expect(pool.store.space.free < before)
        try pool.store.deleteVolume("d")
        #expect(pool.store.space.free == before)
        #expect(throws: TraceError.volumeNotFound("d")) { try pool.store.volume(named: "d") }
        let recreated = try pool.store.createVolume(named: "d")
        #expect(try readAll(try pool.store.openReader(volume: "d")).isEmpty)
        #expect(recreated.segmentCount == 0)
        let again = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(again.store.space.free == before)
    }

    @Test func uidsAreNeverReusedInASlot() throws {
        let pool = try memoryPool()
        var uids = Set<UInt64>()
        for _ in 0..<20 {
            uids.insert(try pool.store.createVolume(named: "x").uid)
            try pool.store.deleteVolume("x")
        }
        #expect(uids.count == 20)
    }

    @Test func regionFullIsAnErrorAndNothingCommittedIsLost() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "full")
        let w = try pool.store.openWriter(volume: "full")
        var appended = 0
        var caught: TraceError?
        do {
            while true {
                try w.append(bytes: Array(payload(appended, 4000)))
                appended += 1
            }
        } catch { caught = error }
        guard case .regionFull(let free, let total, _) = caught else {
            Issue.record("expected regionFull, got \(String(describing: caught))")
            return
        }
        #expect(free == 0 && total == pool.store.superblock.segmentCount)
        #expect(caught!.description.contains("region full"))
        w.close()
        let back = try readAll(try pool.store.openReader(volume: "full"))
        #expect(back.count == appended)
        #expect(back.enumerated().allSatisfy { $0.element.bytes == Array(payload($0.offset, 4000)) })
    }

    @Test func ringVolumeKeepsTheNewestRecords() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        let total = 3000  // ~12 MB through a region of ~1.5 MB
        for i in 0..<total { try w.append(bytes: Array(payload(i, 4000)), timestamp: UInt64(i)) }
        w.close()
        let check = { (store: TraceStore) throws in
            let back = try readAll(try store.openReader(volume: "ring"))
            #expect(!back.isEmpty && back.count < total)
            // A contiguous suffix of what was appended, intact.
            #expect(back.last?.sequence == UInt64(total - 1))
            #expect(zip(back, back.dropFirst()).allSatisfy { $1.sequence == $0.sequence + 1 })
            #expect(back.allSatisfy { $0.bytes == Array(payload(Int($0.sequence), 4000)) })
        }
        try check(pool.store)
        let again = try MemoryPool.mount(memory: pool.snapshot(), writable: true)
        #expect(again.store.warnings.isEmpty)
        try check(again.store)
        #expect(again.store.space.free == 0)
    }

    @Test func ringVolumeDoesNotTakeOtherVolumesSpace() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "keep")
        let k = try pool.store.openWriter(volume: "keep")
        for i in 0..<100 { try k.append(bytes: Array(payload(i, 4000))) }
        k.close()
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        for i in 0..<2000 { try w.append(bytes: Array(payload(i, 4000))) }
        w.close()
        #expect(try readAll(try pool.store.openReader(volume: "keep")).count == 100)
    }

    /// A record larger than what a ring lane can keep used to reclaim the
    /// segment holding its own first fragment: `append` returned, and the
    /// record (with everything before it) silently vanished. It is refused
    /// now, the records the ring still keeps stay readable, and the lane
    /// takes further appends.
    @Test func aRecordLargerThanTheRingIsRefusedAndLosesNothingElse() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "keep")
        let k = try pool.store.openWriter(volume: "keep")
        while pool.store.space.free > 2 { try k.append(bytes: Array(payload(0, 60_000))) }
        k.close()
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        for i in 0..<40 { try w.append(bytes: Array(payload(i, 3000)), timestamp: UInt64(i)) }
        w.commit()
        let before = try readAll(try pool.store.openReader(volume: "ring"))
        #expect(before.count == 40)
        let big = Array(payload(999, 150_000))  // 2.3 segments of 64 KiB: the ring keeps two
        #expect(throws: TraceError.recordLargerThanRing(volume: "ring", lane: 0, bytes: big.count)) {
            try w.append(bytes: big, timestamp: 40)
        }
        try w.append(bytes: Array(payload(40, 3000)), timestamp: 41)
        w.close()
        let after = try readAll(try pool.store.openReader(volume: "ring"))
        #expect(after.last?.bytes == Array(payload(40, 3000)))
        #expect(!after.contains { $0.bytes.count == big.count })
        #expect(after.dropLast().allSatisfy { $0.bytes == Array(payload(Int($0.sequence), 3000)) })
        #expect(try pool.store.check().findings.allSatisfy { $0.severity == .info })
        // A record the ring can hold (two segments' worth, split) still goes in.
        let w2 = try pool.store.openWriter(volume: "ring")
        let fits = Array(payload(7, 100_000))
        try w2.append(bytes: fits, timestamp: 50)
        w2.close()
        #expect(try readAll(try pool.store.openReader(volume: "ring")).last?.bytes == fits)
    }

    /// Adversary finding (third round): a reader that walked a ring lane's
    /// chain, then reached a segment the writer had meanwhile reclaimed for
    /// the same lane, took the segment's new life for its own and reported the
    /// lane damaged. It is told the segment was overwritten instead.
    @Test func aReaderOverrunByARingWriterIsToldSoNotDamage() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        var i = 0
        func chain() -> [UInt64] { pool.store.mountedSegments().chains[0][0] }
        // Wrap the ring once.
        let firstHead = chain().first
        while chain().first == firstHead || i < 50 {
            try w.append(bytes: Array(payload(i, 3000)), timestamp: UInt64(i))
            w.commit()
            i += 1
        }
        let reader = try pool.store.openLaneReader(volume: "ring", lane: 0)
        let head = chain().first!
        // The writer reclaims the reader's first segment and writes a few records into it.
        while chain().last != head {
            try w.append(bytes: Array(payload(i, 3000)), timestamp: UInt64(i))
            w.commit()
            i += 1
        }
        for _ in 0..<3 {
            try w.append(bytes: Array(payload(i, 3000)), timestamp: UInt64(i))
            w.commit()
            i += 1
        }
        var caught: TraceError?
        do { while try reader.next() != nil {} } catch { caught = error }
        #expect(caught == .overwrittenWhileReading(volume: "ring", lane: 0))
        w.close()
        #expect(try pool.store.check().findings.allSatisfy { $0.severity == .info })
    }

    /// With `skipReclaimed`, a reader the ring writer laps goes on at the
    /// oldest record still held: nothing handed out twice, every record it
    /// returns intact, and the records it lost reported once, by exact
    /// sequence range (whole records, and records split across segments,
    /// which the lap can cut while the reader joins one).
    @Test(arguments: [3000, 50_000]) func aLappedReaderSkipsToTheOldestRecordAndSaysWhatItLost(size: Int) throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        var i = 0
        func chain() -> [UInt64] { pool.store.mountedSegments().chains[0][0] }
        func put() throws {
            try w.append(bytes: Array(payload(i, size)), timestamp: UInt64(i))
            w.commit()
            i += 1
        }
        let firstHead = chain().first
        while chain().first == firstHead || i < 50 { try put() }
        let reader = try pool.store.openLaneReader(volume: "ring", lane: 0, options: ReadOptions(skipReclaimed: true))
        var notices: [ReadNotice] = []
        reader.onDamage = { notices.append($0) }
        var got: [UInt64] = []
        func take(_ n: Int) throws {
            while got.count < n, let r = try reader.next() {
                var bytes: [UInt8] = []
                try r.copyVerified { bytes.append(contentsOf: $0) }
                #expect(r.timestamp == r.sequence && bytes == Array(payload(Int(r.sequence), size)))
                got.append(r.sequence)
            }
        }
        try take(2)
        // Lap the reader: its segment and the ones after it are reclaimed and rewritten.
        let head = chain().first!
        while chain().last != head { try put() }
        for _ in 0..<3 { try put() }
        try take(Int.max)
        try reader.refresh()
        try take(Int.max)
        w.close()
        #expect(zip(got, got.dropFirst()).allSatisfy { $0 < $1 }, "handed out twice or out of order")
        #expect(got.last == UInt64(i - 1))
        let gaps = zip(got, got.dropFirst()).filter { $1 != $0 + 1 }
        #expect(gaps.count == 1 && notices.count == 1)
        if let (before, after) = gaps.first, let n = notices.first {
            #expect(n.action.hasPrefix("\(after - before - 1) record(s), sequence \(before + 1)...\(after - 1), were reclaimed"))
            // A reclaim is no damage: the notice names no problem.
            #expect(n.problem == nil && !n.description.contains("invalid"), "\(n)")
            // It resumed at the oldest record the ring still holds.
            let fresh = try pool.store.openLaneReader(volume: "ring", lane: 0)
            #expect(try fresh.next()?.sequence == after)
        }
    }

    /// A seek on a `skipReclaimed` ring reader is a new starting point: going
    /// back hands records out again, going forward passes over records
    /// without calling them reclaimed (adversary: `dump --follow --since +0ns`
    /// dropped the first two records; `--since +1m` reported a false reclaim).
    @Test func aSeekIsNotAGapOrARepeat() throws {
        let pool = try memoryPool(size: 4 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        for i in 0..<2_000 { try w.append(bytes: Array(payload(i, 777)), timestamp: UInt64(i)) }
        w.commit()
        w.close()
        let reader = try pool.store.openLaneReader(volume: "ring", lane: 0, options: ReadOptions(skipReclaimed: true))
        var notices: [ReadNotice] = []
        reader.onDamage = { notices.append($0) }
        let first = try #require(try reader.next()).sequence
        _ = try reader.next()
        try reader.seek(timestamp: 0)
        #expect(try reader.next()?.sequence == first)
        try reader.seek(timestamp: 1_500)
        #expect(try reader.next()?.sequence == 1_500)
        #expect(try reader.next()?.sequence == 1_501)
        #expect(notices.isEmpty, "\(notices)")
    }
}
