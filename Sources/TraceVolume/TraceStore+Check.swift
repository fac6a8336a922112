import TraceFormat

/// One finding of `TraceStore.check`.
public struct CheckFinding: Equatable, Sendable {
    /// How serious a finding is.
    public enum Severity: String, Sendable {
        /// Committed data or metadata is damaged.
        case error
        /// Not damage of committed data, but worth attention (a damaged
        /// superblock copy, unreachable data kept out of reuse, a name that
        /// breaks the rules).
        case warning
        /// Expected after a crash, nothing to repair (torn tail past a commit,
        /// torn entry copy, a segment allocated and never committed into).
        case info
    }

    /// Error, warning or info.
    public var severity: Severity
    /// What and where, e.g. "segment 17" or "volume 'a' lane 2".
    public var location: String
    /// What is wrong, in words.
    public var message: String
    /// What repair does about it (nil: repair leaves it alone).
    public var repair: String?
    /// `check(repair: .apply)` fixed it.
    public var repaired: Bool = false

    /// For checkers layered on the store (the metadata catalog's) that add to its report.
    public init(severity: Severity, location: String, message: String, repair: String? = nil, repaired: Bool = false) {
        self.severity = severity
        self.location = location
        self.message = message
        self.repair = repair
        self.repaired = repaired
    }
}

/// What `TraceStore.check` found.
public struct CheckReport: Sendable {
    /// Everything found, in the order found.
    public var findings: [CheckFinding] = []
    /// Live volumes checked.
    public var volumes = 0
    /// Lanes checked.
    public var lanes = 0
    /// Segments owned by some lane.
    public var segmentsInUse: UInt64 = 0
    /// Committed records whose checksum was verified.
    public var recordsChecked: UInt64 = 0
    /// Payload bytes of those records.
    public var bytesChecked: UInt64 = 0
    /// Checksum-valid records past commit points (what a salvage read returns).
    public var salvageableRecords: UInt64 = 0

    /// No errors and no warnings left unrepaired.
    public var clean: Bool { !findings.contains { $0.severity != .info && !$0.repaired } }
    /// Any error (damage of committed data or metadata) left unrepaired.
    public var damaged: Bool { findings.contains { $0.severity == .error && !$0.repaired } }

    mutating func add(_ severity: CheckFinding.Severity, _ location: String, _ message: String, repair: String? = nil) {
        findings.append(CheckFinding(severity: severity, location: location, message: message, repair: repair))
    }
}

/// What `check` may change.
public enum RepairMode {
    /// Read only.
    case none
    /// Report what repair would do (each finding's `repair`), change nothing.
    case dryRun
    /// Repair. Before each write, `backup` (when given) receives the absolute
    /// offset and the bytes about to be overwritten; returning false cancels
    /// that write (and the repair of that finding).
    case apply(backup: ((UInt64, UnsafeRawBufferPointer) -> Bool)?)
}

extension TraceStore {
    /// Checks every structure of the region (fsck): both superblock copies,
    /// every volume-table copy and name, every lane chain, the checksum of
    /// every committed record, what lies past each commit point, and every
    /// segment header outside the chains. O(segments + committed bytes).
    ///
    /// Repair rewrites only metadata copies that have a valid twin (a
    /// damaged superblock copy, a torn volume-entry copy, a chain segment's
    /// summary entry that differs from its header). It never writes a
    /// segment, a commit word or a record: a committed record readable before
    /// a repair — or after undoing the damage that was found — is readable
    /// after it. Unreachable segments that hold a live volume's records are
    /// reported and kept out of reuse, never cleared.
    public func check(repair mode: RepairMode = .none) throws(TraceError) -> CheckReport {
        if case .apply = mode, !writable { throw .readOnly }
        var report = CheckReport()
        checkSuperblocks(&report, mode)
        checkVolumeTable(&report, mode)
        let (owned, states) = checkLanes(&report, mode)
        checkUnreachable(&report, owned: owned, laneStates: states)
        return report
    }

    /// `check(repair: repair ? .apply(backup: nil) : .none)`.
    public func check(repair: Bool) throws(TraceError) -> CheckReport {
        try check(repair: repair ? .apply(backup: nil) : .none)
    }

