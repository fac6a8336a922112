import MetadataCatalog
import PMTraceTesting
import TraceFormat
import TracePayloads
import TraceVolume

/// One fuzz input for the symbol-table lookup path: the bytes are symbol
/// chunk payloads (FORMAT.md §8.8); a second `"PMSC"` magic after offset 0
/// starts a second chunk. Each chunk is looked up raw (unvalidated `find`,
/// which must never trap), validated, then written as a table volume,
/// opened through the catalog, looked up and checked. Any answer or typed
/// error is fine; a trap or an out-of-bounds access (AddressSanitizer) is a
/// finding; so is a validated chunk whose answer differs from a linear scan.
public func fuzzSymbolsOne(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 4 else { return }
    var cut = data.count
    var k = 4
    while k + 4 <= data.count {
        if data[k] == 0x50, data[k + 1] == 0x4D, data[k + 2] == 0x53, data[k + 3] == 0x43 { cut = k; break }
        k += 1
    }
    let parts = cut < data.count ? [UnsafeRawBufferPointer(rebasing: data[..<cut]), UnsafeRawBufferPointer(rebasing: data[cut...])] : [data]
    var probes: [UInt64] = [0, 1, .max, .max - 1]
    for part in parts {
        guard let c = try? SymbolChunk(part) else { continue }
        probes += [c.lowest, c.lowest &- 1, c.highest, c.highest &- 1]
        for i in 0..<min(c.count, 64) {
            let e = c.entry(i)
            probes += [e.start, e.start &+ UInt64(e.size) &- 1, e.start &+ UInt64(e.size)]
            _ = c.name(at: e.nameOffset)
        }
        let valid = (try? c.validate()) != nil
        for a in probes {
            let found = c.find(a)
            if valid, found != linearFind(c, a) { fatalError("validated chunk: find(0x\(String(a, radix: 16))) = \(String(describing: found)), linear scan disagrees") }
        }
    }
    // The catalog path: a table volume holding these chunks, CRC-valid, in a
    // region formatted once per process (formatting each time halved the rate);
    // the volume is deleted after each input, and each input gets a fresh catalog.
    guard let pool = fuzzPool, let catalog = try? MetadataCatalog(store: pool.store) else { return }
    defer { try? pool.store.deleteVolume(".sym/fuzz/01") }
    let info = SymbolTableInfo(elfType: 3, machine: 62, symbolCount: 1, importTime: 1, linkBase: 0, chunkCount: UInt32(parts.count),
                               app: Array("fuzz".utf8), buildID: [1], path: [])
    do throws(TraceError) {
        _ = try pool.store.createVolume(named: ".sym/fuzz/01")
        let w = try pool.store.openWriter(volume: ".sym/fuzz/01")
        var bytes: [UInt8] = []
        info.encode(into: &bytes)
        try w.append(bytes: bytes, kind: .symbolTableInfo)
        for part in parts { try w.append(bytes: Array(part), kind: .symbolChunk, contiguous: true) }
        w.commit()
        w.close()
        try pool.store.sealVolume(".sym/fuzz/01")
    } catch { return }
    _ = MetadataCatalog.check(store: pool.store)
    guard let table = try? catalog.table(app: "fuzz") else { return }
    for a in probes {
        if let m = table.lookup(a) { _ = m.nameString; _ = Demangler.demangle(m.nameString) }
    }
}

/// Used from libFuzzer's one thread (the store itself is thread-safe).
let fuzzPool = try? MemoryPool.inMemory(
    size: 2 << 20, parameters: FormatParameters(segmentSize: 256 << 10, volumeSlots: 4, maxLanesPerVolume: 1))

func linearFind(_ c: SymbolChunk, _ a: UInt64) -> Int? {
    (0..<c.count).first { let e = c.entry($0); return e.start <= a && a - e.start < UInt64(e.size) }
}
