import Foundation
import PMTrace
import Testing

/// Every error message names the path or object it concerns (issue 12): the
/// pool's path always, and the volume, file or app when one is involved.
@Suite(.serialized) struct ErrorNamingTests {
    @Test func everyFailureNamesItsPoolAndObject() throws {
        let pool = scratchPath("naming"), missing = scratchPath("missing")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        #expect(try pmtrace(["create", pool, "sealed-one"]).status == 0)
        #expect(try pmtrace(["seal", pool, "sealed-one"]).status == 0)
        // (arguments, what the message must name besides the pool)
        let cases: [([String], [String])] = [
            (["info", "/etc/passwd"], ["/etc/passwd"]),
            (["list", "/etc/passwd"], ["/etc/passwd"]),
            (["fsck", "/etc/passwd"], ["/etc/passwd"]),
            (["info", missing], [missing]),
            (["format", "/etc/passwd", "--size", "1M"], ["/etc/passwd"]),
            (["format", pool, "--size", "16M"], [pool]),
            (["stats", pool, "no-such"], [pool, "no-such"]),
            (["read", pool, "no-such"], [pool, "no-such"]),
            (["dump", pool, "no-such"], [pool, "no-such"]),
            (["seal", pool, "no-such"], [pool, "no-such"]),
            (["delete", pool, "no-such"], [pool, "no-such"]),
            (["rename", pool, "no-such", "other"], [pool, "no-such"]),
            (["create", pool, "sealed-one"], [pool, "sealed-one"]),
            (["create", pool, "x", "--lanes", "0"], [pool, "0"]),
            (["write", pool, "sealed-one"], [pool, "sealed-one"]),
            (["import-lackey", pool, "t", missing], [missing]),
            (["symbols", "import", pool, missing], [missing]),
            (["symbols", "import", pool, "/etc/passwd"], [pool, "/etc/passwd"]),
            (["symbols", "remove", pool, "no-app"], [pool, "no-app"]),
            (["symbolize", pool, "--app", "no-app", "0x10"], [pool, "no-app"]),
            (["hot", pool, "sealed-one", "--as", "no-space"], [pool, "no-space"]),
        ]
        for (args, names) in cases {
            let r = try pmtrace(args, stdinFile: "/dev/null")
            #expect(r.status != 0, "\(args) succeeded")
            let line = r.stderr.trimmingCharacters(in: .newlines)
            #expect(line.hasPrefix("pmtrace: ") && !line.contains("\n"), "\(args): \(r.stderr)")
            for n in names { #expect(line.contains(n), "\(args): '\(line)' does not name \(n)") }
        }
    }
}

/// A payload that passes its checksum but does not decode (a writer's bug,
/// not media damage) is named by its record: kind, lane, sequence, segment
/// and offset, in every reading command that decodes it.
@Suite struct PayloadErrorLocationTests {
    @Test func malformedPayloadNamesItsRecord() throws {
        let pool = scratchPath("payload-location")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        do {
            let p = try TracePool.open(path: pool, writable: true)
            try p.store.createVolume(named: "t", lanes: 2)
            let w = try p.store.openWriter(volume: "t", lane: 1)
            try w.append(bytes: Array("fine".utf8), kind: .marker)
            // Claims 100 accesses, holds 3 bytes of entries.
            try w.append(bytes: [100, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x80, 0x80], kind: .memoryAccessStreams)
            w.commit()
            w.close()
        }
        for command in [["stats", pool, "t"], ["hot", pool, "t", "--by", "page"], ["export", pool, "t", "--format", "csv", "--out", "/dev/null"]] {
            let r = try pmtrace(command)
            #expect(r.status == 1, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("record kind 12") && r.stderr.contains("lane 1") && r.stderr.contains("sequence 1")
                    && r.stderr.contains("segment") && r.stderr.contains("offset"), "\(command): \(r.stderr)")
        }
    }
}
