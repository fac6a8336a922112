import CSQLite
import Foundation
import MetadataCatalog
import TraceAnalysis
import TracePayloads

/// `export --format sqlite`: the accesses, symbols and mappings tables in a
/// new SQLite database, through libsqlite3 (one prepared insert, one
/// transaction, indexes built after the rows).
struct SQLiteExport {
    let path: String

    /// The open database; every libsqlite3 result passes through `check`.
    final class Database {
        var handle: OpaquePointer?
        let path: String

        init(path: String) throws {
            self.path = path
            // Replace a regular file only: unlinking a device or FIFO named by
            // mistake would swap it for a database file (adversary s23 A1).
            try OutputGuard.refuseNonRegular(path, option: "--out", purpose: "a SQLite database is a regular file")
            unlink(path)
            let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil)
            guard rc == SQLITE_OK else {
                let text = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
                sqlite3_close(handle)
                throw CLIError("\(path): sqlite: \(text)")
            }
        }

        deinit { sqlite3_close(handle) }

        func check(_ rc: Int32, _ what: String) throws {
            guard rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW else {
                throw CLIError("\(path): sqlite: \(what): \(String(cString: sqlite3_errmsg(handle)))")
            }
        }

        func exec(_ sql: String) throws { try check(sqlite3_exec(handle, sql, nil, nil, nil), sql) }

        func prepare(_ sql: String) throws -> OpaquePointer {
            var s: OpaquePointer?
            try check(sqlite3_prepare_v2(handle, sql, -1, &s, nil), sql)
            return s!
        }
    }

    /// Bits of an address as SQLite's signed 64-bit integer.
    static func int(_ v: UInt64) -> Int64 { Int64(bitPattern: v) }

    func write(_ stream: AccessStream, attribution: SymbolAttribution?, maps: MappingTable, catalogMaps: [ProcessMapEntry]) throws -> UInt64 {
        let db = try Database(path: path)
        try db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=65536;")
        try db.exec("""
            CREATE TABLE accesses(lane INTEGER NOT NULL, timestamp INTEGER NOT NULL, kind TEXT NOT NULL,
                address INTEGER NOT NULL, size INTEGER NOT NULL, page INTEGER NOT NULL, pc INTEGER, virtual INTEGER,
                symbol INTEGER REFERENCES symbols(id));
            CREATE TABLE symbols(id INTEGER PRIMARY KEY, name TEXT, image TEXT NOT NULL, start INTEGER, end INTEGER);
            CREATE TABLE mappings(start INTEGER NOT NULL, end INTEGER NOT NULL, permissions TEXT, offset INTEGER,
                path TEXT, image TEXT, build_id TEXT, load_bias INTEGER, source TEXT NOT NULL);
            BEGIN;
            """)
        let insert = try db.prepare("INSERT INTO accesses VALUES(?,?,?,?,?,?,?,?,?)")
        defer { sqlite3_finalize(insert) }
        // C copies that live until the statement is done (SQLITE_STATIC below).
        let kinds = MemoryAccess.Kind.allCases.map { strdup(AccessText.kindName($0))! }
        defer { for k in kinds { free(k) } }
        let block = AccessBlock()
        var rows: UInt64 = 0
        while try stream.next(into: block) {
            for i in 0..<block.count {
                sqlite3_bind_int64(insert, 1, Int64(block.lane[i]))
                sqlite3_bind_int64(insert, 2, Self.int(block.timestamp[i]))
                sqlite3_bind_text(insert, 3, kinds[Int(block.kind[i])], -1, nil)  // SQLITE_STATIC: freed after the last step
                sqlite3_bind_int64(insert, 4, Self.int(block.address[i]))
                sqlite3_bind_int64(insert, 5, Int64(block.size[i]))
                sqlite3_bind_int64(insert, 6, Int64(block.address[i] >> 12))
                if block.hasPC { sqlite3_bind_int64(insert, 7, Self.int(block.pc[i])) } else { sqlite3_bind_null(insert, 7) }
                if block.hasVirtual { sqlite3_bind_int64(insert, 8, Self.int(block.virtual[i])) } else { sqlite3_bind_null(insert, 8) }
                if let attribution {
                    sqlite3_bind_int64(insert, 9, Int64(attribution.group(of: block.hasPC ? block.pc[i] : block.address[i])))
                } else {
                    sqlite3_bind_null(insert, 9)
                }
                try db.check(sqlite3_step(insert), "insert")
                sqlite3_reset(insert)
            }
            rows &+= UInt64(block.count)
        }
        if let attribution {
            let s = try db.prepare("INSERT INTO symbols VALUES(?,?,?,?,?)")
            defer { sqlite3_finalize(s) }
            for (id, g) in attribution.groups.enumerated() {
                sqlite3_bind_int64(s, 1, Int64(id))
                if let name = g.name { sqlite3_bind_text(s, 2, name, -1, csqlite_transient()) } else { sqlite3_bind_null(s, 2) }
                sqlite3_bind_text(s, 3, g.image, -1, csqlite_transient())
                sqlite3_bind_int64(s, 4, Self.int(g.range.lowerBound))
                sqlite3_bind_int64(s, 5, Self.int(g.range.upperBound))
                try db.check(sqlite3_step(s), "insert symbol")
                sqlite3_reset(s)
            }
        }
        let m = try db.prepare("INSERT INTO mappings VALUES(?,?,?,?,?,?,?,?,?)")
        defer { sqlite3_finalize(m) }
        func bind(_ i: Int32, _ text: String?) {
            if let text { sqlite3_bind_text(m, i, text, -1, csqlite_transient()) } else { sqlite3_bind_null(m, i) }
        }
        for l in maps.lines {
            sqlite3_bind_int64(m, 1, Self.int(l.start)); sqlite3_bind_int64(m, 2, Self.int(l.end))
            bind(3, l.permissions); sqlite3_bind_int64(m, 4, Self.int(l.offset)); bind(5, l.path ?? "[anon]")
            bind(6, nil); bind(7, nil); sqlite3_bind_null(m, 8); bind(9, "recorded")
            try db.check(sqlite3_step(m), "insert mapping"); sqlite3_reset(m)
        }
        for e in catalogMaps {
            sqlite3_bind_int64(m, 1, Self.int(e.start)); sqlite3_bind_int64(m, 2, Self.int(e.end))
            bind(3, nil); sqlite3_bind_int64(m, 4, Self.int(e.fileOffset)); bind(5, String(decoding: e.path, as: UTF8.self))
            bind(6, String(decoding: e.app, as: UTF8.self)); bind(7, e.buildID.map { String(format: "%02x", $0) }.joined())
            sqlite3_bind_int64(m, 8, Self.int(e.loadBias)); bind(9, "catalog")
            try db.check(sqlite3_step(m), "insert mapping"); sqlite3_reset(m)
        }
        try db.exec("""
            COMMIT;
            CREATE INDEX accesses_page ON accesses(page);
            CREATE INDEX accesses_address ON accesses(address);
            CREATE INDEX accesses_symbol ON accesses(symbol);
            """)
        return rows
    }
}
