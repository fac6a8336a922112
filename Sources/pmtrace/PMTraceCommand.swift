import ArgumentParser
import Foundation
import MetadataCatalog

@main
struct PMTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pmtrace",
        abstract: "A log-structured trace store on a persistent-memory region.",
        discussion: """
            A region (pool file, DAX file or devdax device, mapped with libpmem2) holds named trace \
            volumes. Each volume has one or more lanes; records appended to a lane become durable at \
            commit. `write` and `import-lackey` commit periodically and at the end of input; a crash \
            loses at most what was appended since the last commit.

            Set PMEM2_FORCE_GRANULARITY=CACHE_LINE to exercise the real persistent-memory path \
            (non-temporal stores, flushes, fences) on a file in /dev/shm.
            """,
        subcommands: [
            Format.self, Info.self, List.self, Create.self, Write.self, Read.self, Rename.self, Seal.self,
            Delete.self, Dump.self, Stats.self, ImportLackey.self, Symbols.self, Maps.self, Symbolize.self, Hot.self, Fsck.self, TortureWriter.self,
        ]
    )

    /// Like ArgumentParser's `main`, but every error is one line on stderr
    /// (`pmtrace: <what is wrong>`), as scripts expect; help still prints in full.
    static func main() {
        // Crash tests: PMTRACE_KILL_AT=<step> makes this process SIGKILL itself at that step.
        if let at = ProcessInfo.processInfo.environment["PMTRACE_KILL_AT"] {
            MetadataCatalog.stepHook = { step in if step == at { kill(getpid(), SIGKILL) } }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = PMTraceCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("pmtrace: \(message)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
