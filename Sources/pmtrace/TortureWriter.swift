import ArgumentParser
import Foundation
import PMTrace
import PMTraceTesting
import TraceVolume

/// `pmtrace _torture-writer <pool> <volume>`: appends torture records to the
/// volume's lane 0 forever, committing every few records and printing the
/// sequence number of the last committed record after each commit.
/// For the kill -9 torture test; hidden from --help.
struct TortureWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_torture-writer", shouldDisplay: false)

    @Argument var pool: String
    @Argument var volume: String

    func run() throws {
        let p = try openPool(pool, writable: true)
        let w = try p.store.openWriter(volume: volume)
        var sinceCommit: UInt64 = 0
        while true {
            let seq = w.nextSequence
            try w.append(bytes: tortureRecord(seq), timestamp: seq)
            sinceCommit += 1
            if sinceCommit >= 1 + seq % 7 {
                w.commit()
                sinceCommit = 0
                try? Data("\(seq)\n".utf8).withUnsafeBytes { try OutputStream.writeAll(1, $0) }
            }
        }
    }
}
