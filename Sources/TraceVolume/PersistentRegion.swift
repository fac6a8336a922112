import TraceFormat

/// How stores to a region become durable, as libpmem2 reports it.
public enum StoreGranularity: UInt8, Sendable {
    /// eADR-class platform: a store is durable once visible; fences still order.
    case byte
    /// Stores need a cache-line flush (or non-temporal store) plus a fence.
    case cacheLine
    /// Only `msync`-style page writeback makes data durable (non-DAX files).
    case page

    public var name: String {
        switch self {
        case .byte: return "byte"
        case .cacheLine: return "cache line"
        case .page: return "page"
        }
    }
}

/// A mapped region as the store sees it: a base pointer, a size and the
/// persistence operations of whoever mapped it (libpmem2 on a host, `clwb` /
/// `sfence` in a VMM shim, a recorder in crash tests).
///
/// The store never calls anything else to reach media. The function pointers
/// are looked up once by the mapper; they are plain C functions so the same
/// type works under Embedded Swift.
///
/// The region must stay mapped for as long as any store, writer, reader or
/// record view made from it is in use: this struct does not own the mapping.
public struct PersistentRegion: @unchecked Sendable {
    // SAFETY: the pointer is shared by design; the store's own rules (one
    // writer per lane, one metadata lock, commit words stored atomically)
    // govern access to the bytes behind it.

    public typealias PersistFunction = @convention(c) (UnsafeRawPointer?, Int) -> Void
    public typealias DrainFunction = @convention(c) () -> Void
    public typealias CopyFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int, UInt32) -> UnsafeMutableRawPointer?

    public var base: UnsafeMutableRawPointer
    public var size: UInt64
    public var granularity: StoreGranularity
    /// Flush + drain of a range: durable on return.
    public var persist: PersistFunction
    /// Flush of a range without the fence.
    public var flush: PersistFunction
    /// Fence: everything flushed or stored non-temporally before is durable.
    public var drain: DrainFunction
    /// Copy into the region without draining (libpmem2 `memcpy` semantics).
    public var copy: CopyFunction
    /// Flags passed to `copy` on the append path (e.g. libpmem2's
    /// NONTEMPORAL | NODRAIN, or NOFLUSH at page granularity).
    public var appendCopyFlags: UInt32
    /// CRC32C implementation (hardware on hosts that have it).
    public var crc32c: CRC32C.Function
    /// Optional one-pass "checksum and copy with non-temporal stores" for large
    /// payloads: copies a prefix of `count` bytes, extends `*crc` over it and
    /// returns how many bytes it handled (the store does the rest). Used only
    /// where `copy` is non-temporal too (not at page granularity).
    public typealias CopyChecksumFunction = @convention(c) (UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int
    public var copyWithChecksum: CopyChecksumFunction?

    public init(
        base: UnsafeMutableRawPointer, size: UInt64, granularity: StoreGranularity,
        persist: PersistFunction, flush: PersistFunction, drain: DrainFunction, copy: CopyFunction,
        appendCopyFlags: UInt32, crc32c: CRC32C.Function = CRC32C.software, copyWithChecksum: CopyChecksumFunction? = nil
    ) {
        self.base = base
        self.size = size
        self.granularity = granularity
        self.persist = persist
        self.flush = flush
        self.drain = drain
        self.copy = copy
        self.appendCopyFlags = appendCopyFlags
        self.crc32c = crc32c
        self.copyWithChecksum = copyWithChecksum
    }

    /// Pointer to absolute offset `offset`. Precondition: in bounds (callers
    /// validated every media-derived offset before calling).
    @inlinable
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
