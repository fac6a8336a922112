import ArgumentParser
import Foundation
import PMTrace
import PMTraceTesting
import TraceVolume

/// `pmtrace _torture-writer <pool> <volume> [--lanes N]`: appends torture
/// records to the volume's lanes 0..<N (1) forever, one thread per lane,
/// committing every few records and printing after each commit the sequence
/// number of the last committed record ("<seq>" with one lane, "<lane> <seq>"
/// with more; one write per line). A lane whose append the store refuses (a
/// full region) stops; when all have stopped the command exits 1 naming why.
/// For the kill -9 torture tests; hidden from --help.
struct TortureWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_torture-writer", shouldDisplay: false)

    @Argument var pool: String
    @Argument var volume: String
    @Option var lanes = 1

    func run() throws {
        let p = try openPool(pool, writable: true)
        let writers = try (0..<lanes).map { try p.store.openWriter(volume: volume, lane: $0) }
        let failures = Failures()
        let group = DispatchGroup()
        for (lane, w) in writers.enumerated() {
            group.enter()
            let labelled = lanes > 1
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    var sinceCommit: UInt64 = 0
                    while true {
                        let seq = w.nextSequence
                        try w.append(bytes: tortureRecord(seq), timestamp: seq)
                        sinceCommit += 1
                        if sinceCommit >= 1 + seq % 7 {
                            w.commit()
                            sinceCommit = 0
                            let line = labelled ? "\(lane) \(seq)\n" : "\(seq)\n"
                            try? Data(line.utf8).withUnsafeBytes { try OutputStream.writeAll(1, $0) }
                        }
                    }
                } catch {
                    failures.add("lane \(lane): \(error)")
                }
            }
        }
        group.wait()
        throw CLIError(failures.text)
    }

    /// Why the lanes stopped, from their threads.
    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var text: String { lock.withLock { lines.joined(separator: "; ") } }
    }
}
