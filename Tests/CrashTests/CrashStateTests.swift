import Foundation
import MetadataCatalog
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Every crash state a power loss could leave during each operation: the
/// region mounts (or is cleanly unformatted during format), committed records
/// read back intact, lanes are prefixes, renames and deletes are atomic,
/// fsck finds no damage and no segment owned twice.
@Suite(.serialized) struct CrashStateTests {
    func expectNoViolations(_ name: String, _ r: CrashReport) {
        let total = totalCrashStates.withLock { $0 }
        print("crash states \(name): \(r.points) points, \(r.states) states checked, \(r.violations.count) violations (\(total) states so far in this run)")
        #expect(r.violations.isEmpty, "\(name): \(r.violations.prefix(5))")
        #expect(r.states > 0)
    }

    @Test func format() throws {
        let r = try crashTest(formatted: false) { region, _, model in
            model.allowUnformatted = true
            try TraceStore.format(region: region, parameters: smallFormat)
            model.allowUnformatted = false
        }
        expectNoViolations("format", r)
    }

    @Test func createVolume() throws {
        let r = try crashTest(setup: { _, model in model.allowedNames = [[]] }) { _, store, model in
            model.allowedNames = [[], ["v"]]
            declareVolume("v", lanes: 3, model: model)
            try store!.createVolume(named: "v", lanes: 3)
            model.allowedNames = [["v"]]
        }
        expectNoViolations("create", r)
    }

    /// Records of every size class, crossing segment boundaries (64 KiB
    /// segments), including records larger than a segment; two lanes.
    /// `fused`: with the fused checksum + non-temporal copy (hosted cache-line mappings), or without.
    @Test(arguments: [false, true]) func appendAndCommit(fused: Bool) throws {
        let sizes = [0, 1, 7, 8, 100, 4095, 4096, 20_000, 65_000, 70_000, 31, 64, 12_345, 40_000, 3]
        let r = try crashTest(regionSize: 2 << 20, fused: fused, setup: { store, model in
            try store.createVolume(named: "a", lanes: 2)
            declareVolume("a", lanes: 2, model: model)
            model.allowedNames = [["a"]]
        }) { _, store, model in
            let w0 = try store!.openWriter(volume: "a", lane: 0)
            let w1 = try store!.openWriter(volume: "a", lane: 1)
            for (i, size) in sizes.enumerated() {
                try appendRecord(w0, volume: "a", lane: 0, size: size, model: model)
                try appendRecord(w1, volume: "a", lane: 1, size: sizes[(i + 5) % sizes.count] / 2, model: model)
                if i % 3 == 2 { commit(w0, volume: "a", lane: 0, model: model) }
                if i % 4 == 3 { commit(w1, volume: "a", lane: 1, model: model) }
            }
            commit(w0, volume: "a", lane: 0, model: model)
            commit(w1, volume: "a", lane: 1, model: model)
            w0.close()
            w1.close()
        }
        expectNoViolations("append+commit\(fused ? " (fused copy)" : "")", r)
    }

    /// Small records packed into record groups (FORMAT.md §7.1): groups cut
    /// by commits, by larger records, by segment ends (64 KiB segments) and by
    /// timestamps that go back. A crash leaves every group all or nothing:
    /// the lane is a prefix of whole records and every committed one reads back.
    /// `fused`: with the fused checksum + non-temporal copy (hosted cache-line mappings), or without.
    @Test(arguments: [false, true]) func recordGroups(fused: Bool) throws {
        let sizes = [0, 1, 5, 8, 13, 64, 100, 255, 256, 700, 1024]
        let r = try crashTest(regionSize: 2 << 20, fused: fused, setup: { store, model in
            try store.createVolume(named: "g", lanes: 2)
            declareVolume("g", lanes: 2, model: model)
            model.allowedNames = [["g"]]
        }) { _, store, model in
            let w0 = try store!.openWriter(volume: "g", lane: 0)
            let w1 = try store!.openWriter(volume: "g", lane: 1)
            for i in 0..<420 {
                try appendRecord(w0, volume: "g", lane: 0, size: sizes[(i * 7) % sizes.count], model: model)
                try appendRecord(w1, volume: "g", lane: 1, size: i % 50 == 49 ? 5000 : sizes[i % sizes.count] / 3, model: model)
                if i % 37 == 36 { commit(w0, volume: "g", lane: 0, model: model) }
                if i % 53 == 52 { commit(w1, volume: "g", lane: 1, model: model) }
            }
            commit(w0, volume: "g", lane: 0, model: model)
            commit(w1, volume: "g", lane: 1, model: model)
            w0.close()
            w1.close()
        }
        expectNoViolations("record groups\(fused ? " (fused copy)" : "")", r)
    }