    /// Writes `bytes` at `offset` under `mode`: nothing for `.none`/`.dryRun`,
    /// else after handing the old bytes to the backup. Returns whether it wrote.
    private func repairWrite(_ mode: RepairMode, at offset: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard case .apply(let backup) = mode else { return false }
        if let backup, !backup(offset, region.bytes(offset, bytes.count)!) { return false }
        region.write(bytes.baseAddress!, count: bytes.count, at: offset)
        return true
    }

    private func checkSuperblocks(_ report: inout CheckReport, _ mode: RepairMode) {
        for copy in 0..<2 {
            let location = Structure.superblock(copy: copy).description
            let offset = UInt64(copy * Layout.superblockCopySize)
            let problem: String
            do throws(FormatError) {
                let sb = try Superblock.decode(region.bytes(offset, Layout.superblockSize)!, copy: copy, mappedSize: region.size)
                guard sb != superblock else { continue }
                problem = "differs from the copy in use (generation \(sb.generation) vs \(superblock.generation))"
            } catch {
                problem = "\(error)"
            }
            var f = CheckFinding(severity: .warning, location: location, message: problem,
                                 repair: "rewrite it from superblock copy \(superblockCopy == 0 ? "A" : "B") (128 bytes at offset \(offset))")
            withUnsafeTemporaryAllocation(byteCount: Layout.superblockSize, alignment: 8) { buf in
                superblock.encode(into: buf.baseAddress!, copy: copy)
                f.repaired = repairWrite(mode, at: offset, UnsafeRawBufferPointer(buf))
            }
            report.findings.append(f)
        }
    }

    private func checkVolumeTable(_ report: inout CheckReport, _ mode: RepairMode) {
        lock.withLock {
            var seen: [[UInt8]] = []
            for slot in slots.indices {
                switch slots[slot].state {
                case .damaged(let e):
                    report.add(.error, "volume table slot \(slot)", "both copies damaged: \(e)")
                    continue
                case .empty: continue
                case .live, .deleted: break
                }
                let entry = slots[slot].entry!
                if slots[slot].isLive {
                    checkName(entry.name, slot: slot, seen: &seen, &report)
                }
                let inactive = 1 - slots[slot].activeCopy
                let offset = superblock.volumeSlotOffset(slot) + UInt64(inactive * Layout.volumeEntrySize)
                guard case .damaged(let e) = VolumeEntry.decode(region.bytes(offset, Layout.volumeEntrySize)!, slot: slot,
                                                                 copy: inactive, maxLanes: superblock.maxLanesPerVolume)
                else { continue }
                // A torn update leaves this; the other copy is the truth.
                var f = CheckFinding(severity: .info, location: "volume table slot \(slot) copy \(inactive == 0 ? "A" : "B")",
                                     message: "stale or torn copy (\(e)); the other copy is valid",
                                     repair: "rewrite it from the valid copy (256 bytes at offset \(offset))")
                if case .apply(let backup) = mode, backup?(offset, region.bytes(offset, Layout.volumeEntrySize)!) ?? true {
                    f.repaired = (try? commitEntry(entry, slot: slot)) != nil
                }
                report.findings.append(f)
            }
        }
    }

    /// Reports a live volume's name that breaks the rules of FORMAT.md §4.1
    /// or repeats an earlier live volume's name. Caller holds the lock.
    private func checkName(_ name: [UInt8], slot: Int, seen: inout [[UInt8]], _ report: inout CheckReport) {
        let location = "volume table slot \(slot)"
        if let problem = VolumeNameRules.problem(name, allowReserved: true) {
            report.add(.warning, location, "name breaks the naming rules: \(TraceError.invalidName(problem))")
        }
        if seen.contains(name) {
            report.add(.error, location, "name repeats an earlier live volume's name: only the first can be opened by name")
        }
        seen.append(name)
    }

