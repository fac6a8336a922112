import TraceFormat

/// One memory access from a trace.
public struct MemoryAccess: Equatable, Sendable {
    /// What the access did (FORMAT.md §8.2).
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// A data read.
        case load = 0
        /// A data write.
        case store = 1
        /// A read-modify-write.
        case modify = 2
        /// An instruction fetch.
        case instructionFetch = 3

        /// The kind's name as the CLI prints it ("load", "store", "modify", "instruction-fetch").
        public var name: String {
            switch self {
            case .load: return "load"
            case .store: return "store"
            case .modify: return "modify"
            case .instructionFetch: return "instruction-fetch"
            }
        }
    }

    /// What the access did.
    public var kind: Kind
    /// The address accessed.
    public var address: UInt64
    /// Bytes accessed.
    public var size: UInt32

    /// An access of `size` bytes at `address`.
    public init(kind: Kind, address: UInt64, size: UInt32) {
        self.kind = kind
        self.address = address
        self.size = size
    }
}

// Hashing would pull the random hashing seed (arc4random_buf) into the
// bare-metal archive; nothing on the Embedded writer path hashes accesses.
#if !hasFeature(Embedded)
extension MemoryAccess: Hashable {}
#endif

/// The compact payload of a `.memoryAccessBatch` record (FORMAT.md §8.2):
/// `u32 count, u32 reserved`, then per access one tag byte (bits 0-1 kind,
/// bits 2-7 size 0...62, or 63 = a LEB128 size follows) and the zigzag LEB128
/// difference from the previous address (the first from 0). Typical lackey
/// traces take 4.25 bytes per access.
///
/// A `.memoryAccessStreams` record (kind 12, §8.12, since 1.3) has the same
/// bytes except that each address is a difference from the previous access
/// *of the same kind*: instruction fetches, loads and stores each follow
/// their own locality, so the same lackey trace takes 2.47 bytes per access.
public enum MemoryAccessBatch {
    /// Whether `kind` is one of the two memory-access batch kinds (2 or 12).
    @inlinable
    public static func isBatch(_ kind: RecordKind) -> Bool {
        kind == .memoryAccessBatch || kind == .memoryAccessStreams
    }

    /// The batch kind a writer uses in a region formatted as version
    /// `1.minor`: kind 12 from 1.3 on, kind 2 before (so readers of the
    /// region's own version read everything written into it).
    @inlinable
    public static func kind(forRegionMinor minor: UInt16) -> RecordKind {
        minor >= 3 ? .memoryAccessStreams : .memoryAccessBatch
    }

    /// Encodes `accesses` as a payload of `kind` (2 or 12; the bytes
    /// `Encoder` produces for the same accesses). O(n).
    public static func encode(_ accesses: UnsafeBufferPointer<MemoryAccess>, kind: RecordKind = .memoryAccessBatch,
                              into out: inout [UInt8]) {
        let capacity = headerBytes + accesses.count * maxAccessBytes
        out = [UInt8](unsafeUninitializedCapacity: capacity) { bytes, initialized in
            var encoder = Encoder(unchecked: UnsafeMutableRawBufferPointer(bytes), kind: kind)
            for a in accesses { encoder.append(a) }
            initialized = encoder.payload().count
        }
    }

    /// The number of accesses a payload says it holds (nil if under 8 bytes).
    public static func count(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard payload.count >= 8, let p = payload.baseAddress else { return nil }
        return Int(p.loadLE(0, as: UInt32.self))
    }

    /// Calls `body` for each access in order of a payload of `kind` (2 or
    /// 12; precondition). Validates as it goes: a payload that ends early or
    /// holds a malformed varint throws, naming the kind.
    public static func forEach(
        _ payload: UnsafeRawBufferPointer, kind: RecordKind = .memoryAccessBatch, _ body: (MemoryAccess) -> Void
    ) throws(FormatError) {
        precondition(isBatch(kind), "not a memory-access batch kind")
        let s = Structure.payload(kind: kind.rawValue)
        guard let count = count(payload) else { throw .truncated(s, needed: 8, available: payload.count) }
        var reader = AccessEntryReader(payload: payload, kind: kind, fields: [], headerBytes: headerBytes)
        for _ in 0..<count {
            let a = try reader.next()
            body(MemoryAccess(kind: a.kind, address: a.physical, size: a.size))
        }
    }

    /// Bytes of the payload header (`u32 count, u32 reserved`).
    public static let headerBytes = 8
    /// Most bytes one access can take: the tag, a 5-byte size varint and a
    /// 10-byte address-difference varint.
    public static let maxAccessBytes = 16

    /// Builds one payload in a caller-owned buffer, access by access, with no
    /// allocation: the bare-metal writer keeps one per lane and turns it into
    /// a record when it is full. Produces exactly the bytes of
    /// `encode(_:kind:into:)` for the same accesses and kind.
    public struct Encoder {
        /// Where the payload is built (at least `headerBytes + maxAccessBytes`).
        public let buffer: UnsafeMutableRawBufferPointer
        /// The record kind the payload is for: 2 (one address stream) or 12
        /// (one per access kind).
        public let kind: RecordKind
        /// Accesses encoded since the last `reset()`.
        @inlinable public var count: Int { _count }
        /// Bytes of the payload so far, the header included.
        @inlinable public var byteCount: Int { _byteCount }
        @usableFromInline var _count = 0
        @usableFromInline var _byteCount = MemoryAccessBatch.headerBytes
        /// The previous address of each stream (only element 0 for kind 2).
        @usableFromInline var previous = AddressStreams()
        /// Access kind → stream: 3 for kind 12, 0 (one stream) for kind 2.
        @usableFromInline let streamMask: UInt8

