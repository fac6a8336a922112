import Foundation
import NVMDiscovery
import Testing

/// Builders and tools the NVM discovery tests share.
enum NVMTestSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Compiles Fixtures/`name`.asl with iasl and returns the table's bytes.
    static func compile(_ name: String) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nvm-iasl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["iasl", "-p", dir.appendingPathComponent(name).path, fixtures.appendingPathComponent("\(name).asl").path]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(p.terminationStatus == 0, "iasl failed (scripts/setup.sh installs acpica-tools): \(message)")
        return Array(try Data(contentsOf: dir.appendingPathComponent("\(name).aml")))
    }

    /// Sets byte 9 so that the table's bytes sum to zero again.
    static func fixChecksum(_ t: inout [UInt8]) {
        guard t.count >= 10 else { return }
        let length = t.count >= 8 ? min(Int(UInt32(t[4]) | UInt32(t[5]) << 8 | UInt32(t[6]) << 16 | UInt32(t[7]) << 24), t.count) : t.count
        t[9] = 0
        var sum: UInt8 = 0
        for b in t[0..<max(length, 10)] { sum &+= b }
        t[9] = 0 &- sum
    }

    static func put<T: FixedWidthInteger>(_ v: T, _ bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    /// The reference Fletcher-64, written from its definition (32-bit words,
    /// little-endian, lo wrapping at 2^32, hi the sum of lo's, result hi << 32 | lo).
    static func referenceFletcher(_ bytes: [UInt8]) -> UInt64 {
        var lo: UInt64 = 0, hi: UInt64 = 0
        for i in stride(from: 0, to: bytes.count - 3, by: 4) {
            let w = UInt64(bytes[i]) | UInt64(bytes[i + 1]) << 8 | UInt64(bytes[i + 2]) << 16 | UInt64(bytes[i + 3]) << 24
            lo = (lo + w) % (1 << 32)
            hi = hi &+ lo
        }
        return (hi % (1 << 32)) << 32 | lo
    }

    /// The first 8 KiB of a namespace holding an info block of `kind`
    /// ("NVDIMM_PFN_INFO" / "NVDIMM_DAX_INFO"), version 1.`minor`, with a valid checksum.
    static func namespace(dax: Bool = false, minor: UInt16 = 4, dataoff: UInt64 = 2 << 20, npfns: UInt64 = 65024,
                          mode: UInt32 = 2, startPad: UInt32 = 0, endTrunc: UInt32 = 0, align: UInt32 = 2 << 20,
                          size: Int = 8192) -> [UInt8] {
        var ns = [UInt8](repeating: 0, count: size)
        let b = 4096
        for (i, c) in Array((dax ? "NVDIMM_DAX_INFO" : "NVDIMM_PFN_INFO").utf8).enumerated() { ns[b + i] = c }
        for i in 0..<16 { ns[b + 16 + i] = UInt8(0xA0 + i); ns[b + 32 + i] = UInt8(0x10 + i) }
        put(UInt16(1), &ns, at: b + 52)
        put(minor, &ns, at: b + 54)
        put(dataoff, &ns, at: b + 56)
        put(npfns, &ns, at: b + 64)
        put(mode, &ns, at: b + 72)
        put(startPad, &ns, at: b + 76)
        put(endTrunc, &ns, at: b + 80)
        put(align, &ns, at: b + 84)
        put(UInt32(4096), &ns, at: b + 88)
        put(UInt16(64), &ns, at: b + 92)
        sealInfoBlock(&ns)
        return ns
    }

    /// Recomputes the info block's checksum (at 4096 + 4088) from its definition.
    static func sealInfoBlock(_ ns: inout [UInt8]) {
        guard ns.count >= 8192 else { return }
        for i in 0..<8 { ns[4096 + 4088 + i] = 0 }
        put(referenceFletcher(Array(ns[4096..<8192])), &ns, at: 4096 + 4088)
    }

    /// A small deterministic generator (SplitMix64) for the fuzz loops.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }
}
