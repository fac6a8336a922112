import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// Corrupted and truncated images: every operation returns a result or a
/// typed error naming the structure — never a trap, never an out-of-bounds
/// read (run under AddressSanitizer by scripts/asan.sh).
@Suite struct CorruptionTests {
    /// A small region with a bit of everything: two volumes, several lanes,
    /// records across segments, fragments, record groups, a renamed and a sealed volume.
    static func sampleImage() throws -> (MemoryPool, [(Int, Int)]) {
        let pool = try MemoryPool.inMemory(size: 1 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 4, maxLanesPerVolume: 2))
        try pool.store.createVolume(named: "a", lanes: 2)
        try pool.store.createVolume(named: "b")
        for (name, lane) in [("a", 0), ("a", 1), ("b", 0)] {
            let w = try pool.store.openWriter(volume: name, lane: lane)
            for i in 0..<12 { try w.append(bytes: [UInt8](repeating: UInt8(i), count: [10, 3000, 70_000][i % 3])) }
            // Small records in a row: one record group (FORMAT.md §7.1).
            for i in 0..<25 { try w.append(bytes: [UInt8](repeating: UInt8(i), count: 1 + i)) }
            var batch: [UInt8] = []
            [MemoryAccess(kind: .load, address: 0x1000, size: 8)].withUnsafeBufferPointer { MemoryAccessBatch.encode($0, into: &batch) }
            try w.append(bytes: batch, kind: .memoryAccessBatch)
            w.close()
        }
        try pool.store.renameVolume("b", to: "c")
        try pool.store.sealVolume("c")
        // Metadata byte ranges: superblocks, volume table, lane words, every segment and record
        // header, and every summary entry of a segment in use.
        let sb = pool.store.superblock
        var ranges: [(Int, Int)] = [(0, 128), (4096, 128), (Int(sb.volumeTableOffset), 2 * 512)]
        for slot in 0..<2 { for lane in 0..<2 { ranges.append((Int(sb.laneWordOffset(slot: slot, lane: lane)), 8)) } }
        for v in pool.store.volumes() {
            for lane in 0..<v.laneCount {
                let reader = try pool.store.openLaneReader(volume: v.name, lane: lane)
                var segments = Set<UInt64>()
                while let r = try reader.next() {
                    segments.insert(r.segment)
                    if r.length <= 25 && r.length != 10 {
                        // A group member: the group's header and its first member header stand for them all.
                        if r.length == 1 { ranges.append((Int(sb.segmentOffset(r.segment)) + r.offset - 32, 40)) }
                        continue
                    }
                    ranges.append((Int(sb.segmentOffset(r.segment)) + r.offset, 32))
                }
                for s in segments { ranges.append((Int(sb.segmentOffset(s)), 64)) }
                // And their segment-summary entries (FORMAT.md §6.1).
                if sb.summaryOffset != 0 { for s in segments { ranges.append((Int(sb.summaryEntryOffset(s)), Layout.summaryEntrySize)) } }
            }
        }
        return (pool, ranges)
    }

    /// Every record of the clean image by volume uid, lane and sequence.
    static func records(_ pool: MemoryPool) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for v in pool.store.volumes() {
            let reader = try pool.store.openReader(volume: v.name)
            while let r = try reader.next() {
                var bytes: [UInt8] = []
                r.forEachFragment { bytes.append(contentsOf: $0) }
                out["\(v.uid)/\(r.lane)/\(r.sequence)"] = bytes
            }
        }
        return out
    }

    /// Mount, list, read (normal and salvage), dump-style decoding and fsck of
    /// a damaged image. Returns whether it mounted, and every record returned
    /// that the clean image does not hold byte for byte (there must be none:
    /// damage is reported, never handed out as data).
    static func exercise(_ image: InMemoryRegion, reference: [String: [UInt8]]) -> (mounted: Bool, wrong: [String]) {
        guard let pool = try? MemoryPool.mount(memory: image, writable: false) else { return (false, []) }
        var wrong: [String] = []
        for v in pool.store.volumes() {
            for salvage in [false, true] {
                guard let reader = try? pool.store.openReader(volume: v.name, salvage: salvage) else { continue }
                while let r = try? reader.next() {
                    let key = "\(v.uid)/\(r.lane)/\(r.sequence)"
                    // Compared in place; a salvaged fragment of a record may come alone: then a prefix.
                    if let expected = reference[key], matches(r, expected, prefixOnly: r.salvaged) {} else {
                        wrong.append("\(v.name) \(key)\(r.salvaged ? " (salvaged)" : "")")
                    }
                    if r.kind == .memoryAccessBatch, r.moreFragments.isEmpty { try? MemoryAccessBatch.forEach(r.payload) { _ in } }
                    if r.kind == .pmlBatch, r.moreFragments.isEmpty { try? PMLBatch.forEach(r.payload) { _ in } }
                }
            }
        }
        _ = try? pool.store.check()
        return (true, wrong)
    }

    static func matches(_ r: RecordView, _ expected: [UInt8], prefixOnly: Bool) -> Bool {
        guard prefixOnly ? r.length <= expected.count : r.length == expected.count else { return false }
        var at = 0, same = true
        expected.withUnsafeBytes { e in
            r.forEachFragment { f in
                if f.count > 0 && memcmp(f.baseAddress!, e.baseAddress! + at, f.count) != 0 { same = false }
                at += f.count
            }
        }
        return same
    }

    @Test func everyMetadataBitFlipped() throws {
        let (pool, ranges) = try Self.sampleImage()
        let clean = pool.snapshot()
        let reference = try Self.records(pool)
        var tried = 0, errors = 0
        var wrong: [String] = []
        let image = InMemoryRegion(size: clean.size)
        for (start, length) in ranges {
            for bit in 0..<(length * 8) {
                image.base.copyMemory(from: clean.base, byteCount: Int(clean.size))
                let at = start + bit / 8
                image.base.storeBytes(of: image.base.load(fromByteOffset: at, as: UInt8.self) ^ (1 << UInt8(bit % 8)), toByteOffset: at, as: UInt8.self)
                let r = Self.exercise(image, reference: reference)
                if !r.mounted { errors += 1 }
                wrong += r.wrong.map { "bit \(bit) at \(at): \($0)" }
                tried += 1
            }
        }
        print("bit flips: \(tried) images tried, \(errors) refused to mount with a typed error, the rest mounted (damage reported by read/fsck)")
        #expect(tried > 10_000)
        #expect(wrong.isEmpty, "records returned that were never written: \(wrong.prefix(5))")
    }

    @Test func randomBytesAcrossTheRegion() throws {
        let (pool, _) = try Self.sampleImage()
        let clean = pool.snapshot()
        let reference = try Self.records(pool)
        let image = InMemoryRegion(size: clean.size)
        var wrong: [String] = []
        var mounted = 0
        var rng = SystemRandomNumberGenerator()
        let trials = Int(ProcessInfo.processInfo.environment["PMTRACE_CORRUPT_TRIALS"] ?? "") ?? 300
        for _ in 0..<trials {
            image.base.copyMemory(from: clean.base, byteCount: Int(clean.size))
            for _ in 0..<Int.random(in: 1...64, using: &rng) {
                image.base.storeBytes(of: UInt8.random(in: 0...255, using: &rng), toByteOffset: Int.random(in: 0..<Int(clean.size), using: &rng), as: UInt8.self)
            }
            let r = Self.exercise(image, reference: reference)
            if r.mounted { mounted += 1 }
            wrong += r.wrong
        }
        print("random bytes: \(trials) images tried, \(mounted) mounted")
        #expect(wrong.isEmpty, "records returned that were never written: \(wrong.prefix(5))")
    }

    /// The pool file cut at many lengths: opening it fails cleanly.
    @Test func truncatedFiles() throws {
        let path = NSTemporaryDirectory() + "pmtrace-trunc-\(getpid()).pool"
        defer { unlink(path) }
        let size: UInt64 = 8 << 20
        do {
            let pool = try TracePool.format(path: path, size: size, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 2))
            try pool.store.createVolume(named: "v")
            let w = try pool.store.openWriter(volume: "v")
            for i in 0..<50 { try w.append(bytes: [UInt8](repeating: UInt8(i), count: 5000)) }
            w.close()
        }
        var lengths: [UInt64] = [0, 1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 65536]
        lengths += stride(from: UInt64(100_000), to: size, by: 377_777).map { $0 }
        lengths.append(size - 1)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        for n in lengths {
            try original.prefix(Int(n)).write(to: URL(fileURLWithPath: path))
            #expect(throws: PoolError.self, "length \(n)") { try TracePool.open(path: path, writable: false) }
        }
        try original.write(to: URL(fileURLWithPath: path))
        #expect(try TracePool.open(path: path, writable: false).store.volumes().count == 1)
    }
}
