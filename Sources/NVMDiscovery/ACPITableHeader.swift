/// The standard header at the start of every ACPI system description table
/// (ACPI 6.x §5.2.6): 36 bytes, little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | signature |
/// | 4 | 4 | length of the whole table, header included |
/// | 8 | 1 | revision |
/// | 9 | 1 | checksum: all `length` bytes sum to 0 mod 256 |
/// | 10 | 6 | OEM ID |
/// | 16 | 8 | OEM table ID |
/// | 24 | 4 | OEM revision |
/// | 28 | 4 | creator ID |
/// | 32 | 4 | creator revision |
public struct ACPITableHeader: Equatable, Sendable {
    /// Size of the header in bytes.
    public static let size = 36

    /// The table's signature.
    public let signature: ACPISignature
    /// The table's length in bytes, header included (at least 36; never more than the bytes given).
    public let length: Int
    /// The table's revision.
    public let revision: UInt8
    /// The OEM revision.
    public let oemRevision: UInt32

    /// Reads and checks the header of the table in `table`: the signature
    /// must be `expected`, the length must cover the header and fit in
    /// `table`, and the table's bytes must sum to zero. Bytes after `length`
    /// are ignored. Cost: one pass over `length` bytes.
    public static func parse(_ table: UnsafeRawBufferPointer, expecting expected: ACPISignature) throws(NVMError) -> ACPITableHeader {
        let s = NVMStructure.acpiHeader(signature: expected)
        let b = Bytes(buffer: table, structure: s)
        try b.need(0, size)
        let signature = ACPISignature(rawValue: try b.le(0, UInt32.self))
        guard signature == expected else { throw .wrongSignature(s, found: signature) }
        let length = try b.le(4, UInt32.self)
        guard length >= UInt32(size) else { throw .invalidField(s, field: "length", value: UInt64(length)) }
        guard UInt64(length) <= UInt64(table.count) else {
            throw .truncated(s, needed: Int(length), available: table.count)
        }
        var sum: UInt8 = 0
        for i in 0..<Int(length) { sum &+= table[i] }  // wrapping: the ACPI checksum is mod 256
        guard sum == 0 else { throw .acpiChecksumMismatch(s, sum: sum) }
        return ACPITableHeader(signature: signature, length: Int(length), revision: try b.u8(8),
                               oemRevision: try b.le(24, UInt32.self))
    }
}
