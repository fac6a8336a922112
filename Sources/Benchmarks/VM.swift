import Foundation
import GuestRecording
import PMTrace
import TraceAnalysis

/// The recorder in a real hypervisor: the QEMU plugin over the bare-metal
/// writer. One boot of the test guest with the same plugin recording
/// nothing (callbacks, address translation and counting only) against one
/// boot recording every access, PML and checkpoints: the ratio is what the
/// store adds (goal ≤ 15 %). Bytes per access of the real boot. User mode:
/// `pmtrace record -- ls -l /usr/bin` against the valgrind-lackey pipeline
/// on the same program (goal ≥ 10× faster), with access counts per kind side
/// by side. Quick mode runs only the user-mode part; `--vm-overhead-only`
/// only the two boots; `--vm-pairs N` boots N alternating off/on pairs and
/// reports the median pair's overhead.
func runVM(_ ctx: Context) throws {
    print("\n== vm: the QEMU plugin (bare-metal writer) in system and user mode")
    let root = FileManager.default.currentDirectoryPath
    let pmtraceBin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pmtrace").path
    guard FileManager.default.isExecutableFile(atPath: pmtraceBin) else { throw BenchError("\(pmtraceBin): build pmtrace first (swift build -c release)") }
    guard Tools.which("qemu-x86_64") != nil, Tools.which("qemu-system-x86_64") != nil else {
        print("  skipped: QEMU is not installed (scripts/setup.sh installs qemu-system-x86 and qemu-user)")
        return
    }
    let plugin = try lastLine(runTool("/bin/bash", ["\(root)/scripts/build-plugin.sh"]).out)
    var rows: [[String]] = []

    if !ctx.vmOverheadOnly { rows += try userModeComparison(ctx, pmtraceBin: pmtraceBin, plugin: plugin) }

    guard !ctx.quick else {
        try writeCSV(ctx, "vm", header: ["figure", "value"], rows: rows)
        print("  (quick: no boot)")
        return
    }

    // System mode: one boot with recording off, one recording everything.
    let guest = try runTool("/bin/bash", ["\(root)/scripts/guest.sh"]).out.split(separator: "\n").map(String.init)
    guard guest.count >= 2 else { throw BenchError("scripts/guest.sh printed no kernel and initramfs") }
    let (kernel, initrd) = (guest[guest.count - 2], guest[guest.count - 1])
    let vmPool = ctx.poolPath("vm-boot")
    defer { unlink(vmPool) }
    func freshPool() throws {
        unlink(vmPool) // the previous pair's pool: format checks the free space without it
        _ = try runTool(pmtraceBin, ["format", vmPool, "--size", "11G", "--force"])
        // tmpfs clears a page when it is first touched (format only reserves
        // them): done here, outside the timed boots, as on real persistent memory.
        try touchPages(vmPool)
    }
    func boot(_ volume: String, _ extra: [String]) throws -> (seconds: Double, stats: PluginStats) {
        let stats = ctx.poolPath("vm-\(volume)-stats")
        defer { unlink(stats) }
        let out = try runTool(pmtraceBin, ["record-vm", vmPool, volume, "--kernel", kernel, "--initrd", initrd,
                                           "--plugin", plugin, "--stats", stats] + extra).out
        // "recorded 'v' in 41.6 s: …" — the QEMU run alone (not the layout probe).
        guard let r = out.range(of: "' in "), let s = Double(out[r.upperBound...].prefix { $0 != " " }) else {
            throw BenchError("record-vm printed no time: \(out)")
        }
        return (s, PluginStats(text: try String(contentsOfFile: stats, encoding: .utf8)))
    }
    // Pairs, off then on, each on a fresh pool (a recorded boot fills most of
    // it): the median pair's overhead is the figure; the per-boot figures
    // below (CPU split, bytes per access, restore, analysis) are the last
    // pair's, whose recorded volume is the one left in the pool.
    var pairs: [(off: (seconds: Double, stats: PluginStats), on: (seconds: Double, stats: PluginStats))] = []
    for i in 0..<ctx.vmPairs {
        try freshPool()
        let off = try boot("callbacks-only", ["--recording-off"])
        let on = try boot("recorded", [])
        pairs.append((off, on))
        if ctx.vmPairs > 1 {
            print("  pair \(i + 1)/\(ctx.vmPairs): recording off \(fmt(off.seconds, 1)) s, recording \(fmt(on.seconds, 1)) s: +\(fmt((on.seconds / off.seconds - 1) * 100, 1)) %; vCPU CPU \(fmt(Double(off.stats.vcpuCPUNanoseconds) / 1e9, 1)) → \(fmt(Double(on.stats.vcpuCPUNanoseconds) / 1e9, 1)) s, in checkpoints \(fmt(Double(on.stats.vcpuCheckpointNanoseconds) / 1e9, 2)) s, waiting \(fmt(Double(on.stats.vcpuWaitNanoseconds) / 1e9, 2)) s; vCPU not running (wall − CPU) \(fmt(off.seconds - Double(off.stats.vcpuCPUNanoseconds) / 1e9, 2)) → \(fmt(on.seconds - Double(on.stats.vcpuCPUNanoseconds) / 1e9, 2)) s, preempted \(off.stats.vcpuInvoluntarySwitches) → \(on.stats.vcpuInvoluntarySwitches) times; load average \(loadAverage())")
        }
    }
    let ratios = pairs.map { $0.on.seconds / $0.off.seconds }
    let (off, on) = pairs[pairs.count - 1]
    let medianOverhead = ratios.sorted()[ratios.count / 2] - 1
    if pairs.count > 1 {
        print("  \(pairs.count) pairs: overheads " + ratios.map { "+" + fmt(($0 - 1) * 100, 1) + " %" }.joined(separator: ", ") + "; median +\(fmt(medianOverhead * 100, 1)) % (the figures below are the last pair's)")
    }
    let p = try TracePool.open(path: vmPool, writable: false)
    let space = p.store.volumes().first { $0.name == "recorded" }.map { UInt64($0.segmentCount) * p.store.superblock.segmentSize } ?? 0
    let accessBytes = try VolumeStats.compute(store: p.store, volume: "recorded").byKind["guest-access"]?.bytes ?? 0
    let overhead = on.seconds / off.seconds - 1
    print("  system mode, one boot of the test guest (\(on.stats.loads + on.stats.stores) accesses):")
    printTable(["run", "seconds", "M accesses/s"], [
        ["plugin, recording off (callbacks only)", fmt(off.seconds, 1), fmt(Double(off.stats.loads + off.stats.stores) / off.seconds / 1e6, 1)],
        ["plugin, recording everything", fmt(on.seconds, 1), fmt(Double(on.stats.recorded) / on.seconds / 1e6, 1)],
    ])
    let vcpuOff = Double(off.stats.vcpuCPUNanoseconds) / 1e9, vcpuOn = Double(on.stats.vcpuCPUNanoseconds) / 1e9
    print("  CPU time: vCPU thread \(fmt(vcpuOff, 1)) s with recording off, \(fmt(vcpuOn, 1)) s recording (+\(fmt((vcpuOn / vcpuOff - 1) * 100, 1)) %: the overhead when the encoder has a core of its own); encoder thread \(fmt(Double(on.stats.encoderCPUNanoseconds) / 1e9, 1)) s (\(fmt(Double(on.stats.encoderCPUNanoseconds) / Double(max(1, on.stats.recorded)), 1)) ns/access); load average at the end \(loadAverage())")
    print("  the store adds \(fmt((pairs.count > 1 ? medianOverhead : overhead) * 100, 1)) % to the boot\(pairs.count > 1 ? " (median of \(pairs.count) pairs)" : "") (goal ≤ 15 %); \(fmt(Double(accessBytes) / Double(max(1, on.stats.recorded)), 2)) payload bytes/access (\(fmt(Double(space) / Double(max(1, on.stats.recorded)), 2)) with images, headers and PML: \(formatGiB(space)) for the boot); \(on.stats.checkpoints) checkpoints, \(on.stats.images) page images, \(on.stats.pmlEntries) PML entries")
    print("  plugin stats (recording): vCPU waits for the encoder \(on.stats.vcpuWaits) times, \(fmt(Double(on.stats.vcpuWaitNanoseconds) / 1e9, 2)) s; vCPU in checkpoints \(fmt(Double(on.stats.vcpuCheckpointNanoseconds) / 1e9, 2)) s")
    rows += [["vcpu-waits", String(on.stats.vcpuWaits)], ["vcpu-wait-s", fmt(Double(on.stats.vcpuWaitNanoseconds) / 1e9, 3)],
             ["vcpu-checkpoint-s", fmt(Double(on.stats.vcpuCheckpointNanoseconds) / 1e9, 3)]]
    rows += [["vcpu-cpu-off-s", fmt(vcpuOff, 2)], ["vcpu-cpu-on-s", fmt(vcpuOn, 2)],
             ["encoder-cpu-ns-per-access", fmt(Double(on.stats.encoderCPUNanoseconds) / Double(max(1, on.stats.recorded)), 2)]]
    rows += [["boot-off-s", fmt(off.seconds, 2)], ["boot-recorded-s", fmt(on.seconds, 2)], ["overhead", fmt(overhead, 4)],
             ["pairs", String(pairs.count)], ["overhead-median", fmt(medianOverhead, 4)],
             ["payload-bytes-per-access", fmt(Double(accessBytes) / Double(max(1, on.stats.recorded)), 3)],
             ["region-bytes-per-access", fmt(Double(space) / Double(max(1, on.stats.recorded)), 3)]]
    guard !ctx.vmOverheadOnly else {
        try writeCSV(ctx, "vm", header: ["figure", "value"], rows: rows)
        return
    }
    // Restore: the last epoch's image, against cp of an image of the same size.
    let memory = try GuestMemory(store: p.store, volume: "recorded")
    let image = ctx.poolPath("vm-restored"), copy = ctx.poolPath("vm-copied")
    defer { unlink(image); unlink(copy) }
    var restoreSeconds: [Double] = [], cpSeconds: [Double] = []
    var restored = GuestMemory.RestoreSummary(bytes: 0, dataPages: 0, holes: 0)
    for _ in 0..<3 {
        restoreSeconds.append(try timed { restored = try memory.restore(epoch: memory.epochs.epochs.count - 1, to: image, overwrite: true) })
        unlink(copy)
        cpSeconds.append(try timed { _ = try runTool("/bin/cp", ["--sparse=always", image, copy]) })
    }
    let restoreMedian = restoreSeconds.sorted()[1], cpMedian = cpSeconds.sorted()[1]
    let gbps = Double(restored.bytes) / restoreMedian / 1e9
    print("  restore of the last epoch: \(formatGiB(restored.bytes)) image (\(restored.dataPages) data pages) in \(fmt(restoreMedian, 3)) s = \(fmt(gbps, 2)) GB/s (goal ≥ 1 GB/s); cp --sparse=always of that image \(fmt(cpMedian, 3)) s = \(fmt(Double(restored.bytes) / cpMedian / 1e9, 2)) GB/s; restore ÷ cp time \(fmt(restoreMedian / cpMedian, 2))")
    rows += [["restore-gbps", fmt(gbps, 3)], ["restore-s", fmt(restoreMedian, 4)], ["cp-s", fmt(cpMedian, 4)]]
    // Analysis of the whole boot: the tools must read ~1.7 G accesses without choking.
    let picture = ctx.outDir.appendingPathComponent("vm-boot-heatmap.svg").path
    var analysis: [(String, Double)] = []
    for (name, args) in [("heatmap", ["heatmap", vmPool, "recorded", "--out", picture]),
                         ("hot --by page", ["hot", vmPool, "recorded", "--by", "page", "--top", "10"]),
                         ("working-set", ["working-set", vmPool, "recorded", "--window", "1s", "--csv"])] {
        analysis.append((name, try timed { _ = try runTool(pmtraceBin, args) }))
    }
    let accesses = Double(on.stats.recorded)
    print("  analysis of the whole boot (\(on.stats.recorded) accesses): " + analysis.map {
        "\($0.0) \(fmt($0.1, 1)) s (\(fmt(accesses / $0.1 / 1e6, 1)) M accesses/s)"
    }.joined(separator: ", ") + "; heatmap in \(picture)")
    rows += analysis.map { ["\($0.0.replacingOccurrences(of: " ", with: "-"))-s", fmt($0.1, 2)] }
    try writeCSV(ctx, "vm", header: ["figure", "value"], rows: rows)
}

