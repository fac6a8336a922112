import Foundation
import Testing

/// Every `--json` output follows one convention (README, "JSON output"):
/// numbers as numbers, null for not available (the field present), each time
/// as `<name>` integer ns plus `<name>ISO` text of the same instant, and the
/// same field names for the same things.
@Suite(.serialized) struct JSONConventionTests {
    /// Every object in `value`, recursively.
    static func objects(_ value: Any) -> [[String: Any]] {
        if let o = value as? [String: Any] { return [o] + o.values.flatMap(objects) }
        if let a = value as? [Any] { return a.flatMap(objects) }
        return []
    }

    /// Checks the time pairs and that no number or "not available" hides in text.
    static func checkConvention(_ json: Any, _ command: String) {
        for o in objects(json) {
            for (key, value) in o {
                if let text = value as? String {
                    #expect(Int(text) == nil && !["not available", "none", "-", "n/a"].contains(text), "\(command): \(key) = \"\(text)\" is text")
                }
                guard key.hasSuffix("ISO") else { continue }
                let base = String(key.dropLast(3))
                #expect(o.keys.contains(base), "\(command): \(key) without \(base)")
                if value is NSNull {
                    #expect(o[base] is NSNull, "\(command): \(key) is null but \(base) is not")
                    continue
                }
                guard let iso = value as? String, let ns = (o[base] as? NSNumber)?.uint64Value else {
                    Issue.record("\(command): \(key)/\(base) are not text/number: \(value) \(o[base] ?? "missing")")
                    continue
                }
                // The same instant: whole seconds through ISO8601DateFormatter, the nanoseconds digit for digit.
                let parts = iso.split(separator: ".")
                let seconds = ISO8601DateFormatter().date(from: String(parts[0]) + "Z").map { UInt64($0.timeIntervalSince1970) }
                #expect(seconds == ns / 1_000_000_000, "\(command): \(key) \(iso) vs \(ns)")
                #expect(parts.count == 2 && parts[1] == String(format: "%09llu", ns % 1_000_000_000) + "Z", "\(command): \(iso)")
            }
        }
    }

    static func json(_ args: [String]) throws -> Any {
        let r = try pmtrace(args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return try JSONSerialization.jsonObject(with: r.stdout, options: [.fragmentsAllowed])
    }

    @Test func everyCommandFollowsTheConvention() throws {
        let pool = scratchPath("json")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        let input = scratchPath("json-in")
        defer { unlink(input) }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: input))
        #expect(try pmtrace(["write", pool, "v"], stdinFile: input).status == 0)
        #expect(try pmtrace(["create", pool, "empty"]).status == 0)
        #expect(try pmtrace(["seal", pool, "v"]).status == 0)
        #expect(try pmtrace(["symbols", "import", pool, "/bin/true", "--app", "true"]).status == 0)

        let info = try Self.json(["info", pool, "--json"]) as? [String: Any]
        Self.checkConvention(info as Any, "info")
        #expect(info?["pool"] as? String == pool)
        #expect(info?["formatTime"] is NSNumber && info?["formatTimeISO"] is String)
        // Not available on a plain file: null, and the field is there.
        #expect(info?.keys.contains("unsafeShutdownCount") == true && info?.keys.contains("forcedGranularity") == true)

        let list = try Self.json(["list", pool, "--json"]) as? [[String: Any]]
        Self.checkConvention(list as Any, "list")
        #expect(list?.map { $0["volume"] as? String } == ["v", "empty"])
        #expect(list?.first?["uid"] is NSNumber && list?.first?["sealedTime"] is NSNumber)
        #expect(list?.last?["sealedTime"] is NSNull && list?.last?["sealedTimeISO"] is NSNull)

        let stats = try Self.json(["stats", pool, "v", "--json"]) as? [String: Any]
        Self.checkConvention(stats as Any, "stats")
        #expect(stats?["volume"] as? String == "v" && stats?["records"] as? Int == 1)
        #expect(stats?["lowestAddress"] is NSNull)  // no memory accesses
        let empty = try Self.json(["stats", pool, "empty", "--json"]) as? [String: Any]
        #expect(empty?["firstTimestamp"] is NSNull && empty?["firstTimestampISO"] is NSNull)

        let dump = try pmtrace(["dump", pool, "v", "--json"])
        let line = try JSONSerialization.jsonObject(with: Data(dump.out.split(separator: "\n")[0].utf8)) as? [String: Any]
        Self.checkConvention(line as Any, "dump")
        #expect(line?["volume"] as? String == "v" && line?["timestamp"] is NSNumber && line?["address"] is NSNull)
        #expect(line?["salvaged"] as? Bool == false)

        let fsck = try Self.json(["fsck", pool, "--json"]) as? [String: Any]
        Self.checkConvention(fsck as Any, "fsck")
        #expect(fsck?["pool"] as? String == pool && fsck?["clean"] as? Bool == true)
        #expect(fsck?.keys.contains("unsafeShutdownCount") == true && fsck?.keys.contains("badBlocks") == true)

        let symbols = try Self.json(["symbols", "list", pool, "--json"]) as? [[String: Any]]
        Self.checkConvention(symbols as Any, "symbols list")
        #expect(symbols?.first?["app"] as? String == "true" && symbols?.first?["imported"] is NSNumber)
        #expect(symbols?.first?["importedISO"] is String)
    }
}
