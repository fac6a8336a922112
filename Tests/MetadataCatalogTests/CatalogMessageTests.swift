import Foundation
import MetadataCatalog
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// Catalog errors say what is wrong, not something nearby.
@Suite struct CatalogMessageTests {
    /// /usr/bin/ls mapped at a made-up address, as one line of /proc/<pid>/maps.
    static let lsMaps = "55d0c0a00000-55d0c0a04000 r--p 00000000 08:01 123 /usr/bin/ls\n"

    /// An address space nobody imported used to be "process 0: no maps recorded …".
    @Test func unknownAddressSpaceListsKnownOnes() throws {
        let (_, catalog) = try catalogPool()
        #expect { _ = try catalog.symbolizer(addressSpace: "pid:7") } throws: { e in
            guard case CatalogError.unknownAddressSpace("pid:7", let known) = e else { return false }
            return known.isEmpty && "\(e)".contains("no process maps have been imported")
        }
        _ = try catalog.importProcessMaps(pid: 1, text: Self.lsMaps)
        _ = try catalog.importProcessMaps(pid: 2, text: Self.lsMaps, addressSpace: "vm:guest")
        #expect { _ = try catalog.symbolizer(addressSpace: "pid:7") } throws: { e in
            let text = "\(e)"
            return text == "unknown address space 'pid:7'; known: 'pid:1', 'vm:guest'" && !text.contains("process 0")
        }
        // Known, but not yet imported at the time asked about.
        #expect { _ = try catalog.symbolizer(addressSpace: "pid:1", at: 0) } throws: { e in
            guard case CatalogError.noMapsAtTime(addressSpace: "pid:1", time: 0, earliest: _) = e else { return false }
            return true
        }
        _ = try catalog.symbolizer(addressSpace: "pid:1")
    }

    /// A maps import into a full region used to say "no readable ELF image is
    /// mapped": the table import's region-full error was taken for a bad image.
    @Test func mapsImportIntoFullRegionSaysRegionFull() throws {
        let pool = try MemoryPool.inMemory(size: 4 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 1))
        let catalog = try MetadataCatalog(store: pool.store)
        _ = try pool.store.createVolume(named: "filler")
        let w = try pool.store.openWriter(volume: "filler")
        let block = [UInt8](repeating: 0x5A, count: 32 << 10)
        var full = false
        for _ in 0..<1000 {
            do { try w.append(bytes: block) } catch { full = true; break }
        }
        w.commit()
        w.close()
        try #require(full)
        #expect { _ = try catalog.importProcessMaps(pid: 1, text: Self.lsMaps) } throws: { e in
            guard case CatalogError.store(.regionFull) = e else { return false }
            return !"\(e)".contains("no readable ELF image")
        }
    }
}
