/// The kind of a record (u16 on media; FORMAT.md §7).
public struct RecordKind: RawRepresentable, Hashable, Sendable {
    /// The kind's number as stored in the record header.
    public let rawValue: UInt16
    /// The kind numbered `rawValue` (any number; see `isAppendable`).
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Marks the end of a segment's records; never returned to readers.
    public static let endOfSegment = RecordKind(rawValue: 0)
    /// Opaque bytes (guest → VMM transfer, `pmtrace write`). Computed and
    /// inlinable: it is `LaneWriter.append`'s default kind, and the load of a
    /// stored global cost a call per append in callers of other modules.
    @inlinable public static var blob: RecordKind { RecordKind(rawValue: 1) }
    /// Memory accesses in the compact batch encoding (`MemoryAccessBatch`).
    public static let memoryAccessBatch = RecordKind(rawValue: 2)
    /// Up to 512 guest-physical page addresses from PML (`PMLBatch`).
    public static let pmlBatch = RecordKind(rawValue: 3)
    /// A guest-physical address and 4 KiB page contents (`PageImage`).
    public static let pageImage = RecordKind(rawValue: 4)
    /// UTF-8 annotation text.
    public static let marker = RecordKind(rawValue: 5)
    /// Which application is mapped where in which address space (`ProcessMapEntry`). Since 1.1.
    public static let processMap = RecordKind(rawValue: 6)
    /// Describes a symbol table: app, build-id, ELF facts (`SymbolTableInfo`). Since 1.1.
    public static let symbolTableInfo = RecordKind(rawValue: 7)
    /// Sorted address ranges and names of one part of a symbol table (`SymbolChunk`). Since 1.1.
    public static let symbolChunk = RecordKind(rawValue: 8)

    /// Guest memory accesses of a virtual machine: guest-physical address,
    /// and optionally the virtual address and PC (`GuestAccessBatch`). Since 1.2.
    public static let guestAccessBatch = RecordKind(rawValue: 9)
    /// Closes one checkpoint epoch of a recorded guest (`Checkpoint`). Since 1.2.
    public static let checkpoint = RecordKind(rawValue: 10)

    /// Memory accesses in the compact batch encoding with one address
    /// stream per access kind (`MemoryAccessBatch`, FORMAT.md §8.12): each
    /// address is a difference from the previous access of the same kind.
    /// Since 1.3; writers use it in regions formatted 1.3 or later.
    public static let memoryAccessStreams = RecordKind(rawValue: 12)

    /// Many small records under one header and checksum (`RecordGroup`).
    /// Written by the store's writer only (not appendable by callers);
    /// readers hand out its members, never the group. Since 1.3.
    public static let recordGroup = RecordKind(rawValue: 11)

    /// Kinds 13...0x7FFF are reserved for future versions of the format
    /// (11, the record group, is the writer's own: callers cannot append it).
    public static let firstReserved: UInt16 = 13
    /// Kinds 0x8000...0xFFFF are free for applications (FORMAT.md §7).
    public static let firstUserKind: UInt16 = 0x8000

    /// Whether a writer may append a record of this kind: the defined kinds
    /// 1...10 and 12 and the application range. Kind 0 (the end-of-segment marker)
    /// would hide every later record of its segment; reserved kinds would
    /// collide with a future format version.
    @inlinable
    public var isAppendable: Bool {
        // The literals are `firstReserved` and `firstUserKind` (inlined into
        // the writer's fast path, where a load of a global would cost a call).
        rawValue != 0 && rawValue != 11 && (rawValue < 13 || rawValue >= 0x8000)
    }

    /// Short lowercase name for tools.
    public var name: String {
        switch rawValue {
        case 0: return "end"
        case 1: return "blob"
        case 2: return "memory-access"
        case 3: return "pml"
        case 4: return "page-image"
        case 5: return "marker"
        case 6: return "process-map"
        case 7: return "symbol-table-info"
        case 8: return "symbol-chunk"
        case 9: return "guest-access"
        case 10: return "checkpoint"
        case 12: return "memory-access-streams"
        case 11: return "record-group"
        default: return "kind-\(rawValue)"
        }
    }
}
