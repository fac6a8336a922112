import CPMem2
@_exported import CPMTrace
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file or device mapped through libpmem2, with its persistence functions
/// looked up once.
///
/// Opening for writing takes an exclusive `flock` on the file: a second
/// writer (any process) fails with `.inUse`. Read-only openers take no lock,
/// any number may coexist with the writer. The mapping, the lock and the
/// descriptor are released in `deinit`.
///
/// Thread safety: immutable after init; the functions are thread-safe.
public final class PMemMapping: @unchecked Sendable {
    // SAFETY: every stored property is immutable; libpmem2 objects are only
    // touched in init and deinit.

    public let path: String
    public let writable: Bool
    public let base: UnsafeMutableRawPointer
    public let size: UInt64
    public let granularity: StoreGranularity
    /// Flush + drain (at page granularity: msync).
    public let persist: pmt_persist_fn
    public let drain: pmt_drain_fn
    /// libpmem2's memcpy; takes `PMEM2_F_MEM_*` flags.
    public let copy: pmt_copy_fn
    /// Flags for bulk appends: non-temporal without drain; at page granularity
    /// no flush at all (the store msyncs at commit points only).
    public let appendCopyFlags: UInt32
    /// The device's unsafe-shutdown count, or nil where the platform has none.
    public let unsafeShutdownCount: UInt64?
    /// Bad blocks libpmem2 knows of in this file or device (byte offset and
    /// length), or nil when it cannot tell on this platform.
    public let badBlocks: [(offset: UInt64, length: UInt64)]?

    private let fd: Int32
    private let source: OpaquePointer
    private let map: OpaquePointer

    /// Creates a file of `size` bytes and maps it for writing. Fails with
    /// `.fileExists` unless `replace` is true. With `reserve` (the default)
    /// the space is allocated now, so a full file system fails here rather
    /// than with SIGBUS on a later store; without it the file is sparse.
    public static func create(path: String, size: UInt64, replace: Bool, reserve: Bool = true) throws(PMemError) -> PMemMapping {
        let flags = O_RDWR | O_CREAT | (replace ? 0 : O_EXCL)
        let fd = try system_open(path, flags)
        do throws(PMemError) {
            try system_lockExclusive(fd, path)
            if try system_fileSize(fd, path) != size || replace {
                try system_allocate(fd, size, path, reserve: reserve)
            }
            return try PMemMapping(fd: fd, path: path, writable: true)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Maps an existing file or device. `writable` takes the exclusive lock.
    public static func open(path: String, writable: Bool) throws(PMemError) -> PMemMapping {
        let fd = try system_open(path, writable ? O_RDWR : O_RDONLY)
        do throws(PMemError) {
            if writable { try system_lockExclusive(fd, path) }
            return try PMemMapping(fd: fd, path: path, writable: writable)
        } catch {
            close(fd)
            throw error
        }
    }

    private init(fd: Int32, path: String, writable: Bool) throws(PMemError) {
        var src: OpaquePointer?
        var r = pmem2_source_from_fd(&src, fd)
        guard r == 0, let src else { throw pmem2Error("pmem2_source_from_fd", path, r) }
        var cfg: OpaquePointer?
        r = pmem2_config_new(&cfg)
        guard r == 0, let cfg else {
            var s: OpaquePointer? = src
            pmem2_source_delete(&s)
            throw pmem2Error("pmem2_config_new", path, r)
        }
        defer { var c: OpaquePointer? = cfg; pmem2_config_delete(&c) }
        // Ask for the weakest guarantee so any file maps; we adapt to what we get.
        r = pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE)
        if r == 0 {
            r = pmem2_config_set_protection(cfg, writable ? UInt32(PMEM2_PROT_READ | PMEM2_PROT_WRITE) : UInt32(PMEM2_PROT_READ))
        }
        var m: OpaquePointer?
        if r == 0 { r = pmem2_map_new(&m, cfg, src) }
        guard r == 0, let m else {
            let e = pmem2Error("pmem2_map_new", path, r)
            var s: OpaquePointer? = src
            pmem2_source_delete(&s)
            throw e
        }
        self.fd = fd
        self.path = path
        self.writable = writable
        source = src
        map = m
        base = pmem2_map_get_address(m)!
        size = UInt64(pmem2_map_get_size(m))
        switch pmem2_map_get_store_granularity(m) {
        case PMEM2_GRANULARITY_BYTE: granularity = .byte
        case PMEM2_GRANULARITY_CACHE_LINE: granularity = .cacheLine
        default: granularity = .page
        }
        persist = pmem2_get_persist_fn(m)
        drain = pmem2_get_drain_fn(m)
        copy = pmem2_get_memcpy_fn(m)
        appendCopyFlags = granularity == .page
            ? UInt32(PMEM2_F_MEM_NOFLUSH | PMEM2_F_MEM_NODRAIN)
            : UInt32(PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN)
        var usc: UInt64 = 0
        unsafeShutdownCount = pmem2_source_device_usc(src, &usc) == 0 ? usc : nil
        var context: OpaquePointer?
        if pmem2_badblock_context_new(&context, src) == 0, let context {
            var found: [(offset: UInt64, length: UInt64)] = []
            var bb = pmem2_badblock()
            while pmem2_badblock_next(context, &bb) == 0 { found.append((UInt64(bb.offset), UInt64(bb.length))) }
            var c: OpaquePointer? = context
            pmem2_badblock_context_delete(&c)
            badBlocks = found
        } else {
            badBlocks = nil
        }
    }

    /// The descriptor a store takes: this mapping's base, size, granularity
    /// and libpmem2 functions. It retains the mapping; the store's release of
    /// the descriptor (exactly once) drops that reference, so the mapping is
    /// unmapped only after the store and everything made from it are gone.
    public func regionDescriptor() -> RegionDescriptor {
        RegionDescriptor(
            base: base, size: size, granularity: granularity, copy_flags: appendCopyFlags,
            persist: persist, drain: drain, copy: copy,
            release: { context, _, _ in Unmanaged<PMemMapping>.fromOpaque(context!).release() },
            context: Unmanaged.passRetained(self).toOpaque())
    }

    deinit {
        var m: OpaquePointer? = map
        pmem2_map_delete(&m)
        var s: OpaquePointer? = source
        pmem2_source_delete(&s)
        close(fd)
    }

    /// The value of `PMEM2_FORCE_GRANULARITY` in this process, if set.
    public static var forcedGranularity: String? {
        getenv("PMEM2_FORCE_GRANULARITY").map { String(cString: $0) }
    }
}