    /// Walks every lane and checks every committed record. Returns the
    /// segments the chains own.
    private func checkLanes(_ report: inout CheckReport, _ mode: RepairMode) -> (SegmentAllocator, [LaneState]) {
        var owned = SegmentAllocator(count: superblock.segmentCount)
        var states: [LaneState] = []
        let live = lock.withLock { slots.indices.filter { slots[$0].isLive }.map { (info($0), slots[$0].entry!) } }
        for (info, entry) in live {
            report.volumes += 1
            for lane in 0..<info.laneCount {
                report.lanes += 1
                let location = "volume '\(Self.printable(entry.name))' lane \(lane)"
                // A writer in another process may append (and a ring writer reclaim)
                // while the lane is checked: what it finds then can be a mix of two
                // states. A lane with findings whose state (`laneState`) moved meanwhile
                // is checked again, from a fresh walk (a few times at most). A repair
                // holds the region alone, so its lanes never move and never run twice.
                var attempt = 0
                var settled: [UInt64] = []
                while true {
                    let before = (report, owned)
                    let state = laneState(slot: info.slot, uid: info.uid, ring: entry.flags.contains(.ring), lane: lane)
                    checkLane(info: info, entry: entry, lane: lane, location: location, &report, &owned, mode)
                    let found = report.findings[before.0.findings.count...].contains { $0.severity != .info }
                    let after = laneState(slot: info.slot, uid: info.uid, ring: entry.flags.contains(.ring), lane: lane)
                    settled = after
                    guard found, after != state else { break }
                    attempt += 1
                    guard attempt < Self.liveLaneAttempts else {
                        report.add(.info, location, "a writer committed to this lane during each of \(attempt) checks: "
                                   + "the findings above may mix two states; check again when no writer is active")
                        break
                    }
                    (report, owned) = before
                }
                states.append(LaneState(slot: info.slot, lane: lane, state: settled))
            }
        }
        return (owned, states)
    }

    /// A lane of a volume slot.
    /// A lane of a volume slot, and its `laneState` when its check ended.
    /// (An array, not a dictionary: TraceVolume also builds into the
    /// bare-metal archive, where hashing would need a random seed.)
    struct LaneState {
        let slot: Int
        let lane: Int
        let state: [UInt64]
    }

    /// What a live writer changes in a lane: its commit word, and its chain
    /// with each segment's header sequence (a ring writer's reclaim changes a
    /// header before the commit word moves). O(segments in the lane).
    private func laneState(slot: Int, uid: UInt64, ring: Bool, lane: Int) -> [UInt64] {
        let walk = media.walkChain(slot: slot, lane: lane, uid: uid, ring: ring)
        return [media.loadCommitWord(slot: slot, lane: lane), UInt64(walk.tailOffset)] + walk.segments + walk.sequences
    }

    /// Checks of a lane that a live writer changes before `check` reports
    /// what it found (see `checkLanes`).
    static let liveLaneAttempts = 5

    /// Checks one lane: its chain, each segment's summary entry and records,
    /// and what lies past its commit point; claims its segments in `owned`.
    private func checkLane(info: VolumeInfo, entry: VolumeEntry, lane: Int, location: String, _ report: inout CheckReport,
                           _ owned: inout SegmentAllocator, _ mode: RepairMode) {
        let walk = media.walkChain(slot: info.slot, lane: lane, uid: info.uid, ring: entry.flags.contains(.ring))
        if let d = walk.damage {
            report.add(.error, location, "chain: \(d); \(walk.segments.count) newer segment(s) still reachable; "
                       + "`read --skip-damaged` rebuilds the lane from its segment headers")
        }
        var join = FragmentJoin(ring: entry.flags.contains(.ring))
        for (i, segment) in walk.segments.enumerated() {
            if !owned.claim(segment) {
                report.add(.error, "segment \(segment)", "owned twice (again by \(location))")
            }
            report.segmentsInUse += 1
            guard let header = try? media.segmentHeader(segment) else {  // reported by the walk
                join = FragmentJoin(ring: join.ring)  // what follows may continue a record it held
                continue
            }
            // A ring writer reclaimed it since the walk: no longer this lane's past.
            let ring = entry.flags.contains(.ring)
            if ring && i < walk.sequences.count && header.header.sequence != walk.sequences[i] { continue }
            if media.hasSummary {
                // A ring lane's head may be the segment a crash interrupted reclaiming (§6.1).
                checkSummaryEntry(segment, header.header, crashedReclaim: i == 0 && entry.flags.contains(.ring), &report, mode)
            }
            let isTail = i == walk.segments.count - 1
            checkSegment(segment, seed: header.crc, committedLimit: isTail ? Int(walk.tailOffset) : segmentSize,
                         isTail: isTail, location: location, laneOfTail: walk.damage == nil ? (info.slot, lane) : nil,
                         reclaimable: ring ? header.header.sequence : nil, walkIndex: i, join: &join, &report)
        }
    }

