import Foundation
import Testing

/// Compiles the C program `source` against include/pmtrace.h and the
/// libPMTraceC.so built beside `pmtrace` (with -Wall -Werror; the
/// toolchain's clang when there is one, else cc), formats a fresh 16 MiB
/// pool, runs the program with the pool's path as its argument and returns
/// its exit status, standard output and the pool's path (the caller unlinks it).
func runCProgram(_ source: String, name: String) throws -> (status: Int32, out: String, pool: String) {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let binDir = URL(fileURLWithPath: pmtraceBinary).deletingLastPathComponent().path
    let file = scratchPath(name) + ".c", exe = scratchPath(name), pool = scratchPath("pool")
    defer { unlink(file); unlink(exe) }
    try source.write(toFile: file, atomically: true, encoding: .utf8)
    let swift = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/swift" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    let clang = swift.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("clang").path }
    let cc = Process()
    cc.executableURL = URL(fileURLWithPath: clang.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "/usr/bin/cc")
    cc.arguments = [file, "-o", exe, "-I", root.appendingPathComponent("include").path, "-L", binDir, "-lPMTraceC",
                    "-Wl,-rpath,\(binDir)", "-lpthread", "-Wall", "-Werror"]
    try cc.run()
    cc.waitUntilExit()
    try #require(cc.terminationStatus == 0, "the C program \(name) did not compile")
    #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
    let run = Process()
    run.executableURL = URL(fileURLWithPath: exe)
    run.arguments = [pool]
    let out = Pipe()
    run.standardOutput = out
    try run.run()
    let text = String(decoding: out.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
    run.waitUntilExit()
    return (run.terminationStatus, text, pool)
}
