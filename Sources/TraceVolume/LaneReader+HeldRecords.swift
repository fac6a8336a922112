import TraceFormat

extension LaneReader {
    /// Whether every segment `r` lies in still holds the life `r` was checked
    /// in: each fragment's checksum seed is its segment header's CRC, and a
    /// ring reclaim or the reuse of a deleted volume's segment writes a new
    /// header (new sequence or owner), hence a new CRC. For a record checked
    /// earlier and handed out later (`VolumeReader` holds each lane's next
    /// record between calls), so that it is not handed out from a segment's
    /// next life. O(fragments): one 64-byte header read and check each.
    func stillInPlace(_ r: RecordView) -> Bool {
        guard (try? media.segmentHeader(r.first.segment))?.crc == r.first.seed else { return false }
        for f in r.rest where (try? media.segmentHeader(f.segment))?.crc != f.seed { return false }
        return true
    }
}
