/// One copy of a volume-table slot (FORMAT.md §4). A slot holds two copies;
/// an update writes the copy not in use with `updateSequence` one higher, so a
/// torn write leaves the other copy, and the valid copy with the higher
/// sequence is the slot's state.
public struct VolumeEntry: Equatable, Sendable {
    /// Whether the slot holds a volume.
    public enum State: UInt8, Sendable {
        /// The volume exists.
        case live = 1
        /// The volume was deleted; the slot may be reused.
        case deleted = 2
    }

    /// Volume flags (FORMAT.md §4).
    public struct Flags: OptionSet, Equatable, Sendable {
        /// The flag bits as stored.
        public let rawValue: UInt8
        /// Flags from stored bits (decoding rejects bits this version does not define).
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// No more appends; set by `seal`.
        public static let sealed = Flags(rawValue: 1)
        /// The volume reclaims its own oldest segments when the region is full.
        public static let ring = Flags(rawValue: 2)
        static let known: Flags = [.sealed, .ring]
    }

    /// Live or deleted.
    public var state: State
    /// Sealed, ring.
    public var flags: Flags
    /// Higher in the newer copy of the slot.
    public var updateSequence: UInt64
    /// Never reused within a region: (slot + 1) << 32 | per-slot generation.
    public var uid: UInt64
    /// Lanes of the volume.
    public var laneCount: UInt32
    /// Creation time, ns since the Unix epoch (0: no clock).
    public var createdTime: UInt64
    /// Seal time, ns since the Unix epoch (0: not sealed, or no clock).
    public var sealedTime: UInt64
    /// UTF-8 name, 1...200 bytes.
    public var name: [UInt8]

    /// An entry with the given fields (FORMAT.md §4).
    public init(
        state: State, flags: Flags, updateSequence: UInt64, uid: UInt64, laneCount: UInt32,
        createdTime: UInt64, sealedTime: UInt64 = 0, name: [UInt8]
    ) {
        self.state = state
        self.flags = flags
        self.updateSequence = updateSequence
        self.uid = uid
        self.laneCount = laneCount
        self.createdTime = createdTime
        self.sealedTime = sealedTime
        self.name = name
    }
}

extension VolumeEntry {
    /// Writes the 256-byte encoding with its CRC.
    /// Precondition: `name.count <= Layout.maxNameLength`.
    public func encode(into p: UnsafeMutableRawPointer) {
        precondition(name.count <= Layout.maxNameLength)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Layout.volumeEntrySize)
        p.storeLE(Magic.volumeEntry, at: 0)
        p.storeLE(state.rawValue, at: 4)
        p.storeLE(flags.rawValue, at: 5)
        p.storeLE(UInt16(name.count), at: 6)
        p.storeLE(updateSequence, at: 8)
        p.storeLE(uid, at: 16)
        p.storeLE(laneCount, at: 24)
        p.storeLE(createdTime, at: 32)
        p.storeLE(sealedTime, at: 40)
        name.withUnsafeBytes { n in
            if let b = n.baseAddress { (p + 48).copyMemory(from: b, byteCount: n.count) }
        }
        p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 252)), at: 252)
    }

    /// What a slot copy holds: nothing ever written (all-zero magic), a valid
    /// entry, or damage.
    public enum Decoded: Equatable, Sendable {
        /// Both copies are blank: the slot was never used.
        case empty
        /// The valid copy with the higher `updateSequence`.
        case entry(VolumeEntry)
        /// Neither copy is valid although the slot was used.
        case damaged(FormatError)
    }

    /// Decodes one 256-byte copy. Never traps on any input.
    public static func decode(_ bytes: UnsafeRawBufferPointer, slot: Int, copy: Int, maxLanes: UInt32) -> Decoded {
        let s = Structure.volumeEntry(slot: slot, copy: copy)
        guard bytes.count >= Layout.volumeEntrySize, let p = bytes.baseAddress else {
            return .damaged(.truncated(s, needed: Layout.volumeEntrySize, available: bytes.count))
        }
        let magic: UInt32 = p.loadLE(0)
        if magic == 0 {
            // A never-written copy is all zero; anything else without the magic is damage.
            let allZero = bytes.prefix(Layout.volumeEntrySize).allSatisfy { $0 == 0 }
            return allZero ? .empty : .damaged(.badMagic(s, found: UInt64(magic)))
        }
        guard magic == Magic.volumeEntry else { return .damaged(.badMagic(s, found: UInt64(magic))) }
        let stored: UInt32 = p.loadLE(252)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 252))
        guard stored == computed else { return .damaged(.checksumMismatch(s, stored: stored, computed: computed)) }
        let rawState: UInt8 = p.loadLE(4)
        guard let state = State(rawValue: rawState) else {
            return .damaged(.invalidField(s, field: "state", value: UInt64(rawState)))
        }
        let flags = Flags(rawValue: p.loadLE(5))
        guard Flags.known.isSuperset(of: flags) else {
            return .damaged(.invalidField(s, field: "flags", value: UInt64(flags.rawValue)))
        }
        let nameLength = Int(p.loadLE(6, as: UInt16.self))
        guard nameLength >= 1, nameLength <= Layout.maxNameLength else {
            return .damaged(.invalidField(s, field: "nameLength", value: UInt64(nameLength)))
        }
        let laneCount: UInt32 = p.loadLE(24)
        guard laneCount >= 1, laneCount <= maxLanes else {
            return .damaged(.invalidField(s, field: "laneCount", value: UInt64(laneCount)))
        }
        let name = [UInt8](UnsafeRawBufferPointer(start: p + 48, count: nameLength))
        return .entry(VolumeEntry(
            state: state, flags: flags, updateSequence: p.loadLE(8), uid: p.loadLE(16), laneCount: laneCount,
            createdTime: p.loadLE(32), sealedTime: p.loadLE(40), name: name))
    }
}
