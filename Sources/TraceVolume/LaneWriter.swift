import Synchronization
import TraceFormat

/// The single writer of one lane (FORMAT.md §10.3).
///
/// `append` writes a record past the lane's tail with the region's copy
/// function (non-temporal, no fence) and takes no lock. `commit` makes every
/// record appended so far durable: one drain, then one aligned 8-byte store
/// of the new tail into the lane's commit word, then a persist of that word.
/// The writer also commits by itself when a segment fills and every
/// `StoreOptions.commitInterval` bytes.
///
/// Thread safety: one thread at a time per writer (it is `Sendable` so it can
/// be handed to the thread that owns the lane). Writers of different lanes
/// share no state on the append path and can run in parallel.
///
/// Lifetime: the writer retains its store (and through it the mapping), so it
/// may outlive every other reference to the pool; `close()` or `deinit`
/// commits.
public final class LaneWriter: @unchecked Sendable {
    // SAFETY: all mutable state is used by one thread at a time (the
    // contract above); the shared bits — the commit word and the store's
    // allocator — are accessed atomically / under the store lock.

    /// The volume's name.
    public let volume: String
    /// The lane written.
    public let lane: Int
    let store: TraceStore
    let slot: Int
    let uid: UInt64
    let ring: Bool
    let region: PersistentRegion
    let media: MediaView
    let crc: CRC32C.Function
    let copyWithChecksum: StoreOptions.CopyChecksumFunction?
    let word: UnsafeMutablePointer<UInt64Atomic>
    let segmentSize: Int
    /// Largest payload one record can carry without splitting (segment size − 96).
    public let maxFragment: Int
    let commitInterval: Int
    /// The store's clock (`StoreOptions.clock`), for appends without a timestamp.
    @usableFromInline let clock: @convention(c) () -> UInt64

    @exclusivity(unchecked) var segment: UInt64 = Layout.noSegment
    @exclusivity(unchecked) var segmentBase: UnsafeMutableRawPointer?
    @exclusivity(unchecked) var segmentSequence: UInt64 = 0
    @exclusivity(unchecked) var seed: UInt32 = 0
    @exclusivity(unchecked) var offset: Int = 0
    @exclusivity(unchecked) var dirtyStart: Int = 0
    /// Sequence number the next appended record gets (records count from 0;
    /// a record abandoned by a crash keeps its number, so a gap can follow it).
    public var nextSequence: UInt64 { _nextSequence }
    @inlinable var _nextSequence: UInt64 {
        @inline(__always) get { hot.pointee.nextSequence &+ (hot.pointee.staged >> 24 & 0xFFFF) }
        @inline(__always) set { settle(); hot.pointee.nextSequence = newValue }
    }
    /// `nextSequence` when the writer was made: what `appendedRecords` counts from
    /// (every append takes exactly the next number, fragments included).
    @exclusivity(unchecked) var firstSequence: UInt64 = 0
    /// The fields every small append touches, on a cache line of their own
    /// (`AppendState`); the properties below forward to it.
    @usableFromInline let hot: UnsafeMutablePointer<AppendState>
    @exclusivity(unchecked) var committedSegment: UInt64 = Layout.noSegment
    @exclusivity(unchecked) var committedOffset: Int = 0
    @exclusivity(unchecked) var sinceCommit: Int = 0
    @exclusivity(unchecked) var closed = false

