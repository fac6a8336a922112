import Foundation
import PMTrace
import PMemBackend
import Testing
import TraceVolume

/// A region that starts at an offset inside a file (after a namespace info
/// block, say): format, write and read there leave every byte outside the
/// region as it was.
@Suite struct OffsetRegionTests {
    static func fill(_ path: String, bytes: Int, seed: UInt8) throws -> [UInt8] {
        let content = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 12)) }
        try Data(content).write(to: URL(fileURLWithPath: path))
        return content
    }

    static func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test(arguments: [UInt64(4096), 2 << 20, 6 << 20])
    func formatWriteReadAtOffsetLeavesTheRestUntouched(offset: UInt64) throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        let size: UInt64 = 4 << 20, fileSize = Int(offset) + Int(size) + 8192
        let before = try Self.fill(path, bytes: fileSize, seed: UInt8(truncatingIfNeeded: offset >> 12))
        do {
            let pool = try TracePool.format(path: path, offset: offset, size: size, parameters: smallParameters())
            #expect(pool.offset == offset && pool.mapping.size == size)
            try pool.store.createVolume(named: "v", lanes: 1)
            let w = try pool.store.openWriter(volume: "v", lane: 0)
            for i in 0..<200 { try payload(i, 50 + i).withUnsafeBytes { try w.append($0, timestamp: UInt64(i)) } }
            w.close()
        }
        let after = try Self.contents(path)
        #expect(after.count == fileSize)
        #expect(after[0..<Int(offset)] == before[0..<Int(offset)], "bytes before the offset changed")
        #expect(after[(Int(offset) + Int(size))...] == before[(Int(offset) + Int(size))...], "bytes after the region changed")
        // Reopened at the offset (to the end of the file), every record reads back.
        let pool = try TracePool.open(path: path, offset: offset, writable: false)
        let back = try readAll(try pool.store.openReader(volume: "v"))
        #expect(back.count == 200)
        for (i, r) in back.enumerated() { #expect(r.bytes == payload(i, 50 + i)) }
        // Not a region at 0. (Except at offset 4096: a mount at 0 then finds the
        // region's copy A where it looks for copy B, and the superblock does
        // not record where it lives; FORMAT.md has no field for that.)
        if offset != 4096 { #expect(throws: PoolError.self) { try TracePool.open(path: path, writable: false) } }
    }

    @Test func refusesMisalignedOrPastTheEndAndExistingRegions() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        _ = try Self.fill(path, bytes: 8 << 20, seed: 1)
        #expect(throws: PoolError.mapping(.invalidOffset(path: path, offset: 1000, reason: "not a multiple of 4096 bytes, the alignment libpmem2 requires here"))) {
            try TracePool.open(path: path, offset: 1000, writable: false)
        }
        #expect(throws: PoolError.mapping(.invalidOffset(path: path, offset: 8 << 20, reason: "at or past the end of the file (8388608 bytes)"))) {
            try TracePool.open(path: path, offset: 8 << 20, writable: false)
        }
        _ = try TracePool.format(path: path, offset: 1 << 20, size: 4 << 20, parameters: smallParameters())
        #expect(throws: PoolError.self) { try TracePool.format(path: path, offset: 1 << 20, size: 4 << 20, parameters: smallParameters()) }
        _ = try TracePool.format(path: path, offset: 1 << 20, size: 4 << 20, parameters: smallParameters(), force: true)
        // A region past the end of a file extends it (a file is never shrunk).
        _ = try TracePool.format(path: path, offset: 16 << 20, size: 2 << 20, parameters: smallParameters())
        #expect(try Self.contents(path).count == 18 << 20)
        #expect(throws: PoolError.mapping(.notFound(path: path + ".none"))) {
            try TracePool.format(path: path + ".none", offset: 4096, size: 4 << 20, parameters: smallParameters())
        }
    }

    /// The exclusive writer lock is on the file: a second writer of another
    /// region of the same file is refused while the first is open.
    @Test func theWriterLockCoversTheWholeFile() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        _ = try Self.fill(path, bytes: 16 << 20, seed: 2)
        let writer = try TracePool.format(path: path, offset: 4 << 20, size: 4 << 20, parameters: smallParameters())
        #expect(throws: PoolError.mapping(.inUse(path: path))) {
            try TracePool.format(path: path, offset: 12 << 20, size: 4 << 20, parameters: smallParameters())
        }
        #expect(throws: PoolError.mapping(.inUse(path: path))) { try TracePool.open(path: path, offset: 4 << 20, writable: true) }
        #expect(try TracePool.open(path: path, offset: 4 << 20, writable: false).store.volumes().isEmpty)
        _ = writer
    }
}
