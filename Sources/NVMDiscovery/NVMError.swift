/// The firmware and namespace structures NVM discovery reads, named in errors.
public enum NVMStructure: Equatable, Sendable {
    /// The 36-byte header every ACPI table starts with.
    case acpiHeader(signature: ACPISignature)
    /// The SRAT entry (of any type) at byte `offset` of the table.
    case sratEntry(offset: Int)
    /// The NFIT structure (of any type) at byte `offset` of the table.
    case nfitStructure(offset: Int)
    /// The Linux namespace info block (`nd_pfn_sb`) at byte `offset` of the namespace.
    case namespaceInfoBlock(offset: Int)
}

extension NVMStructure: CustomStringConvertible {
    /// The structure and where it is, as a person reads it.
    public var description: String {
        switch self {
        case .acpiHeader(let s): return "\(s) table header"
        case .sratEntry(let o): return "SRAT entry at byte \(o)"
        case .nfitStructure(let o): return "NFIT structure at byte \(o)"
        case .namespaceInfoBlock(let o): return "namespace info block at byte \(o)"
        }
    }
}

/// Why bytes handed to NVM discovery were rejected. Every case names the
/// structure (and so the byte offset) it is about. Parsing never traps on
/// any input: every length and offset is checked before it is used.
public enum NVMError: Error, Equatable, Sendable {
    /// The structure needs `needed` bytes from its start; only `available` are there.
    case truncated(NVMStructure, needed: Int, available: Int)
    /// The table's signature is not the one asked for.
    case wrongSignature(NVMStructure, found: ACPISignature)
    /// The bytes of the table do not sum to zero (mod 256).
    case acpiChecksumMismatch(NVMStructure, sum: UInt8)
    /// The stored Fletcher-64 does not match the one computed over the block.
    case fletcherMismatch(NVMStructure, stored: UInt64, computed: UInt64)
    /// A field holds a value outside its legal range.
    case invalidField(NVMStructure, field: StaticString, value: UInt64)
    /// No info block signature at 4 KiB: a raw namespace (or not a namespace).
    case noInfoBlock(NVMStructure)

    /// The structure the error is about.
    public var structure: NVMStructure {
        switch self {
        case .truncated(let s, _, _), .wrongSignature(let s, _), .acpiChecksumMismatch(let s, _),
             .fletcherMismatch(let s, _, _), .invalidField(let s, _, _), .noInfoBlock(let s):
            return s
        }
    }

    /// A small negative number per case, for the C entry points
    /// (`PMT_NVM_E_*` in include/pmtrace_nvm.h).
    public var code: Int32 {
        switch self {
        case .truncated: return -1
        case .wrongSignature: return -2
        case .acpiChecksumMismatch: return -3
        case .fletcherMismatch: return -4
        case .invalidField: return -5
        case .noInfoBlock: return -6
        }
    }

    /// Equal when the case, structure and values are equal (the field names
    /// of `invalidField` compare by their text).
    public static func == (a: NVMError, b: NVMError) -> Bool {
        switch (a, b) {
        case let (.truncated(s, n, v), .truncated(t, m, w)): return s == t && n == m && v == w
        case let (.wrongSignature(s, f), .wrongSignature(t, g)): return s == t && f == g
        case let (.acpiChecksumMismatch(s, x), .acpiChecksumMismatch(t, y)): return s == t && x == y
        case let (.fletcherMismatch(s, x, y), .fletcherMismatch(t, u, v)): return s == t && x == u && y == v
        case let (.invalidField(s, f, x), .invalidField(t, g, y)):
            return s == t && x == y && f.utf8CodeUnitCount == g.utf8CodeUnitCount
                && f.withUTF8Buffer { p in g.withUTF8Buffer { q in p.elementsEqual(q) } }
        case let (.noInfoBlock(s), .noInfoBlock(t)): return s == t
        default: return false
        }
    }
}

extension NVMError: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .truncated(let s, let needed, let available):
            return "\(s): truncated (needs \(needed) bytes, \(available) available)"
        case .wrongSignature(let s, let found):
            return "\(s): signature is \(found)"
        case .acpiChecksumMismatch(let s, let sum):
            return "\(s): checksum mismatch (bytes sum to \(sum), not 0)"
        case .fletcherMismatch(let s, let stored, let computed):
            return "\(s): Fletcher-64 mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
        case .invalidField(let s, let field, let value):
            return "\(s): invalid \(field.description) = \(value)"
        case .noInfoBlock(let s):
            return "\(s): no NVDIMM_PFN_INFO or NVDIMM_DAX_INFO signature (a raw namespace: data starts at 0)"
        }
    }
}
