import ArgumentParser
import Foundation
import PMTrace
import MetadataCatalog
import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one line per committed record: lane, sequence, time, kind, length, location.",
        discussion: """
            With --accesses, one line per memory access instead (memory-access and guest-access batches), like \
            `perf script`: time (the batch's seal time), lane, kind, address, size, and pc / virtual address \
            when recorded; --symbolize --as adds the function (symbol+offset) and image of the PC (or, without \
            a PC, of the address), or the mapping holding it. --follow keeps reading what a live writer \
            commits, like `tail -f` (stop it with Ctrl-C); on a ring volume, records the writer reclaims \
            before they are printed are reported on stderr by sequence range, and printing goes on at the \
            oldest record still held.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name (the escaped form `list` prints is accepted).", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Flag(help: "Also return the CRC-valid records found past each lane's last commit (the trace up to a crash), marked as salvaged.") var salvage = false
    @Option(parsing: .unconditional, help: "Stop after this many records.") var limit: Int?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "One line per memory access instead of per record.") var accesses = false
    @Flag(help: "With --accesses: add symbol+offset and image (needs --as).") var symbolize = false
    @Option(name: .customLong("as"), help: "Address space recorded by `maps import` (`pmtrace record` names it like the volume).") var addressSpace: String?
    @Flag(help: "Keep reading records a live writer commits (poll every 10 ms) until interrupted.") var follow = false
    @OptionGroup var filter: ReadFilterOptions

    func validate() throws {
        if symbolize && addressSpace == nil { throw ValidationError("--symbolize needs --as <address space>") }
        if symbolize && !accesses { throw ValidationError("--symbolize goes with --accesses") }
    }

    /// One line of `--json` (README, "JSON output"); fields that do not
    /// apply to the record's kind are null.
    struct Line: Encodable {
        var volume: String
        var lane: Int
        var sequence: UInt64
        var timestamp: UInt64
        @OrNull var timestampISO: String?
        var kind: String
        var length: Int
        var fragments: Int
        var segment: UInt64
        var offset: Int
        @OrNull var accesses: Int?
        @OrNull var pmlEntries: Int?
        @OrNull var address: UInt64?
        @OrNull var text: String?
        /// Why the payload cannot be what its kind says (its counts are then
        /// null): the record is committed and its checksum matches, but what
        /// it holds is not a valid payload of its kind (FORMAT.md §8).
        @OrNull var payloadProblem: String?
        var salvaged: Bool
    }

    /// The counts a payload's header gives, checked in O(1) against its
    /// length (`length` bytes; `payload` may be a prefix): an access entry
    /// takes at least 2 bytes (§8.2), a PML batch holds 1 … 512 u64 (§8.3).
    static func summarize(_ kind: RecordKind, _ payload: UnsafeRawBufferPointer, length: Int, into line: inout Line) {
        switch kind {
        case .memoryAccessBatch, .memoryAccessStreams:
            guard let n = MemoryAccessBatch.count(payload) else { line.payloadProblem = "shorter than its 8-byte header"; return }
            guard n <= (length - 8) / 2 else { line.payloadProblem = "claims \(n) accesses in \(length) bytes (each takes at least 2)"; return }
            line.accesses = n
        case .pmlBatch:
            guard payload.count >= 8 else { line.payloadProblem = "shorter than its 8-byte header"; return }
            let n = Int(payload.loadUnaligned(as: UInt32.self).littleEndian)
            guard (1...512).contains(n), length >= 8 + 8 * n else {
                line.payloadProblem = "claims \(n) entries in \(length) bytes (1 … 512 entries of 8 bytes)"
                return
            }
            line.pmlEntries = n
        case .pageImage:
            do throws(FormatError) { line.address = try PageImage.decode(payload).address } catch { line.payloadProblem = "\(error)" }
        case .marker:
            line.text = String(decoding: payload.prefix(200), as: UTF8.self)
        default:
            break
        }
    }

    func run() throws {
        if let limit, limit < 0 { throw CLIError("--limit must be 0 or more") }
        let p: TracePool
        var attribution: SymbolAttribution?
        if symbolize, let addressSpace {
            let (pool, catalog) = try openCatalog(self.pool, writable: false)
            p = pool
            attribution = SymbolAttribution(symbolizer: try catalog.symbolizer(addressSpace: addressSpace),
                                            maps: try MappingTable.recorded(in: p.store, volumeBytes: volume.bytes))
        } else {
            p = try openPool(pool, writable: false)
        }
        // Following a ring volume, a reader the writer laps goes on at the oldest
        // record still held (each gap reported on stderr), like `tail -f`.
        let reader = try p.store.openReader(volumeBytes: volume.bytes, options: ReadOptions(salvage: salvage, skipReclaimed: follow))
        reader.onDamage = { warnDamage($0) }
        let recordFilter = try filter.filter(for: reader)
        try recordFilter.prepare(reader)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var out = OutputStream(fd: 1)
        var count = 0
        var timeText: (ns: UInt64, text: String)?
        var damagedPayloads = 0
        var firstDamaged: String?
        let block = AccessBlock(capacity: 4096)
        do {
            while limit.map({ count < $0 }) ?? true {
                guard let r = try reader.next() else {
                    guard follow else { break }
                    try out.flush()
                    usleep(10_000)
                    try reader.refresh()
                    continue
                }
                let verdict = recordFilter.verdict(lane: r.lane, timestamp: r.timestamp)
                if case .skip = verdict { continue }
                if case .stop = verdict {
                    if follow { continue }  // records past --until; a live writer may still commit earlier lanes' ones
                    break
                }
                if accesses {
                    guard AccessScan.carriesAccesses(r.kind) else { continue }
                    block.removeAll()
                    do throws(FormatError) {
                        _ = try r.decodePayload { (p) throws(FormatError) -> Bool in
                            try block.append(kind: r.kind, payload: p, lane: r.lane, timestamp: r.timestamp)
                        }
                    } catch { throw TraceError.damaged(error) }
                    for i in 0..<block.count where limit.map({ count < $0 }) ?? true {
                        count += 1
                        var t = AccessText()
                        AccessLine.append(block, i, attribution: attribution, json: json, volume: reader.info.name, time: &timeText, to: &t)
                        try t.bytes.withUnsafeBytes { try out.write($0) }
                    }
                    continue
                }
                count += 1
                var line = Line(volume: reader.info.name, lane: r.lane, sequence: r.sequence, timestamp: r.timestamp,
                                timestampISO: json ? JSONTime.iso(r.timestamp) : nil, kind: r.kind.name, length: r.length,
                                fragments: 1 + r.moreFragments.count, segment: r.segment, offset: r.offset, salvaged: r.salvaged)
                // Only a bounded prefix is looked at: a 1 GB record costs 8 KiB here, not 1 GB.
                try RecordPrefix.with(r, upTo: RecordPrefix.dumpBytes) { payload in
                    Self.summarize(r.kind, payload, length: r.length, into: &line)
                }
                if let problem = line.payloadProblem {
                    damagedPayloads += 1
                    if firstDamaged == nil { firstDamaged = "lane \(r.lane) sequence \(r.sequence) (\(r.kind.name)): \(problem)" }
                }
                var text: String
                if json {
                    text = String(decoding: try encoder.encode(line), as: UTF8.self)
                } else {
                    text = "lane=\(line.lane) seq=\(line.sequence) time=\(formatTime(line.timestamp)) kind=\(line.kind) length=\(line.length)"
                    if line.fragments > 1 { text += " fragments=\(line.fragments)" }
                    text += " at=\(line.segment):\(line.offset)"
                    if let a = line.accesses { text += " accesses=\(a)" }
                    if let e = line.pmlEntries { text += " pml-entries=\(e)" }
                    if let a = line.address { text += " gpa=0x\(String(a, radix: 16))" }
                    if let t = line.text { text += " text=\"\(TerminalText.escape(t))\"" }
                    if let problem = line.payloadProblem { text += " PAYLOAD DAMAGED (\(problem))" }
                    if line.salvaged { text += " SALVAGED (not committed)" }
                }
                text += "\n"
                try text.utf8CString.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
            }
        } catch {
            // Every line before the damage goes out first (as `read` does).
            try? out.flush()
            if let e = error as? TraceError { throw reader.explained(e) }
            throw error
        }
        try out.flush()
        if let firstDamaged {
            throw CLIError("\(damagedPayloads) record(s) hold a payload that is not valid for their kind; the first: \(firstDamaged)",
                           status: ExitStatus.refused)
        }
    }
}
