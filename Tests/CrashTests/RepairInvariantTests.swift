import Foundation
import PMTraceTesting
import Synchronization
import Testing
import TraceFormat
import TraceVolume

/// The repair rule checked mechanically over many corrupted images (trust issue,
/// "Measure and report"). For each image — bit flips and random bytes over the
/// superblocks, the volume table, the commit words, segment headers and record
/// headers, and random bytes anywhere — this:
///  1. reads everything read-only (plain, salvage, skip-damaged, both) and runs a
///     dry-run fsck: nothing handed out differs from what was written, and no byte
///     of the image changes;
///  2. repairs a writable copy (`check(repair: .apply(backup:))`): repair writes only
///     superblock and volume-table copies, and only from a valid twin; every record a
///     plain read returned before the repair, a plain read returns after it;
///  3. undoes the damage (puts the original bytes back, except where repair rewrote
///     them) and mounts again: every committed record of the clean image reads back,
///     byte for byte, and fsck finds nothing above info.
/// PMTRACE_REPAIR_IMAGES sets the number of images (the long run uses 100,000).
@Suite struct RepairInvariantTests {
    static let images = Int(ProcessInfo.processInfo.environment["PMTRACE_REPAIR_IMAGES"] ?? "") ?? 600
    static let seed = UInt64(ProcessInfo.processInfo.environment["PMTRACE_REPAIR_SEED"] ?? "") ?? 0x5EED_0F_4E9A
    static let shards = 4

    /// Counts over all shards of this run (printed as each shard ends).
    struct Counts {
        var images = 0, mounted = 0, refused = 0, repaired = 0, writableRefused = 0
        var recordsHandedOut = 0, undoneAndRead = 0, violations = 0

        static func += (a: inout Counts, b: Counts) {
            a.images += b.images; a.mounted += b.mounted; a.refused += b.refused; a.repaired += b.repaired
            a.writableRefused += b.writableRefused; a.recordsHandedOut += b.recordsHandedOut
            a.undoneAndRead += b.undoneAndRead; a.violations += b.violations
        }
    }
    static let total = Mutex(Counts())

    /// The clean image, what it holds, and where its metadata lies, by kind.
    struct Sample {
        let clean: InMemoryRegion
        let reference: [String: [UInt8]]
        let superblock: Superblock
        /// (kind, start, length): "superblock", "volume table", "commit word", "segment header", "record header".
        let ranges: [(kind: Int, start: Int, length: Int)]
    }

    static func sample() throws -> Sample {
        let (pool, _) = try CorruptionTests.sampleImage()
        let sb = pool.store.superblock
        var ranges: [(Int, Int, Int)] = [(0, 0, Layout.superblockSize), (0, Layout.superblockCopySize, Layout.superblockSize)]
        for slot in 0..<Int(sb.volumeSlotCount) {
            ranges.append((1, Int(sb.volumeSlotOffset(slot)), Layout.volumeSlotSize))
            for lane in 0..<Int(sb.maxLanesPerVolume) { ranges.append((2, Int(sb.laneWordOffset(slot: slot, lane: lane)), 8)) }
        }
        var segments = Set<UInt64>()
        for v in pool.store.volumes() {
            for lane in 0..<v.laneCount {
                let reader = try pool.store.openLaneReader(volume: v.name, lane: lane)
                while let r = try reader.next() {
                    segments.insert(r.segment)
                    ranges.append((4, Int(sb.segmentOffset(r.segment)) + r.offset, Layout.recordHeaderSize))
                }
            }
        }
        for s in segments.sorted() { ranges.append((3, Int(sb.segmentOffset(s)), Layout.segmentHeaderSize)) }
        return Sample(clean: pool.snapshot(), reference: try CorruptionTests.records(pool), superblock: sb,
                      ranges: ranges.map { (kind: $0.0, start: $0.1, length: $0.2) })
    }

    /// One corrupted image: byte offset → new value (applied in order).
    typealias Damage = [(offset: Int, value: UInt8)]

