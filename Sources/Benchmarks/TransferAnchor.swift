import Foundation
import PMTraceTesting
import PMTrace
import Synchronization

/// The transfer experiment's anchor: a plain two-process shared-memory copy
/// with the same verification. The producer fills the same 64 KiB blocks as
/// `transferProducer`, checksums each (CRC32C, the process's fastest path),
/// copies it into a shared mapping with memcpy, stores the checksum beside it
/// and publishes the block count (release store). The consumer polls the
/// count (acquire load), checks each block's CRC32C and then every byte, as
/// `transferConsumer` does. No persistence, no headers, no commit protocol:
/// what a hand-written handover would do.
enum TransferAnchor {
    /// Control page (the published count), then one UInt32 checksum per block, then the data.
    static func dataOffset(_ bytes: Int) -> Int {
        let blocks = (bytes + TransferPattern.blockSize - 1) / TransferPattern.blockSize
        return (4096 + 4 * blocks + 4095) & ~4095
    }

    static func fileSize(_ bytes: Int) -> Int { dataOffset(bytes) + bytes }

    static func map(_ path: String, writable: Bool) throws -> (UnsafeMutableRawPointer, Int) {
        let fd = open(path, writable ? O_RDWR : O_RDONLY)
        guard fd >= 0 else { throw BenchError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        guard let p = mmap(nil, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw BenchError("\(path): mmap: \(String(cString: strerror(errno)))")
        }
        return (p, size)
    }
}

/// `Benchmarks _anchor-producer <file> <bytes>`.
func anchorProducer(_ args: [String]) throws {
    let (path, bytes) = (args[0], Int(args[1])!)
    let (base, size) = try TransferAnchor.map(path, writable: true)
    defer { munmap(base, size) }
    let published = UnsafeMutablePointer<Atomic<UInt64>>(OpaquePointer(base))
    let crcs = (base + 4096).assumingMemoryBound(to: UInt32.self)
    let data = base + TransferAnchor.dataOffset(bytes)
    let crc = CRC32CPath.current.function
    var block = [UInt8](repeating: 0, count: TransferPattern.blockSize)
    let start = monotonicNanoseconds()
    var sent = 0, i = 0
    while sent < bytes {
        let n = min(TransferPattern.blockSize, bytes - sent)
        let s = TransferPattern.blockStart(i)
        TransferPattern.buffer.withUnsafeBytes { src in
            block.withUnsafeMutableBytes { dst in
                dst.baseAddress!.copyMemory(from: src.baseAddress! + s, byteCount: n)
                if n >= 8 { dst.storeBytes(of: UInt64(i), toByteOffset: 0, as: UInt64.self) }
                crcs[i] = crc(0, dst.baseAddress!, n)
                memcpy(data + sent, dst.baseAddress!, n)
            }
        }
        sent += n
        i += 1
        published.pointee.store(UInt64(i), ordering: .releasing)
    }
    let end = monotonicNanoseconds()
    print("\(start) \(end)")
}

/// `Benchmarks _anchor-consumer <file> <bytes>`.
func anchorConsumer(_ args: [String]) throws {
    let (path, bytes) = (args[0], Int(args[1])!)
    let (base, size) = try TransferAnchor.map(path, writable: false)
    defer { munmap(base, size) }
    let published = UnsafeMutablePointer<Atomic<UInt64>>(OpaquePointer(base))
    let crcs = UnsafeRawPointer(base + 4096).assumingMemoryBound(to: UInt32.self)
    let data = UnsafeRawPointer(base + TransferAnchor.dataOffset(bytes))
    let crc = CRC32CPath.current.function
    FileHandle.standardOutput.write(Data("ready\n".utf8))
    var got = 0, i = 0
    while got < bytes {
        guard UInt64(i) < published.pointee.load(ordering: .acquiring) else {
            sched_yield()
            continue
        }
        let n = min(TransferPattern.blockSize, bytes - got)
        let block = data + got
        guard crc(0, block, n) == crcs[i] else { throw BenchError("anchor: block \(i) fails its CRC32C") }
        let s = TransferPattern.blockStart(i)
        let ok = TransferPattern.buffer.withUnsafeBytes { src -> Bool in
            if n >= 8 && block.loadUnaligned(as: UInt64.self) != UInt64(i) { return false }
            let from = n >= 8 ? 8 : 0
            return memcmp(block + from, src.baseAddress! + s + from, n - from) == 0
        }
        guard ok else { throw BenchError("anchor: block \(i) differs from what the producer wrote") }
        got += n
        i += 1
    }
    print("\(monotonicNanoseconds())")
}

/// Runs the anchor for `size` bytes (warm-up + `ctx.repetitions`); returns the timing.
func runTransferAnchor(_ ctx: Context, size: Int, exe: String) throws -> Timing {
    let path = ctx.poolPath("anchor")
    defer { unlink(path) }
    var samples: [Double] = []
    for rep in 0..<(ctx.repetitions + 1) {
        try prefilledFile(path, size: TransferAnchor.fileSize(size))
        let (start, finish) = try runPair(exe: exe, producer: ["_anchor-producer", path, String(size)],
                                          consumer: ["_anchor-consumer", path, String(size)], what: "anchor transfer of \(size) bytes")
        if rep > 0 { samples.append(Double(finish - start) / 1e9) }
    }
    return Timing(samples: samples)
}

/// Starts the consumer, waits for its "ready", runs the producer; returns the
/// producer's start time and the consumer's finish time (monotonic ns).
func runPair(exe: String, producer pArgs: [String], consumer cArgs: [String], what: String) throws -> (UInt64, UInt64) {
    let consumer = Process(), cOut = Pipe()
    consumer.executableURL = URL(fileURLWithPath: exe)
    consumer.arguments = cArgs
    consumer.standardOutput = cOut
    try consumer.run()
    let ready = try readLine(cOut.fileHandleForReading)
    guard ready == "ready" else { throw BenchError("\(what): consumer did not start: \(ready)") }
    let producer = Process(), pOut = Pipe()
    producer.executableURL = URL(fileURLWithPath: exe)
    producer.arguments = pArgs
    producer.standardOutput = pOut
    try producer.run()
    let pLine = String(decoding: pOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let cLine = String(decoding: cOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    producer.waitUntilExit()
    consumer.waitUntilExit()
    guard producer.terminationStatus == 0, consumer.terminationStatus == 0,
          let start = UInt64(pLine.split(separator: " ").first ?? ""),
          let finish = UInt64(cLine.trimmingCharacters(in: .whitespacesAndNewlines))
    else { throw BenchError("\(what) failed (producer \(producer.terminationStatus), consumer \(consumer.terminationStatus))") }
    return (start, finish)
}
