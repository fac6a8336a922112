import TraceFormat

/// The payload of a `.pmlBatch` record (FORMAT.md §8.3): `u32 count`
/// (1...512), `u32 reserved`, then `count` little-endian u64 guest-physical
/// addresses, as Intel PML logs them (one 4 KiB page each).
public enum PMLBatch {
    /// Most entries in one batch (one PML buffer).
    public static let maxEntries = 512

    /// Encodes up to 512 addresses. Precondition: 1...512 entries.
    public static func encode(_ addresses: UnsafeBufferPointer<UInt64>, into out: inout [UInt8]) {
        precondition(addresses.count >= 1 && addresses.count <= maxEntries, "a PML batch holds 1...512 entries")
        out = [UInt8](repeating: 0, count: 8 + 8 * addresses.count)
        out.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            p.storeLE(UInt32(addresses.count), at: 0)
            for (i, a) in addresses.enumerated() { p.storeLE(a, at: 8 + 8 * i) }
        }
    }

    /// Validates the payload and calls `body` with each address.
    public static func forEach(_ payload: UnsafeRawBufferPointer, _ body: (UInt64) -> Void) throws(FormatError) {
        let s = Structure.payload(kind: RecordKind.pmlBatch.rawValue)
        guard payload.count >= 8, let p = payload.baseAddress else {
            throw .truncated(s, needed: 8, available: payload.count)
        }
        let count = Int(p.loadLE(0, as: UInt32.self))
        guard count >= 1, count <= maxEntries else { throw .invalidField(s, field: "count", value: UInt64(count)) }
        guard payload.count >= 8 + 8 * count else { throw .truncated(s, needed: 8 + 8 * count, available: payload.count) }
        for i in 0..<count { body(p.loadLE(8 + 8 * i)) }
    }
}

/// The payload of a `.pageImage` record (FORMAT.md §8.4): `u64 guest-physical
/// address`, `u32 page size` (4096), `u32 reserved`, then the page bytes.
public enum PageImage {
    /// Bytes of the page an image holds.
    public static let pageSize = 4096
    /// Bytes before the page's contents.
    public static let headerSize = 16

    /// Writes the 16-byte prefix; the page bytes follow it in the payload.
    public static func encodeHeader(address: UInt64, into p: UnsafeMutableRawPointer) {
        p.storeLE(address, at: 0)
        p.storeLE(UInt32(pageSize), at: 8)
        p.storeLE(UInt32(0), at: 12)
    }

    /// Validates and splits a payload into address and page bytes (in place).
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(FormatError) -> (address: UInt64, page: UnsafeRawBufferPointer) {
        let s = Structure.payload(kind: RecordKind.pageImage.rawValue)
        guard payload.count >= headerSize, let p = payload.baseAddress else {
            throw .truncated(s, needed: headerSize, available: payload.count)
        }
        let size = Int(p.loadLE(8, as: UInt32.self))
        guard size == pageSize else { throw .invalidField(s, field: "page size", value: UInt64(size)) }
        // A page starts at a page boundary and ends before 2^64 (no writer
        // wrote anything else; a reader placing it must not wrap or shift it).
        let address = p.loadLE(0, as: UInt64.self)
        guard address % UInt64(pageSize) == 0, address <= UInt64.max - UInt64(pageSize) + 1 else {
            throw .invalidField(s, field: "guest-physical address", value: address)
        }
        guard payload.count == headerSize + size else {
            throw .truncated(s, needed: headerSize + size, available: payload.count)
        }
        return (p.loadLE(0), UnsafeRawBufferPointer(start: p + headerSize, count: size))
    }
}
