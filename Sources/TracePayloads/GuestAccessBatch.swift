import TraceFormat

/// One memory access of a virtual machine's guest: where it went in
/// guest-physical memory and, when the recorder had them, the guest virtual
/// address and the program counter of the instruction that made it.
public struct GuestAccess: Equatable, Sendable {
    /// Load, store, modify or instruction fetch (the kinds of `MemoryAccess`).
    public var kind: MemoryAccess.Kind
    /// Bytes accessed.
    public var size: UInt32
    /// Guest-physical address.
    public var physical: UInt64
    /// Guest virtual address (0 when the batch does not carry it).
    public var virtual: UInt64
    /// Guest program counter of the accessing instruction (0 when absent).
    public var pc: UInt64

    /// An access; `virtual` and `pc` are 0 when not recorded.
    @inlinable
    public init(kind: MemoryAccess.Kind, size: UInt32, physical: UInt64, virtual: UInt64 = 0, pc: UInt64 = 0) {
        self.kind = kind
        self.size = size
        self.physical = physical
        self.virtual = virtual
        self.pc = pc
    }
}

/// The payload of a `.guestAccessBatch` record (FORMAT.md §8.9, since 1.2):
/// a 16-byte header (`u32 count`, `u16 fields`, `u16 reserved`,
/// `u64 firstIndex`), then per access the tag byte of §8.2, the zigzag
/// LEB128 difference of the guest-physical address from the previous one,
/// and, when `fields` says so, the zigzag LEB128 change of `virtual −
/// physical` and the zigzag LEB128 difference of the PC from the previous
/// access. A guest's translation (`virtual − physical`) rarely changes from
/// one access to the next, so the virtual address usually costs one byte.
public enum GuestAccessBatch {
    /// Bits of the header's `fields`.
    public struct Fields: OptionSet, Sendable {
        /// The header's `u16 fields`.
        public let rawValue: UInt16
        /// Fields from the header's bits (unknown bits are kept; `header` refuses them).
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// Entries carry the guest virtual address.
        public static let virtual = Fields(rawValue: 1)
        /// Entries carry the program counter.
        public static let pc = Fields(rawValue: 2)
        /// A user-mode process (no guest-physical memory): the address field
        /// (`physical`) holds the virtual address; `.virtual` is then not set.
        public static let userMode = Fields(rawValue: 4)
        /// Every bit a 1.2 writer may set.
        public static let known: Fields = [.virtual, .pc, .userMode]
    }

    /// Bytes of the header.
    public static let headerBytes = 16
    /// Most bytes one access can take: tag, 5-byte size, three 10-byte varints.
    public static let maxAccessBytes = 36

    /// The header of a payload, validated (nil when under 16 bytes).
    public struct Header: Equatable, Sendable {
        /// Accesses in the batch.
        public var count: UInt32
        /// Which optional fields the entries carry.
        public var fields: Fields
        /// Index of the batch's first access among all the accesses of its
        /// lane (the recorder's own count: a gap between batches means
        /// accesses were not recorded).
        public var firstIndex: UInt64
    }

    /// Reads the header. Throws on a short payload or unknown field bits.
    public static func header(_ payload: UnsafeRawBufferPointer) throws(FormatError) -> Header {
        let s = Structure.payload(kind: RecordKind.guestAccessBatch.rawValue)
        guard payload.count >= headerBytes, let p = payload.baseAddress else {
            throw .truncated(s, needed: headerBytes, available: payload.count)
        }
        let fields = Fields(rawValue: p.loadLE(4, as: UInt16.self))
        guard Fields.known.isSuperset(of: fields), !fields.isSuperset(of: [.virtual, .userMode]) else {
            throw .invalidField(s, field: "fields", value: UInt64(fields.rawValue))
        }
        return Header(count: p.loadLE(0, as: UInt32.self), fields: fields, firstIndex: p.loadLE(8, as: UInt64.self))
    }

    /// Calls `body` for each access in order; validates as it goes (a payload
    /// that ends early or holds a malformed varint throws, naming the field).
    public static func forEach(_ payload: UnsafeRawBufferPointer, _ body: (GuestAccess) -> Void) throws(FormatError) {
        let h = try header(payload)
        var reader = AccessEntryReader(payload: payload, kind: .guestAccessBatch, fields: h.fields, headerBytes: headerBytes)
        for _ in 0..<h.count { body(try reader.next()) }
    }

