import CPMem2
@_exported import CPMTrace
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file or device mapped through libpmem2, with its persistence functions
/// looked up once.
///
/// Opening for writing takes an exclusive `flock` on the file: a second
/// writer (any process) fails with `.inUse`. The lock is held through an
/// open file description of its own, which a forked child closes at once
/// (fork_locks.h): a forked child never keeps a region locked after its
/// parent released it, even while it still has the mapping. A lock held
/// elsewhere is waited for up to 50 ms before `.inUse` (a posix_spawn
/// child holds a copy until its exec). Read-only openers take no lock,
/// any number may coexist with the writer. The mapping, the lock and the
/// descriptor are released in `deinit`.
///
/// Thread safety: immutable after init; the functions are thread-safe.
public final class PMemMapping: @unchecked Sendable {
    // SAFETY: every stored property is immutable except `staged` (behind a Mutex); libpmem2 objects are only
    // touched in init and deinit.

    /// The file or device mapped.
    public let path: String
    /// Mapped for writing (and holding the writer lock).
    public let writable: Bool
    /// Start of the mapping. Valid while this object lives; do not escape it.
    public let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    public let size: UInt64
    /// Where the mapping starts in the file or device (0 unless opened at an offset).
    public let offset: UInt64
    /// How stores become durable, as libpmem2 reports it for this mapping.
    public let granularity: StoreGranularity
    /// Flush + drain (at page granularity: msync).
    public let persist: pmt_persist_fn
    /// libpmem2's drain (fence) for this mapping, looked up once.
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

    /// Set for a mapping made by `openZeroExtended`: the file (from the
    /// mapping's offset) holds only this many bytes of the region; the rest
    /// of the `size` bytes mapped read as zeros and belong to no file.
    public let zeroExtendedFrom: UInt64?

    private let fd: Int32
    /// The writer lock's own descriptor (`system_takeWriterLock`), or -1.
    private let writerLock: Int32
    private let source: OpaquePointer
    private let map: OpaquePointer
    private let guardRegistration: FaultGuard.Registration?
    /// The read-only view `openZeroExtended` builds (the file's bytes, then
    /// anonymous zero pages), unmapped in `deinit`; nil otherwise.
    private let zeroExtendedView: UnsafeMutableRawPointer?

    struct Staged {
        let path: String
        /// The file being replaced, held locked until the rename.
        let replacedFD: Int32
    }
    private let staged = Mutex<Staged?>(nil)

    /// Creates a file of `size` bytes and maps it for writing. Fails with
    /// `.fileExists` unless `replace` is true. With `reserve` (the default)
    /// free space is checked (statvfs) and the space allocated now, so a full
    /// file system fails here rather than with a bus error on a later store;
    /// without it the file is sparse.
    ///
    /// Guarantees: nothing is created and nothing existing is touched until
    /// `publish()`. The region is built in a new file next to `path`; an
    /// existing file at `path` is only locked (a writer holding it makes this
    /// fail with `.inUse`) and is replaced atomically by `publish()`. If the
    /// mapping is released unpublished, or any step fails, the new file is
    /// removed: a failed create leaves the directory as it was. A staging file
    /// of the same path that a killed create left behind (unlocked, unchanged
    /// for 5 s) is removed first.
    public static func create(path: String, size: UInt64, replace: Bool, reserve: Bool = true) throws(PMemError) -> PMemMapping {
        _ = try system_offset(size, path)
        FaultGuard.install()
        var oldFD: Int32 = -1
        if access(path, F_OK) == 0 || errno != ENOENT {
            guard replace else { throw .fileExists(path: path) }
            oldFD = try system_open(path, O_RDWR)
            do throws(PMemError) {
                var st = stat()
                guard fstat(oldFD, &st) == 0 else { throw systemError("fstat", path) }
                guard st.st_mode & S_IFMT == S_IFREG else {
                    throw .unsupportedFileType(path: path, kind: "a device (format it without a size)")
                }
                let lockFD = try system_takeWriterLock(of: oldFD, path)
                close(oldFD)
                oldFD = lockFD
            } catch {
                close(oldFD)
                throw error
            }
        }
        let directory = path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let base = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        // What an earlier format of this path left when it died before publishing: its space
        // counts toward this one's (`AbandonedStaging`).
        AbandonedStaging.remove(base: base, directory: directory)
        let staging = "\(directory)/\(AbandonedStaging.prefix(of: base))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var fd: Int32 = -1
        var lockFD: Int32 = -1
        do throws(PMemError) {
            if reserve { try system_checkFreeSpace(directory: directory, size: size, path: path) }
            fd = try system_open(staging, O_RDWR | O_CREAT | O_EXCL)
            lockFD = try system_takeWriterLock(of: fd, path)
            try system_allocate(fd, size, path, reserve: reserve)
            let m = try PMemMapping(fd: fd, path: path, writable: true, writerLock: lockFD)
            m.staged.withLock { $0 = Staged(path: staging, replacedFD: oldFD) }
            return m
        } catch {
            if fd >= 0 { unlink(staging); close(fd) }
            system_releaseWriterLock(lockFD)
            system_releaseWriterLock(oldFD)
            throw error
        }
    }

