import TraceFormat
import TracePayloads

/// Turns ELF symbols into the sorted, non-overlapping ranges of a symbol
/// table (FORMAT.md §8.7).
///
/// Rules, applied in this order:
/// 1. **Aliases** (several symbols at one address): one is kept — a
///    function-like symbol (FUNC, IFUNC, NOTYPE) over an OBJECT, then the
///    larger size, then the one that comes later in the file's symbol table.
///    This is the choice llvm-symbolizer makes (measured against LLVM 21 on
///    the C library), so both tools name an address the same way.
/// 2. **Zero-size symbols** extend to the next symbol's address (or the end
///    of their section), as `nm -n`-based tools and llvm-symbolizer read them.
/// 3. **Nested symbols** (one inside another's range) split the outer one:
///    the address range inside the inner symbol belongs to it, the rest to
///    the outer symbol, with offsets still counted from the outer's start.
///    (llvm-symbolizer answers "??" past the inner symbol's end instead.)
public enum SymbolTableBuilder {
    /// One address range of the table being built.
    public struct Range: Equatable, Sendable {
        /// First address covered.
        public var start: UInt64
        /// One past the last address covered.
        public var end: UInt64
        /// Index of the symbol among the kept symbols.
        public var symbol: Int  // index into the kept symbols
    }

    static func better(_ a: ELFSymbol, _ b: ELFSymbol) -> Bool {
        let (objectA, objectB) = (a.type == 1, b.type == 1)
        if objectA != objectB { return objectB }
        if a.size != b.size { return a.size > b.size }
        return a.tableIndex > b.tableIndex
    }

    /// The kept symbols (one per address, sorted) and the ranges covering them.
    public static func build(_ symbols: [ELFSymbol], sectionEnd: (UInt16) -> UInt64?) -> (kept: [ELFSymbol], ranges: [Range]) {
        let sorted = symbols.sorted { $0.value != $1.value ? $0.value < $1.value : better($0, $1) }
        var kept: [ELFSymbol] = []
        for s in sorted where kept.last?.value != s.value { kept.append(s) }
        // Extents: zero size → up to the next kept symbol or the section end.
        var ends: [UInt64] = []
        for (i, s) in kept.enumerated() {
            if s.size > 0 {
                ends.append(s.value &+ s.size)
            } else {
                let next = i + 1 < kept.count ? kept[i + 1].value : UInt64.max
                let sectionLimit = sectionEnd(s.sectionIndex) ?? 0
                ends.append(min(next, sectionLimit > s.value ? sectionLimit : s.value &+ 1))
            }
        }
        // Sweep: the innermost open symbol owns each address.
        var ranges: [Range] = []
        var stack: [Int] = []
        func emit(_ from: UInt64, _ to: UInt64, _ symbol: Int) {
            guard from < to else { return }
            if let last = ranges.last, last.symbol == symbol, last.end == from { ranges[ranges.count - 1].end = to } else {
                ranges.append(Range(start: from, end: to, symbol: symbol))
            }
        }
        var position: UInt64 = 0
        func advance(to limit: UInt64) {
            while position < limit, let top = stack.last {
                if ends[top] <= position { stack.removeLast(); continue }
                let until = min(ends[top], limit)
                emit(position, until, top)
                position = until
            }
            position = max(position, limit)
            while let top = stack.last, ends[top] <= position { stack.removeLast() }
        }
        for i in kept.indices {
            advance(to: kept[i].value)
            stack.append(i)
        }
        advance(to: .max)
        return (kept, ranges)
    }

    /// Encodes ranges into chunks of at most `maxChunkBytes` each.
    public static func chunks(kept: [ELFSymbol], ranges: [Range], maxChunkBytes: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var entries: [SymbolChunk.Entry] = []
        var strings: [UInt8] = []
        var nameOffsets: [Int: UInt32] = [:]
        func flush() {
            guard !entries.isEmpty else { return }
            var bytes: [UInt8] = []
            SymbolChunk.encode(entries: entries, strings: strings, into: &bytes)
            out.append(bytes)
            entries = []
            strings = []
            nameOffsets = [:]
        }
        for r in ranges {
            let s = kept[r.symbol]
            let nameBytes = nameOffsets[r.symbol] == nil ? s.name.utf8.count + 1 : 0
            if SymbolChunk.maximumSize(count: entries.count + 1, stringBytes: strings.count + nameBytes) > maxChunkBytes {
                flush()
            }
            let offset: UInt32
            if let o = nameOffsets[r.symbol] { offset = o } else {
                offset = UInt32(strings.count)
                strings.append(contentsOf: s.name.utf8)
                strings.append(0)
                nameOffsets[r.symbol] = offset
            }
            // Ranges longer than 4 GiB are cut into 4 GiB pieces (u32 size).
            var start = r.start
            while start < r.end {
                let size = UInt32(min(r.end - start, UInt64(UInt32.max)))
                entries.append(SymbolChunk.Entry(start: start, size: size, nameOffset: offset,
                                                 symbolOffset: UInt32(truncatingIfNeeded: start - s.value), info: UInt32(s.info)))
                start += UInt64(size)
            }
        }
        flush()
        return out
    }
}
