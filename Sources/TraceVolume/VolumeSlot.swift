import TraceFormat

/// DRAM view of one volume-table slot after mount.
struct VolumeSlot {
    enum State {
        case empty
        case live
        case deleted
        /// Both copies damaged: the slot is left alone (never reused) until fsck.
        case damaged(FormatError)
    }

    var state: State
    /// The current entry (live or deleted).
    var entry: VolumeEntry?
    /// Which copy (0 or 1) holds `entry`; the next update writes the other.
    var activeCopy: Int
    /// Per lane, the segment chain head → tail (live volumes only).
    var chains: [[UInt64]] = []
    /// Per lane, damage found while walking the chain at mount.
    var laneDamage: [FormatError?] = []
    /// Per lane, whether a `LaneWriter` is open in this process.
    var writerOpen: [Bool] = []

    var isLive: Bool { if case .live = state { return true } else { return false } }
    var name: String { entry.map { String(decoding: $0.name, as: UTF8.self) } ?? "" }
}

/// What a caller sees of a volume. A snapshot: it does not change when the
/// volume does.
public struct VolumeInfo: Equatable, Sendable {
    /// The name as text (bytes that are not UTF-8 show as U+FFFD; see `nameBytes`).
    public var name: String
    /// The name exactly as stored (older regions may hold any bytes).
    public var nameBytes: [UInt8]
    /// Slot in the volume table (stable for the volume's life).
    public var slot: Int
    /// Never reused within the region.
    public var uid: UInt64
    /// Lanes of the volume.
    public var laneCount: Int
    /// No more appends.
    public var sealed: Bool
    /// Reclaims its oldest segments when the region is full.
    public var ring: Bool
    /// Nanoseconds since the Unix epoch (0 when the creator had no clock).
    public var createdTime: UInt64
    /// Seal time, ns since the Unix epoch (0: not sealed, or no clock).
    public var sealedTime: UInt64
    /// Segments the volume's lanes hold.
    public var segmentCount: Int
}

#if !hasFeature(Embedded)
/// Codable for listings (JSON, property lists): every stored field, under
/// its property name. Hosted builds only (Embedded Swift has no Codable).
extension VolumeInfo: Codable {}
#endif
