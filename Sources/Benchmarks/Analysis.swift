import Foundation
import GuestRecording
import MetadataCatalog
import PMTrace
import TraceAnalysis

/// Issue 11's speed goals on real traces: `pmtrace record -- ls -l /usr/bin`
/// (~4.6 M accesses) and, unless --quick, a larger one (a Python program,
/// ~140 M accesses). Decoding, `hot` in every --by mode in process and
/// `hot --by function` as a process (goal ≥ 50 M accesses/s on one core),
/// `export --format csv` (bound by text formatting: no goal) and the Python
/// bridge's `export-parquet` (goal ≥ 50 M/s) with its default codec and with
/// zstd, as a whole process, as the rate it reports itself (without
/// interpreter start-up and imports) and by the CPU time it reports (every
/// thread: the one-core figure); Parquet bytes per access against the store's.
func runAnalysis(_ ctx: Context) throws {
    print("\n== analysis: hot, export csv, export-parquet on recorded programs (goal: hot and Parquet >= 50 M accesses/s on one core)")
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let pmtraceBin = bin.appendingPathComponent("pmtrace").path
    guard FileManager.default.isExecutableFile(atPath: pmtraceBin) else { throw BenchError("\(pmtraceBin): build pmtrace first (swift build -c release)") }
    guard Tools.which("qemu-x86_64") != nil else {
        print("  skipped: qemu-user is not installed (scripts/setup.sh installs it)")
        return
    }
    let root = FileManager.default.currentDirectoryPath
    let plugin = try analysisTool("/bin/bash", ["\(root)/scripts/build-plugin.sh"]).out.split(separator: "\n").last.map(String.init) ?? ""
    let lib = bin.appendingPathComponent("libPMTraceC.so").path
    let python = FileManager.default.fileExists(atPath: lib) && (try? analysisTool("/usr/bin/env", ["python3", "-c", "import pyarrow, numpy"])) != nil
    if !python { print("  export-parquet skipped: libPMTraceC.so or python3 with numpy/pyarrow missing (pip install ./python)") }

    var traces: [(name: String, program: [String], csv: Bool)] = [("ls", ["ls", "-l", "/usr/bin"], true)]
    // QEMU user mode runs ELF programs only (not a pyenv shim): the distribution's interpreter.
    let python3 = "/usr/bin/python3"
    if !ctx.quick, FileManager.default.isExecutableFile(atPath: python3) {
        // ~140 M accesses in ~5 s of recording; CSV (~30 s a run) is measured on the small trace only.
        traces.append(("py", [python3, "-c", "import json; print(len(json.dumps([str(i) for i in range(200000)])))"], false))
    }
    var all: [[String]] = []
    for trace in traces {
        let rows = try analyzeTrace(ctx, name: trace.name, program: trace.program, csv: trace.csv, pmtraceBin: pmtraceBin,
                                    plugin: plugin, python: python ? ["PMTRACE_LIB": lib, "PYTHONPATH": "\(root)/python"] : nil)
        all += rows.map { [trace.name] + $0 }
    }
    try writeCSV(ctx, "analysis", header: ["trace", "step", "seconds", "M accesses/s", "goal M/s", "ratio to goal"], rows: all)
}

