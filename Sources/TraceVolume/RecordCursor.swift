import TraceFormat

/// Steps through the records of one segment between the header and `limit`,
/// validating each before handing it out: the length must stay inside
/// `limit`, the flags must be known and the checksum (FORMAT.md §7) must
/// match. Reads nothing outside `[base, base + limit)`.
///
/// A record group (kind 11, FORMAT.md §7.1) is checked whole — checksum and
/// every member header — before its first member is handed out; its members
/// then come out one by one as ordinary records (`container` says where the
/// group lies), the group itself never does.
///
/// A value type: copying it saves a reading position (readers use that to
/// look ahead for the fragments of a split record).
struct RecordCursor {
    let base: UnsafeRawPointer
    let segment: UInt64
    var limit: Int
    /// The segment header's CRC: the seed of every record checksum in it.
    let seed: UInt32
    let crc: CRC32C.Function
    /// Offset of the next record to read (past the current group, if any).
    var offset = Layout.segmentHeaderSize
    /// Whether the last `next(copyingTo:capacity:copy:)` copied the payload
    /// (false when it did not fit and was checked in place instead).
    var copied = false
    /// Whether the last `next(copyingTo:capacity:copy:)` handed the step to
    /// `next()` because it is a record group or one of its members: `copied`
    /// is then false although the payload may fit, and the caller copies it
    /// out from the reader's verified copy of the group instead.
    var delegated = false
    /// Set by the last `next(copyingTo:capacity:copy:groups:)` that copied a
    /// whole record group out (`groups`): its member count and the offset of
    /// its last member's header in the copy. The copy passed the group's
    /// checksum and member checks; the step returned its first member, and
    /// the cursor stands before the second (the caller consumes the rest).
    var copiedGroup: (count: Int, lastMember: Int, uniformLength: Int?)?
    /// A record that fails its checks at or after this offset is the end of a
    /// torn last commit (FORMAT.md §10.3), not damage: `.torn`. `Int.max`
    /// except in the tail segment of a 1.3 lane, up to its commit offset.
    var tornFrom = Int.max

    /// The on-media record the last `.record` step came from: itself, or the
    /// group holding it (checksum-verified as a whole).
    struct Container {
        /// In-segment offset of the record.
        var offset: Int
        /// Its header.
        var header: RecordHeader
    }
    private(set) var container = Container(offset: 0, header: RecordHeader(payloadLength: 0, kind: .endOfSegment, flags: [], sequence: 0, timestamp: 0))
    /// Members of the current group not handed out yet: next member's offset in the group payload, and its index.
    private var memberAt = 0
    private var memberIndex = 0
    private var inGroup = false

    init(base: UnsafeRawPointer, segment: UInt64, limit: Int, seed: UInt32, crc: CRC32C.Function) {
        self.base = base
        self.segment = segment
        self.limit = limit
        self.seed = seed
        self.crc = crc
    }

    enum Step {
        /// A record (or a member of a group): its header, payload and
        /// in-segment offset (of the record header, or of the member header).
        case record(RecordHeader, payload: UnsafeRawBufferPointer, offset: Int)
        /// An end-of-segment record at `offset`: the writer moved on.
        case endMarker(offset: Int)
        /// `limit` reached.
        case limit
        /// The record at `offset` fails its checks inside the torn-commit
        /// window: the lane's committed records end before it (`limit` is
        /// moved there).
        case torn(offset: Int)
    }

    /// Where the record at the current offset lives, for errors.
    var location: Structure { .record(segment: segment, offset: UInt64(offset)) }

    /// Whether the next step starts at a record header that does not say
    /// "record group" (and is not inside a group): which path
    /// `LaneReader.read(into:)` takes. Routing only: the header is read
    /// again and checked by the step, and nothing is handed out from here.
    var atPlainRecord: Bool {
        guard !inGroup, limit - offset >= Layout.recordHeaderSize else { return false }
        return (base + offset).loadLE(4, as: UInt16.self) != RecordKind.recordGroup.rawValue
    }

    /// Stops here: the rest of the current group is dropped and nothing past
    /// `offset` is read (salvage readers end at the first record they refuse).
    mutating func stop() {
        inGroup = false
        limit = offset
    }

    /// Moves to `at` (an in-segment record offset), leaving any group.
    mutating func move(to at: Int) {
        inGroup = false
        offset = at
    }

    /// The members of the current group not handed out yet: where the next
    /// one's header is in the group payload, and its index. Nil outside a group.
    var pendingMembers: (at: Int, index: Int)? { inGroup ? (memberAt, memberIndex) : nil }

    /// Records that the members before `at` (index `index`) were handed out
    /// by a caller walking the group itself (`LaneReader.forEachRecord`).
    mutating func consumedMembers(upTo at: Int, index: Int) {
        memberAt = at
        memberIndex = index
        if at >= Int(container.header.payloadLength) { inGroup = false }
    }

