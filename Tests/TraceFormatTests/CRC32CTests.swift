import CCRC32C
import Testing
import TraceFormat

/// Every CRC32C path the process can run (`pmt_crc32c_with`), the portable
/// Swift table and the dispatcher, against the same vectors.
@Suite struct CRC32CTests {
    /// The C paths this CPU can run: always the table; SSE4.2 and VPCLMULQDQ where present.
    static let paths: [Int32] = [Int32(PMT_CRC32C_TABLE), Int32(PMT_CRC32C_SSE42), Int32(PMT_CRC32C_VPCLMUL)]
        .filter { pmt_crc32c_path_available($0) != 0 }

    static func name(_ path: Int32) -> String { String(cString: pmt_crc32c_path_name(path)) }

    /// Deterministic bytes (SplitMix64), so a failure reproduces.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    @Test func theCPUPathsAreDetected() {
        #expect(Self.paths.first == Int32(PMT_CRC32C_TABLE))
        #expect(Self.paths.contains(pmt_crc32c_path()))
        #expect(pmt_crc32c_path_available(-1) == 0 && pmt_crc32c_path_available(3) == 0)
    }

    @Test func standardVector() {
        let bytes = Array("123456789".utf8)
        bytes.withUnsafeBytes { b in
            #expect(CRC32C.checksum(b) == 0xE306_9283)
            #expect(pmt_crc32c(0, b.baseAddress, b.count) == 0xE306_9283)
            for path in Self.paths { #expect(pmt_crc32c_with(path, 0, b.baseAddress, b.count) == 0xE306_9283, "\(Self.name(path))") }
        }
    }

    /// RFC 3720 (iSCSI) B.4 vectors: 32 zeros, 32 0xFF, 0…31 ascending, 31…0
    /// descending; also repeated to lengths where the folding paths engage.
    @Test func iscsiVectors() {
        let vectors: [([UInt8], UInt32)] = [
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ]
        for (bytes, expected) in vectors {
            bytes.withUnsafeBytes { b in
                #expect(CRC32C.checksum(b) == expected)
                for path in Self.paths { #expect(pmt_crc32c_with(path, 0, b.baseAddress, b.count) == expected, "\(Self.name(path))") }
            }
            for repeats in [4, 8, 33, 1000] {
                let long = Array([[UInt8]](repeating: bytes, count: repeats).joined())
                long.withUnsafeBytes { b in
                    let reference = CRC32C.checksum(b)
                    for path in Self.paths { #expect(pmt_crc32c_with(path, 0, b.baseAddress, b.count) == reference, "\(Self.name(path)) ×\(repeats)") }
                }
            }
        }
    }

    /// Lengths around every block size of every path (16, 64, 128, 256 bytes
    /// for folding; 3 × 256 and 3 × 4096 for the three streams), from every
    /// start offset within a cache line.
    @Test func everyPathMatchesAtEveryBoundaryAndAlignment() {
        let data = Self.bytes(40_000, seed: 1)
        data.withUnsafeBytes { all in
            for start in 0..<65 {
                for count in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 191, 192, 255, 256, 257, 320, 511, 512, 767, 768, 769,
                              1023, 1024, 1025, 1088, 4096, 12287, 12288, 12289, 12288 + 768, 24576 + 100, 39_000] {
                    let b = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                    let reference = CRC32C.update(0x5A5A_5A5A, b)
                    for path in Self.paths {
                        #expect(pmt_crc32c_with(path, 0x5A5A_5A5A, b.baseAddress, b.count) == reference,
                                "\(Self.name(path)) start \(start) count \(count)")
                    }
                }
            }
        }
    }

    /// Random lengths 0 … 1 MiB at random starts, each path against the others
    /// (the Swift table is the reference for the shorter ones; it is slow).
    @Test func randomLengthsUpToOneMebibyte() {
        let data = Self.bytes((1 << 20) + 64, seed: 2)
        var rng = SplitMix(seed: 3)
        data.withUnsafeBytes { all in
            for i in 0..<300 {
                let count = i < 200 ? Int(rng.next() % 70_000) : Int(rng.next() % UInt64((1 << 20) + 1))
                let start = Int(rng.next() % 64)
                let b = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                let seed = UInt32(truncatingIfNeeded: rng.next())
                let reference = i < 200 ? CRC32C.update(seed, b) : pmt_crc32c_with(Int32(PMT_CRC32C_TABLE), seed, b.baseAddress, b.count)
                for path in Self.paths {
                    #expect(pmt_crc32c_with(path, seed, b.baseAddress, b.count) == reference, "\(Self.name(path)) start \(start) count \(count)")
                }
            }
        }
    }

    /// A CRC continued over consecutive pieces equals one pass, whichever path
    /// computes each piece (a writer and a reader may run different paths).
    @Test func chainedPiecesEqualOnePassAcrossPaths() {
        let data = Self.bytes(300_000, seed: 4)
        var rng = SplitMix(seed: 5)
        data.withUnsafeBytes { b in
            let whole = CRC32C.checksum(b)
            for _ in 0..<40 {
                var crc: UInt32 = 0
                var at = 0
                while at < b.count {
                    let n = min(b.count - at, Int(rng.next() % 20_000))
                    let path = Self.paths[Int(rng.next() % UInt64(Self.paths.count))]
                    crc = pmt_crc32c_with(path, crc, b.baseAddress! + at, n)
                    at += n
                }
                #expect(crc == whole)
            }
        }
        let small = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        small.withUnsafeBytes { b in
            let whole = CRC32C.checksum(b)
            for split in [0, 1, 13, 500, 999, 1000] {
                let first = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: b[0..<split]))
                #expect(CRC32C.update(first, UnsafeRawBufferPointer(rebasing: b[split...])) == whole)
                #expect(CRC32C.software(first, b.baseAddress! + split, 1000 - split) == whole)
                for path in Self.paths { #expect(pmt_crc32c_with(path, first, b.baseAddress! + split, 1000 - split) == whole) }
            }
        }
    }

    /// `combine` joins the CRC of a prefix (from any start value) with the CRC
    /// of the rest taken from 0: what a writer streaming a record group before
    /// its header is known relies on. Every split of a short buffer, random
    /// splits of a long one, and lengths with many bits set.
    @Test func combineEqualsOnePass() {
        let small = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        small.withUnsafeBytes { b in
            for seed: UInt32 in [0, 0xDEAD_BEEF] {
                let whole = CRC32C.update(seed, b)
                for split in 0...b.count {
                    let first = CRC32C.update(seed, UnsafeRawBufferPointer(rebasing: b[0..<split]))
                    let rest = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[split...]))
                    #expect(CRC32C.combine(first, rest, length2: b.count - split) == whole)
                }
            }
        }
        let data = Self.bytes(200_000, seed: 9)
        var rng = SplitMix(seed: 10)
        data.withUnsafeBytes { b in
            let whole = CRC32C.checksum(b)
            for split in (0..<40).map({ _ in Int(rng.next() % 200_001) }) + [0, 200_000 - 65_535, 200_000 - 131_071] {
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<split]))
                let rest = pmt_crc32c(0, b.baseAddress! + split, b.count - split)
                #expect(CRC32C.combine(first, rest, length2: b.count - split) == whole)
            }
        }
    }

    /// The one-pass checksum + non-temporal copy of each path equals a
    /// checksum and a memcpy of the prefix it reports, writes nothing past it,
    /// and does as much as its contract says (VPCLMULQDQ: every whole word;
    /// SSE4.2: whole 3 KiB blocks; table: nothing).
    @Test func fusedCopyOfEveryPathMatchesSeparatePasses() {
        let source = Self.bytes(200_000, seed: 6)
        var rng = SplitMix(seed: 7)
        var counts = [0, 1, 7, 8, 32, 63, 64, 65, 100, 255, 256, 257, 1000, 3071, 3072, 3073, 4096, 6144, 10_000, 65_536, 199_000]
        for _ in 0..<40 { counts.append(Int(rng.next() % 199_000)) }
        for path in Self.paths {
            for (i, count) in counts.enumerated() {
                let from = i % 64, to = 8 * (i % 8)  // any source start; destinations are 8-byte aligned
                var destination = [UInt64](repeating: 0, count: 200_000 / 8 + 16)
                var crc: UInt32 = 0x1234_5678
                let done = source.withUnsafeBytes { s in
                    destination.withUnsafeMutableBytes { d in pmt_crc32c_copy_nt_with(path, &crc, d.baseAddress! + to, s.baseAddress! + from, count) }
                }
                switch Int(path) {
                case PMT_CRC32C_VPCLMUL: #expect(done == count & ~7, "count \(count)")
                case PMT_CRC32C_SSE42: #expect(done % 3072 == 0 && done <= count && count - done < 3072, "count \(count)")
                default: #expect(done == 0)
                }
                let expected = source.withUnsafeBytes { CRC32C.update(0x1234_5678, UnsafeRawBufferPointer(rebasing: $0[from..<(from + done)])) }
                #expect(crc == expected, "\(Self.name(path)) count \(count)")
                destination.withUnsafeBytes { d in
                    #expect(Array(d[to..<(to + done)]) == Array(source[from..<(from + done)]), "\(Self.name(path)) count \(count)")
                    #expect(d[..<to].allSatisfy { $0 == 0 } && d[(to + done)...].allSatisfy { $0 == 0 }, "wrote outside the prefix")
                }
            }
            // A misaligned destination is refused, not half-done.
            var crc: UInt32 = 0
            var d = [UInt64](repeating: 0, count: 1024)
            let done = source.withUnsafeBytes { s in d.withUnsafeMutableBytes { pmt_crc32c_copy_nt_with(path, &crc, $0.baseAddress! + 3, s.baseAddress, 4096) } }
            #expect(done == 0 && crc == 0)
        }
    }
}

/// SplitMix64 for reproducible test inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
