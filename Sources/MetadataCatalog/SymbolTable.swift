import TraceFormat
import TracePayloads
import TraceVolume

/// One application's symbol table, read in place from its volume: the chunk
/// payloads are binary-searched where they lie in the mapped region (nothing
/// copied; at open, one validation pass over each chunk's entries and bucket
/// index, FORMAT.md §8.8, so that a damaged table is refused with
/// `CatalogError.damagedTable` rather than answering wrongly).
///
/// Valid while the pool stays open. Lookups are thread-safe (read-only).
public final class SymbolTable: @unchecked Sendable {
    // SAFETY: immutable after init; points into the mapped region.
    /// The table's header record (app, build-id, path, counts).
    public let info: SymbolTableInfo
    /// The volume the table is stored in.
    public let volume: String
    let chunks: [SymbolChunk]
    let lows: [UInt64]

    /// A symbolized address. The name is found in the string pool only when
    /// asked for, so batch lookups that only count or group pay nothing for it.
    public struct Match {
        let chunk: SymbolChunk
        let nameOffset: UInt32
        /// `address − symbol start`.
        public var offset: UInt64
        /// The symbol's ELF type/binding byte.
        public var info: UInt8
        /// The address range this answer holds for (link-time addresses).
        public var range: Range<UInt64>

        /// The symbol's raw (mangled) name, in place; empty if the pool entry is damaged.
        public var name: UnsafeRawBufferPointer {
            chunk.name(at: nameOffset) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        }
        /// The symbol's name as text (bytes that are not UTF-8 show as U+FFFD).
        public var nameString: String { String(decoding: name, as: UTF8.self) }
    }

    /// Chunks must each have passed `SymbolChunk.validate()`; this checks
    /// that they split the address space without overlap (FORMAT.md §8.8).
    init(info: SymbolTableInfo, volume: String, chunks: [SymbolChunk]) throws(CatalogError) {
        self.info = info
        self.volume = volume
        let sorted = chunks.sorted { $0.lowest < $1.lowest }
        for k in sorted.indices.dropFirst() where sorted[k].lowest < sorted[k - 1].highest {
            throw .damagedTable(volume: volume, reason: "symbol chunks overlap: one covers [0x\(String(sorted[k - 1].lowest, radix: 16)), 0x\(String(sorted[k - 1].highest, radix: 16))), another starts at 0x\(String(sorted[k].lowest, radix: 16))")
        }
        self.chunks = sorted
        lows = sorted.map(\.lowest)
    }

    /// Number of address ranges.
    public var rangeCount: Int { chunks.reduce(0) { $0 + $1.count } }

    /// The symbol covering `address` (a link-time address of this file), or
    /// nil. O(log chunks + log ranges).
    public func lookup(_ address: UInt64) -> Match? {
        // Last chunk whose lowest start ≤ address.
        var lo = 0, hi = lows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if lows[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let chunk = chunks[lo - 1]
        guard let i = chunk.find(address) else { return nil }
        let e = chunk.entry(i)
        // `find` guarantees start ≤ address < start + size (so the offset is below
        // 2^33), but the end is computed saturating: a chunk that skipped
        // validation must not trap here.
        let (end, wrapped) = e.start.addingReportingOverflow(UInt64(e.size))
        return Match(chunk: chunk, nameOffset: e.nameOffset, offset: address - e.start + UInt64(e.symbolOffset),
                     info: UInt8(truncatingIfNeeded: e.info), range: e.start..<(wrapped ? .max : end))
    }

    /// The link-time addresses around `address` that no symbol covers (the
    /// gap between the symbols on either side), or the empty range at
    /// `address` when a symbol covers it. O(log chunks + log ranges).
    public func gap(around address: UInt64) -> Range<UInt64> {
        var lo = 0, hi = lows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if lows[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        let next: UInt64 = lo < chunks.count ? chunks[lo].lowest : .max
        guard lo > 0 else { return Self.checked(0..<next, address) }
        let chunk = chunks[lo - 1]
        if address >= chunk.highest || chunk.count == 0 { return Self.checked(chunk.highest..<next, address) }
        // Last entry with start ≤ address (there is one: the first starts at `lowest`).
        var a = 0, b = chunk.count
        while a < b {
            let mid = (a + b) / 2
            if chunk.start(mid) <= address { a = mid + 1 } else { b = mid }
        }
        guard a > 0 else { return address..<address }
        let e = chunk.entry(a - 1)
        let (end, wrapped) = e.start.addingReportingOverflow(UInt64(e.size))
        let low = wrapped ? UInt64.max : end
        let high = a < chunk.count ? chunk.start(a) : chunk.highest
        return Self.checked(low..<max(low, high), address)
    }

    /// `r` when it holds `address`, else the empty range at `address`.
    static func checked(_ r: Range<UInt64>, _ address: UInt64) -> Range<UInt64> {
        r.contains(address) ? r : address..<address
    }

    /// Looks up every address; `body` gets each index and result in order.
    /// For millions of addresses; nothing is allocated per address.
    public func lookup(_ addresses: UnsafeBufferPointer<UInt64>, _ body: (Int, Match?) -> Void) {
        for (i, a) in addresses.enumerated() { body(i, lookup(a)) }
    }
}