    /// Builds one payload in a caller-owned buffer with no allocation (the
    /// bare-metal writer keeps one per lane). Cost: O(1) per access.
    public struct Encoder {
        /// Where the payload is built (at least `headerBytes + maxAccessBytes`).
        public let buffer: UnsafeMutableRawBufferPointer
        /// Accesses encoded since the last `reset`.
        @inlinable public var count: Int { _count }
        /// Bytes of the payload so far, the header included.
        @inlinable public var byteCount: Int { _byteCount }
        /// The fields every entry of this payload carries.
        @inlinable public var fields: Fields { _fields }
        /// The header's `firstIndex`.
        public private(set) var firstIndex: UInt64 = 0
        @usableFromInline var _count = 0
        @usableFromInline var _byteCount = GuestAccessBatch.headerBytes
        @usableFromInline var _fields: Fields = []
        // The fields as flags, tested per access (inlined into the writer's loop).
        @usableFromInline var hasVirtual = false, hasPC = false
        @usableFromInline var physical: UInt64 = 0, translation: UInt64 = 0, pc: UInt64 = 0

        /// An encoder over `buffer` (caller-owned, at least `headerBytes +
        /// maxAccessBytes`; precondition), empty, with no optional fields
        /// until `reset(fields:firstIndex:)`.
        public init(buffer: UnsafeMutableRawBufferPointer) {
            precondition(buffer.baseAddress != nil && buffer.count >= GuestAccessBatch.headerBytes + GuestAccessBatch.maxAccessBytes,
                         "guest access batch buffer too small")
            self.buffer = buffer
        }

        /// Whether `append` can take one more access.
        @inlinable
        public var hasRoom: Bool { buffer.count - _byteCount >= GuestAccessBatch.maxAccessBytes && _count < Int(UInt32.max) }

        /// Starts a new, empty payload whose entries carry `fields` and whose
        /// first access has index `firstIndex` in its lane.
        public mutating func reset(fields: Fields, firstIndex: UInt64) {
            precondition(Fields.known.isSuperset(of: fields) && !fields.isSuperset(of: [.virtual, .userMode]), "unknown guest access fields")
            _count = 0
            _byteCount = GuestAccessBatch.headerBytes
            _fields = fields
            hasVirtual = fields.contains(.virtual)
            hasPC = fields.contains(.pc)
            self.firstIndex = firstIndex
            physical = 0; translation = 0; pc = 0
        }

        /// Encodes `a` after the accesses before it (fields the payload does
        /// not carry are ignored). Precondition: `hasRoom`. Inlinable: the
        /// writer's loop (the QEMU plugin's encoder thread) runs it per access.
        @inlinable
        public mutating func append(_ a: GuestAccess) {
            precondition(hasRoom, "guest access batch full")
            let p = buffer.baseAddress! + _byteCount
            let small = a.size < 63
            p.storeBytes(of: a.kind.rawValue | UInt8(small ? a.size : 63) << 2, as: UInt8.self)
            var n = 1
            if !small { n += Varint.storeWide(UInt64(a.size), at: p + n) }
            // Wrapping differences: any two values have one.
            n += Varint.storeWide(Varint.zigzag(Int64(bitPattern: a.physical &- physical)), at: p + n)
            physical = a.physical
            if hasVirtual {
                let t = a.virtual &- a.physical
                let z = Varint.zigzag(Int64(bitPattern: t &- translation))
                // The translation rarely changes: a predictable one-byte path.
                if z < 0x80 {
                    p.storeBytes(of: UInt8(truncatingIfNeeded: z), toByteOffset: n, as: UInt8.self)
                    n += 1
                } else {
                    n += Varint.storeWide(z, at: p + n)
                }
                translation = t
            }
            if hasPC {
                n += Varint.storeWide(Varint.zigzag(Int64(bitPattern: a.pc &- pc)), at: p + n)
                pc = a.pc
            }
            _byteCount += n
            _count += 1
        }

        /// The payload so far with its header filled in; valid until the next
        /// `append` or `reset`.
        public func payload() -> UnsafeRawBufferPointer {
            let p = buffer.baseAddress!
            p.storeLE(UInt32(truncatingIfNeeded: count), at: 0)
            p.storeLE(fields.rawValue, at: 4)
            p.storeLE(UInt16(0), at: 6)
            p.storeLE(firstIndex, at: 8)
            return UnsafeRawBufferPointer(start: p, count: byteCount)
        }
    }
}
