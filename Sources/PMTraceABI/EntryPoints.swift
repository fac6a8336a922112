import CPMTrace
import TraceFormat
import TraceVolume

// The entry points of include/pmtrace.h over TraceVolume, shared by the
// hosted libPMTraceC.so and the bare-metal archive. Handles are retained
// Swift objects passed as opaque pointers: a store handle is a `TraceStore`,
// a lane handle a `LaneWriter` (which retains its store).

/// Bytes of a NUL-terminated C string (no libc needed).
func cBytes(_ s: UnsafePointer<CChar>) -> [UInt8] {
    var out: [UInt8] = []
    var p = s
    while p.pointee != 0 {
        out.append(UInt8(bitPattern: p.pointee))
        p += 1
    }
    return out
}

func storeFrom(_ handle: OpaquePointer) -> TraceStore {
    Unmanaged<TraceStore>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

func laneFrom(_ handle: OpaquePointer) -> LaneWriter {
    Unmanaged<LaneWriter>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// `StoreOptions` from the C struct (NULL fields keep the defaults).
func storeOptions(_ o: UnsafePointer<pmt_options>?) -> StoreOptions {
    var options = StoreOptions()
    guard let o = o?.pointee else { return options }
    options.commitInterval = Int(truncatingIfNeeded: min(o.commit_interval, UInt64(Int.max)))
    if let clock = o.clock { options.clock = clock }
    if let crc = o.crc32c { options.crc32c = crc }
    if let fused = o.copy_with_checksum { options.copyWithChecksum = fused }
    return options
}

/// Mounts `region` as a store handle (the hosted pmt_open ends here too).
public func attach(_ region: RegionDescriptor, writable: Bool, options: StoreOptions,
                   _ out: UnsafeMutablePointer<OpaquePointer?>) -> Int32 {
    do throws(TraceError) {
        let store = try TraceStore(region: try PersistentRegion(region), writable: writable, options: options)
        out.pointee = OpaquePointer(Unmanaged.passRetained(store).toOpaque())
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_format")
public func pmt_format(_ region: UnsafePointer<RegionDescriptor>?, _ segmentSize: UInt64, _ volumeSlots: UInt32, _ maxLanes: UInt32) -> Int32 {
    guard let region else { return fail(Int32(PMT_E_INVALID), "pmt_format: null region") }
    var d = region.pointee
    d.release = nil  // formatting does not take the region
    var p = FormatParameters()
    if segmentSize != 0 { p.segmentSize = segmentSize }
    if volumeSlots != 0 { p.volumeSlots = volumeSlots }
    if maxLanes != 0 { p.maxLanesPerVolume = maxLanes }
    do throws(TraceError) {
        try TraceStore.format(region: try PersistentRegion(d), parameters: p)
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_attach")
public func pmt_attach(_ region: UnsafePointer<RegionDescriptor>?, _ writable: Int32, _ options: UnsafePointer<pmt_options>?,
                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let region, let out else { return fail(Int32(PMT_E_INVALID), "pmt_attach: null argument") }
    return attach(region.pointee, writable: writable != 0, options: storeOptions(options), out)
}

@_cdecl("pmt_detach")
public func pmt_detach(_ store: OpaquePointer?) {
    guard let store else { return }
    Unmanaged<TraceStore>.fromOpaque(UnsafeRawPointer(store)).release()
}

@_cdecl("pmt_volume_create")
public func pmt_volume_create(_ store: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ lanes: UInt32, _ ring: Int32) -> Int32 {
    guard let store, let name else { return fail(Int32(PMT_E_INVALID), "pmt_volume_create: null argument") }
    let s = storeFrom(store)
    let bytes = cBytes(name)
    do throws(TraceError) {
        try s.createVolume(nameBytes: bytes, lanes: Int(lanes), ring: ring != 0)
        return Int32(PMT_OK)
    } catch {
        if case .duplicateName = error { return Int32(PMT_EXISTED) }
        return fail(error)
    }
}

@_cdecl("pmt_lane_open")
public func pmt_lane_open(_ store: OpaquePointer?, _ volume: UnsafePointer<CChar>?, _ lane: UInt32,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let store, let volume, let out else { return fail(Int32(PMT_E_INVALID), "pmt_lane_open: null argument") }
    let s = storeFrom(store)
    do throws(TraceError) {
        let name = String(decoding: cBytes(volume), as: UTF8.self)
        let writer = try s.openWriter(volume: name, lane: Int(lane))
        out.pointee = OpaquePointer(Unmanaged.passRetained(writer).toOpaque())
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_lane_close")
public func pmt_lane_close(_ lane: OpaquePointer?) {
    guard let lane else { return }
    let h = Unmanaged<LaneWriter>.fromOpaque(UnsafeRawPointer(lane))
    h.takeUnretainedValue().close()
    h.release()
}

@_cdecl("pmt_append")
public func pmt_append(_ lane: OpaquePointer?, _ kind: UInt16, _ data: UnsafeRawPointer?, _ length: Int, _ timestamp: UInt64) -> Int32 {
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_append: null lane") }
    guard data != nil || length == 0 else { return fail(Int32(PMT_E_INVALID), "pmt_append: null data with a nonzero length") }
    guard length >= 0, length <= Int(UInt32.max) else { return fail(Int32(PMT_E_INVALID), "pmt_append: length out of range") }
    do throws(TraceError) {
        try laneFrom(lane).append(UnsafeRawBufferPointer(start: data, count: length), kind: RecordKind(rawValue: kind),
                                  timestamp: timestamp == 0 ? nil : timestamp)
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_commit")
public func pmt_commit(_ lane: OpaquePointer?) -> Int32 {
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_commit: null lane") }
    laneFrom(lane).commit()
    return Int32(PMT_OK)
}
