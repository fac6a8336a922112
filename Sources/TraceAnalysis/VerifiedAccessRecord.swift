import TraceFormat
import TraceVolume

/// A record of accesses copied out of the mapping and checked against its
/// checksum as it was copied (`RecordView.verifiedBytes()`): decoding it
/// later reads exactly what was committed, whatever a concurrent writer did
/// to the segment meanwhile. Memory: the payload.
struct VerifiedAccessRecord {
    let kind: RecordKind
    let lane: Int
    let timestamp: UInt64
    let sequence: UInt64
    let segment: UInt64
    let offset: Int
    let bytes: [UInt8]

    /// Copies `r` out verified. Throws, as the reader does for a reclaim it
    /// meets, `overwrittenWhileReading` when a ring writer reclaimed the
    /// segment since `r` was handed out; `recordChanged` when the segment
    /// was reused otherwise (the volume deleted under the reader).
    init(_ r: RecordView, volume: VolumeInfo) throws(TraceError) {
        kind = r.kind
        lane = r.lane
        timestamp = r.timestamp
        sequence = r.sequence
        segment = r.segment
        offset = r.offset
        do { bytes = try r.verifiedBytes() } catch {
            guard case .recordChanged = error, volume.ring else { throw error }
            throw .overwrittenWhileReading(volume: volume.name, lane: r.lane)
        }
    }

    /// Appends the accesses to `block` (false: they do not fit; an empty
    /// block takes them). A malformed payload throws `.damaged`, naming the
    /// record as `RecordView.decodePayload` does.
    func append(to block: AccessBlock) throws(TraceError) -> Bool {
        let decoded = bytes.withUnsafeBytes { p in
            Result { () throws(FormatError) -> Bool in try block.append(kind: kind, payload: p, lane: lane, timestamp: timestamp) }
        }
        switch decoded {
        case .success(let fits): return fits
        case .failure(let error):
            guard case .payload(let k)? = error.structure else { throw .damaged(error) }
            throw .damaged(error.about(.recordPayload(kind: k, lane: lane, sequence: sequence, segment: segment, offset: UInt64(offset))))
        }
    }
}