    /// Record groups larger than the writer's streaming batch (4 KiB): their
    /// members go into the segment in pieces before the group's header, which
    /// the close writes last. A crash anywhere leaves the lane a prefix of whole
    /// records: pieces of an unclosed group are never taken for records.
    /// `fused`: with the fused checksum + non-temporal copy (hosted cache-line mappings), or without.
    @Test(arguments: [false, true]) func streamedRecordGroups(fused: Bool) throws {
        let sizes = [64, 64, 200, 8, 1024, 64, 300]
        let r = try crashTest(regionSize: 2 << 20, fused: fused, setup: { store, model in
            try store.createVolume(named: "t")
            declareVolume("t", lanes: 1, model: model)
            model.allowedNames = [["t"]]
        }) { _, store, model in
            let w = try store!.openWriter(volume: "t")
            for i in 0..<700 {
                try appendRecord(w, volume: "t", lane: 0, size: sizes[i % sizes.count], model: model)
                if i % 230 == 229 { commit(w, volume: "t", lane: 0, model: model) }
            }
            commit(w, volume: "t", lane: 0, model: model)
            w.close()
        }
        expectNoViolations("streamed record groups\(fused ? " (fused copy)" : "")", r)
    }

    /// Batches of equal-length records (`append(batch:)`: members streamed
    /// into the segment from 64 bytes on where there is a group stream, the
    /// fast loop between checked appends) and groups whose first 4 KiB and
    /// more of small members went out through the fused copy before a larger
    /// member opened the group stream (the CRC of the two parts joined at the
    /// close). A crash anywhere leaves the lane a prefix of whole records.
    /// `fused`: with the fused checksum + non-temporal copy and the group stream, or without.
    @Test(arguments: [false, true]) func batchesAndStagedBeforeStream(fused: Bool) throws {
        let batches = [(64, 90), (8, 40), (256, 30), (1000, 5), (64, 1), (1500, 3), (128, 20)]
        let r = try crashTest(regionSize: 2 << 20, fused: fused, setup: { store, model in
            try store.createVolume(named: "b")
            declareVolume("b", lanes: 1, model: model)
            model.allowedNames = [["b"]]
        }) { _, store, model in
            let w = try store!.openWriter(volume: "b")
            for i in 0..<28 {
                if i % 4 == 0 {
                    // 4.5 KiB of 64-byte members (one fused batch), then members the stream takes.
                    for _ in 0..<64 { try appendRecord(w, volume: "b", lane: 0, size: 64, model: model) }
                    for _ in 0..<3 { try appendRecord(w, volume: "b", lane: 0, size: 300, model: model) }
                } else {
                    let (size, count) = batches[i % batches.count]
                    try appendBatch(w, volume: "b", lane: 0, size: size, count: count, model: model)
                }
                if i % 9 == 8 { commit(w, volume: "b", lane: 0, model: model) }
            }
            commit(w, volume: "b", lane: 0, model: model)
            w.close()
        }
        expectNoViolations("batches and staged members before the stream\(fused ? " (fused copy)" : "")", r)
    }

    /// A commit after every record: one-fence commits (FORMAT.md §10.3) for
    /// records up to 4 KiB in a segment the writer opened, two fences for
    /// larger ones and across segment ends. A crash can leave the commit word
    /// durable before its record: readers stop at the torn record, fsck says
    /// info only, and every commit that returned is read back.
    /// `fused`: with the fused checksum + non-temporal copy (hosted cache-line mappings), or without.
    @Test(arguments: [false, true]) func commitPerRecord(fused: Bool) throws {
        let sizes = [0, 1, 64, 100, 256, 1000, 3000, 4100, 31, 200]
        let r = try crashTest(regionSize: 2 << 20, fused: fused, setup: { store, model in
            try store.createVolume(named: "c")
            declareVolume("c", lanes: 1, model: model)
            model.allowedNames = [["c"]]
        }) { _, store, model in
            let w = try store!.openWriter(volume: "c")
            for i in 0..<90 {
                try appendRecord(w, volume: "c", lane: 0, size: sizes[(i * 3) % sizes.count], model: model)
                commit(w, volume: "c", lane: 0, model: model)
            }
            w.close()
        }
        expectNoViolations("commit per record\(fused ? " (fused copy)" : "")", r)
    }

