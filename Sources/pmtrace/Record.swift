import ArgumentParser
import Foundation
import GuestRecording
import MetadataCatalog
import PMTrace
import TraceVolume

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program under QEMU user mode and record its memory accesses into a volume.",
        discussion: """
            Runs `qemu-x86_64 -plugin pmtrace_qemu.so … <program>`: the plugin (the bare-metal writer, no \
            Swift runtime) appends every load and store (guest virtual address, size) as memory-access \
            batches, threads spread over the volume's 4 lanes. At exit it stores the program's mappings; \
            `record` then imports them and the symbols of every mapped image under the address space \
            named like the volume, so `pmtrace hot <pool> <volume> --as <volume>` and \
            `pmtrace symbolize <pool> --as <volume>` work with no other step. The mappings are those at \
            exit (an image unmapped before exit is not symbolized). Times are host ns.

            The program's standard input, output and error are passed through; `record` exits with the \
            program's status after recording (or 1 if the store refused something); a program killed by \
            a signal (a crash, SIGTERM) has what it did until then committed, maps and symbols imported, \
            and `record` exits with 128 + the signal's number, as a shell reports it. Ctrl-C and Ctrl-\\ \
            go to the program (`record` waits for it and then imports and reports as above); SIGTERM or \
            SIGHUP sent to `record` itself is passed on to QEMU. Only the process `record` starts is \
            recorded: its child processes (fork, posix_spawn) run unrecorded, and the recording ends at \
            its execve (a program it replaces itself with runs outside QEMU); `record` says so when it \
            happened.
            Needs qemu-user (apt-get install -y qemu-user) and the plugin (scripts/build-plugin.sh).
            """)

    @Argument(help: "Pool file or device (formatted).") var pool: String
    @Argument(help: "New volume for the recording (also the address-space name).", transform: VolumeName.new) var volume: VolumeName
    @Option(parsing: .unconditional, help: "Record at most this many accesses (0: all).") var maxAccesses: UInt64 = 0
    @Option(help: "The QEMU plugin (default: found beside pmtrace or built by scripts/build-plugin.sh).") var plugin: String?
    @Option(help: "Write the plugin's counters here (key=value lines).") var stats: String?
    @Argument(parsing: .postTerminator, help: "The program and its arguments (after --).") var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the program to run after --, e.g. `pmtrace record P v -- ls -l`") }
    }

    func run() throws {
        if let stats { try OutputGuard.refuse(stats, option: "--stats", samePoolAs: pool) }
        let qemu = try cliTool { try Tools.require("qemu-x86_64", package: "qemu-user") }
        let pluginPath = try cliTool { try Tools.plugin(explicit: plugin, executable: CommandLine.arguments[0]) }
        let program = command[0].contains("/") ? command[0] : (Tools.which(command[0]) ?? command[0])
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: program, isDirectory: &isDir) else { throw CLIError("\(command[0]): no such program") }
        guard !isDir.boolValue, FileManager.default.isExecutableFile(atPath: program) else {
            throw CLIError("\(command[0]): not an executable program")
        }
        if let stats { try checkWritable(stats) }
        for (what, value) in [("pool path", pool), ("volume name", volume.value), ("stats file", stats ?? "")] where value.contains(",") {
            throw CLIError("\(value): a \(what) given to the QEMU plugin cannot contain ','")
        }
        do {
            let p = try openPool(pool, writable: true)
            _ = try p.store.createVolume(named: volume.value, lanes: 4)
        }
        let statsPath = stats ?? NSTemporaryDirectory() + "pmtrace-stats-\(getpid())"
        defer { if stats == nil { unlink(statsPath) } }
        let pluginArgs = ["pool=\(pool)", "volume=\(volume.value)", "max=\(maxAccesses)", "stats=\(statsPath)"]

        let started = monotonicNanoseconds()
        let p = try RecordedProgram(qemu, ["-plugin", ([pluginPath] + pluginArgs).joined(separator: ","), program] + command.dropFirst())
        let (status, signal) = p.wait()
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        let s = PluginStats(text: (try? String(contentsOfFile: statsPath, encoding: .utf8)) ?? "")
        guard !s.mode.isEmpty else {
            let dropped = dropVolumeIfEmpty(pool, volume.value)
            if let signal {
                throw CLIError(dropped
                    ? "QEMU was killed by \(signalName(signal)) before the plugin wrote anything: nothing was recorded (the empty volume '\(volume)' was removed)"
                    : """
                    QEMU was killed by \(signalName(signal)) before the plugin could finish: what was committed \
                    stays readable; accesses since the last commit are only in `pmtrace dump --salvage`
                    """, status: 128 + signal)
            }
            throw CLIError("QEMU ended (status \(status)) without the plugin's counters: the program did not run under it (see QEMU's message above, if any)")
        }

        // The mappings: the plugin's marker, imported under the volume's name.
        let (pool2, catalog) = try openCatalog(pool, writable: true)
        let reader = try pool2.store.openLaneReader(volume: volume.value, lane: 0)
        var maps: String?
        while let r = try reader.next() {
            guard r.kind == .marker else { continue }
            let text = r.withContiguousPayload { String(decoding: $0, as: UTF8.self) }
            if text.hasPrefix("pmtrace-maps\n") { maps = String(text.dropFirst("pmtrace-maps\n".count)) }
        }
        var imported = 0, mapped = 0
        if let maps {
            let r = try catalog.importProcessMaps(pid: UInt32(truncatingIfNeeded: p.pid), text: maps, addressSpace: volume.value)
            imported = r.importedTables.count
            mapped = Set(r.entries.map { $0.path }).count
            for k in r.skipped { standardErrorWrite(Data("pmtrace: skipped \(TerminalText.escape(k.path)): \(TerminalText.escape(k.reason))\n".utf8)) }
        }
        standardErrorWrite(Data("""
            pmtrace: recorded '\(volume)' in \(String(format: "%.2f", seconds)) s: \(s.recorded) of \(s.loads + s.stores) accesses \
            (\(s.loads) loads, \(s.stores) stores), \(mapped) mapped images (\(imported) symbol tables imported); \
            address space '\(volume)'\n
            """.utf8))
        if s.forks > 0 {
            standardErrorWrite(Data("pmtrace: \(s.forks) child process(es) of the program ran unrecorded (only the process `record` starts is recorded)\n".utf8))
        }
        if s.exec {
            standardErrorWrite(Data("pmtrace: the program called execve: the recording ended there (a program it replaced itself with ran outside QEMU; had the call failed, the program went on unrecorded)\n".utf8))
        }
        if s.failed { throw CLIError("the store stopped the recording early (see the plugin's message above)", status: ExitStatus.refused) }
        if let signal {
            throw CLIError("the program was killed by \(signalName(signal)); what it did until then is recorded", status: 128 + signal)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

