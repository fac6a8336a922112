/// The info block Linux's libnvdimm writes 4 KiB into a namespace put in
/// fsdax ("NVDIMM_PFN_INFO\0") or devdax ("NVDIMM_DAX_INFO\0") mode
/// (`struct nd_pfn_sb`): 4096 bytes, little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 16 | signature |
/// | 16 | 16 | uuid |
/// | 32 | 16 | parent uuid (the namespace's) |
/// | 48 | 4 | flags |
/// | 52 | 2 | version major (1) |
/// | 54 | 2 | version minor |
/// | 56 | 8 | dataoff: where the data starts, from the namespace start |
/// | 64 | 8 | npfns: pages the kernel keeps `struct page`s for |
/// | 72 | 4 | mode: 1 memmap in RAM, 2 memmap in the namespace |
/// | 76 | 4 | start_pad (minor ≥ 1; deprecated, 0 on new namespaces) |
/// | 80 | 4 | end_trunc (minor ≥ 1) |
/// | 84 | 4 | align (minor ≥ 2) |
/// | 88 | 4 | page_size (minor ≥ 4) |
/// | 92 | 2 | page_struct_size (minor ≥ 4) |
/// | 94 | 3994 | zero |
/// | 4088 | 8 | Fletcher-64 of the block with this field zero |
///
/// Fields a lower minor version does not have read as Linux reads them:
/// start_pad, end_trunc and align 0, page size 4096, page struct size 64.
public struct NamespaceInfoBlock: Equatable, Sendable {
    /// Where the block is in the namespace.
    public static let offset = 4096
    /// The block's size.
    public static let size = 4096
    /// Offset of the checksum in the block.
    public static let checksumOffset = 4088

    /// Which of the two signatures the block carries. (A struct, not an
    /// enum: a payload-less enum is Hashable, and hashing needs a random
    /// seed the bare-metal archive does not have.)
    public struct Kind: Equatable, Sendable, CustomStringConvertible {
        /// 0 fsdax, 1 devdax.
        public let rawValue: UInt8
        /// "NVDIMM_PFN_INFO\0": a filesystem-DAX namespace (`/dev/pmemN` with `struct page`s).
        public static let fsdax = Kind(rawValue: 0)
        /// "NVDIMM_DAX_INFO\0": a device-DAX namespace (`/dev/daxN.M`).
        public static let devdax = Kind(rawValue: 1)
        /// "fsdax" or "devdax".
        public var description: String { rawValue == 0 ? "fsdax" : "devdax" }
    }

    /// fsdax or devdax.
    public let kind: Kind
    /// The info block's uuid, bytes 0…7 and 8…15 as stored, big-endian (so that hex text reads as stored).
    public let uuid: (UInt64, UInt64)
    /// The parent namespace's uuid, as `uuid` (zero for a label-less namespace).
    public let parentUUID: (UInt64, UInt64)
    /// The flags word.
    public let flags: UInt32
    /// Version major (always 1).
    public let versionMajor: UInt16
    /// Version minor (0…4 known).
    public let versionMinor: UInt16
    /// Offset of the data from the namespace start (`dataoff`).
    public let dataoff: UInt64
    /// Page frames covered (`npfns`).
    public let npfns: UInt64
    /// Where the memmap lives: 1 in RAM, 2 in the namespace (before `dataoff`).
    public let mode: UInt32
    /// Deprecated padding at the start (0 on namespaces made by current kernels).
    public let startPad: UInt32
    /// Bytes unused at the end.
    public let endTrunc: UInt32
    /// Alignment of the data (0 when the block predates minor 2).
    public let align: UInt32
    /// Page size the block was made for.
    public let pageSize: UInt32
    /// Size of a `struct page` the block was made for.
    public let pageStructSize: UInt16
    /// The stored (and verified) Fletcher-64.
    public let checksum: UInt64

    /// Where the data starts, in bytes from the namespace start: start_pad +
    /// dataoff, what the kernel reports as the pfn/dax device's resource minus
    /// the namespace's.
    public var dataOffset: UInt64 { UInt64(startPad) + dataoff }

    /// Equal when every field is equal.
    public static func == (a: NamespaceInfoBlock, b: NamespaceInfoBlock) -> Bool {
        a.kind == b.kind && a.uuid == b.uuid && a.parentUUID == b.parentUUID && a.flags == b.flags
            && a.versionMajor == b.versionMajor && a.versionMinor == b.versionMinor && a.dataoff == b.dataoff
            && a.npfns == b.npfns && a.mode == b.mode && a.startPad == b.startPad && a.endTrunc == b.endTrunc
            && a.align == b.align && a.pageSize == b.pageSize && a.pageStructSize == b.pageStructSize
            && a.checksum == b.checksum
    }

