/// SplitMix64: a tiny, fast, deterministic generator (Steele, Lea, Flood 2014)
/// for reproducible test and benchmark data. Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; the same seed gives the same sequence.
    public var state: UInt64

    /// A generator starting at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits (SplitMix64: fast, not cryptographic).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Record `seq` of the kill -9 torture workload (`pmtrace _torture-writer`):
/// size (0…6999 bytes, some over 4 KiB so they split at segment ends) and
/// bytes depend on `seq` only, so a checker can verify any record.
public func tortureRecord(_ seq: UInt64) -> [UInt8] {
    var state = seq &* 0x9E37_79B9_7F4A_7C15 &+ 12345
    let size = Int((state >> 7) % 7000)
    var out = [UInt8](repeating: 0, count: size)
    out.withUnsafeMutableBytes { b in
        for i in 0..<size {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            b[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
    }
    return out
}