    /// Small records waiting to go out as one record group (FORMAT.md §7.1),
    /// in DRAM: nil when the writer does not group (regions older than 1.3,
    /// or `StoreOptions.recordGroupBytes` 0). It holds only the members not
    /// yet streamed into the segment (`streamChunk`), so it stays in L1.
    @usableFromInline let group: UnsafeMutableRawPointer?
    /// Largest group payload (`StoreOptions.recordGroupBytes`, at most a fragment).
    let groupCapacity: Int
    /// Group payload bytes in `group` (not yet streamed), and members in the group.
    /// (The counters here and in `_nextSequence` and `_appendedBytes` include
    /// what the fast path left pending in `AppendState.staged`; their setters
    /// settle it first.)
    @inlinable var groupStaged: Int {
        @inline(__always) get { Int(truncatingIfNeeded: hot.pointee.staged & 0xFF_FFFF) }
        @inline(__always) set {
            precondition(newValue >= 0 && newValue < 1 << 24, "staged group bytes out of range")
            settle()
            hot.pointee.staged = UInt64(truncatingIfNeeded: newValue)
        }
    }
    @inlinable var groupCount: Int {
        @inline(__always) get { hot.pointee.groupCount &+ Int(truncatingIfNeeded: hot.pointee.staged >> 24 & 0xFFFF) }
        @inline(__always) set { settle(); hot.pointee.groupCount = newValue }
    }
    /// Moves what the fast path left pending in `AppendState.staged` (members
    /// and payload bytes) into the counters. O(1).
    @inlinable @inline(__always)
    func settle() {
        let word = hot.pointee.staged
        guard word >> 24 != 0 else { return }
        let members = word >> 24 & 0xFFFF
        hot.pointee.groupCount &+= Int(truncatingIfNeeded: members)
        hot.pointee.nextSequence &+= members
        hot.pointee.appendedBytes &+= word >> 40
        hot.pointee.staged = word & 0xFF_FFFF
    }
    /// Group payload bytes already copied into the segment behind the group's
    /// header (written at the close), and their CRC32C from 0, which the close
    /// joins with the header's (`CRC32C.combine`).
    @inlinable var groupStreamed: Int {
        @inline(__always) get { hot.pointee.groupStreamed }
        @inline(__always) set { hot.pointee.groupStreamed = newValue }
    }
    @exclusivity(unchecked) var groupStreamCRC: UInt32 = 0
    /// The host's group stream (`StoreOptions.groupStream`; nil without one,
    /// without grouping or at page granularity), its state and, for the
    /// inlined fast path, its member function.
    let groupStream: GroupStreamFunctions?
    @usableFromInline let streamState: UnsafeMutableRawPointer?
    @usableFromInline let streamMember: GroupStreamFunctions.Member?
    /// The stream's batch member function, if it has one (`append(batch:)`).
    let streamMembers: GroupStreamFunctions.Members?
    /// The open group's stream has begun: its first bytes are in the segment
    /// (or held in `streamState`) and `finish` gives their checksum.
    @exclusivity(unchecked) var streamOpen = false
    /// Bytes of the open group that went into the segment through the fused
    /// copy before its stream opened (`openStream`); 0 without a stream.
    @exclusivity(unchecked) var preStreamed = 0
    /// Footprint bytes members may still be streamed straight into the
    /// segment on the inlined fast path: within `groupRoom` and below the
    /// commit interval. 0 unless the stream is open and nothing is staged.
    @inlinable var directFastRoom: Int {
        @inline(__always) get { hot.pointee.directFastRoom }
        @inline(__always) set { hot.pointee.directFastRoom = newValue }
    }
    /// Members with payloads of at least this many bytes go straight from
    /// the caller's buffer into the segment when there is a group stream;
    /// smaller ones are staged. Measured since the staging buffer is one page
    /// (`streamChunk`; before, a page-crossing store per batch made staging
    /// look slow and the threshold was 128): `Benchmarks _profile-append
    /// <size> 268435456 524288`, three rounds of three passes alternating,
    /// median ms for 256 MiB straight vs staged: 24.0 vs 16.0 at 128 B, 16.9
    /// vs 12.7 at 256 B, 13.3 vs 12.1 at 512 B, 12.6 vs 12.3 at 768 B, 11.8 vs
    /// 14.1 at 1 KiB. (`append(batch:)` has no call per member and streams
    /// from `batchDirectMinimum` on.)
    @inlinable static var directMemberMinimum: Int { 768 }
    /// The last streamed group's length and its `CRC32C.shift` (full groups
    /// repeat their length: the shift costs ~13 multiplications, the join one).
    @exclusivity(unchecked) var shiftLength = -1
    @exclusivity(unchecked) var shiftOperator: UInt32 = 0
    /// Staged member bytes stay below this: the member that would reach it
    /// first streams what is staged into the segment (non-temporal stores,
    /// checksummed on the way), behind the group's header that the close
    /// writes. Measured (`Benchmarks _profile-append`, with the inlined fast
    /// path): staging a whole 64 KiB group in a buffer larger than L1 and
    /// copying it out at the close left the memory idle while members were
    /// staged and the core idle while the group drained; batches of a few KiB
    /// overlap the two. It is one page, and `group` starts a page, so no
    /// store into the staging buffer ever crosses a page: one such store per
    /// batch (the buffer used to be 64-byte aligned and to run past the
    /// batch by a member) made the members behind each non-temporal burst
    /// wait for it to drain — in a C model of the staged path, 64-byte
    /// members at 0.43–0.62 of the NT copy loop with the live bytes across
    /// a page boundary and 0.57–0.95, mostly 0.83–0.93, within one page
    /// (JOURNAL.md, s27).
    /// A group of at most this many bytes (so every lone member) is written
    /// from DRAM in one piece.
    @usableFromInline static let streamChunk = 4096
    /// Largest group payload that still fits the tail segment (set when a group starts).
    @exclusivity(unchecked) var groupRoom = 0
    /// Sequence and timestamp of the group's first member.
    @exclusivity(unchecked) var groupSequence: UInt64 = 0
    @inlinable var groupTimestamp: UInt64 {
        @inline(__always) get { hot.pointee.groupTimestamp }
        @inline(__always) set { hot.pointee.groupTimestamp = newValue }
    }
    /// Largest `groupStaged` a member may bring the open group to on the
    /// inlined fast path (`joinGroup`): below `streamChunk`, within
    /// `groupRoom` and below the commit interval, counting what was streamed.
    /// 0 while no group is open (so also without grouping and after `close`),
    /// which sends every append to the checked path.
    @inlinable var groupFastRoom: Int {
        @inline(__always) get { hot.pointee.groupFastRoom }
        @inline(__always) set { hot.pointee.groupFastRoom = newValue }
    }
    /// Records with payloads up to this many bytes are grouped.
    @inlinable static var groupMemberLimit: Int { 1024 }
    /// The region is 1.4 or later: readers know the checked torn-commit
    /// window, so a small commit may take one fence (FORMAT.md §10.3).
    let oneFenceCommits: Bool
    /// The minor version of the region: which commit-window word it keeps
    /// (none before 1.3, the 1.3 unchecked word, the 1.4 checked word).
    let windowMinor: UInt16
    /// The tail segment was opened by this writer, so nothing of its current
    /// life lies past `offset` that a concurrent reader could take for a
    /// record (a resumed tail may hold uncommitted records of a crashed writer).
    @exclusivity(unchecked) var tailIsOwn = false
    /// Records (pieces) written to the mapping since the last commit.
    @exclusivity(unchecked) var piecesSinceCommit = 0

