import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The writer against a model: seeded random sequences of appends of every
/// size class (staged members, members streamed straight in, plain and
/// fragmented records), batches, timestamp steps back and far ahead, commits,
/// closes and reopens, with the commit interval and the group size varied.
/// After every operation the counters (`nextSequence`, `appendedRecords`,
/// `appendedBytes`) equal the model's; at the end every record reads back
/// exactly (sequence, timestamp, kind, bytes) and `check` is clean.
@Suite struct WriterModelTests {
    struct Expected {
        var timestamp: UInt64
        var kind: RecordKind
        var bytes: [UInt8]
    }

    static let sizes = [0, 1, 7, 8, 16, 63, 64, 65, 72, 100, 128, 255, 256, 511, 512, 767, 768, 1000, 1024, 1025, 4000, 9000, 70_000]

    @Test(arguments: [(1, true, 1 << 20), (2, false, 1 << 20), (3, true, 3000), (4, true, 0), (5, false, 64 << 10), (6, true, 200)])
    func randomOperationsMatchTheModel(seed: UInt64, fused: Bool, commitInterval: Int) throws {
        var rng = SplitMix64(seed: seed)
        let (pool, _) = try groupingPool(fused: fused, size: 64 << 20, commitInterval: commitInterval, groupBytes: [8 << 10, 64 << 10][Int(seed % 2)])
        try pool.store.createVolume(named: "m")
        var w = try pool.store.openWriter(volume: "m")
        var model: [Expected] = []
        var written: UInt64 = 0, bytes: UInt64 = 0  // through the current writer
        var ts: UInt64 = 1_000
        for step in 0..<4000 {
            // Calm runs of one size (a whole staging page of members between two commits),
            // then anything with anything in between.
            let calm = step % 1000 < 600
            let n = calm ? [64, 8, 256, 800, 0, 1][Int(seed % 6)] : Self.sizes[Int(rng.next() % UInt64(Self.sizes.count))]
            switch calm ? 50 : rng.next() % 100 {
            case 0..<3: ts = ts > 50 ? ts - UInt64(rng.next() % 50) : ts  // a step back closes the group
            case 3: ts += 5 << 32  // past a member's u32 delta
            default: ts += rng.next() % 3
            }
            let kind: RecordKind = rng.next() % 13 == 0 ? .marker : .blob
            let op = calm ? 50 : rng.next() % 100
            if op < 6 && n > 0 && n <= 9000 {
                let k = 1 + Int(rng.next() % 20)
                let batch = Array(payload(step, k * n))
                try batch.withUnsafeBytes { try w.append(batch: $0, recordLength: n, kind: kind, timestamp: ts) }
                for j in 0..<k { model.append(Expected(timestamp: ts, kind: kind, bytes: Array(batch[(j * n)..<((j + 1) * n)]))) }
                written += UInt64(k)
                bytes += UInt64(k * n)
            } else {
                let p = Array(payload(step, n))
                try w.append(bytes: p, kind: kind, timestamp: ts)
                model.append(Expected(timestamp: ts, kind: kind, bytes: p))
                written += 1
                bytes += UInt64(n)
            }
            if op >= 97 { w.commit() }
            if op == 96 {
                w.close()
                w = try pool.store.openWriter(volume: "m")
                written = 0
                bytes = 0
            }
            guard w.nextSequence == UInt64(model.count), w.appendedRecords == written, w.appendedBytes == bytes else {
                Issue.record("step \(step): nextSequence \(w.nextSequence) (model \(model.count)), appendedRecords \(w.appendedRecords) (\(written)), appendedBytes \(w.appendedBytes) (\(bytes))")
                return
            }
        }
        w.close()
        let back = try pool.store.openLaneReader(volume: "m", lane: 0).allRecords()
        #expect(back.count == model.count)
        for (i, (r, e)) in zip(back, model).enumerated()
        where r.sequence != UInt64(i) || r.timestamp != e.timestamp || r.kind != e.kind || r.bytes != e.bytes {
            Issue.record("record \(i) differs: sequence \(r.sequence), \(r.bytes.count) bytes (model \(e.bytes.count))")
            break
        }
        let report = try pool.store.check()
        #expect(report.clean, "\(report.findings)")
        #expect(report.recordsChecked >= UInt64(model.count))  // fragments of a large record count one by one
    }
}
