import PMTrace
import PMTraceABI
import CPMTrace
import TraceVolume

// The hosted part of include/pmtrace.h: pmt_open maps a pool file through
// libpmem2 (TracePool) and hands its store to the shared entry points of
// PMTraceABI, so hosted and bare-metal writers use one set of functions.

@_cdecl("pmt_open")
public func pmt_open(_ path: UnsafePointer<CChar>?, _ writable: Int32, _ commitInterval: UInt64,
                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let path, let out else { return fail(Int32(PMT_E_INVALID), "pmt_open: null argument") }
    let options = TracePool.options(commitInterval: Int(min(commitInterval, UInt64(Int.max))))
    return handOut(out) { () throws(PoolError) in
        try TracePool.open(path: String(cString: path), writable: writable != 0, options: options)
    }
}

@_cdecl("pmt_open_truncated")
public func pmt_open_truncated(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                               _ fileBytes: UnsafeMutablePointer<UInt64>?, _ regionBytes: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let path, let out, let fileBytes, let regionBytes else { return fail(Int32(PMT_E_INVALID), "pmt_open_truncated: null argument") }
    return handOut(out) { () throws(PoolError) in
        let pool = try TracePool.open(path: String(cString: path), writable: false, options: TracePool.options(), readingTruncated: true)
        let region = pool.store.superblock.regionSize
        fileBytes.pointee = pool.truncation?.fileBytes ?? region
        regionBytes.pointee = region
        return pool
    }
}

/// Opens a pool with `open` and hands its store to `out` (the store owns the
/// mapping; the pool object itself is not needed), or maps the failure to a
/// PMT_E_* code with its message.
private func handOut(_ out: UnsafeMutablePointer<OpaquePointer?>, _ open: () throws(PoolError) -> TracePool) -> Int32 {
    do throws(PoolError) {
        let pool = try open()
        out.pointee = OpaquePointer(Unmanaged.passRetained(pool.store).toOpaque())
        return 0
    } catch {
        if case .store(let e) = error { return fail(e) }
        if case .mapping(.inUse) = error { return fail(Int32(PMT_E_BUSY), error.description) }
        return fail(Int32(PMT_E_IO), error.description)
    }
}

@_cdecl("pmt_close")
public func pmt_close(_ store: OpaquePointer?) {
    pmt_detach(store)
}
