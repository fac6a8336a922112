import CBenchPeers
import Foundation
import PMTraceTesting

/// Experiment `crc`: GB/s of every CRC32C path (checksum only, and the
/// writer's one-pass checksum + non-temporal copy) at 64 B … 1 MiB, each
/// buffer checksummed in a chain (every call continues the previous result,
/// as a record's header and payload do). Source in cache; the copy's
/// destination cycles through 64 MiB so its non-temporal stores reach memory.
func runCRC(_ ctx: Context) throws {
    let sizes = [64, 256, 4096, 65536, 1 << 20]
    let perPoint = ctx.quick ? 16 << 20 : 512 << 20
    let paths = CRC32CPath.available
    print("\n== crc: CRC32C paths \(paths.map(\.name)) (process default: \(CRC32CPath.current.name)), \(humanSize(perPoint)) per point, median of \(ctx.repetitions)")
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: (1 << 20) + 64, alignment: 64)
    defer { source.deallocate() }
    var rng = SplitMix64(seed: 9)
    for i in 0..<(source.count / 8) { source.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
    let sinkSize = 64 << 20
    let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: sinkSize, alignment: 4096)
    defer { sink.deallocate() }
    memset(sink.baseAddress!, 0, sinkSize)

    var rows: [[String]] = []
    var gbps: [String: Double] = [:]
    for size in sizes {
        var row = [String(size)]
        for path in CRC32CPath.allCases {
            // One CSV layout on every CPU: a path this one lacks is 0.
            guard path.isAvailable else { row += ["0", "0"]; continue }
            // The table is ~2 GB/s: give it a smaller share so the run stays short.
            let bytes = path == .table ? perPoint / 16 : perPoint
            let calls = max(1, bytes / size)
            let crc = path.function
            var result: UInt32 = 0
            let t = measure(repetitions: ctx.repetitions) { w in
                w.start()
                for _ in 0..<calls { result = crc(result, source.baseAddress!, size) }
                w.stop()
            }
            let fused = path.copyWithChecksum
            var copied = 0
            let f = measure(repetitions: ctx.repetitions) { w in
                var at = 0
                w.start()
                for _ in 0..<calls {
                    var c = result
                    copied = fused(&c, sink.baseAddress! + at, source.baseAddress!, size)
                    result = c
                    at = (at + size) % sinkSize
                }
                pmt_sfence()
                w.stop()
            }
            let g = Double(calls * size) / t.median / 1e9
            // Over the bytes the path took (SSE4.2 takes whole 3 KiB blocks only, the table none).
            let gf = Double(calls * copied) / f.median / 1e9
            gbps["\(path.name) \(size)"] = g
            gbps["\(path.name) fused \(size)"] = gf
            row += [fmt(g, 1), fmt(gf, 1)]
        }
        rows.append(row)
        print("  \(humanSize(size).padding(toLength: 5, withPad: " ", startingAt: 0)) " + paths.map {
            "\($0.name) \(fmt(gbps["\($0.name) \(size)"]!, 1)) GB/s" + (gbps["\($0.name) fused \(size)"]! > 0 ? " (copy+crc \(fmt(gbps["\($0.name) fused \(size)"]!, 1)))" : "")
        }.joined(separator: ", "))
    }
    let header = ["bytes"] + CRC32CPath.allCases.flatMap { ["\($0.name)_GBps", "\($0.name)_copy_nt_GBps"] }
    try writeCSV(ctx, "crc", header: header, rows: rows)
    print("\ncrc (GB/s; copy_nt = one-pass checksum + non-temporal copy over the bytes the path takes: vpclmul every whole word, sse4.2 whole 3 KiB blocks, table none)")
    printTable(header, rows)
    if paths.contains(.vpclmul), paths.contains(.sse42) {
        print("vpclmul ÷ sse4.2 (checksum): " + sizes.map { "\(humanSize($0)) \(fmt(gbps["vpclmul \($0)"]! / gbps["sse4.2 \($0)"]!))" }.joined(separator: ", "))
    }
}
