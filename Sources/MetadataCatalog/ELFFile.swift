import Foundation
import TraceFormat

/// A read-only view of an ELF64 little-endian file (x86-64 or AArch64).
///
/// Every offset and size read from the file is checked against the file's
/// length before use; any input, however malformed, gives an `ELFError`
/// and never a trap or an out-of-bounds read. Not thread-safe to create;
/// immutable after.
public struct ELFFile {
    /// The ELF file type (`e_type`) of the images a catalog imports.
    public enum Kind: UInt16, Sendable {
        /// ET_EXEC: symbols are at fixed addresses.
        case executable = 2
        /// ET_DYN: shared object or PIE; a load bias applies.
        case shared = 3
    }

    /// One section header, as read from the file.
    public struct Section {
        /// The section's name from the section-name string table.
        public var name: String
        /// `sh_type` (2 `SHT_SYMTAB`, 11 `SHT_DYNSYM`, …).
        public var type: UInt32
        /// `sh_flags` (bit 1 `SHF_ALLOC`: loaded at run time).
        public var flags: UInt64
        /// `sh_addr`: the link-time address when loaded.
        public var address: UInt64
        /// `sh_offset`: where the section's bytes start in the file.
        public var offset: UInt64
        /// `sh_size`: the section's size in bytes.
        public var size: UInt64
        /// `sh_link`: for a symbol table, the index of its string table.
        public var link: UInt32
        /// `sh_entsize`: the size of one entry, for tables.
        public var entrySize: UInt64
    }

    /// One `PT_LOAD` program header: a range of the file mapped at run time.
    public struct LoadSegment: Equatable, Sendable {
        /// `p_offset`: where the segment starts in the file.
        public var offset: UInt64
        /// `p_vaddr`: its link-time address.
        public var vaddr: UInt64
        /// `p_filesz`: bytes taken from the file.
        public var fileSize: UInt64
        /// `p_memsz`: bytes in memory (more than `fileSize` for `.bss`).
        public var memSize: UInt64
        /// The segment is mapped executable (`PF_X`).
        public var executable: Bool
    }

    /// The whole file, read once; sections are parsed from it on demand.
    public let data: Data
    /// Executable (fixed addresses) or shared object / PIE.
    public let kind: Kind
    /// `e_machine`: 62 x86-64, 183 AArch64.
    public let machine: UInt16
    /// Every section header, in file order.
    public let sections: [Section]
    /// Every `PT_LOAD` segment, in file order.
    public let loads: [LoadSegment]
    /// The GNU build-id note's bytes (empty when the file has none).
    public let buildID: [UInt8]

    /// Maps the file at `path` (read-only, `Data` mapped) and parses it as `init(data:)` does.
    /// - Throws: the file's read error, or an `ELFError`.
    public init(contentsOf path: String) throws {
        let url = URL(fileURLWithPath: path)
        try self.init(data: try Data(contentsOf: url, options: .alwaysMapped))
    }

