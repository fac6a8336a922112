import Foundation
import PMTrace
import PMTraceTesting
import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

/// Experiment 4: memory-access events per second through the compact batch
/// encoding (4096 events per record, group commit), one lane, and two lanes
/// on two threads. Events mimic a program: mostly sequential instruction
/// fetches, stack and heap loads/stores nearby, an occasional far jump.
func runEvents(_ ctx: Context) throws {
    let perThread = ctx.quick ? 1 << 20 : 16 << 20
    let batch = 4096
    print("\n== events: \(perThread) memory-access events per thread, batches of \(batch), median of \(ctx.repetitions)")
    var rng = SplitMix64(seed: 7)
    var events: [MemoryAccess] = []
    events.reserveCapacity(1 << 20)
    var pc: UInt64 = 0x40_1000, sp: UInt64 = 0x7FFF_F000, heap: UInt64 = 0x5555_0000
    for _ in 0..<(1 << 20) {
        let r = rng.next() % 100
        switch r {
        case 0..<60: pc &+= rng.next() % 8; events.append(.init(kind: .instructionFetch, address: pc, size: UInt32(1 + rng.next() % 7)))
        case 60..<80: events.append(.init(kind: .load, address: sp &- rng.next() % 256, size: 8))
        case 80..<92: heap &+= rng.next() % 64; events.append(.init(kind: .store, address: heap, size: 4))
        case 92..<98: events.append(.init(kind: .modify, address: sp &- rng.next() % 64, size: 8))
        default: pc = 0x40_0000 + rng.next() % 0x10_0000
        }
    }
    let path = ctx.poolPath("events")
    defer { unlink(path) }
    let poolSize = 2 * perThread * 6 + (64 << 20)
    try prefilledFile(path, size: poolSize)
    let pool = try TracePool.format(path: path, size: UInt64(poolSize), force: true)
    let shared = UncheckedBox(events)
    var rows: [[String]] = []
    for threads in [1, 2] {
        var rep = 0
        var encodedBytes = 0
        let seconds = try timeThreads(ctx, threads, setup: { () throws -> [LaneWriter] in
            rep += 1
            try pool.store.createVolume(named: "events-\(rep)", lanes: threads)
            return try (0..<threads).map { try pool.store.openWriter(volume: "events-\(rep)", lane: $0) }
        }, teardown: { writers in
            writers.forEach { $0.close() }
            try pool.store.deleteVolume("events-\(rep)")
        }) { t, writers in
            let w = writers[t]
            // The allocation-free encoder the bare-metal writer and the C API use.
            let buffer = UnsafeMutableRawBufferPointer.allocate(
                byteCount: MemoryAccessBatch.headerBytes + batch * MemoryAccessBatch.maxAccessBytes, alignment: 64)
            defer { buffer.deallocate() }
            var encoder = MemoryAccessBatch.Encoder(buffer: buffer)
            var done = 0
            try shared.value.withUnsafeBufferPointer { all in
                while done < perThread {
                    let start = (done + t * 977) % (all.count - batch)
                    encoder.reset()
                    for a in all[start..<(start + batch)] { encoder.append(a) }
                    try w.append(encoder.payload(), kind: .memoryAccessBatch)
                    done += batch
                }
            }
            w.commit()
        }
        var sample: [UInt8] = []
        events.withUnsafeBufferPointer { MemoryAccessBatch.encode(UnsafeBufferPointer(rebasing: $0[0..<batch]), into: &sample) }
        encodedBytes = sample.count
        let rate = Double(perThread * threads) / seconds
        rows.append([String(threads), String(perThread * threads), fmt(seconds * 1000, 1), fmt(rate / 1e6, 1), fmt(Double(encodedBytes) / Double(batch), 2)])
        print("  \(threads) lane(s)/thread(s): \(fmt(rate / 1e6, 1)) M events/s, \(fmt(Double(encodedBytes) / Double(batch), 2)) bytes/event")
    }
    let header = ["threads", "events", "ms", "M_events_per_s", "bytes_per_event"]
    try writeCSV(ctx, "events", header: header, rows: rows)
    printTable(header, rows)
    try Chart(
        title: "Memory-access events through the batch encoding", subtitle: ctx.granularityNote,
        xLabel: "writer threads (one lane each)", yLabel: "million events / s", logX: false, logY: false,
        series: [Chart.Series(name: "PMTrace, group commit", points: rows.map { (Double($0[0])!, Double($0[3])!) })],
        xTickValues: [1, 2], xTickLabel: { String(format: "%.0f", $0) }
    ).write(ctx, "events")
}

