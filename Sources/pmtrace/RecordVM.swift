import ArgumentParser
import Foundation
import GuestRecording
import PMTrace
import TraceVolume

struct RecordVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-vm",
        abstract: "Boot a Linux guest under QEMU and record its memory accesses, PML and checkpoints into a volume.",
        discussion: """
            Runs qemu-system-x86_64 (TCG) with the PMTrace plugin, which links the bare-metal writer and \
            appends to the region directly. The volume gets --smp + 2 lanes: lane i holds vCPU i's \
            accesses (guest-physical address, virtual address, PC, size, load/store; kind \
            guest-access) and its PML batches; lane <smp> the base image of guest RAM, the page images \
            of each checkpoint and one checkpoint record per epoch; lane <smp>+1 the run's configuration \
            and the guest's serial console lines (markers, host time). Record times are host ns.

            Guest RAM is a memory-backend-file (share=on) at --ram-file (default: a temporary file in \
            /dev/shm, removed afterwards); the plugin reads checkpoint pages from it. The machine is \
            probed first (paused, monitor `info ramblock` / `info mtree -f`) so the plugin can turn \
            QEMU 7.2's RAM-block offsets into guest-physical addresses for every RAM and ROM block.

            Needs: qemu-system-x86 (apt-get install -y qemu-system-x86) and the plugin \
            (scripts/build-plugin.sh). A test guest: scripts/guest.sh prints a kernel and an initramfs.
            """)

    @Argument(help: "Pool file or device (formatted: `pmtrace format <pool> --size 4G`).") var pool: String
    @Argument(help: "New volume for the recording.", transform: VolumeName.new) var volume: VolumeName
    @Option(help: "Guest kernel (bzImage).") var kernel: String
    @Option(help: "Guest initramfs.") var initrd: String
    @Option(help: "Kernel command line.") var append: String = "console=ttyS0 quiet panic=-1"
    @Option(parsing: .unconditional, help: "Guest RAM (at most 3G).", transform: ByteSize.parse) var memory: ByteSize = ByteSize(argument: "256M")!
    @Option(parsing: .unconditional, help: "Virtual CPUs.") var smp: Int = 1
    @Option(parsing: .unconditional, help: "Take a checkpoint every this many guest stores (0: only the base image and the final one).") var checkpointEvery: UInt64 = 100_000_000
    @Option(parsing: .unconditional, help: "Record at most this many accesses (0: all; a boot makes about 1.7 G, ~5 bytes each).") var maxAccesses: UInt64 = 0
    @Option(help: "Keep guest RAM in this file (must not exist).") var ramFile: String?
    @Option(parsing: .unconditional, help: "Stop the guest after this many seconds (0: no limit).") var timeout: Double = 600
    @Flag(help: "Callbacks and counting only, nothing recorded (the overhead baseline).") var recordingOff = false
    @Option(help: "The QEMU plugin (default: found beside pmtrace or built by scripts/build-plugin.sh).") var plugin: String?
    @Option(help: "Write the plugin's counters here (key=value lines).") var stats: String?
    @Option(help: .hidden) var snapshot: String?
    @Option(parsing: .unconditional, help: .hidden) var snapshotEpoch: UInt64 = 1
    @Argument(parsing: .postTerminator, help: "Extra QEMU arguments (after --).") var qemuArguments: [String] = []

    func validate() throws {
        guard (1...32).contains(smp) else { throw ValidationError("--smp must be 1...32") }
        guard memory.bytes % (1 << 20) == 0, memory.bytes >= 32 << 20, memory.bytes <= 3 << 30 else {
            throw ValidationError("--memory must be a whole number of MiB from 32M to 3G")
        }
        guard timeout >= 0 else { throw ValidationError("--timeout must be ≥ 0") }
    }

    func run() throws {
        if let stats { try OutputGuard.refuse(stats, option: "--stats", samePoolAs: pool) }
        removeStaleRAMFiles()
        let qemu = try cliTool { try Tools.require("qemu-system-x86_64", package: "qemu-system-x86") }
        for (what, path) in [("kernel", kernel), ("initramfs", initrd)] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), FileManager.default.isReadableFile(atPath: path) else {
                throw CLIError("\(path): no such \(what) (or not readable)")
            }
            guard !isDir.boolValue else { throw CLIError("\(path): a directory, not a \(what) file") }
        }
        if let stats { try checkWritable(stats) }
        let pluginPath = try cliTool { try Tools.plugin(explicit: plugin, executable: CommandLine.arguments[0]) }
        if let ramFile, FileManager.default.fileExists(atPath: ramFile) {
            throw CLIError("\(ramFile): exists; QEMU would reuse its contents as guest RAM (remove it or choose another path)")
        }
        let ram = ramFile ?? "\(Self.ramPrefix)\(getpid())"
        for (what, value) in [("pool path", pool), ("volume name", volume.value), ("RAM file", ram), ("stats file", stats ?? "")] where value.contains(",") {
            throw CLIError("\(value): a \(what) given to the QEMU plugin cannot contain ','")
        }
        let keepRam = ramFile != nil
        defer { if !keepRam { unlink(ram) } }
        unlink(ram)

        // The region: check the space, create the volume, then let go of it (the plugin maps it).
        let lanes = smp + 2
        do {
            let p = try openPool(pool, writable: true)
            let free = p.store.space.free * p.store.superblock.segmentSize
            // Page images can reach guest RAM's size over a run (a boot images ~75 % of it).
            let need = memory.bytes + (maxAccesses == 0 ? 1 << 30 : maxAccesses * 6)
            if !recordingOff && free < need {
                throw CLIError("\(pool): region too small: \(formatBytes(free)) free, a recording like this needs about \(formatBytes(need)) (guest RAM images + ~6 bytes per access); use --max-accesses or a larger region", status: ExitStatus.refused)
            }
            _ = try p.store.createVolume(named: volume.value, lanes: lanes)
        }

        let machine = [
            "-accel", "tcg", "-machine", "pc,memory-backend=ram0", "-m", "\(memory.bytes >> 20)M", "-smp", "\(smp)",
            "-object", "memory-backend-file,id=ram0,size=\(memory.bytes >> 20)M,mem-path=\(ram),share=on",
            "-nic", "none", "-vga", "none", "-no-reboot",
        ] + qemuArguments
        // Until QEMU runs, a failure leaves nothing behind.
        func dropVolume() { if let p = try? openPool(pool, writable: true) { try? p.store.deleteVolume(volume.value) } }
        let layout: QEMUMemoryLayout
        do { layout = try probeLayout(qemu: qemu, machine: machine) } catch { dropVolume(); throw error }
        unlink(ram)  // the probe created it; the recording must start from zeros

        let statsPath = stats ?? NSTemporaryDirectory() + "pmtrace-stats-\(getpid())"
        defer { if stats == nil { unlink(statsPath) } }
        let pluginArgs = ["pool=\(pool)", "volume=\(volume.value)", "ram=\(ram)", "ramsize=\(memory.bytes)",
                          "max=\(maxAccesses)", "every=\(checkpointEvery)", "record=\(recordingOff ? "off" : "on")",
                          "stats=\(statsPath)"] + layout.pluginArguments
            + (snapshot.map { ["snapshot=\($0)", "snapepoch=\(snapshotEpoch)"] } ?? [])
        let args = machine + ["-nographic", "-kernel", kernel, "-initrd", initrd, "-append", append,
                              "-plugin", ([pluginPath] + pluginArgs).joined(separator: ",")]

        let started = Date()
        let console: [ConsoleLine]
        do { console = try runGuest(qemu: qemu, arguments: args, started: started) } catch {
            dropVolumeIfEmpty(pool, volume.value)  // QEMU refused the kernel (or died) before the plugin wrote anything
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        let s = PluginStats(text: (try? String(contentsOfFile: statsPath, encoding: .utf8)) ?? "")
        guard !s.mode.isEmpty else {
            dropVolumeIfEmpty(pool, volume.value)
            throw CLIError("QEMU ended without the plugin's counters (see its message above)")
        }

        // The console lane: the configuration, then the guest's lines with their host times.
        let p = try openPool(pool, writable: true)
        let w = try p.store.openWriter(volume: volume.value, lane: smp + 1)
        let config = RunConfiguration(qemu: [qemu] + args, kernel: kernel, initrd: initrd, memory: memory.bytes, smp: smp,
                                      checkpointEvery: checkpointEvery, maxAccesses: maxAccesses,
                                      layout: layout.ranges.map { .init(name: $0.name, type: $0.type, physical: $0.physical, length: $0.length, gpa: $0.gpa) })
        let json = try JSONEncoder().encode(config)
        try w.append(bytes: Array("pmtrace-config ".utf8) + Array(json), kind: .marker, timestamp: unixNanoseconds(started))
        for line in console { try w.append(bytes: Array(line.text.utf8), kind: .marker, timestamp: line.time) }
        w.close()

        print("""
            recorded '\(volume)' in \(String(format: "%.1f", seconds)) s: \(s.recorded) of \(s.loads + s.stores) accesses \
            (\(s.loads) loads, \(s.stores) stores; \(s.io) to devices, \(s.unmapped) untranslated, not recorded), \
            \(s.pmlEntries) PML entries, \(s.checkpoints) checkpoints with \(s.images) page images \
            (\(s.unloggedPages) pages changed without a store), \(console.count) console lines
            """)
        if s.failed { throw CLIError("the store stopped the recording early (see the plugin's message above)", status: ExitStatus.refused) }
    }

    struct RunConfiguration: Encodable {
        struct Range: Encodable { var name: String, type: String, physical: UInt64, length: UInt64, gpa: UInt64 }
        var qemu: [String], kernel: String, initrd: String, memory: UInt64, smp: Int, checkpointEvery: UInt64, maxAccesses: UInt64
        var layout: [Range]
    }

    /// Starts the machine paused and asks its monitor (QMP's
    /// human-monitor-command) where the RAM blocks are.
    func probeLayout(qemu: String, machine: [String]) throws -> QEMUMemoryLayout {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: qemu)
        p.arguments = machine + ["-S", "-display", "none", "-qmp", "stdio", "-serial", "none"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        let commands = ["info ramblock", "info mtree", "info mtree -f"]
        var requests = #"{"execute":"qmp_capabilities"}"# + "\n"
        for c in commands { requests += #"{"execute":"human-monitor-command","arguments":{"command-line":"\#(c)"}}"# + "\n" }
        requests += #"{"execute":"quit"}"# + "\n"
        input.fileHandleForWriting.write(Data(requests.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // Answers: one JSON object per line; the texts are the "return" strings in order.
        var answers: [String] = []
        for line in data.split(separator: 10) {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let r = o["return"] as? String else { continue }
            answers.append(r)
        }
        guard answers.count == commands.count else {
            let why = problems.split(separator: "\n").last.map(String.init) ?? "exit \(p.terminationStatus)"
            throw CLIError("QEMU refused the machine: \(why)")
        }
        do {
            return try QEMUMemoryLayout(ramblock: answers[0], tree: answers[1], mtree: answers[2])
        } catch {
            throw CLIError("cannot read QEMU's memory layout: \(error)")
        }
    }

    struct ConsoleLine { let time: UInt64; let text: String }

    static let ramPrefix = "/dev/shm/pmtrace-ram-"

    /// Removes the temporary RAM files of earlier runs whose pmtrace process
    /// is gone (killed with SIGKILL, which leaves no chance to clean up).
    func removeStaleRAMFiles() {
        let dir = URL(fileURLWithPath: Self.ramPrefix).deletingLastPathComponent().path
        let stem = URL(fileURLWithPath: Self.ramPrefix).lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(stem) {
            guard let pid = pid_t(name.dropFirst(stem.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(dir)/\(name)") }
        }
    }

    /// Runs the guest, echoing its console with the elapsed time; returns its lines.
    /// QEMU runs under `setpriv --pdeathsig TERM` when util-linux has it, so
    /// if this process is killed outright the guest stops too (QEMU's TERM
    /// handler exits cleanly and the plugin commits what it recorded).
    func runGuest(qemu: String, arguments: [String], started: Date) throws -> [ConsoleLine] {
        let p = Process()
        if let setpriv = Tools.which("setpriv") {
            p.executableURL = URL(fileURLWithPath: setpriv)
            p.arguments = ["--pdeathsig", "TERM", "--", qemu] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: qemu)
            p.arguments = arguments
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Ctrl-C or a TERM stops the guest the way --timeout does: QEMU exits,
        // the plugin commits what it recorded, and this command still stores
        // the console and removes its temporary RAM file.
        let stops = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler {
                standardErrorWrite(Data("pmtrace: stopping the guest (signal \(sig)); what was recorded is kept\n".utf8))
                if p.isRunning { p.terminate() }
            }
            source.resume()
            return source
        }
        defer { for s in stops { s.cancel() } }
        let deadline = timeout > 0 ? DispatchTime.now() + timeout : nil
        let timer = deadline.map { d in
            let t = DispatchSource.makeTimerSource()
            t.schedule(deadline: d)
            t.setEventHandler { if p.isRunning { standardErrorWrite(Data("pmtrace: --timeout reached: stopping the guest\n".utf8)); p.terminate() } }
            t.resume()
            return t
        }
        var lines: [ConsoleLine] = []
        var pending = Data()
        let handle = out.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 10) {
                let raw = pending[pending.startIndex..<nl]
                pending = Data(pending[(nl + 1)...])
                let text = QEMUMemoryLayoutText.clean(String(decoding: raw, as: UTF8.self))
                guard !text.isEmpty else { continue }
                let now = Date()
                lines.append(ConsoleLine(time: unixNanoseconds(now), text: text))
                standardErrorWrite(Data(String(format: "[%6.1f s] guest: %@\n", now.timeIntervalSince(started), TerminalText.escape(text)).utf8))
            }
        }
        p.waitUntilExit()
        timer?.cancel()
        if p.terminationReason == .uncaughtSignal && p.terminationStatus != SIGTERM {
            throw CLIError("QEMU was killed by signal \(p.terminationStatus)")
        }
        if p.terminationStatus != 0 && p.terminationReason == .exit {
            throw CLIError("QEMU exited with status \(p.terminationStatus) (see its messages above)")
        }
        return lines
    }
}
