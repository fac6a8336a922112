/// A physical address range where persistent memory is, and so where a
/// region may live, with the tables that say so.
public struct NonVolatileRange: Equatable, Sendable {
    /// First physical address.
    public let base: UInt64
    /// Length in bytes.
    public let length: UInt64
    /// An NFIT SPA range of the persistent-memory type describes it.
    public let inNFIT: Bool
    /// An enabled, non-volatile SRAT memory-affinity entry covers it.
    public let inSRAT: Bool
    /// The SRAT entry's hot-pluggable flag (false when not in the SRAT).
    public let hotPluggable: Bool
    /// The proximity domain (from the SRAT, else from the NFIT when valid there).
    public let proximityDomain: UInt32?

    /// Creates a range.
    public init(base: UInt64, length: UInt64, inNFIT: Bool, inSRAT: Bool, hotPluggable: Bool, proximityDomain: UInt32?) {
        self.base = base
        self.length = length
        self.inNFIT = inNFIT
        self.inSRAT = inSRAT
        self.hotPluggable = hotPluggable
        self.proximityDomain = proximityDomain
    }

    /// Where persistent memory is according to either table: every NFIT
    /// persistent-memory SPA range (marked `inSRAT` when an enabled
    /// non-volatile SRAT entry covers it), then every enabled non-volatile
    /// SRAT range that overlaps no such NFIT range; empty ranges are left out.
    /// Sorted by base. Cost: O(n·m) over the two tables' entries (a handful).
    public static func find(srat: SRAT?, nfit: NFIT?) -> [NonVolatileRange] {
        var sratNV: [SRATMemoryAffinity] = []
        for e in srat?.memoryAffinities ?? [] where e.enabled && e.nonVolatile && e.length > 0 { sratNV.append(e) }
        var result: [NonVolatileRange] = []
        var claimed = [Bool](repeating: false, count: sratNV.count)
        for r in nfit?.spaRanges ?? [] where r.isPersistentMemory && r.length > 0 {
            var cover: SRATMemoryAffinity?
            for (i, e) in sratNV.enumerated() {
                // base + length never wraps: both parsers refuse ranges that do.
                let overlaps = e.base < r.base + r.length && r.base < e.base + e.length
                if overlaps { claimed[i] = true }
                if e.base <= r.base && r.base + r.length <= e.base + e.length { cover = e }
            }
            result.append(NonVolatileRange(
                base: r.base, length: r.length, inNFIT: true, inSRAT: cover != nil, hotPluggable: cover?.hotPluggable ?? false,
                proximityDomain: cover?.proximityDomain ?? (r.proximityDomainValid ? r.proximityDomain : nil)))
        }
        for (i, e) in sratNV.enumerated() where !claimed[i] {
            result.append(NonVolatileRange(base: e.base, length: e.length, inNFIT: false, inSRAT: true,
                                           hotPluggable: e.hotPluggable, proximityDomain: e.proximityDomain))
        }
        result.sort { $0.base < $1.base }
        return result
    }
}
