import TraceFormat

extension TraceStore {
    /// Checks a volume name against the rules of FORMAT.md §4.1
    /// (`VolumeNameRules`); '.' names are refused unless `allowReserved`.
    public static func validateName(_ name: [UInt8], allowReserved: Bool = false) throws(TraceError) {
        if let problem = VolumeNameRules.problem(name, allowReserved: allowReserved) { throw .invalidName(problem) }
    }

    /// Every live volume, in slot order. O(slots).
    public func volumes() -> [VolumeInfo] {
        lock.withLock { slots.indices.filter { slots[$0].isLive }.map { info($0) } }
    }

    /// The live volume called `name`. O(slots).
    public func volume(named name: String) throws(TraceError) -> VolumeInfo {
        try lock.withLock { () throws(TraceError) -> VolumeInfo in info(try findSlot(Array(name.utf8))) }
    }

    /// The live volume whose stored name is exactly `nameBytes` (for names
    /// that are not UTF-8, which a `String` cannot carry). O(slots).
    public func volume(nameBytes: [UInt8]) throws(TraceError) -> VolumeInfo {
        try lock.withLock { () throws(TraceError) -> VolumeInfo in info(try findSlot(nameBytes)) }
    }

    func info(_ slot: Int) -> VolumeInfo {
        let s = slots[slot], e = s.entry!
        return VolumeInfo(
            name: s.name, nameBytes: e.name, slot: slot, uid: e.uid, laneCount: Int(e.laneCount), sealed: e.flags.contains(.sealed),
            ring: e.flags.contains(.ring), createdTime: e.createdTime, sealedTime: e.sealedTime,
            segmentCount: s.chains.reduce(0) { $0 + $1.count })
    }

    func findSlot(_ name: [UInt8]) throws(TraceError) -> Int {
        guard let i = slots.firstIndex(where: { $0.isLive && $0.entry!.name == name }) else {
            throw .volumeNotFound(String(decoding: name, as: UTF8.self))
        }
        return i
    }

    /// Creates a volume with `lanes` lanes (FORMAT.md §10.2). Atomic: after a
    /// crash the volume exists completely or not at all. Durable on return.
    @discardableResult
    public func createVolume(named name: String, lanes: Int = 1, ring: Bool = false) throws(TraceError) -> VolumeInfo {
        try createVolume(nameBytes: Array(name.utf8), lanes: lanes, ring: ring)
    }

    /// `createVolume` with the name as raw bytes (checked against the name rules).
    @discardableResult
    public func createVolume(nameBytes name: [UInt8], lanes: Int, ring: Bool) throws(TraceError) -> VolumeInfo {
        try createVolume(nameBytes: name, lanes: lanes, ring: ring, allowReserved: false)
    }

    /// For the catalog: may create the reserved '.' names.
    @discardableResult
    package func createVolume(nameBytes name: [UInt8], lanes: Int, ring: Bool, allowReserved: Bool) throws(TraceError) -> VolumeInfo {
        guard writable else { throw .readOnly }
        try Self.validateName(name, allowReserved: allowReserved)
        let maxLanes = Int(superblock.maxLanesPerVolume)
        guard lanes >= 1, lanes <= maxLanes else { throw .invalidLaneCount(requested: lanes, max: maxLanes) }
        return try lock.withLock { () throws(TraceError) -> VolumeInfo in
            guard !slots.contains(where: { $0.isLive && $0.entry!.name == name }) else {
                throw .duplicateName(String(decoding: name, as: UTF8.self))
            }
            guard let slot = slots.firstIndex(where: {
                switch $0.state { case .empty, .deleted: return true; default: return false }
            }) else { throw .volumeTableFull(slots: slots.count) }
            // A never-used slot starts at the format's uid base (1 before 1.3, FORMAT.md §4).
            let generation = slots[slot].entry.map { ($0.uid & 0xFFFF_FFFF) + 1 } ?? superblock.firstUIDGeneration
            // 1. Empty lanes: zero the slot's commit words (harmless if we crash here).
            let words = superblock.laneWordOffset(slot: slot, lane: 0)
            let bytes = Int(superblock.maxLanesPerVolume) * Layout.laneWordStride
            region.pointer(words).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            region.persist(region.pointer(words), bytes)
            // 2. The entry: the atomic step.
            let entry = VolumeEntry(
                state: .live, flags: ring ? [.ring] : [], updateSequence: 0,
                uid: UInt64(slot + 1) << 32 | (generation & 0xFFFF_FFFF), laneCount: UInt32(lanes),
                createdTime: options.clock(), name: name)
            let firstUse: Bool
            if case .empty = slots[slot].state { firstUse = true } else { firstUse = false }
            try commitEntry(entry, slot: slot)
            // A slot's first entry goes to both copies, so that later one torn or
            // damaged copy always has a valid twin (and "one torn, one empty" can
            // only mean a first create that did not finish).
            if firstUse { try commitEntry(entry, slot: slot) }
            slots[slot].state = .live
            slots[slot].chains = [[UInt64]](repeating: [], count: lanes)
            slots[slot].laneDamage = [FormatError?](repeating: nil, count: lanes)
            slots[slot].writerOpen = [Bool](repeating: false, count: lanes)
            return info(slot)
        }
    }

