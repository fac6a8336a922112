import TraceFormat
import TraceVolume

/// Which records of a volume a reading command looks at: some lanes, a time
/// window (record timestamps, ns since the Unix epoch, inclusive).
public struct RecordFilter: Sendable, Equatable {
    /// Lanes to read; nil reads every lane.
    public var lanes: Set<Int>?
    /// Only records with timestamp ≥ `since` (the reader seeks there first).
    public var since: UInt64?
    /// Only records with timestamp ≤ `until`; reading stops at the first later record.
    public var until: UInt64?

    /// A filter; by default everything passes.
    public init(lanes: Set<Int>? = nil, since: UInt64? = nil, until: UInt64? = nil) {
        self.lanes = lanes
        self.since = since
        self.until = until
    }

    /// Whether every record passes.
    public var isEmpty: Bool { lanes == nil && since == nil && until == nil }

    /// Leaves the lanes not in `lanes` out of `reader` (their records and
    /// damage are never met) and positions it at `since`: a binary search over each lane's segment
    /// headers (their first timestamps), then a scan of one segment per lane.
    /// O(lanes × (log segments + records per segment)).
    public func prepare(_ reader: VolumeReader) throws(TraceError) {
        if let lanes { reader.readOnly(lanes: Array(lanes)) }
        if let since { try reader.seek(timestamp: since) }
    }

    /// What to do with a record the reader returned.
    public enum Verdict: Sendable {
        /// Look at it.
        case take
        /// Skip it and go on.
        case skip
        /// Stop reading: every later record is past `until` (the merged reader
        /// returns records in timestamp order).
        case stop
    }

    /// The verdict for a record of `lane` with `timestamp`. O(1).
    @inlinable
    public func verdict(lane: Int, timestamp: UInt64) -> Verdict {
        if let until, timestamp > until { return .stop }
        if let since, timestamp < since { return .skip }
        if let lanes, !lanes.contains(lane) { return .skip }
        return .take
    }
}
