import MetadataCatalog
import TracePayloads

/// Counts the accesses of a trace by function, page, image or mapping (what
/// `pmtrace hot` prints), one block at a time.
///
/// Functions and images come from an `AddressSpaceSymbolizer`; addresses no
/// symbol covers are kept by page and named at the end by the mappings the
/// volume recorded (`[heap]`, `[stack]`, `[anon]`, an image without symbols,
/// `[unmapped]`), so nothing is left as a bare "unknown".
///
/// Cost: O(1) per access. Consecutive accesses in one address range with one
/// answer (a function, an image's mapping, a page) cost a subtraction and a
/// compare; a move to another range first asks a direct-mapped cache of 4096
/// recently seen ranges (indexed by address >> 4; a second one, indexed by
/// page, for addresses no symbol covers), and only on a miss does a
/// symbol lookup (O(log mappings + log symbols)). Groups are interned as
/// integer slots; pages are counted in an open-addressing table. Names are
/// built once per group. Not thread-safe.
public final class HotCounter {
    /// What accesses are grouped by.
    public enum Grouping: Sendable, CaseIterable {
        /// The function holding the attributed address.
        case function
        /// The 4 KiB page of the accessed address.
        case page
        /// The image (executable or library) holding the attributed address.
        case image
        /// The mapping holding the attributed address.
        case mapping
    }

    /// One group, most accesses first in `rows`.
    public struct Row: Sendable, Equatable {
        /// Function name (demangled), page address as `0x…`, image or mapping.
        public var name: String
        /// The image (or mapping label) the group lies in; for a page, the
        /// mapping holding it when known, else "".
        public var image: String
        /// Accesses in the group.
        public var accesses: UInt64
        /// Whether a symbol names the group (false for the mapping breakdown
        /// of addresses no symbol covers).
        public var symbolized: Bool
        /// The page's first address (`.page` only), else nil.
        public var page: UInt64?
    }

    /// The grouping.
    public let grouping: Grouping
    /// Attribute by PC when the batch recorded one (function/image/mapping),
    /// else by the accessed address.
    public let byPC: Bool
    /// Only these access kinds are counted (nil: all).
    public let kinds: Set<MemoryAccess.Kind>?
    let symbolizer: AddressSpaceSymbolizer?
    /// False: every access is looked up on its own (no runs, no cache) — the
    /// reference the tests hold the fast path to.
    let cached: Bool

    /// Accesses counted (after the kind filter).
    public private(set) var total: UInt64 = 0

    // Symbolized groups (slots): runtime start of the symbol → slot; image → slot.
    var slotOfSymbol: [UInt64: Int] = [:]
    var slotOfImage: [String: Int] = [:]
    var imageSlotOfMapping: [Int] = []   // -1: not seen yet
    var slotNames: [(name: String, image: String)] = []
    var slotCounts: UnsafeMutablePointer<UInt64>
    var slotCapacity = 64
    // Everything else, by page.
    let pageCounts = PageCountTable()
    // The current run: accesses in [runLow, runLow + runLength) go to runSlot
    // (a negative slot s: to page ~s of pageCounts); runCount of them so far.
    var runLow: UInt64 = 0
    var runLength: UInt64 = 0
    var runSlot = 0
    var runCount: UInt64 = 0
    // Direct-mapped cache of runs, indexed by (address >> cacheShift) & cacheMask.
    struct CachedRun { var low: UInt64; var length: UInt64; var slot: Int }
    static let cacheShift: UInt64 = 4
    static let cacheMask: UInt64 = 4095
    let cache: UnsafeMutablePointer<CachedRun>
    // Page-breakdown runs only, indexed by (address >> 12) & cacheMask.
    let pageCache: UnsafeMutablePointer<CachedRun>

    /// A counter. `symbolizer` is needed for `.function` and `.image` (without
    /// it every address goes to the mapping breakdown).
    public convenience init(grouping: Grouping, symbolizer: AddressSpaceSymbolizer?, byPC: Bool = true, kinds: Set<MemoryAccess.Kind>? = nil) {
        self.init(grouping: grouping, symbolizer: symbolizer, byPC: byPC, kinds: kinds, cached: true)
    }

    /// `cached: false` looks every access up on its own (the slow reference).
    init(grouping: Grouping, symbolizer: AddressSpaceSymbolizer?, byPC: Bool, kinds: Set<MemoryAccess.Kind>?, cached: Bool) {
        self.grouping = grouping
        self.symbolizer = grouping == .page || grouping == .mapping ? nil : symbolizer
        self.byPC = byPC && grouping != .page
        self.kinds = kinds
        self.cached = cached
        slotCounts = .allocate(capacity: slotCapacity)
        cache = .allocate(capacity: Int(Self.cacheMask) + 1)
        cache.initialize(repeating: CachedRun(low: 0, length: 0, slot: -1), count: Int(Self.cacheMask) + 1)
        pageCache = .allocate(capacity: Int(Self.cacheMask) + 1)
        pageCache.initialize(repeating: CachedRun(low: 0, length: 0, slot: -1), count: Int(Self.cacheMask) + 1)
        imageSlotOfMapping = Array(repeating: -1, count: self.symbolizer?.mappingCount ?? 0)
    }

