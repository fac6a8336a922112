/// The on-media structures, named in errors so a person can find them.
public enum Structure: Equatable, Sendable {
    /// Superblock copy A (0) or B (1).
    case superblock(copy: Int)
    /// Copy 0 or 1 of volume-table slot `slot`.
    case volumeEntry(slot: Int, copy: Int)
    /// The commit word of lane `lane` of the volume in slot `slot`.
    case laneWord(slot: Int, lane: Int)
    /// The header of segment `segment`.
    case segmentHeader(segment: UInt64)
    /// The segment-summary entry of segment `segment` (FORMAT.md §6.1).
    case summaryEntry(segment: UInt64)
    /// The record at byte `offset` of segment `segment`.
    case record(segment: UInt64, offset: UInt64)
    /// The payload of a record of kind `kind`.
    case payload(kind: UInt16)
    /// The payload of the record of kind `kind` with sequence `sequence` in
    /// lane `lane`, which starts at byte `offset` of segment `segment`.
    case recordPayload(kind: UInt16, lane: Int, sequence: UInt64, segment: UInt64, offset: UInt64)
}

extension Structure: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .superblock(let copy): return "superblock copy \(copy == 0 ? "A" : "B")"
        case .volumeEntry(let slot, let copy): return "volume table slot \(slot) copy \(copy == 0 ? "A" : "B")"
        case .laneWord(let slot, let lane): return "commit word of slot \(slot) lane \(lane)"
        case .segmentHeader(let segment): return "header of segment \(segment)"
        case .summaryEntry(let segment): return "segment summary entry of segment \(segment)"
        case .record(let segment, let offset): return "record at segment \(segment) offset \(offset)"
        case .payload(let kind): return "payload of record kind \(kind)"
        case .recordPayload(let kind, let lane, let sequence, let segment, let offset):
            return "payload of record kind \(kind) (lane \(lane), sequence \(sequence), at segment \(segment) offset \(offset))"
        }
    }
}

/// Why bytes read from media (or handed to an encoder) were rejected.
/// Every case names the structure; `offset` is the absolute byte offset in the
/// region where it is known.
public enum FormatError: Error, Equatable, Sendable {
    /// Fewer bytes than the structure needs.
    case truncated(Structure, needed: Int, available: Int)
    /// The magic number is not the expected one.
    case badMagic(Structure, found: UInt64)
    /// The stored CRC32C does not match the bytes.
    case checksumMismatch(Structure, stored: UInt32, computed: UInt32)
    /// A field holds a value outside its allowed range.
    case invalidField(Structure, field: String, value: UInt64)
    /// The format's major version is not one this code reads.
    case unsupportedVersion(major: UInt16, minor: UInt16)
}

extension FormatError {
    /// The structure the error is about (nil for a version mismatch).
    public var structure: Structure? {
        switch self {
        case .truncated(let s, _, _), .badMagic(let s, _), .checksumMismatch(let s, _, _), .invalidField(let s, _, _): return s
        case .unsupportedVersion: return nil
        }
    }

    /// The same error about `structure` instead (a version mismatch is kept
    /// as is): lets a layer that knows where a payload lies name the place.
    public func about(_ structure: Structure) -> FormatError {
        switch self {
        case .truncated(_, let needed, let available): return .truncated(structure, needed: needed, available: available)
        case .badMagic(_, let found): return .badMagic(structure, found: found)
        case .checksumMismatch(_, let stored, let computed): return .checksumMismatch(structure, stored: stored, computed: computed)
        case .invalidField(_, let field, let value): return .invalidField(structure, field: field, value: value)
        case .unsupportedVersion: return self
        }
    }
}

extension FormatError: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .truncated(let s, let needed, let available):
            return "\(s): truncated (needs \(needed) bytes, \(available) available)"
        case .badMagic(let s, let found):
            return "\(s): bad magic 0x\(String(found, radix: 16))"
        case .checksumMismatch(let s, let stored, let computed):
            return "\(s): checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
        case .invalidField(let s, let field, let value):
            return "\(s): invalid \(field) = \(value)"
        case .unsupportedVersion(let major, let minor):
            return "format version \(major).\(minor) is not supported by this build (reads major version \(Layout.versionMajor))"
        }
    }
}
