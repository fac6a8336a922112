import Foundation
@testable import MetadataCatalog
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// Writes a table volume the way a (buggy) second implementation might: the
/// records are CRC-valid, only their contents are wrong, so the store's own
/// checks pass and only the catalog can tell.
func writeTable(_ catalog: MetadataCatalog, app: String, chunks: [[UInt8]], chunkCount: UInt32? = nil, buildID: [UInt8] = [0xAB]) throws {
    let store = catalog.store
    let info = SymbolTableInfo(elfType: 3, machine: 62, symbolCount: 1, importTime: 1, linkBase: 0,
                               chunkCount: chunkCount ?? UInt32(chunks.count), app: Array(app.utf8), buildID: buildID, path: Array("/x".utf8))
    let name = MetadataCatalog.volumeName(app: app, buildID: buildID)
    _ = try store.createVolume(nameBytes: Array(name.utf8), lanes: 1, ring: false, allowReserved: true)
    let w = try store.openWriter(volume: name)
    var bytes: [UInt8] = []
    info.encode(into: &bytes)
    try w.append(bytes: bytes, kind: .symbolTableInfo)
    for c in chunks { try w.append(bytes: c, kind: .symbolChunk, contiguous: true) }
    w.commit()
    w.close()
    try store.sealVolume(name)
}

/// Three entries 0x1000, 0x2000, 0x3000 of 0x10 bytes each; names "a", "b", "c".
func threeEntryChunk(base: UInt64 = 0x1000) -> [UInt8] {
    let entries = (0..<3).map { SymbolChunk.Entry(start: base + UInt64($0) * 0x1000, size: 0x10, nameOffset: UInt32($0 * 2), symbolOffset: 0, info: 0x12) }
    var out: [UInt8] = []
    SymbolChunk.encode(entries: entries, strings: Array("a\0b\0c\0".utf8), into: &out)
    return out
}

