import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

@Suite struct BadInputTests {
    @Test func namesAreChecked() throws {
        let pool = try memoryPool()
        #expect(throws: TraceError.invalidName(.empty)) { try pool.store.createVolume(named: "") }
        #expect(throws: TraceError.invalidName(.tooLong(length: 201, max: 200))) {
            try pool.store.createVolume(named: String(repeating: "x", count: 201))
        }
        try pool.store.createVolume(named: String(repeating: "é", count: 100))  // 200 bytes
        #expect(throws: TraceError.invalidName(.notUTF8)) { try pool.store.createVolume(nameBytes: [0x61, 0xFF], lanes: 1, ring: false) }
        #expect(throws: TraceError.invalidName(.notUTF8)) { try pool.store.createVolume(nameBytes: [0xC0, 0x80], lanes: 1, ring: false) }
        #expect(throws: TraceError.invalidName(.notUTF8)) { try pool.store.createVolume(nameBytes: [0xED, 0xA0, 0x80], lanes: 1, ring: false) }
        #expect(throws: TraceError.invalidName(.containsNUL)) { try pool.store.createVolume(named: "a\u{0}b") }
        try pool.store.createVolume(named: "dup")
        #expect(throws: TraceError.duplicateName("dup")) { try pool.store.createVolume(named: "dup") }
        #expect(throws: TraceError.invalidLaneCount(requested: 0, max: 8)) { try pool.store.createVolume(named: "l", lanes: 0) }
        #expect(throws: TraceError.invalidLaneCount(requested: 9, max: 8)) { try pool.store.createVolume(named: "l", lanes: 9) }
        #expect(throws: TraceError.volumeNotFound("nope")) { try pool.store.openWriter(volume: "nope") }
        #expect(throws: TraceError.laneOutOfRange(lane: 1, laneCount: 1)) { try pool.store.openWriter(volume: "dup", lane: 1) }
        let w = try pool.store.openWriter(volume: "dup")
        #expect(throws: TraceError.laneBusy(volume: "dup", lane: 0)) { try pool.store.openWriter(volume: "dup") }
        #expect(throws: TraceError.volumeBusy("dup")) { try pool.store.deleteVolume("dup") }
        w.close()
    }

    @Test func volumeTableFull() throws {
        let pool = try memoryPool()
        for i in 0..<16 { try pool.store.createVolume(named: "v\(i)") }
        #expect(throws: TraceError.volumeTableFull(slots: 16)) { try pool.store.createVolume(named: "one-more") }
    }

    @Test func regionTooSmall() throws {
        let min = Superblock.minimumRegionSize(segmentSize: 64 << 10, volumeSlots: 16, maxLanes: 8)
        #expect(throws: TraceError.regionTooSmall(size: min - 4096, minimum: min)) {
            try MemoryPool.inMemory(size: min - 4096, parameters: smallParameters())
        }
        _ = try MemoryPool.inMemory(size: min, parameters: smallParameters())
        #expect(throws: TraceError.self) {
            try MemoryPool.inMemory(size: 8 << 20, parameters: FormatParameters(segmentSize: 100_000))
        }
    }

    @Test func notARegion() throws {
        let memory = InMemoryRegion(size: 1 << 20)
        for i in 0..<Int(memory.size) { memory.base.storeBytes(of: UInt8(truncatingIfNeeded: i &* 131), toByteOffset: i, as: UInt8.self) }
        #expect {
            try MemoryPool.mount(memory: memory, writable: false)
        } throws: { e in
            guard case TraceError.notARegion = e else { return false }
            return true
        }
        let tiny = InMemoryRegion(size: 4096)
        #expect(throws: TraceError.self) { try MemoryPool.mount(memory: tiny, writable: false) }
    }

    @Test func oneDamagedSuperblockCopyMountsFromTheOther() throws {
        let pool = try memoryPool()
        try pool.store.createVolume(named: "kept")
        for copy in 0..<2 {
            let image = pool.snapshot()
            image.base.storeBytes(of: 0x5A, toByteOffset: copy * 4096 + 40, as: UInt8.self)
            let mounted = try MemoryPool.mount(memory: image, writable: true)
            #expect(mounted.store.superblockCopy == 1 - copy)
            #expect(mounted.store.warnings.count == 1)
            #expect(mounted.store.warnings.first?.description.contains("superblock copy \(copy == 0 ? "A" : "B")") == true)
            #expect(try mounted.store.volume(named: "kept").name == "kept")
            // The writable mount repaired the damaged copy.
            let again = try MemoryPool.mount(memory: mounted.snapshot(), writable: false)
            #expect(again.store.warnings.isEmpty)
        }
    }

    @Test func bothSuperblockCopiesDamaged() throws {
        let pool = try memoryPool()
        let image = pool.snapshot()
        image.base.storeBytes(of: 0x5A, toByteOffset: 40, as: UInt8.self)
        image.base.storeBytes(of: 0x5A, toByteOffset: 4096 + 40, as: UInt8.self)
        #expect {
            try MemoryPool.mount(memory: image, writable: false)
        } throws: { e in
            guard case TraceError.bothSuperblocksDamaged = e else { return false }
            return true
        }
    }

    @Test func newerVersionsAreRefusedClearly() throws {
        let pool = try memoryPool()
        for (major, minor) in [(UInt16(2), UInt16(0)), (Layout.versionMajor, Layout.versionMinor + 1)] {
            let image = pool.snapshot()
            var sb = pool.store.superblock
            sb.versionMajor = major
            sb.versionMinor = minor
            sb.encode(into: image.base)
            sb.encode(into: image.base + 4096)
            if major == 2 {
                #expect(throws: TraceError.unsupportedVersion(major: 2, minor: 0)) {
                    try MemoryPool.mount(memory: image, writable: false)
                }
            } else {
                #expect(throws: TraceError.newerMinorVersion(major: major, minor: minor)) {
                    try MemoryPool.mount(memory: image, writable: true)
                }
                _ = try MemoryPool.mount(memory: image, writable: false)
            }
        }
    }

}
