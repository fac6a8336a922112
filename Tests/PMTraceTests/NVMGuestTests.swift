#if arch(x86_64) && os(Linux)
import Foundation
import Testing

/// The real thing: a Linux guest with an emulated NVDIMM (scripts/nvm-guest.sh)
/// dumps the NFIT and SRAT it sees and configures an fsdax or devdax
/// namespace through sysfs; `pmtrace locate` must find the range the kernel
/// uses and, in the NVDIMM's backing file, the data offset the kernel reports.
/// Then a region placed there on the host leaves the kernel's info block intact.
/// Skipped when QEMU is not installed. About 10 s a boot.
@Suite(.serialized) struct NVMGuestTests {
    /// "0x100600000" → 0x100600000.
    static func number(_ s: Substring) -> UInt64? {
        s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
    }

    @Test(arguments: ["fsdax", "devdax"]) func locateAgreesWithTheGuestKernel(mode: String) throws {
        guard VMRecordingTests.hasQEMU else { return }
        let out = scratchPath("nvm-\(mode)")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let boot = try VMMArchiveTests.run("/bin/bash", [VMMArchiveTests.root.appendingPathComponent("scripts/nvm-guest.sh").path, mode, out])
        try #require(boot.status == 0, "nvm-guest.sh \(mode): \(boot.err)\n\(boot.out)")
        // What the guest kernel reported: NVM-NAMESPACE <start> <size> <mode>, NVM-DATA <start> <size>.
        var kernel: [String: [Substring]] = [:]
        for line in boot.out.split(separator: "\n") {
            let f = line.split(separator: " ")
            if let key = f.first { kernel[String(key)] = Array(f.dropFirst()) }
        }
        let namespaceStart = try #require(kernel["NVM-NAMESPACE"]?.first.flatMap(Self.number), "\(boot.out)")
        let dataStart = try #require(kernel["NVM-DATA"]?.first.flatMap(Self.number), "\(boot.out)")
        let dataSize = try #require(kernel["NVM-DATA"]?.dropFirst().first.flatMap(Self.number))
        let device = try #require(kernel["NVM-DEV"]?.first)
        #expect(device == (mode == "fsdax" ? "/dev/pmem0" : "/dev/dax0.0"))

        let nv = "\(out)/nv.img"
        let r = try pmtrace(["locate", "--acpi-tables", out, "--namespace", nv, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        JSONConventionTests.checkConvention(o, "locate")
        let ranges = try #require(o["nonVolatileRanges"] as? [[String: Any]])
        // The tables the guest saw: one 256 MiB persistent-memory range, where the kernel put region0.
        #expect(ranges.count == 1)
        #expect(ranges.first?["base"] as? UInt64 == namespaceStart && ranges.first?["length"] as? UInt64 == 256 << 20)
        #expect(ranges.first?["inNFIT"] as? Bool == true && ranges.first?["inSRAT"] as? Bool == true)
        let ns = try #require(o["namespace"] as? [String: Any])
        #expect(ns["kind"] as? String == mode)
        #expect(ns["dataOffset"] as? UInt64 == dataStart - namespaceStart, "kernel: data at 0x\(String(dataStart, radix: 16))")
        #expect(ns["dataLength"] as? UInt64 == dataSize)

        // A region in the data area, placed by the host: the kernel's info block stays valid.
        let offset = dataStart - namespaceStart
        let region = "\(nv)@\(offset)"
        #expect(try pmtrace(["format", region, "--size", "\(dataSize)"]).status == 0)
        let input = scratchPath("nvm-input")
        defer { unlink(input) }
        try randomFile(input, bytes: 100_000)
        #expect(try pmtrace(["write", region, "guest-nvm"], stdinFile: input).status == 0)
        let written = try Data(contentsOf: URL(fileURLWithPath: input))
        #expect(try pmtrace(["read", region, "guest-nvm"]).stdout == written)
        let again = try pmtrace(["locate", "--acpi-tables", out, "--namespace", nv])
        #expect(again.status == 0 && again.out.contains("data at offset \(offset)"), "\(again.out)\(again.stderr)")
        #expect(again.out.contains("a PMTrace region is there (250.0 MiB, 1 volume(s))"), "\(again.out)")
        #expect(ns["pmtraceRegion"] is NSNull)  // before the host formatted it
    }
}
#endif
