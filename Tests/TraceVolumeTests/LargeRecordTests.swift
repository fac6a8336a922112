import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Records many segments long come back once each, whole, in order.
@Suite struct LargeRecordTests {
    @Test(arguments: [100_000, 1 << 20, 4 << 20])
    func recordsLargerThanSegmentsReadBackOnce(_ size: Int) throws {
        let pool = try memoryPool(size: 64 << 20, segmentSize: 64 << 10)
        try pool.store.createVolume(named: "big")
        let w = try pool.store.openWriter(volume: "big")
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        for i in 0..<5 { try w.append(bytes: data, timestamp: UInt64(i)) }
        w.close()
        let reader = try pool.store.openLaneReader(volume: "big", lane: 0)
        var n = 0
        while let r = try reader.next() {
            #expect(r.sequence == UInt64(n) && r.length == size)
            var got: [UInt8] = []
            r.forEachFragment { got.append(contentsOf: $0) }
            #expect(got == data)
            n += 1
        }
        #expect(n == 5)
    }
}
