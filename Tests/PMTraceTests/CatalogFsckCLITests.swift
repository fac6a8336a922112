import Foundation
import PMTrace
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// `pmtrace fsck` covers the catalog, and `symbolize` on a damaged table is
/// an error message, not a trap.
@Suite struct CatalogFsckCLITests {
    /// A table whose chunk is CRC-valid but whose bucket index is scribbled
    /// (what a buggy second writer leaves). Before: fsck said clean and
    /// symbolize died of an arithmetic-overflow trap (SIGILL).
    @Test func damagedTableIsReportedAndRefused() throws {
        let path = scratchPath("fsck-catalog")
        defer { unlink(path) }
        #expect(try pmtrace(["format", path, "--size", "16M"]).status == 0)
        do {
            let pool = try TracePool.open(path: path, writable: true)
            let entries = (0..<3).map { SymbolChunk.Entry(start: 0x1000 + UInt64($0) * 0x1000, size: 0x10, nameOffset: 0, symbolOffset: 0, info: 0x12) }
            var chunk: [UInt8] = []
            SymbolChunk.encode(entries: entries, strings: Array("f\0".utf8), into: &chunk)
            let bucketsAt = SymbolChunk.headerSize + 3 * SymbolChunk.entrySize
            for k in 0..<8 { chunk[bucketsAt + k] = k % 4 == 0 ? 3 : 0 }  // bucket[0] = bucket[1] = 3
            let info = SymbolTableInfo(elfType: 3, machine: 62, symbolCount: 3, importTime: 1, linkBase: 0, chunkCount: 1,
                                       app: Array("bad".utf8), buildID: [0xAB], path: [])
            var bytes: [UInt8] = []
            info.encode(into: &bytes)
            _ = try pool.store.createVolume(nameBytes: Array(".sym/bad/ab".utf8), lanes: 1, ring: false, allowReserved: true)
            let w = try pool.store.openWriter(volume: ".sym/bad/ab")
            try w.append(bytes: bytes, kind: .symbolTableInfo)
            try w.append(bytes: chunk, kind: .symbolChunk, contiguous: true)
            w.commit()
            w.close()
            try pool.store.sealVolume(".sym/bad/ab")
        }
        let fsck = try pmtrace(["fsck", path])
        #expect(fsck.status == 1 && fsck.out.contains("error: catalog volume '.sym/bad/ab'") && fsck.out.contains("bucket 0"), "\(fsck.out)")
        let sym = try pmtrace(["symbolize", path, "--app", "bad", "0x1005"])
        #expect(sym.status == 1 && sym.stderr.contains("is damaged"), "status \(sym.status): \(sym.stderr)")
        #expect(try pmtrace(["symbols", "remove", path, "bad"]).status == 0)
        #expect(try pmtrace(["symbols", "import", path, "/usr/bin/true"]).status == 0)
        let clean = try pmtrace(["fsck", path])
        #expect(clean.status == 0 && clean.out.hasPrefix("clean"), "\(clean.out)")
    }
}
