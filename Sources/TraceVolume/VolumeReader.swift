import TraceFormat

/// Reads all lanes of a volume merged by timestamp (ties: lower lane first).
/// Same guarantees as `LaneReader`. Not thread-safe.
/// Cost per record: O(lanes) to pick the next lane, plus the lane's cost.
public final class VolumeReader {
    public let info: VolumeInfo
    public let lanes: [LaneReader]
    var heads: [RecordView?]

    init(store: TraceStore, info: VolumeInfo, salvage: Bool = false) throws(TraceError) {
        self.info = info
        var readers: [LaneReader] = []
        for lane in 0..<info.laneCount { readers.append(try LaneReader(store: store, info: info, lane: lane, salvage: salvage)) }
        lanes = readers
        heads = [RecordView?](repeating: nil, count: info.laneCount)
    }

    /// The next record in timestamp order, or nil when every lane is at its
    /// committed tail.
    public func next() throws(TraceError) -> RecordView? {
        var best = -1
        for i in lanes.indices {
            if heads[i] == nil { heads[i] = try lanes[i].next() }
            if let h = heads[i], best < 0 || h.timestamp < heads[best]!.timestamp { best = i }
        }
        guard best >= 0 else { return nil }
        defer { heads[best] = nil }
        return heads[best]
    }

    /// Picks up newly committed records in every lane.
    public func refresh() throws(TraceError) {
        for l in lanes { try l.refresh() }
    }

    /// Positions every lane at its first record with timestamp ≥ `timestamp`.
    public func seek(timestamp: UInt64) throws(TraceError) {
        heads = [RecordView?](repeating: nil, count: lanes.count)
        for l in lanes { try l.seek(timestamp: timestamp) }
    }
}

extension TraceStore {
    /// A merged reader over every lane of `name`. With `salvage`, each lane
    /// also returns the CRC-valid, in-sequence records found past its commit
    /// point (marked `salvaged`): the trace up to a crash of the traced machine.
    public func openReader(volume name: String, salvage: Bool = false) throws(TraceError) -> VolumeReader {
        try VolumeReader(store: self, info: try volume(named: name), salvage: salvage)
    }

    /// A reader of one lane of `name`.
    public func openLaneReader(volume name: String, lane: Int) throws(TraceError) -> LaneReader {
        let info = try volume(named: name)
        guard lane >= 0, lane < info.laneCount else { throw .laneOutOfRange(lane: lane, laneCount: info.laneCount) }
        return try LaneReader(store: self, info: info, lane: lane)
    }
}
