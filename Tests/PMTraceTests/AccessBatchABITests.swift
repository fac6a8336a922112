import PMTraceABI
import PMTraceTesting
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// pmt_append_accesses through the shared entry points (the code the
/// bare-metal archive and libPMTraceC.so both hold), in process.
@Suite struct AccessBatchABITests {
    static func accesses(_ range: Range<Int>) -> [pmt_access] {
        range.map { i in
            // Far-apart addresses: about 10 bytes per access, so batches fill fast.
            let address = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15
            return pmt_access(address: address, size: UInt32(i % 70), kind: UInt8(i % 4), reserved: (0, 0, 0))
        }
    }

    static func lastError() -> String { String(cString: pmt_last_error()) }

    /// Appending until the region is full: the call that fails returns
    /// PMT_E_FULL and says how many accesses were dropped; every access in a
    /// committed record is the generated one, and those plus the dropped ones
    /// are exactly what was passed in.
    @Test func fullRegionDropsThePendingBatchAndSaysHowMany() throws {
        let region = InMemoryRegion(size: 1 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 1, 0) == Int32(PMT_OK))
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &lane) == Int32(PMT_OK))

        var passed = 0, rc = Int32(PMT_OK)
        let perCall = 50
        while passed < 1_000_000 {
            let chunk = Self.accesses(passed..<(passed + perCall))
            rc = chunk.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, $0.count) }
            passed += perCall
            if rc != Int32(PMT_OK) { break }
        }
        #expect(rc == Int32(PMT_E_FULL))
        let message = Self.lastError()
        // "...; <n> buffered accesses dropped, <m> more of this call not appended"
        let words = message.split(separator: " ")
        let dropped = try #require(words.firstIndex(of: "buffered").flatMap { Int(words[$0 - 1]) }, "\(message)")
        let notAppended = words.firstIndex(of: "more").flatMap { Int(words[$0 - 1].trimmingCharacters(in: [","])) } ?? 0
        #expect(dropped > 0 && notAppended > 0 && notAppended <= perCall, "\(message)")
        // Nothing is pending any more: commit succeeds.
        #expect(pmt_commit(lane) == Int32(PMT_OK))
        pmt_lane_close(lane)
        pmt_detach(store)

        let reader = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).openReader(volume: "a")
        var decoded: [MemoryAccess] = []
        while let r = try reader.next() {
            #expect(r.kind == .memoryAccessStreams, "a region formatted 1.3 gets kind 12")
            try r.withContiguousPayload { (b: UnsafeRawBufferPointer) throws(FormatError) in
                try MemoryAccessBatch.forEach(b, kind: r.kind) { decoded.append($0) }
            }
        }
        #expect(decoded.count + dropped + notAppended == passed)
        let expected = Self.accesses(0..<decoded.count).map {
            MemoryAccess(kind: MemoryAccess.Kind(rawValue: $0.kind)!, address: $0.address, size: $0.size)
        }
        #expect(decoded == expected)
    }

    /// A bad kind anywhere in the call appends nothing; pending accesses go
    /// out before a blob, so records keep the order of the calls.
    @Test func badKindAppendsNothingAndBlobsKeepTheirPlace() throws {
        let region = InMemoryRegion(size: 1 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 1, 0) == Int32(PMT_OK))
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &lane) == Int32(PMT_OK))
        var bad = Self.accesses(0..<10)
        bad[9].kind = 4
        #expect(bad.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, $0.count) } == Int32(PMT_E_INVALID))
        #expect(Self.lastError().contains("access 9 has kind 4"))
        let good = Self.accesses(0..<3)
        #expect(good.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, $0.count) } == Int32(PMT_OK))
        let text = Array("between".utf8)
        #expect(pmt_append(lane, UInt16(PMT_KIND_BLOB), text, text.count, 0) == Int32(PMT_OK))
        #expect(good.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, 1) } == Int32(PMT_OK))
        pmt_lane_close(lane)  // writes the last batch
        pmt_detach(store)

        let reader = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).openReader(volume: "a")
        var kinds: [RecordKind] = [], counts: [Int?] = []
        while let r = try reader.next() {
            kinds.append(r.kind)
            counts.append(MemoryAccessBatch.isBatch(r.kind) ? MemoryAccessBatch.count(r.payload) : nil)
        }
        #expect(kinds == [.memoryAccessStreams, .blob, .memoryAccessStreams])
        #expect(counts == [3, nil, 1])
    }

    /// FORMAT.md §11: a region formatted before 1.3 gets kind-2 batches, which
    /// its own readers know; a 1.3 region gets kind 12. Both decode to the
    /// accesses passed in.
    @Test(arguments: [UInt16(0), 1, 2, 3])
    func batchKindFollowsTheRegionsVersion(minor: UInt16) throws {
        let region = InMemoryRegion(size: 1 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        if minor != Layout.versionMinor {
            var sb = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).superblock
            sb.versionMinor = minor
            sb.encode(into: region.base)
            sb.encode(into: region.base + 4096)
        }
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 1, 0) == Int32(PMT_OK))
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &lane) == Int32(PMT_OK))
        let passed = Self.accesses(0..<5000)
        #expect(passed.withUnsafeBufferPointer { pmt_append_accesses(lane, $0.baseAddress, $0.count) } == Int32(PMT_OK))
        #expect(pmt_commit(lane) == Int32(PMT_OK))
        pmt_lane_close(lane)
        pmt_detach(store)
        let reopened = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false)
        #expect(reopened.superblock.versionMinor == minor)
        let reader = try reopened.openReader(volume: "a")
        var decoded: [MemoryAccess] = []
        while let r = try reader.next() {
            #expect(r.kind == (minor >= 3 ? .memoryAccessStreams : .memoryAccessBatch))
            try r.withContiguousPayload { (b: UnsafeRawBufferPointer) throws(FormatError) in
                try MemoryAccessBatch.forEach(b, kind: r.kind) { decoded.append($0) }
            }
        }
        #expect(decoded == passed.map { MemoryAccess(kind: MemoryAccess.Kind(rawValue: $0.kind)!, address: $0.address, size: $0.size) })
    }
}

