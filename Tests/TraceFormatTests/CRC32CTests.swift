import CCRC32C
import Testing
import TraceFormat

@Suite struct CRC32CTests {
    @Test func standardVector() {
        let bytes = Array("123456789".utf8)
        bytes.withUnsafeBytes { b in
            #expect(CRC32C.checksum(b) == 0xE306_9283)
            #expect(pmt_crc32c(0, b.baseAddress, b.count) == 0xE306_9283)
        }
    }

    /// RFC 3720 (iSCSI) vectors: 32 zero bytes and 32 0xFF bytes.
    @Test func iscsiVectors() {
        [UInt8](repeating: 0, count: 32).withUnsafeBytes { #expect(CRC32C.checksum($0) == 0x8A91_36AA) }
        [UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { #expect(CRC32C.checksum($0) == 0x62A8_AB43) }
    }

    @Test func hardwareMatchesSoftwareAtEverySizeAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                // Around the three-stream block sizes (3 × 256, 3 × 4096) and their multiples.
                for count in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 767, 768, 769, 1000, 1536, 4096,
                              12287, 12288, 12289, 12288 + 768, 24576 + 100, 99_000] {
                    let b = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                    #expect(pmt_crc32c(0, b.baseAddress, b.count) == CRC32C.checksum(b), "start \(start) count \(count)")
                }
            }
        }
    }

    /// The one-pass checksum + non-temporal copy equals a checksum and a memcpy.
    @Test func fusedCopyMatchesSeparatePasses() {
        var rng = SystemRandomNumberGenerator()
        let source = (0..<50_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for count in [0, 3071, 3072, 3073, 6144, 10_000, 49_999] {
            var destination = [UInt64](repeating: 0, count: 50_000 / 8 + 1)
            var crc: UInt32 = 0x1234_5678
            let done = source.withUnsafeBytes { s in
                destination.withUnsafeMutableBytes { d in pmt_crc32c_copy_nt(&crc, d.baseAddress, s.baseAddress, count) }
            }
            #expect(done % 3072 == 0 && done <= count && (pmt_crc32c_is_hardware() == 0 || count - done < 3072))
            let expected = source.withUnsafeBytes { CRC32C.update(0x1234_5678, UnsafeRawBufferPointer(rebasing: $0[0..<done])) }
            #expect(crc == expected, "count \(count)")
            destination.withUnsafeBytes { d in #expect(Array(d.prefix(done)) == Array(source.prefix(done))) }
        }
    }

    @Test func chainingEqualsOnePass() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        data.withUnsafeBytes { b in
            let whole = CRC32C.checksum(b)
            for split in [0, 1, 13, 500, 999, 1000] {
                let first = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: b[0..<split]))
                #expect(CRC32C.update(first, UnsafeRawBufferPointer(rebasing: b[split...])) == whole)
                #expect(CRC32C.software(first, b.baseAddress! + split, 1000 - split) == whole)
            }
        }
    }
}
