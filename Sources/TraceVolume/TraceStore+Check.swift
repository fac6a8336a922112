import TraceFormat

/// One finding of `TraceStore.check`.
public struct CheckFinding: Equatable, Sendable {
    public enum Severity: String, Sendable {
        /// Committed data or metadata is damaged.
        case error
        /// Not damage of committed data, but worth repairing (e.g. a damaged superblock copy, an orphaned segment).
        case warning
        /// Expected after a crash, nothing to repair (torn tail past a commit, torn entry copy).
        case info
    }

    public var severity: Severity
    /// What and where, e.g. "segment 17" or "volume 'a' lane 2".
    public var location: String
    public var message: String
    /// `check(repair: true)` fixed it.
    public var repaired: Bool = false

    /// For checkers layered on the store (the metadata catalog's) that add to its report.
    public init(severity: Severity, location: String, message: String, repaired: Bool = false) {
        self.severity = severity
        self.location = location
        self.message = message
        self.repaired = repaired
    }
}

/// What `TraceStore.check` found.
public struct CheckReport: Sendable {
    public var findings: [CheckFinding] = []
    public var volumes = 0
    public var lanes = 0
    public var segmentsInUse: UInt64 = 0
    public var recordsChecked: UInt64 = 0
    public var bytesChecked: UInt64 = 0
    /// CRC-valid records past commit points (what a salvage read returns).
    public var salvageableRecords: UInt64 = 0

    /// No errors and no warnings left unrepaired.
    public var clean: Bool { !findings.contains { $0.severity != .info && !$0.repaired } }
}

extension TraceStore {
    /// Checks every structure of the region (fsck): both superblock copies,
    /// every volume-table copy, every lane chain, the CRC of every committed
    /// record, what lies past each commit point, and every segment header
    /// (for orphaned segments). O(segments + committed bytes).
    ///
    /// With `repair` (writable stores only) it rewrites a damaged superblock
    /// copy and damaged volume-entry copies from their good twins, and
    /// invalidates the headers of orphaned segments. It never changes a commit
    /// word or a committed record, so no committed record is lost.
    public func check(repair: Bool = false) throws(TraceError) -> CheckReport {
        if repair && !writable { throw .readOnly }
        var report = CheckReport()
        checkSuperblocks(&report, repair: repair)
        checkVolumeTable(&report, repair: repair)
        let owned = checkLanes(&report)
        checkOrphans(&report, owned: owned, repair: repair)
        return report
    }

    private func checkSuperblocks(_ report: inout CheckReport, repair: Bool) {
        for copy in 0..<2 {
            let bytes = region.bytes(UInt64(copy * Layout.superblockCopySize), Layout.superblockSize)!
            do throws(FormatError) {
                let sb = try Superblock.decode(bytes, copy: copy, mappedSize: region.size)
                if sb != superblock {
                    report.findings.append(CheckFinding(severity: .warning, location: Structure.superblock(copy: copy).description,
                                                        message: "differs from the copy in use (generation \(sb.generation) vs \(superblock.generation))"))
                }
            } catch {
                var f = CheckFinding(severity: .warning, location: Structure.superblock(copy: copy).description, message: "\(error)")
                if repair {
                    writeSuperblockCopy(superblock, copy: copy)
                    f.repaired = true
                }
                report.findings.append(f)
            }
        }
    }

    private func checkVolumeTable(_ report: inout CheckReport, repair: Bool) {
        lock.withLock {
            for slot in slots.indices {
                switch slots[slot].state {
                case .damaged(let e):
                    report.findings.append(CheckFinding(severity: .error, location: "volume table slot \(slot)",
                                                        message: "both copies damaged: \(e)"))
                    continue
                case .empty: continue
                case .live, .deleted: break
                }
                let inactive = 1 - slots[slot].activeCopy
                let offset = superblock.volumeSlotOffset(slot) + UInt64(inactive * Layout.volumeEntrySize)
                let bytes = region.bytes(offset, Layout.volumeEntrySize)!
                if case .damaged(let e) = VolumeEntry.decode(bytes, slot: slot, copy: inactive, maxLanes: superblock.maxLanesPerVolume) {
                    // A torn update leaves this; the other copy is the truth.
                    var f = CheckFinding(severity: .info, location: "volume table slot \(slot) copy \(inactive == 0 ? "A" : "B")",
                                         message: "stale or torn copy (\(e)); the other copy is valid")
                    if repair {
                        commitEntry(slots[slot].entry!, slot: slot)
                        f.repaired = true
                    }
                    report.findings.append(f)
                }
            }
        }
    }

