import Foundation
import PMTrace
import Testing

/// A format that dies before it publishes leaves its staging file
/// (`.NAME.pmtrace-format-PID-N`, as large as the region) beside NAME; the
/// next format of NAME removes it — and only it: not a staging file a live
/// format holds locked, not one just created, not other names.
@Suite struct AbandonedStagingTests {
    @Test func formatRemovesOnlyAbandonedStagingFilesOfItsPath() throws {
        let dir = NSTemporaryDirectory() + "pmtrace-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = "\(dir)/p.pool"
        func make(_ name: String, ageSeconds: Int) -> String {
            let path = "\(dir)/\(name)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 4096)))
            var times = [timespec(tv_sec: time(nil) - ageSeconds, tv_nsec: 0), timespec(tv_sec: time(nil) - ageSeconds, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            return path
        }
        let abandoned = make(".p.pool.pmtrace-format-123456-42", ageSeconds: 120)
        let abandonedToo = make(".p.pool.pmtrace-format-1-2", ageSeconds: 3600)
        let fresh = make(".p.pool.pmtrace-format-123457-43", ageSeconds: 0)
        let locked = make(".p.pool.pmtrace-format-123458-44", ageSeconds: 120)
        let otherPool = make(".q.pool.pmtrace-format-123459-45", ageSeconds: 120)
        let notAStagingName = make(".p.pool.pmtrace-format-12x-45", ageSeconds: 120)
        let directory = "\(dir)/.p.pool.pmtrace-format-5-6"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        // A live format holds its staging file's lock.
        let holder = open(locked, O_RDONLY)
        #expect(holder >= 0 && flock(holder, LOCK_EX | LOCK_NB) == 0)
        defer { close(holder) }

        _ = try TracePool.format(path: pool, size: 8 << 20, parameters: smallParameters())

        let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }
        #expect(!exists(abandoned) && !exists(abandonedToo), "abandoned staging files left")
        #expect(exists(fresh) && exists(locked) && exists(otherPool) && exists(notAStagingName) && exists(directory))
        #expect(exists(pool))
        // Nothing else of ours is left in the directory: the new format published its file.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".p.pool.pmtrace-format-") }.sorted()
        #expect(left == [".p.pool.pmtrace-format-12x-45", ".p.pool.pmtrace-format-123457-43", ".p.pool.pmtrace-format-123458-44",
                         ".p.pool.pmtrace-format-5-6"].sorted())
    }
}
