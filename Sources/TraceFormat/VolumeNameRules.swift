/// What is wrong with a volume name (FORMAT.md §4.1).
public enum NameProblem: Equatable, Sendable {
    /// The name has no bytes.
    case empty
    /// The name has `length` bytes; at most `max` are allowed.
    case tooLong(length: Int, max: Int)
    /// The name is not valid UTF-8.
    case notUTF8
    /// The name contains a NUL byte.
    case containsNUL
    /// A control character (C0, DEL or C1) at this byte offset.
    case controlCharacter(offset: Int)
    /// Names beginning with '.' belong to the library's catalog.
    case reserved
}

/// The rules a volume name must follow when it is written (FORMAT.md §4.1):
/// 1...200 bytes of strict UTF-8 with no C0 control (U+0000...U+001F), no DEL
/// (U+007F) and no C1 control (U+0080...U+009F); names beginning with '.' are
/// reserved for the library. Readers accept any bytes; fsck reports names
/// that break the rules. Pure functions; O(name length).
public enum VolumeNameRules {
    /// The first rule `name` breaks, or nil. `allowReserved` admits '.' names
    /// (the catalog's own volumes).
    public static func problem(_ name: [UInt8], allowReserved: Bool = false) -> NameProblem? {
        guard !name.isEmpty else { return .empty }
        guard name.count <= Layout.maxNameLength else { return .tooLong(length: name.count, max: Layout.maxNameLength) }
        if name.contains(0) { return .containsNUL }
        guard isValidUTF8(name) else { return .notUTF8 }
        var i = 0
        while i < name.count {
            let b = name[i]
            if b < 0x20 || b == 0x7F { return .controlCharacter(offset: i) }
            // U+0080...U+009F are encoded C2 80...C2 9F.
            if b == 0xC2, i + 1 < name.count, name[i + 1] >= 0x80, name[i + 1] <= 0x9F { return .controlCharacter(offset: i) }
            i += 1
        }
        if !allowReserved && name[0] == UInt8(ascii: ".") { return .reserved }
        return nil
    }

    /// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
    public static func isValidUTF8(_ b: [UInt8]) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            let n: Int
            let min: UInt32
            var v: UInt32
            if c < 0x80 { i += 1; continue }
            else if c & 0xE0 == 0xC0 { n = 1; min = 0x80; v = UInt32(c & 0x1F) }
            else if c & 0xF0 == 0xE0 { n = 2; min = 0x800; v = UInt32(c & 0x0F) }
            else if c & 0xF8 == 0xF0 { n = 3; min = 0x10000; v = UInt32(c & 0x07) }
            else { return false }
            guard i + n < b.count else { return false }
            for k in 1...n {
                let d = b[i + k]
                guard d & 0xC0 == 0x80 else { return false }
                v = v << 6 | UInt32(d & 0x3F)
            }
            guard v >= min, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return false }
            i += n + 1
        }
        return true
    }
}
