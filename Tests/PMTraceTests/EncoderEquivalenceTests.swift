#if arch(x86_64) && os(Linux)
import Foundation
import PMTrace
import Testing
import TraceAnalysis
import TraceFormat
import TraceVolume

/// The QEMU plugin's vCPUs hand the encoder thread 8-byte slot words (a PC
/// index given at translation time instead of the PC); the bytes on media
/// must be what the 16-byte entries they wrote before gave. The plugin's own
/// code (`scripts/bench-vm-encoder.sh --check`: encoder_bench includes
/// pmtrace_qemu.c) writes one synthetic stream both ways into two volumes;
/// their kind-9 records must be byte-identical.
@Suite struct EncoderEquivalenceTests {
    /// (accesses, PC table limit, distinct PCs): every PC indexed; and a
    /// table that fills, so a third of the accesses carry their PC in a
    /// second word (wide) — both with translation changes and the highest GPA.
    @Test(arguments: [(400_000, 0, 5_000), (400_000, 1_000, 1_500)])
    func slotWordsGiveTheSameRecordsAsEntries(accesses: Int, pcLimit: Int, pcs: Int) throws {
        let region = "/dev/shm/pmtrace-test-\(getpid())-encoder-equivalence-\(pcLimit)"
        defer { unlink(region) }
        let r = try VMMArchiveTests.run("/usr/bin/env", [
            "PMTRACE_BENCH_REGION=\(region)", "/bin/bash", VMMArchiveTests.root.appendingPathComponent("scripts/bench-vm-encoder.sh").path,
            "--check", "\(accesses)", "\(pcLimit)", "\(pcs)",
        ])
        try #require(r.status == 0, "bench-vm-encoder.sh --check failed:\n\(r.out)\n\(r.err)")
        #expect(r.out.contains("the words expand to the entries"))
        let pool = try TracePool.open(path: region, writable: false)
        func records(_ volume: String) throws -> [[UInt8]] {
            let reader = try pool.store.openReader(volume: volume)
            var out: [[UInt8]] = []
            while let record = try reader.next() {
                #expect(record.kind == .guestAccessBatch)
                out.append(try record.verifiedBytes())
            }
            return out
        }
        let before = try records("entries"), now = try records("words")
        #expect(before.count > 50)
        #expect(before.count == now.count)
        #expect(before == now)
        for volume in ["entries", "words"] {
            let counts = try VolumeStats.compute(store: pool.store, volume: volume).accesses
            #expect(counts.values.reduce(0, +) == UInt64(accesses))
        }
    }
}
#endif
