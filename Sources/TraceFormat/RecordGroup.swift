/// A record group (kind 11, FORMAT.md §7.1, since 1.3): many small records
/// packed under one 32-byte record header and one checksum.
///
/// The group's payload is a sequence of members, each an 8-byte member header
/// (`u16 payloadLength`, `u16 kind`, `u32 timestampDelta`) followed by the
/// member's payload padded to a multiple of 8. Member `i` has the sequence
/// number `group.sequence + i` and the timestamp `group.timestamp +
/// timestampDelta`. Readers hand out the members as ordinary records; the
/// group itself is never returned.
public enum RecordGroup {
    /// Bytes of a member header.
    public static let memberHeaderSize = 8
    /// Largest member payload the encoding can carry (u16 length).
    public static let maxMemberPayload = Int(UInt16.max)

    /// Bytes a member with `payloadLength` bytes takes in a group payload.
    @inlinable
    public static func memberFootprint(payloadLength: Int) -> Int {
        (memberHeaderSize + payloadLength + 7) & ~7
    }

    /// Writes a member header at `p`.
    @inlinable
    public static func encodeMember(into p: UnsafeMutableRawPointer, payloadLength: Int, kind: RecordKind, timestampDelta: UInt32) {
        p.storeLE(UInt64(UInt16(truncatingIfNeeded: payloadLength)) | UInt64(kind.rawValue) << 16 | UInt64(timestampDelta) << 32, at: 0)
    }

    /// One member as decoded from a group payload.
    public struct Member: Equatable, Sendable {
        /// Offset of the member's payload from the start of the group payload.
        public var payloadOffset: Int
        /// Bytes of the member's payload.
        public var payloadLength: Int
        /// The member's record header (kind, sequence, timestamp; flags 0).
        public var header: RecordHeader

        /// A member with the given fields.
        @inlinable
        public init(payloadOffset: Int, payloadLength: Int, header: RecordHeader) {
            self.payloadOffset = payloadOffset
            self.payloadLength = payloadLength
            self.header = header
        }
    }

    /// Checks a whole group payload (FORMAT.md §7.1 *Reading a group*) and
    /// returns the number of members, or the first problem. O(members); reads
    /// nothing outside `payload`.
    public static func validate(_ payload: UnsafeRawBufferPointer, group: RecordHeader) -> Result<Int, GroupDamage> {
        let n = payload.count
        guard n >= memberHeaderSize, n % 8 == 0 else {
            return .failure(GroupDamage(memberOffset: 0, field: "payloadLength (record group)", value: UInt64(n)))
        }
        let p = payload.baseAddress!
        // Fast pass: no sum can overflow when the group's timestamp and sequence
        // leave room for the largest delta and for one member per 8 bytes, so
        // only lengths and kinds are checked, the kinds without a branch. Any
        // problem (or a group near the 64-bit limits) takes the exact pass
        // below, which names the first offending member.
        if group.timestamp <= UInt64.max - UInt64(UInt32.max), group.sequence <= UInt64.max - UInt64(n / 8) {
            var at = 0
            var count = 0
            var badKind = false
            while at < n {
                // n - at ≥ 8 here: at and n are multiples of 8 and at < n.
                let word: UInt64 = p.loadLE(at)
                let length = Int(word & 0xFFFF)
                let kind = UInt16(truncatingIfNeeded: word >> 16)
                guard length <= n &- at &- memberHeaderSize else { break }
                badKind = badKind || (kind == RecordKind.endOfSegment.rawValue) || (kind == RecordKind.recordGroup.rawValue)
                at &+= memberFootprint(payloadLength: length)
                count &+= 1
            }
            if at == n && !badKind { return .success(count) }
        }
        var at = 0
        var count = 0
        while at < n {
            guard n - at >= memberHeaderSize else {
                return .failure(GroupDamage(memberOffset: at, field: "member header (truncated)", value: UInt64(n - at)))
            }
            let word: UInt64 = p.loadLE(at)
            let length = Int(word & 0xFFFF)
            let kind = UInt16(truncatingIfNeeded: word >> 16)
            let delta = word >> 32
            guard length <= n - at - memberHeaderSize else {
                return .failure(GroupDamage(memberOffset: at, field: "member payloadLength", value: UInt64(length)))
            }
            guard kind != RecordKind.endOfSegment.rawValue, kind != RecordKind.recordGroup.rawValue else {
                return .failure(GroupDamage(memberOffset: at, field: "member kind", value: UInt64(kind)))
            }
            guard group.timestamp.addingReportingOverflow(delta).overflow == false else {
                return .failure(GroupDamage(memberOffset: at, field: "member timestampDelta", value: delta))
            }
            guard group.sequence.addingReportingOverflow(UInt64(count)).overflow == false else {
                return .failure(GroupDamage(memberOffset: at, field: "member sequence", value: UInt64(count)))
            }
            at += memberFootprint(payloadLength: length)
            count += 1
        }
        return .success(count)
    }

    /// Decodes the member at `at` of a group payload that `validate` accepted.
    @inlinable
    public static func member(_ payload: UnsafeRawPointer, at: Int, index: Int, group: RecordHeader) -> Member {
        let word: UInt64 = payload.loadLE(at)
        let length = Int(word & 0xFFFF)
        return Member(
            payloadOffset: at + memberHeaderSize, payloadLength: length,
            header: RecordHeader(payloadLength: UInt32(length), kind: RecordKind(rawValue: UInt16(truncatingIfNeeded: word >> 16)),
                                 flags: [], sequence: group.sequence &+ UInt64(index), timestamp: group.timestamp &+ (word >> 32)))
    }
}

/// Where and why a record group's payload is malformed (see `RecordGroup.validate`).
public struct GroupDamage: Error, Equatable, Sendable {
    /// Offset of the offending member header from the start of the group payload.
    public var memberOffset: Int
    /// The field that is out of range.
    public var field: String
    /// The value found.
    public var value: UInt64
}
