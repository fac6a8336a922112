import Foundation
import GuestRecording
import PMTrace
import Testing
import TraceFormat
import TraceVolume

/// A careless user's arguments get one clear line and the documented status,
/// never a silent success, a file named "-", or a 3 MB echo.
@Suite struct CarelessArgumentsCLITests {
    @Test func locateRefusesAMissingTablesDirectory() throws {
        let missing = try pmtrace(["locate", "--acpi-tables", "/nonexistent/acpi"])
        #expect(missing.status == 2 && missing.stderr.contains("no such directory") && !missing.out.contains("absent"), "\(missing.stderr)")
        let file = try pmtrace(["locate", "--acpi-tables", "/bin/sh"])
        #expect(file.status == 2 && file.stderr.contains("not a directory"), "\(file.stderr)")
        let dir = scratchPath("acpi")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let empty = try pmtrace(["locate", "--acpi-tables", dir])
        #expect(empty.status == 0 && empty.out.contains("SRAT absent"), "an existing directory without tables: \(empty.stderr)")
    }

    @Test func fsckRefusesRepairOptionsWithoutRepair() throws {
        let pool = scratchPath("fsckargs.pool"), backup = scratchPath("fsckargs.backup")
        defer { unlink(pool); unlink(backup) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        let dry = try pmtrace(["fsck", pool, "--dry-run"])
        #expect(dry.status == 2 && dry.stderr.contains("--dry-run needs --repair"), "\(dry.stderr)")
        let b = try pmtrace(["fsck", pool, "--backup", backup])
        #expect(b.status == 2 && b.stderr.contains("--backup needs --repair") && !FileManager.default.fileExists(atPath: backup), "\(b.stderr)")
        #expect(try pmtrace(["fsck", pool, "--repair", "--dry-run"]).status == 0)
    }

    @Test func importsNameADirectoryAndRefuseAnEmptyAddressSpace() throws {
        let pool = scratchPath("imports.pool"), dir = scratchPath("imports.dir"), maps = scratchPath("imports.maps")
        defer { unlink(pool); unlink(maps); try? FileManager.default.removeItem(atPath: dir) }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let symbols = try pmtrace(["symbols", "import", pool, dir])
        #expect(symbols.status == 2 && symbols.stderr.contains("a directory, not a file") && !symbols.stderr.contains("NSCocoaErrorDomain"), "\(symbols.stderr)")
        let mapsDir = try pmtrace(["maps", "import", pool, "--pid", "1", "--maps-file", dir, "--as", "m"])
        #expect(mapsDir.status == 2 && mapsDir.stderr.contains("a directory, not a file") && !mapsDir.stderr.contains("no such process"), "\(mapsDir.stderr)")
        let mapsMissing = try pmtrace(["maps", "import", pool, "--pid", "1", "--maps-file", dir + "/none", "--as", "m"])
        #expect(mapsMissing.status == 2 && mapsMissing.stderr.contains("no such file"), "\(mapsMissing.stderr)")
        try String(contentsOfFile: "/proc/self/maps", encoding: .utf8).write(toFile: maps, atomically: true, encoding: .utf8)
        let empty = try pmtrace(["maps", "import", pool, "--pid", "1", "--maps-file", maps, "--as", ""])
        #expect(empty.status == 2 && empty.stderr.contains("empty"), "\(empty.stderr)")
        #expect(try pmtrace(["maps", "import", pool, "--pid", "1", "--maps-file", maps, "--as", "m"]).status == 0)
    }

    @Test func symbolizeQuotesAtMostTheStartOfAHugeBadLine() throws {
        let pool = scratchPath("symbolize.pool"), input = scratchPath("symbolize.in")
        defer { unlink(pool); unlink(input) }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        #expect(try pmtrace(["symbols", "import", pool, "/bin/true", "--app", "true"]).status == 0)
        try Data(repeating: UInt8(ascii: "z"), count: 3 << 20).write(to: URL(fileURLWithPath: input))
        let r = try pmtrace(["symbolize", pool, "--app", "true"], stdinFile: input)
        #expect(r.status != 0 && r.stderr.contains("is not a hexadecimal address") && r.stderr.contains("(3145728 bytes)"), "\(r.stderr.prefix(300))")
        #expect(r.stderr.utf8.count < 400, "the message quotes ~200 bytes, not the line: \(r.stderr.utf8.count) bytes")
    }

    /// A hand-built record-vm volume (GuestMemoryTests.recording's shape) in a pool file.
    static func guestPool(_ pool: String) throws {
        #expect(try pmtrace(["format", pool, "--size", "16M", "--segment-size", "64K"]).status == 0)
        let p = try TracePool.open(path: pool, writable: true)
        _ = try p.store.createVolume(named: "g", lanes: 3)
        let w = try p.store.openWriter(volume: "g", lane: 1)
        try w.append(bytes: GuestMemoryTests.image(0x1000, fill: 1), kind: .pageImage, timestamp: 1)
        try w.append(bytes: GuestMemoryTests.checkpoint(0, ram: 16 * 4096, flags: .base), kind: .checkpoint, timestamp: 2)
        try w.append(bytes: GuestMemoryTests.checkpoint(1, ram: 16 * 4096, flags: .final), kind: .checkpoint, timestamp: 3)
        w.close()
    }

    @Test func restoreRefusesStandardOutputAndTakesARangeEndingAt2To64() throws {
        let pool = scratchPath("restore.pool"), image = scratchPath("restore.img")
        defer { unlink(pool); unlink(image) }
        try Self.guestPool(pool)
        let dash = try pmtrace(["restore", pool, "g", "--at", "0", "--out", "-"])
        #expect(dash.status == 2 && dash.stderr.contains("cannot go to standard output"), "\(dash.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "-"), "no file named '-'")
        let top = try pmtrace(["restore", pool, "g", "--at", "0", "--out", image, "--range", "0xfffffffffffff000:0x1000"])
        #expect(top.status == 0, "a range ending exactly at 2^64: \(top.stderr)")
        #expect((try? FileManager.default.attributesOfItem(atPath: image)[.size] as? Int) == 4096)
        let past = try pmtrace(["restore", pool, "g", "--at", "0", "--out", image + "2", "--range", "0xfffffffffffff000:0x2000"])
        #expect(past.status == 2 && past.stderr.contains("ends past 2^64"), "\(past.stderr)")
        let whole = try pmtrace(["restore", pool, "g", "--at", "0", "--out", image, "--force", "--range", "0x1000:0x1000"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: image))
        #expect(bytes == Data(repeating: 1, count: 4096))
    }
}
