import ArgumentParser
import Foundation
import PMTrace
import TraceFormat
import TraceVolume

struct Write: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append standard input to a volume as blob records.",
        discussion: """
            Creates the volume (one lane) if it does not exist. Input is cut into records of \
            --record-size bytes (the last may be shorter). Commits every --commit-every bytes (8 MiB) \
            and at end of input: if the writer is killed, a later `read` returns a prefix of the input. \
            With --marker the records are markers (text `dump` prints) instead of blobs.
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name: 1 to 200 bytes of UTF-8, no control characters, not starting with '.'.", completion: VolumeCompletion.kind, transform: VolumeName.new) var volume: VolumeName
    @Option(parsing: .unconditional, help: "Bytes per record (e.g. 4K, 64K, 1M).", transform: ByteSize.parse) var recordSize: ByteSize = ByteSize(argument: "64K")!
    @Option(parsing: .unconditional, help: "Commit after this many bytes (a crash loses at most this much of the input).", transform: ByteSize.parse) var commitEvery: ByteSize = ByteSize(argument: "8M")!

    @Flag(help: "Append marker records (short text, shown by `dump`) instead of blob records.") var marker = false

    func run() throws {
        let name = volume.value
        guard recordSize.bytes <= 1 << 30 else { throw CLIError("--record-size must be at most 1G") }
        let p = try openPool(pool, writable: true, commitInterval: Int(min(commitEvery.bytes, 1 << 40)))
        let writer = try { () throws -> LaneWriter in
            try p.store.volumeCreatingIfMissing(named: name)
            return try p.store.openWriter(volume: name)
        }()
        let size = Int(recordSize.bytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        var progress = Progress("writing '\(volume)'")
        let start = monotonicNanoseconds()
        var total: UInt64 = 0
        while true {
            var filled = 0
            while filled < size {
                let n = Foundation.read(0, buffer.baseAddress! + filled, size - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CLIError("reading standard input: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                filled += n
            }
            if filled == 0 { break }
            try writer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), kind: marker ? .marker : .blob)
            total += UInt64(filled)
            progress.update(bytes: total)
            if filled < size { break }
        }
        writer.close()
        progress.done()
        // Not "wrote …": what followed the loss was not committed (the exit names the fault).
        if writer.storesLost { throw TraceError.storesLost(volume: name, lane: writer.lane) }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        standardErrorWrite(Data(String(
            format: "wrote %@ in %llu record(s) to '%@' in %.3f s (%.0f MiB/s)\n",
            formatBytes(total), writer.appendedRecords, TerminalText.escape(name), seconds, seconds > 0 ? Double(total) / seconds / 1_048_576 : 0
        ).utf8))
    }
}
