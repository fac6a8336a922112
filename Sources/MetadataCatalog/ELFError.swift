/// Why an ELF file could not be read. Every case says what and where.
public enum ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    case notELF
    case unsupportedClass(UInt8)
    case unsupportedByteOrder(UInt8)
    case unsupportedMachine(UInt16)
    case truncated(what: String, offset: UInt64, size: UInt64, fileSize: UInt64)
    case invalid(what: String, value: UInt64)
    case noSymbols

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
