import PMTraceABI
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// pmt_reader_read_access_runs against pmt_reader_read_accesses, in process
/// through the shared entry points: the same accesses, one run per batch
/// whose lane, timestamp and count give back the per-access columns, guest
/// fields per run, and the capacity errors that consume nothing.
@Suite struct ReaderABITests {
    /// Every column of a volume's accesses.
    struct Columns: Equatable {
        var lane: [UInt32] = [], timestamp: [UInt64] = [], kind: [UInt8] = [], size: [UInt32] = []
        var address: [UInt64] = [], virtualAddress: [UInt64] = [], pc: [UInt64] = []

        mutating func append(_ other: Columns, count: Int) {
            lane += other.lane.prefix(count); timestamp += other.timestamp.prefix(count); kind += other.kind.prefix(count)
            size += other.size.prefix(count); address += other.address.prefix(count)
            virtualAddress += other.virtualAddress.prefix(count); pc += other.pc.prefix(count)
        }

        static func empty(_ n: Int) -> Columns {
            Columns(lane: .init(repeating: 0, count: n), timestamp: .init(repeating: 0, count: n), kind: .init(repeating: 0, count: n),
                    size: .init(repeating: 0, count: n), address: .init(repeating: 0, count: n),
                    virtualAddress: .init(repeating: 0, count: n), pc: .init(repeating: 0, count: n))
        }

        /// Calls `body` with C columns over these arrays (lane and timestamp NULL unless `withLaneAndTime`).
        mutating func withC<R>(withLaneAndTime: Bool, _ body: (inout pmt_access_columns) -> R) -> R {
            lane.withUnsafeMutableBufferPointer { l in timestamp.withUnsafeMutableBufferPointer { t in
                kind.withUnsafeMutableBufferPointer { k in size.withUnsafeMutableBufferPointer { s in
                    address.withUnsafeMutableBufferPointer { a in virtualAddress.withUnsafeMutableBufferPointer { v in
                        pc.withUnsafeMutableBufferPointer { p in
                            var c = pmt_access_columns(lane: withLaneAndTime ? l.baseAddress : nil,
                                                       timestamp: withLaneAndTime ? t.baseAddress : nil, kind: k.baseAddress,
                                                       size: s.baseAddress, address: a.baseAddress, virtual_address: v.baseAddress,
                                                       pc: p.baseAddress)
                            return body(&c)
                        }
                    } }
                } }
            } }
        }
    }

