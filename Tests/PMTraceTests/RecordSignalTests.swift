#if arch(x86_64) && os(Linux)
import Foundation
import GuestRecording
import PMTrace
import Testing
import TraceAnalysis

/// `record` of a program that dies by a signal: QEMU 7.2 runs no plugin
/// atexit callback on that path, so the plugin commits before QEMU kills
/// itself (its hook on QEMU's kill). What the program did up to the signal is
/// committed, its maps and symbols imported, and `record` says which signal.
@Suite(.serialized) struct RecordSignalTests {
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"),
          arguments: [("SEGV", SIGSEGV), ("TERM", SIGTERM)])
    func programKilledBySignalIsCommittedAndTheSignalNamed(_ name: String, _ number: Int32) throws {
        let plugin = try #require(try VMRecordingTests.script("build-plugin.sh").last)
        let pool = scratchPath("sig-\(name).pool"), stats = scratchPath("sig-\(name).stats")
        defer { for f in [pool, stats] { unlink(f) } }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        let r = try pmtrace(["record", pool, "v", "--stats", stats, "--plugin", plugin, "--", "/bin/sh", "-c", "kill -\(name) $$"])
        #expect(r.status == 128 + number, "\(r.stderr)")
        #expect(r.stderr.contains("killed by signal \(number) (SIG\(name))") && !r.stderr.contains("did not run"), "\(r.stderr)")
        let s = PluginStats(text: (try? String(contentsOfFile: stats, encoding: .utf8)) ?? "")
        #expect(s.mode == "user" && !s.failed && s.recorded > 10_000, "the plugin finished: \(s)")

        // Committed: a plain reader (no salvage) sees every access, fsck is clean.
        let p = try TracePool.open(path: pool, writable: false)
        let v = try VolumeStats.compute(store: p.store, volume: "v")
        #expect(v.accessCount == s.recorded && v.accessCount > 0)
        let dump = try pmtrace(["dump", pool, "v", "--limit", "2"])
        #expect(dump.status == 0 && dump.out.contains("guest-access"), "\(dump.out) \(dump.stderr)")
        let fsck = try pmtrace(["fsck", pool])
        #expect(fsck.status == 0, "\(fsck.out) \(fsck.stderr)")
        // The maps marker was written and imported: accesses fall in named mappings.
        let hot = try pmtrace(["hot", pool, "v", "--by", "mapping"])
        #expect(hot.status == 0 && hot.out.contains("ld-linux"), "\(hot.out) \(hot.stderr)")
    }
}
#endif
