import TraceFormat

/// Record groups on the writer's checked path (FORMAT.md §7.1): starting and
/// closing groups, staging members, and streaming them into the segment.
extension LaneWriter {
    /// Stages a small record in the group (FORMAT.md §7.1), closing the
    /// group first when the record cannot join it.
    @inline(__always)
    func appendMember(_ g: UnsafeMutableRawPointer, _ payload: UnsafeRawBufferPointer, kind: RecordKind, timestamp ts: UInt64) throws(TraceError) {
        let footprint = RecordGroup.memberFootprint(payloadLength: payload.count)
        if groupCount > 0 && (groupStreamed + groupStaged + footprint > groupRoom || ts < groupTimestamp || ts - groupTimestamp > UInt64(UInt32.max)) {
            flushGroup()
        }
        if groupCount == 0 {
            // The group goes at `offset`: a record of this one member must fit there.
            if segmentBase == nil || segmentSize - offset < Layout.recordHeaderSize + footprint { try switchSegment(timestamp: ts) }
            groupRoom = min(groupCapacity, segmentSize - offset - Layout.recordHeaderSize)
            groupSequence = nextSequence
            groupTimestamp = ts
        }
        if groupCount > 0, let stream = groupStream, let state = streamState, payload.count >= Self.directMemberMinimum {
            // Straight into the segment, behind the staged members (the stream opens here).
            openStream(g)
            stream.member(state, RecordGroup.memberWord(payloadLength: payload.count, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: ts - groupTimestamp)),
                          payload.baseAddress, payload.count)
            groupStreamed += footprint
        } else {
            // Stream what is staged first when the member would take the staged bytes past
            // streamChunk - 1 (what stays behind is under 64 bytes): the staging buffer is one page.
            if groupStaged + footprint >= Self.streamChunk { streamGroup(g, whole: false) }
            let p = g + groupStaged
            p.storeLE(UInt64(0), at: footprint - 8)  // padding is written as zero
            RecordGroup.encodeMember(into: p, payloadLength: payload.count, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: ts - groupTimestamp))
            if let b = payload.baseAddress { (p + RecordGroup.memberHeaderSize).copyMemory(from: b, byteCount: payload.count) }
            groupStaged += footprint
        }
        groupCount += 1
        _nextSequence &+= 1
        _appendedBytes &+= UInt64(payload.count)
        if commitInterval > 0 && sinceCommit + groupStreamed + groupStaged >= commitInterval {
            commit()
        } else {
            setFastRooms()
        }
        _checkInvariants()
    }

    /// Sets what the fast paths may add to the open group (which must not
    /// be due for a commit): staged bytes up to `groupFastRoom`, below the
    /// streaming batch, within the group's room, below the commit interval
    /// (sinceCommit and groupStreamed do not change on the staging fast
    /// path); and, once the stream is open and nothing waits in the staging
    /// buffer, `directFastRoom` bytes straight into the segment.
    func setFastRooms() {
        var room = groupRoom - groupStreamed
        if commitInterval > 0 { room = min(room, commitInterval - 1 - sinceCommit - groupStreamed) }
        room = max(0, room)
        groupFastRoom = min(Self.streamChunk - 1, room)
        directFastRoom = streamOpen && groupStaged == 0 ? room : 0
    }

    /// Copies staged members into the segment behind the group's header and
    /// extends `groupStreamCRC` over them: all of them (`whole`, at the close),
    /// else up to a cache-line boundary of the destination, so the next batch
    /// starts a line and every line gets whole non-temporal stores (the rest,
    /// under 64 bytes, moves to the front of the staging buffer).
    /// Neither visible to readers nor durable before the group's header is
    /// written and committed: the bytes lie past the tail `offset`, where the
    /// records of an interrupted commit lie too (FORMAT.md §10.3), and inside
    /// the room the group took from the tail segment (`groupRoom`).
    ///
    /// Staged members go through the stream only once it is open (a member
    /// of `directMemberMinimum` bytes or more opened it, `openStream`);
    /// before that, through the fused copy as without a stream. Measured
    /// (`Benchmarks _profile-append 64`): 4 KiB batches of staged 64-byte
    /// members through the stream were ~5 % slower than through the fused copy.
    func streamGroup(_ g: UnsafeMutableRawPointer, whole: Bool) {
        if streamOpen, let stream = groupStream, let state = streamState {
            // The group stream takes any multiple of 8 and holds back a partial line itself.
            stream.bytes(state, g, groupStaged)
            groupStreamed += groupStaged
            groupStaged = 0
            return
        }
        let staged = groupStaged
        let destination = segmentBase! + offset + Layout.recordHeaderSize + groupStreamed
        // staged is a multiple of 8 and destination 8-aligned, so n is a multiple of 8 in 0...staged
        // (when the staged bytes do not reach the next line, none go: max with 0).
        let n = whole ? staged : max(0, staged - ((Int(bitPattern: destination) &+ staged) & 63))
        var sum = groupStreamCRC
        var done = 0
        if let fused = copyWithChecksum { done = fused(&sum, destination, g, n) }
        if done < n {
            sum = crc(sum, g + done, n - done)
            _ = region.copy(destination + done, g + done, n - done, region.appendCopyFlags)
        }
        groupStreamCRC = sum
        groupStreamed += n
        groupStaged = staged - n
        if n < staged { g.copyMemory(from: g + n, byteCount: staged - n) }
    }

    /// Opens the group stream for the rest of the group (before its first
    /// member of `directMemberMinimum` bytes or more): what is staged goes
    /// out through the fused copy up to a line boundary of the segment, the
    /// stream begins behind it and takes the rest (under 64 bytes). The
    /// checksum of what went before the stream (`groupStreamCRC`, over
    /// `preStreamed` bytes) is joined with the stream's at the close.
    /// Once open, it takes what was staged since (small members) before the next member.
    func openStream(_ g: UnsafeMutableRawPointer) {
        guard let stream = groupStream, let state = streamState else { return }
        if !streamOpen {
            streamGroup(g, whole: false)
            preStreamed = groupStreamed
            stream.begin(state, segmentBase! + offset + Layout.recordHeaderSize + groupStreamed)
            streamOpen = true
        }
        if groupStaged > 0 { streamGroup(g, whole: true) }
    }

    /// Writes the open group at the tail (a lone member as a plain record):
    /// what is still staged, then the header. It fits: `groupRoom` was taken
    /// from the tail when the group started.
    func flushGroup() {
        guard groupCount > 0, let g = group else { return }
        if groupStreamed > 0 || streamOpen {
            // Part of the group is in the segment already: the rest, then the header,
            // whose checksum joins the header's CRC with the streamed payload's.
            streamGroup(g, whole: true)
            if streamOpen, let stream = groupStream {
                let streamed = stream.finish(streamState)
                // The stream's bytes follow the `preStreamed` bytes of the fused copy, if any.
                groupStreamCRC = preStreamed == 0 ? streamed
                    : CRC32C.combine(groupStreamCRC, streamed, length2: groupStreamed - preStreamed)
                streamOpen = false
                preStreamed = 0
            }
            let length = groupStreamed
            let destination = segmentBase! + offset
            withUnsafeTemporaryAllocation(byteCount: Layout.recordHeaderSize, alignment: 8) { buf in
                let p = buf.baseAddress!
                RecordHeader(payloadLength: UInt32(length), kind: .recordGroup, flags: [], sequence: groupSequence, timestamp: groupTimestamp)
                    .encodeFields(into: p)
                if shiftLength != length {
                    shiftLength = length
                    shiftOperator = CRC32C.shift(length: length)
                }
                let sum = CRC32C.combine(crc(seed, p, RecordHeader.checksummedHeaderBytes), groupStreamCRC, shift: shiftOperator)
                p.storeLE(sum, at: RecordHeader.checksummedHeaderBytes)
                // Through the same non-temporal stores as the payload (see writeRecord).
                writeHeader(p, to: destination)
            }
            let footprint = Layout.recordFootprint(payloadLength: length)
            offset += footprint
            sinceCommit += footprint
            piecesSinceCommit += 1
            groupStreamed = 0
            groupStreamCRC = 0
        } else if groupCount == 1 {
            let word: UInt64 = UnsafeRawPointer(g).loadLE(0)
            let length = Int(word & 0xFFFF)
            writeRecord(RecordHeader(payloadLength: UInt32(length), kind: RecordKind(rawValue: UInt16(truncatingIfNeeded: word >> 16)),
                                     flags: [], sequence: groupSequence, timestamp: groupTimestamp),
                        UnsafeRawBufferPointer(start: g + RecordGroup.memberHeaderSize, count: length))
        } else {
            writeRecord(RecordHeader(payloadLength: UInt32(groupStaged), kind: .recordGroup, flags: [], sequence: groupSequence, timestamp: groupTimestamp),
                        UnsafeRawBufferPointer(start: g, count: groupStaged))
        }
        groupStaged = 0
        groupCount = 0
        groupFastRoom = 0
        directFastRoom = 0
    }
}