/// pmt_append_guest_accesses: fields are checked before anything is
/// appended, batches carry their first index, and a kind-2 batch pending on
/// the lane is written before a guest batch (records keep call order).
@Suite struct GuestAccessABITests {
    @Test func guestAccessesRoundTripInCallOrder() throws {
        let region = InMemoryRegion(size: 4 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "g", 1, 0) == Int32(PMT_OK))
        var lane: OpaquePointer?
        #expect(pmt_lane_open(store, "g", 0, &lane) == Int32(PMT_OK))
        var guest: [pmt_guest_access] = []
        for i in 0..<10_000 {
            let physical = UInt64(i) * 64
            let virtualAddress: UInt64 = 0xFFFF_8880_0000_0000 &+ physical
            let pc: UInt64 = 0xFFFF_FFFF_8100_0000 &+ UInt64(i % 100)
            guest.append(pmt_guest_access(physical: physical, virtual_address: virtualAddress, pc: pc, size: 8,
                                          kind: UInt8(i % 2), reserved: (0, 0, 0)))
        }
        var bad = guest[0]
        bad.kind = 4
        #expect(pmt_append_guest_accesses(lane, [bad], 1, 3) == Int32(PMT_E_INVALID))
        #expect(pmt_append_guest_accesses(lane, guest, 1, 5) == Int32(PMT_E_INVALID), "virtual with user mode")
        #expect(pmt_append_guest_accesses(lane, guest, 1, 8) == Int32(PMT_E_INVALID), "unknown bit")
        let one = [pmt_access(address: 42, size: 4, kind: 1, reserved: (0, 0, 0))]
        #expect(pmt_append_accesses(lane, one, 1) == Int32(PMT_OK))
        #expect(guest.withUnsafeBufferPointer { pmt_append_guest_accesses(lane, $0.baseAddress, $0.count, 3) } == Int32(PMT_OK))
        #expect(pmt_commit(lane) == Int32(PMT_OK))
        pmt_lane_close(lane)
        pmt_detach(store)

        let reader = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false).openReader(volume: "g")
        var kinds: [RecordKind] = [], back: [GuestAccess] = [], firstIndexes: [UInt64] = []
        while let r = try reader.next() {
            kinds.append(r.kind)
            guard r.kind == .guestAccessBatch else { continue }
            try r.withContiguousPayload { (b: UnsafeRawBufferPointer) throws(FormatError) in
                let h = try GuestAccessBatch.header(b)
                #expect(h.firstIndex == UInt64(back.count))
                firstIndexes.append(h.firstIndex)
                try GuestAccessBatch.forEach(b) { back.append($0) }
            }
        }
        #expect(kinds.first == .memoryAccessStreams && kinds.dropFirst().allSatisfy { $0 == .guestAccessBatch })
        #expect(firstIndexes.count > 1, "10,000 accesses take several batches")
        #expect(back == guest.map { GuestAccess(kind: MemoryAccess.Kind(rawValue: $0.kind)!, size: $0.size, physical: $0.physical, virtual: $0.virtual_address, pc: $0.pc) })
    }
}

