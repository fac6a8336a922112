import CCRC32C
import PMemBackend
import TraceFormat
import TraceVolume
#if canImport(Glibc)
import Glibc
#endif

/// A pool file (or device) mounted as a trace store: the libpmem2 mapping,
/// the hardware CRC and the wall clock wired into a `TraceStore`.
///
/// The store owns the mapping through its region descriptor: writers,
/// readers and record views keep it mapped even after the pool is dropped,
/// and it is unmapped once, when the last of them is gone.
///
/// Thread safety: as `TraceStore`.
public final class TracePool: @unchecked Sendable {
    // SAFETY: immutable after init.

    /// The store on this pool's mapping: volumes, writers, readers, check.
    public let store: TraceStore
    /// The path the pool was opened or formatted at.
    public let path: String
    /// Where the region starts in the file or device (0 unless opened or formatted at an offset).
    public var offset: UInt64 { mapping.offset }
    /// The libpmem2 mapping.
    public let mapping: PMemMapping

    /// Hardware CRC32C where the CPU has it (AVX-512 VPCLMULQDQ folding, else
    /// the SSE4.2 instruction), else a table; chosen once per process.
    public static let crc32c: CRC32C.Function = pmt_crc32c
    /// One-pass checksum + non-temporal copy (x86-64 with SSE4.2 and pclmul; does nothing elsewhere).
    public static let copyWithChecksum: StoreOptions.CopyChecksumFunction = { crc, d, s, n in pmt_crc32c_copy_nt(crc, d, s, n) }
    /// One-pass copy out + checksum for verified reads (x86-64 with VPCLMULQDQ; does nothing elsewhere).
    public static let copyOutWithChecksum: StoreOptions.CopyChecksumFunction = { crc, d, s, n in pmt_crc32c_copy(crc, d, s, n) }

    /// The group stream (`StoreOptions.groupStream`) where the CPU has AVX-512
    /// VPCLMULQDQ and `PMTRACE_CRC32C` does not lower the checksum path; nil elsewhere.
    public static let groupStream: GroupStreamFunctions? = pmt_group_stream_available() != 0
        && Int(PMT_GROUP_STREAM_STATE_BYTES) <= GroupStreamFunctions.stateBytes ? GroupStreamFunctions(
        begin: pmt_group_stream_begin, member: pmt_group_stream_member, bytes: pmt_group_stream_bytes, finish: pmt_group_stream_finish,
        members: pmt_group_stream_members) : nil

    /// Store options for a hosted pool: hardware checksums, the group stream where there is one, the realtime clock.
    public static func options(commitInterval: Int = 8 << 20) -> StoreOptions {
        var o = StoreOptions(commitInterval: commitInterval, clock: realtimeNanoseconds, crc32c: crc32c, copyWithChecksum: copyWithChecksum,
                             copyOutWithChecksum: copyOutWithChecksum)
        o.groupStream = groupStream
        return o
    }

    /// How stores to this pool become durable (libpmem2's granularity for the mapping).
    public var granularity: StoreGranularity { store.region.granularity }

    /// Creates (or with `force`, overwrites) `path` and formats it.
    /// Without `force`, an existing file is left untouched and an error says what it holds.
    /// Parameters and size are validated before anything is touched; a file
    /// is built beside `path` and renamed over it only once formatted, so a
    /// failed format leaves no file behind and an existing one as it was
    /// (see `PMemMapping.create`). Devices are formatted in place.
    /// `reserve: false` leaves the file sparse (see `PMemMapping.create`).
    ///
    /// With `offset` (a region inside an existing file or device, e.g. after
    /// a namespace info block), the region is formatted in place at that
    /// offset: `size` bytes of a regular file (extended if shorter, never
    /// shrunk) or the rest of a device. The bytes before the offset are
    /// never written; the existing-region check looks at the offset.
    public static func format(
        path: String, offset: UInt64 = 0, size: UInt64, parameters: FormatParameters = FormatParameters(), force: Bool = false,
        reserve: Bool = true, options: StoreOptions = TracePool.options()
    ) throws(PoolError) -> TracePool {
        if offset != 0 { return try formatAtOffset(path: path, offset: offset, size: size, parameters: parameters, force: force, options: options) }
        var st = stat()
        let exists = stat(path, &st) == 0
        let isDevice = exists && (st.st_mode & S_IFMT == S_IFCHR || st.st_mode & S_IFMT == S_IFBLK)
        // Everything is validated before anything is created or touched.
        do throws(TraceError) { try parameters.validate(regionSize: isDevice ? nil : size) } catch { throw .at(path: path, .store(error)) }
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
        try formatMapped(mapping, path: path, parameters: parameters, options: options)
        do throws(PMemError) { try mapping.publish() } catch { throw .mapping(error) }
        return try TracePool(path: path, mapping: mapping, writable: true, options: options)
    }

