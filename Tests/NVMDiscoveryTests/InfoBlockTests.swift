import NVMDiscovery
import Testing

/// The Linux namespace info block (`nd_pfn_sb`) and its Fletcher-64.
@Suite struct InfoBlockTests {
    @Test func fletcherKnownAnswers() {
        let cases: [([UInt8], UInt64)] = [
            ([], 0),
            ([1, 0, 0, 0], 0x0000_0001_0000_0001),
            ([1, 0, 0, 0, 2, 0, 0, 0], 0x0000_0004_0000_0003),
            ([0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0], 0xFFFF_FFFF_0000_0000),  // lo wraps to 0
            ([1, 0, 0, 0, 9], 0x0000_0001_0000_0001),  // a trailing partial word is not summed
        ]
        for (bytes, expected) in cases {
            #expect(bytes.withUnsafeBytes { fletcher64($0) } == expected, "\(bytes)")
        }
        var rng = NVMTestSupport.Rng(state: 7)
        for _ in 0..<50 {
            let bytes = (0..<(4096 + rng.below(64))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(bytes.withUnsafeBytes { fletcher64($0) } == NVMTestSupport.referenceFletcher(bytes))
        }
    }

    @Test(arguments: [false, true]) func parsesBothSignatures(dax: Bool) throws {
        let ns = NVMTestSupport.namespace(dax: dax)
        let b = try ns.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0, namespaceSize: 256 << 20) }
        #expect(b.kind == (dax ? .devdax : .fsdax))
        #expect(b.dataOffset == 2 << 20 && b.npfns == 65024 && b.mode == 2 && b.align == 2 << 20)
        #expect(b.versionMajor == 1 && b.versionMinor == 4 && b.pageSize == 4096 && b.pageStructSize == 64)
        #expect(b.uuid.0 == 0xA0A1_A2A3_A4A5_A6A7 && b.parentUUID.1 == 0x1819_1A1B_1C1D_1E1F)
        var offset: UInt64 = 0
        #expect(ns.withUnsafeBytes { pmt_nvm_data_offset($0.baseAddress, $0.count, 256 << 20, &offset) } == 0)
        #expect(offset == 2 << 20)
    }

    @Test func olderMinorVersionsReadAsLinuxReadsThem() throws {
        // Minor 0: start_pad, end_trunc and align are not there (the bytes are ignored).
        let ns = NVMTestSupport.namespace(minor: 0, startPad: 4096, align: 3)
        let b = try ns.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) }
        #expect(b.startPad == 0 && b.align == 0 && b.dataOffset == 2 << 20 && b.pageSize == 4096)
        // start_pad counts toward where the data is (the kernel's resource = start + start_pad + dataoff).
        let padded = NVMTestSupport.namespace(minor: 3, startPad: 64 << 10, align: 0)
        #expect(try padded.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) }.dataOffset == (2 << 20) + (64 << 10))
    }

    @Test func rawNamespaceAndDamageAreNamed() throws {
        let s = NVMStructure.namespaceInfoBlock(offset: 4096)
        let zero = [UInt8](repeating: 0, count: 8192)
        #expect(throws: NVMError.noInfoBlock(s)) { try zero.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) } }
        var offset: UInt64 = 99
        #expect(zero.withUnsafeBytes { pmt_nvm_data_offset($0.baseAddress, $0.count, 0, &offset) } == -6)
        #expect(pmt_nvm_data_offset(nil, 0, 0, &offset) == -1 && offset == 99)

        var flipped = NVMTestSupport.namespace()
        flipped[4096 + 100] ^= 1
        #expect(throws: NVMError.self) { try flipped.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) } }
        let e = flipped.withUnsafeBytes { b in Result { () throws(NVMError) in try NamespaceInfoBlock.parse(namespace: b) } }
        guard case .failure(.fletcherMismatch(let structure, let stored, let computed)) = e else { Issue.record("\(e)"); return }
        #expect(structure == s && stored != computed)
        let short = Array(NVMTestSupport.namespace()[0..<8191])
        #expect(throws: NVMError.truncated(s, needed: 8192, available: 8191)) {
            try short.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) }
        }
        let badMode = NVMTestSupport.namespace(mode: 0)
        #expect(throws: NVMError.invalidField(s, field: "mode", value: 0)) {
            try badMode.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) }
        }
        let inside = NVMTestSupport.namespace(dataoff: 4096, align: 0)
        #expect(throws: NVMError.invalidField(s, field: "dataoff", value: 4096)) {
            try inside.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) }
        }
        let past = NVMTestSupport.namespace(dataoff: 512 << 20)
        #expect(throws: NVMError.invalidField(s, field: "dataoff (past the namespace end)", value: 512 << 20)) {
            try past.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0, namespaceSize: 256 << 20) }
        }
        let misaligned = NVMTestSupport.namespace(dataoff: (2 << 20) + 4096)
        #expect(throws: NVMError.self) { try misaligned.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) } }
    }
}
