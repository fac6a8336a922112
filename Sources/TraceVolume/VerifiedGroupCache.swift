import TraceFormat

/// A reader's copy of the record group (FORMAT.md §7.1) it last handed out a
/// member of, checked against the group's checksum as a whole, so that copying
/// members out verified costs one copy and one checksum pass per group, not
/// per member (`LaneReader.read(into:)`, `RecordView.copyVerified`).
///
/// The copy is keyed by the group's place in the mapping, its sequence and the
/// checksum seed of its segment (the segment header's CRC, which changes when
/// the segment is reused or reclaimed), and is only ever filled from bytes
/// that passed the checksum, so every byte served from it was verified.
///
/// Thread safety: not thread-safe; owned by one reader and the views it made,
/// which stay on the reader's thread. Memory: one group (at most a segment).
final class VerifiedGroupCache {
    private var record: UnsafeRawPointer?
    private var sequence: UInt64 = 0
    private var seed: UInt32 = 0
    private var bytes: [UInt8] = []

    /// Calls `body` with the payload of member fragment `f` from a verified
    /// copy of its group: the cached one when it is that group's, else a fresh
    /// copy checked against the group's checksum. O(group) on a miss, O(1)
    /// otherwise (plus `body`).
    /// - Throws: `.recordChanged` when a fresh copy fails its checks (the
    ///   group changed under the copy); the cache is then empty.
    func withVerifiedPayload<R>(_ f: RecordFragment, crc: CRC32C.Function, _ body: (UnsafeRawBufferPointer) -> R) throws(TraceError) -> R {
        if record != f.record || sequence != f.recordSequence || seed != f.seed {
            record = nil
            let footprint = Layout.recordHeaderSize + f.recordLength
            if bytes.count < footprint { bytes = [UInt8](repeating: 0, count: footprint) }
            let ok = bytes.withUnsafeMutableBytes { b -> Bool in
                let p = b.baseAddress!
                p.copyMemory(from: f.record, byteCount: footprint)
                let h = RecordHeader.decodeFields(UnsafeRawPointer(p))
                return Int(h.payloadLength) == f.recordLength && h.sequence == f.recordSequence
                    && RecordHeader.storedCRC(UnsafeRawPointer(p))
                        == RecordHeader.checksum(seed: f.seed, header: p, payload: p + Layout.recordHeaderSize, count: f.recordLength, crc: crc)
            }
            guard ok else { throw .recordChanged(segment: f.segment, offset: f.offset) }
            (record, sequence, seed) = (f.record, f.recordSequence, f.seed)
        }
        // Safe: f lies inside its group (start + length ≤ recordLength, checked when the group was read).
        return bytes.withUnsafeBytes { b in body(UnsafeRawBufferPointer(start: b.baseAddress! + Layout.recordHeaderSize + f.start, count: f.length)) }
    }
}
