import TraceFormat

extension SymbolChunk {
    /// Checks every property a lookup relies on (FORMAT.md §8.8), in
    /// O(count + bucketCount) without allocating:
    /// - `count ≥ 1`; every entry has `size ≥ 1`, `start + size ≤ 2^64 − 1`
    ///   and `symbolOffset ≤ start`; entries are sorted and do not overlap
    ///   (`start[i] ≥ start[i−1] + size[i−1]`);
    /// - `lowest` is the first entry's start and `highest` the last entry's end;
    /// - every `bucket[i]` is the number of entries with
    ///   `start < lowest + (i << bucketShift)` (all entries when that sum
    ///   exceeds 2^64 − 1), and `bucket[bucketCount] = count`;
    /// - every `nameOffset < stringBytes`, and the pool ends with a NUL, so
    ///   every name is NUL-terminated inside the pool.
    ///
    /// After it succeeds, `find` returns exactly the entry covering an
    /// address. Without it, `find` still never traps or reads out of bounds,
    /// but may answer wrongly.
    public func validate() throws(FormatError) {
        let s = Structure.payload(kind: RecordKind.symbolChunk.rawValue)
        guard count >= 1 else { throw .invalidField(s, field: "count (must be at least 1)", value: 0) }
        guard strings.count >= 1, strings[strings.count - 1] == 0 else {
            throw .invalidField(s, field: "stringBytes (pool must end with a NUL)", value: UInt64(strings.count))
        }
        var previousEnd: UInt64 = 0
        for i in 0..<count {
            let e = entry(i)
            guard e.size >= 1 else { throw .invalidField(s, field: "size of entry \(i)", value: 0) }
            let (end, wrapped) = e.start.addingReportingOverflow(UInt64(e.size))
            guard !wrapped else { throw .invalidField(s, field: "start of entry \(i) (start + size passes 2^64)", value: e.start) }
            guard i == 0 || e.start >= previousEnd else {
                throw .invalidField(s, field: "start of entry \(i) (below the end of entry \(i - 1))", value: e.start)
            }
            guard UInt64(e.symbolOffset) <= e.start else {
                throw .invalidField(s, field: "symbolOffset of entry \(i) (above its start)", value: UInt64(e.symbolOffset))
            }
            guard Int(e.nameOffset) < strings.count else {
                throw .invalidField(s, field: "nameOffset of entry \(i) (outside the string pool)", value: UInt64(e.nameOffset))
            }
            previousEnd = end
        }
        guard lowest == start(0) else { throw .invalidField(s, field: "lowest start (not entry 0's start)", value: lowest) }
        guard highest == previousEnd else { throw .invalidField(s, field: "highest end (not the last entry's end)", value: highest) }
        var below = 0  // entries with start < the current bucket's boundary
        for i in 0...bucketCount {
            // Overflow-checked: a boundary past 2^64 − 1 lies above every entry.
            let boundary: UInt64?
            if i == bucketCount || UInt64(i) > UInt64.max >> bucketShift {
                boundary = nil
            } else {
                let (sum, wrapped) = lowest.addingReportingOverflow(UInt64(i) << bucketShift)
                boundary = wrapped ? nil : sum
            }
            if let boundary {
                while below < count && start(below) < boundary { below += 1 }
            } else {
                below = count
            }
            let stored = buckets.loadLE(4 * i, as: UInt32.self)
            guard Int(stored) == below else { throw .invalidField(s, field: "bucket \(i) (should be \(below))", value: UInt64(stored)) }
        }
    }
}
