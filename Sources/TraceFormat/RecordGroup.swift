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
        p.storeLE(memberWord(payloadLength: payloadLength, kind: kind, timestampDelta: timestampDelta), at: 0)
    }

    /// A member header as the value of its 8 bytes read little-endian (what
    /// `encodeMember` stores).
    @inlinable
    public static func memberWord(payloadLength: Int, kind: RecordKind, timestampDelta: UInt32) -> UInt64 {
        UInt64(UInt16(truncatingIfNeeded: payloadLength)) | UInt64(kind.rawValue) << 16 | UInt64(timestampDelta) << 32
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

    /// Bytes of group payload `checksumAndCount` checksums before it walks the
    /// member headers in them: small enough that the walk finds them in L1.
    public static let scanChunk = 4096

    /// The group's checksum and its member check in one pass over the payload:
    /// extends `state` (the CRC of the group's header bytes) over `payload`
    /// with `crc`, one `scanChunk` at a time, and walks the member headers of
    /// each chunk right after it was checksummed, with `validate`'s fast check
    /// (lengths and kinds), while the chunk is still in L1.
    ///
    /// Why: `_profile-read 64` spent ~17 % of its time in a separate
    /// `validate` walk after the checksum; a 64 KiB group does not fit in L1,
    /// so that walk re-read every member header from L2 as a dependent chain
    /// of loads. Walking each chunk after its checksum saves that second trip.
    ///
    /// - Returns: the extended CRC, and the member count when the fast check
    ///   accepted every member, or nil when it did not (or the group is near
    ///   the 64-bit limits): then `validate` gives the exact answer (and names
    ///   the offending member). The count means nothing unless the CRC
    ///   matches the stored one. O(payload); reads nothing outside `payload`.
    public static func checksumAndCount(_ payload: UnsafeRawBufferPointer, group: RecordHeader, state: UInt32,
                                        crc: CRC32C.Function) -> (crc: UInt32, count: Int?) {
        let n = payload.count
        guard let p = payload.baseAddress, n > 0 else { return (state, nil) }
        // As in validate's fast pass: with this headroom no member's sequence or timestamp can overflow.
        var ok = n % 8 == 0 && group.timestamp <= UInt64.max - UInt64(UInt32.max) && group.sequence <= UInt64.max - UInt64(n / 8)
        var sum = state
        var done = 0
        var walk = MemberWalk()
        while done < n {
            let chunk = min(scanChunk, n &- done)  // done < n: no overflow
            sum = crc(sum, p + done, chunk)
            done &+= chunk
            walk.advance(p, through: done, payloadCount: n, ok: &ok)
        }
        return (sum, ok && walk.at == n && !walk.badKind ? walk.count : nil)
    }

    /// `checksumAndCount`'s walk over the member headers of a group payload,
    /// resumable chunk by chunk: where the next header is, how many were
    /// walked, the last one's offset, and whether a kind was refused.
    struct MemberWalk {
        var at = 0
        var count = 0
        var last = 0
        var badKind = false
        /// The payload length every member walked so far has, or -1 when two differ.
        var uniform = -1

        /// Walks the member headers of the `n`-byte payload at `p` that lie
        /// wholly before `done` (≤ n) with `validate`'s fast check (lengths and
        /// kinds); clears `ok` at a length that does not fit. Reads nothing
        /// outside `[p, p + done)`.
        @inline(__always)
        mutating func advance(_ p: UnsafeRawPointer, through done: Int, payloadCount n: Int, ok: inout Bool) {
            // Member headers that lie wholly in what was checksummed (at + 8 ≤ done ≤ n: in bounds).
            while ok && at <= done &- memberHeaderSize {
                let word: UInt64 = p.loadLE(at)
                let length = Int(word & 0xFFFF)
                let kind = UInt16(truncatingIfNeeded: word >> 16)
                guard length <= n &- at &- memberHeaderSize else { ok = false; break }
                badKind = badKind || (kind == RecordKind.endOfSegment.rawValue) || (kind == RecordKind.recordGroup.rawValue)
                // Only this chained walk sees a length change (the run below stops at one).
                uniform = count == 0 || length == uniform ? length : -1
                // at + footprint ≤ n + 7 (length fits), far from overflow.
                let step = memberFootprint(payloadLength: length)
                last = at
                at &+= step
                count &+= 1
                // Members of the same length as this one lie at a fixed stride: their
                // headers are checked with loads that do not wait for each other (the
                // walk above is a chain: each load's length gives the next address).
                // A run stops at the first other length (the walk above takes it) and
                // where a member of this length would pass the chunk or the payload.
                // Measured (`_profile-read 64`): the chain cost ~2 ns per member from L1.
                // The run's count and last member come from where it ended (fewer
                // instructions per member: `_profile-read 64` spends ~0.8 ns a member here).
                let runEnd = min(done &- memberHeaderSize, n &- memberHeaderSize &- length)  // both ≥ 0: see the guard
                let runStart = at
                var refused = false
                while at <= runEnd {
                    let w: UInt64 = p.loadLE(at)
                    guard Int(w & 0xFFFF) == length else { break }
                    let k = UInt16(truncatingIfNeeded: w >> 16)
                    refused = refused || (k == RecordKind.endOfSegment.rawValue) || (k == RecordKind.recordGroup.rawValue)
                    at &+= step
                }
                if at != runStart {
                    badKind = badKind || refused
                    last = at &- step
                    count &+= (at &- runStart) / step  // step ≥ 8
                }
            }
        }
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
