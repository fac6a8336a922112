import CPMTrace
import TraceFormat
import TracePayloads
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

func laneFrom(_ handle: OpaquePointer) -> LaneHandle {
    Unmanaged<LaneHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// What a `pmt_lane *` points to: the lane's writer and its pending access
/// batches — memory accesses (§8.2, or §8.12 in regions formatted 1.3 or later) in a buffer of `PMT_ACCESS_BATCH_BYTES`,
/// guest accesses (§8.9) in one of `PMT_GUEST_BATCH_BYTES` — both allocated
/// once, at open (the append calls never allocate). At most one of the two
/// is pending at a time, so records keep the order of the calls.
final class LaneHandle {
    let writer: LaneWriter
    var batch: MemoryAccessBatch.Encoder
    var guest: GuestAccessBatch.Encoder
    /// Guest accesses appended through this handle (the next batch's firstIndex).
    var guestIndex: UInt64 = 0
    /// `virtual − physical` set by the last translation entry given to
    /// `pmt_append_guest_entries` (0 before the first).
    var entryTranslation: UInt64 = 0

    /// `regionMinor`: the region's format minor version (it picks the batch kind).
    init(_ writer: LaneWriter, regionMinor: UInt16) {
        self.writer = writer
        // Kind 12 in regions formatted 1.3 or later, kind 2 in older ones.
        batch = MemoryAccessBatch.Encoder(buffer: .allocate(byteCount: Int(PMT_ACCESS_BATCH_BYTES), alignment: 8),
                                          kind: MemoryAccessBatch.kind(forRegionMinor: regionMinor))
        guest = GuestAccessBatch.Encoder(buffer: .allocate(byteCount: Int(PMT_GUEST_BATCH_BYTES), alignment: 8))
    }

    deinit {
        batch.buffer.deallocate()
        guest.buffer.deallocate()
    }

    /// Writes the pending batch (of either kind) as one record. On failure
    /// the batch is dropped (its accesses are gone) and the error text says
    /// how many, plus `notAppended` accesses of the current call that never
    /// got in.
    func flush(notAppended: Int = 0) -> Int32 {
        let count: Int
        let payload: UnsafeRawBufferPointer
        let kind: RecordKind
        if batch.count > 0 {
            (count, payload, kind) = (batch.count, batch.payload(), batch.kind)
        } else if guest.count > 0 {
            (count, payload, kind) = (guest.count, guest.payload(), .guestAccessBatch)
        } else {
            return Int32(PMT_OK)
        }
        let result: Int32
        do throws(TraceError) {
            try writer.append(payload, kind: kind)
            result = Int32(PMT_OK)
        } catch {
            var text = "\(error.description); \(count) buffered accesses dropped"
            if notAppended > 0 { text += ", \(notAppended) more of this call not appended" }
            result = fail(status(of: error), text)
        }
        batch.reset()
        guest.reset(fields: guest.fields, firstIndex: guestIndex)
        return result
    }
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
        out.pointee = OpaquePointer(Unmanaged.passRetained(LaneHandle(writer, regionMinor: s.superblock.versionMinor)).toOpaque())
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_lane_close")
public func pmt_lane_close(_ lane: OpaquePointer?) {
    guard let lane else { return }
    let h = Unmanaged<LaneHandle>.fromOpaque(UnsafeRawPointer(lane))
    let handle = h.takeUnretainedValue()
    _ = handle.flush()  // a failure is left in pmt_last_error()
    handle.writer.close()
    h.release()
}

@_cdecl("pmt_append")
public func pmt_append(_ lane: OpaquePointer?, _ kind: UInt16, _ data: UnsafeRawPointer?, _ length: Int, _ timestamp: UInt64) -> Int32 {
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_append: null lane") }
    guard data != nil || length == 0 else { return fail(Int32(PMT_E_INVALID), "pmt_append: null data with a nonzero length") }
    guard length >= 0, length <= Int(UInt32.max) else { return fail(Int32(PMT_E_INVALID), "pmt_append: length out of range") }
    let handle = laneFrom(lane)
    // The pending accesses came first: they go first.
    let flushed = handle.flush()
    guard flushed == Int32(PMT_OK) else { return flushed }
    do throws(TraceError) {
        try handle.writer.append(UnsafeRawBufferPointer(start: data, count: length), kind: RecordKind(rawValue: kind),
                                 timestamp: timestamp == 0 ? nil : timestamp)
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_append_batch")
public func pmt_append_batch(_ lane: OpaquePointer?, _ kind: UInt16, _ records: UnsafeRawPointer?, _ recordLength: Int, _ count: Int,
                             _ timestamp: UInt64, _ appended: UnsafeMutablePointer<Int>?) -> Int32 {
    appended?.pointee = 0
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_append_batch: null lane") }
    guard recordLength >= 1, recordLength <= Int(UInt32.max) else { return fail(Int32(PMT_E_INVALID), "pmt_append_batch: record_length out of range") }
    guard count >= 0 else { return fail(Int32(PMT_E_INVALID), "pmt_append_batch: count out of range") }
    let (bytes, overflow) = recordLength.multipliedReportingOverflow(by: count)
    guard !overflow else { return fail(Int32(PMT_E_INVALID), "pmt_append_batch: record_length × count overflows") }
    guard records != nil || bytes == 0 else { return fail(Int32(PMT_E_INVALID), "pmt_append_batch: null records with a nonzero count") }
    let handle = laneFrom(lane)
    // The pending accesses came first: they go first.
    let flushed = handle.flush()
    guard flushed == Int32(PMT_OK) else { return flushed }
    guard bytes > 0 else { return Int32(PMT_OK) }
    let before = handle.writer.nextSequence
    do throws(TraceError) {
        try handle.writer.append(batch: UnsafeRawBufferPointer(start: records, count: bytes), recordLength: recordLength,
                                 kind: RecordKind(rawValue: kind), timestamp: timestamp == 0 ? nil : timestamp)
        appended?.pointee = count
        return Int32(PMT_OK)
    } catch {
        appended?.pointee = Int(handle.writer.nextSequence &- before)
        return fail(error)
    }
}

@_cdecl("pmt_commit")
public func pmt_commit(_ lane: OpaquePointer?) -> Int32 {
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_commit: null lane") }
    let handle = laneFrom(lane)
    let flushed = handle.flush()
    handle.writer.commit()
    if handle.writer.storesLost {
        return fail(Int32(PMT_E_IO), "pmt_commit: a store to the region was lost (bus error); the lane stays as of its last commit before it")
    }
    return flushed
}

@_cdecl("pmt_append_accesses")
public func pmt_append_accesses(_ lane: OpaquePointer?, _ accesses: UnsafePointer<pmt_access>?, _ n: Int) -> Int32 {
    guard let lane else { return fail(Int32(PMT_E_INVALID), "pmt_append_accesses: null lane") }
    guard n >= 0 else { return fail(Int32(PMT_E_INVALID), "pmt_append_accesses: count out of range") }
    guard n > 0 else { return Int32(PMT_OK) }
    guard let accesses else { return fail(Int32(PMT_E_INVALID), "pmt_append_accesses: null accesses with a nonzero count") }
    // Checked first, so a bad call appends nothing.
    for i in 0..<n where accesses[i].kind > 3 {
        return fail(Int32(PMT_E_INVALID), "pmt_append_accesses: access \(i) has kind \(accesses[i].kind) (0...3)")
    }
    let handle = laneFrom(lane)
    if handle.guest.count > 0 {
        let flushed = handle.flush(notAppended: n)
        guard flushed == Int32(PMT_OK) else { return flushed }
    }
    for i in 0..<n {
        if !handle.batch.hasRoom {
            let flushed = handle.flush(notAppended: n - i)
            guard flushed == Int32(PMT_OK) else { return flushed }
        }
        let a = accesses[i]
        handle.batch.append(MemoryAccess(kind: MemoryAccess.Kind(rawValue: a.kind)!, address: a.address, size: a.size))
    }
    return Int32(PMT_OK)
}

/// What both guest-access entry points check and do first: the lane, the
/// count and the fields bits must be valid, and a nonzero count needs
/// `input`; then the lane's open batch is flushed if it is of another kind
/// or other fields, and a guest batch with `fields` is opened. Returns the
/// lane, or nil with `status` set (PMT_OK when there is nothing to append).
/// O(1) plus a flush.
private func openGuestBatch(_ name: StaticString, _ lane: OpaquePointer?, _ n: Int, _ fields: UInt32, input: UnsafeRawPointer?,
                            status: inout Int32) -> LaneHandle? {
    guard let lane else { status = fail(Int32(PMT_E_INVALID), "\(name): null lane"); return nil }
    guard n >= 0 else { status = fail(Int32(PMT_E_INVALID), "\(name): count out of range"); return nil }
    guard fields <= UInt32(GuestAccessBatch.Fields.known.rawValue), fields & 5 != 5 else {
        status = fail(Int32(PMT_E_INVALID), "\(name): unknown fields bits \(fields)")
        return nil
    }
    guard n > 0 else { status = Int32(PMT_OK); return nil }
    guard input != nil else { status = fail(Int32(PMT_E_INVALID), "\(name): null input with a nonzero count"); return nil }
    let handle = laneFrom(lane)
    let f = GuestAccessBatch.Fields(rawValue: UInt16(fields))
    if handle.batch.count > 0 || (handle.guest.count > 0 && handle.guest.fields != f) {
        status = handle.flush(notAppended: n)
        guard status == Int32(PMT_OK) else { return nil }
    }
    if handle.guest.count == 0 { handle.guest.reset(fields: f, firstIndex: handle.guestIndex) }
    return handle
}

@_cdecl("pmt_append_guest_accesses")
public func pmt_append_guest_accesses(_ lane: OpaquePointer?, _ accesses: UnsafePointer<pmt_guest_access>?, _ n: Int,
                                      _ fields: UInt32) -> Int32 {
    // Every access is checked before anything changes (nothing appended on an error).
    if let accesses, lane != nil {
        for i in 0..<max(n, 0) where accesses[i].kind > 3 {
            return fail(Int32(PMT_E_INVALID), "pmt_append_guest_accesses: access \(i) has kind \(accesses[i].kind) (0...3)")
        }
    }
    var status = Int32(PMT_OK)
    guard let handle = openGuestBatch("pmt_append_guest_accesses", lane, n, fields, input: UnsafeRawPointer(accesses), status: &status),
          let accesses else { return status }
    // The encoder and the index live in locals for the loop (one class
    // access per call, not per access); written back before a flush.
    var encoder = handle.guest
    var index = handle.guestIndex
    for i in 0..<n {
        if !encoder.hasRoom {
            handle.guest = encoder
            handle.guestIndex = index
            let flushed = handle.flush(notAppended: n - i)
            guard flushed == Int32(PMT_OK) else { return flushed }
            encoder = handle.guest
        }
        let a = accesses[i]
        // Safe: every kind was checked to be 0...3 above.
        encoder.append(GuestAccess(kind: MemoryAccess.Kind(rawValue: a.kind & 3)!, size: a.size, physical: a.physical,
                                   virtual: a.virtual_address, pc: a.pc))
        index &+= 1
    }
    handle.guest = encoder
    handle.guestIndex = index
    return Int32(PMT_OK)
}

@_cdecl("pmt_append_guest_entries")
public func pmt_append_guest_entries(_ lane: OpaquePointer?, _ entries: UnsafePointer<pmt_guest_entry>?, _ n: Int,
                                     _ fields: UInt32) -> Int32 {
    var status = Int32(PMT_OK)
    guard let handle = openGuestBatch("pmt_append_guest_entries", lane, n, fields, input: UnsafeRawPointer(entries), status: &status),
          let entries else { return status }
    // Every entry's fields are valid by construction (2-bit kind, 3-bit
    // size shift): nothing to check per entry. Room is checked per run of
    // entries, not per access (GuestAccessBatch.Encoder.append(packed:…)).
    var encoder = handle.guest
    var index = handle.guestIndex
    var translation = handle.entryTranslation
    let raw = UnsafeRawPointer(entries)
    var i = 0
    while i < n {
        let (taken, accesses) = encoder.append(packed: raw + i &* 16, count: n &- i, translation: &translation)
        i &+= taken
        index &+= UInt64(accesses)
        if taken == 0 || (i < n && !encoder.hasRoom) {
            handle.guest = encoder
            handle.guestIndex = index
            handle.entryTranslation = translation
            let flushed = handle.flush(notAppended: n &- i)
            guard flushed == Int32(PMT_OK) else { return flushed }
            encoder = handle.guest
        }
    }
    handle.guest = encoder
    handle.guestIndex = index
    handle.entryTranslation = translation
    return Int32(PMT_OK)
}
