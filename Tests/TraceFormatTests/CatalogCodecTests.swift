import Testing
import TraceFormat
import TracePayloads

@Suite struct CatalogCodecTests {
    @Test func processMapEntryRoundTripAndTruncation() throws {
        let e = ProcessMapEntry(pid: 42, validFrom: 1, validTo: 0, start: 0x5555_0000, end: 0x5556_0000, fileOffset: 0x1000,
                                loadBias: 0x5554_0000, app: Array("ls".utf8), buildID: [1, 2, 3], addressSpace: Array("pid:42".utf8),
                                path: Array("/usr/bin/ls".utf8))
        var bytes: [UInt8] = []
        e.encode(into: &bytes)
        #expect(try bytes.withUnsafeBytes { try ProcessMapEntry.decode($0) } == e)
        for cut in 0..<bytes.count {
            #expect(throws: FormatError.self) { try bytes.withUnsafeBytes { try ProcessMapEntry.decode(UnsafeRawBufferPointer(rebasing: $0[0..<cut])) } }
        }
    }

    @Test func symbolTableInfoRoundTripAndTruncation() throws {
        let i = SymbolTableInfo(elfType: 3, machine: 62, symbolCount: 9, importTime: 7, linkBase: 0, chunkCount: 2,
                                app: Array("libc.so.6".utf8), buildID: [0xAB, 0xCD], path: Array("/lib/libc.so.6".utf8))
        var bytes: [UInt8] = []
        i.encode(into: &bytes)
        #expect(try bytes.withUnsafeBytes { try SymbolTableInfo.decode($0) } == i)
        for cut in 0..<bytes.count {
            #expect(throws: FormatError.self) { try bytes.withUnsafeBytes { try SymbolTableInfo.decode(UnsafeRawBufferPointer(rebasing: $0[0..<cut])) } }
        }
    }

    /// Every address of a chunk of irregular ranges finds the entry covering
    /// it through the bucket index, or nothing in a gap.
    @Test func symbolChunkLookupMatchesLinearScan() throws {
        var entries: [SymbolChunk.Entry] = []
        var strings: [UInt8] = []
        var start: UInt64 = 0x1000
        for i in 0..<300 {
            let size = UInt32([1, 7, 64, 4096, 33][i % 5])
            entries.append(.init(start: start, size: size, nameOffset: UInt32(strings.count), symbolOffset: 0, info: 0x12))
            strings += Array("f\(i)".utf8) + [0]
            start += UInt64(size) + UInt64([0, 0, 5, 100, 1][i % 5])
        }
        var bytes: [UInt8] = []
        SymbolChunk.encode(entries: entries, strings: strings, into: &bytes)
        try bytes.withUnsafeBytes { b in
            let chunk = try SymbolChunk(b)
            for address in stride(from: UInt64(0xF00), to: start + 50, by: 3) {
                let expected = entries.firstIndex { address >= $0.start && address - $0.start < UInt64($0.size) }
                #expect(chunk.find(address) == expected, "address \(address)")
            }
            #expect(chunk.name(at: entries[299].nameOffset).map { String(decoding: $0, as: UTF8.self) } == "f299")
            #expect(chunk.name(at: UInt32(strings.count)) == nil)
            for cut in [0, 10, 39, bytes.count - 1] {
                #expect(throws: FormatError.self) { try SymbolChunk(UnsafeRawBufferPointer(rebasing: b[0..<cut])) }
            }
        }
    }
}
