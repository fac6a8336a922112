import TraceFormat

/// Many equal-length records in one call: the group-member fast path of
/// `append` run as a loop, its checks made once per run of members instead
/// of once per member. Bytes on media are those of the same records
/// appended one by one with the same timestamp.
extension LaneWriter {
    /// Appends `records.count / recordLength` records of `recordLength` bytes
    /// each, taken one after the other from `records`, all of `kind` and with
    /// one timestamp. The records get consecutive sequence numbers; the
    /// result is the same as calling `append` for each in order with the same
    /// timestamp (same records, same groups, same bytes on media), and so is
    /// durability: not durable until the next `commit` (explicit or automatic).
    ///
    /// Cost: for records of up to 1 KiB (record-group members), each member's
    /// header and copy (or, with a group stream and at least 64 bytes, one
    /// stream call) without the per-call checks and counter updates, which
    /// run once per run of members that fit the open group; larger records go
    /// through `append` one by one. No lock; no fence except when a segment
    /// fills or a commit is due. Thread safety: one thread per writer.
    ///
    /// - Parameter records: the records' bytes, back to back (copied).
    /// - Parameter recordLength: bytes per record; at least 1, and
    ///   `records.count` must be a multiple of it (precondition).
    /// - Parameter kind: what each payload holds; reserved kinds are refused.
    /// - Parameter timestamp: nanoseconds for every record of the batch;
    ///   defaults to one reading of the store's clock.
    /// - Throws: what `append` throws, for the first record that fails; the
    ///   records before it were appended (`nextSequence` says how many), the
    ///   ones from it on were not.
    public func append(batch records: UnsafeRawBufferPointer, recordLength n: Int, kind: RecordKind = .blob, timestamp: UInt64? = nil) throws(TraceError) {
        precondition(n > 0 && records.count % n == 0, "a batch must be a whole number of records of recordLength > 0 bytes")
        let count = records.count / n
        guard count > 0, let base = records.baseAddress else { return }
        let ts = timestamp ?? clock()
        let footprint = RecordGroup.memberFootprint(payloadLength: n)
        let direct = n >= Self.batchDirectMinimum && streamState != nil
        let fast = n <= Self.groupMemberLimit && kind.isAppendable
        var i = 0
        while i < count {
            // The checks of `joinGroup`, once for as many members as the open group takes
            // (0 while no group is open, after `close`, or past the group's room, the
            // streaming batch or the commit interval).
            let delta = Self.memberDelta(ts, groupTimestamp)
            if fast && delta <= UInt64(UInt32.max) {
                let word = RecordGroup.memberWord(payloadLength: n, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: delta))
                if direct {
                    if groupCount > 0 && (!streamOpen || groupStaged > 0), let g = group {
                        // A member the batch streams opens the stream (`appendMember` does so only
                        // from `directMemberMinimum` bytes on, a batch from `batchDirectMinimum`).
                        openStream(g)
                        setFastRooms()
                    }
                    if groupStaged == 0, let state = streamState, let put = streamMember {
                        let k = min(count &- i, directFastRoom / footprint)
                        if k > 0 {
                            if let putAll = streamMembers {
                                putAll(state, word, base + i &* n, n, k)
                            } else {
                                var source = base + i &* n
                                for _ in 0..<k {
                                    put(state, word, source, n)
                                    source += n
                                }
                            }
                            joined(k, recordLength: n, footprint: footprint, direct: true)
                            i &+= k
                            continue
                        }
                    }
                } else if let g = group {
                    let k = min(count &- i, max(0, groupFastRoom &- groupStaged) / footprint)
                    if k > 0 {
                        var p = g + groupStaged
                        var source = base + i &* n
                        for _ in 0..<k {
                            p.storeLE(UInt64(0), at: footprint &- 8)  // padding is written as zero
                            p.storeLE(word, at: 0)
                            (p + RecordGroup.memberHeaderSize).copyMemory(from: source, byteCount: n)
                            p += footprint
                            source += n
                        }
                        joined(k, recordLength: n, footprint: footprint, direct: false)
                        i &+= k
                        continue
                    }
                }
            }
            // One record through the checked path: it opens or closes the group, streams a
            // full batch, switches segments, commits, or throws; then the fast loop resumes.
            try appendChecked(UnsafeRawBufferPointer(start: base + i &* n, count: n), kind: kind, timestamp: ts, contiguous: false)
            i &+= 1
        }
        _checkInvariants()
    }

    /// Members of at least this many bytes go from a batch straight into the
    /// segment when there is a group stream (smaller ones are staged): with
    /// no call per member, the stream takes smaller members than `append`
    /// sends it (`directMemberMinimum`). Measured: see `append(batch:)`'s notes in the README.
    static var batchDirectMinimum: Int { 64 }

    /// The bookkeeping of `k` members of `recordLength` bytes the batch loop
    /// added to the open group (as `joinGroup` does for one).
    @inline(__always)
    private func joined(_ k: Int, recordLength n: Int, footprint: Int, direct: Bool) {
        // k ≤ the room left (at most a group's payload), so none of these overflow.
        let bytes = k &* footprint
        if direct {
            let room = directFastRoom &- bytes
            directFastRoom = room
            groupFastRoom = min(Self.streamChunk &- 1, room)
            groupStreamed &+= bytes
        } else {
            groupStaged &+= bytes
            directFastRoom = 0  // members wait in the staging buffer: none may go straight in before them
        }
        groupCount &+= k
        _nextSequence &+= UInt64(truncatingIfNeeded: k)
        _appendedBytes &+= UInt64(truncatingIfNeeded: k &* n)
    }
}