    /// Damage of kind `kind` (0...5) drawn from `rng`.
    static func damage(kind: Int, _ s: Sample, _ rng: inout SplitMix64) -> Damage {
        func pick(_ k: Int) -> (kind: Int, start: Int, length: Int) {
            let candidates = s.ranges.filter { $0.kind == k }
            return candidates[Int(rng.next() % UInt64(candidates.count))]
        }
        // The kinds of structure, weighted so each is hit often (record headers are the most numerous).
        func anyRange() -> (kind: Int, start: Int, length: Int) { pick(Int(rng.next() % 5)) }
        func flip(_ at: Int) -> (offset: Int, value: UInt8) {
            (at, s.clean.base.load(fromByteOffset: at, as: UInt8.self) ^ (1 << UInt8(rng.next() % 8)))
        }
        func random(_ r: (kind: Int, start: Int, length: Int)) -> Int { r.start + Int(rng.next() % UInt64(r.length)) }
        let size = Int(s.clean.size)
        switch kind {
        case 0:  // one bit flip in a metadata structure
            return [flip(random(anyRange()))]
        case 1:  // 2...8 random bytes, each in some metadata structure
            return (0..<(2 + Int(rng.next() % 7))).map { _ in (random(anyRange()), UInt8(truncatingIfNeeded: rng.next())) }
        case 2:  // one aligned 8-byte word of a metadata structure replaced (a torn or stray store)
            let r = anyRange()
            let word = (random(r) & ~7)
            let value = rng.next()
            return (0..<8).map { (word + $0, UInt8(truncatingIfNeeded: value >> (8 * UInt64($0)))) }
        case 3:  // 1...64 random bytes anywhere in the region
            return (0..<(1 + Int(rng.next() % 64))).map { _ in (Int(rng.next() % UInt64(size)), UInt8(truncatingIfNeeded: rng.next())) }
        case 4:  // one flip each in a superblock copy, a volume-table slot, a commit word or segment header, a record header
            return [flip(random(pick(0))), flip(random(pick(1))), flip(random(pick(2 + Int(rng.next() % 2)))), flip(random(pick(4)))]
        default:  // a burst of 1...64 random bytes starting in a metadata structure
            let start = random(anyRange())
            return (0..<(1 + Int(rng.next() % 64))).compactMap { k in
                start + k < size ? (start + k, UInt8(truncatingIfNeeded: rng.next())) : nil
            }
        }
    }

    @Test(arguments: 0..<shards)
    func corruptReadRepairUndo(shard: Int) throws {
        let s = try Self.sample()
        var counts = Counts()
        var violations: [String] = []
        var rng = SplitMix64(seed: Self.seed &+ UInt64(shard) &* 0x9E37_79B9)
        let mine = Self.images / Self.shards + (shard < Self.images % Self.shards ? 1 : 0)
        for trial in 0..<mine {
            let d = Self.damage(kind: trial % 6, s, &rng)
            let found = Self.check(d, s, &counts)
            counts.images += 1
            if !found.isEmpty {
                counts.violations += 1
                if violations.count < 10 {
                    violations.append("shard \(shard) trial \(trial) damage \(d.map { "\($0.offset)=\($0.value)" }): \(found.prefix(3))")
                }
            }
        }
        let total = Self.total.withLock { $0 += counts; return $0 }
        print("repair invariant shard \(shard): \(counts.images) corrupted images, \(counts.mounted) mounted read-only, "
              + "\(counts.refused) refused with a typed error, \(counts.repaired) changed by repair, \(counts.recordsHandedOut) records handed out, "
              + "\(counts.undoneAndRead) undone and read back, \(counts.violations) violations")
        print("repair invariant so far in this run: \(total.images) images, \(total.violations) violations")
        #expect(counts.images == mine)
        #expect(violations.isEmpty, "\(violations)")
    }

