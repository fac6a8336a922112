import ArgumentParser
import Foundation
import PMTrace
import TraceFormat
import TracePayloads
import TraceVolume

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one line per committed record: lane, sequence, time, kind, length, location.")

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name (the escaped form `list` prints is accepted).", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Flag(help: "Also return the CRC-valid records found past each lane's last commit (the trace up to a crash), marked as salvaged.") var salvage = false
    @Option(help: "Stop after this many records.") var limit: Int?
    @Flag(help: "Print one JSON object per line.") var json = false

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
        var salvaged: Bool
    }

    func run() throws {
        if let limit, limit < 0 { throw CLIError("--limit must be 0 or more") }
        let p = try openPool(pool, writable: false)
        let reader = try p.store.openReader(volumeBytes: volume.bytes, options: ReadOptions(salvage: salvage))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var out = OutputStream(fd: 1)
        var count = 0
        while limit.map({ count < $0 }) ?? true, let r = try reader.next() {
            count += 1
            var line = Line(volume: reader.info.name, lane: r.lane, sequence: r.sequence, timestamp: r.timestamp,
                            timestampISO: json ? JSONTime.iso(r.timestamp) : nil, kind: r.kind.name, length: r.length,
                            fragments: 1 + r.moreFragments.count, segment: r.segment, offset: r.offset, salvaged: r.salvaged)
            // Only a bounded prefix is looked at: a 1 GB record costs 8 KiB here, not 1 GB.
            try RecordPrefix.with(r, upTo: RecordPrefix.dumpBytes) { payload in
                switch r.kind {
                case .memoryAccessBatch: line.accesses = MemoryAccessBatch.count(payload)
                case .pmlBatch: line.pmlEntries = payload.count >= 8 ? Int(payload.loadUnaligned(as: UInt32.self)) : nil
                case .pageImage: line.address = (try? PageImage.decode(payload))?.address
                case .marker: line.text = String(decoding: payload.prefix(200), as: UTF8.self)
                default: break
                }
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
                if line.salvaged { text += " SALVAGED (not committed)" }
            }
            text += "\n"
            try text.utf8CString.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        }
        try out.flush()
    }
}