    @Test func sealRenameDelete() throws {
        let r = try crashTest(setup: { store, model in
            for name in ["x", "y"] {
                try store.createVolume(named: name)
                declareVolume(name, lanes: 1, model: model)
                let w = try store.openWriter(volume: name)
                for _ in 0..<5 { try appendRecord(w, volume: name, lane: 0, size: 3000, model: model) }
                commit(w, volume: name, lane: 0, model: model)
                w.close()
            }
            model.allowedNames = [["x", "y"]]
        }) { _, store, model in
            model.allowedNames = [["x", "y"], ["z", "y"]]
            model.alias["z"] = "x"
            try store!.renameVolume("x", to: "z")
            model.allowedNames = [["z", "y"]]
            try store!.sealVolume("z")
            model.allowedNames = [["z", "y"], ["z"]]
            try store!.deleteVolume("y")
            model.allowedNames = [["z"]]
        } extraCheck: { pool, _ in
            // A sealed volume stays readable and complete; "y" is all there or gone.
            if let y = try? pool.store.volume(named: "y"), y.segmentCount == 0 { return ["y present but empty"] }
            return []
        }
        expectNoViolations("seal/rename/delete", r)
    }

    /// A ring volume reclaiming its own oldest segments, many times over.
    @Test func ringReclamation() throws {
        let r = try crashTest(regionSize: 1 << 20, setup: { store, model in
            try store.createVolume(named: "ring", ring: true)
            declareVolume("ring", lanes: 1, model: model)
            model.ringVolumes = ["ring"]
            model.allowedNames = [["ring"]]
        }) { _, store, model in
            let w = try store!.openWriter(volume: "ring")
            for i in 0..<60 {  // ~30 segments of appends in a region of 9
                try appendRecord(w, volume: "ring", lane: 0, size: 30_000, model: model)
                if i % 2 == 1 { commit(w, volume: "ring", lane: 0, model: model) }
            }
            w.close()
        }
        expectNoViolations("ring", r)
    }

    /// A symbol-table import: the catalog always opens, and holds the table
    /// completely or not at all (after a writable open has recovered).
    @Test func catalogImport() throws {
        let (referenceCount, reference) = try referenceTable()
        let r = try crashTest(regionSize: 2 << 20) { region, store, model in
            model.allowedNames = [[]]  // catalog volumes are internal (".…")
            let catalog = try MetadataCatalog(store: store!)
            try catalog.importELF(at: "/usr/bin/ls", app: "ls", useDebugFile: false)
        } extraCheck: { pool, _ in
            var problems: [String] = []
            // Read-only: whatever is listed is complete.
            let ro = try MetadataCatalog(store: pool.store)
            for t in try ro.tables() where t.symbols != referenceCount { problems.append("read-only: table with \(t.symbols) of \(referenceCount) symbols") }
            // Writable, on a copy: recovery leaves no .tmp and the table is complete or absent.
            let copy = try MemoryPool.mount(memory: pool.snapshot(), writable: true)
            let rw = try MetadataCatalog(store: copy.store)
            if copy.store.volumes().contains(where: { $0.name.hasPrefix(".tmp/") }) { problems.append("a .tmp volume survived recovery") }
            if let t = try? rw.table(app: "ls") {
                for (address, name) in reference where t.lookup(address)?.nameString != name {
                    problems.append("recovered table answers \(t.lookup(address)?.nameString ?? "??") for \(name)")
                    break
                }
            }
            return problems
        }
        expectNoViolations("catalog import", r)
    }

    /// A power loss while `check(repair: .apply(backup: nil))` rewrites a damaged
    /// superblock copy and a torn volume-entry copy from their valid twins:
    /// every crash image mounts, reads every committed record, and repairs
    /// again to a region with no damage left (repair wrote only metadata copies).
    /// `damagedCopy` is the superblock copy damaged after the store mounted
    /// (0: the copy in use, 1: its twin).
    @Test(arguments: [0, 1])
    func repairOfDamagedCopies(damagedCopy: Int) throws {
        let r = try crashTest(regionSize: 1 << 20, samples: max(crashSamples, 64), exhaustive: max(exhaustiveLimit, 10), setup: { store, model in
            try committedVolumesForRepair(store, model)
        }) { _, store, model in
            let sim = PersistenceSimulator.active!
            model.allowSuperblockCopyDamage = true
            try damageCopies(sim, superblock: damagedCopy, entrySlot: 0, store!.superblock)
            let report = try store!.check(repair: .apply(backup: nil))
            #expect(report.findings.contains { $0.location.hasPrefix("superblock copy") && $0.repaired })
            #expect(report.findings.contains { $0.location.hasPrefix("volume table slot 0 copy") && $0.repaired })
            model.allowSuperblockCopyDamage = false
        } extraCheck: { pool, model in
            try repairedAgain(pool, model)
        }
        expectNoViolations("repair of damaged copies (superblock copy \(damagedCopy == 0 ? "A" : "B"))", r)
    }

