/// The Fletcher-64 checksum Linux's libnvdimm puts on its 4 KiB info
/// blocks: over the block read as little-endian 32-bit words, a 32-bit
/// running sum `lo` (wrapping) and a 64-bit sum of the running sums `hi`;
/// the result is `hi << 32 | lo` (hi's upper half shifted out). Trailing
/// bytes that do not fill a word are not summed. Cost: one pass.
public func fletcher64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var lo: UInt32 = 0
    var hi: UInt64 = 0
    var i = 0
    while i + 4 <= bytes.count {
        lo &+= UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))  // wraps by definition
        hi &+= UInt64(lo)  // wraps by definition; only the low half survives the shift
        i += 4
    }
    return hi << 32 | UInt64(lo)
}

/// Fletcher-64 of a 4 KiB info block as Linux computes it (`nd_sb_checksum`):
/// the 8-byte checksum field at `checksumOffset` counts as zero.
/// Precondition: `checksumOffset + 8 <= bytes.count`, a multiple of 4.
func fletcher64(_ bytes: UnsafeRawBufferPointer, zeroing checksumOffset: Int) -> UInt64 {
    precondition(checksumOffset % 4 == 0 && checksumOffset >= 0 && checksumOffset + 8 <= bytes.count)
    var lo: UInt32 = 0
    var hi: UInt64 = 0
    var i = 0
    while i + 4 <= bytes.count {
        let word = i >= checksumOffset && i < checksumOffset + 8
            ? 0 : UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
        lo &+= word  // wraps by definition
        hi &+= UInt64(lo)  // wraps by definition
        i += 4
    }
    return hi << 32 | UInt64(lo)
}
