import CBenchPeers
import Foundation
import PMemBackend
import PMTrace
import TraceVolume

/// Experiment 3: the same records through PMTrace and through what a user
/// would otherwise pick, one and two threads, against the limit (a plain
/// non-temporal copy loop into the same kind of mapping).
func runPeers(_ ctx: Context) throws {
    let sizes = [64, 256, 4096, 65536]
    let perConfig = ctx.quick ? 4 << 20 : 64 << 20
    print("\n== peers: \(humanSize(perConfig)) of records per point, sizes \(sizes.map(humanSize)), 1 and 2 threads, median of \(ctx.repetitions)")
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    defer { source.deallocate() }
    for i in 0..<source.count { source[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 11) }
    let src = SendablePointer(UnsafeRawPointer(source.baseAddress!))

    let names = ["limit (NT copy loop)", "PMTrace group commit", "PMTrace commit per record",
                 "libpmemlog append", "libpmemobj tx append", "write+fdatasync"]
    var rows: [[String]] = []
    var series: [String: [(x: Double, y: Double)]] = [:]
    for threads in [1, 2] {
        for size in sizes {
            let count = perConfig / size / threads  // records per thread
            var results: [String: Double] = [:]  // MiB/s
            let bytes = count * size * threads
            // The limit.
            let limitPath = ctx.poolPath("limit")
            try prefilledFile(limitPath, size: bytes + 4096)
            let limitMap = try PMemMapping.open(path: limitPath, writable: true)
            results[names[0]] = mibPerSecond(bytes, try timeThreads(ctx, threads) { t in
                let base = limitMap.base + t * count * size
                for i in 0..<count { pmt_nt_copy(base + i * size, src.pointer + (i * size) % (1 << 19), size) }
                pmt_sfence()
            })
            unlink(limitPath)
            // PMTrace, group commit and commit per record.
            let storePath = ctx.poolPath("store")
            let storeSize = 2 * bytes + count * threads * 40 + (64 << 20)
            try prefilledFile(storePath, size: storeSize)
            let pool = try TracePool.format(path: storePath, size: UInt64(storeSize), force: true)
            for (name, each) in [(names[1], false), (names[2], true)] {
                var rep = 0
                results[name] = mibPerSecond(bytes, try timeThreads(ctx, threads, setup: {
                    rep += 1
                    try pool.store.createVolume(named: "peers-\(rep)", lanes: threads)
                    return try (0..<threads).map { try pool.store.openWriter(volume: "peers-\(rep)", lane: $0) }
                }, teardown: { writers in
                    writers.forEach { $0.close() }
                    try pool.store.deleteVolume("peers-\(rep)")
                }) { t, writers in
                    let w = writers[t]
                    for i in 0..<count {
                        try w.append(UnsafeRawBufferPointer(start: src.pointer + (i * size) % (1 << 19), count: size), timestamp: UInt64(i))
                        if each { w.commit() }
                    }
                    w.commit()
                })
            }
            // The batch append (`append(batch:recordLength:)`): the same records from the same
            // source, up to 4 KiB of them per call, one timestamp per call. A separate figure:
            // the issue's goals are for the per-call row above.
            var rep = 0
            let perBatch = max(1, 4096 / size)
            let batchResult = mibPerSecond(bytes, try timeThreads(ctx, threads, setup: {
                rep += 1
                try pool.store.createVolume(named: "batch-\(rep)", lanes: threads)
                return try (0..<threads).map { try pool.store.openWriter(volume: "batch-\(rep)", lane: $0) }
            }, teardown: { writers in
                writers.forEach { $0.close() }
                try pool.store.deleteVolume("batch-\(rep)")
            }) { t, writers in
                let w = writers[t]
                var i = 0
                while i < count {
                    let k = min(perBatch, count - i)  // 4096 divides the 512 KiB window: a batch never wraps
                    try w.append(batch: UnsafeRawBufferPointer(start: src.pointer + (i * size) % (1 << 19), count: k * size),
                                 recordLength: size, timestamp: UInt64(i))
                    i += k
                }
                w.commit()
            })
            withExtendedLifetime(pool) {}
            unlink(storePath)
            // libpmemlog.
            let logPath = ctx.poolPath("pmemlog")
            results[names[3]] = mibPerSecond(bytes, try timeThreads(ctx, threads, setup: { () throws -> OpaquePointer in
                try prefilledFile(logPath, size: bytes + bytes / 4 + (8 << 20))
                guard let l = pmt_log_create(logPath, 0) else { throw BenchError(String(cString: pmt_peer_error())) }
                return l
            }, teardown: { l in pmt_log_close(l); unlink(logPath) }) { t, l in
                for i in 0..<count {
                    guard pmt_log_append(l, src.pointer + (i * size) % (1 << 19), size) == 0 else {
                        throw BenchError(String(cString: pmt_peer_error()))
                    }
                }
            })
            // libpmemobj.
            let objPath = ctx.poolPath("pmemobj")
            results[names[4]] = mibPerSecond(bytes, try timeThreads(ctx, threads, setup: { () throws -> OpaquePointer in
                try prefilledFile(objPath, size: 3 * bytes + count * threads * 200 + (64 << 20))
                guard let o = pmt_obj_create(objPath, 0, Int32(threads)) else { throw BenchError(String(cString: pmt_peer_error())) }
                return o
            }, teardown: { o in pmt_obj_close(o); unlink(objPath) }) { t, o in
                for i in 0..<count {
                    guard pmt_obj_append(o, Int32(t), src.pointer + (i * size) % (1 << 19), size) == 0 else {
                        throw BenchError(String(cString: pmt_peer_error()))
                    }
                }
            })
            // write() + fdatasync per record, one file per thread.
            let filePath = ctx.poolPath("file")
            results[names[5]] = mibPerSecond(bytes, try timeThreads(ctx, threads, setup: { () throws -> [Int32] in
                try (0..<threads).map { t in
                    let fd = open("\(filePath)-\(t)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                    guard fd >= 0 else { throw BenchError("\(filePath): \(String(cString: strerror(errno)))") }
                    return fd
                }
            }, teardown: { fds in
                for (t, fd) in fds.enumerated() { close(fd); unlink("\(filePath)-\(t)") }
            }) { t, fds in
                for i in 0..<count {
                    guard write(fds[t], src.pointer + (i * size) % (1 << 19), size) == size, fdatasync(fds[t]) == 0 else {
                        throw BenchError("write/fdatasync: \(String(cString: strerror(errno)))")
                    }
                }
            })
            let limit = results[names[0]]!
            let ours = results[names[1]]!, oursEach = results[names[2]]!
            for n in names { series["\(n), \(threads)T", default: []].append((Double(size), results[n]!)) }
            rows.append([String(threads), String(size)] + names.map { fmt(results[$0]!, 0) } + [
                fmt(ours / limit), fmt(oursEach / limit), fmt(ours / results[names[3]]!), fmt(oursEach / results[names[3]]!),
                fmt(ours / results[names[4]]!), fmt(oursEach / results[names[4]]!), fmt(oursEach / results[names[5]]!),
                fmt(batchResult, 0), fmt(batchResult / limit),
            ])
            print("  \(threads)T \(humanSize(size).padding(toLength: 4, withPad: " ", startingAt: 0)) " + names.map { "\($0.split(separator: " ").first!): \(fmt(results[$0]!, 0))" }.joined(separator: ", ") + " MiB/s; batch append \(fmt(batchResult, 0)) MiB/s")
        }
    }
    let header = ["threads", "record_bytes", "limit_MiBps", "ours_group_MiBps", "ours_commit_each_MiBps", "pmemlog_MiBps",
                  "pmemobj_MiBps", "write_fdatasync_MiBps", "group_vs_limit", "each_vs_limit", "group_vs_pmemlog",
                  "each_vs_pmemlog", "group_vs_pmemobj", "each_vs_pmemobj", "each_vs_write_fdatasync",
                  "batch_append_MiBps", "batch_append_vs_limit"]
    try writeCSV(ctx, "peers", header: header, rows: rows)
    print("\npeers (MiB/s of payload; ratios: ours ÷ peer, > 1 = ours faster)")
    printTable(header, rows)
    // Issue 13's goals are for one thread; two-thread rows are printed for
    // comparison only.
    func verdict(_ value: String, _ goal: Double) -> String {
        "\(value) (goal ≥ \(goal): \((Double(value) ?? 0) >= goal ? "met" : "missed"))"
    }
    let goals = rows.filter { $0[0] == "1" }.map { r -> String in
        let size = Int(r[1])!
        var g: [String] = []
        switch size {
        case 64: g.append("group vs limit " + verdict(r[8], 0.5)); g.append("group vs pmemobj " + verdict(r[12], 10))
        case 256: g.append("group vs limit " + verdict(r[8], 0.6))
        default: if size >= 4096 { g.append("group vs limit " + verdict(r[8], 0.85)) }
        }
        g.append("commit-each vs pmemlog " + verdict(r[11], 1.5))
        return "  1T \(humanSize(size)): " + g.joined(separator: "; ")
    }
    print("goals (one thread):")
    goals.forEach { print($0) }
    // The batch API on its own lines: not the issue's figure (that is the per-call group commit above).
    print("batch append (append(batch:recordLength:), up to 4 KiB of records per call; not the issue's per-call figure):")
    for r in rows where r[0] == "1" { print("  1T \(humanSize(Int(r[1])!)): batch append ÷ limit \(r[16]) (\(r[15]) MiB/s), per call \(r[8])") }
    try Chart(
        title: "Append throughput by record size (payload MiB/s)", subtitle: ctx.granularityNote,
        xLabel: "record size", yLabel: "MiB/s", logX: true, logY: true,
        series: series.keys.sorted { a, b in
            let ia = names.firstIndex { a.hasPrefix($0) }!, ib = names.firstIndex { b.hasPrefix($0) }!
            return ia != ib ? ia < ib : a < b
        }.map { Chart.Series(name: $0, points: series[$0]!) },
        xTickValues: [64, 256, 4096, 65536], xTickLabel: byteTick
    ).write(ctx, "peers")
}

/// Times `body(thread)` on `threads` threads started together; median over repetitions.
func timeThreads(_ ctx: Context, _ threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws -> Double {
    try timeThreads(ctx, threads, setup: { () }, teardown: { _ in }) { t, _ in try body(t) }
}

func timeThreads<S>(
    _ ctx: Context, _ threads: Int, setup: () throws -> S, teardown: (S) throws -> Void,
    _ body: @escaping (Int, S) throws -> Void
) throws -> Double {
    var samples: [Double] = []
    for rep in 0..<(ctx.repetitions + 1) {
        let state = try setup()
        let box = ErrorBox()
        let shared = UncheckedBox((state, body))
        let start = monotonicNanoseconds()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            do { try shared.value.1(t, shared.value.0) } catch { box.set(error) }
        }
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        try teardown(state)
        if let e = box.error { throw e }
        if rep > 0 { samples.append(elapsed) }
    }
    return Timing(samples: samples).median
}

/// Hands non-Sendable benchmark state to worker threads.
final class UncheckedBox<T>: @unchecked Sendable {
    // SAFETY: each worker thread touches only its own lane / list / file.
    let value: T
    init(_ v: T) { value = v }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var e: Error?
    func set(_ error: Error) { lock.lock(); if e == nil { e = error }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return e }
}

/// A read-only source buffer shared by worker threads.
struct SendablePointer: @unchecked Sendable {
    // SAFETY: the bytes are written once before the threads start and only read after.
    let pointer: UnsafeRawPointer
    init(_ p: UnsafeRawPointer) { pointer = p }
}