    mutating func next() throws(FormatError) -> Step {
        do throws(FormatError) {
            return try step()
        } catch {
            guard !inGroup, offset >= tornFrom, offset < limit else { throw error }
            limit = offset
            return .torn(offset: offset)
        }
    }

    private mutating func step() throws(FormatError) -> Step {
        if inGroup {
            let g = base + container.offset + Layout.recordHeaderSize
            let m = RecordGroup.member(g, at: memberAt, index: memberIndex, group: container.header)
            let at = container.offset + Layout.recordHeaderSize + memberAt
            memberAt = m.payloadOffset + ((m.payloadLength + 7) & ~7)
            memberIndex += 1
            if memberAt >= Int(container.header.payloadLength) { inGroup = false }
            return .record(m.header, payload: UnsafeRawBufferPointer(start: g + m.payloadOffset, count: m.payloadLength), offset: at)
        }
        guard limit - offset >= Layout.recordHeaderSize else { return .limit }
        let p = base + offset
        let h = RecordHeader.decodeFields(p)
        let length = Int(h.payloadLength)
        guard length <= limit - offset - Layout.recordHeaderSize else {
            throw .invalidField(location, field: "payloadLength", value: UInt64(length))
        }
        let stored = RecordHeader.storedCRC(p)
        let payload = UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length)
        // A group's member headers are walked in the checksum's pass (RecordGroup.checksumAndCount).
        let scan: (crc: UInt32, count: Int?)
        if h.kind == .recordGroup {
            scan = RecordGroup.checksumAndCount(payload, group: h, state: crc(seed, p, RecordHeader.checksummedHeaderBytes), crc: crc)
        } else {
            scan = (RecordHeader.checksum(seed: seed, header: p, payload: p + Layout.recordHeaderSize, count: length, crc: crc), nil)
        }
        let computed = scan.crc
        guard stored == computed else { throw .checksumMismatch(location, stored: stored, computed: computed) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(location, field: "flags", value: UInt64(h.flags.rawValue))
        }
        if h.kind == .endOfSegment { return .endMarker(offset: offset) }
        let at = offset
        if h.kind == .recordGroup {
            // A group is whole (never split) and checked whole before any member leaves.
            guard h.flags.isEmpty else { throw .invalidField(location, field: "flags (record group)", value: UInt64(h.flags.rawValue)) }
            // The exact walk only when the fast one refused something (it names the member).
            if scan.count == nil, case .failure(let d) = RecordGroup.validate(payload, group: h) {
                throw .invalidField(.record(segment: segment, offset: UInt64(at + Layout.recordHeaderSize + d.memberOffset)),
                                    field: d.field, value: d.value)
            }
            container = Container(offset: at, header: h)
            memberAt = 0
            memberIndex = 0
            inGroup = true
            // limit - offset is a multiple of 8, so the aligned footprint still fits.
            offset += Layout.recordFootprint(payloadLength: length)
            return try step()
        }
        container = Container(offset: at, header: h)
        // limit - offset is a multiple of 8, so the aligned footprint still fits.
        offset += Layout.recordFootprint(payloadLength: length)
        return .record(h, payload: payload, offset: at)
    }

    /// `next()` for a verified copy-out: the header is read once into a local
    /// copy (its fields and the checksum come from the same bytes), and the
    /// payload is copied to `sink` with the checksum computed over the bytes
    /// copied (in one pass with `copy`, else copy then checksum the copy), so
    /// what lands in `sink` is exactly what was verified, whatever a concurrent
    /// writer does meanwhile. A payload longer than `capacity` is checked in
    /// place by `next()` instead and `copied` is false. `sink` may hold
    /// garbage after a throw. The returned payload still points into the segment.
    ///
    /// In the torn-commit window a record that fails its checks ends the
    /// lane's committed records (`.torn`), as in `next()`. Before, the window
    /// was delegated to `next()` and copied again through `RecordView`: a
    /// 16 MiB record, whose last fragment always lies in the window of the
    /// tail segment, was checksummed in place, then copied and checksummed
    /// again (`_profile-bulk-read 16777216`: copy-out 0.30 × a direct read).
    ///
    /// With `groups`, a record group whose payload fits `capacity` is copied
    /// whole to `sink` the same way (`RecordGroup.copyChecksumAndCount`: one
    /// pass, the member headers checked in the copy) and `copiedGroup` says
    /// so; other groups, and all without `groups`, are delegated as before.
    mutating func next(copyingTo sink: UnsafeMutableRawPointer, capacity: Int,
                       copy: StoreOptions.CopyChecksumFunction?, groups: Bool = false) throws(FormatError) -> Step {
        delegated = false
        copiedGroup = nil
        // Group members take the in-place path (which knows them); the caller
        // then copies them through the reader's verified group copy.
        if inGroup {
            copied = false
            delegated = true
            return try next()
        }
        do throws(FormatError) {
            return try copyStep(to: sink, capacity: capacity, copy: copy, groups: groups)
        } catch {
            guard !inGroup, offset >= tornFrom, offset < limit else { throw error }
            copied = false
            limit = offset
            return .torn(offset: offset)
        }
    }

    private mutating func copyStep(to sink: UnsafeMutableRawPointer, capacity: Int,
                                   copy: StoreOptions.CopyChecksumFunction?, groups: Bool) throws(FormatError) -> Step {
        guard limit - offset >= Layout.recordHeaderSize else { return .limit }
        let p = base + offset
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let (h, stored, headerSum) = withUnsafeMutableBytes(of: &words) { local -> (RecordHeader, UInt32, UInt32) in
            local.copyMemory(from: UnsafeRawBufferPointer(start: p, count: Layout.recordHeaderSize))
            let l = UnsafeRawPointer(local.baseAddress!)
            return (RecordHeader.decodeFields(l), RecordHeader.storedCRC(l), crc(seed, l, RecordHeader.checksummedHeaderBytes))
        }
        if h.kind == .recordGroup {
            if groups, let step = try copyGroup(h, stored: stored, headerSum: headerSum, to: sink, capacity: capacity, copy: copy) { return step }
            copied = false
            delegated = true
            return try next()
        }
        let length = Int(h.payloadLength)
        guard length <= limit - offset - Layout.recordHeaderSize else {
            throw .invalidField(location, field: "payloadLength", value: UInt64(length))
        }
        guard length <= capacity else {
            copied = false
            return try next()
        }
        var sum = headerSum
        var done = 0
        if let copy, length > 0 { done = copy(&sum, sink, p + Layout.recordHeaderSize, length) }
        if done < length {
            (sink + done).copyMemory(from: p + Layout.recordHeaderSize + done, byteCount: length - done)
            sum = crc(sum, sink + done, length - done)
        }
        guard stored == sum else { throw .checksumMismatch(location, stored: stored, computed: sum) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(location, field: "flags", value: UInt64(h.flags.rawValue))
        }
        copied = true
        if h.kind == .endOfSegment { return .endMarker(offset: offset) }
        let at = offset
        offset += Layout.recordFootprint(payloadLength: length)
        return .record(h, payload: UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length), offset: at)
    }

    /// The record group `h` at `offset` copied whole to `sink` and checked in
    /// the copy, with the checks and errors of `step()` in its order
    /// (checksum, flags, member headers); returns its first member, or nil
    /// (nothing changed) when the group is left to `next()`: it does not fit
    /// `capacity`, its length passes `limit` (`next()` names that), or it is
    /// near the 64-bit limits, where only `validate`'s exact walk decides.
    private mutating func copyGroup(_ h: RecordHeader, stored: UInt32, headerSum: UInt32, to sink: UnsafeMutableRawPointer, capacity: Int,
                                    copy: StoreOptions.CopyChecksumFunction?) throws(FormatError) -> Step? {
        let length = Int(h.payloadLength)
        guard length <= capacity, length <= limit - offset - Layout.recordHeaderSize else { return nil }
        let p = base + offset
        let scan = RecordGroup.copyChecksumAndCount(UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize, count: length), to: sink,
                                                    group: h, state: headerSum, copy: copy, crc: crc)
        guard stored == scan.crc else { throw .checksumMismatch(location, stored: stored, computed: scan.crc) }
        guard RecordHeader.Flags.known.isSuperset(of: h.flags) else {
            throw .invalidField(location, field: "flags", value: UInt64(h.flags.rawValue))
        }
        guard h.flags.isEmpty else { throw .invalidField(location, field: "flags (record group)", value: UInt64(h.flags.rawValue)) }
        let q = UnsafeRawPointer(sink)
        guard let count = scan.count else {
            if case .failure(let d) = RecordGroup.validate(UnsafeRawBufferPointer(start: q, count: length), group: h) {
                throw .invalidField(.record(segment: segment, offset: UInt64(offset + Layout.recordHeaderSize + d.memberOffset)),
                                    field: d.field, value: d.value)
            }
            return nil
        }
        let at = offset
        container = Container(offset: at, header: h)
        // The first member goes out with this step; the caller consumes the rest.
        let first = RecordGroup.member(q, at: 0, index: 0, group: h)
        memberAt = first.payloadOffset + ((first.payloadLength + 7) & ~7)
        memberIndex = 1
        inGroup = memberAt < length
        // limit - offset is a multiple of 8, so the aligned footprint still fits.
        offset += Layout.recordFootprint(payloadLength: length)
        copied = true
        copiedGroup = (count, scan.lastMember, scan.uniformLength)
        return .record(first.header, payload: UnsafeRawBufferPointer(start: p + Layout.recordHeaderSize + first.payloadOffset, count: first.payloadLength),
                       offset: at + Layout.recordHeaderSize)
    }
}
