import NVMDiscovery
import Testing

/// SRAT and NFIT compiled by iasl from its own templates, edited to carry
/// persistent-memory ranges (Fixtures/*.asl).
@Suite struct ACPITableTests {
    @Test func sratFromIasl() throws {
        let bytes = try NVMTestSupport.compile("srat-pmem")
        let srat = try bytes.withUnsafeBytes { try SRAT.parse($0) }
        #expect(srat.header.length == bytes.count)
        #expect(srat.header.signature == .srat)
        #expect(srat.memoryAffinities.count == 4)
        #expect(srat.otherEntries == 5)  // processor, x2APIC, GICC, ITS, generic initiator
        let nv = srat.memoryAffinities.filter { $0.nonVolatile }
        #expect(nv.map(\.base) == [0x1_0000_0000, 0x2_0000_0000])
        #expect(nv[0].enabled && nv[0].hotPluggable && nv[0].length == 256 << 20 && nv[0].proximityDomain == 1)
        #expect(!nv[1].enabled)
        #expect(srat.memoryAffinities[1].base == 0x100000 && !srat.memoryAffinities[1].nonVolatile)
    }

    @Test func nfitFromIasl() throws {
        let bytes = try NVMTestSupport.compile("nfit-pmem")
        let nfit = try bytes.withUnsafeBytes { try NFIT.parse($0) }
        #expect(nfit.header.length == bytes.count)
        #expect(nfit.spaRanges.count == 2)
        #expect(!nfit.spaRanges[0].isPersistentMemory)
        #expect(nfit.spaRanges[0].typeGUID.description == "91AF0530-5D86-470E-A6B0-0A2DB9408249")
        let pm = nfit.spaRanges[1]
        #expect(pm.isPersistentMemory && pm.index == 2 && pm.base == 0x1_0000_0000 && pm.length == 256 << 20)
        #expect(pm.typeGUID.description == "66F0D379-B4F3-4074-AC43-0D3318B78CDB")
        #expect(pm.mappingAttributes == 0x8008)
        #expect(nfit.otherStructures > 0)
    }

    @Test func nonVolatileRangesAgreeAcrossTables() throws {
        let s = try NVMTestSupport.compile("srat-pmem")
        let n = try NVMTestSupport.compile("nfit-pmem")
        let srat = try s.withUnsafeBytes { try SRAT.parse($0) }
        let nfit = try n.withUnsafeBytes { try NFIT.parse($0) }
        let both = NonVolatileRange.find(srat: srat, nfit: nfit)
        #expect(both == [NonVolatileRange(base: 0x1_0000_0000, length: 256 << 20, inNFIT: true, inSRAT: true, hotPluggable: true, proximityDomain: 1)])
        #expect(NonVolatileRange.find(srat: srat, nfit: nil).map(\.inNFIT) == [false])
        #expect(NonVolatileRange.find(srat: nil, nfit: nfit).first?.proximityDomain == nil)
        #expect(NonVolatileRange.find(srat: nil, nfit: nil).isEmpty)

        // The same through the C entry point of the bare-metal archive.
        var out = [UInt64](repeating: 0, count: 6)
        let count = s.withUnsafeBytes { sp in n.withUnsafeBytes { np in out.withUnsafeMutableBytes { o in
            pmt_nvm_ranges(sp.baseAddress, sp.count, np.baseAddress, np.count, o.baseAddress, 2)
        } } }
        #expect(count == 1)
        #expect(out[0] == 0x1_0000_0000 && out[1] == 256 << 20)
        #expect(out[2] == UInt64(1 | 2 | 4 | 8) | UInt64(1) << 32)  // flags NFIT|SRAT|HOTPLUG|DOMAIN, domain 1
        #expect(out[3] == 0)  // capacity 2 was not needed past the one range
    }

    @Test func wrongTableAndBadChecksumAreNamed() throws {
        let s = try NVMTestSupport.compile("srat-pmem")
        #expect(throws: NVMError.wrongSignature(.acpiHeader(signature: .nfit), found: .srat)) {
            try s.withUnsafeBytes { try NFIT.parse($0) }
        }
        var bad = s
        bad[60] &+= 1
        #expect(throws: NVMError.acpiChecksumMismatch(.acpiHeader(signature: .srat), sum: 1)) {
            try bad.withUnsafeBytes { try SRAT.parse($0) }
        }
        let error = NVMError.acpiChecksumMismatch(.acpiHeader(signature: .srat), sum: 1)
        #expect(error.description == "SRAT table header: checksum mismatch (bytes sum to 1, not 0)")
    }

    @Test func entryLengthsThatWouldLoopOrOverrunAreRefused() throws {
        var s = try NVMTestSupport.compile("srat-pmem")
        s[49] = 0  // first entry's length: 0 would never advance
        NVMTestSupport.fixChecksum(&s)
        #expect(throws: NVMError.invalidField(.sratEntry(offset: 48), field: "length", value: 0)) {
            try s.withUnsafeBytes { try SRAT.parse($0) }
        }
        var n = try NVMTestSupport.compile("nfit-pmem")
        NVMTestSupport.put(UInt16(0xFFFF), &n, at: 42)  // first structure runs past the table
        NVMTestSupport.fixChecksum(&n)
        #expect(throws: NVMError.truncated(.nfitStructure(offset: 40), needed: 40 + 0xFFFF, available: n.count)) {
            try n.withUnsafeBytes { try NFIT.parse($0) }
        }
        var w = try NVMTestSupport.compile("nfit-pmem")
        NVMTestSupport.put(UInt64.max, &w, at: 40 + 56 + 40)  // the PM range's length wraps past 2^64
        NVMTestSupport.fixChecksum(&w)
        #expect(throws: NVMError.self) { try w.withUnsafeBytes { try NFIT.parse($0) } }
    }
}