/// pmt_append_guest_entries writes byte for byte the records
/// pmt_append_guest_accesses writes for the same accesses (the QEMU plugin
/// hands its slot entries over as they are), with the translation carried
/// across calls; bad arguments append nothing.
@Suite struct GuestEntryABITests {
    @Test func entriesWriteTheRecordsOfAccesses() throws {
        let region = InMemoryRegion(size: 8 << 20)
        var d = region.regionDescriptor()
        #expect(pmt_format(&d, 65536, 4, 2) == Int32(PMT_OK))
        var store: OpaquePointer?
        #expect(pmt_attach(&d, 1, nil, &store) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "a", 1, 0) == Int32(PMT_OK))
        #expect(pmt_volume_create(store, "e", 1, 0) == Int32(PMT_OK))
        var la: OpaquePointer?, le: OpaquePointer?
        #expect(pmt_lane_open(store, "a", 0, &la) == Int32(PMT_OK))
        #expect(pmt_lane_open(store, "e", 0, &le) == Int32(PMT_OK))
        let accesses = PackedAccesses.make(20_000)
        var entries: [pmt_guest_entry] = []
        var t: UInt64 = 0
        for x in accesses {
            if x.virtual_address &- x.physical != t {
                t = x.virtual_address &- x.physical
                entries.append(pmt_guest_entry(word: PMT_GUEST_ENTRY_TRANSLATION, pc: t))
            }
            let shift = UInt64(x.size.trailingZeroBitCount)
            entries.append(pmt_guest_entry(word: x.physical | shift << PMT_GUEST_ENTRY_SIZE_SHIFT | UInt64(x.kind) << PMT_GUEST_ENTRY_KIND_SHIFT, pc: x.pc))
        }
        #expect(pmt_append_guest_entries(le, entries, 1, 8) == Int32(PMT_E_INVALID), "unknown bit")
        #expect(pmt_append_guest_entries(le, nil, 1, 3) == Int32(PMT_E_INVALID))
        #expect(pmt_append_guest_entries(le, nil, 0, 3) == Int32(PMT_OK))
        // Calls of uneven length on both sides (the plugin's slots).
        var i = 0, j = 0
        while i < entries.count {
            let k = min(entries.count - i, 1 + (i * 7) % 2047)
            #expect(entries.withUnsafeBufferPointer { pmt_append_guest_entries(le, $0.baseAddress! + i, k, 3) } == Int32(PMT_OK))
            i += k
        }
        while j < accesses.count {
            let k = min(accesses.count - j, 256)
            #expect(accesses.withUnsafeBufferPointer { pmt_append_guest_accesses(la, $0.baseAddress! + j, k, 3) } == Int32(PMT_OK))
            j += k
        }
        #expect(pmt_commit(la) == Int32(PMT_OK) && pmt_commit(le) == Int32(PMT_OK))
        pmt_lane_close(la)
        pmt_lane_close(le)
        pmt_detach(store)

        let s = try TraceStore(region: PersistentRegion(region.regionDescriptor()), writable: false)
        func payloads(_ volume: String) throws -> [[UInt8]] {
            let reader = try s.openReader(volume: volume)
            var out: [[UInt8]] = []
            while let r = try reader.next() {
                #expect(r.kind == .guestAccessBatch)
                try r.withContiguousPayload { (b: UnsafeRawBufferPointer) throws(FormatError) in out.append([UInt8](b)) }
            }
            return out
        }
        let viaAccesses = try payloads("a"), viaEntries = try payloads("e")
        #expect(viaAccesses.count > 5)
        #expect(viaEntries == viaAccesses)
    }
}

/// Guest accesses a packed entry can carry: sizes 1 … 128, addresses below
/// 2^56, translations that change now and then, far and near jumps.
enum PackedAccesses {
    static func make(_ n: Int) -> [pmt_guest_access] {
        var x: UInt64 = 5
        func next() -> UInt64 { x = x &* 6364136223846793005 &+ 1442695040888963407; return x >> 8 }
        var phys: UInt64 = 0x10_0000, pc: UInt64 = 0xFFFF_FFFF_8100_0000, t: UInt64 = 0xFFFF_8880_0000_0000
        return (0..<n).map { i in
            switch i % 4 {
            case 0: phys = next() & PMT_GUEST_ENTRY_ADDRESS_MASK
            case 1: phys = (phys &+ next() % 64) & PMT_GUEST_ENTRY_ADDRESS_MASK
            default: phys = (phys &+ 8) & PMT_GUEST_ENTRY_ADDRESS_MASK
            }
            pc = i % 9 == 0 ? next() : pc &+ next() % 16
            if i % 101 == 0 { t = next() << 8 }
            return pmt_guest_access(physical: phys, virtual_address: phys &+ t, pc: pc, size: UInt32(1) << UInt32(i % 8),
                                    kind: UInt8(i % 4), reserved: (0, 0, 0))
        }
    }
}
