import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceVolume

/// kill -9 torture of a writer process appending to six lanes of a volume at
/// once (a thread per lane), in a small region that is not a ring: it is
/// killed at random moments until the region is full; then space is freed by deleting
/// another volume and they go on until it is full again. After every round
/// each lane must hold every record acknowledged on it, as an exact prefix of
/// what was appended; the merged read must hand out exactly the lanes'
/// records; fsck must find nothing; a full region must say so, not damage.
@Suite(.serialized) struct ManyLaneTortureTests {
    static let lanes = 6

    /// Acknowledged "<lane> <sequence>" lines in `pending` + `data` (whole
    /// lines; a partial one waits in `pending` for the rest).
    static func take(_ data: Data, _ pending: inout Data) -> [(lane: Int, sequence: Int)] {
        pending.append(data)
        var seen: [(Int, Int)] = []
        while let nl = pending.firstIndex(of: 0x0A) {
            let f = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self).split(separator: " ").compactMap { Int($0) }
            if f.count == 2 { seen.append((f[0], f[1])) }
            pending.removeSubrange(pending.startIndex...nl)
        }
        return seen
    }

    @Test func killedWritersOnSixLanesOfAFillingRegion() throws {
        let pool = scratchPath("torture-lanes")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "48M", "--segment-size", "64K"]).status == 0)
        #expect(try pmtrace(["create", pool, "t", "--lanes", "\(Self.lanes)"]).status == 0)
        let filler = scratchPath("torture-lanes-filler")
        defer { unlink(filler) }
        try Data(repeating: 0xA5, count: 12 << 20).write(to: URL(fileURLWithPath: filler))
        #expect(try pmtrace(["write", pool, "filler"], stdinFile: filler).status == 0)

        var rng = SystemRandomNumberGenerator()
        var acknowledged = [Int](repeating: -1, count: Self.lanes)
        var verified = [Int](repeating: 0, count: Self.lanes)
        var fills = 0, rounds = 0, killedMidRun = 0
        while fills < 2 && rounds < 300 {
            rounds += 1
            let child = Process()
            child.executableURL = URL(fileURLWithPath: pmtraceBinary)
            child.arguments = ["_torture-writer", pool, "t", "--lanes", "\(Self.lanes)"]
            let out = Pipe(), errPath = scratchPath("torture-lanes.err")
            defer { unlink(errPath) }
            try #require(FileManager.default.createFile(atPath: errPath, contents: nil))
            child.standardOutput = out
            child.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            try child.run()
            // Kill after a random number of acknowledgements (0: as soon as it runs).
            let wanted = Int.random(in: 0...40, using: &rng)
            var pending = Data(), acks = 0
            while acks < wanted {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                for (l, seq) in Self.take(chunk, &pending) { acknowledged[l] = max(acknowledged[l], seq); acks += 1 }
            }
            let wasRunning = child.isRunning
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            // Anything printed before the kill is acknowledged too.
            for (l, seq) in Self.take(out.fileHandleForReading.readToEndRetrying(), &pending) { acknowledged[l] = max(acknowledged[l], seq) }
            let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            let full = child.terminationReason == .exit
            if full {
                #expect(err.contains("region full") && !err.contains("damage"), "round \(rounds): the writer ended by itself: \(err)")
            } else if wasRunning {
                killedMidRun += 1
            }

            // Each lane: an exact prefix of its writes, holding every acknowledged record.
            let p = try TracePool.open(path: pool, writable: false)
            var total = 0
            for l in 0..<Self.lanes {
                let reader = try p.store.openLaneReader(volume: "t", lane: l)
                var count = 0, wrong = 0
                var last: Int64 = -1
                while let r = try reader.next() {
                    if Int64(r.sequence) <= last { wrong += 1 }  // a record abandoned by a kill leaves a gap
                    last = Int64(r.sequence)
                    if count >= verified[l] {
                        var bytes: [UInt8] = []
                        r.forEachFragment { bytes.append(contentsOf: $0) }
                        if bytes != tortureRecord(r.sequence) { wrong += 1 }
                    }
                    count += 1
                }
                verified[l] = count
                total += count
                #expect(wrong == 0, "round \(rounds), lane \(l): \(wrong) records out of order or with wrong bytes")
                #expect(last >= Int64(acknowledged[l]), "round \(rounds), lane \(l): last record read \(last), \(acknowledged[l]) was acknowledged")
            }
            // The merged read hands out exactly the lanes' records.
            let merged = try p.store.openReader(volume: "t")
            var mergedCount = 0
            while try merged.next() != nil { mergedCount += 1 }
            #expect(mergedCount == total, "round \(rounds): merged read \(mergedCount), lanes \(total)")
            let report = try p.store.check()
            #expect(report.findings.allSatisfy { $0.severity == .info }, "round \(rounds): \(report.findings)")

            if full {
                fills += 1
                // Free space for the second fill: the writers go on where they were.
                if fills == 1 { #expect(try pmtrace(["delete", pool, "filler"]).status == 0) }
            }
        }
        #expect(fills == 2, "the region filled \(fills) time(s) in \(rounds) rounds")
        #expect(killedMidRun > 10, "only \(killedMidRun) rounds killed a running writer")
        print("torture on \(Self.lanes) lanes: \(rounds) rounds, \(killedMidRun) with writers killed mid-run, region full \(fills) times, \(acknowledged.map { $0 + 1 }.reduce(0, +)) records acknowledged")
    }
}
