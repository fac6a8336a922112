import PMTraceABI
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// pmt_append_batch through the shared entry points, in process: the same
/// records as one pmt_append per record, its refusals, and how many went in
/// when the region filled.
@Suite struct BatchAppendABITests {
    /// Record `i` of `size` bytes (no two alike).
    static func record(_ i: Int, _ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7 &+ i >> 8) }
    }

    /// A formatted in-memory region with volume "a" (and "b"), attached writable.
    static func attached(size: Int) -> (InMemoryRegion, OpaquePointer?) {
        let region = InMemoryRegion(size: UInt64(size))
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 8, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 1, 0) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "b", 1, 0) == Int32(PMT_OK))
        return (region, store)
    }

    /// Every committed record of `volume`: kind, sequence, timestamp, payload.
    static func records(_ region: InMemoryRegion, _ volume: String) throws -> [(UInt16, UInt64, UInt64, [UInt8])] {
        let reader = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).openReader(volume: volume)
        var out: [(UInt16, UInt64, UInt64, [UInt8])] = []
        while let r = try reader.next() {
            let bytes = r.withContiguousPayload { Array($0) }
            out.append((r.kind.rawValue, r.sequence, r.timestamp, bytes))
        }
        return out
    }

    @Test(arguments: [1, 13, 64, 200, 1024, 3000])
    func theSameRecordsAsOneCallPerRecord(size: Int) throws {
        let (region, store) = Self.attached(size: 8 << 20)
        var one: OpaquePointer?, batch: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &one) == Int32(PMT_OK))
        #expect(pmt_lane_open(store, "b", 0, &batch) == Int32(PMT_OK))
        let count = min(600, (1 << 20) / size)
        let all = (0..<count).flatMap { Self.record($0, size) }
        // Calls of 1, 2, 3, … records; each call's records get its own timestamp.
        var at = 0, call = 1
        while at < count {
            let k = min(call, count - at)
            let timestamp = UInt64(1000 + call)
            for i in at..<(at + k) {
                #expect(Self.record(i, size).withUnsafeBytes { pmt_append(one, 0x8001, $0.baseAddress, size, timestamp) } == Int32(PMT_OK))
            }
            var appended = -1
            let rc = all.withUnsafeBytes { pmt_append_batch(batch, 0x8001, $0.baseAddress! + at * size, size, k, timestamp, &appended) }
            #expect(rc == Int32(PMT_OK) && appended == k)
            at += k
            call += 1
        }
        #expect(pmt_commit(one) == Int32(PMT_OK) && pmt_commit(batch) == Int32(PMT_OK))
        pmt_lane_close(one)
        pmt_lane_close(batch)
        pmt_detach(store)
        let a = try Self.records(region, "a"), b = try Self.records(region, "b")
        #expect(a.count == count && b.count == count)
        for (x, y) in zip(a, b) { #expect(x.0 == y.0 && x.1 == y.1 && x.2 == y.2 && x.3 == y.3) }
        #expect(b.last?.3 == Self.record(count - 1, size))
    }

    @Test func badArgumentsAppendNothing() throws {
        let (region, store) = Self.attached(size: 1 << 20)
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &lane) == Int32(PMT_OK))
        let bytes = [UInt8](repeating: 7, count: 64)
        var appended = -1
        bytes.withUnsafeBytes { b in
            #expect(pmt_append_batch(nil, 1, b.baseAddress, 8, 8, 1, &appended) == Int32(PMT_E_INVALID) && appended == 0)
            #expect(pmt_append_batch(lane, 1, b.baseAddress, 0, 8, 1, &appended) == Int32(PMT_E_INVALID))
            #expect(pmt_append_batch(lane, 1, nil, 8, 8, 1, &appended) == Int32(PMT_E_INVALID))
            #expect(pmt_append_batch(lane, 1, b.baseAddress, 1 << 31, 1 << 33, 1, &appended) == Int32(PMT_E_INVALID))
            #expect(String(cString: pmt_last_error()).contains("overflows"))
            #expect(pmt_append_batch(lane, 1, b.baseAddress, 8, -1, 1, &appended) == Int32(PMT_E_INVALID))
            // A reserved kind (the record-group kind) is refused like pmt_append's.
            #expect(pmt_append_batch(lane, 11, b.baseAddress, 8, 8, 1, &appended) != Int32(PMT_OK) && appended == 0)
            // No records: nothing to do, and no appended pointer needed.
            #expect(pmt_append_batch(lane, 1, nil, 8, 0, 1, nil) == Int32(PMT_OK))
        }
        #expect(pmt_commit(lane) == Int32(PMT_OK))
        pmt_lane_close(lane)
        pmt_detach(store)
        #expect(try Self.records(region, "a").isEmpty)
    }

    /// A batch larger than the region: PMT_E_FULL, and `appended` is exactly
    /// the number of records that went in (all readable after a commit).
    @Test(arguments: [64, 700])
    func aFullRegionSaysHowManyWent(size: Int) throws {
        let (region, store) = Self.attached(size: 1 << 20)
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &lane) == Int32(PMT_OK))
        let count = (2 << 20) / size
        let all = (0..<count).flatMap { Self.record($0, size) }
        var appended = -1
        let rc = all.withUnsafeBytes { pmt_append_batch(lane, 0x8001, $0.baseAddress, size, count, 5, &appended) }
        #expect(rc == Int32(PMT_E_FULL))
        #expect(appended > 0 && appended < count)
        _ = pmt_commit(lane)
        pmt_lane_close(lane)
        pmt_detach(store)
        let got = try Self.records(region, "a")
        #expect(got.count == appended)
        #expect(got.enumerated().allSatisfy { $0.element.3 == Self.record($0.offset, size) && $0.element.1 == UInt64($0.offset) })
    }
}
