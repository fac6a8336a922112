import CSQLite
import Foundation
import Testing

/// The analysis commands agree with each other and with `stats` on one
/// synthetic lackey trace: every access exported once, SQLite answers what
/// `hot` answers, the pictures are written.
@Suite(.serialized) struct AnalysisCLITests {
    /// A pool with volume "t": a lackey import of loads, stores and fetches over 37 pages.
    static func pool() throws -> String {
        let pool = scratchPath("analysis.pool"), lackey = scratchPath("analysis.lackey")
        defer { unlink(lackey) }
        var text = ""
        for i in 0..<20000 {
            text += " L \(String(0x10000 + (i * 7919 % 37) * 4096 + (i % 64) * 8, radix: 16)),8\n"
            if i % 3 == 0 { text += " S \(String(0x7ff000 + (i % 512) * 8, radix: 16)),4\n" }
            if i % 5 == 0 { text += "I  \(String(0x400000 + i % 4096, radix: 16)),3\n" }
        }
        try text.write(toFile: lackey, atomically: false, encoding: .utf8)
        try #require(try pmtrace(["format", pool, "--size", "64M"]).status == 0)
        let r = try pmtrace(["import-lackey", pool, "t", lackey])
        try #require(r.status == 0, "\(r.stderr)")
        return pool
    }

    static func accessCount(_ pool: String) throws -> Int {
        let s = try JSONSerialization.jsonObject(with: try pmtrace(["stats", pool, "t", "--json"]).stdout) as? [String: Any]
        return try #require(s?["accessCount"] as? Int)
    }

    @Test func exportRowsEqualStatsAndSQLiteAnswersHot() throws {
        let pool = try Self.pool(), csv = scratchPath("a.csv"), jsonl = scratchPath("a.jsonl"), db = scratchPath("a.db")
        defer { for f in [pool, csv, jsonl, db] { unlink(f) } }
        let n = try Self.accessCount(pool)
        #expect(n == 20000 + 6667 + 4000)
        #expect(try pmtrace(["export", pool, "t", "--format", "csv", "--out", csv]).status == 0)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == n + 1 && lines[0] == "lane,timestamp,kind,address,size,pc,virtual")
        #expect(try pmtrace(["export", pool, "t", "--format", "jsonl", "--out", jsonl]).status == 0)
        let objects = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n")
        #expect(objects.count == n)
        let first = try JSONSerialization.jsonObject(with: Data(objects[0].utf8)) as? [String: Any]
        #expect(first?["pc"] is NSNull && first?["address"] is NSNumber)
        let dump = try pmtrace(["dump", pool, "t", "--accesses"])
        #expect(dump.out.split(separator: "\n").count == n)

        let e = try pmtrace(["export", pool, "t", "--format", "sqlite", "--out", db])
        try #require(e.status == 0, "\(e.stderr)")
        var handle: OpaquePointer?
        try #require(sqlite3_open_v2(db, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close(handle) }
        func rows(_ sql: String) -> [[Int64]] {
            var s: OpaquePointer?
            guard sqlite3_prepare_v2(handle, sql, -1, &s, nil) == SQLITE_OK else { return [] }
            defer { sqlite3_finalize(s) }
            var out: [[Int64]] = []
            while sqlite3_step(s) == SQLITE_ROW { out.append((0..<sqlite3_column_count(s)).map { sqlite3_column_int64(s, $0) }) }
            return out
        }
        #expect(rows("select count(*) from accesses") == [[Int64(n)]])
        let top = rows("select page, count(*) as c from accesses group by page order by c desc, page limit 10")
        struct Row: Decodable { var page: UInt64?; var accesses: UInt64 }
        let hot = try JSONDecoder().decode([Row].self, from: try pmtrace(["hot", pool, "t", "--by", "page", "--top", "10", "--json"]).stdout)
        #expect(hot.map { [Int64($0.page! >> 12), Int64($0.accesses)] } == top)
        #expect(rows("select count(*) from sqlite_master where type = 'index' and sql like '%(page)%'") == [[1]])
        let stores = try JSONDecoder().decode([Row].self, from: try pmtrace(["hot", pool, "t", "--by", "page", "--kind", "store", "--json", "--top", "1000"]).stdout)
        #expect(Int64(stores.reduce(0) { $0 + $1.accesses }) == rows("select count(*) from accesses where kind = 'store'")[0][0])
    }

    @Test func picturesWindowsAndFilters() throws {
        let pool = try Self.pool(), svg = scratchPath("h") + ".svg", png = scratchPath("h") + ".png"
        defer { for f in [pool, svg, png] { unlink(f) } }
        let n = try Self.accessCount(pool)
        #expect(try pmtrace(["heatmap", pool, "t", "--out", svg]).status == 0)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.hasPrefix("<svg") && text.contains("data:image/png;base64,") && text.contains("0x10000"))
        #expect(try pmtrace(["heatmap", pool, "t", "--out", png, "--by", "line", "--width", "64", "--height", "32"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: png)).prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let ws = try pmtrace(["working-set", pool, "t", "--window", "1000", "--csv"])
        let body = ws.out.split(separator: "\n").dropFirst()
        #expect(body.count == (n + 999) / 1000)
        #expect(body.reduce(0) { $0 + Int($1.split(separator: ",")[1])! } == n)
        let mapping = try pmtrace(["hot", pool, "t", "--by", "mapping"])
        #expect(mapping.status == 0 && mapping.out.contains("[unmapped]"))
        #expect(try pmtrace(["hot", pool, "t"]).status != 0, "--by function needs --as")
        let none = try pmtrace(["export", pool, "t", "--format", "csv", "--out", "-", "--since", "+1000s"])
        #expect(none.status == 0 && none.out.split(separator: "\n").count == 1)
        #expect(try pmtrace(["dump", pool, "t", "--lane", "3"]).status != 0)
        #expect(try pmtrace(["working-set", pool, "t", "--window", "soon"]).status != 0)
    }
}