/// User mode: `pmtrace record` against the valgrind-lackey pipeline on the
/// same program, access counts per kind side by side; the CSV rows.
private func userModeComparison(_ ctx: Context, pmtraceBin: String, plugin: String) throws -> [[String]] {
    var rows: [[String]] = []
    let program = ["ls", "-l", "/usr/bin"]
    let pool = ctx.poolPath("vm-user")
    defer { unlink(pool) }
    _ = try runTool(pmtraceBin, ["format", pool, "--size", "2G", "--force"])
    let statsPath = ctx.poolPath("vm-user-stats")
    defer { unlink(statsPath) }
    var recordTimes: [Double] = []
    for i in 0..<max(1, ctx.repetitions) {
        let t = try timed { _ = try runTool(pmtraceBin, ["record", pool, "ls\(i)", "--plugin", plugin, "--stats", statsPath, "--"] + program) }
        recordTimes.append(t)
    }
    let user = PluginStats(text: (try? String(contentsOfFile: statsPath, encoding: .utf8)) ?? "")
    var lackeyTime = Double.nan
    var lackeyCounts: [String: UInt64] = [:]
    if Tools.which("valgrind") != nil {
        let trace = ctx.poolPath("vm-lackey-trace")
        defer { unlink(trace) }
        lackeyTime = try timed {
            _ = try runTool("/bin/sh", ["-c", "valgrind --tool=lackey --trace-mem=yes --log-file=\(trace) \(program.joined(separator: " ")) >/dev/null 2>&1; exec \(pmtraceBin) import-lackey \(pool) lackey \(trace)"])
        }
        let p = try TracePool.open(path: pool, writable: false)
        lackeyCounts = try VolumeStats.compute(store: p.store, volume: "lackey").accesses
    }
    let recordTime = recordTimes.sorted()[recordTimes.count / 2]
    print("  user mode, `\(program.joined(separator: " "))`: pmtrace record \(fmt(recordTime, 2)) s vs valgrind lackey + import-lackey \(fmt(lackeyTime, 2)) s = \(fmt(lackeyTime / recordTime, 1))× faster (goal ≥ 10×)")
    printTable(["kind", "pmtrace record", "lackey"], [
        ["load", "\(user.loads)", "\(lackeyCounts["load"] ?? 0)"],
        ["store", "\(user.stores)", "\(lackeyCounts["store"] ?? 0)"],
        ["modify", "-", "\(lackeyCounts["modify"] ?? 0)"],
        ["instruction fetch", "-", "\(lackeyCounts["instruction-fetch"] ?? 0)"],
    ])
    print("""
          (QEMU counts a read-modify-write instruction as a load and a store; lackey counts it once as \
        a modify. Lackey records instruction fetches; the plugin does not. The two also run different \
        dynamic loaders' paths: valgrind preloads its own, QEMU maps the program itself.)
        """)
    rows.append(["user-record-s", fmt(recordTime, 3)])
    rows.append(["user-lackey-s", fmt(lackeyTime, 3)])
    rows.append(["user-speedup", fmt(lackeyTime / recordTime, 2)])

    return rows
}

