import ArgumentParser
import Foundation
import PMTrace
import TraceFormat
import TraceVolume

/// A one-line error for the user; ArgumentParser prints it and exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs `body`, turning store and mapping errors into one-line messages.
func runChecked<R>(_ body: () throws -> R) throws -> R {
    do { return try body() }
    catch let e as PoolError { throw CLIError(e.description) }
    catch let e as TraceError { throw CLIError(e.description) }
    catch let e as CLIError { throw e }
    catch let e as ExitCode { throw e }
    catch { throw CLIError("\(error)") }
}

/// A byte count written `N[K|M|G|T]` (binary units).
struct ByteSize: ExpressibleByArgument {
    let bytes: UInt64

    init?(argument: String) {
        var s = argument.trimmingCharacters(in: .whitespaces).uppercased()
        var needsUnit = false
        if s.hasSuffix("IB") { s.removeLast(2); needsUnit = true } else if s.hasSuffix("B") { s.removeLast() }
        var multiplier: UInt64 = 1
        switch s.last {
        case "K": multiplier = 1 << 10
        case "M": multiplier = 1 << 20
        case "G": multiplier = 1 << 30
        case "T": multiplier = 1 << 40
        default: if needsUnit { return nil }
        }
        if multiplier > 1 { s.removeLast() }
        guard let n = UInt64(s), n > 0 else { return nil }
        let (v, overflow) = n.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
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

/// Volume name as given on the command line, checked byte for byte: the
/// shell may hand over bytes that are not UTF-8, which Swift would repair.
func volumeName(_ argument: String) throws -> String {
    for i in 0..<Int(CommandLine.argc) {
        guard let raw = CommandLine.unsafeArgv[i] else { continue }
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw)))
        if String(decoding: bytes, as: UTF8.self) == argument {
            try TraceStore.validateName(bytes)
            return argument
        }
    }
    try TraceStore.validateName(Array(argument.utf8))
    return argument
}

/// Mounts the pool and reports on stderr what mount found and worked around.
func openPool(_ path: String, writable: Bool, commitInterval: Int = 8 << 20) throws -> TracePool {
    let options = StoreOptions(commitInterval: commitInterval, clock: realtimeNanoseconds)
    let pool = try runChecked { try TracePool.open(path: path, writable: writable, options: options) }
    reportWarnings(pool)
    return pool
}

/// Prints the warnings mount produced (damaged superblock copy and so on) to stderr.
func reportWarnings(_ pool: TracePool) {
    for w in pool.store.warnings {
        FileHandle.standardError.write(Data("pmtrace: warning: \(w)\n".utf8))
    }
    let superblockDamaged = pool.store.warnings.contains {
        if case .damaged(let e) = $0, case .superblock = e.structure { return true }
        return false
    }
    if superblockDamaged {
        FileHandle.standardError.write(Data("pmtrace: mounted from superblock copy \(pool.store.superblockCopy == 0 ? "A" : "B")\(pool.store.writable ? "; the damaged copy was rewritten" : "")\n".utf8))
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    FileHandle.standardOutput.write(try e.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
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
        FileHandle.standardError.write(Data(line.utf8))
    }

    func done() {
        guard enabled, last != 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
