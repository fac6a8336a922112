#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A zero-filled, page-aligned DRAM buffer standing in for a region in tests.
/// Its persistence functions do nothing but the copy: durability is not
/// simulated here (crash simulation records stores separately).
/// Not thread-safe to create; the bytes follow the store's rules.
public final class InMemoryRegion: @unchecked Sendable {
    // SAFETY: the buffer is owned for the object's life; access follows the store's rules.
    public let base: UnsafeMutableRawPointer
    public let size: UInt64

    public init(size: UInt64) {
        var p: UnsafeMutableRawPointer?
        precondition(posix_memalign(&p, 4096, Int(size)) == 0, "out of memory for an in-memory region")
        base = p!
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Int(size))
        self.size = size
    }

    deinit { free(base) }

    public static let persist: PMemMapping.PersistFunction = { _, _ in }
    public static let drain: PMemMapping.DrainFunction = {}
    public static let copy: PMemMapping.CopyFunction = { d, s, n, _ in
        if n > 0 { d!.copyMemory(from: s!, byteCount: n) }
        return d
    }
}
