import Foundation
import PMTrace
import TraceVolume

/// Experiment 5: mount (recovery) time against region size, with little in
/// use, and against the number of segments in use in one region. Regions are
/// sparse files: mount reads metadata and chain headers only.
func runMount(_ ctx: Context) throws {
    print("\n== mount: time to mount vs region size and vs segments in use, median of \(max(5, ctx.repetitions))")
    let attributes = try? FileManager.default.attributesOfFileSystem(forPath: ctx.poolDir)
    let largest = (attributes?[.systemFreeSize] as? NSNumber)?.uint64Value ?? 0
    let maxSize: UInt64 = ctx.quick ? 16 << 30 : 4 << 40
    var sizes: [UInt64] = []
    var s: UInt64 = 1 << 30
    while s <= maxSize { sizes.append(s); s <<= 2 }
    var rowsA: [[String]] = []
    var pointsA: [(x: Double, y: Double)] = []
    for size in sizes {
        let path = ctx.poolPath("mount-size")
        defer { unlink(path) }
        do {
            let pool = try TracePool.format(path: path, size: size, force: true, reserve: false)
            try pool.store.createVolume(named: "small")
            let w = try pool.store.openWriter(volume: "small")
            try w.append(bytes: [UInt8](repeating: 1, count: 1000))
            w.close()
        }
        let t = try mountTime(ctx, path)
        let segments = size / (1 << 20)
        rowsA.append([String(size), String(segments), fmt(t * 1000, 3)])
        pointsA.append((Double(size), t))
        print("  region \(humanSize(Int(size)).padding(toLength: 5, withPad: " ", startingAt: 0)) (\(segments) segments): \(fmt(t * 1000, 3)) ms")
    }
    try writeCSV(ctx, "mount-size", header: ["region_bytes", "segments", "mount_ms"], rows: rowsA)
    print("largest region tried: \(humanSize(Int(sizes.last!))) (sparse file; \(humanSize(Int(largest))) free in \(ctx.poolDir))")

    // Segments in use: one region of 64 KiB segments, a 4-lane volume filled to N segments.
    // Records of 33 KiB, contiguous: one per segment, half of each segment's pages untouched.
    let inUse = ctx.quick ? [16, 256, 2048] : [16, 256, 2048, 16384, 65536, 100_000]
    let regionSize = UInt64(inUse.last! + 1024) * (64 << 10)
    var rowsB: [[String]] = []
    var pointsB: [(x: Double, y: Double)] = []
    let path = ctx.poolPath("mount-used")
    defer { unlink(path) }
    let record = [UInt8](repeating: 7, count: 33 << 10)
    var profile: [(String, Double)] = []
    for n in inUse {
        do {
            let pool = try TracePool.format(path: path, size: regionSize,
                                            parameters: FormatParameters(segmentSize: 64 << 10), force: true, reserve: false)
            try pool.store.createVolume(named: "filled", lanes: 4)
            let writers = try (0..<4).map { try pool.store.openWriter(volume: "filled", lane: $0) }
            for i in 0..<n { try writers[i % 4].append(bytes: record, contiguous: true) }  // one record per segment
            writers.forEach { $0.close() }
            guard pool.store.space.total - pool.store.space.free == UInt64(n) else { throw BenchError("expected \(n) segments in use") }
        }
        let t = try mountTime(ctx, path)
        rowsB.append([String(n), fmt(t * 1000, 3), fmt(t / Double(n) * 1e9, 0)])
        pointsB.append((Double(n), t))
        let goal = n == 100_000 ? " — goal ≤ 50 ms: \(t * 1000 <= 50 ? "met" : "missed") (\(fmt(50 / (t * 1000), 2))× the goal's speed)" : ""
        print("  \(n) segments in use: \(fmt(t * 1000, 3)) ms (\(fmt(t / Double(n) * 1e9, 0)) ns per segment)\(goal)")
        if n == inUse.last! { profile = try mountProfile(ctx, path: path, used: n) }
    }
    print("  where the time goes at \(inUse.last!) segments in use (each part on a fresh mapping, median of \(max(5, ctx.repetitions))):")
    for (what, t) in profile {
        print("    \(what): \(fmt(t * 1000, 3)) ms (\(fmt(t / Double(inUse.last!) * 1e9, 0)) ns per segment)")
    }
    if profile.count >= 2 {
        print("  summary vs header walk, same run: \(fmt(profile[1].1 / profile[0].1, 1))× faster")
    }
    try writeCSV(ctx, "mount-profile", header: ["part", "ms", "ns_per_segment"],
                 rows: profile.map { [$0.0.trimmingCharacters(in: .whitespaces), fmt($0.1 * 1000, 3), fmt($0.1 / Double(inUse.last!) * 1e9, 0)] })
    try writeCSV(ctx, "mount-segments", header: ["segments_in_use", "mount_ms", "ns_per_segment"], rows: rowsB)
    try writeCSV(ctx, "mount", header: ["series", "x", "mount_ms"],
                 rows: rowsA.map { ["region_bytes", $0[0], $0[2]] } + rowsB.map { ["segments_in_use", $0[0], $0[1]] })
    try Chart(
        title: "Mount time vs region size (one small volume)", subtitle: ctx.granularityNote,
        xLabel: "region size", yLabel: "mount time (s)", logX: true, logY: true,
        series: [Chart.Series(name: "mount, 1 MiB segments", points: pointsA)],
        xTickValues: sizes.map { Double($0) }, xTickLabel: byteTick
    ).write(ctx, "mount")
    try Chart(
        title: "Mount time vs segments in use (4-lane volume, 64 KiB segments)", subtitle: ctx.granularityNote,
        xLabel: "segments in use", yLabel: "mount time (s)", logX: true, logY: true,
        series: [Chart.Series(name: "mount", points: pointsB)],
        xTickValues: inUse.map { Double($0) }, xTickLabel: { String(format: "%.0f", $0) }
    ).write(ctx, "mount-segments")
}

/// Median wall time of opening the pool read-only and mounting it.
func mountTime(_ ctx: Context, _ path: String) throws -> Double {
    let t = try measure(warmup: 1, repetitions: max(5, ctx.repetitions)) { w in
        w.start()
        let pool = try TracePool.open(path: path, writable: false)
        w.stop()
        guard pool.store.warnings.isEmpty else { throw BenchError("mount found damage: \(pool.store.warnings)") }
    }
    return t.median
}
