/// Bounded little-endian reads from untrusted bytes.
///
/// Every read checks `offset + size <= count` (without overflow) and throws
/// `.truncated` naming `structure` otherwise. Holds the pointer only for the
/// duration of a parse; do not escape it.
struct Bytes {
    let buffer: UnsafeRawBufferPointer
    let structure: NVMStructure
    var count: Int { buffer.count }

    /// Throws unless `size` bytes at `offset` are in bounds.
    func need(_ offset: Int, _ size: Int) throws(NVMError) {
        // Compared without adding, so nothing can overflow; `needed` saturates.
        guard offset >= 0, size >= 0, offset <= buffer.count, size <= buffer.count - offset else {
            let (sum, overflow) = offset.addingReportingOverflow(size)
            throw .truncated(structure, needed: overflow ? Int.max : sum, available: buffer.count)
        }
    }

    func u8(_ offset: Int) throws(NVMError) -> UInt8 {
        try need(offset, 1)
        return buffer[offset]
    }

    func le<T: FixedWidthInteger>(_ offset: Int, _: T.Type = T.self) throws(NVMError) -> T {
        try need(offset, MemoryLayout<T>.size)
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The same bytes, now naming `structure` in errors.
    func naming(_ structure: NVMStructure) -> Bytes { Bytes(buffer: buffer, structure: structure) }

    /// `length` bytes at `offset`, as their own bounded view naming `structure`.
    func slice(_ offset: Int, _ length: Int, as structure: NVMStructure) throws(NVMError) -> Bytes {
        try naming(structure).need(offset, length)
        return Bytes(buffer: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length]), structure: structure)
    }
}
