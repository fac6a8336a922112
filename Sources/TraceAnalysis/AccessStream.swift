import MetadataCatalog
import TraceFormat
import TracePayloads
import TraceVolume

/// The accesses of a volume, in record (timestamp) order, block by block:
/// memory-access batches (kind 2) and guest-access batches (kind 9) alike,
/// through a `RecordFilter`. Single-pass; not thread-safe.
///
/// Cost: one checksum pass per record (the reader's) and one decoding pass
/// per access, no allocation per record or access (a record split across
/// segments is joined into a temporary buffer). A record that does not fit
/// the block being filled is copied out verified (`RecordView.copyVerified`:
/// one copy and one more checksum pass, about one record per block) and
/// decoded from that copy into the next block, so no access is ever decoded
/// from bytes a concurrent writer (a ring writer reclaiming the segment, a
/// deletion reusing it) changed after the check.
public final class AccessStream {
    /// The reader advanced by the stream.
    public let reader: VolumeReader
    /// The filter applied.
    public let filter: RecordFilter
    /// Records read that carried accesses and passed the filter.
    public private(set) var batches: UInt64 = 0
    /// The mappings the volume recorded (`pmtrace record`'s maps marker), once
    /// the stream has passed that marker (it ends lane 0); empty until then.
    public private(set) var recordedMaps = MappingTable([])
    /// The record that did not fit the last block: a verified copy (never
    /// the view, whose bytes may belong to the segment's next life by now).
    var pending: VerifiedAccessRecord?
    var stopped = false

    /// A stream over `reader` (positioned at `filter.since` here).
    public init(reader: VolumeReader, filter: RecordFilter = RecordFilter()) throws(TraceError) {
        self.reader = reader
        self.filter = filter
        try filter.prepare(reader)
    }

    /// Refills `block` with the next accesses (whole batches only) and
    /// returns false once no access is left. A volume with no access batch
    /// returns false at once. Throws reading errors (`TraceError`) and
    /// malformed batches (`FormatError`, wrapped as `.damaged`); damage met
    /// after some accesses went into `block` is thrown at the next call, so
    /// every access read before it is handed out.
    public func next(into block: AccessBlock) throws(TraceError) -> Bool {
        block.removeAll()
        if let p = pending {
            pending = nil
            guard try p.append(to: block) else { preconditionFailure("an empty block takes any record") }
            batches += 1
        }
        while !stopped {
            let next: RecordView?
            do throws(TraceError) { next = try reader.next() } catch {
                // The accesses of records read before the damage go out first; the
                // merged reader throws it again at the next call (adversary s25:
                // `export` lost the block it was filling).
                if block.count > 0 { return true }
                throw error
            }
            guard let r = next else { break }
            guard AccessScan.carriesAccesses(r.kind) else {
                if r.kind == .marker { noteMarker(r) }
                continue
            }
            switch filter.verdict(lane: r.lane, timestamp: r.timestamp) {
            case .stop: stopped = true; continue
            case .skip: continue
            case .take: break
            }
            let fits: Bool
            do throws(FormatError) {
                fits = try r.decodePayload { (p) throws(FormatError) -> Bool in
                    try block.append(kind: r.kind, payload: p, lane: r.lane, timestamp: r.timestamp)
                }
            } catch {
                throw .damaged(error)
            }
            if !fits {
                pending = try VerifiedAccessRecord(r, volume: reader.info)
                return true
            }
            batches += 1
        }
        return block.count > 0
    }

    func noteMarker(_ r: RecordView) {
        let prefix = MappingTable.markerPrefix
        r.withContiguousPayload { p in
            guard p.count >= prefix.count, p.prefix(prefix.count).elementsEqual(prefix) else { return }
            recordedMaps = MappingTable(ProcMapsLine.parse(String(decoding: p.dropFirst(prefix.count), as: UTF8.self)))
        }
    }
}
