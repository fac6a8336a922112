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

    /// Options; by default neither salvage nor damage skipping.
    public init(salvage: Bool = false, skipDamaged: Bool = false) {
        self.salvage = salvage
        self.skipDamaged = skipDamaged
    }
}

/// Something a reader passed over: damage it skipped, or the early end of a
/// ring chain. Says where and why.
public struct ReadNotice: Sendable, CustomStringConvertible {
    /// The volume read.
    public let volume: String
    /// The lane read.
    public let lane: Int
    /// What was wrong (names the structure and offset).
    public let problem: FormatError
    /// What the reader did about it.
    public let action: String

    /// "volume 'v' lane 0: <problem>; <action>".
    public var description: String { "volume '\(volume)' lane \(lane): \(problem); \(action)" }
}
