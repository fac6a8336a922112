import PMTraceTesting
import TraceFormat
import TracePayloads
import TraceVolume

/// One fuzz input: the bytes are a region image. Mount it and do everything a
/// reader does (list, read every lane with and without salvage, decode
/// payloads, skip past damage, fsck and a repair of a copy). Any result or typed error is fine; a trap or an
/// out-of-bounds access (AddressSanitizer) is a finding.
public func fuzzOne(_ data: UnsafeRawBufferPointer) {
    let size = UInt64(max(alignUp(data.count, 4096), 8192))
    let image = InMemoryRegion(size: size)
    if let base = data.baseAddress { image.base.copyMemory(from: base, byteCount: data.count) }
    guard let pool = try? MemoryPool.mount(memory: image, writable: false) else { return }
    let modes = [ReadOptions(), ReadOptions(salvage: true), ReadOptions(salvage: true, skipDamaged: true)]
    for v in pool.store.volumes() {
        for options in modes {
            guard let reader = try? pool.store.openReader(volume: v.name, options: options) else { continue }
            var n = 0
            while n < 100_000, let r = try? reader.next() {
                n += 1
                guard r.moreFragments.isEmpty else { continue }
                switch r.kind {
                case .memoryAccessBatch, .memoryAccessStreams: try? MemoryAccessBatch.forEach(r.payload, kind: r.kind) { _ in }
                case .pmlBatch: try? PMLBatch.forEach(r.payload) { _ in }
                case .pageImage: _ = try? PageImage.decode(r.payload)
                case .symbolChunk: if let c = try? SymbolChunk(r.payload), c.count > 0 { _ = c.find(c.lowest); _ = c.name(at: c.entry(0).nameOffset) }
                case .symbolTableInfo: _ = try? SymbolTableInfo.decode(r.payload)
                case .processMap: _ = try? ProcessMapEntry.decode(r.payload)
                case .guestAccessBatch: try? GuestAccessBatch.forEach(r.payload) { _ in }
                case .checkpoint: _ = try? Checkpoint.decode(r.payload)
                default: break
                }
            }
            // The verified copy-out of every lane into a buffer that is sometimes too small.
            for lane in 0..<min(v.laneCount, 64) {
                guard let lr = try? pool.store.openLaneReader(volume: v.name, lane: lane, options: options) else { continue }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: lane % 2 == 0 ? 1 << 20 : 100, alignment: 1)
                defer { buffer.deallocate() }
                var m = 0
                while m < 100_000, let r = try? lr.read(into: buffer) {
                    m += 1
                    precondition(r.length <= buffer.count, "copy-out overran its buffer")
                }
            }
        }
    }
    _ = try? pool.store.check(repair: .dryRun)
    // The mount over every header (what a damaged or stale segment summary falls back to).
    _ = try? MemoryPool.mount(memory: image, writable: false, options: .testing(usesSegmentSummary: false))
    if let writable = try? MemoryPool.mount(memory: pool.snapshot(), writable: true) {
        _ = try? writable.store.check(repair: true)
        // Appends on a hostile image: segment allocation (kept-out-of-reuse checks), new
        // headers and summary entries, commits.
        if let v = writable.store.volumes().first(where: { !$0.sealed }), let w = try? writable.store.openWriter(volume: v.name) {
            for i in 0..<8 { _ = try? w.append(bytes: [UInt8](repeating: UInt8(i), count: 40_000)) }
            w.close()
        }
    }
}
