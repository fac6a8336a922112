import TraceFormat

/// Reads all lanes of a volume merged by timestamp (ties: lower lane first).
/// Same guarantees as `LaneReader`; retains the store. Not thread-safe.
/// Cost per record: O(lanes) to pick the next lane, plus the lane's cost.
///
/// Damage ends only its own lane: the lane's records before it are handed
/// out, the other lanes are read on to their tails (still in timestamp
/// order), and then the first damage met is thrown. A damaged record's own
/// timestamp cannot be trusted, so no other lane's record is held back or
/// lost because of it.
public final class VolumeReader {
    /// The volume as it was when the reader was opened.
    public let info: VolumeInfo
    /// One reader per lane, merged by `next()`.
    public let lanes: [LaneReader]
    var heads: [RecordView?]
    /// Lanes that threw: ended, read no further (until `seek`).
    var ended: [Bool]
    /// The first damage a lane threw, thrown once the other lanes are drained.
    var damage: TraceError?
    /// Lanes left out by `readOnly(lanes:)`: never read, sought or refreshed.
    var left: [Bool]
    /// The error that ended the last `records` iteration (nil: it reached the tail).
    public var iterationError: TraceError?

    init(store: TraceStore, info: VolumeInfo, options: ReadOptions) throws(TraceError) {
        self.info = info
        var readers: [LaneReader] = []
        for lane in 0..<info.laneCount { readers.append(try LaneReader(store: store, info: info, lane: lane, options: options)) }
        lanes = readers
        heads = [RecordView?](repeating: nil, count: info.laneCount)
        ended = [Bool](repeating: false, count: info.laneCount)
        left = [Bool](repeating: false, count: info.laneCount)
    }

    /// From now on reads only the lanes in `lanes` (others, and numbers that
    /// are not lanes of the volume, are ignored): a record or damage of
    /// another lane is never met. Call before the first `next()` (every head
    /// already read is dropped). O(lanes + wanted).
    public func readOnly(lanes wanted: [Int]) {
        // (An array, not a Set: hashing would pull a random seed into the bare-metal archive.)
        for i in lanes.indices {
            left[i] = true
            heads[i] = nil
        }
        for i in wanted where lanes.indices.contains(i) { left[i] = false }
    }

    /// Everything the lanes skipped or found cut short so far, lane by lane.
    public var skipped: [ReadNotice] { lanes.flatMap { $0.skipped } }

    /// Called with each notice of any lane as it happens (notices raised while
    /// the reader was opened are in `skipped`).
    public var onDamage: ((ReadNotice) -> Void)? {
        get { lanes.first?.onDamage }
        set { for l in lanes { l.onDamage = newValue } }
    }

    /// The next record in timestamp order, or nil when every lane is at its
    /// committed tail. Throws a lane's damage only when no other lane has a
    /// record left (see the type's note), and again on every later call.
    ///
    /// A lane's next record is checked when it is read and may be handed out
    /// in a later call (after the caller held the previous one for as long as
    /// it liked); before it is handed out, its segments are checked to be in
    /// the same life (`LaneReader.stillInPlace`), so a ring reclaim or a
    /// deleted volume's reuse in between is met as it is by a lane reader
    /// (thrown as `overwrittenWhileReading`, or skipped with `skipReclaimed`),
    /// never handed out as another life's bytes (adversary s24 F5).
    public func next() throws(TraceError) -> RecordView? {
        while true {
            var best = -1
            var readNow = -1
            for i in lanes.indices where !ended[i] && !left[i] {
                if heads[i] == nil {
                    switch Result(catching: { () throws(TraceError) -> RecordView? in try lanes[i].next() }) {
                    case .success(let head):
                        heads[i] = head
                        if head != nil { readNow = i }
                    case .failure(let error):
                        ended[i] = true
                        if damage == nil { damage = error }
                        continue
                    }
                }
                if let h = heads[i], best < 0 || h.timestamp < heads[best]!.timestamp { best = i }
            }
            guard best >= 0 else {
                if let damage { throw damage }
                return nil
            }
            let r = heads[best]!
            heads[best] = nil
            // A head read in this call needs no check (on the first call every lane is read, and the check then only costs a header read).
            if best != readNow && !lanes[best].stillInPlace(r) {
                do throws(TraceError) { try lanes[best].overtaken(at: r.segment) } catch {
                    ended[best] = true
                    if damage == nil { damage = lanes[best].explained(error) }
                }
                continue
            }
            return r
        }
    }

    /// Picks up newly committed records in every lane.
    public func refresh() throws(TraceError) {
        for (i, l) in lanes.enumerated() where !left[i] {
            do { try l.refresh() } catch { throw l.explained(error) }
        }
    }

    /// Positions every lane at its first record with timestamp ≥ `timestamp`.
    public func seek(timestamp: UInt64) throws(TraceError) {
        heads = [RecordView?](repeating: nil, count: lanes.count)
        ended = [Bool](repeating: false, count: lanes.count)
        damage = nil
        for (i, l) in lanes.enumerated() where !left[i] { try l.seek(timestamp: timestamp) }
    }
}

extension TraceStore {
    /// A merged reader over every lane of `name` (see `ReadOptions`).
    public func openReader(volume name: String, options: ReadOptions = ReadOptions()) throws(TraceError) -> VolumeReader {
        try VolumeReader(store: self, info: try volume(named: name), options: options)
    }

    /// A merged reader over every lane of the volume whose stored name is
    /// exactly `nameBytes` (for names that are not UTF-8).
    public func openReader(volumeBytes nameBytes: [UInt8], options: ReadOptions = ReadOptions()) throws(TraceError) -> VolumeReader {
        try VolumeReader(store: self, info: try volume(nameBytes: nameBytes), options: options)
    }

    /// A merged reader over every lane of `name`. With `salvage`, each lane
    /// also returns the checksum-valid, in-sequence records found past its commit
    /// point (marked `salvaged`): the trace up to a crash of the traced machine.
    public func openReader(volume name: String, salvage: Bool) throws(TraceError) -> VolumeReader {
        try openReader(volume: name, options: ReadOptions(salvage: salvage))
    }

    /// A reader of one lane of `name`.
    public func openLaneReader(volume name: String, lane: Int, options: ReadOptions = ReadOptions()) throws(TraceError) -> LaneReader {
        let info = try volume(named: name)
        guard lane >= 0, lane < info.laneCount else { throw .laneOutOfRange(lane: lane, laneCount: info.laneCount) }
        return try LaneReader(store: self, info: info, lane: lane, options: options)
    }
}
