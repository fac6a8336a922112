import CCRC32C
import TraceFormat
import TraceVolume

/// Store options for tests.
extension StoreOptions {
    /// Options with the host's hardware CRC32C and fused copy, for tests.
    /// `usesSegmentSummary: false` mounts by walking every segment header (FORMAT.md §10.5).
    /// `fused: false` leaves out the fused copy and the group stream, which write around
    /// the region's copy function (the persistence simulator must see every store).
    public static func testing(
        commitInterval: Int = 1 << 20, clock: @convention(c) () -> UInt64 = { 0 }, fused: Bool = true, usesSegmentSummary: Bool = true
    ) -> StoreOptions {
        var o = StoreOptions(commitInterval: commitInterval, clock: clock,
                             crc32c: { crc, p, n in pmt_crc32c(crc, p, n) },
                             copyWithChecksum: fused ? { crc, d, s, n in pmt_crc32c_copy_nt(crc, d, s, n) } : nil,
                             copyOutWithChecksum: { crc, d, s, n in pmt_crc32c_copy(crc, d, s, n) })
        o.usesSegmentSummary = usesSegmentSummary
        if fused && GroupStreamFunctions.hostAvailable { o.groupStream = .host }
        return o
    }
}

/// A store over an `InMemoryRegion`: what the core's tests, the fuzzer and
/// image analysis use instead of a file. The store retains the buffer.
public final class MemoryPool: @unchecked Sendable {
    // SAFETY: immutable after init.
    /// The mounted store.
    public let store: TraceStore
    /// The buffer the store lives in (inspect or damage it in tests).
    public let memory: InMemoryRegion

    init(store: TraceStore, memory: InMemoryRegion) {
        self.store = store
        self.memory = memory
    }

    /// A formatted, mounted store in a fresh buffer of `size` bytes.
    public static func inMemory(
        size: UInt64, parameters: FormatParameters = FormatParameters(), options: StoreOptions = .testing()
    ) throws(TraceError) -> MemoryPool {
        let memory = InMemoryRegion(size: size)
        let region = try PersistentRegion(memory.regionDescriptor())
        try TraceStore.format(region: region, parameters: parameters)
        return MemoryPool(store: try TraceStore(region: region, writable: true, options: options), memory: memory)
    }

    /// Mounts a buffer that already holds a formatted store (for example a
    /// copy of another store's bytes taken to simulate a crash).
    public static func mount(memory: InMemoryRegion, writable: Bool, options: StoreOptions = .testing()) throws(TraceError) -> MemoryPool {
        MemoryPool(store: try TraceStore(region: try PersistentRegion(memory.regionDescriptor()), writable: writable, options: options),
                   memory: memory)
    }

    /// A byte-for-byte copy of the region: what media would hold if the
    /// machine lost power now with everything written so far having reached it.
    public func snapshot() -> InMemoryRegion { store.snapshot() }
}

/// Copies of a store's bytes, for crash and damage tests.
extension TraceStore {
    /// A byte-for-byte copy of this store's region in DRAM.
    public func snapshot() -> InMemoryRegion {
        region.withUnsafeBytes { InMemoryRegion(copying: $0) }
    }
}