/// Records `program` as volume `name` and measures every step on it; the table rows.
private func analyzeTrace(_ ctx: Context, name: String, program: [String], csv: Bool, pmtraceBin: String, plugin: String,
                          python env: [String: String]?) throws -> [[String]] {
    let pool = ctx.poolPath("analysis-\(name)")
    let parquetDir = ctx.poolPath("analysis-\(name)-parquet")
    defer { unlink(pool); try? FileManager.default.removeItem(atPath: parquetDir) }
    _ = try analysisTool(pmtraceBin, ["format", pool, "--size", "2G", "--force"])
    _ = try analysisTool(pmtraceBin, ["record", pool, name, "--plugin", plugin, "--"] + program)

    let p = try TracePool.open(path: pool, writable: false)
    let stats = try VolumeStats.compute(store: p.store, volume: name)
    let n = Double(stats.accessCount)
    let symbolizer = try MetadataCatalog(store: p.store).symbolizer(addressSpace: name)
    func scan(_ body: (AccessBlock) -> Void) throws -> Timing {
        let block = AccessBlock()
        return try measure(repetitions: ctx.repetitions) { w in
            let stream = try AccessStream(reader: try p.store.openReader(volume: name))
            w.start()
            while try stream.next(into: block) { body(block) }
            w.stop()
        }
    }
    func hot(_ grouping: HotCounter.Grouping, byPC: Bool = true) throws -> Timing {
        let counter = HotCounter(grouping: grouping, symbolizer: grouping == .page || grouping == .mapping ? nil : symbolizer, byPC: byPC)
        return try scan { counter.add($0) }
    }
    func row(_ step: String, _ t: Double, goal: Double?) -> [String] {
        [step, fmt(t, 3), fmt(n / t / 1e6, 1), goal.map { fmt($0, 0) } ?? "-", goal.map { fmt(n / t / 1e6 / $0, 2) } ?? "-"]
    }
    var rows: [[String]] = [
        row("decode only (AccessStream)", try scan { _ in }.median, goal: nil),
        row("hot --by page (in process)", try hot(.page).median, goal: 50),
        row("hot --by function (in process)", try hot(.function).median, goal: 50),
        row("hot --by function --data (in process)", try hot(.function, byPC: false).median, goal: 50),
        row("hot --by image (in process)", try hot(.image).median, goal: 50),
        row("hot --by mapping (in process)", try hot(.mapping).median, goal: 50),
    ]
    let hotProcess = try measure(warmup: 0, repetitions: ctx.repetitions) { w in
        w.start(); _ = try analysisTool(pmtraceBin, ["hot", pool, name, "--as", name, "--by", "function"]); w.stop()
    }
    rows.append(row("pmtrace hot --by function (process)", hotProcess.median, goal: 50))
    if csv {
        let t = try measure(warmup: 0, repetitions: ctx.repetitions) { w in
            w.start(); _ = try analysisTool(pmtraceBin, ["export", pool, name, "--format", "csv", "--out", "/dev/null"]); w.stop()
        }
        rows.append(row("export --format csv (process; /dev/null; text-bound)", t.median, goal: nil))
    }
    var note = ""
    if let env {
        // The default codec first, then zstd (the smallest files) when it is not the default.
        for codec in parquetCodecs {
            var reported: [Double] = [], cpu: [Double] = []
            let parquet = try measure(warmup: 0, repetitions: ctx.repetitions) { w in
                try? FileManager.default.removeItem(atPath: parquetDir)
                w.start()
                let r = try analysisTool("/usr/bin/env", ["python3", "-m", "pmtrace", "export-parquet", pool, name, parquetDir,
                                                          "--compression", codec], env: env)
                w.stop()
                // "exported N accesses to DIR in S s (R M accesses/s), CPU C s (…)": the export without
                // start-up and imports, and the CPU time of every thread of the process meanwhile.
                reported.append(reportedSeconds(r.err, after: " in "))
                cpu.append(reportedSeconds(r.err, after: "CPU "))
            }
            let bytes = (FileManager.default.enumerator(atPath: parquetDir)?.compactMap { $0 as? String } ?? []).reduce(0) { sum, f in
                sum + ((try? FileManager.default.attributesOfItem(atPath: "\(parquetDir)/\(f)")[.size] as? Int) ?? 0)
            }
            rows.append(row("python3 -m pmtrace export-parquet --compression \(codec) (process)", parquet.median, goal: 50))
            rows.append(row("  the same as it reports (no start-up or imports)", reported.sorted()[reported.count / 2], goal: 50))
            rows.append(row("  its CPU time meanwhile (user + sys, all threads)", cpu.sorted()[cpu.count / 2], goal: 50))
            note += "\(note.isEmpty ? "; bytes per access: " : ", ")Parquet \(codec) \(fmt(Double(bytes) / n, 2))"
        }
        note += ", store payload \(fmt(Double(stats.payloadBytes) / n, 2))"
    }
    print("\n  trace '\(name)' (`pmtrace record -- \(program.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))`): \(stats.accessCount) accesses; \(ctx.repetitions) repetition(s), median; one core\(note)")
    printTable(["step", "seconds", "M accesses/s", "goal M/s", "÷ goal"], rows)
    for r in rows where r[3] != "-" {
        print("  \(r[0].trimmingCharacters(in: .whitespaces)): \(r[2]) M accesses/s (goal ≥ \(r[3]) M/s) \(Double(r[4])! >= 1 ? "met" : "NOT met")")
    }
    return rows
}

/// Codecs `export-parquet` is measured with: its default, then zstd (the smallest files).
private let parquetCodecs = ["lz4", "zstd"]

/// The seconds printed after `label` in `text` ("… in 0.21 s …"), or NaN.
private func reportedSeconds(_ text: String, after label: String) -> Double {
    guard let r = text.range(of: "\(label)[0-9.]+ s", options: .regularExpression) else { return .nan }
    return Double(text[r].dropFirst(label.count).dropLast(2)) ?? .nan
}

/// Runs a tool to completion; its standard output and error, or an error with its stderr.
private func analysisTool(_ executable: String, _ args: [String], env: [String: String] = [:]) throws -> (out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read stderr on another thread: a tool that fills one pipe while we wait on the other would block.
    let errData = ErrCollector()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let e = errData.wait()
    guard p.terminationStatus == 0 else {
        throw BenchError("\(executable) \(args.joined(separator: " ")): \(String(decoding: e, as: UTF8.self))")
    }
    return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The stderr bytes a reader thread collects.
private final class ErrCollector: @unchecked Sendable {
    // SAFETY: `data` is written once under `done` and read after `wait()`.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    func set(_ d: Data) { data = d; done.signal() }
    func wait() -> Data { done.wait(); return data }
}
