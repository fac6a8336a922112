import Foundation

/// A region given on the command line: `<path>` or `<path>@<offset>`, the
/// region starting `offset` bytes into the file or device (after a
/// namespace info block, say). The offset is a byte count with an optional
/// binary unit (`2M`, `4096`, `1G`) or hex (`0x200000`); it must be a
/// multiple of the alignment libpmem2 requires (the page size for files).
///
/// The text after the last `@` is an offset only when it parses as one and
/// the text before it names an existing file (or the whole does not): a
/// file whose own name ends in `@2M` is still reachable as `./name@2M@0`.
struct RegionPath {
    let path: String
    let offset: UInt64

    init(_ argument: String) throws {
        guard let at = argument.lastIndex(of: "@") else { (path, offset) = (argument, 0); return }
        let prefix = String(argument[..<at]), suffix = String(argument[argument.index(after: at)...])
        let exists = { (p: String) in FileManager.default.fileExists(atPath: p) }
        guard !prefix.isEmpty, !exists(argument) || exists(prefix), let value = try Self.offset(suffix) else {
            (path, offset) = (argument, 0)
            return
        }
        (path, offset) = (prefix, value)
    }

    /// `text` as an offset; nil when it does not look like one at all.
    static func offset(_ text: String) throws -> UInt64? {
        if text == "0" { return 0 }
        if text.lowercased().hasPrefix("0x") {
            guard let v = UInt64(text.dropFirst(2), radix: 16), v <= UInt64(Int64.max) else {
                throw CLIError("offset \(text): expected hex digits below 0x8000000000000000")
            }
            return v
        }
        if text.hasPrefix("-"), let second = text.dropFirst().first, second.isASCII, second.isNumber {
            throw CLIError("offset \(text): an offset is 0 or more bytes from the start of the file")
        }
        guard let first = text.first, first.isASCII, first.isNumber else { return nil }
        do { return try ByteSize(parsing: text).bytes } catch { throw CLIError("offset \(text): \(error)") }
    }
}
