import Foundation
import PMTrace
import Testing

/// Adversary s23 (A8): `read --salvage` handed out a salvaged whole record
/// (past the lane's commit point, never committed) with no mark: the output
/// bytes cannot carry one, and standard error was silent with exit 0. Now
/// standard error names the salvaged records per lane and the exit status is 1.
@Suite struct SalvageCLITests {
    @Test func salvagedRecordsAreNamedOnStandardError() throws {
        let pool = scratchPath("salvage"), crashed = scratchPath("salvage-crashed")
        defer { unlink(pool); unlink(crashed) }
        let p = try TracePool.format(path: pool, size: 16 << 20, force: true, options: TracePool.options(commitInterval: 0))
        try p.store.createVolume(named: "v")
        let w = try p.store.openWriter(volume: "v")
        // 5000-byte records go straight into the segment (small ones wait in a group until it is written).
        let record = { (i: Int) in [UInt8](repeating: UInt8(i), count: 5000) }
        for i in 0..<3 { try w.append(bytes: record(i), timestamp: UInt64(i + 1)) }
        w.commit()
        for i in 3..<5 { try w.append(bytes: record(i), timestamp: UInt64(i + 1)) }
        // The file as a crash now would leave it: two records past the commit point.
        try FileManager.default.copyItem(atPath: pool, toPath: crashed)
        w.close()
        let committed = try pmtrace(["read", crashed, "v"])
        #expect(committed.status == 0 && committed.stdout.count == 3 * 5000 && committed.stderr.isEmpty, "\(committed.stderr)")
        let salvaged = try pmtrace(["read", crashed, "v", "--salvage"])
        let everything = salvaged.stdout == Data((0..<5).flatMap(record))
        #expect(everything)
        #expect(salvaged.status == 1, "\(salvaged.status)")
        #expect(salvaged.stderr.contains("lane 0: 2 records, sequences 3 … 4 (10000 bytes)") && salvaged.stderr.contains("never committed"),
                "\(salvaged.stderr)")
    }
}