    /// A chain segment's summary entry must hold what its header holds
    /// (FORMAT.md §6.1); repair rewrites it from the header, its valid twin.
    private func checkSummaryEntry(_ segment: UInt64, _ header: SegmentHeader, crashedReclaim: Bool, _ report: inout CheckReport,
                                   _ mode: RepairMode) {
        let problem: String
        do throws(FormatError) {
            guard try media.summaryEntry(segment).matches(header) else { throw .invalidField(.summaryEntry(segment: segment), field: "owner or links (differ from the segment header)", value: segment) }
            return
        } catch {
            problem = "\(error)"
        }
        let offset = superblock.summaryEntryOffset(segment)
        var f = CheckFinding(severity: crashedReclaim ? .info : .warning, location: "segment \(segment)",
                             message: "\(problem): a mount walks this lane's segment headers instead of the summary"
                                 + (crashedReclaim ? " (a ring lane's head whose reclaim a crash interrupted)" : ""),
                             repair: "rewrite the summary entry from the segment header (\(Layout.summaryEntrySize) bytes at offset \(offset))")
        withUnsafeTemporaryAllocation(byteCount: Layout.summaryEntrySize, alignment: 8) { buf in
            SummaryEntry(header).encode(into: buf.baseAddress!, index: segment)
            f.repaired = repairWrite(mode, at: offset, UnsafeRawBufferPointer(buf))
        }
        report.findings.append(f)
    }

    /// How a lane's fragments join, followed across its segments in order
    /// (FORMAT.md §7), in a lane that is not a ring (where a reclaim explains
    /// both): a continuation with no open record before it, after a record
    /// start, is an orphan no writer leaves (its record's start is lost); a
    /// record start while a record is open is an abandoned record — what a
    /// crash or failed append leaves when it opens the chain's next segment
    /// (the abandoned fragment ended its own, §7), and damage anywhere else
    /// (the open record's end is lost). A fragment that says more follow
    /// but does not end its segment is damage wherever it is (§7).
    struct FragmentJoin {
        let ring: Bool
        var open: UInt64?
        /// Walk index of the open record's last fragment.
        var openSegment = 0
        var sawStart = false

        enum Problem { case orphan, lostEnd(UInt64), misplaced }

        /// Takes the next committed record header, found in the lane's
        /// `segment`-th segment (walk order), whose footprint ends the segment
        /// or not; what is wrong with it, if anything (at most two problems:
        /// an open record's lost end, then this one's).
        mutating func take(_ h: RecordHeader, segment: Int, endsSegment: Bool) -> [Problem] {
            if h.flags.contains(.hasMore) && !endsSegment {
                // Its record's end is lost; what follows is read as after an abandoned record.
                open = nil
                if !h.flags.contains(.continuation) { sawStart = true }
                return [.misplaced]
            }
            if !h.flags.contains(.continuation) {
                let lost = open.flatMap { ring || segment == openSegment + 1 ? nil : Problem.lostEnd($0) }
                open = h.flags.contains(.hasMore) ? h.sequence : nil
                openSegment = segment
                sawStart = true
                return lost.map { [$0] } ?? []
            }
            if open == h.sequence {
                open = h.flags.contains(.hasMore) ? h.sequence : nil
                openSegment = segment
                return []
            }
            // A continuation of another record: the open one's end is lost, and this one's start.
            let lost = open.flatMap { ring ? nil : Problem.lostEnd($0) }
            open = nil
            return (lost.map { [$0] } ?? []) + (!ring && sawStart ? [.orphan] : [])
        }
    }

    /// One line for a `FragmentJoin` problem met at the record `h` (segment, offset).
    static func describe(_ problem: FragmentJoin.Problem, _ h: RecordHeader, segment: UInt64, offset: Int) -> String {
        let action = " (readers stop there; `read --skip-damaged` skips it)"
        switch problem {
        case .orphan:
            return "record at segment \(segment) offset \(offset) continues record sequence \(h.sequence), whose start is not in the lane before it" + action
        case .lostEnd(let open):
            return "record sequence \(open) has no end: the record at segment \(segment) offset \(offset) does not continue it, and a crash leaves "
                + "a record's end missing only where the next segment opens" + action
        case .misplaced:
            return "record at segment \(segment) offset \(offset) (sequence \(h.sequence)) says more fragments follow but does not end its segment "
                + "as a split record's fragments do: its record's end is lost" + action
        }
    }

