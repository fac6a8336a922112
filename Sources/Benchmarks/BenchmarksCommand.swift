import ArgumentParser
import Foundation
import PMemBackend

struct BenchmarksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Benchmarks",
        abstract: "PMTrace's measurements: the paper's sweeps, the PMDK peers, events, mount time.",
        discussion: """
            Each experiment prints a table, writes <out>/<experiment>.csv and .svg, and states every \
            figure as a ratio against the limit or the peers measured in the same run. Unless \
            PMEM2_FORCE_GRANULARITY is set, the harness sets it to CACHE_LINE so libpmem2 takes the \
            persistent-memory path (non-temporal stores, flushes, fences) on /dev/shm; use \
            --granularity as-is to measure what libpmem2 picks by itself.
            """)

    enum Experiment: String, ExpressibleByArgument, CaseIterable {
        case sweep, transfer, peers, events, mount, symbols, vm, analysis, crc, all
    }

    enum GranularityChoice: String, ExpressibleByArgument {
        case cacheLine = "cache-line", asIs = "as-is"
    }

    @Argument(help: "sweep | transfer | peers | events | mount | symbols | vm | analysis | crc | all") var experiment: Experiment = .all
    @Flag(help: "Small sizes, one repetition: checks that everything runs (under a minute).") var quick = false
    @Flag(help: "vm: only the recording-overhead comparison (two boots), no user mode, restore or analysis.") var vmOverheadOnly = false
    @Option(help: "vm: boot this many pairs (recording off, then on, alternating; ~80 s a pair) and report the median pair's overhead (boot times on this machine move by ±10 % run to run).") var vmPairs = 1
    @Option(help: "Directory for CSV and SVG results.") var out: String = "bench-results"
    @Option(help: "Directory for pool files (default /dev/shm).") var poolDir: String = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    @Option(help: "cache-line (force the pmem path) or as-is.") var granularity: GranularityChoice = .cacheLine

    func run() throws {
        var note = ""
        if let forced = PMemMapping.forcedGranularity {
            note = "PMEM2_FORCE_GRANULARITY=\(forced) (set by the caller)"
        } else if granularity == .cacheLine {
            setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1)
            note = "PMEM2_FORCE_GRANULARITY=CACHE_LINE (set by the harness)"
        } else {
            note = "PMEM2_FORCE_GRANULARITY not set"
        }
        // libpmemobj and libpmemlog sit on libpmem (v1), which has its own switch:
        // without it they would msync on every persist on /dev/shm, which is not
        // what they do on real pmem. Give the peers the same path we take.
        if granularity == .cacheLine && getenv("PMEM_IS_PMEM_FORCE") == nil {
            setenv("PMEM_IS_PMEM_FORCE", "1", 1)
            note += ", PMEM_IS_PMEM_FORCE=1 for libpmemobj/libpmemlog"
        } else if let v = getenv("PMEM_IS_PMEM_FORCE") {
            note += ", PMEM_IS_PMEM_FORCE=\(String(cString: v))"
        }
        // Ask libpmem2 what it actually gives on this pool directory.
        let probe = "\(poolDir)/pmtrace-bench-probe-\(getpid())"
        let map = try PMemMapping.create(path: probe, size: 1 << 20, replace: true)
        note = "libpmem2 granularity: \(map.granularity.rawValue); \(note); pools in \(poolDir)"
        unlink(probe)
        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        var ctx = Context(outDir: outDir, poolDir: poolDir, quick: quick, granularityNote: note)
        ctx.vmOverheadOnly = vmOverheadOnly
        guard vmPairs >= 1 else { throw ValidationError("--vm-pairs must be at least 1") }
        ctx.vmPairs = vmPairs
        print("PMTrace benchmarks\(quick ? " (quick)" : ""): \(note)")
        let start = Date()
        let all: [Experiment] = experiment == .all ? [.sweep, .transfer, .peers, .events, .mount, .symbols, .vm, .analysis, .crc] : [experiment]
        for e in all {
            switch e {
            case .sweep: try runSweep(ctx)
            case .transfer: try runTransfer(ctx)
            case .peers: try runPeers(ctx)
            case .events: try runEvents(ctx)
            case .mount: try runMount(ctx)
            case .symbols: try runSymbols(ctx)
            case .vm: try runVM(ctx)
            case .analysis: try runAnalysis(ctx)
            case .crc: try runCRC(ctx)
            case .all: break
            }
        }
        print("\nresults in \(outDir.path) (\(fmt(Date().timeIntervalSince(start), 1)) s)")
    }
}
