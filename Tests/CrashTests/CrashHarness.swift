import Foundation
import PMTraceTesting
import Synchronization
import PMTrace
import TraceFormat
import TraceVolume

/// What the workload has been told so far, i.e. what every crash image must honour.
final class Model: @unchecked Sendable {
    /// Per volume (by name at creation), per lane: payload sizes appended, in sequence order.
    var appended: [String: [[Int]]] = [:]
    /// Per volume, per lane: records whose commit has returned.
    var committed: [String: [Int]] = [:]
    /// Sets of volume names a crash image may show right now.
    var allowedNames: [Set<String>] = [[]]
    /// Current name → name at creation (renames).
    var alias: [String: String] = [:]
    var allowUnformatted = false
    var ringVolumes: Set<String> = []
    /// A damaged superblock copy (a mount warning and an fsck warning naming it)
    /// is expected: the region was damaged on purpose before a repair.
    var allowSuperblockCopyDamage = false
}

/// Payload of record `seq` of `lane`, `size` bytes: deterministic, so any image can be checked.
/// Made once per (lane, seq, size) and kept: every crash state reads every record
/// again, and making the bytes anew each time was most of the suite's run time.
func expectedPayload(lane: Int, seq: Int, size: Int) -> [UInt8] {
    let key = PayloadKey(lane: lane, seq: seq, size: size)
    if let cached = payloadCache.withLock({ $0[key] }) { return cached }
    var rng = SplitMix64(seed: UInt64(lane) << 32 | UInt64(seq))
    var bytes = [UInt8](repeating: 0, count: size)
    bytes.withUnsafeMutableBufferPointer { b in
        for i in 0..<size { b[i] = UInt8(truncatingIfNeeded: rng.next()) }
    }
    payloadCache.withLock { $0[key] = bytes }
    return bytes
}

struct PayloadKey: Hashable { let lane: Int, seq: Int, size: Int }
let payloadCache = Mutex<[PayloadKey: [UInt8]]>([:])

/// Whether `r`'s payload is exactly `expected`, compared in place.
func payloadEquals(_ r: RecordView, _ expected: [UInt8]) -> Bool {
    guard r.length == expected.count else { return false }
    var at = 0, same = true
    expected.withUnsafeBytes { e in
        r.forEachFragment { f in
            if same, f.count > 0, memcmp(f.baseAddress!, e.baseAddress! + at, f.count) != 0 { same = false }
            at += f.count
        }
    }
    return same
}

/// Lanes mounted from the segment summary in crash states so far (the tests check the summary was exercised).
let summaryMounts = Mutex(0)

/// Crash states checked by every crash test of this process so far.
let totalCrashStates = Mutex(0)

struct CrashReport {
    var points = 0
    var states = 0
    var violations: [String] = []
}

/// Samples per crash point beyond the exhaustive cases; raise with PMTRACE_CRASH_SAMPLES for the long run.
let crashSamples = Int(ProcessInfo.processInfo.environment["PMTRACE_CRASH_SAMPLES"] ?? "") ?? 2
let exhaustiveLimit = Int(ProcessInfo.processInfo.environment["PMTRACE_CRASH_EXHAUSTIVE"] ?? "") ?? 6

let smallFormat = FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 4)

/// Runs `setup` (no crash points), then `operation` with a crash check at
/// every persistence call it makes; returns what was checked and violated.
/// `samples` and `exhaustive` default to the run's (PMTRACE_CRASH_SAMPLES,
/// PMTRACE_CRASH_EXHAUSTIVE); a test with few persistence points may ask for more.
/// Held by `crashTest` while the simulator is active (see there).
let simulatorTurn = NSLock()