    /// Parses `data` as an ELF64 little-endian file: every offset and size is checked against the file's size, so a hostile file gives an `ELFError`, never a trap.
    public init(data: Data) throws(ELFError) {
        self.data = data
        let size = UInt64(data.count)
        guard data.count >= 16, data.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]) else { throw .notELF }
        let cls = data[data.startIndex + 4], order = data[data.startIndex + 5]
        guard cls == 2 else { throw .unsupportedClass(cls) }
        guard order == 1 else { throw .unsupportedByteOrder(order) }
        guard data.count >= 64 else { throw .truncated(what: "ELF header", offset: 0, size: 64, fileSize: size) }
        let r = Reader(data: data)
        let type: UInt16 = r.u16(16)
        guard let kind = Kind(rawValue: type) else { throw .invalid(what: "e_type (not an executable or shared object)", value: UInt64(type)) }
        self.kind = kind
        machine = r.u16(18)
        guard machine == 62 || machine == 183 else { throw .unsupportedMachine(machine) }
        let phoff: UInt64 = r.u64(32), shoff: UInt64 = r.u64(40)
        let phentsize = UInt64(r.u16(54) as UInt16), phnum = UInt64(r.u16(56) as UInt16)
        let shentsize = UInt64(r.u16(58) as UInt16)
        var shnum = UInt64(r.u16(60) as UInt16)
        var shstrndx = UInt64(r.u16(62) as UInt16)

        var loads: [LoadSegment] = []
        if phnum > 0 {
            guard phentsize >= 56 else { throw .invalid(what: "e_phentsize", value: phentsize) }
            try r.check("program headers", phoff, phentsize * phnum)
            for i in 0..<phnum {
                let o = Int(phoff + i * phentsize)
                if r.u32(o) as UInt32 == 1 {  // PT_LOAD
                    loads.append(LoadSegment(offset: r.u64(o + 8), vaddr: r.u64(o + 16), fileSize: r.u64(o + 32),
                                             memSize: r.u64(o + 40), executable: (r.u32(o + 4) as UInt32) & 1 != 0))
                }
            }
        }
        self.loads = loads

        var sections: [Section] = []
        if shoff != 0 {
            guard shentsize >= 64 else { throw .invalid(what: "e_shentsize", value: shentsize) }
            try r.check("section header 0", shoff, 64)
            if shnum == 0 { shnum = r.u64(Int(shoff) + 32) }  // extended numbering
            if shstrndx == 0xFFFF { shstrndx = UInt64(r.u32(Int(shoff) + 40) as UInt32) }
            guard shnum <= 65536 * 16 else { throw .invalid(what: "section count", value: shnum) }
            try r.check("section headers", shoff, shentsize * shnum)
            var raw: [(name: UInt32, s: Section)] = []
            for i in 0..<shnum {
                let o = Int(shoff + i * shentsize)
                raw.append((r.u32(o), Section(name: "", type: r.u32(o + 4), flags: r.u64(o + 8), address: r.u64(o + 16),
                                                offset: r.u64(o + 24), size: r.u64(o + 32), link: r.u32(o + 40), entrySize: r.u64(o + 56))))
            }
            let names = shstrndx < shnum ? raw[Int(shstrndx)].s : nil
            for (nameOffset, var s) in raw {
                if let names, names.type != 8 {
                    try r.check("section name table", names.offset, names.size)
                    s.name = r.cString(in: names.offset, size: names.size, at: UInt64(nameOffset)) ?? ""
                }
                sections.append(s)
            }
        }
        self.sections = sections

        var id: [UInt8] = []
        for s in sections where s.type == 7 && s.size > 0 {  // SHT_NOTE
            try r.check("note section \(s.name)", s.offset, s.size)
            if let found = r.buildID(notesAt: s.offset, size: s.size) { id = found; break }
        }
        buildID = id
    }

    /// Bytes between the file's virtual addresses and its offsets: for the
    /// PT_LOAD holding file offset `offset`, `p_vaddr − p_offset`.
    public func linkDelta(forFileOffset offset: UInt64) -> UInt64? {
        // Program-header values come from the file: compare by difference, which cannot overflow.
        for l in loads where offset >= l.offset && offset - l.offset < max(l.fileSize, 1) {
            return l.vaddr &- l.offset
        }
        return nil
    }

    /// The lowest PT_LOAD's `p_vaddr − p_offset` (0 for typical PIEs).
    public var linkBase: UInt64 { loads.min { $0.vaddr < $1.vaddr }.map { $0.vaddr &- $0.offset } ?? 0 }

    /// Bounds-checked little-endian reads over the file bytes.
    struct Reader {
        let data: Data

        func check(_ what: String, _ offset: UInt64, _ size: UInt64) throws(ELFError) {
            let end = offset.addingReportingOverflow(size)
            guard !end.overflow, end.partialValue <= UInt64(data.count) else {
                throw .truncated(what: what, offset: offset, size: size, fileSize: UInt64(data.count))
            }
        }

        /// Caller checked bounds.
        func u16(_ o: Int) -> UInt16 { load(o) }
        func u32(_ o: Int) -> UInt32 { load(o) }
        func u64(_ o: Int) -> UInt64 { load(o) }
        func u8(_ o: Int) -> UInt8 { data[data.startIndex + o] }

        private func load<T: FixedWidthInteger>(_ o: Int) -> T {
            data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: T.self)) }
        }

        /// The NUL-terminated string at `at` inside the table `[base, base + size)`.
        func cString(in base: UInt64, size: UInt64, at: UInt64) -> String? {
            guard at < size else { return nil }
            return data.withUnsafeBytes { b -> String? in
                let table = UnsafeRawBufferPointer(rebasing: b[Int(base + at)..<Int(base + size)])
                guard let end = table.firstIndex(of: 0) else { return nil }
                return String(decoding: table[..<end], as: UTF8.self)
            }
        }

        /// Walks the notes in `[offset, offset + size)` for NT_GNU_BUILD_ID.
        func buildID(notesAt offset: UInt64, size: UInt64) -> [UInt8]? {
            var o = offset
            let end = offset + size
            while o + 12 <= end {
                let namesz = UInt64(u32(Int(o)) as UInt32), descsz = UInt64(u32(Int(o) + 4) as UInt32), type: UInt32 = u32(Int(o) + 8)
                let nameStart = o + 12
                let descStart = nameStart + ((namesz + 3) & ~3)
                let next = descStart + ((descsz + 3) & ~3)
                guard namesz <= size, descsz <= size, next <= end else { return nil }
                if type == 3, namesz == 4, data[data.startIndex + Int(nameStart)..<data.startIndex + Int(nameStart + 4)] == Data("GNU\0".utf8) {
                    return [UInt8](data[data.startIndex + Int(descStart)..<data.startIndex + Int(descStart + descsz)])
                }
                o = next
            }
            return nil
        }
    }
}