    /// Moves a region made by `create` to its path (atomically replacing
    /// what was there) and makes the rename durable. Does nothing for
    /// mappings from `open` or when already published.
    public func publish() throws(PMemError) {
        guard let s = staged.withLock({ v in defer { v = nil }; return v }) else { return }
        defer { system_releaseWriterLock(s.replacedFD) }
        guard rename(s.path, path) == 0 else {
            let e = systemError("rename", path)
            unlink(s.path)
            throw e
        }
        let directory = path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let dfd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// The bus errors (SIGBUS) this mapping has taken so far, as one error
    /// naming the file and the first faulting offset; nil when there were none.
    /// After a fault, what was read may be zeros and what was written may be lost.
    public var mediaFault: PMemError? { guardRegistration.flatMap { FaultGuard.fault($0, path: path) } }

    /// Faults of mappings released since the last call (a command reports
    /// them after its pool is gone); collecting clears the list.
    public static func takeReleasedFaults() -> [PMemError] { FaultGuard.take() }

    /// Maps an existing file or device. `writable` takes the exclusive lock
    /// (on the whole file, whatever the offset).
    ///
    /// With `offset`, the mapping starts that many bytes into the file or
    /// device: it must be a multiple of the alignment libpmem2 requires for
    /// it (`pmem2_source_alignment`: the page size for files, the device's
    /// alignment for devdax) and below its size, else `.invalidOffset`.
    /// `length` (nil: to the end) bounds the mapping; a regular file shorter
    /// than `offset + length` is extended (sparse) when `writable`.
    public static func open(path: String, writable: Bool, offset: UInt64 = 0, length: UInt64? = nil) throws(PMemError) -> PMemMapping {
        let fd = try system_open(path, writable ? O_RDWR : O_RDONLY)
        var lockFD: Int32 = -1
        do throws(PMemError) {
            if writable { lockFD = try system_takeWriterLock(of: fd, path) }
            if offset != 0 || length != nil { try system_prepareWindow(fd, path, offset: offset, length: length, writable: writable) }
            return try PMemMapping(fd: fd, path: path, writable: writable, offset: offset, length: length, writerLock: lockFD)
        } catch {
            close(fd)
            system_releaseWriterLock(lockFD)
            throw error
        }
    }

    /// Maps a regular file that is shorter than the region it holds (a
    /// truncated pool), read-only, as `size` bytes: the file's bytes from
    /// `offset` on, then zeros. Structures that lay past the file's end
    /// read as zeros, so a store mounted on it reports them as damaged
    /// while everything the file still holds reads as before.
    /// `zeroExtendedFrom` says where the file ends. Never writable; takes
    /// no lock. A further truncation while mapped is caught by the fault
    /// guard like any mapping's.
    ///
    /// - Throws: what `open` throws; `.system("mmap")` when `size` bytes of
    ///   address space cannot be had.
    public static func openZeroExtended(path: String, offset: UInt64 = 0, size: UInt64) throws(PMemError) -> PMemMapping {
        let fd = try system_open(path, O_RDONLY)
        do throws(PMemError) {
            if offset != 0 { try system_prepareWindow(fd, path, offset: offset, length: nil, writable: false) }
            return try PMemMapping(fd: fd, path: path, writable: false, offset: offset, length: nil, zeroExtendTo: size)
        } catch {
            close(fd)
            throw error
        }
    }

    /// `bytes` bytes of address space, read-only: the first `fileBytes` from
    /// `fd` at `offset` (shared, so later writes by others show), the rest
    /// anonymous zero pages. nil (errno set) when mmap fails.
    private static func zeroExtendedView(fd: Int32, offset: UInt64, fileBytes: UInt64, bytes: UInt64) -> UnsafeMutableRawPointer? {
        guard bytes <= UInt64(Int.max), let view = mmap(nil, Int(bytes), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              view != MAP_FAILED else { return nil }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let fileSpan = min((fileBytes + page - 1) / page * page, bytes)
        guard mmap(view, Int(fileSpan), PROT_READ, MAP_SHARED | MAP_FIXED, fd, off_t(offset)) != MAP_FAILED else {
            let e = errno
            munmap(view, Int(bytes))
            errno = e
            return nil
        }
        return view
    }

    /// Maps `fd`. On a throw the caller still owns `fd` and `writerLock`.
    private init(
        fd: Int32, path: String, writable: Bool, offset: UInt64 = 0, length: UInt64? = nil, zeroExtendTo: UInt64? = nil,
        writerLock: Int32 = -1
    ) throws(PMemError) {
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
        if r == 0, offset != 0 {
            var alignment = 0
            r = pmem2_source_alignment(src, &alignment)
            if r == 0, alignment > 0, offset % UInt64(alignment) != 0 {
                var s: OpaquePointer? = src
                pmem2_source_delete(&s)
                throw .invalidOffset(path: path, offset: offset, reason: "not a multiple of \(alignment) bytes, the alignment libpmem2 requires here")
            }
            if r == 0 { r = pmem2_config_set_offset(cfg, Int(offset)) }
        }
        if r == 0, let length { r = pmem2_config_set_length(cfg, Int(length)) }
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
        self.writerLock = writerLock
        self.path = path
        self.writable = writable
        self.offset = offset
        source = src
        map = m
        let mapped = UInt64(pmem2_map_get_size(m))
        if let zeroExtendTo, zeroExtendTo > mapped, !writable {
            guard let view = Self.zeroExtendedView(fd: fd, offset: offset, fileBytes: mapped, bytes: zeroExtendTo) else {
                let e = systemError("mmap", path)
                var mm: OpaquePointer? = m
                pmem2_map_delete(&mm)
                var s: OpaquePointer? = src
                pmem2_source_delete(&s)
                throw e
            }
            base = view
            size = zeroExtendTo
            zeroExtendedFrom = mapped
            zeroExtendedView = view
        } else {
            base = pmem2_map_get_address(m)!
            size = mapped
            zeroExtendedFrom = nil
            zeroExtendedView = nil
        }
        guardRegistration = FaultGuard.register(base: base, size: size)
        switch pmem2_map_get_store_granularity(m) {
        case PMEM2_GRANULARITY_BYTE: granularity = .byte
        case PMEM2_GRANULARITY_CACHE_LINE: granularity = .cacheLine
        default: granularity = .page
        }
        var st = stat()
        if granularity == .page, zeroExtendedView == nil, let guardRegistration, fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
           FaultGuard.watchSize(guardRegistration, fd: fd, fileEnd: offset + size, persist: pmem2_get_persist_fn(m)) {
            // msync, then the file's size: a file truncated under the mapping loses pages no
            // later store of ours may touch (nothing faults), so a commit must learn it here.
            persist = FaultGuard.checkedPersist
        } else {
            persist = pmem2_get_persist_fn(m)
        }
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
            context: Unmanaged.passRetained(self).toOpaque(),
            lost_stores: guardRegistration.flatMap { FaultGuard.counter($0) })
    }

    deinit {
        if let guardRegistration { FaultGuard.unregister(guardRegistration, path: path) }
        if let zeroExtendedView { munmap(zeroExtendedView, Int(size)) }
        if let s = staged.withLock({ $0 }) {
            unlink(s.path)
            system_releaseWriterLock(s.replacedFD)
        }
        var m: OpaquePointer? = map
        pmem2_map_delete(&m)
        var s: OpaquePointer? = source
        pmem2_source_delete(&s)
        close(fd)
        system_releaseWriterLock(writerLock)
    }

    /// The value of `PMEM2_FORCE_GRANULARITY` in this process, if set.
    public static var forcedGranularity: String? {
        getenv("PMEM2_FORCE_GRANULARITY").map { String(cString: $0) }
    }
}
