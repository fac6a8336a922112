/// Why an ELF file could not be read. Every case says what and where.
public enum ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not start with the ELF magic.
    case notELF
    /// Not ELF64 (the `EI_CLASS` byte).
    case unsupportedClass(UInt8)
    /// Not little-endian (the `EI_DATA` byte).
    case unsupportedByteOrder(UInt8)
    /// A machine other than x86-64 (62) or AArch64 (183).
    case unsupportedMachine(UInt16)
    /// `what` (a header, table or section) at `offset`, `size` bytes long, passes the end of the file.
    case truncated(what: String, offset: UInt64, size: UInt64, fileSize: UInt64)
    /// `what` holds `value`, which no valid file has (an entry size, an index).
    case invalid(what: String, value: UInt64)
    /// Neither `.symtab` nor `.dynsym` holds a function or object symbol.
    case noSymbols

    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .notELF: return "not an ELF file"
        case .unsupportedClass(let c): return c == 1 ? "32-bit ELF is not supported (ELF64 only)" : "unknown ELF class \(c)"
        case .unsupportedByteOrder(let d): return d == 2 ? "big-endian ELF is not supported" : "unknown ELF byte order \(d)"
        case .unsupportedMachine(let m): return "ELF machine \(m) is not supported (x86-64 and AArch64 are)"
        case .truncated(let what, let offset, let size, let fileSize):
            return "truncated ELF: \(what) at offset \(offset) (\(size) bytes) runs past the end of the \(fileSize)-byte file"
        case .invalid(let what, let value): return "invalid ELF \(what): \(value)"
        case .noSymbols: return "no function or object symbols (.symtab and .dynsym are both empty or missing)"
        }
    }
}
