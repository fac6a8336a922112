import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceVolume

/// kill -9 torture: a child process appends and commits, reporting each
/// acknowledged commit over a pipe; it is killed at a random moment, the
/// region reopened and checked, and a new child continues. Every acknowledged
/// record must be there, the lane must be an exact prefix of what was
/// appended, and fsck must find nothing to repair.
@Suite(.serialized) struct TortureTests {
    static let kills = Int(ProcessInfo.processInfo.environment["PMTRACE_TORTURE_KILLS"] ?? "") ?? 40

    @Test func killMinusNineTorture() throws {
        let pool = scratchPath("torture")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "256M", "--segment-size", "64K"]).status == 0)
        #expect(try pmtrace(["create", pool, "t"]).status == 0)
        var rng = SystemRandomNumberGenerator()
        var acknowledged = -1
        var survived = 0
        var verified = 0  // records already compared byte for byte in earlier rounds
        for round in 0..<Self.kills {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: pmtraceBinary)
            child.arguments = ["_torture-writer", pool, "t"]
            let out = Pipe()
            child.standardOutput = out
            child.standardError = FileHandle.nullDevice
            try child.run()
            // Kill after a random number of acknowledged commits (0 = as soon as it runs).
            let wanted = Int.random(in: 0...40, using: &rng)
            var buffer = Data()
            var acks = 0
            while acks < wanted {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    if let seq = Int(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)) { acknowledged = max(acknowledged, seq) }
                    buffer.removeSubrange(buffer.startIndex...nl)
                    acks += 1
                }
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            // Anything printed before the kill is acknowledged too.
            buffer.append(out.fileHandleForReading.readToEndRetrying())
            for line in buffer.split(separator: 0x0A) {
                if let seq = Int(String(decoding: line, as: UTF8.self)) { acknowledged = max(acknowledged, seq) }
            }
            // Reopen (read-only, in this process) and check.
            let p = try TracePool.open(path: pool, writable: false)
            let reader = try p.store.openLaneReader(volume: "t", lane: 0)
            var count = 0, wrong = 0
            var last: Int64 = -1
            while let r = try reader.next() {
                // Strictly increasing (a record abandoned by a kill leaves a gap in the numbers).
                if Int64(r.sequence) <= last { wrong += 1 }
                last = Int64(r.sequence)
                if count >= verified {
                    var bytes: [UInt8] = []
                    r.forEachFragment { bytes.append(contentsOf: $0) }
                    if bytes != tortureRecord(r.sequence) { wrong += 1 }
                }
                count += 1
            }
            verified = count
            #expect(wrong == 0, "round \(round): \(wrong) records out of order or with wrong bytes")
            #expect(last >= Int64(acknowledged), "round \(round): last record read \(last), record \(acknowledged) was acknowledged")
            let report = try p.store.check()
            #expect(report.findings.allSatisfy { $0.severity == .info }, "round \(round): \(report.findings)")
            survived += 1
        }
        print("torture: \(survived) kills survived, \(acknowledged + 1) records acknowledged")
    }
}
