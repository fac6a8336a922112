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
        print("crash states \(name): \(r.points) points, \(r.states) states checked, \(r.violations.count) violations")
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
    @Test func appendAndCommit() throws {
        let sizes = [0, 1, 7, 8, 100, 4095, 4096, 20_000, 65_000, 70_000, 31, 64, 12_345, 40_000, 3]
        let r = try crashTest(regionSize: 2 << 20, setup: { store, model in
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
        expectNoViolations("append+commit", r)
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

    func referenceTable() throws -> (UInt64, [(UInt64, String)]) {
        let pool = try MemoryPool.inMemory(size: 2 << 20, parameters: smallFormat)
        let catalog = try MetadataCatalog(store: pool.store)
        try catalog.importELF(at: "/usr/bin/ls", app: "ls", useDebugFile: false)
        let t = try catalog.table(app: "ls")
        let symbols = try ELFFile(contentsOf: "/usr/bin/ls").symbols().symbols.filter { $0.isFunction && $0.size > 0 }
        return (t.info.symbolCount, symbols.compactMap { s in t.lookup(s.value).map { (s.value, $0.nameString) } })
    }
}
