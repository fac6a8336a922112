import CBenchPeers
import Foundation
import PMemBackend
import PMTrace
import TraceFormat
import TraceVolume

/// The append path alone, for a profiler to look at: `_profile-append <size> <total> [window]`
/// (`_profile-append-each`: a commit after every record; `_profile-append-batch`:
/// up to 4 KiB of records per `append(batch:recordLength:)` call, a window's
/// records never split between calls). Without a window every
/// record comes from one `size`-byte buffer (always in L1); with one, record i
/// comes from offset (i × size) mod window of a larger buffer, the pattern the
/// `peers` experiment uses (window 524288), and each pass is followed by the
/// limit loop of `peers` (the non-temporal copy loop) over the same source
/// pattern, so the two can be compared in one process.
func profileAppend(size: Int, total: Int, window: Int = 0, commitEach: Bool = false, batch: Bool = false) throws {
    if getenv("PMEM2_FORCE_GRANULARITY") == nil { setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1) }
    let path = "/dev/shm/pmtrace-profile-\(getpid()).pool"
    defer { unlink(path) }
    let poolSize = 2 * total + (total / size) * 40 + (64 << 20)
    try prefilledFile(path, size: poolSize)
    let pool = try TracePool.format(path: path, size: UInt64(poolSize), force: true)
    let sourceBytes = window > 0 ? window + size : size
    let source = UnsafeMutableRawPointer.allocate(byteCount: sourceBytes, alignment: 64)
    defer { source.deallocate() }
    for i in 0..<sourceBytes { source.storeBytes(of: UInt8(truncatingIfNeeded: i &* 2654435761 >> 11), toByteOffset: i, as: UInt8.self) }
    let records = total / size
    // A power-of-two window is masked, as `peers` does (a division per record would be the benchmark's own cost).
    let mask = window > 0 && window & (window - 1) == 0 ? window - 1 : -1
    @inline(__always) func record(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: source + (window == 0 ? 0 : mask >= 0 ? (i * size) & mask : (i * size) % window), count: size)
    }
    // A first pass maps every page of the segments (first-touch faults are not the append path).
    try pool.store.createVolume(named: "warm-up")
    let warm = try pool.store.openWriter(volume: "warm-up")
    for i in 0..<records { try warm.append(record(i)) }
    warm.close()
    try pool.store.deleteVolume("warm-up")
    let limitPath = path + ".limit"
    defer { unlink(limitPath) }
    try prefilledFile(limitPath, size: total + 4096)
    let limitMap = try PMemMapping.open(path: limitPath, writable: true)
    for i in 0..<records { pmt_nt_copy(limitMap.base + i * size, record(i).baseAddress!, size) }  // first touch
    pmt_sfence()
    // Three timed passes, each in a fresh volume (the peers experiment's pattern).
    for pass in 0..<3 {
        try pool.store.createVolume(named: "p\(pass)")
        let w = try pool.store.openWriter(volume: "p\(pass)")
        let faultsBefore = minorFaults()
        let start = monotonicNanoseconds()
        if batch {
            // Records i ..< i + k are consecutive in the source unless the window wraps between them.
            let perBatch = max(1, 4096 / size)
            var i = 0
            while i < records {
                var k = min(perBatch, records - i)
                let first = record(i).baseAddress!
                while k > 1 && record(i + k - 1).baseAddress! != first + (k - 1) * size { k -= 1 }
                try w.append(batch: UnsafeRawBufferPointer(start: first, count: k * size), recordLength: size, timestamp: UInt64(i))
                i += k
            }
        } else {
            try appendRecords(w, records: records, commitEach: commitEach, record)
        }
        w.commit()
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let faults = minorFaults() - faultsBefore
        w.close()
        try pool.store.deleteVolume("p\(pass)")
        var line = "\(records) records of \(size) B: \(fmt(seconds * 1000, 1)) ms, \(fmt(Double(records) / seconds / 1e6, 1)) M records/s, \(fmt(mibPerSecond(total, seconds), 0)) MiB/s"
        let base = limitMap.base
        let limitStart = monotonicNanoseconds()
        for i in 0..<records { pmt_nt_copy(base + i * size, record(i).baseAddress!, size) }
        pmt_sfence()
        let limit = Double(monotonicNanoseconds() - limitStart) / 1e9
        line += "; limit loop \(fmt(mibPerSecond(total, limit), 0)) MiB/s, ratio \(fmt(limit / seconds)); \(faults) page faults in the appends"
        print(line)
    }
}