    /// Everything the invariant says about one damaged image; returns what broke it.
    static func check(_ damage: Damage, _ s: Sample, _ counts: inout Counts,
                      repair: (MemoryPool, inout [Range<Int>]) throws -> Void = realRepair) -> [String] {
        var problems: [String] = []
        let size = Int(s.clean.size)
        let image = InMemoryRegion(copying: UnsafeRawBufferPointer(start: s.clean.base, count: size))
        for (at, value) in damage { image.base.storeBytes(of: value, toByteOffset: at, as: UInt8.self) }
        let writable = InMemoryRegion(copying: UnsafeRawBufferPointer(start: image.base, count: size))

        // 1. Read-only: everything, every way; a dry-run fsck.
        var readBefore = Set<String>()
        if let pool = try? MemoryPool.mount(memory: image, writable: false) {
            counts.mounted += 1
            for options in [ReadOptions(), ReadOptions(salvage: true), ReadOptions(skipDamaged: true), ReadOptions(salvage: true, skipDamaged: true)] {
                let keys = readAll(pool.store, options, s.reference, &problems, &counts, what: "damaged image")
                if !options.salvage && !options.skipDamaged { readBefore = keys }
            }
            _ = try? pool.store.check(repair: .dryRun)
            if memcmp(image.base, writable.base, size) != 0 { problems.append("a read-only mount, read or dry-run fsck changed the image") }
        } else {
            counts.refused += 1
        }

        // 2. Repair a writable copy.
        var written: [Range<Int>] = []
        do {
            try repair(try MemoryPool.mount(memory: writable, writable: true), &written)
        } catch {
            counts.writableRefused += 1
        }
        var changed: [Int] = []
        var i = 0
        while i < size {
            let chunk = min(4096, size - i)
            if memcmp(image.base + i, writable.base + i, chunk) != 0 {
                for j in i..<(i + chunk) where image.base.load(fromByteOffset: j, as: UInt8.self) != writable.base.load(fromByteOffset: j, as: UInt8.self) {
                    changed.append(j)
                }
            }
            i += chunk
        }
        if !changed.isEmpty || !written.isEmpty { counts.repaired += 1 }
        problems += repairWritesCheck(image: image, repaired: writable, changed: changed, written: written, s.superblock)
        if let pool = try? MemoryPool.mount(memory: writable, writable: false) {
            let after = readAll(pool.store, ReadOptions(), s.reference, &problems, &counts, what: "repaired image")
            for key in readBefore.subtracting(after).sorted().prefix(3) { problems.append("record \(key) read before repair, not after") }
        } else if !readBefore.isEmpty {
            problems.append("the repaired image no longer mounts")
        }

        // 3. Undo the damage where repair did not rewrite it, then everything committed must read.
        for (at, _) in damage where !written.contains(where: { $0.contains(at) }) && !changed.contains(at) {
            writable.base.storeBytes(of: s.clean.base.load(fromByteOffset: at, as: UInt8.self), toByteOffset: at, as: UInt8.self)
        }
        do {
            let pool = try MemoryPool.mount(memory: writable, writable: false)
            let keys = readAll(pool.store, ReadOptions(), s.reference, &problems, &counts, what: "undone image")
            for key in Set(s.reference.keys).subtracting(keys).sorted().prefix(3) { problems.append("committed record \(key) lost (repair, then damage undone)") }
            let report = try pool.store.check()
            for f in report.findings where f.severity != .info { problems.append("undone image: fsck \(f.severity) \(f.location): \(f.message)") }
            counts.undoneAndRead += 1
        } catch {
            problems.append("the image with the damage undone does not mount or check: \(error)")
        }
        return problems
    }

    /// `check(repair: .apply(backup:))`, noting each range it is about to overwrite.
    static func realRepair(_ pool: MemoryPool, _ written: inout [Range<Int>]) throws {
        var ranges: [Range<Int>] = []
        _ = try pool.store.check(repair: .apply(backup: { offset, old in
            ranges.append(Int(offset)..<(Int(offset) + old.count))
            return true
        }))
        written += ranges
    }