    /// Walks every lane and CRC-checks every committed record. Returns the
    /// segments the chains own.
    private func checkLanes(_ report: inout CheckReport) -> SegmentAllocator {
        var owned = SegmentAllocator(count: superblock.segmentCount)
        let live = lock.withLock { slots.indices.filter { slots[$0].isLive }.map { (info($0), slots[$0].entry!) } }
        for (info, entry) in live {
            report.volumes += 1
            for lane in 0..<info.laneCount {
                report.lanes += 1
                let location = "volume '\(info.name)' lane \(lane)"
                let walk = walkChain(slot: info.slot, lane: lane, uid: info.uid, ring: entry.flags.contains(.ring))
                if let d = walk.damage {
                    report.findings.append(CheckFinding(severity: .error, location: location, message: "chain: \(d)"))
                }
                for (i, segment) in walk.segments.enumerated() {
                    if !owned.claim(segment) {
                        report.findings.append(CheckFinding(severity: .error, location: "segment \(segment)",
                                                            message: "owned twice (again by \(location))"))
                    }
                    report.segmentsInUse += 1
                    guard let header = try? readSegmentHeader(segment) else { continue }  // reported by the walk
                    let isTail = i == walk.segments.count - 1
                    var scan = SegmentScanner(base: UnsafeRawPointer(segmentPointer(segment)), index: segment,
                                              limit: isTail ? Int(walk.tailOffset) : segmentSize, seed: header.crc, crc: region.crc32c)
                    scanLoop: while true {
                        do throws(FormatError) {
                            switch try scan.next() {
                            case .record(_, let payload, _):
                                report.recordsChecked += 1
                                report.bytesChecked += UInt64(payload.count)
                            case .end:
                                break scanLoop
                            }
                        } catch {
                            report.findings.append(CheckFinding(severity: .error, location: location, message: "committed record damaged: \(error)"))
                            break scanLoop
                        }
                    }
                    if isTail {
                        // Past the commit point: salvageable records, then a torn tail or clean zeros.
                        scan.limit = segmentSize
                        var salvaged: UInt64 = 0
                        var torn: FormatError?
                        tail: while true {
                            do throws(FormatError) {
                                switch try scan.next() {
                                case .record: salvaged += 1
                                case .end: break tail
                                }
                            } catch {
                                torn = error
                                break tail
                            }
                        }
                        report.salvageableRecords += salvaged
                        // Bytes past the commit point that fail their checks are either a torn
                        // append or a segment's earlier life (format does not clear segments):
                        // not distinguishable, and not damage. Only salvageable records are news.
                        if salvaged > 0 {
                            report.findings.append(CheckFinding(
                                severity: .info, location: location,
                                message: "past the commit point at segment \(segment) offset \(walk.tailOffset): \(salvaged) CRC-valid uncommitted record(s) (read --salvage)"
                                    + (torn.map { ", then bytes that are not a record (\($0))" } ?? "")))
                        }
                    }
                }
            }
        }
        return owned
    }

    /// Segments outside every chain whose header still names a live volume:
    /// allocated and never committed into, or left by a crash. Harmless (no
    /// chain reaches them) but repaired by invalidating the header.
    private func checkOrphans(_ report: inout CheckReport, owned: SegmentAllocator, repair: Bool) {
        let liveUIDs = lock.withLock { Set(slots.filter { $0.isLive }.map { $0.entry!.uid }) }
        for segment in 0..<superblock.segmentCount where !owned.isUsed(segment) {
            guard let h = try? readSegmentHeader(segment), liveUIDs.contains(h.header.volumeUID) else { continue }
            var f = CheckFinding(severity: .info, location: "segment \(segment)",
                                 message: "orphaned: its header names lane \(h.header.lane) of a live volume (uid \(h.header.volumeUID)) but no chain reaches it")
            if repair && lock.withLock({ !allocator.isUsed(segment) }) {
                var zero: UInt64 = 0
                withUnsafeBytes(of: &zero) { region.write($0.baseAddress!, count: 8, at: superblock.segmentOffset(segment)) }
                f.repaired = true
            }
            report.findings.append(f)
        }
    }
}
