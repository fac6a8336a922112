/// The counters the QEMU plugin writes at exit (`stats=PATH`: `key=value`
/// lines), so that a recording can be checked against what the plugin saw.
public struct PluginStats: Equatable, Sendable {
    /// `system` or `user`.
    public var mode = ""
    /// Guest loads the plugin saw (all vCPUs).
    public var loads: UInt64 = 0
    /// Guest stores the plugin saw (all vCPUs).
    public var stores: UInt64 = 0
    /// Accesses to device memory (MMIO): counted, never recorded.
    public var io: UInt64 = 0
    /// Accesses whose address no RAM range translates (should be 0).
    public var unmapped: UInt64 = 0
    /// Accesses written to the volume.
    public var recorded: UInt64 = 0
    /// Accesses beyond `--max-accesses`: counted, not recorded.
    public var unrecorded: UInt64 = 0
    /// PML entries logged (first store to a page in an epoch).
    public var pmlEntries: UInt64 = 0
    /// PML batch records written.
    public var pmlRecords: UInt64 = 0
    /// Checkpoints taken, the base image and the final one included.
    public var checkpoints: UInt64 = 0
    /// Page-image records written.
    public var images: UInt64 = 0
    /// Pages whose contents changed without a store the plugin saw.
    public var unloggedPages: UInt64 = 0
    /// Whether the store refused something (recording stopped there).
    public var failed = false
    /// CPU time of the vCPU threads (system mode), ns: what the guest's
    /// progress is bound by when the encoder has a core of its own.
    public var vcpuCPUNanoseconds: UInt64 = 0
    /// CPU time of the encoder thread, ns.
    public var encoderCPUNanoseconds: UInt64 = 0
    /// Times a vCPU blocked on the encoder thread (its slots all full, or a drain).
    public var vcpuWaits: UInt64 = 0
    /// Wall time the vCPUs spent blocked on the encoder thread, ns.
    public var vcpuWaitNanoseconds: UInt64 = 0
    /// Wall time the vCPUs spent taking checkpoints (the base image included), ns.
    public var vcpuCheckpointNanoseconds: UInt64 = 0
    /// Times the vCPU threads were preempted (involuntary context switches,
    /// system mode): how often another thread took their core — on a
    /// machine with as many cores as the guest has vCPUs plus one, the
    /// encoder thread or another process.
    public var vcpuInvoluntarySwitches: UInt64 = 0
    /// User mode: child processes the program made (fork, vfork,
    /// posix_spawn). A child is a copy of QEMU that records nothing (it would
    /// share the parent's lanes); only the process `record` started is recorded.
    public var forks: UInt64 = 0
    /// User mode: the recording ended at the program's execve (a successful
    /// one runs the new program natively, outside QEMU).
    public var exec = false

    /// Parses the file's text; unknown keys are ignored, bad numbers are 0.
    public init(text: String) {
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let v = UInt64(kv[1]) ?? 0
            switch kv[0] {
            case "mode": mode = String(kv[1])
            case "loads": loads = v
            case "stores": stores = v
            case "io": io = v
            case "unmapped": unmapped = v
            case "recorded": recorded = v
            case "unrecorded": unrecorded = v
            case "pml_entries": pmlEntries = v
            case "pml_records": pmlRecords = v
            case "checkpoints": checkpoints = v
            case "images": images = v
            case "unlogged_pages": unloggedPages = v
            case "failed": failed = v != 0
            case "vcpu_cpu_ns": vcpuCPUNanoseconds = v
            case "encoder_cpu_ns": encoderCPUNanoseconds = v
            case "vcpu_waits": vcpuWaits = v
            case "vcpu_wait_ns": vcpuWaitNanoseconds = v
            case "vcpu_checkpoint_ns": vcpuCheckpointNanoseconds = v
            case "vcpu_involuntary_switches": vcpuInvoluntarySwitches = v
            case "forks": forks = v
            case "exec": exec = v != 0
            default: break
            }
        }
    }
}