/// The timed loop of `_profile-append`, in a function of its own: inlined into
/// `profileAppend` (a large function), `append` was not inlined once its fast
/// path grew, as it is in `peers`' closures and in callers of ordinary size.
@inline(never)
func appendRecords(_ w: LaneWriter, records: Int, commitEach: Bool, _ record: (Int) -> UnsafeRawBufferPointer) throws {
    for i in 0..<records {
        try w.append(record(i), timestamp: UInt64(i))
        if commitEach { w.commit() }
    }
}

/// The verified read path alone: `_profile-read <size> <total>` appends
/// <total> bytes of <size>-byte records (one commit), then scans them with
/// the lending reader (every record checksum-verified) and copies each out.
/// Beside it: the same copy from a plain array, the batch copy-out
/// (`read(batchInto:)`), an anchor for that row without a reader (the
/// one-pass CRC copy of the groups' bytes at their addresses in the
/// mapping) and the in-place scan without a copy.
func profileRead(size: Int, total: Int, onlyBatch: Bool = false) throws {
    if getenv("PMEM2_FORCE_GRANULARITY") == nil { setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1) }
    let path = "/dev/shm/pmtrace-profile-\(getpid()).pool"
    defer { unlink(path) }
    let poolSize = 2 * total + (total / size) * 40 + (64 << 20)
    try prefilledFile(path, size: poolSize)
    let pool = try TracePool.format(path: path, size: UInt64(poolSize), force: true)
    let source = [UInt8](repeating: 0x5A, count: size)
    try pool.store.createVolume(named: "p")
    let w = try pool.store.openWriter(volume: "p")
    try source.withUnsafeBytes { b in for i in 0..<(total / size) { try w.append(b, timestamp: UInt64(i)) } }
    w.close()
    let out = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
    defer { out.deallocate() }
    var best = Double.infinity
    for _ in 0..<(onlyBatch ? 0 : 5) {
        let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
        var got = 0
        let start = monotonicNanoseconds()
        _ = try reader.forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
            r.forEachFragment { f in
                (out + got).copyMemory(from: f.baseAddress!, byteCount: f.count)
                got += f.count
            }
            return true
        }
        best = min(best, Double(monotonicNanoseconds() - start) / 1e9)
        guard got == total / size * size else { throw BenchError("read \(got) bytes, wrote \(total / size * size)") }
    }
    print("read \(total / size) records of \(size) B: \(fmt(best * 1000, 1)) ms, \(fmt(Double(total / size) / best / 1e6, 1)) M records/s, \(fmt(best * 1e9 / Double(total / size), 1)) ns each")
    // The same scan with a body that reads each record's first and last word instead of
    // copying it into the 16 MiB buffer: what the verified hand-out costs without the
    // benchmark's own copy (a reader that decodes records in place).
    var bestScan = Double.infinity
    var sink: UInt64 = 0
    for _ in 0..<(onlyBatch ? 0 : 5) {
        let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
        var got = 0
        let start = monotonicNanoseconds()
        _ = try reader.forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
            r.forEachFragment { f in
                sink &+= UInt64(f.load(fromByteOffset: 0, as: UInt8.self)) &+ UInt64(f.load(fromByteOffset: f.count - 1, as: UInt8.self))
                got += f.count
            }
            return true
        }
        bestScan = min(bestScan, Double(monotonicNanoseconds() - start) / 1e9)
        guard got == total / size * size else { throw BenchError("scanned \(got) bytes, wrote \(total / size * size)") }
    }
    // An anchor with no reader and no checksum: the same copy of every record into the
    // 16 MiB buffer, from a plain array laid out like the groups' members (8-byte header,
    // payload padded to 8), as cold as the pool's bytes (64 MiB of other stores first).
    let stride = RecordGroup.memberFootprint(payloadLength: size)
    let plain = UnsafeMutableRawPointer.allocate(byteCount: stride * (total / size), alignment: 64)
    defer { plain.deallocate() }
    memset(plain, 0x5A, stride * (total / size))
    let evict = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 64)
    defer { evict.deallocate() }
    var bestPlain = Double.infinity
    for k in 0..<(onlyBatch ? 0 : 5) {
        memset(evict, Int32(k), 64 << 20)
        var got = 0
        let start = monotonicNanoseconds()
        for i in 0..<(total / size) {
            (out + got).copyMemory(from: plain + i * stride + RecordGroup.memberHeaderSize, byteCount: size)
            got += size
        }
        bestPlain = min(bestPlain, Double(monotonicNanoseconds() - start) / 1e9)
    }
    print("  anchor, the same copy-out from a plain array (no reader, no checksum): \(fmt(Double(total / size) / bestPlain / 1e6, 1)) M records/s, \(fmt(bestPlain * 1e9 / Double(total / size), 1)) ns each; verified ÷ anchor \(fmt(bestPlain / best))")
    // The batch copy-out (`read(batchInto:)`): each group copied to the caller's
    // buffer in one pass with its checksum folded in, then every record handed out
    // from there (header, and the payload's first and last byte, as the scan row).
    // Into one buffer of the whole volume's size (like the copy row's 16 MiB), and
    // into one 128 KiB buffer reused for every batch (a caller that processes a
    // batch, then reads the next). Both from the same cold state as the anchor.
    let batchBytes = stride * (total / size) + (1 << 20)
    let batchOut = UnsafeMutableRawPointer.allocate(byteCount: batchBytes, alignment: 64)
    defer { batchOut.deallocate() }
    memset(batchOut, 0, batchBytes)
    for (name, reuse) in [("into one buffer of the volume's size", false), ("into one 128 KiB buffer, reused", true)] {
        var bestBatch = Double.infinity
        for k in 0..<(onlyBatch ? 40 : 5) {
            memset(evict, Int32(k), 64 << 20)
            let reader = try pool.store.openLaneReader(volume: "p", lane: 0)
            var got = 0, at = 0, batches = 0
            let start = monotonicNanoseconds()
            while let batch = try reader.read(batchInto: UnsafeMutableRawBufferPointer(start: batchOut + at, count: reuse ? 128 << 10 : batchBytes - at)) {
                for r in batch {
                    sink &+= UInt64(r.payload.load(fromByteOffset: 0, as: UInt8.self)) &+ UInt64(r.payload.load(fromByteOffset: r.payload.count - 1, as: UInt8.self))
                    got += r.payload.count
                }
                if !reuse { at += (batch.byteCount + 63) & ~63 }
                batches += 1
            }
            bestBatch = min(bestBatch, Double(monotonicNanoseconds() - start) / 1e9)
            guard got == total / size * size else { throw BenchError("batch read \(got) bytes, wrote \(total / size * size)") }
            if k == 0 && batches * 8 > total / size { print("  (note: \(batches) batches for \(total / size) records: groups did not fit)") }
        }
        print("  batch copy-out (read(batchInto:)) \(name): \(fmt(Double(total / size) / bestBatch / 1e6, 1)) M records/s, \(fmt(bestBatch * 1e9 / Double(total / size), 1)) ns each (goal ≥ 150 M/s at 1 … 64 B)")
    }
    // An anchor without a reader for the batch rows: the one-pass CRC copy of the same
    // bytes (each group's members, header to padding, found before the timing) at their
    // addresses in the mapping into one 128 KiB buffer, from the same cold state.
    var runs: [(UnsafeRawPointer, Int)] = []
    _ = try pool.store.openLaneReader(volume: "p", lane: 0).forEachRecord { (r: borrowing BorrowedRecord) -> Bool in
        r.forEachFragment { f in
            let start = UnsafeRawPointer(f.baseAddress!) - RecordGroup.memberHeaderSize
            if let last = runs.last, last.0 + last.1 == start { runs[runs.count - 1].1 += stride } else { runs.append((start, stride)) }
        }
        return true
    }
    var bestRuns = Double.infinity
    let copyOut = TracePool.copyOutWithChecksum
    for k in 0..<(onlyBatch ? 40 : 5) {
        memset(evict, Int32(k), 64 << 20)
        let start = monotonicNanoseconds()
        for (p, n) in runs {
            var sum: UInt32 = 0
            var at = 0
            while at < n { let c = min(4096, n - at); _ = copyOut(&sum, batchOut + at, p + at, c); at += c }
            sink &+= UInt64(sum)
        }
        bestRuns = min(bestRuns, Double(monotonicNanoseconds() - start) / 1e9)
    }
    print("  anchor, the one-pass CRC copy of the groups' bytes at their addresses (\(runs.count) runs), no reader: \(fmt(Double(total / size) / bestRuns / 1e6, 1)) M records/s, \(fmt(bestRuns * 1e9 / Double(total / size), 1)) ns each")
    print("  in-place scan without the copy-out (first and last byte of each record): \(fmt(Double(total / size) / bestScan / 1e6, 1)) M records/s, \(fmt(bestScan * 1e9 / Double(total / size), 1)) ns each (checksum \(sink & 1))")
}

