import NVMDiscovery

/// One fuzz input for NVM discovery: the bytes as an SRAT, as an NFIT, as
/// the first bytes of a namespace (and with a valid ACPI checksum forced, so
/// the entry walk is reached), and as the fields of a sealed info block,
/// through the Swift API and the C entry points.
/// Must return (errors are fine); whatever parses must be in bounds.
public func fuzzNVMOne(_ data: UnsafeRawBufferPointer) {
    var bytes = Array(data)
    check(UnsafeRawBufferPointer(start: data.baseAddress, count: data.count))
    if bytes.count >= 10 {
        // Force the ACPI checksum over the declared length (clamped), so that bad bytes reach the walk.
        let declared = Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
        let n = min(max(declared, 10), bytes.count)
        bytes[9] = 0
        var sum: UInt8 = 0
        for b in bytes[0..<n] { sum &+= b }
        bytes[9] = 0 &- sum
        bytes.withUnsafeBytes { check($0) }
    }
    // The input as the fields of an info block (after a real signature), sealed
    // with a valid Fletcher-64, so the field checks are reached without 8 KiB inputs.
    var ns = [UInt8](repeating: 0, count: 8192)
    let signature: StaticString = data.first.map { $0 & 1 == 0 } ?? true ? "NVDIMM_PFN_INFO" : "NVDIMM_DAX_INFO"
    signature.withUTF8Buffer { for (i, c) in $0.enumerated() { ns[4096 + i] = c } }
    for (i, b) in data.prefix(4072).enumerated() { ns[4096 + 16 + i] = b }
    ns.withUnsafeMutableBytes { p in
        for i in 0..<8 { p[4096 + 4088 + i] = 0 }
        let sum = fletcher64(UnsafeRawBufferPointer(rebasing: p[4096..<8192]))
        p.storeBytes(of: sum.littleEndian, toByteOffset: 4096 + 4088, as: UInt64.self)
    }
    ns.withUnsafeBytes { check($0) }
}

private func check(_ b: UnsafeRawBufferPointer) {
    if let s = try? SRAT.parse(b) {
        for e in s.memoryAffinities where e.offset + SRATMemoryAffinity.size > s.header.length || e.base.addingReportingOverflow(e.length).overflow {
            fatalError("SRAT entry out of bounds at \(e.offset)")
        }
    }
    if let n = try? NFIT.parse(b) {
        for r in n.spaRanges where r.offset + NFITSPARange.size > n.header.length || r.base.addingReportingOverflow(r.length).overflow {
            fatalError("NFIT SPA range out of bounds at \(r.offset)")
        }
    }
    let size = UInt64(b.count) << 12
    if let block = try? NamespaceInfoBlock.parse(namespace: b, namespaceSize: size), block.dataOffset > size {
        fatalError("data offset \(block.dataOffset) past the namespace size \(size)")
    }
    var out = [UInt64](repeating: 0, count: 12)
    var offset: UInt64 = 0
    out.withUnsafeMutableBytes { o in
        _ = pmt_nvm_ranges(b.baseAddress, b.count, b.baseAddress, b.count, o.baseAddress, 4)
        _ = pmt_nvm_data_offset(b.baseAddress, b.count, 0, &offset)
    }
}
