import TraceFormat
import TracePayloads
import TraceVolume

/// One access of a trace, whichever record kind carried it.
public struct TraceAccess: Equatable, Sendable {
    /// Load, store, modify or instruction fetch.
    public var kind: MemoryAccess.Kind
    /// Bytes accessed.
    public var size: UInt32
    /// The recorded address: guest-physical for a VM recording, virtual for
    /// a process (lackey imports, `pmtrace record`).
    public var address: UInt64
    /// The guest virtual address of a VM access, when recorded.
    public var virtual: UInt64?
    /// The PC of the accessing instruction, when recorded.
    public var pc: UInt64?
}

/// Reads the accesses of memory-access batches (kinds 2 and 12) and
/// guest-access batches (kind 9) alike.
public enum AccessScan {
    /// Whether records of `kind` carry accesses.
    public static func carriesAccesses(_ kind: RecordKind) -> Bool {
        MemoryAccessBatch.isBatch(kind) || kind == .guestAccessBatch
    }

    /// Calls `body` for each access of `payload` (a record of `kind`), in
    /// order; does nothing for other kinds. Throws on a malformed payload.
    /// O(accesses).
    public static func forEach(kind: RecordKind, payload: UnsafeRawBufferPointer, _ body: (TraceAccess) -> Void) throws(FormatError) {
        switch kind {
        case .memoryAccessBatch, .memoryAccessStreams:
            try MemoryAccessBatch.forEach(payload, kind: kind) { a in body(TraceAccess(kind: a.kind, size: a.size, address: a.address)) }
        case .guestAccessBatch:
            let fields = try GuestAccessBatch.header(payload).fields
            let hasVirtual = fields.contains(.virtual), hasPC = fields.contains(.pc)
            try GuestAccessBatch.forEach(payload) { a in
                body(TraceAccess(kind: a.kind, size: a.size, address: a.physical,
                                 virtual: hasVirtual ? a.virtual : nil, pc: hasPC ? a.pc : nil))
            }
        default:
            return
        }
    }
}
