import Foundation
import PMTraceTesting
import TraceFormat
import TraceVolume

/// 1 MiB of random bytes; payloads are slices of it so content is checkable.
let noise: [UInt8] = {
    var rng = SystemRandomNumberGenerator()
    return (0..<(1 << 20) + 65536).map { _ in UInt8.random(in: 0...255, using: &rng) }
}()

/// Payload of `count` bytes determined by `key`.
func payload(_ key: Int, _ count: Int) -> ArraySlice<UInt8> {
    let start = (key &* 7919) % 65536
    return noise[start..<(start + count)]
}

func smallParameters(segmentSize: UInt64 = 64 << 10) -> FormatParameters {
    FormatParameters(segmentSize: segmentSize, volumeSlots: 16, maxLanesPerVolume: 8)
}

/// A formatted in-memory pool. `grouping: false` turns record groups off
/// (FORMAT.md §7.1) for tests that look at plain records on media.
func memoryPool(size: UInt64 = 16 << 20, segmentSize: UInt64 = 64 << 10, commitInterval: Int = 1 << 20, grouping: Bool = true) throws -> MemoryPool {
    var options = StoreOptions.testing(commitInterval: commitInterval, clock: testClock)
    if !grouping { options.recordGroupBytes = 0 }
    return try MemoryPool.inMemory(size: size, parameters: smallParameters(segmentSize: segmentSize), options: options)
}

/// A formatted in-memory pool of 256 KiB segments whose writers group small
/// records into groups of `groupBytes` (larger than the 4 KiB staging page,
/// so groups are streamed in pieces), with the fused copy and the group
/// stream or without both; and its options, for mounting snapshots of it.
func groupingPool(fused: Bool, size: UInt64 = 16 << 20, commitInterval: Int = 0, groupBytes: Int = 64 << 10) throws -> (MemoryPool, StoreOptions) {
    var options = StoreOptions.testing(commitInterval: commitInterval, clock: testClock, fused: fused)
    options.recordGroupBytes = groupBytes
    return (try MemoryPool.inMemory(size: size, parameters: smallParameters(segmentSize: 256 << 10), options: options), options)
}

/// Every whole record of a lane or volume, copied out.
func readAll(_ reader: VolumeReader) throws -> [(lane: Int, sequence: UInt64, timestamp: UInt64, kind: RecordKind, bytes: [UInt8])] {
    var out: [(Int, UInt64, UInt64, RecordKind, [UInt8])] = []
    while let r = try reader.next() {
        var bytes: [UInt8] = []
        r.forEachFragment { bytes.append(contentsOf: $0) }
        out.append((r.lane, r.sequence, r.timestamp, r.kind, bytes))
    }
    return out
}

func temporaryPoolPath(_ name: String = #function) -> String {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let clean = name.filter { $0.isLetter || $0.isNumber }
    return "\(dir)/pmtrace-test-\(clean)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pool"
}

/// A monotonic nanosecond clock for tests.
let testClock: @convention(c) () -> UInt64 = {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
