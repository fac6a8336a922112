import CCRC32C
import Testing
import TraceFormat

/// `RecordGroup.checksumAndCount` (the reader's one pass over a group: the
/// checksum chunk by chunk, each chunk's member headers walked right after it)
/// gives the CRC of the whole payload and `validate`'s member count, and
/// refuses (nil) whatever `validate` refuses, wherever the member lies
/// relative to the chunk boundaries; it never reads outside the payload.
@Suite struct RecordGroupScanTests {
    /// The software CRC and the dispatcher (VPCLMULQDQ on this CPU when present).
    static let functions: [CRC32C.Function] = [CRC32C.software, { pmt_crc32c($0, $1, $2) }]

    /// A well-formed group payload of deterministic members (SplitMix64),
    /// lengths 0 … `maxLength` (all `maxLength` when `uniform`: one run of
    /// equal lengths, checked at a fixed stride); returns the bytes and each
    /// member header's offset.
    static func group(bytes target: Int, maxLength: Int, seed: UInt64, uniform: Bool = false) -> (payload: [UInt8], members: [Int]) {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var payload: [UInt8] = []
        var members: [Int] = []
        while payload.count < target {
            let length = uniform ? maxLength : Int(next() % UInt64(maxLength + 1))
            let kind = [RecordKind.blob, .marker, RecordKind(rawValue: 0x8001)][Int(next() % 3)]
            members.append(payload.count)
            var header = [UInt8](repeating: 0, count: RecordGroup.memberHeaderSize)
            header.withUnsafeMutableBytes { RecordGroup.encodeMember(into: $0.baseAddress!, payloadLength: length, kind: kind, timestampDelta: UInt32(truncatingIfNeeded: next())) }
            payload += header
            payload += (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
            payload += [UInt8](repeating: 0, count: RecordGroup.memberFootprint(payloadLength: length) - RecordGroup.memberHeaderSize - length)
        }
        return (payload, members)
    }

    static let header = RecordHeader(payloadLength: 0, kind: .recordGroup, flags: [], sequence: 100, timestamp: 1_000)

    /// The scan's answer next to the separate passes' answer.
    static func check(_ payload: [UInt8], group: RecordHeader = header, state: UInt32 = 0x1234_5678, _ comment: Comment) {
        payload.withUnsafeBytes { b in
            let expectedCRC = CRC32C.update(state, b)
            let expectedCount: Int? = switch RecordGroup.validate(b, group: group) { case .success(let n): n; case .failure: nil }
            for crc in functions {
                let scan = RecordGroup.checksumAndCount(b, group: group, state: state, crc: crc)
                #expect(scan.crc == expectedCRC, comment)
                // The fast scan may refuse what the exact walk accepts (near the 64-bit limits), never the other way.
                if let n = scan.count { #expect(n == expectedCount, comment) } else if group.sequence < UInt64.max / 2 { #expect(expectedCount == nil, comment) }
            }
        }
    }

    /// Groups of one chunk and of many, members small and large, so member
    /// headers fall on, before and across every chunk boundary.
    @Test(arguments: [(64, 16), (4_000, 24), (4_096, 64), (20_000, 300), (65_000, 1_024), (65_536, 7)])
    func wellFormedGroupsScanLikeValidate(size: Int, maxLength: Int) {
        for seed in UInt64(1)...4 {
            let (payload, members) = Self.group(bytes: size, maxLength: maxLength, seed: seed)
            Self.check(payload, "size \(size), seed \(seed)")
            Self.check(Self.group(bytes: size, maxLength: maxLength, seed: seed, uniform: true).payload, "uniform, size \(size), seed \(seed)")
            payload.withUnsafeBytes { b in
                let scan = RecordGroup.checksumAndCount(b, group: Self.header, state: 0, crc: CRC32C.software)
                #expect(scan.count == members.count)
            }
        }
    }

    /// A bad length, kind 0 or 11 in the first member, in a member whose header
    /// straddles or follows a chunk boundary, and in the last member: refused.
    @Test(arguments: [false, true])
    func malformedMembersAreRefusedInEveryChunk(uniform: Bool) {
        let (payload, members) = Self.group(bytes: 20_000, maxLength: uniform ? 64 : 100, seed: 9, uniform: uniform)
        let chunk = RecordGroup.scanChunk
        var targets = [0, members.count / 2, members.count - 1]
        for boundary in stride(from: chunk, to: payload.count, by: chunk) {
            if let k = members.lastIndex(where: { $0 < boundary }) { targets += [k, min(k + 1, members.count - 1)] }
        }
        for k in targets {
            // In a uniform group, a length one off or 8 off breaks the run mid-chunk.
            for (field, value) in [(0, UInt16.max), (2, 0), (2, 11), (0, UInt16(payload.count)), (0, 63), (0, 72)] {
                var bad = payload
                bad.withUnsafeMutableBytes { $0.baseAddress!.storeLE(value, at: members[k] + field) }
                Self.check(bad, "member \(k) at \(members[k]), field \(field) = \(value)")
                // (A length one off may keep the footprint: then the group is still well formed.)
                if field == 2 || value > 72 {
                    bad.withUnsafeBytes { b in #expect(RecordGroup.checksumAndCount(b, group: Self.header, state: 0, crc: CRC32C.software).count == nil) }
                }
            }
        }
    }

    /// Lengths that are not a multiple of 8, a last member that stops short of
    /// the end (zero padding read as a kind-0 member), an empty payload, and a
    /// group near the 64-bit limits: the CRC still covers every byte, the count
    /// is nil where `validate` fails, and nothing outside the payload is read.
    @Test func oddShapesAndLimits() {
        let (payload, _) = Self.group(bytes: 9_000, maxLength: 200, seed: 3)
        for cut in [1, 3, 7, 8, 9, 4_093, 4_096, 4_100] where cut < payload.count {
            Self.check(Array(payload.dropLast(cut)), "cut \(cut)")
        }
        Self.check(payload + [UInt8](repeating: 0, count: 16), "zero tail")
        Self.check([], "empty")
        Self.check(Array(payload.prefix(4)), "shorter than a member header")
        let nearLimit = RecordHeader(payloadLength: 0, kind: .recordGroup, flags: [], sequence: UInt64.max - 3, timestamp: UInt64.max - 10)
        payload.withUnsafeBytes { b in
            let scan = RecordGroup.checksumAndCount(b, group: nearLimit, state: 0, crc: CRC32C.software)
            #expect(scan.count == nil, "near the limits the exact walk decides")
            #expect(scan.crc == CRC32C.update(0, b))
        }
    }
}