/// Minor page faults of this process so far (getrusage).
func minorFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
}

/// The group stream alone, without the writer: `_profile-stream <size>` sends
/// 64 MiB of <size>-byte members from the `peers` source pattern (a 512 KiB
/// window) through `TracePool.groupStream` into a mapped file, in 64 KiB
/// groups (32 bytes left between them for the header), and runs the limit loop
/// over the same pattern after each pass: what the writer's bookkeeping adds
/// is the difference to `_profile-append <size> 67108864 524288`.
func profileStream(size: Int) throws {
    guard let stream = TracePool.groupStream else { throw BenchError("no group stream on this CPU (or PMTRACE_GROUP_STREAM=off)") }
    let total = 64 << 20, window = 1 << 19
    let records = total / size
    let footprint = RecordGroup.memberFootprint(payloadLength: size)
    let path = "/dev/shm/pmtrace-profile-stream-\(getpid())"
    defer { unlink(path); unlink(path + ".limit") }
    try prefilledFile(path, size: 2 * total)
    try prefilledFile(path + ".limit", size: total + 4096)
    let map = try PMemMapping.open(path: path, writable: true)
    let limitMap = try PMemMapping.open(path: path + ".limit", writable: true)
    let source = UnsafeMutableRawPointer.allocate(byteCount: window + size, alignment: 64)
    defer { source.deallocate() }
    for i in 0..<(window + size) { source.storeBytes(of: UInt8(truncatingIfNeeded: i &* 2654435761 >> 11), toByteOffset: i, as: UInt8.self) }
    let state = UnsafeMutableRawPointer.allocate(byteCount: GroupStreamFunctions.stateBytes, alignment: 64)
    defer { state.deallocate() }
    var sink: UInt32 = 0
    for pass in 0..<6 {
        let start = monotonicNanoseconds()
        var offset = 64, streamed = 0
        stream.begin(state, map.base + offset + 32)
        for i in 0..<records {
            if streamed + footprint > 65_504 {
                sink ^= stream.finish(state)
                offset += 32 + streamed
                streamed = 0
                stream.begin(state, map.base + offset + 32)
            }
            stream.member(state, UInt64(size) | UInt64(i) << 32, source + (i * size) & (window - 1), size)
            streamed += footprint
        }
        sink ^= stream.finish(state)
        pmt_sfence()
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let limitStart = monotonicNanoseconds()
        for i in 0..<records { pmt_nt_copy(limitMap.base + i * size, source + (i * size) & (window - 1), size) }
        pmt_sfence()
        let limit = Double(monotonicNanoseconds() - limitStart) / 1e9
        if pass > 0 {  // the first pass maps the pages
            print("stream of \(records) members of \(size) B: \(fmt(seconds * 1000, 2)) ms; limit loop \(fmt(limit * 1000, 2)) ms, ratio \(fmt(limit / seconds)) (checksum \(sink & 1))")
        }
    }
}
