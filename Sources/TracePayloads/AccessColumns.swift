import TraceFormat

/// Where `AccessColumns.decode` writes: one caller-owned array per column,
/// each with room for the batch's accesses. A nil column is not wanted and
/// is skipped (decoding still validates every entry).
///
/// The pointers are the caller's: the decoder writes `count` elements from
/// the index it is given and keeps nothing.
public struct AccessColumnPointers {
    /// Access kind (0 load, 1 store, 2 modify, 3 instruction fetch).
    public var kind: UnsafeMutablePointer<UInt8>?
    /// Access size in bytes.
    public var size: UnsafeMutablePointer<UInt32>?
    /// The recorded address (guest-physical for a VM, virtual for a process).
    public var address: UnsafeMutablePointer<UInt64>?
    /// The guest virtual address; 0 when the batch does not record it.
    public var virtual: UnsafeMutablePointer<UInt64>?
    /// The accessing instruction's PC; 0 when the batch does not record it.
    public var pc: UnsafeMutablePointer<UInt64>?

    /// Columns; nil ones are skipped.
    public init(kind: UnsafeMutablePointer<UInt8>? = nil, size: UnsafeMutablePointer<UInt32>? = nil,
                address: UnsafeMutablePointer<UInt64>? = nil, virtual: UnsafeMutablePointer<UInt64>? = nil,
                pc: UnsafeMutablePointer<UInt64>? = nil) {
        self.kind = kind
        self.size = size
        self.address = address
        self.virtual = virtual
        self.pc = pc
    }
}

/// Decodes the accesses of a memory-access batch (kind 2 or 12, FORMAT.md §8.2, §8.12) or
/// a guest-access batch (kind 9, §8.9) into columns, with no allocation and no
/// closure per access: the bulk path under `hot`, `export` and the C reader
/// API (`pmt_decode_accesses`). Embedded-clean.
public enum AccessColumns {
    /// What a batch header says, validated against the payload's length.
    public struct BatchShape: Equatable, Sendable {
        /// Accesses in the batch.
        public var count: Int
        /// Optional addresses the entries carry (empty for kind 2).
        public var fields: GuestAccessBatch.Fields
        /// Bytes of header before the first entry.
        public var headerBytes: Int
    }

    /// The shape of a payload of `kind`, or nil when the kind carries no
    /// accesses. Throws when the header is short, names unknown fields, or
    /// claims more entries than the payload can hold (an entry is at least
    /// 2 bytes), so `count` is a safe capacity bound. O(1).
    public static func shape(kind: RecordKind, payload: UnsafeRawBufferPointer) throws(FormatError) -> BatchShape? {
        switch kind {
        case .memoryAccessBatch, .memoryAccessStreams:
            let s = Structure.payload(kind: kind.rawValue)
            guard let n = MemoryAccessBatch.count(payload) else { throw .truncated(s, needed: 8, available: payload.count) }
            let room = (payload.count - MemoryAccessBatch.headerBytes) / 2
            guard n <= room else { throw .invalidField(s, field: "count", value: UInt64(n)) }
            return BatchShape(count: n, fields: [], headerBytes: MemoryAccessBatch.headerBytes)
        case .guestAccessBatch:
            let h = try GuestAccessBatch.header(payload)
            let room = (payload.count - GuestAccessBatch.headerBytes) / 2
            guard Int(h.count) <= room else {
                throw .invalidField(.payload(kind: kind.rawValue), field: "count", value: UInt64(h.count))
            }
            return BatchShape(count: Int(h.count), fields: h.fields, headerBytes: GuestAccessBatch.headerBytes)
        default:
            return nil
        }
    }

    /// Decodes every access of `payload` (a record of `kind`) into `columns`
    /// at indices `at ..< at + shape.count` and returns the shape (nil for a
    /// kind without accesses; nothing written). Throws on a malformed
    /// payload; the columns may then hold part of the batch.
    /// Precondition: every non-nil column has room for `at + shape.count`
    /// elements (check `shape(kind:payload:)` first). O(accesses).
    @inlinable
    public static func decode(kind: RecordKind, payload: UnsafeRawBufferPointer, into columns: AccessColumnPointers,
                              at start: Int) throws(FormatError) -> BatchShape? {
        guard let shape = try shape(kind: kind, payload: payload) else { return nil }
        var reader = AccessEntryReader(payload: payload, kind: kind, fields: shape.fields, headerBytes: shape.headerBytes)
        // The pointers as locals: read through `columns` the compiler reloads them after every
        // store (a column could alias the struct holding them).
        let kinds = columns.kind, sizes = columns.size, addresses = columns.address, virtuals = columns.virtual, pcs = columns.pc
        for n in start..<(start + shape.count) {
            let a = try reader.next()
            kinds?[n] = a.kind.rawValue
            sizes?[n] = a.size
            addresses?[n] = a.physical
            virtuals?[n] = a.virtual
            pcs?[n] = a.pc
        }
        return shape
    }
}
