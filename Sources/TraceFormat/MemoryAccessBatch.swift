/// One memory access from a trace.
public struct MemoryAccess: Equatable, Hashable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case load = 0
        case store = 1
        case modify = 2
        case instructionFetch = 3

        public var name: String {
            switch self {
            case .load: return "load"
            case .store: return "store"
            case .modify: return "modify"
            case .instructionFetch: return "instruction-fetch"
            }
        }
    }

    public var kind: Kind
    public var address: UInt64
    public var size: UInt32

    public init(kind: Kind, address: UInt64, size: UInt32) {
        self.kind = kind
        self.address = address
        self.size = size
    }
}

/// The compact payload of a `.memoryAccessBatch` record (FORMAT.md §8.2):
/// `u32 count, u32 reserved`, then per access one tag byte (bits 0-1 kind,
/// bits 2-7 size 0...62, or 63 = a LEB128 size follows) and the zigzag LEB128
/// difference from the previous address (the first from 0). Typical lackey
/// traces take 2-4 bytes per access.
public enum MemoryAccessBatch {
    /// Encodes `accesses` as a payload. O(n).
    public static func encode(_ accesses: UnsafeBufferPointer<MemoryAccess>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(8 + accesses.count * 4)
        let count = UInt32(accesses.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: count >> UInt32(shift))) }
        for _ in 0..<4 { out.append(0) }
        var previous: UInt64 = 0
        for a in accesses {
            let small = a.size < 63
            out.append(a.kind.rawValue | UInt8(small ? a.size : 63) << 2)
            if !small { Varint.append(UInt64(a.size), to: &out) }
            // Wrapping difference: any two addresses have one.
            Varint.append(Varint.zigzag(Int64(bitPattern: a.address &- previous)), to: &out)
            previous = a.address
        }
    }

    /// The number of accesses a payload says it holds (nil if under 8 bytes).
    public static func count(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard payload.count >= 8, let p = payload.baseAddress else { return nil }
        return Int(p.loadLE(0, as: UInt32.self))
    }

    /// Calls `body` for each access in order. Validates as it goes: a payload
    /// that ends early or holds a malformed varint throws, naming the kind.
    public static func forEach(
        _ payload: UnsafeRawBufferPointer, _ body: (MemoryAccess) -> Void
    ) throws(FormatError) {
        let s = Structure.payload(kind: RecordKind.memoryAccessBatch.rawValue)
        guard let count = count(payload) else { throw .truncated(s, needed: 8, available: payload.count) }
        var i = 8
        var previous: UInt64 = 0
        for _ in 0..<count {
            guard i < payload.count else { throw .truncated(s, needed: i + 1, available: payload.count) }
            let tag = payload[i]
            i += 1
            var size = UInt64(tag >> 2)
            if size == 63 {
                guard let v = Varint.read(payload, &i), v <= UInt64(UInt32.max) else {
                    throw .invalidField(s, field: "size varint", value: UInt64(i))
                }
                size = v
            }
            guard let d = Varint.read(payload, &i) else {
                throw .invalidField(s, field: "address varint", value: UInt64(i))
            }
            previous = previous &+ UInt64(bitPattern: Varint.unzigzag(d))
            body(MemoryAccess(kind: MemoryAccess.Kind(rawValue: tag & 3)!, address: previous, size: UInt32(size)))
        }
    }
}
