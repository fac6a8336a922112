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
        let u = try UserRecording("sig-\(name)")
        defer { u.remove() }
        let pool = u.pool
        let r = try u.record(["/bin/sh", "-c", "kill -\(name) $$"])
        #expect(r.status == 128 + number, "\(r.stderr)")
        #expect(r.stderr.contains("killed by signal \(number) (SIG\(name))") && !r.stderr.contains("did not run"), "\(r.stderr)")
        let s = u.pluginStats
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

    /// Ctrl-C (SIGINT to the foreground process group, as a terminal sends it)
    /// reaches the program under QEMU, and `record` lives on to commit, import
    /// the maps and report; SIGTERM sent to `record` alone is passed on to QEMU.
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"),
          arguments: [("INT", SIGINT, true), ("TERM", SIGTERM, false)])
    func interruptReachesTheProgramAndRecordStillReports(_ name: String, _ number: Int32, toGroup: Bool) throws {
        let u = try UserRecording("int-\(name)")
        let pool = u.pool, stderrPath = scratchPath("int-\(name).err")
        defer { u.remove(); unlink(stderrPath) }
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        try #require(pipe(&input) == 0 && pipe(&output) == 0)
        defer { close(input[1]); close(output[0]) }
        // The program says "ready", then waits on its standard input (held open here).
        let child = try SpawnedChild.start(u.recordArguments + ["/bin/sh", "-c", "echo ready; read x; echo after"],
                                           stdinFD: input[0], stdoutFD: output[1], stderrPath: stderrPath, newProcessGroup: true)
        close(input[0]); close(output[1])
        var seen = Data(), byte: UInt8 = 0
        while !String(decoding: seen, as: UTF8.self).contains("ready\n"), read(output[0], &byte, 1) == 1 { seen.append(byte) }
        try #require(String(decoding: seen, as: UTF8.self).contains("ready"), "the program never started")
        kill(toGroup ? -child.pid : child.pid, number)
        // Then the same signal to `record` again and again until it ends: while
        // QEMU exits and after, during the maps import (adversary s25b: a second
        // Ctrl-C, or one just after the program ended, killed `record` silently).
        // Should the program not end, the group is killed after a minute (the
        // test then fails, rather than hang).
        let ended = DispatchSemaphore(value: 0)
        let group = child.pid
        DispatchQueue.global().async {
            let deadline = DispatchTime.now() + 60
            while ended.wait(timeout: .now() + .milliseconds(2)) == .timedOut {
                if DispatchTime.now() > deadline { kill(-group, SIGKILL); return }
                kill(group, number)
            }
        }
        let outcome = child.wait()
        ended.signal()
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        #expect(outcome.exitStatus == 128 + number, "\(outcome) \(stderr)")
        #expect(stderr.contains("recorded 'v'") && stderr.contains("killed by signal \(number) (SIG\(name))"), "\(stderr)")
        let hot = try pmtrace(["hot", pool, "v", "--by", "mapping"])
        #expect(hot.status == 0 && hot.out.contains("ld-linux"), "\(hot.out) \(hot.stderr)")
        #expect(try pmtrace(["fsck", pool]).status == 0)
    }

    /// A program that forks: QEMU runs the child as a copy of itself, with the
    /// plugin's lanes. The child records nothing (two processes appending to one
    /// lane broke its chain: fsck found segments no chain reaches), the parent's
    /// recording is whole, and `record` says how many children ran unrecorded.
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"))
    func forkedChildrenLeaveTheParentsLanesAlone() throws {
        let u = try UserRecording("fork", size: "256M")
        defer { u.remove() }
        let pool = u.pool
        // A subshell that runs long enough to fill the plugin's buffers, then the parent likewise.
        let loop = "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done"
        let r = try u.record(["/bin/sh", "-c", "(\(loop); echo child); \(loop); echo parent"])
        #expect(r.status == 0 && r.out == "child\nparent\n", "\(r.stderr)")
        let s = u.pluginStats
        #expect(s.forks == 1 && !s.exec && s.recorded > 1_000_000, "\(s)")
        #expect(r.stderr.contains("1 child process(es) of the program ran unrecorded"), "\(r.stderr)")
        let fsck = try pmtrace(["fsck", pool])
        #expect(fsck.status == 0, "\(fsck.out.suffix(600)) \(fsck.stderr)")
        let p = try TracePool.open(path: pool, writable: false)
        #expect(try VolumeStats.compute(store: p.store, volume: "v").accessCount == s.recorded)
    }

    /// A multithreaded program whose main thread calls execve while its other
    /// threads run: the recording ends at the call, and what `record` and the
    /// counters call recorded is what reached the volume (adversary s25b: the
    /// threads' accesses after the call were counted, 23–50 % more than the
    /// volume held).
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"))
    func execBesideRunningThreadsCountsWhatWasRecorded() throws {
        let u = try UserRecording("mtexec", size: "256M")
        defer { u.remove() }
        let pool = u.pool
        // Three threads spinning on memory, the main thread replacing the program (C: no interpreter lock).
        let source = scratchPath("mtexec") + ".c", program = scratchPath("mtexec")
        defer { unlink(source); unlink(program) }
        try """
            #include <pthread.h>
            #include <unistd.h>
            static volatile unsigned long cells[4096];
            static void *spin(void *arg) { for (unsigned long i = 0;; i++) cells[(i * 7 + (unsigned long)arg) % 4096] += i; return 0; }
            int main(void) {
                pthread_t t[3];
                for (long i = 0; i < 3; i++) pthread_create(&t[i], 0, spin, (void *)i);
                usleep(100000);
                execl("/bin/echo", "echo", "replaced", (char *)0);
                return 1;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let cc = try VMMArchiveTests.run("/usr/bin/env", ["cc", "-O1", "-pthread", "-o", program, source])
        try #require(cc.status == 0, "\(cc.err)")
        let r = try u.record([program])
        #expect(r.status == 0 && r.out == "replaced\n", "\(r.status) \(r.stderr)")
        let s = u.pluginStats
        #expect(s.exec && s.recorded > 0)
        let p = try TracePool.open(path: pool, writable: false)
        #expect(try VolumeStats.compute(store: p.store, volume: "v").accessCount == s.recorded, "\(s)")
        #expect(r.stderr.contains("recorded 'v'") && r.stderr.contains(": \(s.recorded) of "), "\(r.stderr)")
        #expect(try pmtrace(["fsck", pool]).status == 0)
    }

    /// A child still running when the program ends (a shell's background
    /// job): the region's lock belongs to the descriptor and the mapping,
    /// which the forked QEMU shared, so `record` could not reopen the region
    /// to import the maps (adversary s25b: exit 2, "in use by another writer").
    /// The child lets go of both; `record` imports and reports as usual.
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"))
    func aChildThatOutlivesTheProgramLeavesTheRegionFree() throws {
        let u = try UserRecording("orphan")
        defer { u.remove() }
        let pool = u.pool
        let loop = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"
        let r = try u.record(["/bin/sh", "-c", "(\(loop); echo late) & echo hi"])
        #expect(r.status == 0 && r.out.hasPrefix("hi\n"), "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("recorded 'v'") && r.stderr.contains("1 child process(es)"), "\(r.stderr)")
        let hot = try pmtrace(["hot", pool, "v", "--as", "v", "--by", "function"])
        #expect(hot.status == 0 && hot.out.contains("in known functions"), "\(hot.out) \(hot.stderr)")
    }

    /// A program that replaces itself (execve): the new program runs natively,
    /// outside QEMU, so the recording is finished at the call: what ran before
    /// it is committed, its maps imported, and `record` says where it ended.
    @Test(.enabled(if: VMRecordingTests.hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"))
    func execFinishesTheRecording() throws {
        let u = try UserRecording("exec")
        defer { u.remove() }
        let pool = u.pool
        let r = try u.record(["/bin/sh", "-c", "echo before; exec /bin/echo after"])
        #expect(r.status == 0 && r.out == "before\nafter\n", "\(r.stderr)")
        #expect(r.stderr.contains("recorded 'v'") && r.stderr.contains("called execve"), "\(r.stderr)")
        let s = u.pluginStats
        #expect(s.exec && s.recorded > 10_000, "\(s)")
        let hot = try pmtrace(["hot", pool, "v", "--by", "mapping"])
        #expect(hot.status == 0 && hot.out.contains("dash"), "\(hot.out) \(hot.stderr)")
        #expect(try pmtrace(["fsck", pool]).status == 0)
    }
}
#endif
