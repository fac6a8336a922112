import ArgumentParser
import Foundation
import MetadataCatalog
import PMemBackend
import TraceVolume

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

            A region may start inside a file or device: write `<path>@<offset>` wherever a pool is \
            expected (offset in bytes, binary units K M G or hex 0x…, a multiple of the page size for files \
            or of the device alignment for devdax), e.g. `pmtrace info /dev/pmem0@2M`; `pmtrace locate \
            --namespace` prints the offset after a namespace's info block.

            Set PMEM2_FORCE_GRANULARITY=CACHE_LINE to exercise the real persistent-memory path \
            (non-temporal stores, flushes, fences) on a file in /dev/shm.

            Names read from a region are printed escaped (\\xNN for control characters and bytes \
            that are not UTF-8, \\u{NNNN} for C1 controls and bidirectional overrides, \\\\ for a \
            backslash); commands accept that form back.

            \(ExitStatus.help)
            """,
        version: versionText,
        subcommands: [
            Format.self, Info.self, List.self, Create.self, Write.self, Read.self, Rename.self, Seal.self,
            Delete.self, Dump.self, Stats.self, ImportLackey.self, Record.self, RecordVM.self, Checkpoints.self, Restore.self, Diff.self, Symbols.self, Maps.self, Symbolize.self, Hot.self, Export.self, Heatmap.self, WorkingSet.self, Fsck.self, TortureWriter.self,
            Locate.self,
        ]
    )

    /// Like ArgumentParser's `main`, but every error is one line on stderr
    /// (`pmtrace: <what is wrong>`), as scripts expect; help still prints in full.
    static func main() {
        // Start with no signal blocked: a parent that spawned us from a
        // thread that blocks signals (libdispatch's workers block them all)
        // would otherwise pass its mask on to QEMU, which then never acts on
        // the TERM that --timeout, Ctrl-C and a dying pmtrace send it.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        // Crash tests: PMTRACE_KILL_AT=<step> makes this process SIGKILL itself at that step.
        if let at = ProcessInfo.processInfo.environment["PMTRACE_KILL_AT"] {
            MetadataCatalog.stepHook = { step in if step == at { kill(getpid(), SIGKILL) } }
        }
        var status = ExitStatus.success
        var message: String?
        var parsed: ParsableCommand?
        do {
            var command = try parseAsRoot()
            parsed = command
            try command.run()
        } catch let e as ExitCode {
            status = e.rawValue  // already reported (fsck's summary)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: printed here, so the flush check below sees a full device.
                // (As ArgumentParser does: nothing for an empty message, e.g. no shell completions.)
                let text = fullMessage(for: error)
                if !text.isEmpty { print(text) }
            } else if isParserError(error) {
                message = PMTraceCommand.message(for: error)
                status = ExitStatus.usageOrIO
            } else {
                (message, status) = ExitStatus.describe(error)
                message = message.map { ExitStatus.naming($0, of: parsed) }
                // On a truncated region, a command's own complaint (e.g. "no accesses in the
                // range read") follows from the damage: status 1, as the warning said.
                if status == ExitStatus.usageOrIO, TruncatedRegions.any, let e = error as? CLIError, !e.description.hasPrefix("writing output") {
                    status = ExitStatus.refused
                }
            }
        }
        // A bus error on a mapping is the real cause of whatever followed it,
        // and turns a "successful" run (zeros read, stores lost) into a failure.
        if let fault = PMemMapping.takeReleasedFaults().first {
            message = fault.description + (message.map { $0.hasSuffix(fault.description) ? "" : " (then: \($0))" } ?? "")
            status = ExitStatus.usageOrIO
        }
        // What `print` left buffered goes out now; a stream that could not take it
        // (a full device, a closed file) is a failed command, not a silent exit 0.
        if fflush(nil) != 0, status == ExitStatus.success {
            message = "writing output: \(String(cString: strerror(errno == 0 ? EIO : errno)))"
            status = ExitStatus.usageOrIO
        }
        // A truncated region was read (warned about at open): damaged, whatever the command found.
        if status == ExitStatus.success, TruncatedRegions.any { status = ExitStatus.refused }
        if let message {
            standardErrorWrite(Data("pmtrace: \(TerminalText.escape(message))\n".utf8))
        }
        Foundation.exit(status)
    }

    /// Errors ArgumentParser raised while parsing (wrapped so that their
    /// type is not public): everything not thrown by this program's code.
    static func isParserError(_ error: Error) -> Bool {
        switch error {
        case is ValidationError: return true
        default: return String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
        }
    }
}

/// `pmtrace --version`: the software version, and the on-media format
/// version this build writes and the versions it reads (FORMAT.md §11).
let versionText = """
    pmtrace \(LibraryVersion.text)
    on-media format \(LibraryVersion.formatText) (writes \(LibraryVersion.formatText); reads \(LibraryVersion.formatMajor).x; \
    writes only to regions of format \(LibraryVersion.formatMajor).0 … \(LibraryVersion.formatText))
    """
