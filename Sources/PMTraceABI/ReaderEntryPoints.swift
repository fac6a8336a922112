import CPMTrace
import TraceFormat
import TracePayloads
import TraceVolume

// The reading half of include/pmtrace.h: volumes, a merged reader, records
// in place, access batches (kinds 2 and 9) decoded into caller columns.
// Embedded-clean (no Foundation), like the writer entry points.

/// What a `pmt_reader *` points to: the merged reader, the record it last
/// handed out (kept alive so its payload pointer stays valid) and a buffer
/// for records split across segments.
final class ReaderHandle {
    let reader: VolumeReader
    var current: RecordView?
    /// A record handed back by the bulk reader because it did not fit.
    var pending: RecordView?
    var joined: [UInt8] = []

    init(_ reader: VolumeReader) { self.reader = reader }

    /// `r`'s payload in one piece: in place, or copied into `joined`.
    func contiguous(_ r: RecordView) -> UnsafeRawBufferPointer {
        if r.isContiguous { return r.payload }
        joined.removeAll(keepingCapacity: true)
        r.forEachFragment { joined.append(contentsOf: $0) }
        return joined.withUnsafeBytes { $0 }  // Safe: `joined` is not touched until the next call on this reader.
    }
}

func readerFrom(_ handle: OpaquePointer) -> ReaderHandle {
    Unmanaged<ReaderHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// Column pointers of a C `pmt_access_columns`, offset by `at` accesses.
func columns(_ c: pmt_access_columns, at: Int) -> AccessColumnPointers {
    AccessColumnPointers(kind: c.kind.map { $0 + at }, size: c.size.map { $0 + at }, address: c.address.map { $0 + at },
                         virtual: c.virtual_address.map { $0 + at }, pc: c.pc.map { $0 + at })
}

/// A record's payload from a C `pmt_record` (nil pointer: empty).
func payload(_ r: pmt_record) -> UnsafeRawBufferPointer? {
    guard r.length <= UInt64(Int.max) else { return nil }
    if r.payload == nil { return r.length == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : nil }
    return UnsafeRawBufferPointer(start: r.payload, count: Int(r.length))
}

/// A damaged payload: the error named with its record's place (the CLI's
/// form), as the last error; returns PMT_E_DAMAGED.
func damaged(_ error: FormatError, _ place: String) -> Int32 {
    fail(Int32(PMT_E_DAMAGED), TraceError.damaged(error).description + " (" + place + ")")
}

/// Decodes one batch into `c` at `at` and fills its lane and timestamp columns (those given);
/// the batch's count and its guest fields bits (0 for kinds 2 and 12).
func decode(kind: RecordKind, _ p: UnsafeRawBufferPointer, lane: UInt32, timestamp: UInt64, into c: pmt_access_columns,
            at: Int, capacity: Int, place: () -> String) -> (status: Int32, count: Int, fields: UInt32) {
    let shape: AccessColumns.BatchShape?
    do throws(FormatError) { shape = try AccessColumns.shape(kind: kind, payload: p) } catch {
        return (damaged(error, place()), 0, 0)
    }
    guard let shape else { return (Int32(PMT_OK), 0, 0) }
    guard shape.count <= capacity - at else { return (Int32(PMT_E_INVALID), shape.count, 0) }
    do throws(FormatError) { _ = try AccessColumns.decode(kind: kind, payload: p, into: columns(c, at: at), at: 0) } catch {
        return (damaged(error, place()), 0, 0)
    }
    c.lane?.advanced(by: at).update(repeating: lane, count: shape.count)
    c.timestamp?.advanced(by: at).update(repeating: timestamp, count: shape.count)
    return (Int32(PMT_OK), shape.count, UInt32(shape.fields.rawValue))
}

@_cdecl("pmt_volume_count")
public func pmt_volume_count(_ store: OpaquePointer?, _ count: UnsafeMutablePointer<UInt32>?) -> Int32 {
    guard let store, let count else { return fail(Int32(PMT_E_INVALID), "pmt_volume_count: null argument") }
    let s = storeFrom(store)
    count.pointee = UInt32(truncatingIfNeeded: s.volumes().count)
    // A pool file cut inside the volume table (pmt_open_truncated): the volumes
    // whose slots lay past the cut are unknown, not absent.
    for case .damaged(let e) in s.warnings {
        if case .truncated(.volumeEntry, _, _) = e { return fail(.damaged(e)) }
    }
    return Int32(PMT_OK)
}

@_cdecl("pmt_volume_name")
public func pmt_volume_name(_ store: OpaquePointer?, _ index: UInt32, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                            _ length: UnsafeMutablePointer<Int>?, _ lanes: UnsafeMutablePointer<UInt32>?) -> Int32 {
    guard let store, let length else { return fail(Int32(PMT_E_INVALID), "pmt_volume_name: null argument") }
    let all = storeFrom(store).volumes()
    guard Int(index) < all.count else { return fail(Int32(PMT_E_NOT_FOUND), "pmt_volume_name: index \(index) of \(all.count) volumes") }
    let v = all[Int(index)]
    length.pointee = v.nameBytes.count
    lanes?.pointee = UInt32(truncatingIfNeeded: v.laneCount)
    guard let buffer, capacity > v.nameBytes.count else {
        return fail(Int32(PMT_E_INVALID), "pmt_volume_name: the name needs \(v.nameBytes.count + 1) bytes")
    }
    for (i, b) in v.nameBytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[v.nameBytes.count] = 0
    return Int32(PMT_OK)
}

@_cdecl("pmt_reader_open")
public func pmt_reader_open(_ store: OpaquePointer?, _ volume: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let store, let volume, let out else { return fail(Int32(PMT_E_INVALID), "pmt_reader_open: null argument") }
    do throws(TraceError) {
        let reader = try storeFrom(store).openReader(volumeBytes: cBytes(volume))
        out.pointee = OpaquePointer(Unmanaged.passRetained(ReaderHandle(reader)).toOpaque())
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_reader_seek")
public func pmt_reader_seek(_ reader: OpaquePointer?, _ timestamp: UInt64) -> Int32 {
    guard let reader else { return fail(Int32(PMT_E_INVALID), "pmt_reader_seek: null reader") }
    let h = readerFrom(reader)
    h.pending = nil
    do throws(TraceError) {
        try h.reader.seek(timestamp: timestamp)
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_reader_next")
public func pmt_reader_next(_ reader: OpaquePointer?, _ out: UnsafeMutablePointer<pmt_record>?) -> Int32 {
    guard let reader, let out else { return fail(Int32(PMT_E_INVALID), "pmt_reader_next: null argument") }
    let h = readerFrom(reader)
    do throws(TraceError) {
        let next: RecordView?
        if let p = h.pending { next = p; h.pending = nil } else { next = try h.reader.next() }
        guard let r = next else { h.current = nil; return Int32(PMT_END) }
        h.current = r
        let p = h.contiguous(r)
        out.pointee = pmt_record(kind: r.kind.rawValue, reserved: 0, lane: UInt32(truncatingIfNeeded: r.lane), sequence: r.sequence,
                                 timestamp: r.timestamp, payload: p.baseAddress, length: UInt64(p.count))
        return Int32(PMT_OK)
    } catch {
        return fail(error)
    }
}

@_cdecl("pmt_access_count")
public func pmt_access_count(_ record: UnsafePointer<pmt_record>?, _ count: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let record, let count, let p = payload(record.pointee) else { return fail(Int32(PMT_E_INVALID), "pmt_access_count: null argument, or a payload length above 2^63 - 1 (or nonzero with a null payload)") }
    do throws(FormatError) {
        count.pointee = UInt64(try AccessColumns.shape(kind: RecordKind(rawValue: record.pointee.kind), payload: p)?.count ?? 0)
        return Int32(PMT_OK)
    } catch {
        return damaged(error, "record at lane \(record.pointee.lane), sequence \(record.pointee.sequence)")
    }
}

@_cdecl("pmt_decode_accesses")
public func pmt_decode_accesses(_ record: UnsafePointer<pmt_record>?, _ cols: UnsafePointer<pmt_access_columns>?, _ capacity: Int,
                                _ n: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let record, let cols, let n, capacity >= 0, let p = payload(record.pointee) else {
        return fail(Int32(PMT_E_INVALID), "pmt_decode_accesses: null argument, capacity above 2^63 - 1, or a bad payload length")
    }
    let r = record.pointee
    let (status, count, _) = decode(kind: RecordKind(rawValue: r.kind), p, lane: r.lane, timestamp: r.timestamp, into: cols.pointee,
                                 at: 0, capacity: capacity, place: { "record at lane \(r.lane), sequence \(r.sequence)" })
    n.pointee = count
    if status == Int32(PMT_E_INVALID) { return fail(status, "pmt_decode_accesses: capacity \(capacity) below the batch's \(count) accesses") }
    return status
}

@_cdecl("pmt_reader_read_accesses")
public func pmt_reader_read_accesses(_ reader: OpaquePointer?, _ cols: UnsafePointer<pmt_access_columns>?, _ capacity: Int,
                                     _ n: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let reader, let cols, let n, capacity >= 0 else { return fail(Int32(PMT_E_INVALID), "pmt_reader_read_accesses: null argument, or capacity above 2^63 - 1") }
    return readAccesses(readerFrom(reader), cols.pointee, capacity: capacity, runs: nil, runCapacity: 0, n: n, nRuns: nil,
                        function: "pmt_reader_read_accesses")
}

@_cdecl("pmt_reader_read_access_runs")
public func pmt_reader_read_access_runs(_ reader: OpaquePointer?, _ cols: UnsafePointer<pmt_access_columns>?, _ capacity: Int,
                                        _ runs: UnsafeMutablePointer<pmt_access_run>?, _ runCapacity: Int,
                                        _ n: UnsafeMutablePointer<Int>?, _ nRuns: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let reader, let cols, let runs, let n, let nRuns, capacity >= 0, runCapacity >= 0 else {
        return fail(Int32(PMT_E_INVALID), "pmt_reader_read_access_runs: null argument, or a capacity above 2^63 - 1")
    }
    return readAccesses(readerFrom(reader), cols.pointee, capacity: capacity, runs: runs, runCapacity: runCapacity, n: n,
                        nRuns: nRuns, function: "pmt_reader_read_access_runs")
}

/* readAccesses -- (internal) the loop of pmt_reader_read_accesses and
 * pmt_reader_read_access_runs: decodes whole batches into `c` until the next
 * one would not fit in `capacity` accesses (or, with `runs`, in `runCapacity`
 * runs), one run per batch. A batch that does not fit is kept in
 * `h.pending` for the next call. Damage or a malformed batch met after some
 * accesses were decoded ends the call with those (PMT_OK); the next call
 * meets it again and returns the error with nothing decoded (adversary s25:
 * the error came with *n accesses the caller took as lost). */
func readAccesses(_ h: ReaderHandle, _ c: pmt_access_columns, capacity: Int, runs: UnsafeMutablePointer<pmt_access_run>?,
                  runCapacity: Int, n: UnsafeMutablePointer<Int>, nRuns: UnsafeMutablePointer<Int>?, function: String) -> Int32 {
    var filled = 0, batches = 0
    n.pointee = 0
    nRuns?.pointee = 0
    while true {
        let next: RecordView?
        if let p = h.pending { next = p; h.pending = nil } else {
            do throws(TraceError) { next = try h.reader.next() } catch {
                // The accesses decoded so far go out first; the merged reader throws again at the next call.
                if filled > 0 { break }
                return fail(error)
            }
        }
        guard let r = next else { break }
        guard MemoryAccessBatch.isBatch(r.kind) || r.kind == .guestAccessBatch else { continue }
        let lane = UInt32(truncatingIfNeeded: r.lane)
        if runs != nil, batches == runCapacity {
            h.pending = r
            if batches > 0 { break }
            return fail(Int32(PMT_E_INVALID), "\(function): run capacity 0")
        }
        let (status, count, fields) = decode(kind: r.kind, h.contiguous(r), lane: lane, timestamp: r.timestamp, into: c, at: filled,
                                             capacity: capacity, place: {
            "record kind \(r.kind.rawValue) at lane \(r.lane), sequence \(r.sequence), segment \(r.segment) offset \(r.offset)"
        })
        if status == Int32(PMT_E_INVALID) {
            h.pending = r
            if filled > 0 { break }
            n.pointee = count
            return fail(status, "\(function): capacity \(capacity) below a batch of \(count) accesses")
        }
        guard status == Int32(PMT_OK) else {
            // Likewise: this record is decoded again (and refused) at the next call.
            if filled > 0 { h.pending = r; break }
            n.pointee = 0
            return status
        }
        if let runs, count > 0 {
            // Safe: batches < runCapacity (checked above), the caller's array holds runCapacity runs.
            runs[batches] = pmt_access_run(timestamp: r.timestamp, lane: lane, count: UInt32(count), fields: fields, reserved: 0)
            batches += 1
            nRuns?.pointee = batches
        }
        filled += count
        n.pointee = filled
    }
    return filled == 0 ? Int32(PMT_END) : Int32(PMT_OK)
}

@_cdecl("pmt_reader_close")
public func pmt_reader_close(_ reader: OpaquePointer?) {
    guard let reader else { return }
    Unmanaged<ReaderHandle>.fromOpaque(UnsafeRawPointer(reader)).release()
}
