import Foundation
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The segment summary (FORMAT.md §6.1, §10.5) under crashes: in every crash
/// state a mount from the summary finds the same chains, free space and
/// warnings as a walk over every header (`verify` compares the two), where
/// summary entries and headers can disagree: a ring lane taking another
/// lane's head, and segments of a deleted volume taken again.
@Suite(.serialized) struct SummaryCrashTests {
    func expectClean(_ name: String, _ r: CrashReport, summaryLanesBefore: Int) {
        print("crash states \(name): \(r.points) points, \(r.states) states checked, \(r.violations.count) violations")
        #expect(r.violations.isEmpty, "\(name): \(r.violations.prefix(5))")
        #expect(r.states > 0)
        #expect(summaryMounts.withLock { $0 } > summaryLanesBefore, "no crash state was mounted from the summary")
    }

    /// Lane 1 of a ring volume starts after lane 0 filled the region, so its
    /// first segments are lane 0's head, reclaimed, and later its own head.
    /// (Records small enough that lane 1's last committed record is never in
    /// the head it reclaims: with two segments and 40 KB records it would be,
    /// and the ring rightly loses it, which the model does not allow.)
    @Test func ringLaneTakesAnotherLanesHead() throws {
        let before = summaryMounts.withLock { $0 }
        let r = try crashTest(regionSize: 1 << 20, exhaustive: 8, setup: { store, model in
            try store.createVolume(named: "ring", lanes: 2, ring: true)
            declareVolume("ring", lanes: 2, model: model)
            model.ringVolumes = ["ring"]
            model.allowedNames = [["ring"]]
            let w0 = try store.openWriter(volume: "ring", lane: 0)
            for _ in 0..<40 { try appendRecord(w0, volume: "ring", lane: 0, size: 30_000, model: model) }
            commit(w0, volume: "ring", lane: 0, model: model)
            w0.close()
        }) { _, store, model in
            let w1 = try store!.openWriter(volume: "ring", lane: 1)
            for i in 0..<16 {
                try appendRecord(w1, volume: "ring", lane: 1, size: 10_000, model: model)
                if i % 2 == 1 { commit(w1, volume: "ring", lane: 1, model: model) }
            }
            w1.close()
        }
        expectClean("ring lane takes another lane's head", r, summaryLanesBefore: before)
    }

    /// A deleted volume's segments (whose headers and summary entries still
    /// name it) are taken by a new volume in the same slot.
    @Test func segmentsOfADeletedVolumeTakenAgain() throws {
        let before = summaryMounts.withLock { $0 }
        let r = try crashTest(regionSize: 1 << 20, setup: { store, model in
            try store.createVolume(named: "old", lanes: 2)
            let w = try store.openWriter(volume: "old", lane: 0)
            for i in 0..<8 { try w.append(bytes: [UInt8](repeating: UInt8(i), count: 60_000)) }
            w.close()
            try store.deleteVolume("old")
            try store.createVolume(named: "new", lanes: 2)
            declareVolume("new", lanes: 2, model: model)
            model.allowedNames = [["new"]]
        }) { _, store, model in
            let w0 = try store!.openWriter(volume: "new", lane: 0)
            let w1 = try store!.openWriter(volume: "new", lane: 1)
            for i in 0..<8 {
                try appendRecord(w0, volume: "new", lane: 0, size: 50_000, model: model)
                try appendRecord(w1, volume: "new", lane: 1, size: 20_000, model: model)
                if i % 2 == 1 {
                    commit(w0, volume: "new", lane: 0, model: model)
                    commit(w1, volume: "new", lane: 1, model: model)
                }
            }
            w0.close()
            w1.close()
        }
        expectClean("deleted volume's segments taken again", r, summaryLanesBefore: before)
    }
}
