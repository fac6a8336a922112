import ArgumentParser
import Foundation
import PMTrace
import TraceVolume

/// Record `seq` of the torture workload: its size and bytes depend on `seq` only,
/// so a checker can verify any record. Sizes 0…6999 bytes, some over 4 KiB
/// (split at segment ends).
func tortureRecord(_ seq: UInt64) -> [UInt8] {
    var state = seq &* 0x9E37_79B9_7F4A_7C15 &+ 12345
    let size = Int((state >> 7) % 7000)
    var out = [UInt8](repeating: 0, count: size)
    out.withUnsafeMutableBytes { b in
        for i in 0..<size { state = state &* 6364136223846793005 &+ 1442695040888963407; b[i] = UInt8(truncatingIfNeeded: state >> 56) }
    }
    return out
}

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
        let w = try runChecked { try p.store.openWriter(volume: volume) }
        var sinceCommit: UInt64 = 0
        while true {
            let seq = w.nextSequence
            try runChecked { try w.append(bytes: tortureRecord(seq), timestamp: seq) }
            sinceCommit += 1
            if sinceCommit >= 1 + seq % 7 {
                w.commit()
                sinceCommit = 0
                FileHandle.standardOutput.write(Data("\(seq)\n".utf8))
            }
        }
    }
}
