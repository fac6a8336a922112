import TraceFormat

/// The payload of a `.symbolChunk` record (FORMAT.md §8.8): part of one
/// application's symbol table, read in place: a bucket index stored with the
/// entries narrows each lookup to a few entries. Openers call `validate()`
/// (one linear pass, no allocation) before trusting lookups.
///
/// ```
/// 0   u32 magic "PMSC"      4  u32 count        8  u32 stringBytes   12 u32 bucketCount
/// 16  u64 lowest start      24 u64 highest end   32 u32 bucketShift   36 u32 reserved
/// 40  count × 24-byte entries, strictly increasing `start`, non-overlapping:
///       u64 start, u32 size, u32 nameOffset, u32 symbolOffset, u32 info
/// 40 + 24 × count: (bucketCount + 1) × u32 bucket[i] = number of entries whose
///       start < lowest + (i << bucketShift)
/// then the string pool, NUL-terminated UTF-8 names
/// ```
/// An entry covers `[start, start + size)`; `start − symbolOffset` is where
/// its symbol begins (non-zero for the remainder of a symbol split around a
/// nested one). `info` is the ELF `st_info` byte (type and binding) in bits 0-7.
public struct SymbolChunk {
    /// The payload's first four bytes.
    public static let magic: UInt32 = 0x4353_4D50  // "PMSC"
    /// Bytes before the entries.
    public static let headerSize = 40
    /// Bytes of one entry.
    public static let entrySize = 24

    /// One address range of a chunk (FORMAT.md §8.8).
    public struct Entry: Equatable, Sendable {
        /// First address covered (link-time).
        public var start: UInt64
        /// Bytes covered.
        public var size: UInt32
        /// Offset of the symbol's name in the string pool.
        public var nameOffset: UInt32
        /// How far into its symbol the range starts.
        public var symbolOffset: UInt32
        /// The ELF `st_info` byte in bits 0-7.
        public var info: UInt32

        /// An entry with the given fields.
        public init(start: UInt64, size: UInt32, nameOffset: UInt32, symbolOffset: UInt32, info: UInt32) {
            self.start = start
            self.size = size
            self.nameOffset = nameOffset
            self.symbolOffset = symbolOffset
            self.info = info
        }
    }

    /// Entries in the chunk.
    public let count: Int
    /// Bytes of the string pool.
    public var stringBytes: Int { strings.count }
    /// The first entry's start.
    public let lowest: UInt64
    /// The last entry's end.
    public let highest: UInt64
    @usableFromInline let entries: UnsafeRawPointer
    @usableFromInline let buckets: UnsafeRawPointer
    @usableFromInline let bucketCount: Int
    @usableFromInline let bucketShift: UInt64
    let strings: UnsafeRawBufferPointer

    /// Most bytes a chunk of `count` entries and `stringBytes` of names takes
    /// (the bucket index has at most one bucket per entry).
    public static func maximumSize(count: Int, stringBytes: Int) -> Int {
        headerSize + entrySize * count + 4 * (max(count, 1) + 1) + stringBytes
    }

    /// Bytes this chunk takes on media.
    public var byteCount: Int { Self.headerSize + Self.entrySize * count + 4 * (bucketCount + 1) + strings.count }

    /// Bucket count and shift for `count` entries spread over `span` bytes:
    /// about one entry per bucket, at most `count` buckets.
    static func bucketLayout(count: Int, span: UInt64) -> (count: Int, shift: UInt64) {
        guard count > 0 else { return (1, 63) }
        var shift: UInt64 = 0
        // `(span >> shift) + 1 > count`, written so that a span of 2^64 − 1 cannot overflow.
        while shift < 63 && span >> shift >= UInt64(count) { shift += 1 }
        return (Int((span >> shift) + 1), shift)
    }

