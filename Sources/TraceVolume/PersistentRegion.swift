@_exported import CPMTrace
import TraceFormat

/// Names of the granularities for messages.
extension StoreGranularity {
    /// Lowercase name for tools ("byte", "cache line", "page").
    public var name: String {
        switch self {
        case .byte: return "byte"
        case .cacheLine: return "cache line"
        case .page: return "page"
        }
    }
}

/// The owner of a mapped region: the only way into a store.
///
/// Made from one `RegionDescriptor` (the C struct `pmt_region` of
/// include/pmtrace_region.h): a base pointer, a size, the granularity, the
/// persistence operations of whoever mapped it (libpmem2 on a host,
/// `clwb`/`sfence` in a VMM shim, a recorder in crash tests) and a release
/// hook. The store, every writer, reader and record view retain this object,
/// so no pointer into the mapping can outlive it; the release hook runs
/// exactly once, in `deinit`, when the last of them is gone (the shape of
/// swift-nio's `ByteBuffer._Storage`).
///
/// Thread safety: immutable; the bytes behind it follow the store's rules
/// (one writer per lane, one metadata lock, commit words stored atomically).
public final class PersistentRegion: @unchecked Sendable {
    // SAFETY: every stored property is immutable; the pointer is shared by
    // design and the store's rules govern access to the bytes behind it.

    let descriptor: RegionDescriptor
    let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    public let size: UInt64
    /// How stores become durable on this region.
    public let granularity: StoreGranularity
    /// Flush + drain of a range: durable on return.
    let persist: pmt_persist_fn
    /// Fence: everything flushed or stored non-temporally before is durable.
    let drain: pmt_drain_fn
    /// Copy into the region without draining (libpmem2 `memcpy` semantics).
    let copy: pmt_copy_fn
    /// Flags passed to `copy` on the append path.
    let appendCopyFlags: UInt32
    /// The mapper's count of lost stores (`pmt_region.lost_stores`), if any.
    let lostStores: UnsafePointer<UInt64>?

    /// Takes ownership of the region `descriptor` describes.
    ///
    /// - Throws: `.invalidParameter` when the base is null or the size does
    ///   not fit the address space; the region is then not taken (its release
    ///   hook is not called).
    public init(_ descriptor: RegionDescriptor) throws(TraceError) {
        guard let base = descriptor.base else { throw .invalidParameter(name: "region base (null)", value: 0) }
        guard descriptor.size <= UInt64(Int.max), UInt(bitPattern: base).addingReportingOverflow(UInt(descriptor.size)).overflow == false
        else { throw .invalidParameter(name: "region size (beyond the address space)", value: descriptor.size) }
        self.descriptor = descriptor
        self.base = base
        size = descriptor.size
        granularity = descriptor.granularity
        persist = descriptor.persist
        drain = descriptor.drain
        copy = descriptor.copy
        appendCopyFlags = descriptor.copy_flags
        lostStores = descriptor.lost_stores
    }

    /// Whether the mapper has reported a store to the region as lost (its
    /// `lost_stores` count is nonzero; always false without one). A commit
    /// made now could cover bytes that never reached the region, so lane
    /// commits check this first and stop publishing (`LaneWriter.storesLost`).
    /// One load; thread-safe.
    public var storesLost: Bool { lostStores.map { $0.pointee != 0 } ?? false }

    deinit {
        descriptor.release?(descriptor.context, descriptor.base, descriptor.size)
    }

    /// Calls `body` with the whole region, read-only (for snapshots and dumps).
    /// Do not escape the pointer: it is valid only while `self` lives.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: base, count: Int(size)))
    }

    /// Pointer to absolute offset `offset`. Precondition: in bounds (callers
    /// validated every media-derived offset before calling).
    @inline(__always)
    func pointer(_ offset: UInt64) -> UnsafeMutableRawPointer {
        base + Int(offset)
    }

    /// Bytes `[offset, offset + count)` as a buffer; nil when out of bounds.
    func bytes(_ offset: UInt64, _ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else { return nil }
        return UnsafeRawBufferPointer(start: base + Int(offset), count: count)
    }

    /// Copies `count` bytes to `offset` and makes them durable.
    func write(_ source: UnsafeRawPointer, count: Int, at offset: UInt64) {
        _ = copy(pointer(offset), source, count, appendCopyFlags)
        persist(pointer(offset), count)
    }
}