    /// Checks the committed records of one segment, then (for a tail) what
    /// lies past the commit point.
    private func checkSegment(_ segment: UInt64, seed: UInt32, committedLimit: Int, isTail: Bool, location: String,
                              laneOfTail: (Int, Int)? = nil, reclaimable sequence: UInt64? = nil, walkIndex: Int, join: inout FragmentJoin,
                              _ report: inout CheckReport) {
        var cursor = media.records(in: segment, seed: seed, limit: committedLimit)
        if isTail, let (slot, lane) = laneOfTail {
            cursor.tornFrom = media.commitWindow(slot: slot, lane: lane, tail: segment, seed: seed, tailOffset: committedLimit).tornFrom
        }
        var marker: Int?
        scan: while true {
            do throws(FormatError) {
                switch try cursor.next() {
                case .record(let h, let payload, let offset):
                    report.recordsChecked += 1
                    report.bytesChecked += UInt64(payload.count)
                    for problem in join.take(h, segment: walkIndex, endsSegment: offset + Layout.recordHeaderSize + payload.count == segmentSize) {
                        report.add(.error, location, Self.describe(problem, h, segment: segment, offset: offset))
                    }
                    if !h.kind.isAppendable {
                        report.add(.warning, location, "record at segment \(segment) offset \(offset) has reserved kind \(h.kind.rawValue)")
                    }
                case .endMarker(let at):
                    marker = at
                    break scan
                case .limit:
                    break scan
                case .torn(let at):
                    // A crash during a one-fence commit (FORMAT.md §10.3): not damage.
                    report.add(.info, location, "the last commit was cut by a crash at segment \(segment) offset \(at): "
                               + "the lane ends there (\(committedLimit - at) bytes before the commit offset are not records)")
                    return
                }
            } catch {
                // A ring segment whose header changed since it was read was reclaimed
                // by a live writer: its records are no longer the lane's (not damage).
                if let sequence, (try? media.segmentHeader(segment))?.header.sequence != sequence { return }
                report.add(.error, location, "committed record damaged: \(error)")
                return
            }
        }
        if let at = marker {
            // Nothing of the segment's life follows an end marker (FORMAT.md §7).
            let after = at + Layout.recordHeaderSize
            if isTail && committedLimit > after {
                report.add(.error, location, "an end-of-segment record at segment \(segment) offset \(at) hides committed bytes \(after)..<\(committedLimit)")
            } else {
                var probe = media.records(in: segment, seed: seed, limit: segmentSize)
                probe.move(to: after)
                if case .record(_, _, let offset)? = try? probe.next() {
                    report.add(.error, location, "an end-of-segment record at segment \(segment) offset \(at) hides the valid record at offset \(offset)")
                }
            }
            return
        }
        guard isTail else { return }
        // Past the commit point: salvageable records, then a torn tail or clean
        // zeros. Bytes that fail their checks there are a torn append or a
        // segment's earlier life (format does not clear segments): not damage.
        cursor.limit = segmentSize
        var salvaged: UInt64 = 0
        var torn: FormatError?
        tail: while true {
            do throws(FormatError) {
                guard case .record = try cursor.next() else { break tail }
                salvaged += 1
            } catch {
                torn = error
                break tail
            }
        }
        report.salvageableRecords += salvaged
        if salvaged > 0 {
            report.add(.info, location, "past the commit point at segment \(segment) offset \(committedLimit): \(salvaged) "
                       + "checksum-valid uncommitted record(s) (read --salvage)" + (torn.map { ", then bytes that are not a record (\($0))" } ?? ""))
        }
    }

