import NVMDiscovery
import Testing

/// Truncated, corrupted and random tables and info blocks give errors, never
/// traps (a trap would end the test process). Checksums are re-sealed after
/// each mutation so that the structure walk itself is exercised, not only
/// the checksum.
@Suite struct HostileInputTests {
    @Test func everyTruncationOfTheTables() throws {
        for name in ["srat-pmem", "nfit-pmem"] {
            let t = try NVMTestSupport.compile(name)
            for n in 0..<t.count {
                let cut = Array(t[0..<n])
                #expect(throws: NVMError.self, "\(name) cut to \(n)") {
                    try cut.withUnsafeBytes { b in
                        if name.hasPrefix("srat") { _ = try SRAT.parse(b) } else { _ = try NFIT.parse(b) }
                    }
                }
            }
        }
    }

    @Test func everyTruncationOfTheInfoBlock() {
        let ns = NVMTestSupport.namespace()
        for n in stride(from: 0, to: 8192, by: 7) {
            let cut = Array(ns[0..<n])
            #expect(throws: NVMError.self) { try cut.withUnsafeBytes { try NamespaceInfoBlock.parse(namespace: $0) } }
        }
    }

    /// Random byte, word and length mutations with the ACPI checksum fixed:
    /// parsing either succeeds with in-bounds results or throws.
    @Test func fuzzedTablesNeverTrap() throws {
        var rng = NVMTestSupport.Rng(state: 0x5EED)
        let seeds = [try NVMTestSupport.compile("srat-pmem"), try NVMTestSupport.compile("nfit-pmem")]
        var parsed = 0, rejected = 0
        for round in 0..<4000 {
            var t = seeds[round % 2]
            for _ in 0..<(1 + rng.below(4)) {
                switch rng.below(4) {
                case 0: t[rng.below(t.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: t[36 + rng.below(t.count - 36)] = UInt8(rng.below(3) == 0 ? 0 : 0xFF)
                case 2: t.removeLast(rng.below(min(64, t.count)))
                default: NVMTestSupport.put(UInt32(truncatingIfNeeded: rng.next() % 1024), &t, at: 4)  // header length
                }
            }
            if rng.below(8) != 0 { NVMTestSupport.fixChecksum(&t) }
            t.withUnsafeBytes { b in
                do throws(NVMError) {
                    if round % 2 == 0 {
                        let s = try SRAT.parse(b)
                        for e in s.memoryAffinities { #expect(e.offset + 40 <= s.header.length) }
                    } else {
                        let n = try NFIT.parse(b)
                        for r in n.spaRanges { #expect(r.offset + 56 <= n.header.length && !r.base.addingReportingOverflow(r.length).overflow) }
                    }
                    parsed += 1
                } catch {
                    #expect(!error.description.isEmpty)
                    rejected += 1
                }
                // The C entry point takes the same bytes as either table.
                var out = [UInt64](repeating: 0, count: 12)
                _ = out.withUnsafeMutableBytes { o in pmt_nvm_ranges(b.baseAddress, b.count, b.baseAddress, b.count, o.baseAddress, 4) }
            }
        }
        #expect(parsed > 100 && rejected > 100, "parsed \(parsed), rejected \(rejected)")
    }

    @Test func fuzzedInfoBlocksNeverTrap() {
        var rng = NVMTestSupport.Rng(state: 0xB10C)
        var parsed = 0, rejected = 0
        for round in 0..<3000 {
            var ns = NVMTestSupport.namespace(dax: round % 2 == 1)
            for _ in 0..<(1 + rng.below(3)) {
                // Mostly the 96 bytes of fields, sometimes anywhere in the block.
                let at = 4096 + (rng.below(4) == 0 ? rng.below(4096) : 16 + rng.below(80))
                ns[at] = rng.below(2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : (rng.below(2) == 0 ? 0 : 0xFF)
            }
            if rng.below(10) != 0 { NVMTestSupport.sealInfoBlock(&ns) }
            let size: UInt64? = rng.below(2) == 0 ? nil : UInt64(rng.below(1 << 30))
            ns.withUnsafeBytes { b in
                do {
                    let block = try NamespaceInfoBlock.parse(namespace: b, namespaceSize: size)
                    #expect(block.dataOffset >= 8192)
                    if let size { #expect(block.dataOffset <= size) }
                    parsed += 1
                } catch {
                    rejected += 1
                }
            }
        }
        #expect(parsed > 100 && rejected > 100, "parsed \(parsed), rejected \(rejected)")
    }
}
