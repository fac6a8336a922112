// The C entry points of include/pmtrace_nvm.h, for a VMM that finds its
// region before any OS runs. They allocate only through the Swift runtime
// (posix_memalign / free in the bare-metal archive) and never trap on input.

/// `pmt_nvm_ranges`: the non-volatile ranges of the SRAT and NFIT at `srat`
/// and `nfit` (either may be NULL with length 0 to leave that table out),
/// written to `out` (an array of `capacity` `pmt_nvm_range`s, 24 bytes each).
/// Returns how many ranges there are (possibly more than `capacity`: only
/// the first `capacity` are written), or a negative `PMT_NVM_E_*` code.
@_cdecl("pmt_nvm_ranges")
public func pmt_nvm_ranges(
    _ srat: UnsafeRawPointer?, _ sratLength: Int, _ nfit: UnsafeRawPointer?, _ nfitLength: Int,
    _ out: UnsafeMutableRawPointer?, _ capacity: Int
) -> Int64 {
    do throws(NVMError) {
        let s = try srat.map { p throws(NVMError) in try SRAT.parse(UnsafeRawBufferPointer(start: p, count: max(sratLength, 0))) }
        let n = try nfit.map { p throws(NVMError) in try NFIT.parse(UnsafeRawBufferPointer(start: p, count: max(nfitLength, 0))) }
        let ranges = NonVolatileRange.find(srat: s, nfit: n)
        if let out {
            for (i, r) in ranges.enumerated() where i < capacity {
                let e = out + 24 * i
                var flags: UInt32 = 0
                if r.inNFIT { flags |= 1 }
                if r.inSRAT { flags |= 2 }
                if r.hotPluggable { flags |= 4 }
                if r.proximityDomain != nil { flags |= 8 }
                e.storeBytes(of: r.base, toByteOffset: 0, as: UInt64.self)
                e.storeBytes(of: r.length, toByteOffset: 8, as: UInt64.self)
                e.storeBytes(of: flags, toByteOffset: 16, as: UInt32.self)
                e.storeBytes(of: r.proximityDomain ?? 0, toByteOffset: 20, as: UInt32.self)
            }
        }
        return Int64(ranges.count)
    } catch {
        return Int64(error.code)
    }
}

/// `pmt_nvm_data_offset`: where the data of the namespace whose first
/// `length` bytes are at `namespace` starts (its info block's start_pad +
/// dataoff), stored in `*offset`. `namespaceSize` (0: unknown) bounds it.
/// Returns 0, or a negative `PMT_NVM_E_*` code (`PMT_NVM_E_NO_INFO_BLOCK`
/// for a raw namespace, whose data starts at 0).
@_cdecl("pmt_nvm_data_offset")
public func pmt_nvm_data_offset(
    _ namespace: UnsafeRawPointer?, _ length: Int, _ namespaceSize: UInt64, _ offset: UnsafeMutablePointer<UInt64>?
) -> Int32 {
    guard let namespace else { return NVMError.truncated(.namespaceInfoBlock(offset: NamespaceInfoBlock.offset), needed: 8192, available: 0).code }
    do throws(NVMError) {
        let b = try NamespaceInfoBlock.parse(namespace: UnsafeRawBufferPointer(start: namespace, count: max(length, 0)),
                                             namespaceSize: namespaceSize == 0 ? nil : namespaceSize)
        offset?.pointee = b.dataOffset
        return 0
    } catch {
        return error.code
    }
}
