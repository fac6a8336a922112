/// Media-derived text made safe for a terminal and for one line of output.
///
/// A volume name, symbol or marker read from a region is untrusted: raw, an
/// ESC or OSC sequence retitles or clears the terminal and a newline forges
/// a row. `escape` keeps printable text as is and writes everything else
/// visibly: C0 controls and DEL as `\xNN`, C1 controls, line/paragraph
/// separators, bidirectional overrides and U+FFFD (what a decoder left for
/// bytes that were not UTF-8) as `\u{NNNN}`, bytes that are not
/// UTF-8 as `\xNN`, and the backslash itself as `\\`. `VolumeName` accepts
/// that form back, so a printed name can be typed in again.
enum TerminalText {
    static func escape(_ s: String) -> String { escape(bytes: Array(s.utf8)) }

    static func escape(bytes b: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < b.count {
            guard let (scalar, length) = decodeScalar(b, at: i) else {
                out += hex(b[i]); i += 1; continue
            }
            i += length
            let v = scalar.value
            switch v {
            case 0x5C: out += "\\\\"
            case 0..<0x20, 0x7F: out += hex(UInt8(v))
            case 0x80...0x9F, 0xFFFD, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C:
                out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }

    /// One strictly valid UTF-8 scalar at `i` (no overlongs, surrogates or
    /// values above U+10FFFF), with its length; nil if the bytes are not one.
    static func decodeScalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let c = b[i]
        if c < 0x80 { return (Unicode.Scalar(c), 1) }
        let n: Int, minimum: UInt32
        var v: UInt32
        if c & 0xE0 == 0xC0 { n = 1; minimum = 0x80; v = UInt32(c & 0x1F) }
        else if c & 0xF0 == 0xE0 { n = 2; minimum = 0x800; v = UInt32(c & 0x0F) }
        else if c & 0xF8 == 0xF0 { n = 3; minimum = 0x10000; v = UInt32(c & 0x07) }
        else { return nil }
        guard i + n < b.count else { return nil }
        for k in 1...n {
            let d = b[i + k]
            guard d & 0xC0 == 0x80 else { return nil }
            v = v << 6 | UInt32(d & 0x3F)
        }
        guard v >= minimum, let s = Unicode.Scalar(v) else { return nil }
        return (s, n + 1)
    }

    /// The bytes an escaped string stands for (the inverse of `escape`);
    /// nil when an escape is malformed.
    static func unescape(_ s: String) -> [UInt8]? {
        var out = [UInt8]()
        let u = Array(s.unicodeScalars)
        var i = 0
        while i < u.count {
            guard u[i] == "\\", i + 1 < u.count else {
                out += Array(String(u[i]).utf8); i += 1; continue
            }
            switch u[i + 1] {
            case "\\": out.append(0x5C); i += 2
            case "x":
                guard i + 3 < u.count, let byte = UInt8(String(String.UnicodeScalarView(u[(i + 2)...(i + 3)])), radix: 16)
                else { return nil }
                out.append(byte); i += 4
            case "u":
                guard i + 2 < u.count, u[i + 2] == "{", let close = u[(i + 3)...].firstIndex(of: "}"),
                      let v = UInt32(String(String.UnicodeScalarView(u[(i + 3)..<close])), radix: 16),
                      let scalar = Unicode.Scalar(v)
                else { return nil }
                out += Array(String(scalar).utf8); i = close + 1
            default: return nil
            }
        }
        return out
    }
}
