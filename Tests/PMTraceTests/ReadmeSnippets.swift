import Foundation

/// The repository's root (this file is Tests/PMTraceTests/ReadmeSnippets.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The code of README.md's snippet `name`: the fenced block between
/// `<!-- snippet:name -->` and `<!-- end snippet -->`, so tests build exactly
/// what a reader copies.
func readmeSnippet(_ name: String) throws -> String {
    let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    guard let start = readme.range(of: "<!-- snippet:\(name) -->\n"),
          let end = readme.range(of: "<!-- end snippet -->", range: start.upperBound..<readme.endIndex)
    else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "README.md has no snippet '\(name)'"]) }
    var lines = readme[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
    // Drop the fence lines.
    if lines.first?.hasPrefix("```") == true { lines.removeFirst() }
    while let last = lines.last, last.isEmpty || last.hasPrefix("```") { lines.removeLast() }
    return lines.joined(separator: "\n") + "\n"
}

/// Runs `/bin/sh -c script` with `environment` (replacing the inherited one
/// when `clean`), bounded by `seconds`; returns status and the merged output.
func shell(_ script: String, environment: [String: String] = [:], clean: Bool = false, in directory: String? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    var env = clean ? [:] : ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readToEndRetrying()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The Swift toolchain's `usr` directory (what nothing installed may need).
let toolchainDirectory: String = {
    let swiftc = (try? shell("readlink -f \"$(command -v swiftc)\""))?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? "/opt/swift/usr/bin/swiftc"
    return URL(fileURLWithPath: swiftc).deletingLastPathComponent().deletingLastPathComponent().path
}()
