import ArgumentParser
import Foundation
import Synchronization
import PMTrace
import TraceFormat
import TraceVolume

/// A byte count written `N[K|M|G|T|P|E]` (binary units, optional `B`/`iB`).
/// Parsed without overflow: anything above the largest file size
/// (`Int64.max`, just under 8 EiB) is refused here, not trapped on later.
struct ByteSize: ExpressibleByArgument {
    let bytes: UInt64

    init?(argument: String) { try? self.init(parsing: argument) }

    /// For `@Option(transform:)`: like `init?(argument:)` but the error says why.
    static func parse(_ argument: String) throws -> ByteSize { try ByteSize(parsing: argument) }

    init(parsing argument: String) throws {
        var s = argument.trimmingCharacters(in: .whitespaces).uppercased()
        var needsUnit = false
        if s.hasSuffix("IB") { s.removeLast(2); needsUnit = true } else if s.hasSuffix("B") { s.removeLast() }
        var shift: UInt64 = 0
        switch s.last {
        case "K": shift = 10
        case "M": shift = 20
        case "G": shift = 30
        case "T": shift = 40
        case "P": shift = 50
        case "E": shift = 60
        default: if needsUnit { throw CLIError("a unit K, M, G, T, P or E must come before iB") }
        }
        if shift > 0 { s.removeLast() }
        let digits = !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber }
        if digits, UInt64(s) == nil { throw CLIError("larger than any file can be (at most \(Int64.max) bytes, just under 8E)") }
        guard digits, let n = UInt64(s), n > 0 else {
            throw CLIError("expected a positive whole number with an optional unit K, M, G, T, P or E (binary)")
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow, v <= UInt64(Int64.max) else {
            throw CLIError("larger than any file can be (at most \(Int64.max) bytes, just under 8E)")
        }
        bytes = v
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// Shown as the default in `--help`: "64K", "1M".
    var defaultValueDescription: String {
        for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes % (1 << UInt64(shift)) == 0 {
            return "\(bytes >> UInt64(shift))\(unit)"
        }
        return "\(bytes)"
    }
}

/// Mounts the pool (`<path>` or `<path>@<offset>`, see `RegionPath`) and
/// reports on stderr what mount found and worked around.
func openPool(_ path: String, writable: Bool, commitInterval: Int = 8 << 20, repairAtMount: Bool = true) throws -> TracePool {
    var options = TracePool.options(commitInterval: commitInterval)
    options.rewritesDamagedSuperblockAtMount = repairAtMount
    let region = try RegionPath(path)
    let pool = try TracePool.open(path: region.path, offset: region.offset, writable: writable, options: options, readingTruncated: !writable)
    if let t = pool.truncation {
        TruncatedRegions.note()
        standardErrorWrite(Data(("pmtrace: warning: \(path): truncated: the file is \(t.fileBytes) bytes but its superblock records a region "
            + "of \(t.regionSize) bytes; reading what the file holds (the bytes past its end read as zeros: what lay there is reported "
            + "as damage, and the exit status is 1)\n").utf8))
    }
    reportWarnings(pool, path: path)
    return pool
}

/// Call before reporting that something was written: throws the mapping's
/// fault report (status 2) when a store may not have reached the region (a
/// bus error, or the file found cut short), since a commit after it was not
/// published.
func checkNothingLost(_ p: TracePool) throws {
    if let fault = p.mapping.mediaFault { throw fault }
}

/// Whether this run read a truncated region (`openPool` on a file shorter than
/// its region): however well the command went, the exit status is then 1,
/// the region is damaged. Thread-safe.
enum TruncatedRegions {
    private static let seen = Mutex(false)
    static func note() { seen.withLock { $0 = true } }
    static var any: Bool { seen.withLock { $0 } }
}

/// Prints the warnings mount produced (damaged superblock copy and so on) to stderr.
func reportWarnings(_ pool: TracePool, path: String) {
    for w in pool.store.warnings {
        standardErrorWrite(Data("pmtrace: warning: \(path): \(TerminalText.escape(w.description))\n".utf8))
    }
    let superblockDamaged = pool.store.warnings.contains {
        if case .damaged(let e) = $0, case .superblock = e.structure { return true }
        return false
    }
    if superblockDamaged {
        // fsck mounts without the rewrite (its check repairs, backs up and reports it):
        // saying "rewritten" there was false when the backup then failed (adversary s23b B10).
        let rewritten = pool.store.writable && pool.store.options.rewritesDamagedSuperblockAtMount
        standardErrorWrite(Data("pmtrace: mounted from superblock copy \(pool.store.superblockCopy == 0 ? "A" : "B")\(rewritten ? "; the damaged copy was rewritten" : "")\n".utf8))
    }
}

/// Writes `data` to standard error. A failure to write there (a closed or
/// full stream) is ignored: there is nowhere left to report it, and it must
/// not end the command (Foundation's `FileHandle.write` traps on it).
func standardErrorWrite(_ data: Data) {
    data.withUnsafeBytes { try? OutputStream.writeAll(2, $0) }
}

/// Prints `value` as pretty JSON and a newline on standard output.
/// Throws "writing output: …" (status 2) when standard output cannot take it.
func printJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    var data = try e.encode(value)
    data.append(0x0A)
    try data.withUnsafeBytes { try OutputStream.writeAll(1, $0) }
}

func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}

func formatTime(_ ns: UInt64) -> String {
    guard ns > 0 else { return "-" }
    let d = Date(timeIntervalSince1970: Double(ns) / 1e9)
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: d)
}

/// Progress on stderr, only when stderr is a terminal; at most 4 updates a second.
struct Progress {
    let enabled = isatty(2) != 0
    let label: String
    let start = monotonicNanoseconds()
    var last: UInt64 = 0

    init(_ label: String) { self.label = label }

    mutating func update(bytes: UInt64, total: UInt64? = nil) {
        guard enabled else { return }
        let now = monotonicNanoseconds()
        guard now - last > 250_000_000 else { return }
        last = now
        let seconds = Double(now - start) / 1e9
        let rate = seconds > 0 ? Double(bytes) / seconds / 1_048_576 : 0
        var line = "\r\(label): \(formatBytes(bytes))"
        if let total, total > 0 { line += String(format: " of %@ (%.0f%%)", formatBytes(total), 100 * Double(bytes) / Double(total)) }
        line += String(format: ", %.0f MiB/s   ", rate)
        standardErrorWrite(Data(line.utf8))
    }

    func done() {
        guard enabled, last != 0 else { return }
        standardErrorWrite(Data("\r\u{1B}[K".utf8))
    }
}

/// `date` as ns since the Unix epoch, clamped to 0 … UInt64.max (a clock set
/// before 1970 or past 2554 gives a bound, never a trap).
func unixNanoseconds(_ date: Date) -> UInt64 {
    let ns = date.timeIntervalSince1970 * 1e9
    guard ns > 0 else { return 0 }  // also NaN
    guard ns < 18_446_744_073_709_549_568 else { return .max }  // the largest Double below 2^64
    return UInt64(ns)
}
