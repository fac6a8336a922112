import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Adversary s23 (A9): with a volume's lane count forged lower (CRC-valid,
/// both copies), fsck said of the dropped lane's segments "`read
/// --skip-damaged` returns them", which no reader does: readers look only at
/// the lanes the volume has. The finding now says so.
@Suite struct LaneCountForgeryCheckTests {
    @Test func segmentsOfALaneBeyondTheLaneCountAreNotPromisedToSkipDamaged() throws {
        let pool = try MemoryPool.inMemory(size: 8 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 4))
        _ = try pool.store.createVolume(named: "r", lanes: 2)
        let w = try pool.store.openWriter(volume: "r", lane: 1)
        try w.append(bytes: [UInt8](repeating: 7, count: 1000), kind: .blob)
        w.close()
        let image = pool.snapshot()
        let sb = try Superblock.decode(UnsafeRawBufferPointer(start: image.base, count: Layout.superblockSize), copy: 0, mappedSize: image.size)
        for copy in 0..<2 {
            let at = image.base + Int(sb.volumeSlotOffset(0)) + copy * Layout.volumeEntrySize
            guard case .entry(var e) = VolumeEntry.decode(UnsafeRawBufferPointer(start: at, count: Layout.volumeEntrySize), slot: 0, copy: copy,
                                                          maxLanes: sb.maxLanesPerVolume) else { continue }
            e.laneCount = 1
            e.encode(into: at)
        }
        let forged = try MemoryPool.mount(memory: image, writable: false)
        let report = try forged.store.check()
        let lost = report.findings.filter { $0.message.contains("lane 1") }
        #expect(!lost.isEmpty && lost.allSatisfy { $0.severity == .warning && !$0.message.contains("--skip-damaged") && $0.message.contains("no reader reaches them") },
                "\(report.findings)")
    }
}
