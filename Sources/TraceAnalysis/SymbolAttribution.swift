import MetadataCatalog

/// Names addresses for per-access output (`export --symbolize`,
/// `dump --accesses --symbolize`): each address gets a group id, a symbol of
/// an image or, where no symbol covers it, the mapping holding it
/// (`[heap]`, `[stack]`, `[anon]`, an image without symbols, `[unmapped]`),
/// the same groups `hot --by function` counts. Ids are dense, from 0, in
/// order of first use. O(1) per address while consecutive addresses stay in
/// one group. Not thread-safe.
public final class SymbolAttribution {
    /// One group.
    public struct Group: Sendable, Equatable {
        /// The demangled symbol name, or nil for a mapping without a symbol there.
        public var name: String?
        /// The image (app) holding the symbol, or the mapping's label.
        public var image: String
        /// Runtime address range of the symbol (or the mapping; empty when unmapped).
        public var range: Range<UInt64>
    }

    let symbolizer: AddressSpaceSymbolizer?
    let maps: MappingTable
    /// The groups, by id.
    public private(set) var groups: [Group] = []
    var bySymbol: [UInt64: Int] = [:]
    var byMapping: [Int: Int] = [:]
    var unmappedGroup: Int?
    var lastRange: Range<UInt64> = 0..<0
    var lastGroup = 0

    /// Attribution through `symbolizer` (nil: mappings only) and `maps`.
    public init(symbolizer: AddressSpaceSymbolizer?, maps: MappingTable) {
        self.symbolizer = symbolizer
        self.maps = maps
    }

    /// The group id of `address`.
    public func group(of address: UInt64) -> Int {
        if lastRange.contains(address) { return lastGroup }
        return lookUp(address)
    }

    /// The slow path of `group(of:)`.
    func lookUp(_ address: UInt64) -> Int {
        if let s = symbolizer?.lookup(address), let m = s.match {
            lastRange = s.range
            if let g = bySymbol[s.range.lowerBound] { lastGroup = g; return g }
            groups.append(Group(name: Demangler.demangle(m.nameString), image: s.app, range: s.range))
            lastGroup = groups.count - 1
            bySymbol[s.range.lowerBound] = lastGroup
            return lastGroup
        }
        guard let i = maps.index(of: address) else {
            lastRange = 0..<0
            if let g = unmappedGroup { return g }
            groups.append(Group(name: nil, image: MappingTable.unmapped, range: 0..<0))
            unmappedGroup = groups.count - 1
            return groups.count - 1
        }
        // Only remember the mapping's range when no symbol can lie inside it.
        let line = maps.lines[i]
        lastRange = symbolizer == nil || line.path == nil || line.path!.hasPrefix("[") ? line.start..<line.end : 0..<0
        if let g = byMapping[i] { lastGroup = g; return g }
        groups.append(Group(name: nil, image: maps.label(i), range: line.start..<line.end))
        lastGroup = groups.count - 1
        byMapping[i] = lastGroup
        return lastGroup
    }
}
