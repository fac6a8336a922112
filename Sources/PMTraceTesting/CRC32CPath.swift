import CCRC32C
import TraceFormat
import TraceVolume

/// One implementation of CRC32C in the C shim (`pmt_crc32c_with`), so tests
/// can write and read a store through each path, whatever the process would pick.
public enum CRC32CPath: CaseIterable, Sendable {
    /// Slicing-by-8 tables (any CPU).
    case table
    /// SSE4.2 crc32 instruction, three streams joined with pclmul.
    case sse42
    /// AVX-512 VPCLMULQDQ folding.
    case vpclmul

    /// The shim's number for the path (`PMT_CRC32C_TABLE`, `_SSE42`, `_VPCLMUL`).
    public var code: Int32 {
        switch self {
        case .table: return Int32(PMT_CRC32C_TABLE)
        case .sse42: return Int32(PMT_CRC32C_SSE42)
        case .vpclmul: return Int32(PMT_CRC32C_VPCLMUL)
        }
    }
    /// Whether this CPU (and OS) can run the path.
    public var isAvailable: Bool { pmt_crc32c_path_available(code) != 0 }
    /// The paths this CPU can run, slowest first.
    public static var available: [CRC32CPath] { allCases.filter(\.isAvailable) }
    /// The path `pmt_crc32c` uses in this process.
    public static var current: CRC32CPath { allCases.first { $0.code == pmt_crc32c_path() } ?? .table }
    /// "table", "sse4.2" or "vpclmul".
    public var name: String { String(cString: pmt_crc32c_path_name(code)) }

    /// The checksum through this path (a C function pointer cannot capture it,
    /// hence one closure per case).
    public var function: CRC32C.Function {
        switch self {
        case .table: return { crc, p, n in pmt_crc32c_with(0, crc, p, n) }
        case .sse42: return { crc, p, n in pmt_crc32c_with(1, crc, p, n) }
        case .vpclmul: return { crc, p, n in pmt_crc32c_with(2, crc, p, n) }
        }
    }

    /// The fused checksum + non-temporal copy through this path.
    public var copyWithChecksum: StoreOptions.CopyChecksumFunction {
        switch self {
        case .table: return { crc, d, s, n in pmt_crc32c_copy_nt_with(0, crc, d, s, n) }
        case .sse42: return { crc, d, s, n in pmt_crc32c_copy_nt_with(1, crc, d, s, n) }
        case .vpclmul: return { crc, d, s, n in pmt_crc32c_copy_nt_with(2, crc, d, s, n) }
        }
    }
}

extension CRC32CPath {
    /// The one-pass copy out + checksum through this path (only VPCLMULQDQ has
    /// one; the others return 0 and the reader takes two passes).
    public var copyOutWithChecksum: StoreOptions.CopyChecksumFunction {
        switch self {
        case .table: return { crc, d, s, n in pmt_crc32c_copy_with(0, crc, d, s, n) }
        case .sse42: return { crc, d, s, n in pmt_crc32c_copy_with(1, crc, d, s, n) }
        case .vpclmul: return { crc, d, s, n in pmt_crc32c_copy_with(2, crc, d, s, n) }
        }
    }
}

extension StoreOptions {
    /// Test options whose checksum and fused copy run through `path`.
    /// The group stream comes with the VPCLMULQDQ path (where the CPU has it).
    public static func testing(commitInterval: Int = 1 << 20, clock: @convention(c) () -> UInt64 = { 0 }, path: CRC32CPath) -> StoreOptions {
        var o = StoreOptions(commitInterval: commitInterval, clock: clock, crc32c: path.function, copyWithChecksum: path.copyWithChecksum,
                             copyOutWithChecksum: path.copyOutWithChecksum)
        if path == .vpclmul && GroupStreamFunctions.hostAvailable { o.groupStream = .host }
        return o
    }
}
