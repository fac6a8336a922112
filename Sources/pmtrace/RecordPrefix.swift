import TraceVolume

/// The first bytes of a record's payload, gathered across fragments into a
/// bounded buffer: what `dump` needs to describe a record (counts, a page
/// image's address, a marker's text) without copying the whole record.
enum RecordPrefix {
    /// Enough for every kind `dump` describes: a page image (16 + 4096 bytes)
    /// is the largest.
    static let dumpBytes = 8192

    /// Calls `body` with at most `limit` leading payload bytes; in place when
    /// the first fragment holds them, else copied into a buffer of `limit` bytes.
    static func with<R>(_ r: RecordView, upTo limit: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let wanted = min(limit, r.length)
        if r.payload.count >= wanted { return try body(UnsafeRawBufferPointer(rebasing: r.payload.prefix(wanted))) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(wanted)
        r.forEachFragment { fragment in
            let room = wanted - bytes.count
            if room > 0 { bytes.append(contentsOf: fragment.prefix(room)) }
        }
        return try bytes.withUnsafeBytes(body)
    }
}
