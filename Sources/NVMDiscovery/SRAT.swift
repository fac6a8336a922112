/// A Memory Affinity structure of the SRAT (ACPI 6.x §5.2.16.2, type 1,
/// 40 bytes): a physical address range, its proximity domain and flags.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | type (1) |
/// | 1 | 1 | length (40) |
/// | 2 | 4 | proximity domain |
/// | 8 | 8 | base address (two 32-bit halves, low first) |
/// | 16 | 8 | length (two 32-bit halves, low first) |
/// | 28 | 4 | flags: bit 0 enabled, bit 1 hot-pluggable, bit 2 non-volatile |
public struct SRATMemoryAffinity: Equatable, Sendable {
    /// The structure's type in the SRAT.
    public static let type: UInt8 = 1
    /// The structure's length.
    public static let size = 40

    /// Byte offset of the entry in the table.
    public let offset: Int
    /// The proximity (NUMA) domain.
    public let proximityDomain: UInt32
    /// First physical address of the range.
    public let base: UInt64
    /// Length of the range in bytes (`base + length` does not overflow).
    public let length: UInt64
    /// The raw flags word.
    public let flags: UInt32

    /// Flag bit 0: the entry is in use (firmware leaves unused entries disabled).
    public var enabled: Bool { flags & 1 != 0 }
    /// Flag bit 1: the range may be hot-plugged.
    public var hotPluggable: Bool { flags & 2 != 0 }
    /// Flag bit 2: the range is non-volatile memory.
    public var nonVolatile: Bool { flags & 4 != 0 }
}

/// The System Resource Affinity Table: its memory-affinity entries.
public struct SRAT: Equatable, Sendable {
    /// Bytes before the first entry: the ACPI header, a reserved word (1) and 8 reserved bytes.
    public static let entriesOffset = 48

    /// The table's header (checksum verified).
    public let header: ACPITableHeader
    /// Every memory-affinity entry, in table order (enabled or not).
    public let memoryAffinities: [SRATMemoryAffinity]
    /// Entries of other types (processor affinity and so on), skipped by their length.
    public let otherEntries: Int

    /// Parses the SRAT in `table` (the contents of /sys/firmware/acpi/tables/SRAT).
    /// Every entry must have a length of at least 2 and fit in the table; a
    /// memory-affinity entry must be 40 bytes or more and its range must not
    /// wrap past 2^64. Cost: one pass.
    public static func parse(_ table: UnsafeRawBufferPointer) throws(NVMError) -> SRAT {
        let header = try ACPITableHeader.parse(table, expecting: .srat)
        let t = Bytes(buffer: UnsafeRawBufferPointer(rebasing: table[0..<header.length]), structure: .acpiHeader(signature: .srat))
        try t.need(0, entriesOffset)
        var found: [SRATMemoryAffinity] = []
        var other = 0
        var at = entriesOffset
        while at < header.length {
            let s = NVMStructure.sratEntry(offset: at)
            let e = t.naming(s)
            let type = try e.u8(at)
            let length = Int(try e.u8(at + 1))
            guard length >= 2 else { throw .invalidField(s, field: "length", value: UInt64(length)) }
            let entry = try t.slice(at, length, as: s)
            if type == SRATMemoryAffinity.type {
                guard length >= SRATMemoryAffinity.size else {
                    throw .invalidField(s, field: "length of a memory affinity structure", value: UInt64(length))
                }
                let base = UInt64(try entry.le(8, UInt32.self)) | UInt64(try entry.le(12, UInt32.self)) << 32
                let size = UInt64(try entry.le(16, UInt32.self)) | UInt64(try entry.le(20, UInt32.self)) << 32
                guard !base.addingReportingOverflow(size).overflow else {
                    throw .invalidField(s, field: "length (base + length wraps)", value: size)
                }
                found.append(SRATMemoryAffinity(offset: at, proximityDomain: try entry.le(2, UInt32.self), base: base,
                                                length: size, flags: try entry.le(28, UInt32.self)))
            } else {
                other += 1
            }
            at += length  // cannot overflow: at < header.length ≤ UInt32.max and length ≤ 255
        }
        return SRAT(header: header, memoryAffinities: found, otherEntries: other)
    }
}
