/// The host's group stream (`StoreOptions.groupStream`): a record group's
/// payload written into the tail segment as its members arrive, straight from
/// the caller's buffer, with the CRC32C computed on the way — instead of
/// staging each member in DRAM and copying the staged bytes out in batches.
///
/// The writer calls `begin` at most once per group, at the place of the
/// first payload byte it streams (8-byte aligned, behind the group's record
/// header and any of the group's bytes that went through the fused copy
/// before a member of `LaneWriter.directMemberMinimum` bytes or more, or a
/// batch, opened the stream), then `member`, `members` and `bytes` in
/// payload order, then `finish`, which writes what is still held back and
/// returns the checksum of the streamed bytes. Every function gets the writer's
/// `stateBytes`-byte, 64-byte-aligned state. Stores are non-temporal, without
/// a fence (durable after the next drain, like the region's copy); nothing is
/// written outside `[start, start + bytes appended)`, nothing read outside
/// the given sources. A host provides it only where it is faster
/// (AVX-512 VPCLMULQDQ: `pmt_group_stream_*` in CCRC32C), and only at
/// cache-line or byte granularity. Thread safety: one thread per state.
public struct GroupStreamFunctions: Sendable {
    /// `begin(state, start)`: a new stream at `start` (8-byte aligned).
    public typealias Begin = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void
    /// `member(state, memberHeaderWord, payload, count)`: appends the member
    /// header (`RecordGroup.encodeMember`'s word), `count` payload bytes and
    /// zeros up to the next multiple of 8.
    public typealias Member = @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafeRawPointer?, Int) -> Void
    /// `members(state, memberHeaderWord, payloads, count, members)`: what
    /// `members` calls of `member` do for that many payloads of `count`
    /// bytes each, back to back from `payloads`, with one header word.
    public typealias Members = @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafeRawPointer?, Int, Int) -> Void
    /// `bytes(state, source, count)`: appends `count` bytes (a multiple of 8).
    public typealias Bytes = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Void
    /// `finish(state)`: writes the rest and returns the CRC32C (from 0) of
    /// every byte appended since `begin`.
    public typealias Finish = @convention(c) (UnsafeMutableRawPointer?) -> UInt32

    /// Bytes of the per-writer state the functions get (64-byte aligned).
    public static let stateBytes = 512

    /// Starts a stream.
    public var begin: Begin
    /// Appends one group member.
    public var member: Member
    /// Appends equal-length members in one call (`LaneWriter.append(batch:recordLength:)`);
    /// nil: the writer calls `member` for each.
    public var members: Members?
    /// Appends members staged elsewhere (whole member encodings).
    public var bytes: Bytes
    /// Ends the stream and returns its checksum.
    public var finish: Finish

    /// The functions (see the type's contract); `members` is optional.
    public init(begin: Begin, member: Member, bytes: Bytes, finish: Finish, members: Members? = nil) {
        self.begin = begin
        self.member = member
        self.members = members
        self.bytes = bytes
        self.finish = finish
    }
}
