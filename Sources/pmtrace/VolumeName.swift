import ArgumentParser
import Foundation

/// A volume name from the command line, checked before the region is
/// touched. The rule (the store's): 1–200 bytes of UTF-8 with no C0 control
/// characters (U+0000–U+001F), no DEL (U+007F) and no C1 controls
/// (U+0080–U+009F). Names beginning with '.' belong to the library's catalog:
/// they may be read (`list --all` shows them) but not created or renamed to.
///
/// The escaped form `list` and `dump` print (`\xNN`, `\u{NNNN}`, `\\`) is
/// accepted back: an existing volume whose stored name holds control
/// characters is addressed by that form (raw control characters in an
/// argument are always refused). Bytes that are not UTF-8 are refused with that reason
/// (also when the shell passes them raw: the raw argument is checked, since
/// Swift would repair it to U+FFFD).
struct VolumeName: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let value: String
    /// The name's exact bytes: for an existing volume given in escaped form
    /// (`\xNN`) these may be bytes that are not UTF-8, which `value` cannot hold.
    let bytes: [UInt8]

    enum Problem: Error, CustomStringConvertible {
        case empty, tooLong(Int), notUTF8, control(UInt32), reserved, badEscape

        var description: String {
            switch self {
            case .empty: return "invalid volume name: empty"
            case .tooLong(let n): return "invalid volume name: \(n) bytes long, at most 200 allowed"
            case .notUTF8: return "invalid volume name: not valid UTF-8"
            case .control(let v): return "invalid volume name: contains the control character U+\(String(format: "%04X", v))"
            case .reserved: return "invalid volume name: names starting with '.' are reserved for the catalog"
            case .badEscape: return "invalid volume name: malformed escape (use \\xNN, \\u{NNNN} or \\\\)"
            }
        }
    }

    init?(argument: String) { try? self.init(checking: argument, forCreate: false) }

    /// For `@Argument(transform:)`: an existing volume's name; the thrown
    /// `Problem` says what is wrong.
    static func existing(_ argument: String) throws -> VolumeName { try VolumeName(checking: argument, forCreate: false) }
    /// For `@Argument(transform:)`: a name for a new volume (no leading '.').
    static func new(_ argument: String) throws -> VolumeName { try VolumeName(checking: argument, forCreate: true) }

    /// Validates `argument`; `forCreate` also refuses reserved names.
    init(checking argument: String, forCreate: Bool) throws(Problem) {
        if Self.rawArgumentIsNotUTF8(argument) { throw .notUTF8 }
        if let c = argument.unicodeScalars.first(where: Self.isControl) { throw .control(c.value) }
        guard let bytes = TerminalText.unescape(argument) else { throw .badEscape }
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= 200 else { throw .tooLong(bytes.count) }
        var i = 0
        while i < bytes.count {
            guard let (scalar, n) = TerminalText.decodeScalar(bytes, at: i) else {
                // An existing name from an older region may hold such bytes (written
                // escaped, \xNN); a new name may not.
                if forCreate { throw .notUTF8 }
                i += 1
                continue
            }
            // An existing name may hold control characters (another writer,
            // a damaged image); written escaped they address it. A new name may not.
            if forCreate && Self.isControl(scalar) { throw .control(scalar.value) }
            i += n
        }
        if forCreate && bytes.first == UInt8(ascii: ".") { throw .reserved }
        value = String(decoding: bytes, as: UTF8.self)
        self.bytes = bytes
    }

    var description: String { TerminalText.escape(bytes: bytes) }

    static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || s.value == 0x7F || (0x80...0x9F).contains(s.value) }

    /// True when the process argument that Swift decoded as `argument` held
    /// bytes that are not UTF-8.
    private static func rawArgumentIsNotUTF8(_ argument: String) -> Bool {
        for i in 0..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw)))
            if String(decoding: bytes, as: UTF8.self) == argument, String(validating: bytes, as: UTF8.self) == nil { return true }
        }
        return false
    }
}