    /// The same damage found by a writable mount (which rewrites the damaged
    /// superblock copy itself), then `check(repair:)` (the torn entry copy):
    /// a power loss anywhere in either.
    @Test func mountThenRepairOfDamagedCopies() throws {
        let r = try crashTest(regionSize: 1 << 20, samples: max(crashSamples, 64), exhaustive: max(exhaustiveLimit, 10), setup: { store, model in
            try committedVolumesForRepair(store, model)
        }) { region, store, model in
            let sim = PersistenceSimulator.active!
            model.allowSuperblockCopyDamage = true
            try damageCopies(sim, superblock: 0, entrySlot: 1, store!.superblock)
            let mounted = try TraceStore(region: region, writable: true, options: .testing(commitInterval: 0, fused: false))
            #expect(mounted.superblockCopy == 1)
            let report = try mounted.check(repair: .apply(backup: nil))
            #expect(report.findings.contains { $0.location.hasPrefix("volume table slot 1 copy") && $0.repaired })
            model.allowSuperblockCopyDamage = false
        } extraCheck: { pool, model in
            try repairedAgain(pool, model)
        }
        expectNoViolations("mount + repair of damaged copies", r)
    }

    func referenceTable() throws -> (UInt64, [(UInt64, String)]) {
        let pool = try MemoryPool.inMemory(size: 2 << 20, parameters: smallFormat)
        let catalog = try MetadataCatalog(store: pool.store)
        try catalog.importELF(at: "/usr/bin/ls", app: "ls", useDebugFile: false)
        let t = try catalog.table(app: "ls")
        let symbols = try ELFFile(contentsOf: "/usr/bin/ls").symbols().symbols.filter { $0.isFunction && $0.size > 0 }
        return (t.info.symbolCount, symbols.compactMap { s in t.lookup(s.value).map { (s.value, $0.nameString) } })
    }
}

/// Volumes "a" (2 lanes) and "b", records across segments, all committed; "a" renamed
/// once so its two entry copies differ.
func committedVolumesForRepair(_ store: TraceStore, _ model: Model) throws {
    try store.createVolume(named: "a0", lanes: 2)
    try store.renameVolume("a0", to: "a")
    try store.createVolume(named: "b")
    for (name, lanes) in [("a", 2), ("b", 1)] {
        declareVolume(name, lanes: lanes, model: model)
        for lane in 0..<lanes {
            let w = try store.openWriter(volume: name, lane: lane)
            for i in 0..<9 { try appendRecord(w, volume: name, lane: lane, size: [40, 9000, 30_000][(i + lane) % 3], model: model) }
            commit(w, volume: name, lane: lane, model: model)
            w.close()
        }
    }
    model.allowedNames = [["a", "b"]]
}

/// Writes `bytes` at `offset` to both the CPU view and media: damage that was
/// already there when the operation starts (not part of any crash state).
func poke(_ sim: PersistenceSimulator, _ offset: Int, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { b in
        (sim.cpu.base + offset).copyMemory(from: b.baseAddress!, byteCount: b.count)
        (sim.media.baseAddress! + offset).copyMemory(from: b.baseAddress!, byteCount: b.count)
    }
}