/// Faults in every page of a file through a read-only shared mapping, so
/// tmpfs allocates and clears them now rather than in the writer's first store.
private func touchPages(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw BenchError("\(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_size > 0 else { throw BenchError("\(path): cannot stat") }
    let size = Int(st.st_size)
    guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
        throw BenchError("\(path): mmap: \(String(cString: strerror(errno)))")
    }
    defer { munmap(base, size) }
    // MADV_POPULATE_READ (Linux 5.14): faults every page in, as a read would.
    guard madvise(base, size, 22) == 0 else { throw BenchError("\(path): madvise: \(String(cString: strerror(errno)))") }
}

/// The 1-minute load average (other work on the machine skews these timings).
private func loadAverage() -> String {
    var l = [Double](repeating: 0, count: 3)
    return getloadavg(&l, 3) > 0 ? fmt(l[0], 2) : "?"
}

private func formatGiB(_ bytes: UInt64) -> String { "\(fmt(Double(bytes) / Double(1 << 30), 2)) GiB" }

private func lastLine(_ s: String) throws -> String {
    guard let l = s.split(separator: "\n").last else { throw BenchError("no output") }
    return String(l)
}

private func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanoseconds()
    try body()
    return Double(monotonicNanoseconds() - start) / 1e9
}

/// Runs a program to completion; throws with its standard error when it fails.
func runTool(_ executable: String, _ args: [String]) throws -> (out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let errData = ErrBox()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        done.signal()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    done.wait()
    let e = String(decoding: errData.get(), as: UTF8.self)
    guard p.terminationStatus == 0 else { throw BenchError("\(executable) \(args.joined(separator: " ")) failed: \(e.suffix(500))") }
    return (String(decoding: o, as: UTF8.self), e)
}

private final class ErrBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