func storeLE32(_ v: UInt32, _ bytes: inout [UInt8], at o: Int) { for k in 0..<4 { bytes[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
func storeLE64(_ v: UInt64, _ bytes: inout [UInt8], at o: Int) { for k in 0..<8 { bytes[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }

/// Every lookup in a chunk, validated or not, must not trap; after
/// `validate()` it must agree with a linear scan.
func linearFind(_ c: SymbolChunk, _ a: UInt64) -> Int? {
    (0..<c.count).first { let e = c.entry($0); return e.start <= a && a - e.start < UInt64(e.size) }
}

@Suite struct DamagedTableTests {
    /// A bucket index that sends the search past the entry covering the
    /// address used to make `find` subtract a larger start (arithmetic
    /// overflow trap). Now the table is refused at open, and the raw chunk's
    /// `find` answers without trapping.
    @Test func damagedBucketIndex() throws {
        var bytes = threeEntryChunk()
        let bucketsAt = SymbolChunk.headerSize + 3 * SymbolChunk.entrySize
        storeLE32(3, &bytes, at: bucketsAt)      // bucket[0] = count: search starts at the last entry
        storeLE32(3, &bytes, at: bucketsAt + 4)
        try bytes.withUnsafeBytes { raw in
            let c = try SymbolChunk(raw)
            for a in stride(from: UInt64(0xF00), through: 0x3100, by: 8) { _ = c.find(a) }  // must not trap
            #expect(throws: FormatError.self) { try c.validate() }
        }
        let (pool, catalog) = try catalogPool()
        try writeTable(catalog, app: "buckets", chunks: [bytes])
        #expect { try catalog.table(app: "buckets") } throws: { e in
            guard case CatalogError.damagedTable(let volume, let reason) = e else { return false }
            return volume == ".sym/buckets/ab" && reason.contains("bucket 0")
        }
        let findings = MetadataCatalog.check(store: pool.store)
        #expect(findings.count == 1 && findings[0].severity == .error && findings[0].location.contains(".sym/buckets/ab"), "\(findings)")
    }

    /// An entry whose end passes 2^64 used to trap in `SymbolTable.lookup`
    /// (`start + size`). Now it is refused at open, and lookups through an
    /// unvalidated chunk saturate.
    @Test func entryEndWrapsPast2to64() throws {
        let entries = [SymbolChunk.Entry(start: 0xFFFF_FFFF_FFFF_F000, size: 0x10, nameOffset: 0, symbolOffset: 0, info: 0x12)]
        var bytes: [UInt8] = []
        SymbolChunk.encode(entries: entries, strings: Array("w\0".utf8), into: &bytes)
        storeLE32(0x10000, &bytes, at: SymbolChunk.headerSize + 8)  // size: now ends past 2^64
        try bytes.withUnsafeBytes { raw in
            let c = try SymbolChunk(raw)
            #expect(c.find(UInt64.max) == 0)  // unvalidated: wrong-but-safe
            #expect { try c.validate() } throws: { "\($0)".contains("passes 2^64") }
        }
        let (pool, catalog) = try catalogPool()
        try writeTable(catalog, app: "wrap", chunks: [bytes])
        #expect(throws: CatalogError.self) { try catalog.table(app: "wrap") }
        #expect(MetadataCatalog.check(store: pool.store).count == 1)
        // A table built around the same unvalidated chunk answers without trapping.
        try bytes.withUnsafeBytes { raw in
            let t = try SymbolTable(info: SymbolTableInfo(elfType: 3, machine: 62, symbolCount: 1, importTime: 0, linkBase: 0, chunkCount: 1, app: [], buildID: [], path: []),
                                    volume: "v", chunks: [try SymbolChunk(raw)])
            let m = try #require(t.lookup(UInt64.max))
            #expect(m.range.upperBound == .max && m.nameString == "w")
        }
    }

    /// Chunks must split the address space: overlapping chunks are refused.
    @Test func overlappingChunks() throws {
        let (pool, catalog) = try catalogPool()
        try writeTable(catalog, app: "overlap", chunks: [threeEntryChunk(base: 0x1000), threeEntryChunk(base: 0x2000)])
        #expect { try catalog.table(app: "overlap") } throws: { "\($0)".contains("overlap") }
        #expect(MetadataCatalog.check(store: pool.store).count == 1)
        try writeTable(catalog, app: "disjoint", chunks: [threeEntryChunk(base: 0x1000), threeEntryChunk(base: 0x4000)])
        let t = try catalog.table(app: "disjoint")
        #expect(t.lookup(0x4005)?.nameString == "a" && t.lookup(0x3005)?.nameString == "c" && t.lookup(0x3800) == nil)
    }

    /// Random scribbles over a real table's chunk (CRC-valid, as a buggy
    /// writer leaves them): the table either fails to open with a typed
    /// error or opens and answers every lookup exactly as a linear scan does.
    /// Never a trap.
    @Test func randomScribblesOverARealChunk() throws {
        let (pool, catalog) = try catalogPool()
        try catalog.importELF(at: "/usr/bin/ls", app: "ls", useDebugFile: false)
        let reader = try pool.store.openLaneReader(volume: try catalog.table(app: "ls").volume, lane: 0)
        _ = try reader.next()  // the info record
        let original = Array(try #require(try reader.next()).payload)
        var rng = SplitMix64(seed: 7)
        var refused = 0, opened = 0
        for trial in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if trial % 3 == 0 {  // aim at the header and bucket index, where a byte does most harm
                let at = Int(rng.next() % UInt64(min(bytes.count, 64)))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            bytes.withUnsafeBytes { raw in
                guard let c = try? SymbolChunk(raw) else { refused += 1; return }
                let valid = (try? c.validate()) != nil
                for _ in 0..<200 {
                    let a = c.lowest &+ rng.next() % 0x40000 &- 0x100
                    let found = c.find(a)  // never traps
                    if valid { #expect(found == linearFind(c, a)) }
                }
                if valid { opened += 1 } else { refused += 1 }
            }
        }
        #expect(refused > 0 && refused + opened == 300)
        _ = pool
    }

    /// A clean catalog has no findings; fsck's caller relies on that.
    @Test func cleanCatalogHasNoFindings() throws {
        let (pool, catalog) = try catalogPool()
        try catalog.importELF(at: "/usr/bin/true", app: "true")
        try writeTable(catalog, app: "ok", chunks: [threeEntryChunk()])
        #expect(MetadataCatalog.check(store: pool.store).isEmpty)
    }

    /// A table with fewer chunks than its info record says, or an unsealed one, is reported.
    @Test func missingChunksAndUnsealedVolume() throws {
        let (pool, catalog) = try catalogPool()
        try writeTable(catalog, app: "short", chunks: [threeEntryChunk()], chunkCount: 2)
        _ = try pool.store.createVolume(nameBytes: Array(".sym/open/ab".utf8), lanes: 1, ring: false, allowReserved: true)
        let findings = MetadataCatalog.check(store: pool.store)
        #expect(findings.contains { $0.location.contains(".sym/short/ab") && $0.message.contains("1 of 2 chunks") })
        #expect(findings.contains { $0.location.contains(".sym/open/ab") && $0.message.contains("not sealed") })
    }
}

extension DamagedTableTests {
    /// Chunks encoded by a second implementation written from FORMAT.md §8.8
    /// alone (scripts/symbol-chunk-seeds.py, also the fuzz seeds) pass
    /// validation and answer like a linear scan.
    @Test func chunksFromTheFormatTextValidate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard let python = findTool("python3") else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pmtrace-seeds-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try tool(python, [root + "/scripts/symbol-chunk-seeds.py", dir])
        let seeds = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "seed-two-chunks" }
        #expect(seeds.count == 4)
        for seed in seeds {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + seed))
            try data.withUnsafeBytes { raw in
                let c = try SymbolChunk(raw)
                try c.validate()
                for i in 0..<c.count {
                    let e = c.entry(i)
                    #expect(c.find(e.start) == i && c.find(e.start + UInt64(e.size) - 1) == i, "\(seed) entry \(i)")
                }
            }
        }
    }
}