    /// Formats the region `mapping` holds: a random uuid and the clock's
    /// format time unless `parameters` give them; a media fault during the
    /// writes is an error. Shared by `format` at offset 0 and in place.
    private static func formatMapped(
        _ mapping: PMemMapping, path: String, parameters: FormatParameters, options: StoreOptions
    ) throws(PoolError) {
        var p = parameters
        if p.uuidHigh == 0 && p.uuidLow == 0 {
            p.uuidHigh = UInt64.random(in: 1...UInt64.max)
            p.uuidLow = UInt64.random(in: 1...UInt64.max)
        }
        if p.formatTime == 0 { p.formatTime = options.clock() }
        do throws(TraceError) {
            try TraceStore.format(region: try PersistentRegion(mapping.regionDescriptor()), parameters: p)
        } catch { throw .at(path: path, .store(error)) }
        if let fault = mapping.mediaFault { throw .mapping(fault) }
    }

    /// `format` at a nonzero offset: in place, in an existing file or device.
    private static func formatAtOffset(
        path: String, offset: UInt64, size: UInt64, parameters: FormatParameters, force: Bool, options: StoreOptions
    ) throws(PoolError) -> TracePool {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .mapping(.notFound(path: path)) }
        let isDevice = st.st_mode & S_IFMT == S_IFCHR || st.st_mode & S_IFMT == S_IFBLK
        do throws(TraceError) { try parameters.validate(regionSize: isDevice ? nil : size) } catch { throw .at(path: path, .store(error)) }
        if !force {
            switch Result(catching: { () throws(PoolError) -> TracePool in try open(path: path, offset: offset, writable: false) }) {
            case .success(let p):
                throw .wouldOverwrite(path: path, what: "already holds a PMTrace region with \(p.store.volumes().count) volume(s) at offset \(offset)")
            case .failure(.mapping(.invalidOffset(_, _, let reason))) where reason.hasPrefix("not a multiple"):
                throw .mapping(.invalidOffset(path: path, offset: offset, reason: reason))
            case .failure:
                break  // no region there (or the file ends before the offset): format it
            }
        }
        let mapping: PMemMapping
        do throws(PMemError) {
            mapping = try PMemMapping.open(path: path, writable: true, offset: offset, length: isDevice ? nil : size)
        } catch { throw .mapping(error) }
        try formatMapped(mapping, path: path, parameters: parameters, options: options)
        return try TracePool(path: path, mapping: mapping, writable: true, options: options)
    }

    /// Mounts an existing pool (recovering after a crash if needed).
    /// `writable` takes the exclusive writer lock (on the whole file).
    /// `offset`: the region starts that many bytes into the file or device
    /// and runs to its end (see `PMemMapping.open` for the alignment).
    ///
    /// `readingTruncated`: a read-only open of a file shorter than the region
    /// its superblock records (a truncated pool, `PoolError.truncated`) mounts
    /// what the file holds instead of failing: the missing bytes read as zeros
    /// (`PMemMapping.openZeroExtended`), so every structure that lay in them is
    /// reported as damage where a reader meets it, and everything before reads
    /// as it did. `truncation` then says so. Ignored when `writable`: nothing is
    /// ever written to a truncated region.
    public static func open(
        path: String, offset: UInt64 = 0, writable: Bool, options: StoreOptions = TracePool.options(), readingTruncated: Bool = false
    ) throws(PoolError) -> TracePool {
        // An empty file (a pool cut to nothing) holds no region: say that, not libpmem2's refusal to map it.
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size == 0 {
            throw .at(path: path, .store(.notARegion(reason: "the file is empty (0 bytes)")))
        }
        let mapping: PMemMapping
        do throws(PMemError) { mapping = try PMemMapping.open(path: path, writable: writable, offset: offset) } catch { throw .mapping(error) }
        do throws(PoolError) {
            return try TracePool(path: path, mapping: mapping, writable: writable, options: options)
        } catch {
            guard case .truncated(_, _, let regionSize) = error, readingTruncated, !writable else { throw error }
            // Mount again over the file's bytes followed by zeros. If even that
            // does not mount, the truncation is what the user needs to hear.
            var cut = options
            guard let extended = try? PMemMapping.openZeroExtended(path: path, offset: offset, size: regionSize) else { throw error }
            cut.readableBytes = extended.zeroExtendedFrom
            guard let pool = try? TracePool(path: path, mapping: extended, writable: false, options: cut) else { throw error }
            return pool
        }
    }

    /// For a pool opened with `readingTruncated` from a truncated file: the
    /// bytes the file holds (from the region's start) and the region size
    /// its superblock records; nil for a whole region.
    public var truncation: (fileBytes: UInt64, regionSize: UInt64)? {
        mapping.zeroExtendedFrom.map { ($0, mapping.size) }
    }

    private init(path: String, mapping: PMemMapping, writable: Bool, options: StoreOptions) throws(PoolError) {
        do throws(TraceError) {
            store = try TraceStore(region: try PersistentRegion(mapping.regionDescriptor()), writable: writable, options: options)
        } catch { throw PoolError.diagnose(error, mapping: mapping) }
        self.path = path
        self.mapping = mapping
    }
}