func crashTest(
    regionSize: UInt64 = 1 << 20, formatted: Bool = true, seed: UInt64 = 1,
    samples: Int = crashSamples, exhaustive: Int = exhaustiveLimit, fused: Bool = false,
    setup: (TraceStore, Model) throws -> Void = { _, _ in },
    operation: (PersistentRegion, TraceStore?, Model) throws -> Void,
    extraCheck: ((MemoryPool, Model) throws -> [String])? = nil
) throws -> CrashReport {
    // `PersistenceSimulator.active` is one global: crash tests of different
    // suites (which Swift Testing runs in parallel) take turns.
    simulatorTurn.lock()
    defer { simulatorTurn.unlock() }
    let sim = PersistenceSimulator(size: regionSize)
    PersistenceSimulator.active = sim
    defer { PersistenceSimulator.active = nil }
    let model = Model()
    var store: TraceStore?
    if formatted {
        try TraceStore.format(region: (try sim.region()), parameters: smallFormat)
        // `fused`: the simulator's own fused checksum + copy and group stream, the path hosted cache-line mappings take.
        var options = StoreOptions.testing(commitInterval: 0, fused: false)
        if fused {
            options.copyWithChecksum = PersistenceSimulator.copyWithChecksum
            options.groupStream = PersistenceSimulator.groupStream
        }
        store = try TraceStore(region: (try sim.region()), writable: true, options: options)
        try setup(store!, model)
    }
    var report = CrashReport()
    var rng = SplitMix64(seed: seed)
    sim.onPoint = { what in
        report.points += 1
        for image in sim.crashImages(samples: samples, exhaustiveLimit: exhaustive, rng: &rng) {
            report.states += 1
            for v in verify(image, model, extraCheck) where report.violations.count < 20 {
                report.violations.append("at point \(report.points) (\(what)): \(v)")
            }
        }
    }
    try operation((try sim.region()), store, model)
    sim.onPoint = nil
    // The final state, after everything was persisted, must verify too.
    sim.fence()
    for v in verify(try copyOf(sim), model, extraCheck) { report.violations.append("final: \(v)") }
    report.states += 1
    totalCrashStates.withLock { $0 += report.states }
    return report
}

func copyOf(_ sim: PersistenceSimulator) throws -> InMemoryRegion {
    let image = InMemoryRegion(size: sim.cpu.size)
    image.base.copyMemory(from: sim.media.baseAddress!, byteCount: Int(sim.cpu.size))
    return image
}

