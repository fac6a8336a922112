/// A System Physical Address (SPA) Range structure of the NFIT (ACPI 6.x
/// §5.2.25.2, type 0, 56 bytes; 64 from ACPI 6.4 with a location cookie).
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 2 | type (0) |
/// | 2 | 2 | length (56 or more) |
/// | 4 | 2 | SPA range structure index |
/// | 6 | 2 | flags: bit 0 control region for hot-add only, bit 1 proximity domain valid |
/// | 12 | 4 | proximity domain |
/// | 16 | 16 | address range type GUID |
/// | 32 | 8 | system physical address range base |
/// | 40 | 8 | system physical address range length |
/// | 48 | 8 | address range memory mapping attribute (EFI memory attributes) |
public struct NFITSPARange: Equatable, Sendable {
    /// The structure's type in the NFIT.
    public static let type: UInt16 = 0
    /// The structure's length before ACPI 6.4 (the least accepted).
    public static let size = 56

    /// Byte offset of the structure in the table.
    public let offset: Int
    /// The SPA range structure index (other NFIT structures refer to it).
    public let index: UInt16
    /// The raw flags.
    public let flags: UInt16
    /// The proximity domain (meaningful when `flags` bit 1 is set).
    public let proximityDomain: UInt32
    /// What kind of range this is (`ACPIGUID.persistentMemory` for byte-addressable NVM).
    public let typeGUID: ACPIGUID
    /// First physical address of the range.
    public let base: UInt64
    /// Length in bytes (`base + length` does not overflow).
    public let length: UInt64
    /// EFI memory attributes of the range (EFI_MEMORY_WB, EFI_MEMORY_NV …).
    public let mappingAttributes: UInt64

    /// The range is persistent memory (its type GUID is the persistent-memory region GUID).
    public var isPersistentMemory: Bool { typeGUID == .persistentMemory }
    /// Flags bit 1: `proximityDomain` is valid.
    public var proximityDomainValid: Bool { flags & 2 != 0 }
}

/// The NVDIMM Firmware Interface Table: its SPA range structures.
public struct NFIT: Equatable, Sendable {
    /// Bytes before the first structure: the ACPI header and 4 reserved bytes.
    public static let structuresOffset = 40

    /// The table's header (checksum verified).
    public let header: ACPITableHeader
    /// Every SPA range structure, in table order (persistent memory or not).
    public let spaRanges: [NFITSPARange]
    /// Structures of other types (region mappings, control regions …), skipped by their length.
    public let otherStructures: Int

    /// Parses the NFIT in `table` (the contents of /sys/firmware/acpi/tables/NFIT).
    /// Every structure must have a length of at least 4 and fit in the table;
    /// an SPA range must be 56 bytes or more and must not wrap past 2^64.
    /// Cost: one pass.
    public static func parse(_ table: UnsafeRawBufferPointer) throws(NVMError) -> NFIT {
        let header = try ACPITableHeader.parse(table, expecting: .nfit)
        let t = Bytes(buffer: UnsafeRawBufferPointer(rebasing: table[0..<header.length]), structure: .acpiHeader(signature: .nfit))
        try t.need(0, structuresOffset)
        var ranges: [NFITSPARange] = []
        var other = 0
        var at = structuresOffset
        while at < header.length {
            let s = NVMStructure.nfitStructure(offset: at)
            let e = t.naming(s)
            let type = try e.le(at, UInt16.self)
            let length = Int(try e.le(at + 2, UInt16.self))
            guard length >= 4 else { throw .invalidField(s, field: "length", value: UInt64(length)) }
            let st = try t.slice(at, length, as: s)
            if type == NFITSPARange.type {
                guard length >= NFITSPARange.size else {
                    throw .invalidField(s, field: "length of an SPA range structure", value: UInt64(length))
                }
                let base = try st.le(32, UInt64.self)
                let size = try st.le(40, UInt64.self)
                guard !base.addingReportingOverflow(size).overflow else {
                    throw .invalidField(s, field: "length (base + length wraps)", value: size)
                }
                ranges.append(NFITSPARange(
                    offset: at, index: try st.le(4, UInt16.self), flags: try st.le(6, UInt16.self),
                    proximityDomain: try st.le(12, UInt32.self),
                    typeGUID: ACPIGUID(low: try st.le(16, UInt64.self), high: try st.le(24, UInt64.self)),
                    base: base, length: size, mappingAttributes: try st.le(48, UInt64.self)))
            } else {
                other += 1
            }
            at += length  // cannot overflow: at < header.length ≤ UInt32.max and length ≤ 65535
        }
        return NFIT(header: header, spaRanges: ranges, otherStructures: other)
    }
}
