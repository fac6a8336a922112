/// The part of a `LaneWriter`'s state that every small append reads and
/// writes, on one 64-byte cache line of its own (`LaneWriter.hot`).
///
/// Why a line of its own (measured, `Benchmarks _profile-append 256 67108864
/// 524288`): these fields used to be stored properties of the writer object,
/// which malloc places at any 16-byte boundary. The optimizer merges pairs of
/// them into 16-byte loads and stores; when such a pair straddled a cache
/// line (one object placement in four) or a page, every member took ~110 ns
/// instead of ~17 ns — the split store sat in the store queue behind the
/// group stream's non-temporal stores. Which placement a run got depended on
/// what the process had allocated before (its environment's size was
/// enough to flip it): 31–33 ms against 4.5–5.1 ms for 64 MiB of 256-byte
/// records in the same binary. Here every field lies inside one aligned
/// line, so no access to them can split, whatever the placement.
///
/// Why one packed word (`staged`) holds what a staged member changes
/// (measured, a C model of the staged path and `Benchmarks _profile-append
/// 64 268435456 524288`): every 64-byte member already costs six stores
/// (header word, padding, four 16-byte moves); with a store per counter on
/// top, the members' stores fill the store queue behind the staging
/// buffer's non-temporal burst and the core waits for the memory. One add
/// and one store per member instead of three stores; the counters take
/// what is pending at the next change through `LaneWriter`'s setters.
///
/// Exactly eight 8-byte fields (`LaneWriter.init` checks the size).
/// The fields are documented where `LaneWriter` forwards them.
@usableFromInline
struct AppendState {
    /// `groupStaged` in bits 0..<24; what the inlined fast path added since
    /// the counters were last settled: members in bits 24..<40, payload
    /// bytes in bits 40..<64 (`LaneWriter.settle`). Between two settles only
    /// the fast path adds, and only while the staged bytes stay below
    /// `LaneWriter.streamChunk`: at most streamChunk / 8 members and
    /// streamChunk bytes, far inside both fields.
    @usableFromInline var staged: UInt64 = 0
    @usableFromInline var groupStreamed = 0
    @usableFromInline var directFastRoom = 0
    @usableFromInline var groupFastRoom = 0
    @usableFromInline var groupCount = 0
    @usableFromInline var groupTimestamp: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var appendedBytes: UInt64 = 0

    /// One staged member of `payload` bytes and `footprint` bytes in the
    /// buffer, as an addend of `staged`.
    @inlinable @inline(__always)
    static func stagedMember(footprint: Int, payload: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: footprint) | 1 << 24 | UInt64(truncatingIfNeeded: payload) << 40
    }

    @usableFromInline init() {}

    /// A zeroed state on a 64-byte line of its own; the caller deallocates it.
    static func allocate() -> UnsafeMutablePointer<AppendState> {
        precondition(MemoryLayout<AppendState>.size == 64, "AppendState must fill one cache line exactly")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        let state = raw.bindMemory(to: AppendState.self, capacity: 1)
        state.initialize(to: AppendState())
        return state
    }
}
