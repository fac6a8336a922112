import TraceFormat
import TracePayloads
import TraceVolume

/// Summary of a volume's committed records (what `pmtrace stats` prints).
public struct VolumeStats: Codable, Equatable, Sendable {
    /// Records and payload bytes of one record kind.
    public struct KindStats: Codable, Equatable, Sendable {
        /// Records of this kind.
        public var records: UInt64 = 0
        /// Payload bytes of those records.
        public var bytes: UInt64 = 0
    }

    /// The volume's name.
    public var volume: String
    /// Lanes of the volume.
    public var lanes: Int
    /// Committed records over all lanes.
    public var records: UInt64 = 0
    /// Payload bytes of those records.
    public var payloadBytes: UInt64 = 0
    /// Records and bytes by kind name (`RecordKind.name`).
    public var byKind: [String: KindStats] = [:]
    /// Records in each lane, by lane index.
    public var recordsPerLane: [UInt64]
    /// Earliest record timestamp (ns since the Unix epoch); nil without records.
    public var firstTimestamp: UInt64?
    /// Latest record timestamp; nil without records.
    public var lastTimestamp: UInt64?
    /// Memory accesses (memory-access and guest-access batches) by access kind.
    public var accesses: [String: UInt64] = [:]
    /// Memory accesses over all kinds.
    public var accessCount: UInt64 = 0
    /// Distinct 4 KiB pages touched by memory accesses.
    public var distinctPages: Int = 0
    /// Lowest address accessed; nil without accesses.
    public var lowestAddress: UInt64?
    /// Highest byte address accessed; nil without accesses.
    public var highestAddress: UInt64?
    /// Guest-physical pages named by PML batches.
    public var pmlEntries: UInt64 = 0
    /// Checkpoint records (one per epoch of a recorded guest, the base included).
    public var checkpoints: UInt64 = 0

    /// Reads every committed record of `volume` once. O(records + accesses).
    public static func compute(store: TraceStore, volume: String) throws -> VolumeStats {
        let reader = try store.openReader(volume: volume)
        var s = VolumeStats(volume: volume, lanes: reader.info.laneCount,
                            recordsPerLane: [UInt64](repeating: 0, count: reader.info.laneCount))
        var pages = Set<UInt64>()
        var kindCounts = [UInt64](repeating: 0, count: 4)
        var lo = UInt64.max, hi = UInt64.min
        var lastPage = UInt64.max
        while let r = try reader.next() {
            s.records += 1
            s.recordsPerLane[r.lane] += 1
            s.payloadBytes += UInt64(r.length)
            s.byKind[r.kind.name, default: KindStats()].records += 1
            s.byKind[r.kind.name, default: KindStats()].bytes += UInt64(r.length)
            s.firstTimestamp = min(s.firstTimestamp ?? .max, r.timestamp)
            s.lastTimestamp = max(s.lastTimestamp ?? 0, r.timestamp)
            switch r.kind {
            case .memoryAccessBatch, .memoryAccessStreams, .guestAccessBatch:
                try r.decodePayload { (p) throws(FormatError) in
                    try AccessScan.forEach(kind: r.kind, payload: p) { a in
                        kindCounts[Int(a.kind.rawValue)] += 1
                        // Consecutive accesses mostly stay in one page: skip the set then.
                        let page = a.address >> 12
                        if page != lastPage { pages.insert(page); lastPage = page }
                        lo = min(lo, a.address)
                        hi = max(hi, a.address &+ UInt64(max(a.size, 1)) &- 1)
                    }
                }
            case .checkpoint:
                s.checkpoints += 1
            case .pmlBatch:
                try r.decodePayload { (p) throws(FormatError) in try PMLBatch.forEach(p) { _ in s.pmlEntries += 1 } }
            default: break
            }
        }
        for k in MemoryAccess.Kind.allCases where kindCounts[Int(k.rawValue)] > 0 {
            s.accesses[k.name] = kindCounts[Int(k.rawValue)]
        }
        s.accessCount = kindCounts.reduce(0, +)
        s.distinctPages = pages.count
        if s.accessCount > 0 { s.lowestAddress = lo; s.highestAddress = hi }
        return s
    }
}
