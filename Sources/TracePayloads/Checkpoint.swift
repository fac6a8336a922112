import TraceFormat

/// The payload of a `.checkpoint` record (FORMAT.md §8.10, since 1.2): it
/// closes one epoch of a recorded guest. The page images of the epoch are
/// the `.pageImage` records of the same lane between the previous checkpoint
/// record (or the lane's start) and this one. 64 bytes, little-endian.
public struct Checkpoint: Equatable, Sendable {
    /// `"PMCK"`.
    public static let magic: UInt32 = 0x4B43_4D50
    /// Bytes of the payload.
    public static let size = 64

    /// Bits of `flags`.
    public struct Flags: OptionSet, Sendable {
        /// The flags word as stored (offset 4).
        public let rawValue: UInt32
        /// Flags from the stored word.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The base image: every non-zero page of guest RAM when recording began.
        public static let base = Flags(rawValue: 1)
        /// Taken when the guest stopped (the last one of a recording).
        public static let final = Flags(rawValue: 2)
        /// Every bit a 1.2 writer may set.
        public static let known: Flags = [.base, .final]
    }

    /// Base image, final (FORMAT.md §8.10).
    public var flags: Flags
    /// 0 for the base image, then 1, 2, …
    public var epoch: UInt64
    /// Guest stores the recorder had seen (all vCPUs) when it took this checkpoint.
    public var stores: UInt64
    /// Guest memory accesses the recorder had seen (all vCPUs), recorded or not.
    public var accesses: UInt64
    /// Page images of this epoch (the records before this one, see above).
    public var images: UInt64
    /// Distinct pages logged by PML in this epoch (the first store to each page).
    public var loggedPages: UInt64
    /// Pages whose contents changed in this epoch without a store the
    /// recorder saw (device DMA, page-table accessed/dirty bits set by the
    /// MMU): imaged too, so that a restore is exact.
    public var unloggedPages: UInt64
    /// Bytes of guest RAM the images cover (the RAM size).
    public var ramBytes: UInt64

    /// A checkpoint with every field given (FORMAT.md §8.10).
    public init(flags: Flags, epoch: UInt64, stores: UInt64, accesses: UInt64, images: UInt64,
                loggedPages: UInt64, unloggedPages: UInt64, ramBytes: UInt64) {
        self.flags = flags
        self.epoch = epoch
        self.stores = stores
        self.accesses = accesses
        self.images = images
        self.loggedPages = loggedPages
        self.unloggedPages = unloggedPages
        self.ramBytes = ramBytes
    }

    /// Writes the 64 bytes at `p`.
    public func encode(into p: UnsafeMutableRawPointer) {
        p.storeLE(Self.magic, at: 0)
        p.storeLE(flags.rawValue, at: 4)
        p.storeLE(epoch, at: 8)
        p.storeLE(stores, at: 16)
        p.storeLE(accesses, at: 24)
        p.storeLE(images, at: 32)
        p.storeLE(loggedPages, at: 40)
        p.storeLE(unloggedPages, at: 48)
        p.storeLE(ramBytes, at: 56)
    }

    /// Decodes and validates a payload: exactly 64 bytes, the magic, known flags.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(FormatError) -> Checkpoint {
        let s = Structure.payload(kind: RecordKind.checkpoint.rawValue)
        guard payload.count == size, let p = payload.baseAddress else {
            throw .truncated(s, needed: size, available: payload.count)
        }
        let magic = p.loadLE(0, as: UInt32.self)
        guard magic == Self.magic else { throw .invalidField(s, field: "magic", value: UInt64(magic)) }
        let flags = Flags(rawValue: p.loadLE(4, as: UInt32.self))
        guard Flags.known.isSuperset(of: flags) else { throw .invalidField(s, field: "flags", value: UInt64(flags.rawValue)) }
        return Checkpoint(flags: flags, epoch: p.loadLE(8), stores: p.loadLE(16), accesses: p.loadLE(24), images: p.loadLE(32),
                          loggedPages: p.loadLE(40), unloggedPages: p.loadLE(48), ramBytes: p.loadLE(56))
    }
}