    /// The volume called `name`, created with `lanes` lanes if there is none
    /// (atomically: two callers racing get the same volume). Durable on return.
    @discardableResult
    public func volumeCreatingIfMissing(named name: String, lanes: Int = 1, ring: Bool = false) throws(TraceError) -> VolumeInfo {
        try volumeCreatingIfMissing(nameBytes: Array(name.utf8), lanes: lanes, ring: ring, allowReserved: false)
    }

    /// For the catalog: may create the reserved '.' names.
    @discardableResult
    package func volumeCreatingIfMissing(nameBytes name: [UInt8], lanes: Int, ring: Bool, allowReserved: Bool) throws(TraceError) -> VolumeInfo {
        do throws(TraceError) {
            return try createVolume(nameBytes: name, lanes: lanes, ring: ring, allowReserved: allowReserved)
        } catch {
            guard case .duplicateName = error else { throw error }
            return try volume(named: String(decoding: name, as: UTF8.self))
        }
    }

    /// Renames a volume. Atomic (old or new name after a crash, never both
    /// or neither); durable on return.
    public func renameVolume(_ old: String, to new: String) throws(TraceError) {
        try renameVolume(old, to: new, allowReserved: false)
    }

    /// For the catalog: may rename to the reserved '.' names.
    package func renameVolume(_ old: String, to new: String, allowReserved: Bool) throws(TraceError) {
        try renameVolume(nameBytes: Array(old.utf8), to: new, allowReserved: allowReserved)
    }

    /// `renameVolume` for a stored name given as bytes (any bytes: the old name
    /// may predate the name rules; the new one must follow them).
    public func renameVolume(nameBytes old: [UInt8], to new: String) throws(TraceError) {
        try renameVolume(nameBytes: old, to: new, allowReserved: false)
    }

    package func renameVolume(nameBytes old: [UInt8], to new: String, allowReserved: Bool) throws(TraceError) {
        guard writable else { throw .readOnly }
        let newName = Array(new.utf8)
        try Self.validateName(newName, allowReserved: allowReserved)
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(old)
            if slots[slot].entry!.name == newName { return }
            guard !slots.contains(where: { $0.isLive && $0.entry!.name == newName }) else { throw .duplicateName(new) }
            var e = slots[slot].entry!
            e.name = newName
            try commitEntry(e, slot: slot)
        }
    }

    /// Seals a volume: no more appends, ever. Atomic; durable on return.
    /// Fails with `.volumeBusy` while a writer is open on it in this process.
    public func sealVolume(_ name: String) throws(TraceError) {
        try sealVolume(nameBytes: Array(name.utf8))
    }

    /// `sealVolume` for a stored name given as bytes.
    public func sealVolume(nameBytes name: [UInt8]) throws(TraceError) {
        guard writable else { throw .readOnly }
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(name)
            guard !slots[slot].writerOpen.contains(true) else { throw .volumeBusy(slots[slot].name) }
            var e = slots[slot].entry!
            if e.flags.contains(.sealed) { return }
            e.flags.insert(.sealed)
            e.sealedTime = options.clock()
            try commitEntry(e, slot: slot)
        }
    }

    /// Deletes a volume; its segments become free. Atomic (all or nothing
    /// after a crash); durable on return. Fails with `.volumeBusy` while a
    /// writer is open on it in this process.
    public func deleteVolume(_ name: String) throws(TraceError) {
        try deleteVolume(nameBytes: Array(name.utf8))
    }

    /// `deleteVolume` for a stored name given as bytes.
    public func deleteVolume(nameBytes name: [UInt8]) throws(TraceError) {
        guard writable else { throw .readOnly }
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(name)
            guard !slots[slot].writerOpen.contains(true) else { throw .volumeBusy(slots[slot].name) }
            var e = slots[slot].entry!
            e.state = .deleted
            try commitEntry(e, slot: slot)
            // Only after the entry is durable may the segments be reused.
            for chain in slots[slot].chains { for s in chain { allocator.release(s) } }
            // Segments kept back for this volume are garbage now.
            let uid = e.uid
            reserved.removeAll { s in
                guard (try? media.segmentHeader(s).header.volumeUID) == uid else { return false }
                allocator.release(s)
                return true
            }
            slots[slot].state = .deleted
            slots[slot].chains = []
            slots[slot].laneDamage = []
            slots[slot].writerOpen = []
            _checkInvariants()
        }
    }
}
