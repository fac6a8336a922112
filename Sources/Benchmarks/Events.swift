import Foundation
import GuestRecording
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
    let events = syntheticEvents()
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
            var encoder = MemoryAccessBatch.Encoder(buffer: buffer, kind: .memoryAccessStreams)
            var done = 0
            try shared.value.withUnsafeBufferPointer { all in
                while done < perThread {
                    let start = (done + t * 977) % (all.count - batch)
                    encoder.reset()
                    // The whole batch in one call (room checked once, as pmt_append_accesses does).
                    let taken = encoder.append(contentsOf: UnsafeBufferPointer(rebasing: all[start..<(start + batch)]))
                    precondition(taken == batch, "the buffer holds a whole batch")
                    try w.append(encoder.payload(), kind: encoder.kind)
                    done += batch
                }
            }
            w.commit()
        }
        var sample: [UInt8] = []
        events.withUnsafeBufferPointer { MemoryAccessBatch.encode(UnsafeBufferPointer(rebasing: $0[0..<batch]), kind: .memoryAccessStreams, into: &sample) }
        encodedBytes = sample.count
        let rate = Double(perThread * threads) / seconds
        rows.append([String(threads), String(perThread * threads), fmt(seconds * 1000, 1), fmt(rate / 1e6, 1), fmt(Double(encodedBytes) / Double(batch), 2)])
        print("  \(threads) lane(s)/thread(s): \(fmt(rate / 1e6, 1)) M events/s, \(fmt(Double(encodedBytes) / Double(batch), 2)) bytes/event")
    }
    let header = ["threads", "events", "ms", "M_events_per_s", "bytes_per_event"]
    try writeCSV(ctx, "events", header: header, rows: rows)
    printTable(header, rows)
    let oneLane = Double(rows[0][3])!
    print("goal: 1 lane \(fmt(oneLane, 1)) M events/s = \(fmt(1e3 / oneLane, 2)) ns/event (goal ≥ 250 M/s, ≤ 4 ns)")
    try encoderAlone(events, batch: batch, total: perThread)
    try realTraceBytes(ctx)
    try Chart(
        title: "Memory-access events through the batch encoding", subtitle: ctx.granularityNote,
        xLabel: "writer threads (one lane each)", yLabel: "million events / s", logX: false, logY: false,
        series: [Chart.Series(name: "PMTrace, group commit", points: rows.map { (Double($0[0])!, Double($0[3])!) })],
        xTickValues: [1, 2], xTickLabel: { String(format: "%.0f", $0) }
    ).write(ctx, "events")
}


/// Bytes per access of both batch encodings on a real trace: valgrind lackey
/// on `ls -l /usr/bin`, imported, then every batch re-encoded as kind 2
/// (one address stream, §8.2) and kind 12 (one per access kind, §8.12).
/// Skipped without valgrind or in quick mode.
func realTraceBytes(_ ctx: Context) throws {
    guard !ctx.quick, Tools.which("valgrind") != nil else {
        print("  real trace: skipped (quick mode or no valgrind)")
        return
    }
    let pmtraceBin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pmtrace").path
    guard FileManager.default.isExecutableFile(atPath: pmtraceBin) else {
        print("  real trace: skipped (\(pmtraceBin) is missing: build it with `swift build -c release --product pmtrace`)")
        return
    }
    let pool = ctx.poolPath("events-real")
    let trace = ctx.poolPath("events-real-trace")
    defer { unlink(pool); unlink(trace) }
    _ = try runTool(pmtraceBin, ["format", pool, "--size", "1G", "--force"])
    _ = try runTool("/bin/sh", ["-c", "valgrind --tool=lackey --trace-mem=yes --log-file=\(trace) ls -l /usr/bin >/dev/null 2>&1; exec \(pmtraceBin) import-lackey \(pool) lackey \(trace)"])
    let p = try TracePool.open(path: pool, writable: false)
    let reader = try p.store.openReader(volume: "lackey")
    var accesses: [MemoryAccess] = []
    var out: [UInt8] = []
    var count = 0, single = 0, streams = 0
    while let r = try reader.next() {
        guard MemoryAccessBatch.isBatch(r.kind) else { continue }
        accesses.removeAll(keepingCapacity: true)
        try r.withContiguousPayload { payload in
            try MemoryAccessBatch.forEach(payload, kind: r.kind) { accesses.append($0) }
        }
        accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: .memoryAccessBatch, into: &out) }
        single += out.count
        accesses.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: .memoryAccessStreams, into: &out) }
        streams += out.count
        count += accesses.count
    }
    let b2 = Double(single) / Double(max(count, 1)), b12 = Double(streams) / Double(max(count, 1))
    print("  real trace (valgrind lackey, ls -l /usr/bin, \(count) accesses): kind 2 \(fmt(b2, 2)) bytes/access, kind 12 \(fmt(b12, 2)) (goal ≤ 4.0)")
    try writeCSV(ctx, "events-real", header: ["accesses", "kind2_bytes_per_access", "kind12_bytes_per_access"],
                 rows: [[String(count), fmt(b2, 3), fmt(b12, 3)]])
}