    /// Segments outside every chain whose header still names a live volume.
    /// Those without a valid record are what a crash leaves between allocating
    /// and committing (reusable: nothing can be lost). Those with records are
    /// data a damaged link cut off: kept out of reuse until the volume is
    /// deleted, and readable with `read --skip-damaged`.
    private func checkUnreachable(_ report: inout CheckReport, owned: SegmentAllocator, laneStates: [LaneState]) {
        let live = lock.withLock {
            slots.indices.filter { slots[$0].isLive }.map { (uid: slots[$0].entry!.uid, name: Self.printable(slots[$0].entry!.name), slot: $0,
                                                            ring: slots[$0].entry!.flags.contains(.ring), lanes: Int(slots[$0].entry!.laneCount)) }
        }
        for segment in 0..<superblock.segmentCount where !owned.isUsed(segment) {
            guard let h = try? media.segmentHeader(segment), let volume = live.first(where: { $0.uid == h.header.volumeUID }) else { continue }
            // A live writer may have linked it after its lane was walked: walk again
            // (the lane comes from media: bounded by the volume's lane count first).
            let lane = Int(h.header.lane)
            if lane < volume.lanes {
                let walk = media.walkChain(slot: volume.slot, lane: lane, uid: volume.uid, ring: volume.ring)
                if walk.segments.contains(segment) { continue }
                // The lane's next segment (it continues the tail, or starts an empty
                // lane): records there are past the commit point, not cut off.
                let continuesTail = walk.damage == nil
                    && (walk.segments.last.map { h.header.previous == $0 && h.header.sequence == walk.sequences.last! &+ 1 }
                        ?? (h.header.sequence == 0 && h.header.previous == Layout.noSegment))
                if continuesTail && media.holdsRecords(segment) {
                    report.add(.info, "segment \(segment)", "the next segment of volume '\(volume.name)' lane \(lane) (chain sequence "
                               + "\(h.header.sequence)) holds records past the lane's commit point: a writer is filling it, or a crash "
                               + "came before its first commit")
                    continue
                }
            }
            // Still outside its lane, and that lane changed since it was checked: a live
            // writer is filling it (records not committed yet) or reclaiming it (ring).
            if lane < volume.lanes, let state = laneStates.first(where: { $0.slot == volume.slot && $0.lane == lane })?.state,
               laneState(slot: volume.slot, uid: volume.uid, ring: volume.ring, lane: lane) != state {
                report.add(.info, "segment \(segment)", "volume '\(volume.name)' lane \(lane) (chain sequence \(h.header.sequence)): "
                           + "a writer was using this segment during the check (the lane changed meanwhile)")
                continue
            }
            if media.holdsRecords(segment) && lane >= volume.lanes {
                // No reader looks at a lane the volume does not have (adversary s23 A9:
                // this used to promise that --skip-damaged returns them).
                report.add(.warning, "segment \(segment)",
                           "holds records of volume '\(volume.name)' lane \(h.header.lane) (chain sequence \(h.header.sequence)), but the "
                           + "volume has \(volume.lanes) lane(s), so no reader reaches them (the volume's lane count may be damaged): kept out of reuse")
            } else if media.holdsRecords(segment) {
                report.add(.warning, "segment \(segment)",
                           "holds records of volume '\(volume.name)' lane \(h.header.lane) (chain sequence \(h.header.sequence)) but no chain "
                           + "reaches it: kept out of reuse; `read --skip-damaged` returns them")
            } else {
                report.add(.info, "segment \(segment)",
                           "allocated to volume '\(volume.name)' lane \(h.header.lane) but never committed into (a crash between allocating and committing): reusable")
            }
        }
    }

    /// A name from media as text a terminal cannot be steered by: control
    /// characters and invalid UTF-8 bytes are written as \xNN.
    public static func printable(_ name: [UInt8]) -> String {
        guard VolumeNameRules.isValidUTF8(name), !name.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }),
              !String(decoding: name, as: UTF8.self).unicodeScalars.contains(where: { (0x80...0x9F).contains($0.value) })
        else {
            var out = ""
            let text = String(decoding: name, as: UTF8.self)
            if VolumeNameRules.isValidUTF8(name) {
                for scalar in text.unicodeScalars {
                    let v = scalar.value
                    if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x5C {
                        out += v == 0x5C ? "\\\\" : "\\x" + hex2(UInt8(v))
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            } else {
                for b in name {
                    if b >= 0x20 && b < 0x7F && b != 0x5C { out.unicodeScalars.append(Unicode.Scalar(b)) }
                    else { out += b == 0x5C ? "\\\\" : "\\x" + hex2(b) }
                }
            }
            return out
        }
        return String(decoding: name, as: UTF8.self)
    }

    private static func hex2(_ b: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}

#if !hasFeature(Embedded)
/// Codable as its raw value ("error", "warning", "info"). Hosted builds only.
extension CheckFinding.Severity: Codable {}
/// Codable for reports (JSON): every stored field. Hosted builds only.
extension CheckFinding: Codable {}
/// Codable for reports (JSON): the findings and the counts. Hosted builds only.
extension CheckReport: Codable {}
#endif