    /// Records of at least this many bytes that do not fit the rest of the
    /// tail segment are split there rather than moved whole to the next one,
    /// so at most this much space is left unused per segment.
    static let splitThreshold = 4096
    /// Records whose footprint is at most this many bytes are assembled in a
    /// stack buffer and copied with one call (one flush per line).
    static let smallRecordLimit = 256
    /// Payloads of at least this many bytes are offered to the one-pass
    /// checksum + copy (`StoreOptions.copyWithChecksum`), which takes what it
    /// can do fast and returns at once otherwise: every record that is not
    /// assembled on the stack (`smallRecordLimit`).
    static let fusedCopyThreshold = smallRecordLimit - Layout.recordHeaderSize + 1

    /// Records appended through this writer (fragments of one record count once).
    /// O(1).
    public var appendedRecords: UInt64 { _nextSequence &- firstSequence }
    /// Payload bytes appended through this writer. O(1).
    public var appendedBytes: UInt64 { _appendedBytes }
    @inlinable var _appendedBytes: UInt64 {
        @inline(__always) get { hot.pointee.appendedBytes &+ hot.pointee.staged >> 40 }
        @inline(__always) set { settle(); hot.pointee.appendedBytes = newValue }
    }

    /// True once a commit found the region's stores lost (see `commit()`):
    /// nothing appended since the lane's last good commit is published, now or
    /// later, and an append that needs a new segment throws `.storesLost`.
    /// Read it after `commit()` to know whether the commit happened.
    public private(set) var storesLost = false

