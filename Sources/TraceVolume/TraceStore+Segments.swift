import TraceFormat

extension TraceStore {
    /// Hands lane (slot, lane) a segment for its next tail and appends it to
    /// the lane's DRAM chain. Takes the lock; called once per segment, never
    /// per record.
    ///
    /// In ring mode, when no segment is free, the volume's oldest segment is
    /// reclaimed: this lane's head if the lane has two or more segments,
    /// otherwise the head of the volume's longest lane. Otherwise throws
    /// `.regionFull`; and `.recordLargerThanRing` (with no bytes) when the
    /// segment to reclaim is `protecting`, the first segment of the record
    /// being split.
    ///
    /// A free segment is handed out only if reusing it cannot lose data: one
    /// whose header still names a live volume and either that volume has a
    /// damaged lane or slot, or the segment holds a checksum-valid record, is
    /// reserved instead (it is what a damaged link cut off; it is freed when
    /// the volume is deleted). O(1) per segment looked at.
    func allocateSegment(slot: Int, lane: Int, ring: Bool, protecting: UInt64? = nil) throws(TraceError) -> UInt64 {
        try lock.withLock { () throws(TraceError) -> UInt64 in
            while let i = allocator.allocate() {
                if let owner = mustKeep(i) {
                    reserved.append(i)
                    mountWarnings.append(.segmentReserved(segment: i, volume: owner))
                    continue
                }
                slots[slot].chains[lane].append(i)
                return i
            }
            guard ring else {
                throw .regionFull(freeSegments: allocator.freeCount, totalSegments: superblock.segmentCount,
                                  segmentSize: superblock.segmentSize)
            }
            var victimLane = lane
            if slots[slot].chains[lane].count < 2 {
                let longest = slots[slot].chains.indices.max { slots[slot].chains[$0].count < slots[slot].chains[$1].count }!
                victimLane = longest
            }
            guard slots[slot].chains[victimLane].count >= 2 else {
                throw .regionFull(freeSegments: 0, totalSegments: superblock.segmentCount, segmentSize: superblock.segmentSize)
            }
            if victimLane == lane, let p = protecting, slots[slot].chains[lane].first == p {
                throw .recordLargerThanRing(volume: slots[slot].name, lane: lane, bytes: 0)
            }
            let victim = slots[slot].chains[victimLane].removeFirst()
            slots[slot].chains[lane].append(victim)
            return victim
        }
    }

    /// Opens the writer of one lane. At most one writer per lane per process
    /// (the pool lock keeps other processes out).
    public func openWriter(volume name: String, lane: Int = 0) throws(TraceError) -> LaneWriter {
        guard writable else { throw .readOnly }
        let (slot, entry, chain) = try lock.withLock { () throws(TraceError) -> (Int, VolumeEntry, [UInt64]) in
            let slot = try findSlot(Array(name.utf8))
            let e = slots[slot].entry!
            guard !e.flags.contains(.sealed) else { throw .volumeSealed(name) }
            guard lane >= 0, lane < Int(e.laneCount) else { throw .laneOutOfRange(lane: lane, laneCount: Int(e.laneCount)) }
            if let d = slots[slot].laneDamage[lane] { throw .laneDamaged(volume: name, lane: lane, d) }
            guard !slots[slot].writerOpen[lane] else { throw .laneBusy(volume: name, lane: lane) }
            slots[slot].writerOpen[lane] = true
            return (slot, e, slots[slot].chains[lane])
        }
        do throws(TraceError) {
            return try LaneWriter(store: self, volume: name, slot: slot, lane: lane, entry: entry, chain: chain)
        } catch {
            lock.withLock { slots[slot].writerOpen[lane] = false }
            throw error
        }
    }

    /// If segment `index` (free in DRAM) may hold data of a live volume that no
    /// chain reaches, the name of that volume. Caller holds the lock.
    func mustKeep(_ index: UInt64) -> String? {
        let h: SegmentHeader
        do throws(FormatError) { h = try media.segmentHeader(index).header } catch {
            // A header with our magic that fails its checks may be damage over
            // intact records: keep the segment if a record validates against
            // the checksum the header stores (a torn header from a crash has
            // no records of its life behind it).
            if case .badMagic = error { return nil }
            // A whole header (its CRC matches) found in the wrong place: left by a region
            // formatted at another offset or with another segment size. It is data of a live
            // volume only if it names one by its whole uid (FORMAT.md §10.5 step 4).
            if case .invalidField(_, "index", _) = error {
                let uid: UInt64 = UnsafeRawPointer(media.segmentBase(index)).loadLE(8)
                guard let owner = slots.first(where: { $0.isLive && $0.entry!.uid == uid }) else { return nil }
                return media.holdsRecords(index, seed: media.storedHeaderChecksum(index)) ? owner.name : nil
            }
            return media.holdsRecords(index, seed: media.storedHeaderChecksum(index)) ? "unknown (segment \(index)'s header is damaged)" : nil
        }
        // Volume uids carry their slot + 1 in the high half (FORMAT.md §4).
        let slot = Int(truncatingIfNeeded: h.volumeUID >> 32) &- 1
        guard slot >= 0, slot < slots.count else { return nil }
        switch slots[slot].state {
        case .damaged: return "volume table slot \(slot) (damaged)"
        case .empty, .deleted: return nil
        case .live:
            guard slots[slot].entry!.uid == h.volumeUID else { return nil }
            let lane = Int(h.lane)
            let damagedLane = lane < slots[slot].laneDamage.count && slots[slot].laneDamage[lane] != nil
            return damagedLane || media.holdsRecords(index) ? slots[slot].name : nil
        }
    }

    func writerClosed(slot: Int, lane: Int) {
        lock.withLock {
            if slots[slot].isLive, lane < slots[slot].writerOpen.count { slots[slot].writerOpen[lane] = false }
        }
    }
}
