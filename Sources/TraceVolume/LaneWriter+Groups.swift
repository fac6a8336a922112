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
            // Straight into the segment, behind the staged members.
            streamGroup(g, whole: true)
            stream.member(state, RecordGroup.memberWord(payloadLength: payload.count, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: ts - groupTimestamp)),
                          payload.baseAddress, payload.count)
            groupStreamed += footprint
        } else {
            let p = g + groupStaged
            p.storeLE(UInt64(0), at: footprint - 8)  // padding is written as zero
            RecordGroup.encodeMember(into: p, payloadLength: payload.count, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: ts - groupTimestamp))
            if let b = payload.baseAddress { (p + RecordGroup.memberHeaderSize).copyMemory(from: b, byteCount: payload.count) }
            groupStaged += footprint
            if groupStaged >= Self.streamChunk { streamGroup(g, whole: false) }
        }
        groupCount += 1
        _nextSequence &+= 1
        _appendedBytes &+= UInt64(payload.count)
        if commitInterval > 0 && sinceCommit + groupStreamed + groupStaged >= commitInterval {
            commit()
        } else {
            // What the staged bytes may grow to on the fast path: below the
            // streaming batch, within the group's room, below the commit interval
            // (sinceCommit and groupStreamed do not change on the fast path).
            var room = groupRoom - groupStreamed
            if commitInterval > 0 { room = min(room, commitInterval - 1 - sinceCommit - groupStreamed) }
            groupFastRoom = min(Self.streamChunk - 1, room)
            // Members may go straight in once the stream is open and nothing waits in the staging buffer.
            directFastRoom = streamOpen && groupStaged == 0 ? room : 0
        }
        _checkInvariants()
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
    func streamGroup(_ g: UnsafeMutableRawPointer, whole: Bool) {
        if let stream = groupStream, let state = streamState {
            // The group stream takes any multiple of 8 and holds back a partial line itself.
            if !streamOpen {
                stream.begin(state, segmentBase! + offset + Layout.recordHeaderSize + groupStreamed)
                streamOpen = true
            }
            stream.bytes(state, g, groupStaged)
            groupStreamed += groupStaged
            groupStaged = 0
            return
        }
        let staged = groupStaged
        let destination = segmentBase! + offset + Layout.recordHeaderSize + groupStreamed
        // staged is a multiple of 8 and destination 8-aligned, so n is a multiple of 8 in 0...staged.
        let n = whole ? staged : staged - ((Int(bitPattern: destination) &+ staged) & 63)
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
                groupStreamCRC = stream.finish(streamState)
                streamOpen = false
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
