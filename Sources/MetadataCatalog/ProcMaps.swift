/// One line of `/proc/<pid>/maps`.
public struct ProcMapsLine: Equatable, Sendable {
    /// First address of the mapping.
    public var start: UInt64
    /// One past the last address.
    public var end: UInt64
    /// `rwxp`-style permissions as printed by the kernel.
    public var permissions: String
    /// Offset in the mapped file.
    public var offset: UInt64
    /// The mapped file's path, or nil for anonymous memory.
    public var path: String?

    /// The mapping is executable.
    public var executable: Bool { permissions.contains("x") }

    /// Parses `start-end perms offset dev inode [path]`; nil for anything else.
    public init?(_ line: Substring) {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16), s < e,
              let o = UInt64(fields[2], radix: 16), fields[1].count == 4
        else { return nil }
        start = s
        end = e
        permissions = String(fields[1])
        offset = o
        let rest = fields.count == 6 ? fields[5].trimmingCharacters(in: " ") : ""
        path = rest.isEmpty ? nil : String(rest)
    }

    /// Every parsable line of a maps file.
    public static func parse(_ text: String) -> [ProcMapsLine] {
        text.split(separator: "\n").compactMap { ProcMapsLine($0) }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension ProcMapsLine {
    /// Reads a whole file by `read(2)` until end of file. `/proc` files
    /// report size 0, so readers that trust `st_size` get only a first chunk.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
