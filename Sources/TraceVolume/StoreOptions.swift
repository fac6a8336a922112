/// Settings of a mounted store that are not on media.
public struct StoreOptions: Sendable {
    /// A writer commits by itself once this many bytes were appended since the
    /// last commit (0 = only at explicit commits and segment boundaries).
    public var commitInterval: Int
    /// Nanosecond clock for volume timestamps; returns 0 where there is none.
    public var clock: @convention(c) () -> UInt64

    public init(commitInterval: Int = 8 << 20, clock: @convention(c) () -> UInt64 = { 0 }) {
        self.commitInterval = commitInterval
        self.clock = clock
    }
}