    deinit {
        slotCounts.deallocate()
        cache.deallocate()
        pageCache.deallocate()
    }

    /// Counts the accesses of `block`.
    public func add(_ block: AccessBlock) {
        let usePC = byPC && block.hasPC
        let source = usePC ? block.pc : block.address
        var kindMask: UInt8 = 0xF
        if let kinds { kindMask = kinds.reduce(0) { $0 | (1 << $1.rawValue) } }
        let n = block.count
        var low = runLow, length = cached ? runLength : 0, count = runCount
        if kindMask == 0xF {
            for i in 0..<n {
                let a = source[i]
                if a &- low < length { count &+= 1; continue }
                runCount = count
                startRun(at: a)
                low = runLow; length = cached ? runLength : 0; count = runCount
            }
            total &+= UInt64(n)
        } else {
            let kind = block.kind
            var counted: UInt64 = 0
            for i in 0..<n {
                if (1 << kind[i]) & kindMask == 0 { continue }
                counted &+= 1  // at most block.count
                let a = source[i]
                if a &- low < length { count &+= 1; continue }
                runCount = count
                startRun(at: a)
                low = runLow; length = cached ? runLength : 0; count = runCount
            }
            total &+= counted
        }
        runCount = count
    }

    /// Ends the current run (its count goes to its group) and starts one at `a`.
    func startRun(at a: UInt64) {
        flushRun()
        runCount = 1
        let pageEntry = pageCache + Int((a >> 12) & Self.cacheMask)
        guard let symbolizer else {
            runLow = a & ~0xFFF
            runLength = 0x1000
            if cached, a &- pageEntry.pointee.low < pageEntry.pointee.length {
                runSlot = pageEntry.pointee.slot
                return
            }
            runSlot = ~pageCounts.index(of: a >> 12)
            pageEntry.pointee = CachedRun(low: runLow, length: runLength, slot: runSlot)
            return
        }
        let entry = cache + Int((a >> Self.cacheShift) & Self.cacheMask)
        if cached, a &- entry.pointee.low < entry.pointee.length {
            runLow = entry.pointee.low
            runLength = entry.pointee.length
            runSlot = entry.pointee.slot
            return
        }
        // Runs of the page breakdown (data outside any symbol) lie in one page: a second cache
        // keyed by page finds them whatever 16-byte line of the page the access hits first.
        if cached, a &- pageEntry.pointee.low < pageEntry.pointee.length {
            runLow = pageEntry.pointee.low
            runLength = pageEntry.pointee.length
            runSlot = pageEntry.pointee.slot
            entry.pointee = pageEntry.pointee
            return
        }
        resolveRun(at: a, symbolizer)
        entry.pointee = CachedRun(low: runLow, length: runLength, slot: runSlot)
        if runSlot < 0 { pageEntry.pointee = entry.pointee }
    }

    /// The slow path of `startRun`: a symbol lookup. Sets the run's range (the
    /// addresses with the same answer; within one page when the answer is the
    /// page breakdown) and slot.
    func resolveRun(at a: UInt64, _ symbolizer: AddressSpaceSymbolizer) {
        let page = a & ~0xFFF
        func setRun(_ r: Range<UInt64>, slot: Int?) {
            var r = r
            let slot = slot ?? ~pageCounts.index(of: a >> 12)
            if slot < 0 { r = r.clamped(to: page..<(page &+ 0x1000 == 0 ? .max : page &+ 0x1000)) }
            // The clamp to the last page drops 2^64 − 1 (no successor): the run is then just `a`'s answer once.
            runLow = r.lowerBound
            runLength = r.upperBound &- r.lowerBound
            runSlot = slot
        }
        guard let r = symbolizer.resolve(a) else {
            setRun(symbolizer.unmappedRange(around: a), slot: nil)
            return
        }
        if grouping == .image {
            setRun(r.mappingRange, slot: imageSlot(mapping: r.mapping, symbolizer))
            return
        }
        guard let m = r.match else {
            setRun(r.range, slot: nil)
            return
        }
        let start = r.range.lowerBound
        if let s = slotOfSymbol[start] { setRun(r.range, slot: s); return }
        let s = newSlot(Demangler.demangle(m.nameString), symbolizer.app(ofMapping: r.mapping))
        slotOfSymbol[start] = s
        setRun(r.range, slot: s)
    }

    func imageSlot(mapping: Int, _ symbolizer: AddressSpaceSymbolizer) -> Int {
        if imageSlotOfMapping[mapping] >= 0 { return imageSlotOfMapping[mapping] }
        let app = symbolizer.app(ofMapping: mapping)
        let s: Int
        if let known = slotOfImage[app] { s = known } else {
            s = newSlot(app, app)
            slotOfImage[app] = s
        }
        imageSlotOfMapping[mapping] = s
        return s
    }

