import TraceFormat
import TracePayloads
import TraceVolume

/// A block of decoded accesses in columns (struct of arrays), filled batch by
/// batch by `AccessStream`: what `hot`, `export`, `heatmap` and
/// `working-set` work on. Owns its memory; reused from block to block, so a
/// whole scan allocates once. Not thread-safe.
public final class AccessBlock {
    /// Room, in accesses.
    public private(set) var capacity: Int
    /// Accesses held now (indices `0 ..< count`).
    public internal(set) var count = 0
    /// The lane of each access.
    public private(set) var lane: UnsafeMutablePointer<UInt32>
    /// The timestamp of each access's record (ns since the Unix epoch): a
    /// batch's accesses share the time its writer sealed it.
    public private(set) var timestamp: UnsafeMutablePointer<UInt64>
    /// Access kind (`MemoryAccess.Kind` raw value).
    public private(set) var kind: UnsafeMutablePointer<UInt8>
    /// Access size in bytes.
    public private(set) var size: UnsafeMutablePointer<UInt32>
    /// The recorded address (guest-physical for a VM, virtual for a process).
    public private(set) var address: UnsafeMutablePointer<UInt64>
    /// Guest virtual address (VM recordings), else 0.
    public private(set) var virtual: UnsafeMutablePointer<UInt64>
    /// PC of the accessing instruction when recorded, else 0.
    public private(set) var pc: UnsafeMutablePointer<UInt64>
    /// Whether any batch in the block carried PCs / virtual addresses.
    public internal(set) var hasPC = false
    /// See `hasPC`.
    public internal(set) var hasVirtual = false

    /// A block with room for `capacity` accesses (a batch larger than that
    /// makes the empty block grow to hold it).
    public init(capacity: Int = 1 << 16) {
        precondition(capacity > 0)
        self.capacity = capacity
        lane = .allocate(capacity: capacity)
        timestamp = .allocate(capacity: capacity)
        kind = .allocate(capacity: capacity)
        size = .allocate(capacity: capacity)
        address = .allocate(capacity: capacity)
        virtual = .allocate(capacity: capacity)
        pc = .allocate(capacity: capacity)
    }

    deinit { deallocate() }

    func deallocate() {
        lane.deallocate(); timestamp.deallocate(); kind.deallocate(); size.deallocate()
        address.deallocate(); virtual.deallocate(); pc.deallocate()
    }

    /// Makes room for `n` accesses in an empty block (a batch larger than
    /// the block: the count was bounded by the payload's length first).
    func grow(to n: Int) {
        assert(count == 0)
        deallocate()
        capacity = n
        lane = .allocate(capacity: n); timestamp = .allocate(capacity: n); kind = .allocate(capacity: n)
        size = .allocate(capacity: n); address = .allocate(capacity: n); virtual = .allocate(capacity: n); pc = .allocate(capacity: n)
    }

    /// Empties the block (keeps its memory).
    public func removeAll() {
        count = 0
        hasPC = false
        hasVirtual = false
    }

    /// Appends the accesses of one record (of kind 2 or 9; other kinds add
    /// nothing); returns false, appending nothing, when they do not fit (an
    /// empty block grows instead). Throws on a malformed payload.
    public func append(kind recordKind: RecordKind, payload: UnsafeRawBufferPointer, lane l: Int, timestamp t: UInt64) throws(FormatError) -> Bool {
        guard let shape = try AccessColumns.shape(kind: recordKind, payload: payload) else { return true }
        if count == 0, shape.count > capacity { grow(to: shape.count) }
        guard shape.count <= capacity - count else { return false }
        let columns = AccessColumnPointers(kind: kind, size: size, address: address, virtual: virtual, pc: pc)
        _ = try AccessColumns.decode(kind: recordKind, payload: payload, into: columns, at: count)
        (lane + count).update(repeating: UInt32(truncatingIfNeeded: l), count: shape.count)
        (timestamp + count).update(repeating: t, count: shape.count)
        count += shape.count
        hasPC = hasPC || shape.fields.contains(.pc)
        hasVirtual = hasVirtual || shape.fields.contains(.virtual)
        return true
    }
}