    /// Encodes entries (sorted, non-overlapping), their bucket index and string pool.
    public static func encode(entries: [Entry], strings: [UInt8], into out: inout [UInt8]) {
        let lowest = entries.first?.start ?? 0
        let highest = entries.last.map { $0.start + UInt64($0.size) } ?? 0
        let (bucketCount, shift) = bucketLayout(count: entries.count, span: highest - lowest)
        let bucketsAt = headerSize + entrySize * entries.count
        let stringsAt = bucketsAt + 4 * (bucketCount + 1)
        out = [UInt8](repeating: 0, count: stringsAt + strings.count)
        out.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            p.storeLE(magic, at: 0)
            p.storeLE(UInt32(entries.count), at: 4)
            p.storeLE(UInt32(strings.count), at: 8)
            p.storeLE(UInt32(bucketCount), at: 12)
            p.storeLE(lowest, at: 16)
            p.storeLE(highest, at: 24)
            p.storeLE(UInt32(shift), at: 32)
            for (i, e) in entries.enumerated() {
                let q = p + headerSize + entrySize * i
                q.storeLE(e.start, at: 0)
                q.storeLE(e.size, at: 8)
                q.storeLE(e.nameOffset, at: 12)
                q.storeLE(e.symbolOffset, at: 16)
                q.storeLE(e.info, at: 20)
            }
            var index = 0
            for bucket in 0...bucketCount {
                let bucketStart = bucket == bucketCount ? UInt64.max : lowest + (UInt64(bucket) << shift)
                while index < entries.count && entries[index].start < bucketStart { index += 1 }
                p.storeLE(UInt32(index), at: bucketsAt + 4 * bucket)
            }
            strings.withUnsafeBytes { s in
                if let sb = s.baseAddress { (p + stringsAt).copyMemory(from: sb, byteCount: s.count) }
            }
        }
    }

    /// A view of a chunk payload in place. Checks magic and that the entry
    /// array, bucket index and string pool lie inside the payload; O(1),
    /// nothing copied. `validate()` checks the contents.
    public init(_ payload: UnsafeRawBufferPointer) throws(FormatError) {
        let s = Structure.payload(kind: RecordKind.symbolChunk.rawValue)
        guard payload.count >= Self.headerSize, let p = payload.baseAddress else {
            throw .truncated(s, needed: Self.headerSize, available: payload.count)
        }
        let magic: UInt32 = p.loadLE(0)
        guard magic == Self.magic else { throw .badMagic(s, found: UInt64(magic)) }
        let count = Int(p.loadLE(4, as: UInt32.self))
        let stringBytes = Int(p.loadLE(8, as: UInt32.self))
        let bucketCount = Int(p.loadLE(12, as: UInt32.self))
        let shift = UInt64(p.loadLE(32, as: UInt32.self))
        guard bucketCount >= 1, shift <= 63 else { throw .invalidField(s, field: "bucketCount/bucketShift", value: UInt64(bucketCount)) }
        // All u32 quantities: the sum fits Int without overflow.
        let needed = Self.headerSize + Self.entrySize * count + 4 * (bucketCount + 1) + stringBytes
        guard needed <= payload.count else { throw .truncated(s, needed: needed, available: payload.count) }
        self.count = count
        lowest = p.loadLE(16)
        highest = p.loadLE(24)
        entries = p + Self.headerSize
        buckets = p + Self.headerSize + Self.entrySize * count
        self.bucketCount = bucketCount
        bucketShift = shift
        strings = UnsafeRawBufferPointer(start: buckets + 4 * (bucketCount + 1), count: stringBytes)
    }

    /// Entry `i` (precondition: `i < count`).
    @inlinable
    public func entry(_ i: Int) -> Entry {
        let q = entries + Self.entrySize * i
        return Entry(start: q.loadLE(0), size: q.loadLE(8), nameOffset: q.loadLE(12), symbolOffset: q.loadLE(16), info: q.loadLE(20))
    }

    /// Start of entry `i`. Precondition: `0 <= i < count`.
    @inlinable
    public func start(_ i: Int) -> UInt64 { (entries + Self.entrySize * i).loadLE(0) }

    /// Index of the entry covering `address`, or nil. The bucket index
    /// narrows the search to the entries starting in one bucket. On a chunk
    /// that passed `validate()` the answer is exact. On any other chunk bucket
    /// values are clamped to `count` and no arithmetic can wrap or trap, so a
    /// damaged chunk gives a wrong answer at worst, never a trap or an
    /// out-of-bounds read.
    @inlinable
    public func find(_ address: UInt64) -> Int? {
        guard count > 0, address >= lowest else { return nil }
        let b = Int(min((address - lowest) >> bucketShift, UInt64(bucketCount - 1)))
        var lo = max(min(Int(buckets.loadLE(4 * b, as: UInt32.self)), count) - 1, 0)
        var hi = min(Int(buckets.loadLE(4 * (b + 1), as: UInt32.self)), count)
        if hi < lo { (lo, hi) = (0, count) }
        // Last entry in [lo, hi) with start ≤ address.
        while lo < hi {
            let mid = (lo + hi) / 2
            if start(mid) <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let e = entry(lo - 1)
        // On a damaged chunk the search can end on an entry it never compared
        // (its range came from the bucket index): compare before subtracting.
        guard e.start <= address else { return nil }
        return address - e.start < UInt64(e.size) ? lo - 1 : nil
    }

    /// The NUL-terminated name at `offset` in the pool, bounds-checked:
    /// nil when the offset is outside the pool or the name has no NUL.
    public func name(at offset: UInt32) -> UnsafeRawBufferPointer? {
        let o = Int(offset)
        guard o < strings.count else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: strings[o...])
        guard let end = rest.firstIndex(of: 0) else { return nil }
        return UnsafeRawBufferPointer(rebasing: rest[..<end])
    }
}
