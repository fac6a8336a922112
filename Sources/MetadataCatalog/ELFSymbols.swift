import Foundation

/// A defined function or object symbol of an ELF file.
public struct ELFSymbol: Equatable, Sendable {
    /// The symbol's name (`st_name` resolved in its string table), still mangled.
    public var name: String
    /// `st_value`: the link-time address.
    public var value: UInt64
    /// `st_size`: bytes covered (0 for symbols of unknown size).
    public var size: UInt64
    /// ELF `st_info`: type in bits 0-3, binding in bits 4-7.
    public var info: UInt8
    /// `st_shndx`: the section the symbol lives in (0: undefined).
    public var sectionIndex: UInt16
    /// Position in the file's symbol table (tie-break among aliases).
    public var tableIndex: Int = 0

    /// `STT_*` type: the low four bits of `info` (1 object, 2 function, 10 IFUNC).
    public var type: UInt8 { info & 0xF }
    /// `STB_*` binding: the high four bits of `info` (0 local, 1 global, 2 weak).
    public var binding: UInt8 { info >> 4 }
    /// A function or an indirect function (IFUNC).
    public var isFunction: Bool { type == 2 || type == 10 }
}

extension ELFFile {
    /// Which symbol table `symbols()` read.
    public enum SymbolSource: String, Sendable {
        /// The full symbol table (present unless the file was stripped).
        case symtab = ".symtab"
        /// The dynamic symbol table (exported symbols only).
        case dynsym = ".dynsym"
    }

    /// Defined function (FUNC, IFUNC), object (OBJECT) and code-label
    /// (NOTYPE in an executable section) symbols, from `.symtab`, or from
    /// `.dynsym` when the file is stripped. Undefined, absolute, TLS, section
    /// and file symbols are left out, as are symbols of sections that are not
    /// loaded and AArch64 mapping symbols (`$x`, `$d`).
    public func symbols() throws(ELFError) -> (symbols: [ELFSymbol], source: SymbolSource) {
        for (type, source) in [(UInt32(2), SymbolSource.symtab), (UInt32(11), .dynsym)] {
            guard let table = sections.first(where: { $0.type == type }) else { continue }
            let found = try readSymbols(table)
            if !found.isEmpty { return (found, source) }
        }
        throw .noSymbols
    }

    private func readSymbols(_ table: Section) throws(ELFError) -> [ELFSymbol] {
        let r = Reader(data: data)
        guard table.entrySize >= 24 || table.size == 0 else { throw .invalid(what: "symbol entry size", value: table.entrySize) }
        try r.check("symbol table \(table.name)", table.offset, table.size)
        guard Int(table.link) < sections.count else { throw .invalid(what: "symbol string table index", value: UInt64(table.link)) }
        let strings = sections[Int(table.link)]
        try r.check("string table \(strings.name)", strings.offset, strings.size)
        var out: [ELFSymbol] = []
        let count = table.entrySize == 0 ? 0 : table.size / table.entrySize
        for i in 0..<count {
            let o = Int(table.offset + i * table.entrySize)
            let info = r.u8(o + 4)
            let shndx: UInt16 = r.u16(o + 6)
            let type = info & 0xF
            guard shndx != 0, shndx < 0xFF00 else { continue }  // undefined, ABS, COMMON, reserved
            guard Int(shndx) < sections.count, sections[Int(shndx)].flags & 0x2 != 0 else { continue }  // not loaded (e.g. .gnu.warning)
            let executable = sections[Int(shndx)].flags & 0x4 != 0
            guard type == 1 || type == 2 || type == 10 || (type == 0 && executable) else { continue }
            guard var name = r.cString(in: strings.offset, size: strings.size, at: UInt64(r.u32(o) as UInt32)), !name.isEmpty else { continue }
            // Debug files spell versioned symbols "name@@VERSION": the version is not part of the name.
            if let at = name.firstIndex(of: "@"), at != name.startIndex { name = String(name[..<at]) }
            if name.hasPrefix("$") && (name.count == 2 || name.dropFirst(2).first == ".") { continue }  // $x, $d, $x.123
            out.append(ELFSymbol(name: name, value: r.u64(o + 8), size: r.u64(o + 16), info: info, sectionIndex: shndx, tableIndex: Int(i)))
        }
        return out
    }

    /// End address of section `index`, if it is a real allocated section.
    func sectionEnd(_ index: UInt16) -> UInt64? {
        guard Int(index) < sections.count else { return nil }
        let s = sections[Int(index)]
        return s.flags & 0x2 != 0 ? s.address &+ s.size : nil
    }
}