    /// The checker itself: a repair that breaks the rule is caught.
    @Test func aRepairThatBreaksTheRuleIsCaught() throws {
        let s = try Self.sample()
        // A torn superblock copy A: what the real repair rewrites.
        let damage: Damage = [(8, s.clean.base.load(fromByteOffset: 8, as: UInt8.self) ^ 0x10)]
        var counts = Counts()
        #expect(Self.check(damage, s, &counts).isEmpty)
        #expect(counts.repaired == 1)
        // Repair that also clears a commit word: a write outside the metadata copies, records lost.
        let laneWord = Int(s.superblock.laneWordOffset(slot: 0, lane: 0))
        let clearsCommitWord = Self.check(damage, s, &counts) { pool, written in
            try Self.realRepair(pool, &written)
            pool.memory.base.storeBytes(of: UInt64(0), toByteOffset: laneWord, as: UInt64.self)
        }
        #expect(clearsCommitWord.contains { $0.contains("outside the superblock and volume-table copies") }, "\(clearsCommitWord)")
        #expect(clearsCommitWord.contains { $0.contains("read before repair, not after") }, "\(clearsCommitWord)")
        #expect(clearsCommitWord.contains { $0.contains("lost (repair, then damage undone)") }, "\(clearsCommitWord)")
        // Repair that writes a valid entry copy other than its twin (a different name).
        let slotAt = Int(s.superblock.volumeSlotOffset(0))
        let renames = Self.check(damage, s, &counts) { pool, written in
            try Self.realRepair(pool, &written)
            let p = pool.memory.base + slotAt
            guard case .entry(var e) = VolumeEntry.decode(UnsafeRawBufferPointer(start: p, count: Layout.volumeEntrySize), slot: 0, copy: 0,
                                                          maxLanes: s.superblock.maxLanesPerVolume) else { return }
            e.name = Array("not-the-twin".utf8)
            e.encode(into: p + Layout.volumeEntrySize)
        }
        #expect(renames.contains { $0.contains("with an entry other than its twin's") }, "\(renames)")
    }

    /// `pmtrace fsck --repair --backup FILE` promises every byte range repair overwrites
    /// is saved first. It opens the pool writable with
    /// `rewritesDamagedSuperblockAtMount` off, so the damaged superblock copy is left to
    /// `check(repair: .apply(backup:))`, which reports and backs it up.
    @Test func everyByteTheRepairingOpenOverwritesIsBackedUpFirst() throws {
        let s = try Self.sample()
        let image = InMemoryRegion(copying: UnsafeRawBufferPointer(start: s.clean.base, count: Int(s.clean.size)))
        let copyB = Layout.superblockCopySize
        image.base.storeBytes(of: image.base.load(fromByteOffset: copyB + 8, as: UInt8.self) ^ 0x10, toByteOffset: copyB + 8, as: UInt8.self)
        let damaged = InMemoryRegion(copying: UnsafeRawBufferPointer(start: image.base, count: Int(image.size)))
        // What fsck --repair --backup does: a writable open, then check(repair: .apply(backup:)).
        var backedUp: [Range<Int>] = []
        var options = StoreOptions.testing()
        options.rewritesDamagedSuperblockAtMount = false
        let pool = try MemoryPool.mount(memory: image, writable: true, options: options)
        let report = try pool.store.check(repair: .apply(backup: { offset, old in
            backedUp.append(Int(offset)..<(Int(offset) + old.count))
            return true
        }))
        var overwritten: [Int] = []
        for i in 0..<Int(image.size) where image.base.load(fromByteOffset: i, as: UInt8.self) != damaged.base.load(fromByteOffset: i, as: UInt8.self) {
            overwritten.append(i)
        }
        #expect(overwritten.contains(copyB + 8))  // the damaged copy B was rewritten…
        #expect(overwritten.allSatisfy { at in backedUp.contains { $0.contains(at) } }, "overwritten \(overwritten.first ?? -1)…, backed up \(backedUp)")
        #expect(report.findings.contains { $0.location == "superblock copy B" && $0.repaired })  // …and reported as repaired
    }

    /// Reads every volume with `options`; reports records that differ from the clean
    /// image (a salvaged fragment may be a prefix). Returns the keys of the complete,
    /// unsalvaged records that matched.
    static func readAll(_ store: TraceStore, _ options: ReadOptions, _ reference: [String: [UInt8]],
                        _ problems: inout [String], _ counts: inout Counts, what: String) -> Set<String> {
        var keys = Set<String>()
        for v in store.volumes() {
            guard let reader = try? store.openReader(volume: v.name, options: options) else { continue }
            var n = 0
            while n < 10_000, let r = try? reader.next() {
                n += 1
                counts.recordsHandedOut += 1
                let key = "\(v.uid)/\(r.lane)/\(r.sequence)"
                if let expected = reference[key], CorruptionTests.matches(r, expected, prefixOnly: r.salvaged) {
                    if !r.salvaged { keys.insert(key) }
                } else {
                    problems.append("\(what), \(options): '\(v.name)' handed out \(key)\(r.salvaged ? " (salvaged)" : "") that differs from what was written")
                }
            }
        }
        return keys
    }