    init(store: TraceStore, volume: String, slot: Int, lane: Int, entry: VolumeEntry, chain: [UInt64]) throws(TraceError) {
        hot = AppendState.allocate()
        self.store = store
        self.volume = volume
        self.slot = slot
        self.lane = lane
        uid = entry.uid
        ring = entry.flags.contains(.ring)
        region = store.region
        media = store.media
        crc = store.options.crc32c
        copyWithChecksum = region.granularity == .page ? nil : store.options.copyWithChecksum
        segmentSize = store.segmentSize
        maxFragment = Layout.maxFragmentPayload(segmentSize: store.superblock.segmentSize)
        commitInterval = store.options.commitInterval
        clock = store.options.clock
        word = media.commitWord(slot: slot, lane: lane)
        // One-fence commits only with the checked window word of 1.4 (FORMAT.md
        // §10.3): a writer in a 1.3 region commits with two fences and keeps
        // that region's window word naming no window.
        oneFenceCommits = store.superblock.versionMinor >= 4 && region.granularity != .page
        windowMinor = store.superblock.versionMinor
        let groupBytes = store.options.recordGroupBytes
        if store.superblock.versionMinor >= 3 && groupBytes >= 2 * RecordGroup.memberFootprint(payloadLength: Self.groupMemberLimit) {
            groupCapacity = min(groupBytes, Layout.maxFragmentPayload(segmentSize: store.superblock.segmentSize))
            // Staged bytes stay below streamChunk (appendMember streams before a member that
            // would pass it), and the buffer starts a page: no store into it crosses a page.
            group = UnsafeMutableRawPointer.allocate(byteCount: min(groupCapacity, Self.streamChunk), alignment: Self.streamChunk)
        } else {
            groupCapacity = 0
            group = nil
        }
        if group != nil, region.granularity != .page, let stream = store.options.groupStream {
            groupStream = stream
            streamState = UnsafeMutableRawPointer.allocate(byteCount: GroupStreamFunctions.stateBytes, alignment: 64)
            streamMember = stream.member
            streamMembers = stream.members
        } else {
            groupStream = nil
            streamState = nil
            streamMember = nil
            streamMembers = nil
        }
        guard let tail = chain.last else { return }
        // Resume after the last committed record of the tail segment.
        guard let committed = CommitWord(rawValue: media.loadCommitWord(slot: slot, lane: lane)), committed.segment == tail else {
            throw .laneDamaged(volume: volume, lane: lane, .invalidField(.laneWord(slot: slot, lane: lane), field: "segment", value: tail))
        }
        let header: (header: SegmentHeader, crc: UInt32)
        do throws(FormatError) { header = try media.segmentHeader(tail) } catch {
            throw .laneDamaged(volume: volume, lane: lane, error)
        }
        segment = tail
        segmentBase = media.segmentBase(tail)
        segmentSequence = header.header.sequence
        seed = header.crc
        offset = Int(committed.offset)
        dirtyStart = offset
        committedSegment = tail
        committedOffset = offset
        var cursor = media.records(in: tail, seed: seed, limit: offset)
        cursor.tornFrom = media.commitWindow(slot: slot, lane: lane, tail: tail, seed: seed, tailOffset: offset).tornFrom
        var next = header.header.firstRecordSequence
        scan: while true {
            let step: RecordCursor.Step
            do throws(FormatError) { step = try cursor.next() } catch { throw .laneDamaged(volume: volume, lane: lane, error) }
            switch step {
            case .record(let h, _, _): next = h.sequence &+ 1
            case .endMarker(let at):
                // Committed data never continues past an end marker (FORMAT.md §7).
                throw .laneDamaged(volume: volume, lane: lane, .invalidField(
                    .record(segment: tail, offset: UInt64(at)), field: "kind (end-of-segment marker inside committed data)", value: 0))
            case .limit: break scan
            case .torn(let at):
                // The last commit was cut by a crash (FORMAT.md §10.3): continue where its records end.
                offset = at
                dirtyStart = at
                committedOffset = at
                break scan
            }
        }
        _nextSequence = next
        firstSequence = next
    }

    deinit {
        close()
        group?.deallocate()
        streamState?.deallocate()
        hot.deallocate()
    }

    /// Commits and releases the lane. Idempotent; also done by `deinit`.
    public func close() {
        guard !closed else { return }
        commit()
        closed = true
        store.writerClosed(slot: slot, lane: lane)
    }

    /// Appends one record. Not durable until the next `commit` (explicit or
    /// automatic). A payload of 4 KiB or more that does not fit the rest of the
    /// segment (and any payload larger than a segment) is split into fragments
    /// that readers join again; a reader never returns part of a record.
    ///
    /// Records of up to 1 KiB are staged in DRAM and written together as one
    /// record group (FORMAT.md §7.1) at the next commit, when the group is
    /// full, or before a larger record; readers see them as ordinary records.
    /// Until then no reader can see them (a salvage read after a crash cannot
    /// find them either; committed records are unaffected): members go into
    /// the segment in batches of 4 KiB behind the group's header, which the
    /// group's close writes last — with a group stream (`StoreOptions.groupStream`),
    /// members of 768 bytes or more go in one by one as they are appended.
    ///
    /// Cost: one CRC pass and one copy of the payload (a small record: one
    /// copy to an L1-sized DRAM buffer, inlined into the caller when it joins
    /// an open group, and its share of the group's CRC and copy; with a group
    /// stream, a member of 768 bytes or more: one call that copies and
    /// checksums it into the segment in one pass); no lock, no fence except
    /// when a segment fills. Thread safety: one thread per writer.
    ///
    /// - Parameter payload: the record's bytes (copied; any length up to the
    ///   region's free space).
    /// - Parameter kind: what the payload holds; reserved kinds are refused.
    /// - Parameter timestamp: nanoseconds; defaults to the store's clock.
    ///   Keep it non-decreasing within a lane for merged reads and seeks.
    /// - Parameter contiguous: never split this record unless it is larger
    ///   than a segment, so readers get it as one in-place buffer (used for
    ///   objects that are binary-searched in place, like symbol chunks).
    /// - Throws: `.regionFull` when no segment is free (ring volumes reclaim
    ///   their oldest segment instead); `.recordLargerThanRing` when a ring
    ///   lane would have to reclaim the record's own first segment. Nothing of
    ///   the record is committed then.
    @inlinable @inline(__always)
    public func append(
        _ payload: UnsafeRawBufferPointer, kind: RecordKind = .blob, timestamp: UInt64? = nil, contiguous: Bool = false
    ) throws(TraceError) {
        let ts = timestamp ?? clock()
        if joinGroup(payload, kind: kind, timestamp: ts) { return }
        try appendChecked(payload, kind: kind, timestamp: ts, contiguous: contiguous)
    }

