import TraceVolume
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A zero-filled, page-aligned DRAM buffer standing in for a region in tests
/// and for analyzing copies of regions. Its persistence functions do nothing
/// but the copy: durability is not simulated here (`PersistenceSimulator`
/// records stores, flushes and fences for crash tests).
/// Not thread-safe to create; the bytes follow the store's rules.
public final class InMemoryRegion: @unchecked Sendable {
    // SAFETY: the buffer is owned for the object's life; access follows the store's rules.
    /// Start of the buffer (page aligned, zero-filled at creation). Valid while this object lives.
    public let base: UnsafeMutableRawPointer
    /// Size of the buffer in bytes.
    public let size: UInt64

    /// A zero-filled, page-aligned buffer of `size` bytes, freed with this object. Traps when memory runs out.
    public init(size: UInt64) {
        var p: UnsafeMutableRawPointer?
        precondition(posix_memalign(&p, 4096, Int(size)) == 0, "out of memory for an in-memory region")
        base = p!
        memset(base, 0, Int(size))  // not initializeMemory(repeating:): a byte loop in debug builds
        self.size = size
    }

    /// A copy of `bytes` (e.g. a region image read from a file).
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(size: UInt64(bytes.count))
        if let b = bytes.baseAddress, bytes.count > 0 { base.copyMemory(from: b, byteCount: bytes.count) }
    }

    deinit { free(base) }

    /// Persist for memory that needs none (a no-op).
    public static let persist: pmt_persist_fn = { _, _ in }
    /// Drain for memory that needs none (a no-op).
    public static let drain: pmt_drain_fn = {}
    /// Copy with `memcpy` (no flush needed).
    public static let copy: pmt_copy_fn = { d, s, n, _ in
        if n > 0 { d!.copyMemory(from: s!, byteCount: n) }
        return d
    }

    /// A descriptor over this buffer that retains it until the store releases
    /// the descriptor (cache-line granularity, no-op persistence).
    public func regionDescriptor() -> RegionDescriptor {
        RegionDescriptor(
            base: base, size: size, granularity: .cacheLine, copy_flags: 0,
            persist: Self.persist, drain: Self.drain, copy: Self.copy,
            release: { context, _, _ in Unmanaged<InMemoryRegion>.fromOpaque(context!).release() },
            context: Unmanaged.passRetained(self).toOpaque(), lost_stores: nil)
    }
}
