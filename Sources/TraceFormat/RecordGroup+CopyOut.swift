extension RecordGroup {
    /// A one-pass copy-and-checksum function (what hosted builds pass as
    /// `pmt_crc32c_copy`): copies a prefix of `count` bytes from the source to
    /// the destination, extends the CRC32C at the first argument over it, and
    /// returns the prefix's length (0 when it has no one-pass path).
    public typealias CopyChecksumFunction = @convention(c) (UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int

    /// `checksumAndCount` over a copy: copies the group payload to `sink` one
    /// `scanChunk` at a time, extending `state` over the bytes as they are
    /// copied (with `copy` in one pass, else copy, then checksum the copy), and
    /// walks the member headers of each chunk in the copy right after it, while
    /// the chunk is still in L1. Everything it returns describes the bytes in
    /// `sink`, so a caller that compares the CRC with the stored one knows the
    /// copy is exactly what was committed, whatever happens to `payload`
    /// meanwhile.
    ///
    /// Why: a batch read of small records (`LaneReader.read(batchInto:)`) then
    /// reads the group from memory once; checksumming in place and copying the
    /// members afterwards ran the two memory-bound passes one after the other
    /// (`_profile-read 64`: 9.0–9.6 ns a record, the sum of the two).
    ///
    /// - Returns: the extended CRC; the member count when the fast check
    ///   accepted every member (nil: `validate` on the copy gives the exact
    ///   answer); the offset of the last member's header (meaningful with a
    ///   count); the payload length all members share, or nil when they
    ///   differ (meaningful with a count). Writes only `[sink, sink + payload.count)`; reads nothing
    ///   outside `payload`. O(payload).
    public static func copyChecksumAndCount(_ payload: UnsafeRawBufferPointer, to sink: UnsafeMutableRawPointer, group: RecordHeader,
                                            state: UInt32, copy: CopyChecksumFunction?,
                                            crc: CRC32C.Function) -> (crc: UInt32, count: Int?, lastMember: Int, uniformLength: Int?) {
        let n = payload.count
        guard let p = payload.baseAddress, n > 0 else { return (state, nil, 0, nil) }
        // As in validate's fast pass: with this headroom no member's sequence or timestamp can overflow.
        var ok = n % 8 == 0 && group.timestamp <= UInt64.max - UInt64(UInt32.max) && group.sequence <= UInt64.max - UInt64(n / 8)
        var sum = state
        var done = 0
        var walk = MemberWalk()
        let q = UnsafeRawPointer(sink)
        while done < n {
            let chunk = min(scanChunk, n &- done)  // done < n: no overflow
            var copied = 0
            if let copy { copied = copy(&sum, sink + done, p + done, chunk) }
            if copied < chunk {
                (sink + done + copied).copyMemory(from: p + done + copied, byteCount: chunk &- copied)
                sum = crc(sum, q + done + copied, chunk &- copied)
            }
            done &+= chunk
            walk.advance(q, through: done, payloadCount: n, ok: &ok)
        }
        return (sum, ok && walk.at == n && !walk.badKind ? walk.count : nil, walk.last, walk.uniform >= 0 ? walk.uniform : nil)
    }
}
