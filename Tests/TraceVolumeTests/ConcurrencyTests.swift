import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

@Suite struct ConcurrencyTests {
    /// 4 threads append to 4 lanes of one volume at once; every record comes
    /// back exactly once, in lane order, intact.
    @Test func fourThreadsFourLanes() throws {
        let pool = try memoryPool(size: 96 << 20)
        try pool.store.createVolume(named: "mt", lanes: 4)
        let perLane = 20_000
        let writers = try (0..<4).map { try pool.store.openWriter(volume: "mt", lane: $0) }
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            let w = writers[lane]
            var record = [UInt8](repeating: 0, count: 64)
            for i in 0..<perLane {
                record.withUnsafeMutableBytes { b in
                    b.storeBytes(of: UInt64(lane), toByteOffset: 0, as: UInt64.self)
                    b.storeBytes(of: UInt64(i), toByteOffset: 8, as: UInt64.self)
                }
                let size = 16 + (i % 48)
                do {
                    try record.withUnsafeBytes { try w.append(UnsafeRawBufferPointer(rebasing: $0[0..<size]), timestamp: UInt64(i)) }
                } catch { failures.add() }
                if i % 1000 == 0 { w.commit() }
            }
            w.close()
        }
        #expect(failures.value == 0)
        for lane in 0..<4 {
            let r = try pool.store.openLaneReader(volume: "mt", lane: lane)
            var i = 0
            while let rec = try r.next() {
                let l = rec.payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                let n = rec.payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                #expect(l == UInt64(lane) && n == UInt64(i) && rec.payload.count == 16 + (i % 48) && rec.sequence == UInt64(i))
                i += 1
            }
            #expect(i == perLane)
        }
        #expect(try readAll(try pool.store.openReader(volume: "mt")).count == 4 * perLane)
    }

    /// Readers that look while a writer commits after every record (one-fence
    /// commits, FORMAT.md §10.3) see the commit word and its window word of
    /// different commits; that is never reported as a damaged commit word,
    /// and every look returns a prefix of what was appended.
    @Test func readersNeverCallALiveCommitWordDamaged() throws {
        let pool = try memoryPool(size: 128 << 20)
        try pool.store.createVolume(named: "live")
        let total = 200_000
        let w = try pool.store.openWriter(volume: "live")
        let problems = LockedCounter()
        let done = LockedCounter()
        let partialLooks = LockedCounter()
        let looks = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for i in 0..<total {
                    do { try w.append(bytes: Array(payload(i, 200 + i % 100)), timestamp: UInt64(i)) } catch { problems.add() }
                    w.commit()
                    // Every 20,000 records, wait for one more whole look, so
                    // looks overlap the writer however the threads are scheduled.
                    if i % 20_000 == 10_000 {
                        let seen = looks.value
                        while looks.value <= seen + 1 && problems.value == 0 { sched_yield() }
                    }
                }
                done.add()
                return
            }
            var last = 0
            let follower = try? pool.store.openLaneReader(volume: "live", lane: 0)
            var followed = 0
            while done.value == 0 || followed < total {
                do {
                    let fresh = try pool.store.openLaneReader(volume: "live", lane: 0)
                    var n = 0
                    while let r = try fresh.next() {
                        if r.sequence != UInt64(n) || r.length != 200 + n % 100 { problems.add() }
                        n += 1
                    }
                    if n < last { problems.add() }
                    if n > 0 && n < total { partialLooks.add() }
                    looks.add()
                    last = n
                    try follower?.refresh()
                    while let r = try follower?.next() {
                        if r.sequence != UInt64(followed) { problems.add() }
                        followed += 1
                    }
                } catch {
                    problems.add()
                    break
                }
                if done.value != 0 && followed >= total { break }
            }
        }
        w.close()
        #expect(problems.value == 0)
        #expect(partialLooks.value > 0, "no look overlapped the writer")
        #expect(try pool.store.openLaneReader(volume: "live", lane: 0).allRecords().count == total)
    }

    /// A `skipReclaimed` reader following a ring writer that laps it again
    /// and again (records split across segments among them): it never throws,
    /// never hands out a record twice or out of order, every record it can
    /// still copy is intact, and each gap in what it handed out is reported
    /// by exactly one notice naming that gap.
    @Test func aFollowerLappedByARingWriterReportsEveryGapExactly() throws {
        let pool = try memoryPool(size: 2 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        let w = try pool.store.openWriter(volume: "ring")
        let total = 6_000
        @Sendable func size(_ i: Int) -> Int { i % 7 == 0 ? 90_000 : 2_000 + i % 500 }
        let written = LockedCounter(), done = LockedCounter(), problems = LockedCounter()
        /// Written by the reader thread only, read after both threads end.
        final class Log: @unchecked Sendable {
            var reader: LaneReader?
            var handed: [UInt64] = []
            var reported: [(first: UInt64, last: UInt64)] = []
        }
        let log = Log()
        // Opened on the empty lane: every record it does not hand out is a loss it must report.
        log.reader = try pool.store.openLaneReader(volume: "ring", lane: 0, options: ReadOptions(skipReclaimed: true))
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for i in 0..<total {
                    do { try w.append(bytes: Array(payload(i, size(i))), timestamp: UInt64(i)) } catch { problems.add() }
                    w.commit()
                    written.add()
                }
                done.add()
                return
            }
            do {
                let reader = log.reader!
                reader.onDamage = { n in
                    // "<n> record(s), sequence A...B, were reclaimed …"
                    let range = n.action.split(separator: " ")[3].dropLast().split(separator: ".", omittingEmptySubsequences: true)
                    if range.count == 2, let a = UInt64(range[0]), let b = UInt64(range[1]) { log.reported.append((a, b)) } else { problems.add() }
                }
                while true {
                    let finished = done.value != 0
                    try reader.refresh()
                    while let r = try reader.next() {
                        if let last = log.handed.last, r.sequence <= last { problems.add() }
                        log.handed.append(r.sequence)
                        var bytes: [UInt8] = []
                        do {
                            try r.copyVerified { bytes.append(contentsOf: $0) }
                            if bytes != Array(payload(Int(r.sequence), size(Int(r.sequence)))) { problems.add() }
                        } catch {}  // reclaimed after it was handed out: refused, not wrong
                        // Now and then, let the writer lap this reader.
                        if log.handed.count % 400 == 0 {
                            let target = min(total, written.value + 300)
                            while written.value < target && done.value == 0 { sched_yield() }
                        }
                    }
                    if finished { break }
                }
            } catch { problems.add() }
        }
        w.close()
        #expect(problems.value == 0)
        let handed = log.handed
        #expect(handed.last == UInt64(total - 1))
        // Gaps: before the first record handed out, and between records.
        var gaps = zip(handed, handed.dropFirst()).filter { $1 != $0 + 1 }.map { (first: $0 + 1, last: $1 - 1) }
        if let first = handed.first, first > 0 { gaps.insert((first: 0, last: first - 1), at: 0) }
        #expect(gaps.count > 0, "the writer never lapped the reader")
        let expected = gaps.map { [$0.first, $0.last] }, got = log.reported.map { [$0.first, $0.last] }
        let firstDifference = zip(expected, got).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(expected == got, "\(expected.count) gaps, \(got.count) reports; first difference: \(String(describing: firstDifference))")
    }

    /// `check` from another mount while a ring writer appends and reclaims
    /// (what `pmtrace fsck` of a region another process writes does): a
    /// healthy region is always clean — no "damaged" record read across a
    /// reclaim, no "unreachable" segment linked after its lane was walked.
    @Test func checkingWhileARingWriterLapsFindsNothing() throws {
        let pool = try memoryPool(size: 4 << 20)
        try pool.store.createVolume(named: "ring", ring: true)
        try pool.store.createVolume(named: "grow")
        let w = try pool.store.openWriter(volume: "ring")
        let g = try pool.store.openWriter(volume: "grow")
        let done = LockedCounter(), problems = LockedCounter(), checks = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for i in 0..<20_000 {
                    do {
                        try w.append(bytes: Array(payload(i, 2_000 + i % 700)), timestamp: UInt64(i))
                        // A volume growing beside the ring, until the ring has taken the free space.
                        if i < 1_000 && i % 20 == 0 { try g.append(bytes: Array(payload(i, 1_500)), timestamp: UInt64(i)); g.commit() }
                    } catch { problems.add(); print("append failed: \(error)") }
                    w.commit()
                    // Every 2,000 records, wait for one more whole check, so checks
                    // overlap the writer however the threads are scheduled.
                    if i % 2_000 == 1_000 {
                        let seen = checks.value
                        while checks.value <= seen && problems.value == 0 { sched_yield() }
                    }
                }
                done.add()
                return
            }
            while done.value == 0 {
                do {
                    let other = try MemoryPool.mount(memory: pool.memory, writable: false)
                    let report = try other.store.check()
                    if !report.clean { problems.add(); print("not clean:", report.findings.filter { $0.severity != .info }.prefix(3)) }
                    checks.add()
                } catch { problems.add(); print("check failed: \(error)") }
            }
        }
        w.close()
        g.close()
        #expect(problems.value == 0)
        #expect(checks.value >= 10, "too few checks overlapped the writer")
    }

    @Test func metadataOperationsFromManyThreads() throws {
        let pool = try memoryPool(size: 32 << 20)
        let errors = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                let name = "v\(t)"
                try pool.store.createVolume(named: name)
                let w = try pool.store.openWriter(volume: name)
                for i in 0..<500 { try w.append(bytes: Array(payload(i, 300))) }
                w.close()
                try pool.store.renameVolume(name, to: "r\(t)")
            } catch { errors.add() }
        }
        #expect(errors.value == 0)
        #expect(Set(pool.store.volumes().map(\.name)) == Set((0..<8).map { "r\($0)" }))
        // No segment is owned twice: a fresh mount rebuilds the same ownership.
        let again = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        #expect(again.store.warnings.isEmpty)
        #expect(again.store.space.free == pool.store.space.free)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
