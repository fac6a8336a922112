import ArgumentParser
import Foundation
import GuestRecording
import PMTrace

/// An epoch named on the command line: a number, `last`, or a time.
struct EpochChoice: ExpressibleByArgument {
    enum Kind { case number(Int), last, time(UInt64), invalid(ISOTime.Problem) }
    let kind: Kind
    /// The argument as given.
    let text: String

    init?(argument: String) {
        text = argument
        if argument == "last" { kind = .last; return }
        if let n = Int(argument), n >= 0 { kind = .number(n); return }
        if argument.hasPrefix("@"), let ns = UInt64(argument.dropFirst()) { kind = .time(ns); return }
        guard ISOTime.looksLikeDate(argument) else { return nil }
        switch ISOTime.nanoseconds(argument) {
        case .success(let ns): kind = .time(ns)
        case .failure(let problem): kind = .invalid(problem)
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// Refuses a time that did not parse (for the command's `validate()`;
    /// `init(argument:)` cannot say why).
    func check(_ option: String) throws {
        guard case .invalid(let problem) = kind else { return }
        throw ValidationError(problem.message(option, text, help: "Give an epoch number, last, an ISO 8601 time (2026-11-27T13:53:59.144Z), or @<ns>."))
    }

    /// The epoch index in `memory`, or a one-line error.
    func resolve(_ epochs: GuestEpochs, volume: String) throws -> Int {
        let count = epochs.epochs.count
        switch kind {
        case .last: return count - 1
        case .number(let n):
            guard n < count else { throw CLIError("'\(volume)' has epochs 0…\(count - 1); there is no epoch \(n)", status: ExitStatus.refused) }
            return n
        case .invalid(let problem):
            throw CLIError(problem.message("epoch", text, help: ""))
        case .time(let t):
            guard let e = epochs.epochs.lastIndex(where: { $0.time <= t }) else {
                throw CLIError("no checkpoint of '\(volume)' was taken at or before that time (the base image is at \(formatTime(epochs.epochs[0].time)))", status: ExitStatus.refused)
            }
            return e
        }
    }
}

func openGuestMemory(_ pool: String, _ volume: String) throws -> (TracePool, GuestMemory) {
    let p = try openPool(pool, writable: false)
    do { return (p, try GuestMemory(store: p.store, volume: volume)) } catch let e as GuestEpochsError {
        throw CLIError("\(pool): \(e.description)", status: ExitStatus.refused)
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a recorded guest's physical memory as of a checkpoint into a sparse image file.",
        discussion: """
            The image holds guest-physical memory from GPA 0 (or --range's start) as of the epoch: the base \
            image and every later page image up to that checkpoint (FORMAT.md §8.10). Zero pages are left as \
            holes. --at takes an epoch number (see `pmtrace checkpoints`), `last`, an ISO 8601 time \
            (2026-11-27T13:53:59.144Z) or @<ns since the Unix epoch>: the last checkpoint taken at or before it.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume recorded by `pmtrace record-vm`.", transform: VolumeName.existing) var volume: VolumeName
    @Option(help: "Epoch number, last, an ISO 8601 time, or @<ns>.") var at: EpochChoice
    @Option(help: "Output image file (must not exist unless --force, which replaces a regular file only; the image is built beside it and moved there when whole).") var out: String
    @Option(help: "Only <gpa>:<length> (hex with 0x or decimal; whole 4 KiB pages).") var range: String?
    @Flag(help: "Replace an existing output file.") var force = false

    func validate() throws { try at.check("--at") }

    func run() throws {
        // An image is a sparse file written at page offsets, not a stream: `-` would only name a file "-".
        guard out != "-" else { throw CLIError("--out -: restore writes a sparse image file at page offsets; it cannot go to standard output or a pipe (give a file name)") }
        try OutputGuard.refuse(out, option: "--out", samePoolAs: pool)
        let (_, memory) = try openGuestMemory(pool, volume.value)
        let epoch = try at.resolve(memory.epochs, volume: volume.value)
        var r: (start: UInt64, length: UInt64)?
        if let range {
            let parts = range.split(separator: ":")
            guard parts.count == 2, let start = parseNumber(parts[0]), let length = parseNumber(parts[1]), length > 0 else {
                throw CLIError("--range \(range): expected <gpa>:<length> (hex with 0x, or decimal)")
            }
            // Ending exactly at 2^64 is allowed: the last byte is 2^64 - 1.
            guard length - 1 <= UInt64.max - start else { throw CLIError("--range \(range): the range ends past 2^64") }
            guard start % 4096 == 0, length % 4096 == 0 else { throw CLIError("--range \(range): start and length must be whole 4 KiB pages") }
            guard length <= GuestMemory.maxImageBytes else { throw CLIError("--range \(range): at most 1 TiB") }
            r = (start, length)
        }
        if FileManager.default.fileExists(atPath: out) && !force {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: out, isDirectory: &isDir)
            throw CLIError("\(out): \(isDir.boolValue ? "is a directory" : "exists (--force replaces it)")")
        }
        let started = monotonicNanoseconds()
        let s: GuestMemory.RestoreSummary
        do {
            if let r { s = try memory.restore(epoch: epoch, start: r.start, length: r.length, to: out, overwrite: force) }
            else { s = try memory.restore(epoch: epoch, to: out, overwrite: force) }
        } catch let e as GuestEpochsError {
            // Options were checked above: what remains is the recording's or the output file's.
            throw CLIError("\(pool): '\(volume)': \(e.description)", status: e.description.hasPrefix("damaged") ? ExitStatus.refused : ExitStatus.usageOrIO)
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        print("restored epoch \(epoch) of '\(volume)' into \(out): \(formatBytes(s.bytes)), \(s.dataPages) pages of data, \(s.holes) holes, in \(String(format: "%.3f", seconds)) s (\(String(format: "%.2f", Double(s.bytes) / max(seconds, 1e-9) / 1e9)) GB/s of image)")
    }
}

func parseNumber<S: StringProtocol>(_ s: S) -> UInt64? {
    s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the guest pages that changed between two checkpoints and how many bytes of each.",
        discussion: """
            Candidates are the pages imaged after --from up to --to (the pages PML logged, and those changed \
            without a store the recorder saw); each is compared as of the two epochs. `source` says whether \
            PML logged the page in that span (`pml`) or not (`unlogged`: DMA, page-table accessed/dirty bits).
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume recorded by `pmtrace record-vm`.", transform: VolumeName.existing) var volume: VolumeName
    @Option(help: "Epoch number, last, an ISO 8601 time, or @<ns>.") var from: EpochChoice
    @Option(help: "Epoch number, last, an ISO 8601 time, or @<ns>.") var to: EpochChoice
    @Flag(help: "Print JSON (one array).") var json = false

    func validate() throws {
        try from.check("--from")
        try to.check("--to")
    }

    struct Row: Encodable {
        var gpa: UInt64
        var bytesChanged: Int
        var source: String
    }

    func run() throws {
        let (_, memory) = try openGuestMemory(pool, volume.value)
        let a = try from.resolve(memory.epochs, volume: volume.value), b = try to.resolve(memory.epochs, volume: volume.value)
        guard a <= b else { throw CLIError("--from (epoch \(a)) comes after --to (epoch \(b))") }
        var logged = Set<UInt64>()
        if a < b { for e in memory.epochs.epochs[(a + 1)...b] { logged.formUnion(e.pmlPages) } }
        let changed: [(gpa: UInt64, bytesChanged: Int)]
        do { changed = try memory.changes(from: a, to: b) } catch let e as GuestEpochsError {
            throw CLIError("\(pool): '\(volume)': \(e.description)", status: ExitStatus.refused)
        }
        let rows = changed.map { Row(gpa: $0.gpa, bytesChanged: $0.bytesChanged, source: logged.contains($0.gpa) ? "pml" : "unlogged") }
        if json { try printJSON(rows); return }
        print("GPA                 BYTES CHANGED  SOURCE")
        for r in rows { print(String(format: "0x%016llx  %13ld  %@", r.gpa, r.bytesChanged, r.source as NSString)) }
        let unlogged = rows.filter { $0.source == "unlogged" }.count
        print("\(rows.count) pages changed from epoch \(a) to \(b) (\(rows.count - unlogged) logged by PML, \(unlogged) not)")
    }
}