/// The encoder alone (no store), in thread CPU time so other processes on
/// the machine do not count: ns per event for both batch kinds.
func encoderAlone(_ events: [MemoryAccess], batch: Int, total: Int) throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: MemoryAccessBatch.headerBytes + batch * MemoryAccessBatch.maxAccessBytes, alignment: 64)
    defer { buffer.deallocate() }
    var line = "  encoder alone (thread CPU time):"
    var sink = 0
    /// Best of 3 of `encode` over `total` events, batch by batch: ns per event.
    func nsPerEvent(_ encoder: inout MemoryAccessBatch.Encoder,
                    _ encode: (inout MemoryAccessBatch.Encoder, UnsafeBufferPointer<MemoryAccess>) -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = threadCPUSeconds()
            var done = 0
            events.withUnsafeBufferPointer { all in
                while done < total {
                    let from = done % (all.count - batch)
                    encoder.reset()
                    encode(&encoder, UnsafeBufferPointer(rebasing: all[from..<(from + batch)]))
                    sink &+= encoder.payload().count
                    done += batch
                }
            }
            best = min(best, threadCPUSeconds() - start)
        }
        return best / Double(total) * 1e9
    }
    for kind in [RecordKind.memoryAccessBatch, .memoryAccessStreams] {
        var encoder = MemoryAccessBatch.Encoder(buffer: buffer, kind: kind)
        let each = nsPerEvent(&encoder) { e, run in for a in run { e.append(a) } }
        // The same through append(contentsOf:), as the events experiment uses it.
        let bulk = nsPerEvent(&encoder) { e, run in _ = e.append(contentsOf: run) }
        line += " kind \(kind.rawValue) \(fmt(each, 2)) ns/event (\(fmt(bulk, 2)) in bulk)\(sink == 0 ? "" : "")"
    }
    // Kind 9 as the QEMU plugin's encoder thread builds it: guest-physical
    // address, virtual address (a translation delta) and PC for each access.
    let guests = events.map { e in
        GuestAccess(kind: e.kind == .store ? .store : .load, size: e.size, physical: e.address & 0x7FF_FFFF,
                    virtual: 0xFFFF_8880_0000_0000 &+ (e.address & 0x7FF_FFFF), pc: 0xFFFF_FFFF_8100_0000 &+ (e.address & 0xFFFF))
    }
    let guestBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
    defer { guestBuffer.deallocate() }
    var encoder = GuestAccessBatch.Encoder(buffer: guestBuffer)
    var best = Double.infinity
    for _ in 0..<3 {
        let start = threadCPUSeconds()
        var done = 0
        encoder.reset(fields: [.virtual, .pc], firstIndex: 0)
        guests.withUnsafeBufferPointer { all in
            while done < total {
                for a in all[(done % all.count)..<min(all.count, done % all.count + batch)] {
                    if !encoder.hasRoom { encoder.reset(fields: [.virtual, .pc], firstIndex: 0) }
                    encoder.append(a)
                }
                done += batch
            }
        }
        best = min(best, threadCPUSeconds() - start)
    }
    line += "; kind 9 (GPA, virtual, PC) \(fmt(best / Double(total) * 1e9, 2)) ns/access"
    // The same accesses as the plugin's 16-byte slot entries through
    // append(packed:…) (what pmt_append_guest_entries runs; sizes as powers of two).
    var words: [UInt64] = []
    words.reserveCapacity(guests.count * 2 + 2)
    words += [GuestAccessBatch.Packed.translationFlag, 0xFFFF_8880_0000_0000]
    for a in guests {
        words += [GuestAccessBatch.Packed.word(kind: a.kind, sizeShift: UInt8(a.size.trailingZeroBitCount & 7), address: a.physical), a.pc]
    }
    best = .infinity
    for _ in 0..<3 {
        let start = threadCPUSeconds()
        var done = 0, translation: UInt64 = 0
        encoder.reset(fields: [.virtual, .pc], firstIndex: 0)
        words.withUnsafeBytes { raw in
            let entries = words.count / 2
            while done < total {
                var i = done % entries
                let end = min(entries, i + batch)
                while i < end {
                    let (taken, _) = encoder.append(packed: raw.baseAddress! + i * 16, count: end - i, translation: &translation)
                    i += taken
                    if taken == 0 || !encoder.hasRoom { encoder.reset(fields: [.virtual, .pc], firstIndex: 0) }
                }
                done += batch
            }
        }
        best = min(best, threadCPUSeconds() - start)
    }
    line += " (\(fmt(best / Double(total) * 1e9, 2)) from packed entries)"
    print(line)
}

/// The events experiment's workload: 2^20 accesses that mimic a program.
func syntheticEvents() -> [MemoryAccess] {
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
    return events
}

/// The encoder alone, for a profiler: `_profile-encode` (16 M events, both kinds).
func profileEncode() throws {
    try encoderAlone(syntheticEvents(), batch: 4096, total: 16 << 20)
}

func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
