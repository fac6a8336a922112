import Foundation
import TraceFormat
import TraceVolume

/// Payload of `count` bytes determined by `key`.
func payload(_ key: Int, _ count: Int) -> [UInt8] {
    var rng = key &* 0x9E37_79B9 &+ 1
    return (0..<count).map { _ in rng = rng &* 6_364_136_223_846_793_005 &+ 1; return UInt8(truncatingIfNeeded: rng >> 56) }
}

func smallParameters(segmentSize: UInt64 = 64 << 10) -> FormatParameters {
    FormatParameters(segmentSize: segmentSize, volumeSlots: 16, maxLanesPerVolume: 8)
}

/// Every whole record of a volume, copied out.
func readAll(_ reader: VolumeReader) throws -> [(lane: Int, sequence: UInt64, timestamp: UInt64, bytes: [UInt8])] {
    var out: [(Int, UInt64, UInt64, [UInt8])] = []
    while let r = try reader.next() { out.append((r.lane, r.sequence, r.timestamp, r.bytes)) }
    return out
}

func temporaryPoolPath(_ name: String = #function) -> String {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let clean = name.filter { $0.isLetter || $0.isNumber }
    return "\(dir)/pmtrace-test-\(clean)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pool"
}
