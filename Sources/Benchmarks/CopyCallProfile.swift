import CBenchPeers
import CCRC32C
import Foundation
import PMTrace
import TraceVolume

/// Where `_profile-bulk-read`'s copy-out lost against its anchor at the same
/// addresses (`_profile-copy-calls <block> [reps]`): the one-pass CRC copy
/// (`pmt_crc32c_copy`) timed call by call, and each 16 KiB call 1 KiB at a
/// time, through `read(into:)` and without a reader over the records' own
/// payload addresses — bare, and with what the reader does between copies
/// added one thing at a time: the record header read into a local, its CRC
/// and the copy's length made to depend on it; a 150 ns pause; eight locked
/// adds (what retains and releases do); 16 loads scattered over 1 MiB.
/// Every variant starts from the same cache state (64 MiB of other stores,
/// then the output buffer written), in rotating order. Prints, per variant,
/// the median time inside the copy calls and the median of each 1 KiB piece.
///
/// Before `read(into:)` had its short way for whole records
/// (`LaneReader.copyWholeRecordInSegment`), the reader's calls at 16 KiB took
/// ~1.3 µs against ~0.95 µs: its pieces 4…11 ran at 5–6 GB/s instead of
/// ~20, while none of the anchor variants slowed them.
nonisolated(unsafe) private var timing = (calls: UnsafeMutablePointer<UInt64>.allocate(capacity: 1 << 16),
                                          pieces: UnsafeMutablePointer<UInt64>.allocate(capacity: 16 << 16), count: 0, sixteenKiB: 0)

func profileCopyCalls(block: Int, repetitions: Int) throws {
    if getenv("PMEM2_FORCE_GRANULARITY") == nil { setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1) }
    let total = 16 << 20
    let path = "/dev/shm/pmtrace-profile-\(getpid()).pool"
    defer { unlink(path) }
    var options = TracePool.options()
    options.copyOutWithChecksum = { crc, d, s, n in
        // Every call timed; a 16 KiB call as 16 calls of 1 KiB (the checksum chains through them).
        let t0 = monotonicNanoseconds()
        var done = 0
        if n == 16384 {
            var t = t0
            for c in 0..<16 {
                done += pmt_crc32c_copy(crc, d.map { $0 + c * 1024 }, s.map { $0 + c * 1024 }, 1024)
                let u = monotonicNanoseconds()
                timing.pieces[timing.sixteenKiB * 16 + c] = u &- t
                t = u
            }
            timing.sixteenKiB += 1
        } else {
            done = pmt_crc32c_copy(crc, d, s, n)
        }
        timing.calls[timing.count] = monotonicNanoseconds() &- t0
        timing.count += 1
        return done
    }
    let (pool, source) = try bulkReadPool(path: path, block: block, total: total, options: options)
    defer { source.deallocate() }
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 4096)
    defer { out.deallocate() }
    let evict = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 20, alignment: 4096)
    defer { evict.deallocate() }
    var pieces: [(UnsafeRawPointer, Int)] = []
    _ = try pool.store.openLaneReader(volume: "p", lane: 0).forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
        r.forEachFragment { f in pieces.append((f.baseAddress!, f.count)) }
        return true
    }
    let copy = options.copyOutWithChecksum!
    let scattered = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { scattered.deallocate() }
    memset(scattered, 1, 1 << 20)
    let counters = UnsafeMutablePointer<Int>.allocate(capacity: 8)
    defer { counters.deallocate() }
    counters.initialize(repeating: 0, count: 8)
    var touchAt = 0
    let names = ["read(into:)", "anchor", "anchor + header read, CRC and dependency", "anchor + 150 ns pause",
                 "anchor + 8 locked adds", "anchor + 16 scattered loads"]
    var inCalls: [[Double]] = Array(repeating: [], count: names.count)
    var pieceTimes: [[[UInt64]]] = Array(repeating: Array(repeating: [], count: 16), count: names.count)
    for rep in 0..<(repetitions + 1) {
        for k in 0..<names.count {
            let v = (k + rep) % names.count
            memset(evict.baseAddress!, Int32(truncatingIfNeeded: rep &+ k), evict.count)
            memset(out.baseAddress!, 0, total)
            let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
            timing.count = 0
            timing.sixteenKiB = 0
            var got = 0
            var sum: UInt32 = 0
            switch v {
            case 0:
                while let r = try reader.read(into: UnsafeMutableRawBufferPointer(start: out.baseAddress! + got, count: total - got)) { got += r.length }
            case 2:
                for (p, n) in pieces {
                    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
                    withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p - 32, count: 32)) }
                    sum = pmt_crc32c(0, &words, 24)
                    let length = Int(truncatingIfNeeded: words.0 & 0xFFFF_FFFF)  // the header's payload length: only for the dependency
                    _ = copy(&sum, out.baseAddress! + got, p, n + (length & 0))
                    got += n
                }
            case 3:
                for (p, n) in pieces {
                    let until = monotonicNanoseconds() + 150
                    while monotonicNanoseconds() < until {}
                    _ = copy(&sum, out.baseAddress! + got, p, n)
                    got += n
                }
            case 4:
                for (p, n) in pieces {
                    for j in 0..<8 { _ = pmt_bench_atomic_add(counters + j) }
                    _ = copy(&sum, out.baseAddress! + got, p, n)
                    got += n
                }
            case 5:
                var x: UInt8 = 0
                for (p, n) in pieces {
                    for _ in 0..<16 {
                        x &+= scattered.load(fromByteOffset: touchAt, as: UInt8.self)
                        touchAt = (touchAt + 4160) & ((1 << 20) - 1)
                    }
                    _ = copy(&sum, out.baseAddress! + got, p, n + Int(x & 0))
                    got += n
                }
            default:
                for (p, n) in pieces { _ = copy(&sum, out.baseAddress! + got, p, n); got += n }
            }
            guard got == total / block * block, memcmp(out.baseAddress!, source.baseAddress!, got) == 0 else {
                throw BenchError("copy calls \(names[v]): \(got) bytes that differ from what was written")
            }
            guard rep > 0 else { continue }  // the first round warms up
            inCalls[v].append(Double((0..<timing.count).reduce(UInt64(0)) { $0 + timing.calls[$1] }) / 1e6)
            for c in 0..<16 {
                var s = (0..<timing.sixteenKiB).map { timing.pieces[$0 * 16 + c] }
                s.sort()
                if !s.isEmpty { pieceTimes[v][c].append(s[s.count / 2]) }
            }
        }
    }
    func median<T: Comparable>(_ s: [T]) -> T? { s.isEmpty ? nil : s.sorted()[s.count / 2] }
    print("block \(block), 16 MiB, median of \(repetitions): time inside the one-pass copy calls; each 16 KiB call's 1 KiB pieces, ns (median)")
    for v in 0..<names.count {
        let each = pieceTimes[v].compactMap(median).map(String.init).joined(separator: " ")
        print("  \(names[v]): \(fmt(median(inCalls[v]) ?? .nan, 3)) ms\(each.isEmpty ? "" : "; pieces: \(each)")")
    }
}
