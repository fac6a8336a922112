import ArgumentParser
import Foundation
import PMTrace
import TraceFormat
import TraceVolume

/// Writes to a file descriptor with a 1 MiB buffer for small pieces; large
/// pieces go straight from the mapping to the kernel.
struct OutputStream {
    let fd: Int32
    var buffer = [UInt8]()

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 20)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= 1 << 16 {
            try flush()
            try Self.writeAll(fd, bytes)
        } else {
            if buffer.count + bytes.count > 1 << 20 { try flush() }
            buffer.append(contentsOf: bytes)
        }
    }

    mutating func flush() throws {
        try buffer.withUnsafeBytes { try Self.writeAll(fd, $0) }
        buffer.removeAll(keepingCapacity: true)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EFAULT {
                    // The kernel could not read the mapped pages (the file was
                    // truncated underneath). Touch them here so the fault is
                    // recorded with its offset (and reported), and stop: no
                    // zeros are written in place of validated data.
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
                    var sum: UInt8 = 0
                    for i in stride(from: 0, to: rest.count, by: 4096) { sum &+= rest[i] }
                    withExtendedLifetime(sum) {}
                    throw CLIError("writing output: the region's pages could not be read (\(rest.count) bytes left unwritten)")
                }
                throw CLIError("writing output: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the payloads of a volume's blob records to standard output, byte-exact, in order.",
        discussion: """
            Only committed records are read. With several lanes, records are merged by timestamp. Every \
            byte written out was checked as it was copied out of the region (a concurrent writer reusing \
            a segment cannot slip unchecked bytes into the output). On damage, every intact record before \
            it is written (and every record of the volume's other lanes: damage ends only its lane), \
            then the damage is named and the exit status is 1; --skip-damaged continues \
            past it and reports each skip on standard error. A volume that holds records but no blob \
            (a memory trace, a recorded guest) is refused with exit status 1 and a line naming what it \
            holds and the commands that read it (dump --accesses, export, stats).
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume name (the escaped form `list` prints is accepted).", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Flag(help: "Also return the CRC-valid records found past each lane's last commit (the trace up to a crash); standard error names them per lane (sequences, bytes) and the exit status is then 1.") var salvage = false
    @Flag(help: "Continue past damaged records and chains (rebuilding a lane from its segment headers), reporting each skip.") var skipDamaged = false

    func run() throws {
        let p = try openPool(pool, writable: false)
        let reader = try p.store.openReader(volumeBytes: volume.bytes, options: ReadOptions(salvage: salvage, skipDamaged: skipDamaged))
        reportSkips(reader)
        var out = OutputStream(fd: 1)
        var progress = Progress("reading '\(volume)'")
        var total: UInt64 = 0
        var blobs = 0
        var others: [String: Int] = [:]
        var salvaged = SalvagedRecords()
        defer { salvaged.report() }
        do {
            while let r = try reader.next() {
                guard r.kind == .blob else { others[r.kind.name, default: 0] += 1; continue }
                blobs += 1
                var failure: Error?
                try r.copyVerified { bytes in
                    guard failure == nil else { return }
                    do { try out.write(bytes) } catch { failure = error }
                }
                if let failure { throw failure }
                if r.salvaged { salvaged.add(lane: r.lane, sequence: r.sequence, bytes: r.length) }
                total += UInt64(r.length)
                progress.update(bytes: total)
            }
        } catch {
            // Everything intact before the damage goes out first.
            try out.flush()
            progress.done()
            // A record that changed under the copy: the volume may have been deleted meanwhile.
            if let e = error as? TraceError { throw reader.explained(e) }
            throw error
        }
        try out.flush()
        progress.done()
        if blobs == 0 && !others.isEmpty {
            let held = others.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            throw CLIError("'\(volume)' holds no blob records to read (it holds \(held)); "
                           + "see `pmtrace dump --accesses`, `pmtrace export` or `pmtrace stats`", status: ExitStatus.refused)
        }
        if !reader.skipped.isEmpty || !salvaged.lanes.isEmpty { throw ExitCode(ExitStatus.refused) }
    }
}

/// The records `read --salvage` handed out from past a lane's commit point,
/// per lane, for one warning line each: the output bytes carry no mark, so
/// standard error says which records they were (and the exit status is 1).
struct SalvagedRecords {
    var lanes: [Int: (first: UInt64, last: UInt64, count: Int, bytes: Int)] = [:]

    mutating func add(lane: Int, sequence: UInt64, bytes: Int) {
        let old = lanes[lane] ?? (first: sequence, last: sequence, count: 0, bytes: 0)
        lanes[lane] = (min(old.first, sequence), max(old.last, sequence), old.count + 1, old.bytes + bytes)
    }

    func report() {
        for (lane, s) in lanes.sorted(by: { $0.key < $1.key }) {
            let which = s.count == 1 ? "record sequence \(s.first)" : "\(s.count) records, sequences \(s.first) … \(s.last)"
            standardErrorWrite(Data("pmtrace: warning: lane \(lane): \(which) (\(s.bytes) bytes) came from past the lane's last commit (salvaged, never committed)\n".utf8))
        }
    }
}

/// Prints each damage notice of `reader` on standard error as it happens
/// (and those raised while it was opened).
func reportSkips(_ reader: VolumeReader) {
    for n in reader.skipped { warnDamage(n) }
    reader.onDamage = { warnDamage($0) }
}

func warnDamage(_ notice: ReadNotice) {
    standardErrorWrite(Data("pmtrace: warning: \(TerminalText.escape(notice.description))\n".utf8))
}
