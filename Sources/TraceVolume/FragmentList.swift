import TraceFormat

/// A record's pieces as they lie in the mapping: the first fragment inline
/// (no allocation for the common unsplit record) and any further ones. The
/// one implementation of walking, joining and copying a payload, shared by
/// `RecordView` and `BorrowedRecord`.
@usableFromInline
struct FragmentList {
    @usableFromInline let first: RecordFragment
    /// Fragments after the first; nil unless the record was split (so a
    /// record in one piece holds no array: nothing to retain or release).
    @usableFromInline let more: [RecordFragment]?
    /// Fragments after the first (empty unless the record was split).
    var rest: [RecordFragment] { more ?? [] }

    init(first: RecordFragment, rest: [RecordFragment]) {
        self.first = first
        more = rest.isEmpty ? nil : rest
    }

    @usableFromInline
    init(first: RecordFragment) {
        self.first = first
        more = nil
    }

    /// Total payload bytes. O(fragments).
    var length: Int { rest.reduce(first.length) { $0 + $1.length } }

    @inlinable
    func forEach<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        try body(first.payload)
        if let more { for f in more { try body(f.payload) } }
    }

    /// `body` with the whole payload in one buffer: in place when there is one
    /// fragment, else joined into a temporary buffer (one copy).
    func withContiguous<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if rest.isEmpty { return try body(first.payload) }
        let total = length
        return try withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 8) { buf throws(E) -> R in
            var at = 0
            for f in CollectionOfOne(first) + rest {
                if f.length > 0 { (buf.baseAddress! + at).copyMemory(from: f.payload.baseAddress!, byteCount: f.length) }
                at += f.length
            }
            return try body(UnsafeRawBufferPointer(start: buf.baseAddress, count: total))
        }
    }

    /// The whole payload, copied.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        forEach { out.append(contentsOf: $0) }
        return out
    }
}
