import CCRC32C
import Testing
import TraceFormat

/// The group stream (`pmt_group_stream_*`): members appended straight from
/// their buffers land in the destination exactly as the staged encoding
/// (member header, payload, zeros to a multiple of 8), nothing outside the
/// stream is written, and `finish` returns the CRC32C of the whole stream.
@Suite struct GroupStreamTests {
    @Test func streamEqualsTheEncodingAndItsChecksum() {
        guard pmt_group_stream_available() != 0 else { return }  // AVX-512 VPCLMULQDQ only
        let source = CRC32CTests.bytes(70_000, seed: 11)
        var rng = SplitMix(seed: 12)
        let state = UnsafeMutableRawPointer.allocate(byteCount: Int(PMT_GROUP_STREAM_STATE_BYTES), alignment: 64)
        defer { state.deallocate() }
        let capacity = 96 << 10
        let destination = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { destination.deallocate() }
        var trials = 0
        for trial in 0..<300 {
            destination.initializeMemory(as: UInt8.self, repeating: 0xEE, count: capacity)
            let start = 64 + 8 * Int(rng.next() % 16)  // every 8-byte place within a line
            var expected: [UInt8] = []
            pmt_group_stream_begin(state, destination + start)
            // Few members (the first lines' slow path), many, large and small, and staged runs.
            let members = trial % 10 == 0 ? Int(rng.next() % 3) : Int(rng.next() % 120)
            for _ in 0..<members {
                let from = Int(rng.next() % 60_000)
                if rng.next() % 5 == 0 {
                    let count = 8 * Int(rng.next() % 80)
                    source.withUnsafeBytes { pmt_group_stream_bytes(state, $0.baseAddress! + from, count) }
                    expected += source[from..<(from + count)]
                } else {
                    let count = rng.next() % 3 == 0 ? Int(rng.next() % 64) : Int(rng.next() % 1100)
                    guard expected.count + 8 + count + 8 < 80_000 else { break }
                    let word = rng.next()
                    source.withUnsafeBytes { pmt_group_stream_member(state, word, $0.baseAddress! + from, count) }
                    withUnsafeBytes(of: word.littleEndian) { expected += $0 }
                    expected += source[from..<(from + count)]
                    expected += [UInt8](repeating: 0, count: (8 - count % 8) % 8)
                }
            }
            let crc = pmt_group_stream_finish(state)
            let written = UnsafeRawBufferPointer(start: destination, count: capacity)
            #expect(Array(written[start..<(start + expected.count)]) == expected, "trial \(trial): stream bytes")
            #expect(written[..<start].allSatisfy { $0 == 0xEE } && written[(start + expected.count)...].allSatisfy { $0 == 0xEE },
                    "trial \(trial): wrote outside the stream")
            #expect(crc == expected.withUnsafeBytes { CRC32C.update(0, $0) }, "trial \(trial): checksum")
            trials += 1
        }
        #expect(trials == 300)
    }
}