    func newSlot(_ name: String, _ image: String) -> Int {
        if slotNames.count == slotCapacity {
            let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: slotCapacity * 2)
            bigger.update(from: slotCounts, count: slotCapacity)
            slotCounts.deallocate()
            slotCounts = bigger
            slotCapacity *= 2
        }
        slotNames.append((name, image))
        slotCounts[slotNames.count - 1] = 0
        return slotNames.count - 1
    }

    func flushRun() {
        guard runCount > 0 else { return }
        if runSlot >= 0 { slotCounts[runSlot] &+= runCount } else { pageCounts.counts[~runSlot] &+= runCount }
        runCount = 0
    }

    /// Accesses a symbol (or, for `.image`, a recorded image) accounts for.
    public var symbolized: UInt64 {
        flushRun()
        return (0..<slotNames.count).reduce(0) { $0 &+ slotCounts[$1] }
    }

    /// The groups, most accesses first (ties by name), at most `top`.
    /// Addresses no symbol covers are grouped by `maps` (the volume's
    /// recorded mappings; `.page` rows are labelled with them too).
    public func rows(top: Int, maps: MappingTable) -> [Row] {
        flushRun()
        var rows: [Row] = []
        for i in 0..<slotNames.count where slotCounts[i] > 0 {
            let n = slotCounts[i]
            rows.append(Row(name: slotNames[i].name, image: slotNames[i].image, accesses: n, symbolized: true))
        }
        if grouping == .page {
            pageCounts.forEach { page, n in
                rows.append(Row(name: "0x" + String(page << 12, radix: 16), image: maps.index(of: page << 12).map(maps.label) ?? "",
                                accesses: n, symbolized: false, page: page << 12))
            }
        } else {
            var byMapping: [String: UInt64] = [:]
            pageCounts.forEach { page, n in byMapping[maps.label(of: page << 12), default: 0] &+= n }
            for (label, n) in byMapping {
                rows.append(Row(name: grouping == .function ? "?? " + label : label, image: label, accesses: n, symbolized: false))
            }
        }
        rows.sort { $0.accesses != $1.accesses ? $0.accesses > $1.accesses : $0.name < $1.name }
        return Array(rows.prefix(max(0, top)))
    }
}

/// Access counts by page number, pages interned as dense indices (in order
/// of first use): open addressing with linear probing maps a page to its
/// index, keys stored as page + 1 (0 marks an empty slot; a page number is
/// below 2^52), kept at most half full. Not thread-safe.
final class PageCountTable {
    var keys: UnsafeMutablePointer<UInt64>
    var indices: UnsafeMutablePointer<Int>
    var mask: Int
    var shift: UInt64
    /// Page number and count of each index.
    var pages: UnsafeMutablePointer<UInt64>
    var counts: UnsafeMutablePointer<UInt64>
    var used = 0
    var room = 512

    init() {
        mask = 1023
        shift = 64 - 10
        keys = .allocate(capacity: mask + 1)
        keys.initialize(repeating: 0, count: mask + 1)
        indices = .allocate(capacity: mask + 1)
        pages = .allocate(capacity: room)
        counts = .allocate(capacity: room)
    }

    deinit {
        keys.deallocate(); indices.deallocate(); pages.deallocate(); counts.deallocate()
    }

    @inline(__always) func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The index of `page` (a new one, counting 0, on first use).
    func index(of page: UInt64) -> Int {
        let key = page &+ 1
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return indices[i] }
            if k == 0 { break }
            i = (i + 1) & mask
        }
        if used == room {
            let p = UnsafeMutablePointer<UInt64>.allocate(capacity: room * 2), c = UnsafeMutablePointer<UInt64>.allocate(capacity: room * 2)
            p.update(from: pages, count: used); c.update(from: counts, count: used)
            pages.deallocate(); counts.deallocate()
            pages = p; counts = c
            room *= 2
        }
        keys[i] = key
        indices[i] = used
        pages[used] = page
        counts[used] = 0
        used += 1
        if used * 2 > mask { grow() }
        return used - 1
    }

    func grow() {
        let oldKeys = keys, oldIndices = indices, oldSize = mask + 1
        mask = oldSize * 2 - 1
        shift -= 1
        keys = .allocate(capacity: mask + 1)
        keys.initialize(repeating: 0, count: mask + 1)
        indices = .allocate(capacity: mask + 1)
        for j in 0..<oldSize where oldKeys[j] != 0 {
            var i = slot(oldKeys[j])
            while keys[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            indices[i] = oldIndices[j]
        }
        oldKeys.deallocate()
        oldIndices.deallocate()
    }

    /// Calls `body` with each page that has accesses and its count (in order of first use).
    func forEach(_ body: (UInt64, UInt64) -> Void) {
        for i in 0..<used where counts[i] > 0 { body(pages[i], counts[i]) }
    }
}
