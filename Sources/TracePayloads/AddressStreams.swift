/// The previous address of each of the four access-kind streams of a
/// memory-access batch (FORMAT.md §8.12; kind 2 and kind 9 use stream 0
/// only). Plain stored properties indexed through a pointer: a dynamic
/// `SIMD4` subscript measured 2-3× slower in the encoder's loop.
@usableFromInline
struct AddressStreams {
    @usableFromInline var a: UInt64 = 0
    @usableFromInline var b: UInt64 = 0
    @usableFromInline var c: UInt64 = 0
    @usableFromInline var d: UInt64 = 0

    @inlinable init() {}

    /// Stores `address` as stream `i`'s previous address and returns the one before. `i` in 0...3.
    @inlinable @inline(__always)
    mutating func swap(_ i: Int, _ address: UInt64) -> UInt64 {
        withUnsafeMutablePointer(to: &self) { p in
            p.withMemoryRebound(to: UInt64.self, capacity: 4) { s in
                let old = s[i & 3]
                s[i & 3] = address
                return old
            }
        }
    }

    /// Adds `delta` (wrapping) to stream `i`'s previous address, stores and returns the result. `i` in 0...3.
    @inlinable @inline(__always)
    mutating func advance(_ i: Int, by delta: UInt64) -> UInt64 {
        withUnsafeMutablePointer(to: &self) { p in
            p.withMemoryRebound(to: UInt64.self, capacity: 4) { s in
                let address = s[i & 3] &+ delta
                s[i & 3] = address
                return address
            }
        }
    }
}
