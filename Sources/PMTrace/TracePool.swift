import CCRC32C
import PMemBackend
import TraceFormat
import TraceVolume
#if canImport(Glibc)
import Glibc
#endif

/// A pool file (or device, or DRAM buffer for tests) mounted as a trace store:
/// the libpmem2 mapping, the hardware CRC and the wall clock wired into a
/// `TraceStore`. Keeps the mapping alive for as long as the pool lives; every
/// writer, reader and record view must be dropped before the pool.
///
/// Thread safety: as `TraceStore`.
public final class TracePool: @unchecked Sendable {
    // SAFETY: immutable after init.

    public let store: TraceStore
    public let path: String
    /// The libpmem2 mapping (nil for in-memory pools).
    public let mapping: PMemMapping?
    let memory: InMemoryRegion?

    /// Hardware CRC32C where the CPU has it, else a table.
    public static let crc32c: CRC32C.Function = { crc, p, n in pmt_crc32c(crc, p, n) }
    /// One-pass checksum + non-temporal copy (x86-64 with SSE4.2 and pclmul; does nothing elsewhere).
    public static let copyWithChecksum: PersistentRegion.CopyChecksumFunction = { crc, d, s, n in pmt_crc32c_copy_nt(crc, d, s, n) }

    public var granularity: StoreGranularity { store.region.granularity }

    /// Creates (or with `force`, overwrites) `path` and formats it.
    /// Without `force`, an existing file is left untouched and an error says what it holds.
    /// Parameters and size are validated before anything is touched; a file
    /// is built beside `path` and renamed over it only once formatted, so a
    /// failed format leaves no file behind and an existing one as it was
    /// (see `PMemMapping.create`). Devices are formatted in place.
    /// `reserve: false` leaves the file sparse (see `PMemMapping.create`).
    public static func format(
        path: String, size: UInt64, parameters: FormatParameters = FormatParameters(), force: Bool = false,
        reserve: Bool = true, options: StoreOptions = StoreOptions(clock: realtimeNanoseconds)
    ) throws(PoolError) -> TracePool {
        var st = stat()
        let exists = stat(path, &st) == 0
        let isDevice = exists && (st.st_mode & S_IFMT == S_IFCHR || st.st_mode & S_IFMT == S_IFBLK)
        // Everything is validated before anything is created or touched.
        try parameters.validate(regionSize: isDevice ? nil : size)
        if exists && !force && (st.st_size > 0 || isDevice) {
            let what: String
            switch Result(catching: { () throws(PoolError) -> TracePool in try open(path: path, writable: false) }) {
            case .success(let p): what = "already a PMTrace region with \(p.store.volumes().count) volume(s)"
            case .failure(.mapping(let e)): throw .mapping(e)
            case .failure(.at(_, .store(.notARegion))), .failure(.store(.notARegion)): what = "exists and is not a PMTrace region"
            case .failure(let e): what = "holds a damaged PMTrace region (\(e))"
            }
            throw .wouldOverwrite(path: path, what: what)
        }
        let mapping: PMemMapping
        do throws(PMemError) {
            mapping = isDevice ? try PMemMapping.open(path: path, writable: true)
                               : try PMemMapping.create(path: path, size: size, replace: true, reserve: reserve)
        } catch { throw .mapping(error) }
        var p = parameters
        if p.uuidHigh == 0 && p.uuidLow == 0 {
            p.uuidHigh = UInt64.random(in: 1...UInt64.max)
            p.uuidLow = UInt64.random(in: 1...UInt64.max)
        }
        if p.formatTime == 0 { p.formatTime = options.clock() }
        do throws(TraceError) {
            try TraceStore.format(region: region(of: mapping), parameters: p)
        } catch { throw .store(error) }
        if let fault = mapping.mediaFault { throw .mapping(fault) }
        do throws(PMemError) { try mapping.publish() } catch { throw .mapping(error) }
        return try TracePool(path: path, mapping: mapping, writable: true, options: options)
    }

    /// Mounts an existing pool (recovering after a crash if needed).
    /// `writable` takes the exclusive writer lock.
    public static func open(
        path: String, writable: Bool, options: StoreOptions = StoreOptions(clock: realtimeNanoseconds)
    ) throws(PoolError) -> TracePool {
        let mapping: PMemMapping
        do throws(PMemError) { mapping = try PMemMapping.open(path: path, writable: writable) } catch { throw .mapping(error) }
        return try TracePool(path: path, mapping: mapping, writable: writable, options: options)
    }

    /// A formatted pool in DRAM, for tests.
    public static func inMemory(
        size: UInt64, parameters: FormatParameters = FormatParameters(),
        options: StoreOptions = StoreOptions(clock: realtimeNanoseconds)
    ) throws(PoolError) -> TracePool {
        let memory = InMemoryRegion(size: size)
        let region = memoryRegion(memory)
        do throws(TraceError) {
            try TraceStore.format(region: region, parameters: parameters)
            return TracePool(store: try TraceStore(region: region, writable: true, options: options), memory: memory)
        } catch { throw .store(error) }
    }

    /// Mounts an in-memory region that already holds a formatted store
    /// (for example a copy of another pool's bytes taken to simulate a crash).
    public static func mount(
        memory: InMemoryRegion, writable: Bool, options: StoreOptions = StoreOptions(clock: realtimeNanoseconds)
    ) throws(PoolError) -> TracePool {
        do throws(TraceError) {
            return TracePool(store: try TraceStore(region: memoryRegion(memory), writable: writable, options: options), memory: memory)
        } catch { throw .store(error) }
    }

    /// A byte-for-byte copy of this pool's region in DRAM: what media would
    /// hold if the machine lost power now with everything written so far
    /// having reached it.
    public func snapshot() -> InMemoryRegion {
        let r = store.region
        let copy = InMemoryRegion(size: r.size)
        copy.base.copyMemory(from: r.base, byteCount: Int(r.size))
        return copy
    }

    static func memoryRegion(_ memory: InMemoryRegion) -> PersistentRegion {
        PersistentRegion(
            base: memory.base, size: memory.size, granularity: .cacheLine, persist: InMemoryRegion.persist,
            flush: InMemoryRegion.persist, drain: InMemoryRegion.drain, copy: InMemoryRegion.copy,
            appendCopyFlags: 0, crc32c: crc32c, copyWithChecksum: copyWithChecksum)
    }

    private init(store: TraceStore, memory: InMemoryRegion) {
        self.store = store
        self.memory = memory
        mapping = nil
        path = ":memory:"
    }

    private init(path: String, mapping: PMemMapping, writable: Bool, options: StoreOptions) throws(PoolError) {
        do throws(TraceError) {
            store = try TraceStore(region: Self.region(of: mapping), writable: writable, options: options)
        } catch { throw PoolError.diagnose(error, mapping: mapping) }
        self.path = path
        self.mapping = mapping
        memory = nil
    }

    static func region(of m: PMemMapping) -> PersistentRegion {
        let g: StoreGranularity
        switch m.granularity {
        case .byte: g = .byte
        case .cacheLine: g = .cacheLine
        case .page: g = .page
        }
        return PersistentRegion(
            base: m.base, size: m.size, granularity: g, persist: m.persist, flush: m.flush, drain: m.drain,
            copy: m.copy, appendCopyFlags: m.appendCopyFlags, crc32c: crc32c, copyWithChecksum: copyWithChecksum)
    }
}
