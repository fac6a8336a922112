import Foundation
@testable import MetadataCatalog
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// Adversary s23 (F-sym-silent): a damaged symbol table was refused by
/// `symbolize --app` but read as "no symbols" by every `--as` path (hot,
/// dump, export, symbolize), which printed "??" with exit 0. The address-space
/// symbolizer now refuses it the same way; an image with no table at all
/// still resolves to its mapping.
@Suite struct DamagedCatalogSymbolizerTests {
    static let image = "/usr/bin/true"

    private func mapsText() -> String { "555555554000-555555558000 r-xp 00000000 08:01 1 \(Self.image)\n" }

    @Test func aDamagedTableFailsTheAddressSpaceSymbolizer() throws {
        let (_, catalog) = try catalogPool()
        _ = try catalog.importProcessMaps(pid: 7, text: mapsText(), addressSpace: "space")
        let clean = try catalog.symbolizer(addressSpace: "space")
        #expect(clean.mappingCount == 1)
        // Replace the imported table by a CRC-valid one whose bucket index is wrong.
        let buildID = try ELFFile(contentsOf: Self.image).buildID
        let name = MetadataCatalog.volumeName(app: "true", buildID: buildID)
        try catalog.store.deleteVolume(name)
        var bytes = threeEntryChunk()
        let bucketsAt = SymbolChunk.headerSize + 3 * SymbolChunk.entrySize
        storeLE32(3, &bytes, at: bucketsAt)
        storeLE32(3, &bytes, at: bucketsAt + 4)
        try writeTable(catalog, app: "true", chunks: [bytes], buildID: buildID)
        let reopened = try MetadataCatalog(store: catalog.store)  // a later process: nothing cached
        #expect { try reopened.symbolizer(addressSpace: "space") } throws: { e in
            guard case CatalogError.damagedTable(let volume, _) = e else { return false }
            return volume == name
        }
    }

    @Test func anImageWithoutATableStillResolvesToItsMapping() throws {
        let (_, catalog) = try catalogPool()
        _ = try catalog.importProcessMaps(pid: 7, text: mapsText(), addressSpace: "space")
        let buildID = try ELFFile(contentsOf: Self.image).buildID
        try catalog.store.deleteVolume(MetadataCatalog.volumeName(app: "true", buildID: buildID))
        let s = try MetadataCatalog(store: catalog.store).symbolizer(addressSpace: "space")
        let r = try #require(s.resolve(0x5555_5555_4100))
        #expect(!r.hasSymbols && r.match == nil)
    }

    @Test func aDamagedProcessMapRecordIsNamed() throws {
        let (_, catalog) = try catalogPool()
        _ = try catalog.importProcessMaps(pid: 7, text: mapsText(), addressSpace: "space")
        let w = try catalog.store.openWriter(volume: MetadataCatalog.mapsVolume)
        try w.append(bytes: [UInt8](repeating: 0, count: 40), kind: .processMap)
        w.commit()
        w.close()
        #expect { try catalog.symbolizer(addressSpace: "space") } throws: { e in
            guard case CatalogError.damagedMaps(let volume, let reason) = e else { return false }
            return volume == MetadataCatalog.mapsVolume && reason.contains("lane 0") && reason.contains("sequence")
        }
    }
}
