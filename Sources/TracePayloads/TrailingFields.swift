import TraceFormat

/// Variable-length byte fields stored back to back after a fixed header, with
/// their lengths in u16 header fields (process-map and symbol-table-info payloads).
enum TrailingFields {
    /// The fields of `lengths` starting at `offset`, copied out; nil when they
    /// run past the end of `payload`.
    static func split(_ payload: UnsafeRawBufferPointer, at offset: Int, lengths: [Int]) -> [[UInt8]]? {
        var out: [[UInt8]] = []
        var at = offset
        for n in lengths {
            guard n >= 0, at + n <= payload.count else { return nil }
            out.append([UInt8](UnsafeRawBufferPointer(rebasing: payload[at..<(at + n)])))
            at += n
        }
        return out
    }
}
