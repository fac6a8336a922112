import Foundation
import MetadataCatalog
import PMTrace
import PMTraceTesting
import TraceAnalysis

/// Symbolization: lookups per second on one core over the C library's table,
/// against llvm-symbolizer answering the same addresses in one batch, in the
/// same run; import time and bytes per symbol on media.
func runSymbols(_ ctx: Context) throws {
    let libc = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6"]
        .first { FileManager.default.fileExists(atPath: $0) } ?? "/usr/lib/x86_64-linux-gnu/libc.so.6"
    print("\n== symbols: \(libc)")
    let path = ctx.poolPath("symbols")
    defer { unlink(path) }
    try prefilledFile(path, size: 64 << 20)
    let pool = try TracePool.format(path: path, size: 64 << 20, force: true)
    let catalog = try MetadataCatalog(store: pool.store)
    // Import time (each import replaces the previous table of the same build).
    var summary: MetadataCatalog.TableSummary?
    let importTime = try measure(warmup: 1, repetitions: 5) { w in
        w.start()
        summary = try catalog.importELF(at: libc, app: "libc")
        w.stop()
    }
    let s = summary!
    let perSymbol = Double(s.bytes) / Double(s.symbols)
    print("  import: \(fmt(importTime.median * 1000, 1)) ms median for \(s.symbols) symbols (\(s.ranges) ranges); \(s.bytes) bytes on media = \(fmt(perSymbol, 1)) bytes/symbol")

    let elf = try ELFFile(contentsOf: libc)
    guard let text = elf.sections.first(where: { $0.name == ".text" }) else { throw BenchError("\(libc) has no .text") }
    var rng = SplitMix64(seed: 99)
    let maxCount = ctx.quick ? 1_000_000 : 10_000_000
    let addresses = (0..<maxCount).map { _ in text.address + rng.next() % text.size }
    let noDebug = NSTemporaryDirectory() + "pmtrace-bench-no-debug-\(getpid())"
    try FileManager.default.createDirectory(atPath: noDebug, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: noDebug) }
    // Two like-for-like settings: the file's own symbols on both sides (llvm-symbolizer kept
    // away from debug files), and, where the C library's debug file is installed, its full
    // .symtab for us and llvm-symbolizer's default use of that file.
    var settings: [(name: String, app: String, llvmArgs: [String])] = [("own .dynsym", "libc-own", ["--debug-file-directory=\(noDebug)"])]
    if MetadataCatalog.hasDebugFile(for: elf) { settings.append(("with debug file", "libc", [])) }
    try catalog.importELF(at: libc, app: "libc-own", useDebugFile: false)
    let symbolizer = llvmSymbolizer()
    var rows: [[String]] = []
    var series: [Chart.Series] = []
    var summaries: [String] = []
    for setting in settings {
        let table = try catalog.table(app: setting.app)
        var ours: [(x: Double, y: Double)] = [], theirs: [(x: Double, y: Double)] = []
        var found = 0
        for n in [1000, 10_000, 100_000, 1_000_000, 10_000_000] where n <= maxCount {
            let t = addresses.withUnsafeBufferPointer { a in
                measure(warmup: 1, repetitions: max(3, ctx.repetitions)) { w in
                    var hits = 0
                    w.start()
                    table.lookup(UnsafeBufferPointer(rebasing: a[0..<n])) { _, m in if m != nil { hits += 1 } }
                    w.stop()
                    found = hits
                }
            }
            ours.append((Double(n), Double(n) / t.median))
            rows.append([setting.name, "pmtrace", String(n), fmt(t.median * 1000, 3), fmt(Double(n) / t.median / 1e6, 2), String(found)])
        }
        if let symbolizer {
            for n in [1000, 10_000, 100_000, 1_000_000] where n <= (ctx.quick ? 10_000 : 1_000_000) {
                let input = addresses[0..<n].map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
                var samples: [Double] = []
                for _ in 0..<(ctx.quick ? 1 : 3) {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: symbolizer)
                    p.arguments = ["--obj=\(libc)", "--functions=linkage", "--no-inlines", "--output-style=LLVM"] + setting.llvmArgs
                    let inPipe = Pipe(), outPipe = Pipe()
                    p.standardInput = inPipe
                    p.standardOutput = outPipe
                    p.standardError = FileHandle.nullDevice
                    let start = monotonicNanoseconds()
                    try p.run()
                    let writer = Thread { inPipe.fileHandleForWriting.write(Data(input.utf8)); try? inPipe.fileHandleForWriting.close() }
                    writer.start()
                    _ = outPipe.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    samples.append(Double(monotonicNanoseconds() - start) / 1e9)
                }
                let t = Timing(samples: samples)
                theirs.append((Double(n), Double(n) / t.median))
                rows.append([setting.name, "llvm-symbolizer", String(n), fmt(t.median * 1000, 3), fmt(Double(n) / t.median / 1e6, 4), "-"])
            }
        }
        let best = ours.map(\.y).max() ?? 0
        var line = "  \(setting.name): pmtrace \(fmt(best / 1e6, 1)) M lookups/s on one core (goal ≥ 10 M/s)"
        if let llvmBest = theirs.map(\.y).max() {
            line += "; llvm-symbolizer \(fmt(llvmBest / 1e6, 2)) M/s on its largest batch → \(fmt(best / llvmBest, 0))× (goal ≥ 100×)"
        }
        summaries.append(line)
        series.append(Chart.Series(name: "PMTrace, \(setting.name)", points: ours))
        if !theirs.isEmpty { series.append(Chart.Series(name: "llvm-symbolizer, \(setting.name)", points: theirs)) }
    }
    let header = ["symbols", "tool", "addresses", "ms", "M_lookups_per_s", "found"]
    try writeCSV(ctx, "symbols", header: header, rows: rows)
    printTable(header, rows)
    summaries.forEach { print($0) }
    print("  import of \(s.symbols) symbols: \(fmt(importTime.median * 1000, 1)) ms; \(fmt(perSymbol, 1)) bytes/symbol on media")
    try Chart(
        title: "Symbolization throughput over the C library's table (one core)", subtitle: ctx.granularityNote,
        xLabel: "addresses in the batch", yLabel: "lookups / s", logX: true, logY: true, series: series,
        xTickValues: [1000, 10_000, 100_000, 1_000_000, 10_000_000], xTickLabel: { String(format: "%.0f", $0) }
    ).write(ctx, "symbols")
}

/// The Swift toolchain's llvm-symbolizer (one known version), else one on PATH.
func llvmSymbolizer() -> String? {
    var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
    if let swift = dirs.lazy.map({ "\($0)/swift" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
        dirs.insert(URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent().path, at: 0)
    }
    return dirs.map { "\($0)/llvm-symbolizer" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}
