import Foundation
import GuestRecording
import MetadataCatalog
import PMTrace
import TraceAnalysis

/// Issue 11's speed goals on a real trace (`pmtrace record -- ls -l /usr/bin`,
/// ~4.6 M accesses): decoding, `hot --by page|function` in process (goal
/// ≥ 50 M accesses/s on one core), `export --format csv` (bound by text
/// formatting) and the Python bridge's `export-parquet`, as whole processes;
/// Parquet bytes per access against the store's.
func runAnalysis(_ ctx: Context) throws {
    print("\n== analysis: hot, export csv, export-parquet on a recorded program (goal: hot and Parquet >= 50 M accesses/s)")
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let pmtraceBin = bin.appendingPathComponent("pmtrace").path
    guard FileManager.default.isExecutableFile(atPath: pmtraceBin) else { throw BenchError("\(pmtraceBin): build pmtrace first (swift build -c release)") }
    guard Tools.which("qemu-x86_64") != nil else {
        print("  skipped: qemu-user is not installed (scripts/setup.sh installs it)")
        return
    }
    let root = FileManager.default.currentDirectoryPath
    let plugin = try analysisTool("/bin/bash", ["\(root)/scripts/build-plugin.sh"]).split(separator: "\n").last.map(String.init) ?? ""
    let pool = ctx.poolPath("analysis")
    let parquetDir = ctx.poolPath("analysis-parquet")
    defer { unlink(pool); try? FileManager.default.removeItem(atPath: parquetDir) }
    _ = try analysisTool(pmtraceBin, ["format", pool, "--size", "1G", "--force"])
    _ = try analysisTool(pmtraceBin, ["record", pool, "ls", "--plugin", plugin, "--", "ls", "-l", "/usr/bin"])

    let p = try TracePool.open(path: pool, writable: false)
    let stats = try VolumeStats.compute(store: p.store, volume: "ls")
    let n = Double(stats.accessCount)
    let symbolizer = try MetadataCatalog(store: p.store).symbolizer(addressSpace: "ls")
    func scan(_ body: (AccessBlock) -> Void) throws -> Timing {
        let block = AccessBlock()
        return try measure(repetitions: ctx.repetitions) { w in
            let stream = try AccessStream(reader: try p.store.openReader(volume: "ls"))
            w.start()
            while try stream.next(into: block) { body(block) }
            w.stop()
        }
    }
    let decode = try scan { _ in }
    let pageCounter = HotCounter(grouping: .page, symbolizer: nil)
    let pageAll = try scan { pageCounter.add($0) }
    let functionCounter = HotCounter(grouping: .function, symbolizer: symbolizer)
    let function = try scan { functionCounter.add($0) }
    let dataCounter = HotCounter(grouping: .function, symbolizer: symbolizer, byPC: false)
    let functionData = try scan { dataCounter.add($0) }
    let imageCounter = HotCounter(grouping: .image, symbolizer: symbolizer)
    let image = try scan { imageCounter.add($0) }
    let mappingCounter = HotCounter(grouping: .mapping, symbolizer: nil)
    let mapping = try scan { mappingCounter.add($0) }
    let csv = try measure(warmup: 0, repetitions: ctx.repetitions) { w in
        w.start(); _ = try analysisTool(pmtraceBin, ["export", pool, "ls", "--format", "csv", "--out", "/dev/null"]); w.stop()
    }
    var rows: [[String]] = [
        ["decode only (AccessStream)", fmt(decode.median, 3), fmt(n / decode.median / 1e6, 1), fmt(n / decode.median / 50e6, 2)],
        ["hot --by page (in process)", fmt(pageAll.median, 3), fmt(n / pageAll.median / 1e6, 1), fmt(n / pageAll.median / 50e6, 2)],
        ["hot --by function (in process)", fmt(function.median, 3), fmt(n / function.median / 1e6, 1), fmt(n / function.median / 50e6, 2)],
        ["hot --by function --data (in process)", fmt(functionData.median, 3), fmt(n / functionData.median / 1e6, 1), fmt(n / functionData.median / 50e6, 2)],
        ["hot --by image (in process)", fmt(image.median, 3), fmt(n / image.median / 1e6, 1), fmt(n / image.median / 50e6, 2)],
        ["hot --by mapping (in process)", fmt(mapping.median, 3), fmt(n / mapping.median / 1e6, 1), fmt(n / mapping.median / 50e6, 2)],
        ["export --format csv (process, /dev/null)", fmt(csv.median, 3), fmt(n / csv.median / 1e6, 1), fmt(n / csv.median / 50e6, 2)],
    ]
    let lib = bin.appendingPathComponent("libPMTraceC.so").path
    if FileManager.default.fileExists(atPath: lib), (try? analysisTool("/usr/bin/env", ["python3", "-c", "import pyarrow, numpy"])) != nil {
        let env = ["PMTRACE_LIB": lib, "PYTHONPATH": "\(root)/python"]
        let parquet = try measure(warmup: 0, repetitions: ctx.repetitions) { w in
            try? FileManager.default.removeItem(atPath: parquetDir)
            w.start(); _ = try analysisTool("/usr/bin/env", ["python3", "-m", "pmtrace", "export-parquet", pool, "ls", parquetDir], env: env); w.stop()
        }
        let bytes = (FileManager.default.enumerator(atPath: parquetDir)?.compactMap { $0 as? String } ?? []).reduce(0) { sum, f in
            sum + ((try? FileManager.default.attributesOfItem(atPath: "\(parquetDir)/\(f)")[.size] as? Int) ?? 0)
        }
        rows.append(["python3 -m pmtrace export-parquet (process, zstd)", fmt(parquet.median, 3), fmt(n / parquet.median / 1e6, 1), fmt(n / parquet.median / 50e6, 2)])
        print("  bytes per access: Parquet \(fmt(Double(bytes) / n, 2)), store payload \(fmt(Double(stats.payloadBytes) / n, 2))")
    } else {
        print("  export-parquet skipped: libPMTraceC.so or python3 with numpy/pyarrow missing (pip install ./python)")
    }
    print("  \(stats.accessCount) accesses; \(ctx.repetitions) repetition(s), median; one core")
    printTable(["step", "seconds", "M accesses/s", "÷ 50 M/s goal"], rows)
    try writeCSV(ctx, "analysis", header: ["step", "seconds", "M accesses/s", "ratio to 50 M/s"], rows: rows)
}

/// Runs a tool to completion; its standard output, or an error with its stderr.
private func analysisTool(_ executable: String, _ args: [String], env: [String: String] = [:]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw BenchError("\(executable) \(args.joined(separator: " ")): \(String(decoding: e, as: UTF8.self))")
    }
    return String(decoding: o, as: UTF8.self)
}
