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
/// Cost: O(1) per access while consecutive accesses stay in one function
/// (or page); a symbol lookup (O(log mappings + log symbols)) and a hash
/// lookup when they move. Not thread-safe.
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

    /// Accesses counted (after the kind filter).
    public private(set) var total: UInt64 = 0

    // Symbolized groups: runtime start of the symbol → slot.
    var slotOfSymbol: [UInt64: Int] = [:]
    var slotNames: [(name: String, image: String)] = []
    var slotCounts: [UInt64] = []
    // Everything else, by page.
    var pageCounts: [UInt64: UInt64] = [:]
    // The current run: an address range and where its accesses go.
    var runRange: Range<UInt64> = 0..<0
    var runSlot = -1          // -1: the run counts into pageCounts[runPage]
    var runPage: UInt64 = .max
    var runCount: UInt64 = 0

    /// A counter. `symbolizer` is needed for `.function` and `.image` (without
    /// it every address goes to the mapping breakdown).
    public init(grouping: Grouping, symbolizer: AddressSpaceSymbolizer?, byPC: Bool = true, kinds: Set<MemoryAccess.Kind>? = nil) {
        self.grouping = grouping
        self.symbolizer = grouping == .page || grouping == .mapping ? nil : symbolizer
        self.byPC = byPC && grouping != .page
        self.kinds = kinds
    }

    /// Counts the accesses of `block`.
    public func add(_ block: AccessBlock) {
        let usePC = byPC && block.hasPC
        let source = usePC ? block.pc : block.address
        var kindMask: UInt8 = 0xF
        if let kinds { kindMask = kinds.reduce(0) { $0 | (1 << $1.rawValue) } }
        let filtered = kindMask != 0xF
        var counted: UInt64 = 0
        for i in 0..<block.count {
            if filtered && (1 << block.kind[i]) & kindMask == 0 { continue }
            counted &+= 1  // at most block.count
            let a = source[i]
            if runRange.contains(a) { runCount &+= 1; continue }
            if symbolizer == nil, a >> 12 == runPage { runCount &+= 1; continue }
            startRun(at: a)
        }
        total &+= counted
    }

    /// Ends the current run (its count goes to its group) and starts one at `a`.
    func startRun(at a: UInt64) {
        flushRun()
        runCount = 1
        if let symbolizer, let r = symbolizer.lookup(a) {
            runRange = r.range
            if let m = r.match {
                let start = r.range.lowerBound
                if grouping == .function {
                    if let s = slotOfSymbol[start] { runSlot = s } else {
                        runSlot = newSlot(Demangler.demangle(m.nameString), r.app)
                        slotOfSymbol[start] = runSlot
                    }
                } else {
                    runSlot = imageSlot(r.app)
                }
                return
            }
            if grouping == .image { runSlot = imageSlot(r.app); return }
        }
        runRange = 0..<0
        runSlot = -1
        runPage = a >> 12
    }

    var slotOfImage: [String: Int] = [:]

    func imageSlot(_ app: String) -> Int {
        if let s = slotOfImage[app] { return s }
        let s = newSlot(app, app)
        slotOfImage[app] = s
        return s
    }

    func newSlot(_ name: String, _ image: String) -> Int {
        slotNames.append((name, image))
        slotCounts.append(0)
        return slotNames.count - 1
    }

    func flushRun() {
        guard runCount > 0 else { return }
        if runSlot >= 0 { slotCounts[runSlot] &+= runCount } else { pageCounts[runPage, default: 0] &+= runCount }
        runCount = 0
    }

    /// Accesses a symbol (or, for `.image`, a recorded image) accounts for.
    public var symbolized: UInt64 {
        flushRun()
        return slotCounts.reduce(0, &+)
    }

    /// The groups, most accesses first (ties by name), at most `top`.
    /// Addresses no symbol covers are grouped by `maps` (the volume's
    /// recorded mappings; `.page` rows are labelled with them too).
    public func rows(top: Int, maps: MappingTable) -> [Row] {
        flushRun()
        var rows: [Row] = []
        for (i, n) in slotCounts.enumerated() where n > 0 {
            rows.append(Row(name: slotNames[i].name, image: slotNames[i].image, accesses: n, symbolized: true))
        }
        if grouping == .page {
            for (page, n) in pageCounts {
                rows.append(Row(name: "0x" + String(page << 12, radix: 16), image: maps.index(of: page << 12).map(maps.label) ?? "",
                                accesses: n, symbolized: false, page: page << 12))
            }
        } else {
            var byMapping: [String: UInt64] = [:]
            for (page, n) in pageCounts { byMapping[maps.label(of: page << 12), default: 0] &+= n }
            for (label, n) in byMapping {
                rows.append(Row(name: grouping == .function ? "?? " + label : label, image: label, accesses: n, symbolized: false))
            }
        }
        rows.sort { $0.accesses != $1.accesses ? $0.accesses > $1.accesses : $0.name < $1.name }
        return Array(rows.prefix(max(0, top)))
    }
}
