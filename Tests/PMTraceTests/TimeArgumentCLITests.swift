import Foundation
import Testing

/// Adversary finding (round 24, F1): an ISO-8601 time past
/// 2554-07-21T23:34:33.709551615Z (the largest UInt64 of ns) trapped every
/// option that takes a time ("Double value cannot be converted to UInt64",
/// exit 132), and `…55.5e300Z` or `…55.5xyzZ` were read as some other time.
/// Times are now parsed strictly, in integers: a clear error, exit 2.
@Suite struct TimeArgumentCLITests {
    static let pastLargest = ["2554-07-21T23:34:33.709551616Z", "2600-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"]
    static let malformed = ["2026-11-27T13:33:55.5e300Z", "2026-11-27T13:33:55.5xyzZ", "2026-11-27T13:33:55Zjunk", "2026-13-01T00:00:00Z",
                            "2026-02-29T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T13:33:60Z", "2026-11-27T13:33:55.Z",
                            "2026-11-27T13:33:55.1234567890Z", "2026-11-27T13:33:55", "2026-11-27  13:33:55Z"]

    /// `dump`, `hot`, `export`, `working-set`, `heatmap`: --since and --until.
    @Test func readingCommandsRefuseTimesPastTheLargestOrMalformed() throws {
        let pool = try AnalysisCLITests.pool()  // volume "t" holds accesses
        let svg = scratchPath("time") + ".svg"
        defer { unlink(pool); unlink(svg) }
        let commands = [["dump", pool, "t"], ["hot", pool, "t", "--by", "page"],
                        ["export", pool, "t", "--format", "csv", "--out", "/dev/null"],
                        ["working-set", pool, "t", "--window", "1M"], ["heatmap", pool, "t", "--out", svg]]
        for command in commands {
            for option in ["--since", "--until"] {
                for time in Self.pastLargest {
                    let r = try pmtrace(command + [option, time])
                    #expect(r.status == 2 && r.stderr.contains("\(option) \(time): past the largest time, 2554-07-21T23:34:33.709551615Z"),
                            "\(command) \(option) \(time): \(r.status) \(r.stderr)")
                }
                for time in Self.malformed {
                    let r = try pmtrace(command + [option, time])
                    #expect(r.status == 2 && r.stderr.contains("\(option) \(time): not a time"), "\(command) \(option) \(time): \(r.status) \(r.stderr)")
                }
            }
        }
        // The largest time itself, and ordinary ones, are taken (and compared exactly, in ns).
        for time in ["2554-07-21T23:34:33.709551615Z", "2026-11-27T13:33:43.5Z", "2026-11-27 13:33:43.5Z", "2026-11-27T14:33:43.5+01:00", "1970-01-01T00:00:00Z"] {
            let r = try pmtrace(["dump", pool, "t", "--since", time, "--limit", "1"])
            #expect(r.status == 0, "\(time): \(r.stderr)")
        }
        let before = try pmtrace(["dump", pool, "t", "--until", "1969-12-31T23:59:59Z"])
        #expect(before.status == 2 && before.stderr.contains("before 1970-01-01T00:00:00Z"), "\(before.stderr)")
    }

    /// `restore --at`, `diff --from/--to`: refused as they are parsed.
    @Test func epochOptionsRefuseTimesPastTheLargestOrMalformed() throws {
        let pool = scratchPath("time-epochs.pool")  // never opened: the arguments are refused first
        for time in Self.pastLargest {
            for args in [["restore", pool, "vm", "--at", time, "--out", scratchPath("time.img")],
                         ["diff", pool, "vm", "--from", "0", "--to", time], ["diff", pool, "vm", "--from", time, "--to", "last"]] {
                let r = try pmtrace(args)
                #expect(r.status == 2 && r.stderr.contains("\(time): past the largest time, 2554-07-21T23:34:33.709551615Z"), "\(args): \(r.status) \(r.stderr)")
            }
        }
        for time in Self.malformed where time.count >= 5 {
            let r = try pmtrace(["restore", pool, "vm", "--at", time, "--out", scratchPath("time.img")])
            #expect(r.status == 2 && r.stderr.contains("--at \(time)"), "\(time): \(r.status) \(r.stderr)")
        }
    }
}
