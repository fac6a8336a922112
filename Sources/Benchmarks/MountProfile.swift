import Foundation
import PMTrace
import PMemBackend
import TraceVolume

/// Where the time of a mount with many segments in use goes, each part timed
/// on its own fresh mapping (empty page tables, file pages already in
/// memory): the mount from the segment summary (FORMAT.md §6.1); the mount
/// over every segment header (what regions formatted before 1.3 get); only
/// touching one byte of every used segment's header (the page faults); only
/// reading those headers with `pread` (no faults); only
/// `madvise(MADV_POPULATE_READ)` of every header page; and the header walk on
/// a mapping whose header pages are already mapped (walk logic and header
/// CRCs, no faults). Segments 0 ..< `used` are the ones in use.
func mountProfile(_ ctx: Context, path: String, used: Int) throws -> [(String, Double)] {
    let reps = max(5, ctx.repetitions)
    let probe = try TracePool.open(path: path, writable: false)
    let sb = probe.store.superblock
    let offsets = (0..<UInt64(used)).map { sb.segmentOffset($0) }
    func fresh() throws -> PMemMapping { try PMemMapping.open(path: path, writable: false) }
    func touch(_ m: PMemMapping) -> UInt64 {
        var sum: UInt64 = 0
        for o in offsets { sum &+= UInt64(m.base.load(fromByteOffset: Int(o), as: UInt8.self)) }
        return sum
    }
    var sink: UInt64 = 0
    var headerWalk = TracePool.options()
    headerWalk.usesSegmentSummary = false
    let whole = try measure(warmup: 1, repetitions: reps) { w in
        let m = try fresh()
        w.start()
        let s = try TraceStore(region: PersistentRegion(m.regionDescriptor()), writable: false, options: TracePool.options())
        w.stop()
        sink &+= UInt64(s.volumes().count)
    }
    let walk = try measure(warmup: 1, repetitions: reps) { w in
        let m = try fresh()
        w.start()
        let s = try TraceStore(region: PersistentRegion(m.regionDescriptor()), writable: false, options: headerWalk)
        w.stop()
        sink &+= UInt64(s.volumes().count)
    }
    let faults = try measure(warmup: 1, repetitions: reps) { w in
        let m = try fresh()
        w.start()
        sink &+= touch(m)
        w.stop()
    }
    let warm = try measure(warmup: 1, repetitions: reps) { w in
        let m = try fresh()
        sink &+= touch(m)
        w.start()
        let s = try TraceStore(region: PersistentRegion(m.regionDescriptor()), writable: false, options: headerWalk)
        w.stop()
        sink &+= UInt64(s.volumes().count)
    }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw BenchError("\(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var header = [UInt8](repeating: 0, count: 64)
    let pread64 = measure(warmup: 1, repetitions: reps) { w in
        w.start()
        for o in offsets where pread(fd, &header, 64, off_t(o)) != 64 { sink &+= 1 }
        w.stop()
        sink &+= UInt64(header[0])
    }
    let populate = try measure(warmup: 1, repetitions: reps) { w in
        let m = try fresh()
        w.start()
        for o in offsets { sink &+= UInt64(bitPattern: Int64(madvise(m.base + Int(o), 4096, 22 /* MADV_POPULATE_READ */))) }
        w.stop()
    }
    if sink == 42 { print("") }  // keeps the loads
    return [("mount from the segment summary (1.3)", whole.median),
            ("mount over every segment header (regions before 1.3)", walk.median),
            ("  of which: touch every header page (page faults only)", faults.median),
            ("  of which: header walk with header pages already mapped (walk + CRC)", warm.median),
            ("  instead of faults: pread 64 bytes of every header", pread64.median),
            ("  instead of faults: madvise(POPULATE_READ) every header page", populate.median)]
}