    /// Repair writes only superblock and volume-table copies, and only from a valid twin:
    /// a rewritten superblock copy equals the other copy, which was valid before; a
    /// rewritten entry copy is a valid entry whose twin was valid before and holds the
    /// same entry (but for the update sequence).
    static func repairWritesCheck(image: InMemoryRegion, repaired: InMemoryRegion, changed: [Int], written: [Range<Int>], _ sb: Superblock) -> [String] {
        var problems: [String] = []
        let areas = metadataCopyAreas(sb)
        for at in changed + written.flatMap({ Array($0) }) where !areas.contains(where: { $0.contains(at) }) {
            problems.append("repair wrote byte \(at), outside the superblock and volume-table copies")
            break
        }
        func bytes(_ r: InMemoryRegion, _ offset: Int, _ count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: r.base + offset, count: count) }
        for copy in 0..<2 {
            let at = copy * Layout.superblockCopySize
            guard changed.contains(where: { (at..<(at + Layout.superblockSize)).contains($0) }) else { continue }
            let twin = (1 - copy) * Layout.superblockCopySize
            if (try? Superblock.decode(bytes(image, twin, Layout.superblockSize), copy: 1 - copy, mappedSize: image.size)) == nil {
                problems.append("repair rewrote superblock copy \(copy) while its twin was damaged")
            } else if (try? Superblock.decode(bytes(repaired, at, Layout.superblockSize), copy: copy, mappedSize: image.size))
                        != (try? Superblock.decode(bytes(repaired, twin, Layout.superblockSize), copy: 1 - copy, mappedSize: image.size)) {
                // Since 1.3 the copies differ in the byte that names the copy (and the CRC): compare what they say.
                problems.append("repair rewrote superblock copy \(copy) with bytes other than its twin's")
            }
        }
        for slot in 0..<Int(sb.volumeSlotCount) {
            for copy in 0..<2 {
                let at = Int(sb.volumeSlotOffset(slot)) + copy * Layout.volumeEntrySize
                guard changed.contains(where: { (at..<(at + Layout.volumeEntrySize)).contains($0) }) else { continue }
                let twinAt = Int(sb.volumeSlotOffset(slot)) + (1 - copy) * Layout.volumeEntrySize
                let twin = VolumeEntry.decode(bytes(image, twinAt, Layout.volumeEntrySize), slot: slot, copy: 1 - copy, maxLanes: sb.maxLanesPerVolume)
                let now = VolumeEntry.decode(bytes(repaired, at, Layout.volumeEntrySize), slot: slot, copy: copy, maxLanes: sb.maxLanesPerVolume)
                guard case .entry(var t) = twin, case .entry(let n) = now else {
                    problems.append("repair rewrote slot \(slot) copy \(copy): twin \(twin), result \(now)")
                    continue
                }
                t.updateSequence = n.updateSequence
                if t != n { problems.append("repair rewrote slot \(slot) copy \(copy) with an entry other than its twin's") }
            }
        }
        // A rewritten summary entry (FORMAT.md §6.1) equals its segment's valid header.
        if sb.summaryOffset != 0 {
            var entries = Set<UInt64>()
            for at in changed where UInt64(at) >= sb.summaryOffset && UInt64(at) < sb.summaryOffset + sb.segmentCount * 32 {
                entries.insert((UInt64(at) - sb.summaryOffset) / 32)
            }
            for i in entries {
                let e = try? SummaryEntry.decode(bytes(repaired, Int(sb.summaryEntryOffset(i)), 32), index: i)
                let h = try? SegmentHeader.decode(bytes(image, Int(sb.segmentOffset(i)), 64), expectedIndex: i)
                if e == nil || h == nil || !e!.matches(h!.header) { problems.append("repair rewrote the summary entry of segment \(i) other than from its header") }
            }
        }
        return problems
    }
}
