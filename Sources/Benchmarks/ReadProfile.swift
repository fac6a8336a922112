import Foundation
import PMemBackend
import PMTrace
import TraceVolume

/// The large verified reads of `sweep` alone, for a profiler and for a
/// steadier ratio: `_profile-bulk-read <block> [reps] [only]` appends 16 MiB
/// of <block>-byte records (one commit) and a 16 MiB direct-access file with
/// the same bytes, then, `reps` times, measures in rotating order a direct
/// read (memcpy out of the file), the in-place lending scan + copy, and the
/// one-pass verified copy-out (`read(into:)`), each from the same cache
/// state: 64 MiB of other stores first (the source is in memory, not cache)
/// and the output buffer written just before (resident, like the sweep's).
/// Two anchors without a reader run in the same rotation: memcpy and the
/// one-pass CRC copy (`pmt_crc32c_copy`) over the records' own payload
/// addresses in the mapping (every fragment, found before the timing): they
/// separate what the layout and the copy loop cost from what the reader adds.
/// Prints each variant's median and the ratios. `only` (direct | lent |
/// copy | memcpy-at-records | crc-copy-at-records) times one variant alone,
/// for `perf record`.
func profileBulkRead(block: Int, repetitions: Int, only: String?) throws {
    if getenv("PMEM2_FORCE_GRANULARITY") == nil { setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1) }
    let total = 16 << 20
    let path = "/dev/shm/pmtrace-profile-\(getpid()).pool"
    let directPath = path + ".direct"
    defer { unlink(path); unlink(directPath) }
    let (pool, source) = try bulkReadPool(path: path, block: block, total: total)
    defer { source.deallocate() }
    try prefilledFile(directPath, size: total)
    let direct = try PMemMapping.open(path: directPath, writable: true)
    direct.base.copyMemory(from: source.baseAddress!, byteCount: total)
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 4096)
    defer { out.deallocate() }
    let evict = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 20, alignment: 4096)
    defer { evict.deallocate() }
    // The payload pieces in the mapping (every fragment), for the two anchors without a reader.
    var pieces: [(UnsafeRawPointer, Int)] = []
    _ = try pool.store.openLaneReader(volume: "p", lane: 0).forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
        r.forEachFragment { f in pieces.append((f.baseAddress!, f.count)) }
        return true
    }
    let names = ["direct", "lent", "copy", "memcpy-at-records", "crc-copy-at-records"]
    var samples: [[Double]] = [[], [], [], [], []]
    let copyOut = TracePool.copyOutWithChecksum
    for rep in 0..<(repetitions + 1) {
        for k in 0..<5 {
            let v = (k + rep) % 5
            if let only, names[v] != only { continue }
            memset(evict.baseAddress!, Int32(truncatingIfNeeded: rep &+ k), evict.count)
            memset(out.baseAddress!, 0, total)
            let start = monotonicNanoseconds()
            var got = 0
            switch v {
            case 0:
                for i in 0..<(total / block) { (out.baseAddress! + i * block).copyMemory(from: direct.base + i * block, byteCount: block) }
                got = total / block * block
            case 1:
                let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
                _ = try reader.forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
                    r.forEachFragment { f in
                        (out.baseAddress! + got).copyMemory(from: f.baseAddress!, byteCount: f.count)
                        got += f.count
                    }
                    return true
                }
            case 3:
                for (p, n) in pieces { (out.baseAddress! + got).copyMemory(from: p, byteCount: n); got += n }
            case 4:
                var sum: UInt32 = 0
                for (p, n) in pieces { _ = copyOut(&sum, out.baseAddress! + got, p, n); got += n }
            default:
                let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
                while let r = try reader.read(into: UnsafeMutableRawBufferPointer(start: out.baseAddress! + got, count: total - got)) { got += r.length }
            }
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            guard got == total / block * block, memcmp(out.baseAddress!, source.baseAddress!, got) == 0 else {
                throw BenchError("bulk read \(names[v]): \(got) bytes that differ from what was written")
            }
            if rep > 0 { samples[v].append(seconds) }  // the first round warms up
        }
    }
    func median(_ s: [Double]) -> Double { s.isEmpty ? .nan : s.sorted()[s.count / 2] }
    let m = samples.map(median)
    var line = "block \(block): median of \(repetitions), ms: direct \(fmt(m[0] * 1000, 2)), lent \(fmt(m[1] * 1000, 2)), copy-out \(fmt(m[2] * 1000, 2))"
    if only == nil { line += "; verified ÷ direct: lent \(fmt(m[0] / m[1])), copy-out \(fmt(m[0] / m[2]))" }
    line += "\n  anchors without a reader, at the records' payload addresses: memcpy \(fmt(m[3] * 1000, 2)) ms, one-pass CRC copy \(fmt(m[4] * 1000, 2)) ms"
    print(line)
}

/// The bulk-read profiles' region at `path`: volume "p" holding `total`
/// bytes of a fixed pattern as `block`-byte records, one commit. Returns the
/// pool and the pattern (the caller deallocates it).
func bulkReadPool(path: String, block: Int, total: Int, options: StoreOptions = TracePool.options()) throws -> (TracePool, UnsafeMutableRawBufferPointer) {
    let poolSize = 2 * total + (64 << 20)
    try prefilledFile(path, size: poolSize)
    let pool = try TracePool.format(path: path, size: UInt64(poolSize), force: true, options: options)
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 4096)
    for i in 0..<total { source[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
    try pool.store.createVolume(named: "p")
    let w = try pool.store.openWriter(volume: "p")
    for i in 0..<(total / block) { try w.append(UnsafeRawBufferPointer(start: source.baseAddress! + i * block, count: block), timestamp: UInt64(i)) }
    w.commit()
    w.close()
    return (pool, source)
}