    /// Parses the info block of the namespace whose first bytes are
    /// `namespace` (at least 8 KiB: the block is at 4 KiB). `namespaceSize`,
    /// when known, bounds the data offset. Throws `.noInfoBlock` when neither
    /// signature is there (a raw namespace), and otherwise checks the
    /// checksum, version, mode, alignment and offsets. Cost: one pass over 4 KiB.
    public static func parse(namespace: UnsafeRawBufferPointer, namespaceSize: UInt64? = nil) throws(NVMError) -> NamespaceInfoBlock {
        let s = NVMStructure.namespaceInfoBlock(offset: offset)
        let whole = Bytes(buffer: namespace, structure: s)
        let b = try whole.slice(offset, size, as: s)
        let kind: Kind
        let sig0 = try b.le(0, UInt64.self), sig1 = try b.le(8, UInt64.self)
        // "NVDIMM_P" / "NVDIMM_D", then "FN_INFO\0" / "AX_INFO\0", as little-endian words.
        if sig0 == 0x505F_4D4D_4944_564E && sig1 == 0x004F_464E_495F_4E46 {
            kind = .fsdax
        } else if sig0 == 0x445F_4D4D_4944_564E && sig1 == 0x004F_464E_495F_5841 {
            kind = .devdax
        } else {
            throw .noInfoBlock(s)
        }
        let stored = try b.le(checksumOffset, UInt64.self)
        let computed = fletcher64(b.buffer, zeroing: checksumOffset)
        guard stored == computed else { throw .fletcherMismatch(s, stored: stored, computed: computed) }
        let major = try b.le(52, UInt16.self), minor = try b.le(54, UInt16.self)
        guard major == 1 else { throw .invalidField(s, field: "version_major", value: UInt64(major)) }
        let mode = try b.le(72, UInt32.self)
        guard mode == 1 || mode == 2 else { throw .invalidField(s, field: "mode", value: UInt64(mode)) }
        let startPad = minor >= 1 ? try b.le(76, UInt32.self) : 0
        let endTrunc = minor >= 1 ? try b.le(80, UInt32.self) : 0
        let align = minor >= 2 ? try b.le(84, UInt32.self) : 0
        guard align & (align &- 1) == 0 else { throw .invalidField(s, field: "align", value: UInt64(align)) }
        let pageSize = minor >= 4 ? try b.le(88, UInt32.self) : 4096
        guard pageSize != 0, pageSize & (pageSize - 1) == 0 else {
            throw .invalidField(s, field: "page_size", value: UInt64(pageSize))
        }
        let pageStructSize = minor >= 4 ? try b.le(92, UInt16.self) : 64
        let dataoff = try b.le(56, UInt64.self)
        // The data cannot start inside the 8 KiB that hold the info block.
        guard dataoff >= UInt64(offset + size) else { throw .invalidField(s, field: "dataoff", value: dataoff) }
        guard align == 0 || dataoff % UInt64(align) == 0 else { throw .invalidField(s, field: "dataoff (not a multiple of align)", value: dataoff) }
        let (start, overflow) = dataoff.addingReportingOverflow(UInt64(startPad))
        if let namespaceSize {
            guard !overflow, UInt64(endTrunc) <= namespaceSize, start <= namespaceSize - UInt64(endTrunc) else {
                throw .invalidField(s, field: "dataoff (past the namespace end)", value: dataoff)
            }
        } else if overflow {
            throw .invalidField(s, field: "dataoff", value: dataoff)
        }
        return NamespaceInfoBlock(
            kind: kind, uuid: (try b.le(16, UInt64.self).byteSwapped, try b.le(24, UInt64.self).byteSwapped),
            parentUUID: (try b.le(32, UInt64.self).byteSwapped, try b.le(40, UInt64.self).byteSwapped),
            flags: try b.le(48, UInt32.self), versionMajor: major, versionMinor: minor, dataoff: dataoff,
            npfns: try b.le(64, UInt64.self), mode: mode, startPad: startPad, endTrunc: endTrunc, align: align,
            pageSize: pageSize, pageStructSize: pageStructSize, checksum: stored)
    }
}