    /// The fast path of `append`, inlined into the caller: a small record
    /// joins the open group when the group's checks already cover it, and
    /// nothing else happens. Every check of the full path that can fail is
    /// here, folded into three comparisons: the member fits the room the
    /// group took from the tail segment and stays below the commit interval
    /// (`groupFastRoom`, 0 while no group is open, so also after `close`),
    /// its timestamp is at or after the group's first member's and the delta
    /// fits the member's u32 (`memberDelta`), and the kind may be appended.
    /// Returns false, having changed nothing, when any of them does not hold.
    /// O(payload), no call (a staged payload of up to 128 bytes is copied
    /// inline, `copyMemberPayload`) except the group stream's for larger members.
    @inlinable @inline(__always)
    func joinGroup(_ payload: UnsafeRawBufferPointer, kind: RecordKind, timestamp ts: UInt64) -> Bool {
        let n = payload.count
        guard n <= Self.groupMemberLimit else { return false }
        let footprint = (RecordGroup.memberHeaderSize &+ n &+ 7) & ~7  // RecordGroup.memberFootprint
        if n >= Self.directMemberMinimum, let state = streamState {
            // Straight into the segment behind what is streamed (nothing is staged).
            let delta = Self.memberDelta(ts, groupTimestamp)
            guard groupStaged == 0, footprint <= directFastRoom, delta <= UInt64(UInt32.max), kind.isAppendable,
                  let put = streamMember else { return false }
            put(state, RecordGroup.memberWord(payloadLength: n, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: delta)),
                payload.baseAddress, n)
            let room = directFastRoom &- footprint
            directFastRoom = room
            groupFastRoom = min(Self.streamChunk &- 1, room)
            groupStreamed &+= footprint
            groupCount &+= 1
            _nextSequence &+= 1
            _appendedBytes &+= UInt64(truncatingIfNeeded: n)
            return true
        }
        // Every field this path reads, read before its stores into the staging buffer (which
        // the optimizer cannot tell apart from the state's line, so it would reload them after).
        let state = hot
        let word = state.pointee.staged
        let used = Int(truncatingIfNeeded: word & 0xFF_FFFF)
        let delta = Self.memberDelta(ts, state.pointee.groupTimestamp)
        guard used &+ footprint <= state.pointee.groupFastRoom, delta <= UInt64(UInt32.max), kind.isAppendable,
              let g = group else { return false }
        let p = g + used
        if n & 7 != 0 { p.storeLE(UInt64(0), at: footprint &- 8) }  // padding is written as zero
        RecordGroup.encodeMember(into: p, payloadLength: n, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: delta))
        if let b = payload.baseAddress { (p + RecordGroup.memberHeaderSize).copyMemberPayload(from: b, count: n) }
        // One store for the staged bytes, the member and its payload bytes (`AppendState.staged`):
        // the staged bytes stay below `streamChunk`, the pending counts far inside their fields.
        state.pointee.staged = word &+ AppendState.stagedMember(footprint: footprint, payload: n)
        return true
    }

    /// A member's timestamp delta from its group's first member, or
    /// `UInt64.max` when `ts` lies before `groupTimestamp` — which then fails
    /// every fast path's `delta <= UInt32.max` check, as a step back must
    /// (the checked path closes the group). A wrapping subtraction alone let
    /// a timestamp just past 2^64 join a group started near 2^64 with a small
    /// delta, and the reader rightly refused the member whose time overflows
    /// (adversary s27: the whole group unreadable after its commit returned).
    @inlinable @inline(__always)
    static func memberDelta(_ ts: UInt64, _ groupTimestamp: UInt64) -> UInt64 {
        let (delta, before) = ts.subtractingReportingOverflow(groupTimestamp)
        return before ? .max : delta
    }

    /// `append` for everything the fast path does not take: checks the writer
    /// and the kind, starts or closes groups, writes larger records.
    @usableFromInline
    func appendChecked(
        _ payload: UnsafeRawBufferPointer, kind: RecordKind, timestamp ts: UInt64, contiguous: Bool
    ) throws(TraceError) {
        precondition(!closed, "append after close")
        guard kind.isAppendable else { throw .reservedKind(kind.rawValue) }
        if let g = group, payload.count <= Self.groupMemberLimit {
            try appendMember(g, payload, kind: kind, timestamp: ts)
            return
        }
        flushGroup()
        let sequence = nextSequence
        let fits = segmentBase != nil && offset + Layout.recordFootprint(payloadLength: payload.count) <= segmentSize
        if fits || payload.count < Self.splitThreshold || (contiguous && payload.count <= maxFragment) {
            // Whole: it fits, or it is small enough that moving to a fresh
            // segment wastes less than `splitThreshold` bytes.
            if !fits { try switchSegment(timestamp: ts) }
            writeRecord(RecordHeader(payloadLength: UInt32(payload.count), kind: kind, flags: [], sequence: sequence, timestamp: ts), payload)
        } else {
            // Fragments: fill the rest of this segment, continue in the next.
            var rest = payload
            var flags: RecordHeader.Flags = []
            var first: UInt64? = nil  // the segment of the first fragment, which a ring must not reclaim
            while !rest.isEmpty {
                // Start a fresh segment rather than write a sliver.
                if segmentBase == nil || segmentSize - offset < Layout.recordHeaderSize + Self.splitThreshold {
                    // The fragments written so far are an abandoned record (FORMAT.md §7). The error
                    // comes back as a value: rethrowing the binding of a typed `catch` after an
                    // `if case` on it handed out a freed payload in a debug build (a .storesLost's
                    // volume name read as garbage), and the same pattern crashed the compiler's
                    // ownership verifier in a test.
                    if let error = switchSegmentError(timestamp: ts, protecting: first) {
                        if case .recordLargerThanRing = error { throw .recordLargerThanRing(volume: volume, lane: lane, bytes: payload.count) }
                        throw error
                    }
                }
                if first == nil { first = segment }
                let n = min(rest.count, segmentSize - offset - Layout.recordHeaderSize)
                if n < rest.count { flags.insert(.hasMore) } else { flags.remove(.hasMore) }
                writeRecord(RecordHeader(payloadLength: UInt32(n), kind: kind, flags: flags, sequence: sequence, timestamp: ts),
                            UnsafeRawBufferPointer(rebasing: rest.prefix(n)))
                rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(n))
                flags.insert(.continuation)
            }
        }
        _nextSequence = sequence &+ 1
        _appendedBytes &+= UInt64(payload.count)
        if commitInterval > 0 && sinceCommit >= commitInterval { commit() }
        _checkInvariants()
    }

    /// Appends `bytes` as one record (see `append(_:kind:timestamp:)`).
    public func append(bytes: [UInt8], kind: RecordKind = .blob, timestamp: UInt64? = nil, contiguous: Bool = false) throws(TraceError) {
        let result = bytes.withUnsafeBytes { b in
            Result { () throws(TraceError) in try append(b, kind: kind, timestamp: timestamp, contiguous: contiguous) }
        }
        try result.get()
    }

    /// Writes header + payload at the tail. Caller made sure it fits.
    @inline(__always)
    func writeRecord(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer) {
        let destination = segmentBase! + offset
        let footprint = Layout.recordFootprint(payloadLength: payload.count)
        if footprint <= Self.smallRecordLimit {
            // Small record: assemble header, payload and padding, one copy.
            withUnsafeTemporaryAllocation(byteCount: Self.smallRecordLimit, alignment: 8) { buf in
                let p = buf.baseAddress!
                p.storeLE(UInt64(0), at: footprint - 8)  // the padding (unspecified bytes, FORMAT.md §7): zero
                header.encodeFields(into: p)
                if let b = payload.baseAddress { (p + Layout.recordHeaderSize).copyMemory(from: b, byteCount: payload.count) }
                let sum = RecordHeader.checksum(seed: seed, header: p, payload: p + Layout.recordHeaderSize, count: payload.count, crc: crc)
                p.storeLE(sum, at: RecordHeader.checksummedHeaderBytes)
                // Whole words through the fused copy's non-temporal stores where there is one,
                // like every larger record: the region's copy stores small sizes through the
                // cache and flushes the lines, and the next record's store into the line this
                // one ends in (flushed, so evicted) read the line back from memory first —
                // measured: most of a 64-byte commit-per-record append (`_profile-append-each`).
                var done = 0
                if let fused = copyWithChecksum {
                    var unused: UInt32 = 0
                    done = fused(&unused, destination, p, footprint)
                }
                if done < footprint { _ = region.copy(destination + done, p + done, footprint - done, region.appendCopyFlags) }
            }
        } else {
            withUnsafeTemporaryAllocation(byteCount: Layout.recordHeaderSize, alignment: 8) { buf in
                let p = buf.baseAddress!
                header.encodeFields(into: p)
                // The checksum rule of RecordHeader.checksum, split around the fused copy.
                var sum = crc(seed, p, RecordHeader.checksummedHeaderBytes)
                let payloadDestination = destination + Layout.recordHeaderSize
                var done = 0
                if let fused = copyWithChecksum, payload.count >= Self.fusedCopyThreshold {
                    // One pass: checksum and non-temporal copy of the bulk, the usual way for the rest.
                    done = fused(&sum, payloadDestination, payload.baseAddress, payload.count)
                }
                sum = crc(sum, payload.baseAddress.map { $0 + done }, payload.count - done)
                p.storeLE(sum, at: RecordHeader.checksummedHeaderBytes)
                if done < payload.count {
                    _ = region.copy(payloadDestination + done, payload.baseAddress! + done, payload.count - done, region.appendCopyFlags)
                }
                writeHeader(p, to: destination)
            }
        }
        offset += footprint
        sinceCommit += footprint
        piecesSinceCommit += 1
    }

    /// Copies a record header built at `p` to `destination` in the segment
    /// through the fused non-temporal copy when there is one (a cached store
    /// into a line the payload's streaming stores share would read the line
    /// back from memory first), the region's copy for what it leaves. No fence.
    @inline(__always)
    func writeHeader(_ p: UnsafeRawPointer, to destination: UnsafeMutableRawPointer) {
        var done = 0
        if let fused = copyWithChecksum {
            var unused: UInt32 = 0
            done = fused(&unused, destination, p, Layout.recordHeaderSize)
        }
        if done < Layout.recordHeaderSize {
            _ = region.copy(destination + done, p + done, Layout.recordHeaderSize - done, region.appendCopyFlags)
        }
    }

    /// `switchSegment`'s error as a value (nil when it succeeded).
    func switchSegmentError(timestamp: UInt64, protecting: UInt64?) -> TraceError? {
        do throws(TraceError) {
            try switchSegment(timestamp: timestamp, protecting: protecting)
            return nil
        } catch {
            return error
        }
    }

    /// Moves the tail to a new segment: allocate, close the old segment with
    /// an end record, write the new header, commit.
    func switchSegment(timestamp: UInt64, protecting: UInt64? = nil) throws(TraceError) {
        // No segment for a lane that can no longer commit: it would stay allocated and unreachable.
        if storesLost || region.storesLost {
            storesLost = true
            throw .storesLost(volume: volume, lane: lane)
        }
        let next = try store.allocateSegment(slot: slot, lane: lane, ring: ring, protecting: protecting)
        if segmentBase != nil {
            if segmentSize - offset >= Layout.recordHeaderSize {
                writeRecord(RecordHeader(payloadLength: 0, kind: .endOfSegment, flags: [], sequence: nextSequence, timestamp: timestamp),
                            UnsafeRawBufferPointer(start: nil, count: 0))
            }
            if region.granularity == .page { region.persist(segmentBase! + dirtyStart, offset - dirtyStart) }
        }
        let header = SegmentHeader(
            lane: UInt32(lane), volumeUID: uid, sequence: segmentBase == nil ? 0 : segmentSequence &+ 1,
            previous: segment, firstRecordSequence: nextSequence, firstTimestamp: timestamp, index: next)
        let base = media.segmentBase(next)
        withUnsafeTemporaryAllocation(byteCount: Layout.segmentHeaderSize, alignment: 8) { buf in
            seed = header.encode(into: buf.baseAddress!)
            _ = region.copy(base, buf.baseAddress!, Layout.segmentHeaderSize, region.appendCopyFlags)
            if media.hasSummary {
                // The summary entry, made durable by the same commit as the header (FORMAT.md §6.1).
                let entry = media.summaryEntryPointer(next)
                SummaryEntry(header).encode(into: buf.baseAddress!, index: next)
                _ = region.copy(entry, buf.baseAddress!, Layout.summaryEntrySize, region.appendCopyFlags)
                if region.granularity == .page { region.persist(entry, Layout.summaryEntrySize) }
            }
        }
        segment = next
        segmentBase = base
        segmentSequence = header.sequence
        offset = Layout.segmentHeaderSize
        dirtyStart = 0
        commit()
        tailIsOwn = true
    }

    /// Makes every record appended so far durable and visible to readers.
    /// Durable on return. O(1) at byte/cache-line granularity (one fence when
    /// the commit covers at most `Layout.tornCommitWindow` bytes of a tail
    /// segment this writer opened, two otherwise); at page granularity it
    /// writes back the pages touched since the last commit.
    ///
    /// Once the region reports a lost store (`PersistentRegion.storesLost`:
    /// a bus error replaced a page the file could not back, or a hosted
    /// page-granularity mapping found its file cut short), nothing more
    /// is published: the commit word keeps the last commit before the loss,
    /// so it never covers bytes that did not reach media, and `storesLost`
    /// turns true. Appends still return normally; nothing after the last good
    /// commit will be durable.
    public func commit() {
        flushGroup()
        guard segmentBase != nil, segment != committedSegment || offset != committedOffset else { return }
        if region.granularity == .page {
            region.persist(segmentBase! + dirtyStart, offset - dirtyStart)
            dirtyStart = offset
        }
        // Every store of what this commit covers has run (a fault is taken at the store) and, at
        // page granularity, been written back (a hosted mapping checks its file's size there), so
        // a loss among them has been counted by now.
        if storesLost || region.storesLost {
            storesLost = true
            piecesSinceCommit = 0  // the interval restarts as after a commit, so appends go on (unpublished)
            sinceCommit = 0
            return
        }
        let value = CommitWord(segment: segment, offset: UInt32(offset)).rawValue
        // One fence (FORMAT.md §10.3) for a commit of one record in a tail this
        // writer opened: its start goes beside the commit word (same line, stored
        // first), and the persist below drains record and words together. A
        // crash before it ends can tear only that record, which readers stop at.
        let oneFence = oneFenceCommits && tailIsOwn && segment == committedSegment
            && piecesSinceCommit == 1 && offset - committedOffset <= Layout.tornCommitWindow
        if windowMinor >= 4 {
            // What this commit covers (FORMAT.md §10.3), stored before the commit
            // word: its start is the previous commit's offset (64 in a segment
            // this commit opens), its end the new commit offset.
            let start = segment == committedSegment ? committedOffset : Layout.segmentHeaderSize
            let window = CommitWindow(start: start, end: offset, torn: oneFence).encode(seed: seed, crc: crc)
            (UnsafeMutableRawPointer(word) + Layout.commitWindowWordOffset).storeLE(window, at: 0)
        } else if windowMinor == 3 {
            (UnsafeMutableRawPointer(word) + Layout.commitWindowWordOffset).storeLE(value, at: 0)
        }
        if region.granularity != .page && !oneFence { region.drain() }
        word.pointee.store(value.littleEndian, ordering: .releasing)
        region.persist(UnsafeRawPointer(word), 16)
        piecesSinceCommit = 0
        committedSegment = segment
        committedOffset = offset
        sinceCommit = 0
    }

    /// Checks the writer's invariants; a no-op unless built with
    /// `PMTRACE_INTERNAL_CHECKS` (the tests turn it on). O(1).
    @inline(__always)
    func _checkInvariants() {
        #if PMTRACE_INTERNAL_CHECKS
        precondition(offset % Layout.recordAlignment == 0, "tail offset not 8-aligned")
        if segmentBase == nil {
            precondition(offset == 0 && segment == Layout.noSegment, "no segment but an offset")
        } else {
            precondition(offset >= Layout.segmentHeaderSize && offset <= segmentSize, "tail offset outside the segment")
            precondition(dirtyStart <= offset, "dirty range starts past the tail")
            precondition(committedSegment != segment || committedOffset <= offset, "committed past the tail")
        }
        precondition(commitInterval == 0 || sinceCommit < commitInterval + segmentSize, "commit interval overrun")
        if groupCount > 0 {
            precondition(segmentBase != nil && groupStreamed + groupStaged <= groupRoom && groupRoom <= segmentSize - offset - Layout.recordHeaderSize,
                         "staged group does not fit the tail")
            precondition(groupStaged < Self.streamChunk && groupStreamed % 8 == 0, "staged past the streaming batch")
            precondition(groupFastRoom < Self.streamChunk && groupStreamed + groupFastRoom <= groupRoom
                         && (commitInterval == 0 || sinceCommit + groupStreamed + groupFastRoom < commitInterval),
                         "fast-path room past the batch, the group's room or the commit interval")
            precondition(preStreamed == 0 || (streamOpen && preStreamed <= groupStreamed), "bytes before the stream without an open stream")
            precondition(directFastRoom == 0 || (streamOpen && groupStaged == 0 && groupStreamed + directFastRoom <= groupRoom
                         && (commitInterval == 0 || sinceCommit + groupStreamed + directFastRoom < commitInterval)),
                         "direct room without an open stream, with staged members, past the group's room or the commit interval")
        } else {
            precondition(groupFastRoom == 0 && directFastRoom == 0 && groupStaged == 0 && groupStreamed == 0 && !streamOpen && preStreamed == 0,
                         "group state without an open group")
        }
        #endif
    }
}
