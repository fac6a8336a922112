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
/// Exactly eight 8-byte fields (`LaneWriter.init` checks the size).
/// The fields are documented where `LaneWriter` forwards them.
@usableFromInline
struct AppendState {
    @usableFromInline var groupStaged = 0
    @usableFromInline var groupStreamed = 0
    @usableFromInline var directFastRoom = 0
    @usableFromInline var groupFastRoom = 0
    @usableFromInline var groupCount = 0
    @usableFromInline var groupTimestamp: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var appendedBytes: UInt64 = 0

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
