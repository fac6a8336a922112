import TraceFormat

/// Reads, one at a time, the entries kind-2 (FORMAT.md §8.2), kind-12
/// (§8.12) and kind-9 (§8.9) payloads share: the tag (kind, size, extended
/// size), the address delta (from the previous access, or for kind 12 from
/// the previous access of the same kind) and, when `fields` says so, the
/// translation and PC deltas. The one decoder of those entries:
/// `MemoryAccessBatch.forEach`, `GuestAccessBatch.forEach` and
/// `AccessColumns.decode` all use it. Every read is bounds-checked;
/// differences wrap modulo 2^64 by definition.
public struct AccessEntryReader {
    /// The payload being read (header included).
    public let payload: UnsafeRawBufferPointer
    @usableFromInline let structure: Structure
    @usableFromInline let hasVirtual: Bool
    @usableFromInline let hasPC: Bool
    /// Offset of the next entry.
    public var offset: Int { _offset }
    @usableFromInline var _offset: Int
    /// The previous address of each stream (only element 0 unless kind 12).
    @usableFromInline var previous = AddressStreams()
    /// The previous address when there is one stream (kinds 2 and 9): a
    /// plain field, so the optimizer keeps it in a register across a
    /// decode loop (`previous` is indexed by stream, which keeps it in
    /// memory: a store-to-load forward on every access's critical path).
    @usableFromInline var last: UInt64 = 0
    /// Access kind → stream: 3 for kind 12, 0 (one stream) otherwise.
    @usableFromInline let streamMask: UInt8
    @usableFromInline var translation: UInt64 = 0
    @usableFromInline var pc: UInt64 = 0

    /// A reader of `payload` (a record of `kind`) whose entries start at
    /// `headerBytes` and carry `fields`. O(1).
    @inlinable
    public init(payload: UnsafeRawBufferPointer, kind: RecordKind, fields: GuestAccessBatch.Fields, headerBytes: Int) {
        self.payload = payload
        structure = .payload(kind: kind.rawValue)
        hasVirtual = fields.contains(.virtual)
        hasPC = fields.contains(.pc)
        streamMask = kind == .memoryAccessStreams ? 3 : 0
        _offset = headerBytes
    }

    /// The next entry: `physical` is the entry's address (guest-physical for
    /// kind 9, the recorded address for kind 2 and the user-mode form);
    /// `virtual` and `pc` are 0 when the payload does not carry them. Throws
    /// when the payload ends early or a varint is malformed, naming the field.
    @inlinable @inline(__always)
    public mutating func next() throws(FormatError) -> GuestAccess {
        guard _offset < payload.count else { throw .truncated(structure, needed: _offset + 1, available: payload.count) }
        let tag = payload[_offset]
        _offset += 1
        var size = UInt64(tag >> 2)
        if size == 63 {
            guard let v = Varint.read(payload, &_offset), v <= UInt64(UInt32.max) else {
                throw .invalidField(structure, field: "size varint", value: UInt64(_offset))
            }
            size = v
        }
        guard let d = Varint.read(payload, &_offset) else { throw .invalidField(structure, field: "address varint", value: UInt64(_offset)) }
        let delta = UInt64(bitPattern: Varint.unzigzag(d))
        let address: UInt64
        if streamMask == 0 {
            address = last &+ delta
            last = address
        } else {
            address = previous.advance(Int(tag & streamMask), by: delta)
        }
        // Safe: `tag & 3` is 0...3, every case of the kind; size ≤ UInt32.max (checked).
        var access = GuestAccess(kind: MemoryAccess.Kind(rawValue: tag & 3)!, size: UInt32(truncatingIfNeeded: size), physical: address)
        if hasVirtual {
            guard let t = Varint.read(payload, &_offset) else { throw .invalidField(structure, field: "virtual varint", value: UInt64(_offset)) }
            translation = translation &+ UInt64(bitPattern: Varint.unzigzag(t))
            access.virtual = address &+ translation
        }
        if hasPC {
            guard let q = Varint.read(payload, &_offset) else { throw .invalidField(structure, field: "pc varint", value: UInt64(_offset)) }
            pc = pc &+ UInt64(bitPattern: Varint.unzigzag(q))
            access.pc = pc
        }
        return access
    }
}
