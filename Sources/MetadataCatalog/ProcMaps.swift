/// One line of `/proc/<pid>/maps`.
public struct ProcMapsLine: Equatable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var permissions: String
    public var offset: UInt64
    public var path: String?

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