/// Every invariant a crash image must satisfy.
func verify(_ image: InMemoryRegion, _ model: Model, _ extra: ((MemoryPool, Model) throws -> [String])?) -> [String] {
    var problems: [String] = []
    let pool: MemoryPool
    do {
        pool = try MemoryPool.mount(memory: image, writable: false)
    } catch {
        if model.allowUnformatted, case TraceError.notARegion = error { return [] }
        return ["does not mount: \(error)"]
    }
    let store = pool.store
    // A mount from the segment summary finds exactly what a walk over every header finds (FORMAT.md §10.5).
    do {
        let walked = try MemoryPool.mount(memory: image, writable: false, options: .testing(usesSegmentSummary: false)).store
        let (a, b) = (store.mountedSegments(), walked.mountedSegments())
        if a.chains != b.chains || a.free != b.free {
            problems.append("mount from the summary differs from the header walk: \(a.chains) vs \(b.chains) (notes: \(store.mountNotes))")
        }
        if store.warnings.map(\.description) != walked.warnings.map(\.description) {
            problems.append("mount warnings differ: summary \(store.warnings) vs header walk \(walked.warnings)")
        }
        if store.superblock.summaryOffset != 0 { summaryMounts.withLock { $0 += store.lanesMountedFromSummary } }
    } catch { problems.append("the header walk does not mount: \(error)") }
    let warnings = store.warnings.filter { !(model.allowSuperblockCopyDamage && isSuperblockCopyDamage($0)) }
    if !warnings.isEmpty && !model.allowUnformatted { problems.append("mount warnings: \(warnings)") }
    do {
        let r = try store.check()
        for f in r.findings where f.severity != .info {
            if (model.allowUnformatted || model.allowSuperblockCopyDamage) && f.location.contains("superblock") { continue }
            problems.append("fsck \(f.severity): \(f.location): \(f.message)")
        }
    } catch { problems.append("fsck failed: \(error)") }
    let names = Set(store.volumes().map(\.name).filter { !$0.hasPrefix(".") })
    if !model.allowedNames.contains(names) { problems.append("volumes \(names.sorted()) not in \(model.allowedNames.map { $0.sorted() })") }
    for info in store.volumes() where !info.name.hasPrefix(".") {
        let key = model.alias[info.name] ?? info.name
        guard let appended = model.appended[key] else { continue }
        for lane in 0..<info.laneCount {
            let sizes = lane < appended.count ? appended[lane] : []
            let committed = model.committed[key].map { lane < $0.count ? $0[lane] : 0 } ?? 0
            do {
                let reader = try store.openLaneReader(volume: info.name, lane: lane)
                var seqs: [Int] = []
                while let r = try reader.next() {
                    let seq = Int(r.sequence)
                    seqs.append(seq)
                    guard seq < sizes.count else { problems.append("\(info.name) lane \(lane): record \(seq) was never appended"); break }
                    if !payloadEquals(r, expectedPayload(lane: lane, seq: seq, size: sizes[seq])) {
                        problems.append("\(info.name) lane \(lane): record \(seq) has the wrong bytes")
                    }
                }
                if model.ringVolumes.contains(key) {
                    // A contiguous run ending at or after the last committed record.
                    if zip(seqs, seqs.dropFirst()).contains(where: { $1 != $0 + 1 }) { problems.append("\(info.name) lane \(lane): gap in \(seqs)") }
                    if committed > 0 && (seqs.last ?? -1) < committed - 1 { problems.append("\(info.name) lane \(lane): committed \(committed), last read \(seqs.last ?? -1)") }
                } else {
                    if seqs != Array(0..<seqs.count) { problems.append("\(info.name) lane \(lane): not a prefix: \(seqs.prefix(20))") }
                    if seqs.count < committed { problems.append("\(info.name) lane \(lane): \(seqs.count) records, \(committed) were committed") }
                }
            } catch {
                problems.append("\(info.name) lane \(lane): read failed: \(error)")
            }
        }
    }
    if let extra {
        do { problems += try extra(pool, model) } catch { problems.append("extra check: \(error)") }
    }
    return problems
}

/// A mount warning about one superblock copy (the other one is in use).
func isSuperblockCopyDamage(_ warning: TraceError) -> Bool {
    guard case .damaged(let e) = warning, case .superblock? = e.structure else { return false }
    return true
}

/// Appends record `seq` of `lane` (size `size`) and records it in the model.
func appendRecord(_ w: LaneWriter, volume: String, lane: Int, size: Int, model: Model) throws {
    let seq = model.appended[volume]![lane].count
    model.appended[volume]![lane].append(size)
    try w.append(bytes: expectedPayload(lane: lane, seq: seq, size: size), timestamp: UInt64(seq))
}

func commit(_ w: LaneWriter, volume: String, lane: Int, model: Model) {
    w.commit()
    model.committed[volume]![lane] = model.appended[volume]![lane].count
}

func declareVolume(_ name: String, lanes: Int, model: Model) {
    model.appended[name] = [[Int]](repeating: [], count: lanes)
    model.committed[name] = [Int](repeating: 0, count: lanes)
}

/// Appends `count` records of `size` bytes with one `append(batch:)` call
/// (the model's next sequence numbers, the first one's number as the timestamp).
func appendBatch(_ w: LaneWriter, volume: String, lane: Int, size: Int, count: Int, model: Model) throws {
    let first = model.appended[volume]![lane].count
    var bytes: [UInt8] = []
    for j in 0..<count {
        bytes += expectedPayload(lane: lane, seq: first + j, size: size)
        model.appended[volume]![lane].append(size)
    }
    try bytes.withUnsafeBytes { b in try w.append(batch: b, recordLength: size, timestamp: UInt64(first)) }
}
