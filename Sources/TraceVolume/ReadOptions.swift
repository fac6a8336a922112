import TraceFormat

/// How a reader treats what lies past commit points and what is damaged.
public struct ReadOptions: Sendable {
    /// Past each lane's commit point, also return the checksum-valid,
    /// in-sequence records found there (marked `salvaged`): the trace up to a
    /// crash of the traced machine.
    public var salvage: Bool
    /// Continue past damage instead of stopping at it: a record that fails
    /// its checks is skipped (the reader resynchronizes at the next valid
    /// record of the lane, or the next segment), a damaged chain is rebuilt
    /// from the segment headers that name the lane, and each skip is reported
    /// to the reader's `onDamage` handler and kept in `skipped`. Nothing is
    /// skipped silently.
    public var skipDamaged: Bool
    /// On a ring volume, a reader the writer overtakes (it reclaimed the
    /// segment being read) continues at the lane's oldest record still held,
    /// like `tail -f` after a log rotation, instead of throwing
    /// `overwrittenWhileReading`. The records it lost are reported, by
    /// sequence range, to `onDamage` and kept in `skipped`; none is returned
    /// twice. Without a ring, no effect.
    public var skipReclaimed: Bool

    /// Options; by default no salvage, damage skipping or reclaim skipping.
    public init(salvage: Bool = false, skipDamaged: Bool = false, skipReclaimed: Bool = false) {
        self.salvage = salvage
        self.skipDamaged = skipDamaged
        self.skipReclaimed = skipReclaimed
    }
}

/// Something a reader passed over: damage it skipped, the early end of a
/// ring chain, or records a ring writer reclaimed before they were read.
/// Says where and why.
public struct ReadNotice: Sendable, CustomStringConvertible {
    /// The volume read.
    public let volume: String
    /// The lane read.
    public let lane: Int
    /// What was wrong (names the structure and offset); nil when nothing
    /// was: records a ring writer reclaimed before this reader reached them.
    public let problem: FormatError?
    /// What the reader did about it.
    public let action: String

    /// "volume 'v' lane 0: <problem>; <action>" ("… lane 0: <action>" without a problem).
    public var description: String { "volume '\(volume)' lane \(lane): " + (problem.map { "\($0); " } ?? "") + action }
}
