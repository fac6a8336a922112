import Foundation
import PMTraceTesting
import MetadataCatalog
import PMTrace
import TraceVolume

/// Runs a tool and returns its standard output (stderr discarded).
func tool(_ path: String, _ args: [String], input: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let inPipe = Pipe()
    if input != nil { p.standardInput = inPipe }
    try p.run()
    if let input {
        DispatchQueue.global().async {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// A tool from the Swift toolchain's directory (always there with Swift, one
/// known version), else from PATH.
func findTool(_ name: String) -> String? {
    var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
    if let swift = dirs.lazy.map({ "\($0)/swift" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
        dirs.insert(URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent().path, at: 0)
    }
    return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

let libcPath: String = {
    for p in ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
    where FileManager.default.fileExists(atPath: p) { return p }
    return "/usr/lib/x86_64-linux-gnu/libc.so.6"
}()

/// The pmtrace binary of this build (a Swift ELF with a full .symtab).
let swiftBinary: String = {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pmtrace").path
}()

func catalogPool(size: UInt64 = 64 << 20, slots: UInt32 = 64) throws -> (MemoryPool, MetadataCatalog) {
    let pool = try MemoryPool.inMemory(size: size, parameters: FormatParameters(segmentSize: 1 << 20, volumeSlots: slots, maxLanesPerVolume: 4),
                                       options: .testing(clock: wallClock))
    return (pool, try MetadataCatalog(store: pool.store))
}

/// `nm` (or `nm -D` for stripped files) function symbols: address, size, name.
func nmFunctions(_ path: String) throws -> [(address: UInt64, size: UInt64, name: String)] {
    guard let nm = findTool("nm") else { return [] }
    var text = try tool(nm, ["--defined-only", "-S", path])
    if text.isEmpty { text = try tool(nm, ["--defined-only", "-S", "-D", path]) }
    var out: [(UInt64, UInt64, String)] = []
    for line in text.split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        // With a size: address size type name; without: address type name.
        guard f.count >= 3, let address = UInt64(f[0], radix: 16) else { continue }
        let hasSize = f.count >= 4 && f[1].count == f[0].count
        let type = hasSize ? f[2] : f[1]
        // T/t/i are text symbols; W/w are weak symbols of any section (kept only in code, below).
        guard ["T", "t", "W", "w", "i"].contains(String(type)) else { continue }
        let size = hasSize ? UInt64(f[1], radix: 16) ?? 0 : 0
        var name = String(hasSize ? f[3] : f[2])
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }  // versioned .dynsym names
        out.append((address, size, name))
    }
    // Keep symbols inside executable sections (weak data symbols also print as W).
    let elf = try ELFFile(contentsOf: path)
    let code = elf.sections.filter { $0.flags & 0x6 == 0x6 }.map { $0.address..<($0.address + $0.size) }
    return out.filter { s in code.contains { $0.contains(s.0) } }
}

/// Wall-clock nanoseconds (imports and maps are timestamped; 0 would mean "no clock").
let wallClock: @convention(c) () -> UInt64 = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