    /// A region with volume "r": lane 0 guest accesses with virtual and PC (fields 3), lane 1
    /// plain accesses, committed in turns so their batches interleave.
    static func region() -> InMemoryRegion {
        let region = InMemoryRegion(size: 8 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "r", 2, 0) == Int32(PMT_OK))
        var guest: OpaquePointer?, plain: OpaquePointer?
        #expect(pmt_lane_open(store, "r", 0, &guest) == Int32(PMT_OK))
        #expect(pmt_lane_open(store, "r", 1, &plain) == Int32(PMT_OK))
        for round in 0..<4 {
            let g = (0..<5000).map { j -> pmt_guest_access in
                let i = UInt64(round * 5000 + j)
                return pmt_guest_access(physical: i * 64, virtual_address: 0xFFFF_8880_0000_0000 &+ i * 64, pc: 0x40_0000 + i % 97,
                                        size: 8, kind: UInt8(i % 2), reserved: (0, 0, 0))
            }
            #expect(g.withUnsafeBufferPointer { pmt_append_guest_accesses(guest, $0.baseAddress, $0.count, 3) } == Int32(PMT_OK))
            #expect(pmt_commit(guest) == Int32(PMT_OK))
            let p = (0..<3000).map { j in
                pmt_access(address: UInt64(round * 3000 + j) &* 0x9E37_79B9, size: UInt32(j % 70), kind: UInt8(j % 4), reserved: (0, 0, 0))
            }
            #expect(p.withUnsafeBufferPointer { pmt_append_accesses(plain, $0.baseAddress, $0.count) } == Int32(PMT_OK))
            #expect(pmt_commit(plain) == Int32(PMT_OK))
        }
        pmt_lane_close(guest)
        pmt_lane_close(plain)
        pmt_detach(store)
        return region
    }

    static func withReader<R>(_ region: InMemoryRegion, _ body: (OpaquePointer?) -> R) -> R {
        var d = region.regionDescriptor()
        var store: OpaquePointer?, reader: OpaquePointer?
        #expect(pmt_attach(&d, 0, nil, &store) == Int32(PMT_OK))
        #expect(pmt_reader_open(store, "r", &reader) == Int32(PMT_OK))
        defer { pmt_reader_close(reader); pmt_detach(store) }
        return body(reader)
    }

    /// The volume's accesses through pmt_reader_read_accesses, all in one buffer.
    static func reference(_ region: InMemoryRegion) -> Columns {
        withReader(region) { reader in
            var all = Columns(), buffer = Columns.empty(1 << 16)
            while true {
                var n = 0
                let rc = buffer.withC(withLaneAndTime: true) { pmt_reader_read_accesses(reader, &$0, 1 << 16, &n) }
                if rc == Int32(PMT_END) { break }
                #expect(rc == Int32(PMT_OK))
                all.append(buffer, count: n)
            }
            return all
        }
    }

    @Test(arguments: [(1 << 16, 1 << 10), (7000, 3), (5000, 1)])
    func runsGiveTheSameAccessesAsTheColumnsDo(capacity: Int, runCapacity: Int) {
        let region = Self.region()
        let want = Self.reference(region)
        #expect(want.lane.count == 4 * 8000)
        let (got, fields) = Self.withReader(region) { reader -> (Columns, [UInt32: Set<UInt32>]) in
            var got = Columns(), buffer = Columns.empty(capacity)
            var runs = [pmt_access_run](repeating: pmt_access_run(), count: runCapacity)
            var fields: [UInt32: Set<UInt32>] = [:]
            while true {
                var n = 0, k = 0
                let rc = buffer.withC(withLaneAndTime: false) { c in
                    runs.withUnsafeMutableBufferPointer { pmt_reader_read_access_runs(reader, &c, capacity, $0.baseAddress, runCapacity, &n, &k) }
                }
                if rc == Int32(PMT_END) { #expect(n == 0 && k == 0); break }
                #expect(rc == Int32(PMT_OK))
                #expect(k >= 1 && k <= runCapacity && runs.prefix(k).reduce(0) { $0 + Int($1.count) } == n)
                for r in runs.prefix(k) {
                    got.lane += repeatElement(r.lane, count: Int(r.count))
                    got.timestamp += repeatElement(r.timestamp, count: Int(r.count))
                    fields[r.lane, default: []].insert(r.fields)
                    #expect(r.reserved == 0)
                }
                got.kind += buffer.kind.prefix(n); got.size += buffer.size.prefix(n); got.address += buffer.address.prefix(n)
                got.virtualAddress += buffer.virtualAddress.prefix(n); got.pc += buffer.pc.prefix(n)
            }
            return (got, fields)
        }
        #expect(got == want)
        #expect(fields == [0: [3], 1: [0]], "guest batches say virtual|pc, kind-12 batches nothing")
    }

    /// A capacity below one batch, or no room for a run: PMT_E_INVALID with the count needed, and
    /// the next call with room still starts at the first access.
    @Test func tooSmallBuffersConsumeNothing() {
        let region = Self.region()
        let want = Self.reference(region)
        Self.withReader(region) { reader in
            var buffer = Columns.empty(1 << 16)
            var runs = [pmt_access_run](repeating: pmt_access_run(), count: 4)
            var n = 0, k = 0
            var rc = buffer.withC(withLaneAndTime: false) { c in
                runs.withUnsafeMutableBufferPointer { pmt_reader_read_access_runs(reader, &c, 10, $0.baseAddress, 4, &n, &k) }
            }
            #expect(rc == Int32(PMT_E_INVALID) && n > 10 && k == 0)
            rc = buffer.withC(withLaneAndTime: false) { c in
                runs.withUnsafeMutableBufferPointer { pmt_reader_read_access_runs(reader, &c, 1 << 16, $0.baseAddress, 0, &n, &k) }
            }
            #expect(rc == Int32(PMT_E_INVALID) && k == 0)
            rc = buffer.withC(withLaneAndTime: true) { c in
                runs.withUnsafeMutableBufferPointer { pmt_reader_read_access_runs(reader, &c, 1 << 16, $0.baseAddress, 4, &n, &k) }
            }
            #expect(rc == Int32(PMT_OK) && k == 4)
            #expect(Array(buffer.address.prefix(n)) == Array(want.address.prefix(n)))
            #expect(Array(buffer.lane.prefix(n)) == Array(want.lane.prefix(n)), "lane and timestamp are filled when given")
            #expect(Array(buffer.timestamp.prefix(n)) == Array(want.timestamp.prefix(n)))
            #expect(pmt_reader_read_access_runs(reader, nil, 1, nil, 1, &n, &k) == Int32(PMT_E_INVALID))
        }
    }

    /// Adversary s23 (A13): pmt_last_error() held a whole 1 MiB volume name
    /// quoted by pmt_reader_open's error, and a capacity of SIZE_MAX was
    /// called a "null argument".
    @Test func errorTextsAreBoundedAndSayWhatIsWrong() throws {
        let region = InMemoryRegion(size: 1 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?, reader: OpaquePointer?
        #expect(pmt_attach(&d, 0, nil, &store) == Int32(PMT_OK))
        defer { pmt_detach(store) }
        let huge = String(repeating: "é", count: 1 << 19)  // 1 MiB of UTF-8
        #expect(pmt_reader_open(store, huge, &reader) != Int32(PMT_OK))
        let text = String(cString: pmt_last_error())
        #expect(text.utf8.count <= 1024 + 3 && text.hasSuffix("é…"), "\(text.utf8.count) bytes")
        var columns = pmt_access_columns()
        var n = 0
        #expect(pmt_reader_read_accesses(OpaquePointer(bitPattern: 8), &columns, -1, &n) == Int32(PMT_E_INVALID))
        #expect(String(cString: pmt_last_error()).contains("capacity above 2^63 - 1"))
    }

    /// Adversary s23 (A12): a damaged access batch read through the C library
    /// (and so the Python bridge) said what was wrong but not where; the CLI
    /// names lane, sequence, segment and offset, and now the library does too.
    @Test func aDamagedBatchIsNamedWithItsPlace() throws {
        let region = InMemoryRegion(size: 1 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        let pool = try MemoryPool.mount(memory: region, writable: true)
        _ = try pool.store.createVolume(named: "r", lanes: 1)
        let w = try pool.store.openWriter(volume: "r")
        try w.append(bytes: [UInt8](repeating: 0xFF, count: 14), kind: .memoryAccessBatch)
        w.close()
        Self.withReader(region) { reader in
            var buffer = Columns.empty(1 << 10)
            var n = 0
            let rc = buffer.withC(withLaneAndTime: true) { pmt_reader_read_accesses(reader, &$0, 1 << 10, &n) }
            #expect(rc == Int32(PMT_E_DAMAGED))
            let text = String(cString: pmt_last_error())
            #expect(text.contains("lane 0, sequence 0, segment") && text.contains("offset"), "\(text)")
        }
    }

    /// Every result code of pmtrace_region.h has its own name in
    /// `pmt_strerror` (adversary s27: PMT_END was "unknown"), and a value
    /// that is none of them says unknown.
    @Test func everyResultCodeHasAName() {
        let codes: [Int32] = [PMT_OK, PMT_EXISTED, PMT_END, PMT_E_INVALID, PMT_E_NOT_A_REGION, PMT_E_DAMAGED, PMT_E_VERSION,
                              PMT_E_NOT_FOUND, PMT_E_SEALED, PMT_E_BUSY, PMT_E_FULL, PMT_E_READ_ONLY, PMT_E_KIND, PMT_E_IO].map { Int32($0) }
        var names = Set<String>()
        for code in codes {
            let name = String(cString: pmt_strerror(code))
            #expect(!name.contains("unknown"), "code \(code): \(name)")
            names.insert(name)
        }
        #expect(names.count == codes.count)
        #expect(String(cString: pmt_strerror(77)).contains("unknown"))
    }
}
