import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// A writer with the group stream (members of 768 B and more written
/// straight into the segment) leaves the same bytes on media as one that
/// stages every member: same groups, same places, same checksums — at every
/// commit, so also the same uncommitted bytes past the tail.
@Suite struct GroupStreamWriterTests {
    static func pool(stream: Bool) throws -> MemoryPool {
        var options = StoreOptions.testing(commitInterval: 1 << 20, clock: { 42 })
        options.groupStream = stream ? .host : nil
        return try MemoryPool.inMemory(size: 8 << 20, parameters: smallParameters(segmentSize: 64 << 10), options: options)
    }

    @Test(arguments: [0, 1, 3, 40, 250]) func sameBytesAsStaging(commitEvery: Int) throws {
        guard GroupStreamFunctions.hostAvailable else { return }  // AVX-512 VPCLMULQDQ only
        let staged = try Self.pool(stream: false), streamed = try Self.pool(stream: true)
        let sizes = [800, 256, 768, 767, 300, 1024, 64, 0, 200, 200, 900, 1000, 8, 769, 255, 700, 5000]
        var writers: [LaneWriter] = []
        for pool in [staged, streamed] {
            try pool.store.createVolume(named: "s")
            writers.append(try pool.store.openWriter(volume: "s"))
        }
        for i in 0..<1500 {
            let size = i < 600 ? 800 : sizes[(i * 5) % sizes.count]  // a run of one size, then a mix
            var ts = UInt64(1_000 + i * 3)
            if i == 900 { ts = 5 }  // a step back closes the group
            let commits = commitEvery > 0 && i % commitEvery == commitEvery - 1
            for w in writers {
                try w.append(bytes: Array(payload(i, size)), timestamp: ts)
                if commits { w.commit() }
            }
            // Between commits the two differ (staged members are not in the segment yet).
            if commits && (i / commitEvery) % 7 == 0 { #expect(Self.same(staged, streamed), "record \(i): bytes differ after the commit") }
        }
        writers.forEach { $0.close() }
        #expect(Self.same(staged, streamed), "bytes differ at the end")
        let records = try streamed.store.openLaneReader(volume: "s", lane: 0).allRecords()
        #expect(records.count == 1500)
        #expect(records.enumerated().allSatisfy { i, r in r.bytes == Array(payload(i, i < 600 ? 800 : sizes[(i * 5) % sizes.count])) })
    }

    static func same(_ a: MemoryPool, _ b: MemoryPool) -> Bool {
        memcmp(a.memory.base, b.memory.base, Int(a.memory.size)) == 0
    }
}