/// Damages superblock copy `superblock` (a scribble over its checksummed fields) and
/// tears the older copy of volume-table slot `entrySlot`: the first half of a newer
/// entry (a rename that lost power) over the old bytes.
func damageCopies(_ sim: PersistenceSimulator, superblock copy: Int, entrySlot slot: Int, _ sb: Superblock) throws {
    poke(sim, copy * Layout.superblockCopySize + 40, [UInt8](repeating: 0xA5, count: 24))
    let base = Int(sb.volumeSlotOffset(slot))
    func decode(_ c: Int) -> VolumeEntry.Decoded {
        VolumeEntry.decode(UnsafeRawBufferPointer(start: sim.cpu.base + base + c * Layout.volumeEntrySize, count: Layout.volumeEntrySize),
                           slot: slot, copy: c, maxLanes: sb.maxLanesPerVolume)
    }
    guard case .entry(let e0) = decode(0), case .entry(let e1) = decode(1) else { throw TraceError.notARegion(reason: "slot \(slot) has no two valid copies") }
    let (active, older) = e1.updateSequence > e0.updateSequence ? (e1, 0) : (e0, 1)
    var newer = active
    newer.updateSequence += 1
    newer.name = Array("renamed-and-torn".utf8)
    var bytes = [UInt8](repeating: 0, count: Layout.volumeEntrySize)
    bytes.withUnsafeMutableBytes { newer.encode(into: $0.baseAddress!) }
    poke(sim, base + older * Layout.volumeEntrySize, Array(bytes[0..<128]))
    guard case .damaged = decode(older) else { throw TraceError.notARegion(reason: "the torn entry copy decodes") }
    // The superblock copy really is damaged.
    let sbBytes = UnsafeRawBufferPointer(start: sim.cpu.base + copy * Layout.superblockCopySize, count: Layout.superblockSize)
    if (try? Superblock.decode(sbBytes, copy: copy, mappedSize: sim.cpu.size)) != nil { throw TraceError.notARegion(reason: "superblock copy still decodes") }
}

/// A crash image of a repair must repair again: on a writable copy, `check(repair:)`
/// leaves no finding above info unrepaired, writes only superblock and volume-table
/// copies, and the result mounts without warnings and verifies strictly.
func repairedAgain(_ pool: MemoryPool, _ model: Model) throws -> [String] {
    var problems: [String] = []
    let before = pool.snapshot()
    let copy = pool.snapshot()
    let rw = try MemoryPool.mount(memory: copy, writable: true)
    let report = try rw.store.check(repair: .apply(backup: nil))
    for f in report.findings where f.severity != .info && !f.repaired {
        problems.append("repair again left \(f.severity) \(f.location): \(f.message)")
    }
    problems += writesOutsideMetadataCopies(before: before, after: copy, pool.store.superblock)
    let strict = model.allowSuperblockCopyDamage
    model.allowSuperblockCopyDamage = false
    defer { model.allowSuperblockCopyDamage = strict }
    problems += verify(copy, model, nil).map { "after repairing again: \($0)" }
    let recheck = try MemoryPool.mount(memory: copy, writable: false).store.check()
    for f in recheck.findings where f.location.hasPrefix("volume table") || f.location.hasPrefix("superblock") {
        problems.append("after repairing again, still: \(f.location): \(f.message)")
    }
    return problems
}

/// Byte ranges of `after` that differ from `before` outside the superblock copies'
/// encoded bytes and the volume table (what repair may rewrite), as descriptions.
func writesOutsideMetadataCopies(before: InMemoryRegion, after: InMemoryRegion, _ sb: Superblock) -> [String] {
    let allowed = metadataCopyAreas(sb)
    var out: [String] = []
    var i = 0
    let n = Int(before.size)
    while i < n {
        let chunk = min(4096, n - i)
        if memcmp(before.base + i, after.base + i, chunk) != 0 {
            for j in i..<(i + chunk) where before.base.load(fromByteOffset: j, as: UInt8.self) != after.base.load(fromByteOffset: j, as: UInt8.self) {
                if !allowed.contains(where: { $0.contains(j) }) {
                    out.append("repair wrote byte \(j), outside the superblock and volume-table copies")
                    return out
                }
            }
        }
        i += chunk
    }
    return out
}

/// The only bytes repair may rewrite: each superblock copy's encoding, the volume table
/// and (since 1.3) the segment summary.
func metadataCopyAreas(_ sb: Superblock) -> [Range<Int>] {
    [0..<Layout.superblockSize,
     Layout.superblockCopySize..<(Layout.superblockCopySize + Layout.superblockSize),
     Int(sb.volumeTableOffset)..<(Int(sb.volumeTableOffset) + Int(sb.volumeSlotCount) * Layout.volumeSlotSize),
     Int(sb.summaryOffset)..<(Int(sb.summaryOffset) + (sb.summaryOffset == 0 ? 0 : Int(sb.segmentCount) * Layout.summaryEntrySize))]
}
