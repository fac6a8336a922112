import Foundation
import Testing

/// The `pmtrace` binary built beside the test bundle.
let pmtraceBinary: String = {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pmtrace").path,
        FileManager.default.currentDirectoryPath + "/.build/debug/pmtrace",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}()

struct CLIResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var out: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `pmtrace` in a new process (the "after reboot" case: nothing shared
/// but the pool file). `stdin` may be a file path to redirect from.
@discardableResult
func pmtrace(_ args: [String], stdinFile: String? = nil, environment: [String: String] = [:], fileSizeLimit: Int? = nil) throws -> CLIResult {
    let p = Process()
    if let fileSizeLimit {
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -f \(fileSizeLimit / 1024) && exec \"$0\" \"$@\"", pmtraceBinary] + args
    } else {
        p.executableURL = URL(fileURLWithPath: pmtraceBinary)
        p.arguments = args
    }
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    if let stdinFile { p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinFile)) }
    else { p.standardInput = FileHandle.nullDevice }
    try p.run()
    // Drain both pipes concurrently so a large output cannot block the child.
    let errBox = DataBox()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readToEndRetrying()
        done.signal()
    }
    let outData = out.fileHandleForReading.readToEndRetrying()
    p.waitUntilExit()
    done.wait()
    return CLIResult(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// The superblock's `segmentAreaOffset` (FORMAT.md §3, bytes 48..<56) of the
/// pool at `path`: where segment 0 starts, for tests that damage segments.
func segmentAreaOffset(ofPool path: String) throws -> Int {
    let head = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(64)
    return head.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 48, as: UInt64.self))) }
}

/// Formats `pool` (16 MiB, 64 KiB segments) and writes `bytes` random bytes
/// to volume `volume` with `extra` arguments to `write`; returns the input.
func writtenPool(_ pool: String, volume: String, bytes: Int, extra: [String] = []) throws -> Data {
    let input = scratchPath("input")
    defer { unlink(input) }
    try randomFile(input, bytes: bytes)
    #expect(try pmtrace(["format", pool, "--size", "16M", "--segment-size", "64K"]).status == 0)
    #expect(try pmtrace(["write", pool, volume] + extra, stdinFile: input).status == 0)
    return try Data(contentsOf: URL(fileURLWithPath: input))
}

func scratchPath(_ name: String) -> String {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(dir)/pmtrace-cli-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

func randomFile(_ path: String, bytes: Int) throws {
    var rng = SystemRandomNumberGenerator()
    var data = Data(count: bytes)
    data.withUnsafeMutableBytes { b in
        let words = b.bindMemory(to: UInt64.self)
        for i in words.indices { words[i] = rng.next() }
    }
    try data.write(to: URL(fileURLWithPath: path))
}

final class DataBox: @unchecked Sendable {
    // SAFETY: written by one thread before a semaphore signal, read after the wait.
    var data = Data()
}

extension FileHandle {
    /// Everything until end of file, retrying reads a signal interrupted
    /// (Foundation's `readDataToEndOfFile` traps on EINTR, which a busy
    /// machine running many child processes does produce).
    func readToEndRetrying() -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return data
        }
    }
}