        /// An encoder writing a payload of `kind` (2 or 12; precondition)
        /// into `buffer` (no allocation; the caller owns the buffer).
        public init(buffer: UnsafeMutableRawBufferPointer, kind: RecordKind = .memoryAccessBatch) {
            precondition(buffer.baseAddress != nil && buffer.count >= MemoryAccessBatch.headerBytes + MemoryAccessBatch.maxAccessBytes,
                         "access batch buffer too small")
            self.init(unchecked: buffer, kind: kind)
        }

        // For `encode(_:kind:into:)`, whose buffer holds every access by construction.
        @usableFromInline init(unchecked buffer: UnsafeMutableRawBufferPointer, kind: RecordKind) {
            precondition(MemoryAccessBatch.isBatch(kind), "not a memory-access batch kind")
            self.buffer = buffer
            self.kind = kind
            streamMask = kind == .memoryAccessStreams ? 3 : 0
        }

        /// Whether `append` can take one more access of any size and address.
        @inlinable
        public var hasRoom: Bool {
            buffer.count - byteCount >= MemoryAccessBatch.maxAccessBytes && count < Int(UInt32.max)
        }

        /// Encodes `a` after the accesses before it. Precondition: `hasRoom`.
        /// Always inlined, so the encoder's state stays in registers in the
        /// caller's loop (a call per access measured ~6 ns/access).
        @inlinable @inline(__always)
        public mutating func append(_ a: MemoryAccess) {
            precondition(hasRoom, "access batch full")
            let p = buffer.baseAddress! + byteCount
            let small = a.size < 63
            p.storeBytes(of: a.kind.rawValue | UInt8(small ? a.size : 63) << 2, as: UInt8.self)
            var n = 1
            if !small { n &+= Varint.storeWide(UInt64(a.size), at: p + n) }
            let stream = Int(a.kind.rawValue & streamMask)
            n &+= Varint.storeWide(Varint.zigzag(Int64(bitPattern: a.address &- previous.swap(stream, a.address))), at: p + n)
            // Cannot overflow: hasRoom held, so n ≤ maxAccessBytes bytes are left and count < UInt32.max.
            _byteCount &+= n
            _count &+= 1
        }

        /// Encodes accesses from `accesses` in order until all are taken or
        /// the buffer may not hold another one, and returns how many it took
        /// (0 only when `accesses` is empty or `hasRoom` is false: write the
        /// payload, `reset()`, call again with the rest). The bytes are
        /// exactly those of `append(_:)` for each access in turn; room is
        /// checked once per call (each access takes at most
        /// `maxAccessBytes`), not per access, and the state lives in locals.
        @inlinable
        public mutating func append(contentsOf accesses: UnsafeBufferPointer<MemoryAccess>) -> Int {
            let room = (buffer.count &- _byteCount) / MemoryAccessBatch.maxAccessBytes
            let limit = Swift.min(Swift.min(room, Int(UInt32.max) &- _count), accesses.count)
            guard limit > 0, let source = accesses.baseAddress else { return 0 }
            let mask = streamMask
            // Kind 2 (one stream): the per-access path, which measured as fast
            // or faster there (its differences jump between code, stack and
            // heap; 3.6-6.4 vs 4.0 ns/event for a loop like the one below).
            guard mask != 0 else {
                for i in 0..<limit { append(source[i]) }
                return limit
            }
            let base = buffer.baseAddress!
            var offset = _byteCount
            var streams = previous
            for i in 0..<limit {
                let a = source[i]
                let p = base + offset
                var n = 1
                if a.size < 63 {
                    p.storeBytes(of: a.kind.rawValue | UInt8(truncatingIfNeeded: a.size) &<< 2, as: UInt8.self)
                } else {
                    p.storeBytes(of: a.kind.rawValue | 63 &<< 2, as: UInt8.self)
                    n &+= Varint.storeWide(UInt64(a.size), at: p + 1)
                }
                let stream = Int(a.kind.rawValue & mask)
                let z = Varint.zigzag(Int64(bitPattern: a.address &- streams.swap(stream, a.address)))
                // Kind 12's per-kind differences are nearly all 1-2 bytes: the
                // short path predicts (2.85-3.1 vs 4.2-4.6 ns/event).
                n &+= Varint.storeShortFirst(z, at: p + n)
                offset &+= n
            }
            previous = streams
            _byteCount = offset
            _count &+= limit
            return limit
        }

        /// The payload so far (the count header filled in). Valid until the
        /// next `append` or `reset`.
        public func payload() -> UnsafeRawBufferPointer {
            let p = buffer.baseAddress!
            p.storeLE(UInt32(truncatingIfNeeded: count), at: 0)
            p.storeLE(UInt32(0), at: 4)
            return UnsafeRawBufferPointer(start: p, count: byteCount)
        }

        /// Starts a new payload (the first address of each stream is again relative to 0).
        public mutating func reset() {
            _count = 0
            _byteCount = MemoryAccessBatch.headerBytes
            previous = AddressStreams()
        }
    }
}
