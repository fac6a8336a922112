import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// `append(batch:recordLength:)` leaves the same bytes on media as the same
/// records appended one by one with the batch's timestamp, by a writer that
/// stages every member (no group stream): same groups, same places, same
/// checksums — with the host's group stream (and its batch function or
/// without it) as without one, and with automatic commits inside batches.
@Suite struct BatchAppendTests {
    enum Stream: CaseIterable { case none, member, members }

    static func pool(_ stream: Stream, commitInterval: Int) throws -> MemoryPool {
        var options = StoreOptions.testing(commitInterval: commitInterval, clock: { 42 })
        switch stream {
        case .none: options.groupStream = nil
        case .member:
            var s = GroupStreamFunctions.host
            s.members = nil
            options.groupStream = s
        case .members: options.groupStream = .host
        }
        return try MemoryPool.inMemory(size: 24 << 20, parameters: smallParameters(segmentSize: 64 << 10), options: options)
    }

    /// Batches of every size class (staged, streamed by the batch only, streamed
    /// by both, larger than a member, split over segments), of 1 … 300 records,
    /// between single appends of other sizes, commits and a timestamp step back.
    @Test(arguments: [1, 8, 63, 64, 100, 127, 128, 256, 1000, 1024, 1025, 5000])
    func sameBytesAsOneByOne(recordLength n: Int) throws {
        for stream in Stream.allCases where stream == .none || GroupStreamFunctions.hostAvailable {
            for interval in [0, 150_000] {
                let reference = try Self.pool(.none, commitInterval: interval), batched = try Self.pool(stream, commitInterval: interval)
                for pool in [reference, batched] { try pool.store.createVolume(named: "b") }
                let one = try reference.store.openWriter(volume: "b"), many = try batched.store.openWriter(volume: "b")
                var expected: [[UInt8]] = []
                let counts = [1, 3, 57, 300, 2, 120]
                for step in 0..<24 {
                    let count = counts[step % counts.count]
                    let ts: UInt64 = step == 13 ? 7 : UInt64(1_000 + step * 1_000)  // step 13 goes back in time
                    let records = (0..<count).map { Array(payload(expected.count + $0, n)) }
                    for r in records { try one.append(bytes: r, timestamp: ts) }
                    try records.flatMap { $0 }.withUnsafeBytes { try many.append(batch: $0, recordLength: n, timestamp: ts) }
                    expected += records
                    if step % 5 == 2 {  // something else in between: a member of another size
                        let other = Array(payload(expected.count, 200))
                        try one.append(bytes: other, timestamp: ts)
                        try many.append(bytes: other, timestamp: ts)
                        expected.append(other)
                    }
                    if step % 7 == 6 { one.commit(); many.commit() }
                    #expect(one.nextSequence == many.nextSequence && one.appendedBytes == many.appendedBytes)
                }
                #expect(many.appendedRecords == UInt64(expected.count))
                one.close()
                many.close()
                #expect(memcmp(reference.memory.base, batched.memory.base, Int(reference.memory.size)) == 0,
                        "\(n)-byte records, \(stream), commit interval \(interval): bytes differ")
                let got = try batched.store.openLaneReader(volume: "b", lane: 0).allRecords()
                #expect(got.map(\.bytes) == expected)
            }
        }
    }

    /// The clock gives the batch's one timestamp; a reserved kind appends nothing.
    @Test func defaultsAndRefusals() throws {
        let pool = try Self.pool(.members, commitInterval: 0)
        try pool.store.createVolume(named: "b")
        let w = try pool.store.openWriter(volume: "b")
        let bytes = [UInt8](repeating: 7, count: 64 * 10)
        try bytes.withUnsafeBytes { try w.append(batch: $0, recordLength: 64) }
        #expect(w.nextSequence == 10)
        #expect(throws: TraceError.self) {
            try bytes.withUnsafeBytes { try w.append(batch: $0, recordLength: 64, kind: .recordGroup) }
        }
        #expect(w.nextSequence == 10)
        try [UInt8]().withUnsafeBytes { try w.append(batch: $0, recordLength: 64) }  // no records
        #expect(w.nextSequence == 10)
        w.close()
        let got = try pool.store.openLaneReader(volume: "b", lane: 0).allRecords()
        #expect(got.count == 10 && got.allSatisfy { $0.timestamp == 42 && $0.bytes == [UInt8](repeating: 7, count: 64) })
    }

    /// A batch that is not a whole number of records is a caller bug.
    @Test func partialRecordTraps() async {
        await #expect(processExitsWith: .failure) {
            let pool = try BatchAppendTests.pool(.none, commitInterval: 0)
            try pool.store.createVolume(named: "b")
            let w = try pool.store.openWriter(volume: "b")
            try [UInt8](repeating: 0, count: 65).withUnsafeBytes { try w.append(batch: $0, recordLength: 64) }
        }
    }
}
