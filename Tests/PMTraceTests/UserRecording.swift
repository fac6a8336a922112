#if arch(x86_64) && os(Linux)
import Foundation
import GuestRecording

/// One `pmtrace record` run for a test: the plugin (built by
/// scripts/build-plugin.sh), a formatted pool and a counters file, both
/// scratch files removed by `remove()` (call it in a `defer`).
struct UserRecording {
    let plugin: String
    let pool: String
    let stats: String

    init(_ name: String, size: String = "64M") throws {
        guard let plugin = try VMRecordingTests.script("build-plugin.sh").last else { throw POSIXError(.ENOENT) }
        self.plugin = plugin
        pool = scratchPath("\(name).pool")
        stats = scratchPath("\(name).stats")
        let f = try pmtrace(["format", pool, "--size", size])
        guard f.status == 0 else { throw POSIXError(.EIO) }
    }

    /// The arguments of `pmtrace record` into volume "v" up to the program.
    var recordArguments: [String] { ["record", pool, "v", "--stats", stats, "--plugin", plugin, "--"] }

    /// Runs `program` (with its arguments) under `record`.
    func record(_ program: [String]) throws -> CLIResult { try pmtrace(recordArguments + program) }

    /// The plugin's counters (empty when it wrote none).
    var pluginStats: PluginStats { PluginStats(text: (try? String(contentsOfFile: stats, encoding: .utf8)) ?? "") }

    func remove() { for f in [pool, stats] { unlink(f) } }
}
#endif
