import Foundation
import MetadataCatalog
import PMTrace
import PMTraceTesting
import Testing
import TraceVolume

@Suite struct CatalogStoreTests {
    @Test func thousandAppsInOneCatalog() throws {
        let (pool, catalog) = try catalogPool(size: 1200 << 20, slots: 1100)
        for i in 0..<1000 { try catalog.importELF(at: "/usr/bin/ls", app: "app-\(i)") }
        let tables = try catalog.tables()
        #expect(tables.count == 1000)
        // Same bytes after a "reboot": a fresh mount of a copy of the region.
        let copy = try MemoryPool.mount(memory: pool.snapshot(), writable: false)
        let again = try MetadataCatalog(store: copy.store)
        #expect(try again.tables().count == 1000)
        let t = try again.table(app: "app-999")
        let reference = try catalog.table(app: "app-0")
        for a in stride(from: UInt64(0x4000), to: 0x20000, by: 97) {
            #expect(t.lookup(a)?.nameString == reference.lookup(a)?.nameString)
        }
    }

    @Test func buildsOfOneAppCoexistAndRemove() throws {
        let (pool, catalog) = try catalogPool()
        try catalog.importELF(at: "/usr/bin/ls", app: "tool")
        try catalog.importELF(at: libcPath, app: "tool")  // another "build" of the same app name
        #expect(try catalog.tables().filter { $0.app == "tool" }.count == 2)
        let lsID = try ELFFile(contentsOf: "/usr/bin/ls").buildID.map { String(format: "%02x", $0) }.joined()
        #expect(try catalog.table(app: "tool", buildID: lsID).info.symbolCount > 0)
        #expect(try catalog.remove(app: "tool", buildID: lsID) == 1)
        #expect(throws: CatalogError.self) { try catalog.table(app: "tool", buildID: lsID) }
        #expect(try catalog.remove(app: "tool") == 1)
        #expect(try catalog.tables().isEmpty)
        #expect(pool.store.space.free == pool.store.space.total)
    }

    @Test func badInputs() throws {
        let (pool, catalog) = try catalogPool()
        #expect(throws: CatalogError.self) { try catalog.importELF(at: "/etc/hostname") }
        #expect(throws: CatalogError.self) { try catalog.importELF(at: "/nonexistent") }
        #expect(throws: CatalogError.self) { try catalog.importELF(at: "/usr/bin/ls", app: "a/b") }
        #expect(throws: CatalogError.self) { try catalog.importELF(at: "/usr/bin/ls", app: "") }
        #expect(throws: CatalogError.self) { try catalog.table(app: "missing") }
        #expect(throws: CatalogError.self) { try catalog.importProcessMaps(pid: 1, text: "nothing here") }
        withExtendedLifetime(pool) {}
    }
}
