// Little-endian, unaligned-safe loads and stores on raw memory.
// Every structure on media goes through these: the byte order is spelled out
// once here, never implied by the host.

/// Little-endian loads at any alignment (FORMAT.md §1).
extension UnsafeRawPointer {
    /// Loads a little-endian integer at `offset` (any alignment).
    /// The caller has checked that `offset + MemoryLayout<T>.size` is in bounds.
    @inlinable
    public func loadLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// Little-endian stores at any alignment (FORMAT.md §1).
extension UnsafeMutableRawPointer {
    /// Stores `value` little-endian at `offset` (any alignment).
    /// The caller has checked that the bytes are in bounds.
    @inlinable
    public func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

/// Rounds `value` up to a multiple of `alignment` (a power of two).
/// Precondition: the result does not overflow (callers pass sizes already
/// bounded by the segment size).
@inlinable
public func alignUp(_ value: Int, _ alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
}

/// `alignUp` for 64-bit offsets.
@inlinable
public func alignUp64(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
    (value + alignment - 1) & ~(alignment - 1)
}
