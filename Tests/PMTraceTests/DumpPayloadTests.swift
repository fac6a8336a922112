import Foundation
import PMTrace
import Testing
import TraceFormat
import TraceVolume

/// `dump`'s record lines give the counts a payload's header states only when
/// they fit the payload (adversary s22: a CRC-valid PML batch claiming 1,000
/// entries and an access batch claiming 2^32 − 1 accesses were printed as
/// such, exit 0, while `stats` called them damaged).
@Suite struct DumpPayloadTests {
    @Test func impossibleCountsAreNamedAndExitOne() throws {
        let path = scratchPath("dump-payload")
        defer { unlink(path) }
        #expect(try pmtrace(["format", path, "--size", "16M"]).status == 0)
        do {
            let pool = try TracePool.open(path: path, writable: true)
            _ = try pool.store.createVolume(named: "v", lanes: 1)
            let w = try pool.store.openWriter(volume: "v")
            var pml = [UInt8](repeating: 0, count: 8 + 8 * 4)
            pml[0] = 4  // 4 entries, 40 bytes: valid
            try w.append(bytes: pml, kind: .pmlBatch)
            pml[0] = 0xE8; pml[1] = 0x03  // 1,000 entries in 40 bytes
            try w.append(bytes: pml, kind: .pmlBatch)
            var accesses = [UInt8](repeating: 0, count: 8 + 6)
            accesses[0] = 3  // 3 accesses of 2 bytes: valid
            try w.append(bytes: accesses, kind: .memoryAccessBatch)
            for k in 0..<4 { accesses[k] = 0xFF }  // 2^32 − 1 accesses in 14 bytes
            try w.append(bytes: accesses, kind: .memoryAccessBatch)
            w.commit()
            w.close()
        }
        let dump = try pmtrace(["dump", path, "v"])
        let lines = dump.out.split(separator: "\n")
        #expect(dump.status == 1 && lines.count == 4, "\(dump.out)\n\(dump.stderr)")
        guard lines.count == 4 else { return }
        #expect(lines[0].hasSuffix("pml-entries=4") && lines[2].hasSuffix("accesses=3"), "\(dump.out)")
        #expect(lines[1].contains("PAYLOAD DAMAGED (claims 1000 entries in 40 bytes") && !lines[1].contains("pml-entries="), "\(lines[1])")
        #expect(lines[3].contains("PAYLOAD DAMAGED (claims 4294967295 accesses in 14 bytes") && !lines[3].contains("accesses="), "\(lines[3])")
        #expect(dump.stderr.contains("2 record(s) hold a payload that is not valid for their kind; the first: lane 0 sequence 1"), "\(dump.stderr)")
        let json = try pmtrace(["dump", path, "v", "--json"])
        #expect(json.status == 1 && json.out.contains("\"payloadProblem\":\"claims 1000 entries") && json.out.contains("\"pmlEntries\":null"), "\(json.out)")
    }
}
