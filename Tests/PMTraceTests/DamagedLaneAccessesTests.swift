import PMTraceABI
import PMTraceTesting
import Testing
import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

/// Adversary s25: with one lane of an access volume damaged at its first
/// record, the C reader and `dump` handed out every other lane's records and
/// then the damage, but the bulk access readers lost accesses read before it:
/// `pmt_reader_read_accesses` returned the error together with *n accesses
/// (the Python bridge dropped them), `AccessStream` (`export`) dropped the
/// block it was filling, and a lane filter still met the other lane's damage.
@Suite struct DamagedLaneAccessesTests {
    static let perLane = 3_000

    /// Three lanes of accesses (several records each); lane 1's first record
    /// has a payload byte flipped (its checksum fails). Returns the region.
    static func region() throws -> InMemoryRegion {
        let region = InMemoryRegion(size: 4 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 4) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 3, 0) == Int32(PMT_OK))
        for l in 0..<3 {
            var lane: OpaquePointer?
            #expect(pmt_lane_open(store, "a", UInt32(l), &lane) == Int32(PMT_OK))
            for part in 0..<6 {
                let chunk = AccessBatchABITests.accesses((l * perLane + part * perLane / 6)..<(l * perLane + (part + 1) * perLane / 6))
                #expect(chunk.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, $0.count) } == Int32(PMT_OK))
                #expect(pmt_commit(lane) == Int32(PMT_OK))
            }
            pmt_lane_close(lane)
        }
        pmt_detach(store)
        let r = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).openLaneReader(volume: "a", lane: 1)
        let first = try #require(try r.next())
        first.withContiguousPayload { p in
            let at = UnsafeMutableRawPointer(mutating: p.baseAddress!) + 5
            at.storeBytes(of: ~at.load(as: UInt8.self), as: UInt8.self)
        }
        return region
    }

    @Test func theCReaderHandsOutEveryIntactAccessBeforeTheError() throws {
        let region = try Self.region()
        var d = region.regionDescriptor()
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 0, nil, &store) == Int32(PMT_OK))
        defer { pmt_detach(store) }
        var reader: OpaquePointer?
        #expect(pmt_reader_open(store, "a", &reader) == Int32(PMT_OK))
        defer { pmt_reader_close(reader) }
        let capacity = 100_000  // room for every access: one call meets the damage
        var lanes = [UInt32](repeating: 0, count: capacity), kinds = [UInt8](repeating: 0, count: capacity)
        var sizes = [UInt32](repeating: 0, count: capacity), addresses = [UInt64](repeating: 0, count: capacity)
        var timestamps = [UInt64](repeating: 0, count: capacity)
        var got = [0, 0, 0], rc = Int32(PMT_OK), calls = 0
        while rc == Int32(PMT_OK) && calls < 10 {
            calls += 1
            var n = 0
            rc = lanes.withUnsafeMutableBufferPointer { l in kinds.withUnsafeMutableBufferPointer { k in sizes.withUnsafeMutableBufferPointer { s in
                addresses.withUnsafeMutableBufferPointer { a in timestamps.withUnsafeMutableBufferPointer { t in
                    var cols = pmt_access_columns(lane: l.baseAddress, timestamp: t.baseAddress, kind: k.baseAddress, size: s.baseAddress,
                                                  address: a.baseAddress, virtual_address: nil, pc: nil)
                    return pmt_reader_read_accesses(reader, &cols, capacity, &n)
                } }
            } } }
            if rc == Int32(PMT_OK) { for i in 0..<n { got[Int(lanes[i])] += 1 } } else { #expect(n == 0, "an error came with \(n) accesses") }
        }
        #expect(rc == Int32(PMT_E_DAMAGED), "\(String(cString: pmt_last_error()))")
        #expect(got == [Self.perLane, 0, Self.perLane], "\(got)")
    }

    @Test func theAccessStreamHandsOutEveryIntactAccessAndALaneFilterMeetsNoOtherDamage() throws {
        let region = try Self.region()
        let store = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false)
        let block = AccessBlock(capacity: 100_000)
        let all = try AccessStream(reader: try store.openReader(volume: "a"))
        var got = [0, 0, 0]
        #expect(throws: TraceError.self) {
            while try all.next(into: block) { for i in 0..<block.count { got[Int(block.lane[i])] += 1 } }
        }
        #expect(got == [Self.perLane, 0, Self.perLane], "\(got)")
        // Lane 2 alone: every access, and lane 1's damage is never met.
        let one = try AccessStream(reader: try store.openReader(volume: "a"), filter: RecordFilter(lanes: [2]))
        var count = 0
        while try one.next(into: block) { count += block.count }
        #expect(count == Self.perLane)
    }
}
