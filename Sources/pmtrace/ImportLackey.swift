import ArgumentParser
import Foundation
import PMTrace
import PMTraceTesting
import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

struct ImportLackey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-lackey",
        abstract: "Import `valgrind --tool=lackey --trace-mem=yes` output as memory-access batches.",
        discussion: """
            Reads the file (or standard input for '-' or no file), keeps the I/L/S/M lines and valgrind's \
            ==pid== lines are ignored; anything else is counted and reported. Creates the volume if needed. \
            Example: valgrind --tool=lackey --trace-mem=yes --log-file=trace.txt ls; pmtrace import-lackey P ls trace.txt
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name: 1 to 200 bytes of UTF-8, no control characters, not starting with '.'.", transform: VolumeName.new)
    var volume: VolumeName
    @Argument(help: "Lackey output file, or '-' for standard input.") var file: String = "-"
    @Option(parsing: .unconditional, help: "Accesses per batch record.") var batch: Int = 4096

    func run() throws {
        let name = volume.value
        guard batch >= 1, batch <= 1 << 20 else { throw CLIError("--batch must be 1...1048576") }
        let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw CLIError("\(file): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        var totalSize: UInt64?
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { totalSize = UInt64(st.st_size) }
        if fd != 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }

        let p = try openPool(pool, writable: true)
        // The volume is created (if new) at the first batch, and deleted
        // again if the import fails: a failed import into a new volume leaves
        // nothing behind.
        var writer: LaneWriter?
        var created = false
        func openWriter() throws -> LaneWriter {
            if let writer { return writer }
            do {
                try p.store.createVolume(named: name)
                created = true
            } catch TraceError.duplicateName {
                // An existing volume is appended to; a failure keeps it (with what was committed).
            }
            let w = try p.store.openWriter(volume: name)
            writer = w
            return w
        }
        func discard() {
            writer?.close()
            if created { try? p.store.deleteVolume(name) }
        }
        var parser = LackeyParser()
        var pending = [MemoryAccess]()
        pending.reserveCapacity(batch)
        var encoded = [UInt8]()
        var accesses: UInt64 = 0
        var appendError: Error?
        func flushBatch() {
            guard !pending.isEmpty, appendError == nil else { return }
            let kind = MemoryAccessBatch.kind(forRegionMinor: p.store.superblock.versionMinor)
            pending.withUnsafeBufferPointer { MemoryAccessBatch.encode($0, kind: kind, into: &encoded) }
            do { try openWriter().append(bytes: encoded, kind: kind) } catch { appendError = error }
            accesses += UInt64(pending.count)
            pending.removeAll(keepingCapacity: true)
        }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var progress = Progress("importing '\(volume)'")
        var consumed: UInt64 = 0
        while appendError == nil {
            let n = Foundation.read(fd, chunk.baseAddress!, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                let message = "\(file): \(String(cString: strerror(errno)))"
                discard()
                throw CLIError(message)
            }
            if n == 0 { break }
            parser.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) { a in
                pending.append(a)
                if pending.count == batch { flushBatch() }
            }
            consumed += UInt64(n)
            progress.update(bytes: consumed, total: totalSize)
        }
        parser.finish { pending.append($0) }
        flushBatch()
        progress.done()
        if parser.skippedLines > 0, let first = parser.firstSkipped {
            standardErrorWrite(Data("pmtrace: skipped \(parser.skippedLines) line(s) that are not lackey records (first: line \(first.line): \"\(TerminalText.escape(first.text))\")\n".utf8))
        }
        if let appendError {
            discard()
            throw CLIError("\(appendError)" + (created ? " (the new volume '\(volume)' was removed)" : " (\(accesses) accesses were imported and committed before it)"),
                           status: ExitStatus.refused)
        }
        guard accesses > 0, let writer else {
            discard()
            throw CLIError("\(file): no lackey memory-access lines found (was valgrind run with --tool=lackey --trace-mem=yes?)", status: ExitStatus.refused)
        }
        writer.close()
        // A store the region lost (bus error, file cut short) left the last commit unpublished: no success line.
        try checkNothingLost(p)
        print("imported \(accesses) memory accesses in \(writer.appendedRecords) batch record(s) into '\(volume)'")
    }
}
