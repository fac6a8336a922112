import Foundation
import PMTrace

/// Timing of one figure: repetitions after a warm-up, median / min / max.
struct Timing {
    var samples: [Double]  // seconds
    var median: Double { let s = samples.sorted(); return s[s.count / 2] }
    var min: Double { samples.min()! }
    var max: Double { samples.max()! }
}

/// Runs `body` `warmup` times untimed, then `repetitions` times timed with
/// the monotonic clock. `body` may do untimed setup through `Stopwatch`.
func measure(warmup: Int = 1, repetitions: Int, _ body: (inout Stopwatch) throws -> Void) rethrows -> Timing {
    var samples: [Double] = []
    for i in 0..<(warmup + repetitions) {
        var w = Stopwatch()
        try body(&w)
        if i >= warmup { samples.append(w.elapsed) }
    }
    return Timing(samples: samples)
}

/// Accumulates only the spans between `start()` and `stop()`.
struct Stopwatch {
    private var began: UInt64 = 0
    private(set) var total: UInt64 = 0
    mutating func start() { began = monotonicNanoseconds() }
    mutating func stop() { total += monotonicNanoseconds() - began }
    var elapsed: Double { Double(total) / 1e9 }
}

/// Where results go and how big the runs are.
struct Context {
    var outDir: URL
    var poolDir: String
    var quick: Bool
    /// `vm` runs only the two boots of the recording-overhead comparison.
    var vmOverheadOnly = false
    /// `vm` boots this many off/on pairs (alternating) and reports the
    /// median pair's overhead (1: one pair, the bounded default).
    var vmPairs = 1
    var repetitions: Int { quick ? 1 : 3 }
    /// One line for every output: what libpmem2 was asked for and gave.
    var granularityNote: String

    func poolPath(_ name: String) -> String { "\(poolDir)/pmtrace-bench-\(getpid())-\(name).pool" }
}

/// A zero-filled file of `size` bytes whose pages exist, so no run pays the
/// first-touch cost of tmpfs (page clearing) inside its timed part.
func prefilledFile(_ path: String, size: Int) throws {
    unlink(path)
    guard let f = fopen(path, "w") else { throw BenchError("\(path): \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    var left = size
    while left > 0 {
        let n = Swift.min(left, zeros.count)
        guard fwrite(zeros, 1, n, f) == n else { throw BenchError("\(path): write failed") }
        left -= n
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Writes rows to `<out>/<name>.csv`: a comment line with the granularity, one per note
/// (what the columns mean), the header, the rows.
func writeCSV(_ ctx: Context, _ name: String, header: [String], rows: [[String]], notes: [String] = []) throws {
    var text = "# \(ctx.granularityNote)\n" + notes.map { "# \($0)\n" }.joined() + header.joined(separator: ",") + "\n"
    for r in rows { text += r.joined(separator: ",") + "\n" }
    try text.write(to: ctx.outDir.appendingPathComponent("\(name).csv"), atomically: true, encoding: .utf8)
}

func mibPerSecond(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1_048_576 }

func fmt(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }

func humanSize(_ n: Int) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30)G" }
    if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20)M" }
    if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10)K" }
    return "\(n)"
}

/// Prints a left-aligned table.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for r in rows { print(line(r)) }
}
