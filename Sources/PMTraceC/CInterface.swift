import PMTrace
import TraceFormat
import TraceVolume
#if canImport(Glibc)
import Glibc
#endif

// The C interface declared in include/pmtrace.h. Handles are retained Swift
// objects passed as opaque pointers; errors are negative return values with
// the text in a thread-local buffer.

/// Thread-local last error text (a malloc'd C string owned by the thread's slot).
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private func fail(_ message: String) -> Int32 {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
    return -1
}

@_cdecl("pmt_last_error")
public func pmt_last_error() -> UnsafePointer<CChar>? {
    UnsafePointer(pthread_getspecific(errorKey)?.assumingMemoryBound(to: CChar.self))
}

/// A lane handle: the writer and the pool it needs alive.
final class LaneHandle {
    let pool: TracePool
    let writer: LaneWriter
    init(pool: TracePool, writer: LaneWriter) {
        self.pool = pool
        self.writer = writer
    }
}

@_cdecl("pmt_open")
public func pmt_open(_ path: UnsafePointer<CChar>?, _ writable: Int32, _ commitInterval: UInt64,
                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let path, let out else { return fail("pmt_open: null argument") }
    let options = StoreOptions(commitInterval: Int(min(commitInterval, UInt64(Int.max))), clock: realtimeNanoseconds)
    do {
        let pool = try TracePool.open(path: String(cString: path), writable: writable != 0, options: options)
        out.pointee = OpaquePointer(Unmanaged.passRetained(pool).toOpaque())
        return 0
    } catch { return fail("\(error)") }
}

@_cdecl("pmt_close")
public func pmt_close(_ pool: OpaquePointer?) {
    guard let pool else { return }
    Unmanaged<TracePool>.fromOpaque(UnsafeRawPointer(pool)).release()
}

@_cdecl("pmt_volume_create")
public func pmt_volume_create(_ pool: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ lanes: UInt32, _ ring: Int32) -> Int32 {
    guard let pool, let name else { return fail("pmt_volume_create: null argument") }
    let p = Unmanaged<TracePool>.fromOpaque(UnsafeRawPointer(pool)).takeUnretainedValue()
    let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name)))
    if (try? p.store.volume(named: String(decoding: bytes, as: UTF8.self))) != nil { return 1 }
    do {
        try p.store.createVolume(nameBytes: bytes, lanes: Int(lanes), ring: ring != 0)
        return 0
    } catch { return fail("\(error)") }
}

@_cdecl("pmt_lane_open")
public func pmt_lane_open(_ pool: OpaquePointer?, _ volume: UnsafePointer<CChar>?, _ lane: UInt32,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let pool, let volume, let out else { return fail("pmt_lane_open: null argument") }
    let p = Unmanaged<TracePool>.fromOpaque(UnsafeRawPointer(pool)).takeUnretainedValue()
    do {
        let w = try p.store.openWriter(volume: String(cString: volume), lane: Int(lane))
        out.pointee = OpaquePointer(Unmanaged.passRetained(LaneHandle(pool: p, writer: w)).toOpaque())
        return 0
    } catch { return fail("\(error)") }
}

@_cdecl("pmt_lane_close")
public func pmt_lane_close(_ lane: OpaquePointer?) {
    guard let lane else { return }
    let h = Unmanaged<LaneHandle>.fromOpaque(UnsafeRawPointer(lane))
    h.takeUnretainedValue().writer.close()
    h.release()
}

@_cdecl("pmt_append")
public func pmt_append(_ lane: OpaquePointer?, _ kind: UInt16, _ data: UnsafeRawPointer?, _ length: Int, _ timestamp: UInt64) -> Int32 {
    guard let lane else { return fail("pmt_append: null lane") }
    guard data != nil || length == 0 else { return fail("pmt_append: null data with length \(length)") }
    let h = Unmanaged<LaneHandle>.fromOpaque(UnsafeRawPointer(lane)).takeUnretainedValue()
    do {
        try h.writer.append(UnsafeRawBufferPointer(start: data, count: length), kind: RecordKind(rawValue: kind),
                            timestamp: timestamp == 0 ? nil : timestamp)
        return 0
    } catch { return fail("\(error)") }
}

@_cdecl("pmt_commit")
public func pmt_commit(_ lane: OpaquePointer?) {
    guard let lane else { return }
    Unmanaged<LaneHandle>.fromOpaque(UnsafeRawPointer(lane)).takeUnretainedValue().writer.commit()
}
