import TraceFormat

extension TraceStore {
    /// Checks a volume name: 1...200 bytes of UTF-8 without NUL.
    public static func validateName(_ name: [UInt8]) throws(TraceError) {
        guard !name.isEmpty else { throw .invalidName(.empty) }
        guard name.count <= Layout.maxNameLength else {
            throw .invalidName(.tooLong(length: name.count, max: Layout.maxNameLength))
        }
        guard !name.contains(0) else { throw .invalidName(.containsNUL) }
        guard isValidUTF8(name) else { throw .invalidName(.notUTF8) }
    }

    /// Strict UTF-8 check (no overlongs, no surrogates, ≤ U+10FFFF).
    static func isValidUTF8(_ b: [UInt8]) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            let n: Int
            let min: UInt32
            var v: UInt32
            if c < 0x80 { i += 1; continue }
            else if c & 0xE0 == 0xC0 { n = 1; min = 0x80; v = UInt32(c & 0x1F) }
            else if c & 0xF0 == 0xE0 { n = 2; min = 0x800; v = UInt32(c & 0x0F) }
            else if c & 0xF8 == 0xF0 { n = 3; min = 0x10000; v = UInt32(c & 0x07) }
            else { return false }
            guard i + n < b.count else { return false }
            for k in 1...n {
                let d = b[i + k]
                guard d & 0xC0 == 0x80 else { return false }
                v = v << 6 | UInt32(d & 0x3F)
            }
            guard v >= min, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return false }
            i += n + 1
        }
        return true
    }

    /// Every live volume, in slot order. O(slots).
    public func volumes() -> [VolumeInfo] {
        lock.withLock { slots.indices.filter { slots[$0].isLive }.map { info($0) } }
    }

    /// The live volume called `name`. O(slots).
    public func volume(named name: String) throws(TraceError) -> VolumeInfo {
        try lock.withLock { () throws(TraceError) -> VolumeInfo in info(try findSlot(Array(name.utf8))) }
    }

    func info(_ slot: Int) -> VolumeInfo {
        let s = slots[slot], e = s.entry!
        return VolumeInfo(
            name: s.name, slot: slot, uid: e.uid, laneCount: Int(e.laneCount), sealed: e.flags.contains(.sealed),
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

    /// `createVolume` with the name as raw bytes (checked for UTF-8).
    @discardableResult
    public func createVolume(nameBytes name: [UInt8], lanes: Int, ring: Bool) throws(TraceError) -> VolumeInfo {
        guard writable else { throw .readOnly }
        try Self.validateName(name)
        let maxLanes = Int(superblock.maxLanesPerVolume)
        guard lanes >= 1, lanes <= maxLanes else { throw .invalidLaneCount(requested: lanes, max: maxLanes) }
        return try lock.withLock { () throws(TraceError) -> VolumeInfo in
            guard !slots.contains(where: { $0.isLive && $0.entry!.name == name }) else {
                throw .duplicateName(String(decoding: name, as: UTF8.self))
            }
            guard let slot = slots.firstIndex(where: {
                switch $0.state { case .empty, .deleted: return true; default: return false }
            }) else { throw .volumeTableFull(slots: slots.count) }
            let generation = (slots[slot].entry.map { $0.uid & 0xFFFF_FFFF } ?? 0) + 1
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
            commitEntry(entry, slot: slot)
            // A slot's first entry goes to both copies, so that later one torn or
            // damaged copy always has a valid twin (and "one torn, one empty" can
            // only mean a first create that did not finish).
            if firstUse { commitEntry(entry, slot: slot) }
            slots[slot].state = .live
            slots[slot].chains = [[UInt64]](repeating: [], count: lanes)
            slots[slot].laneDamage = [FormatError?](repeating: nil, count: lanes)
            slots[slot].writerOpen = [Bool](repeating: false, count: lanes)
            return info(slot)
        }
    }

    /// Renames a volume. Atomic (old or new name after a crash, never both
    /// or neither); durable on return.
    public func renameVolume(_ old: String, to new: String) throws(TraceError) {
        guard writable else { throw .readOnly }
        let newName = Array(new.utf8)
        try Self.validateName(newName)
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(Array(old.utf8))
            if slots[slot].entry!.name == newName { return }
            guard !slots.contains(where: { $0.isLive && $0.entry!.name == newName }) else { throw .duplicateName(new) }
            var e = slots[slot].entry!
            e.name = newName
            commitEntry(e, slot: slot)
        }
    }

    /// Seals a volume: no more appends, ever. Atomic; durable on return.
    /// Fails with `.volumeBusy` while a writer is open on it in this process.
    public func sealVolume(_ name: String) throws(TraceError) {
        guard writable else { throw .readOnly }
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(Array(name.utf8))
            guard !slots[slot].writerOpen.contains(true) else { throw .volumeBusy(name) }
            var e = slots[slot].entry!
            if e.flags.contains(.sealed) { return }
            e.flags.insert(.sealed)
            e.sealedTime = options.clock()
            commitEntry(e, slot: slot)
        }
    }

    /// Deletes a volume; its segments become free. Atomic (all or nothing
    /// after a crash); durable on return. Fails with `.volumeBusy` while a
    /// writer is open on it in this process.
    public func deleteVolume(_ name: String) throws(TraceError) {
        guard writable else { throw .readOnly }
        try lock.withLock { () throws(TraceError) in
            let slot = try findSlot(Array(name.utf8))
            guard !slots[slot].writerOpen.contains(true) else { throw .volumeBusy(name) }
            var e = slots[slot].entry!
            e.state = .deleted
            commitEntry(e, slot: slot)
            // Only after the entry is durable may the segments be reused.
            for chain in slots[slot].chains { for s in chain { allocator.release(s) } }
            slots[slot].state = .deleted
            slots[slot].chains = []
            slots[slot].laneDamage = []
            slots[slot].writerOpen = []
        }
    }
}
