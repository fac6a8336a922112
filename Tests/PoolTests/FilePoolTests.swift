import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceFormat
import TraceVolume

/// The hosted facade: pool files mapped through libpmem2.
@Suite struct FilePoolTests {
    @Test func reopenInSameProcessFromFile() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        do {
            let pool = try TracePool.format(path: path, size: 32 << 20, parameters: smallParameters())
            try pool.store.createVolume(named: "t", lanes: 2)
            let w0 = try pool.store.openWriter(volume: "t", lane: 0)
            let w1 = try pool.store.openWriter(volume: "t", lane: 1)
            for i in 0..<1000 {
                try payload(i, 100 + i).withUnsafeBytes { try (i % 2 == 0 ? w0 : w1).append($0, timestamp: UInt64(i)) }
            }
            w0.close()
            w1.close()
        }
        let pool = try TracePool.open(path: path, writable: true)
        let back = try readAll(try pool.store.openReader(volume: "t"))
        #expect(back.count == 1000)
        #expect(back.map(\.timestamp) == (0..<1000).map { UInt64($0) })
        for (i, r) in back.enumerated() { #expect(r.bytes == payload(i, 100 + i) && r.lane == i % 2) }
        // Appending continues the sequence after reopen.
        let w = try pool.store.openWriter(volume: "t", lane: 0)
        try w.append(bytes: [1, 2, 3], timestamp: 5000)
        w.close()
        let lane0 = try pool.store.openLaneReader(volume: "t", lane: 0)
        var last: RecordView?
        while let r = try lane0.next() { last = r }
        #expect(last?.sequence == 500 && last?.timestamp == 5000)
    }

    @Test func formatRefusesExistingFilesWithoutForce() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        _ = try TracePool.format(path: path, size: 8 << 20, parameters: smallParameters())
        #expect {
            try TracePool.format(path: path, size: 8 << 20, parameters: smallParameters())
        } throws: { e in
            guard case PoolError.wouldOverwrite(_, let what) = e else { return false }
            return what.contains("already a PMTrace region")
        }
        _ = try TracePool.format(path: path, size: 8 << 20, parameters: smallParameters(), force: true)
        let other = temporaryPoolPath("other")
        defer { unlink(other) }
        _ = FileManager.default.createFile(atPath: other, contents: Data("hello".utf8))
        #expect {
            try TracePool.format(path: other, size: 8 << 20, parameters: smallParameters())
        } throws: { e in
            guard case PoolError.wouldOverwrite(_, let what) = e else { return false }
            return what.contains("not a PMTrace region")
        }
        #expect(throws: PoolError.self) { try TracePool.open(path: other, writable: false) }
        #expect(try String(contentsOfFile: other, encoding: .utf8) == "hello")
    }

    @Test func secondWriterIsRefusedReadersAreNot() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        let writer = try TracePool.format(path: path, size: 8 << 20, parameters: smallParameters())
        #expect(throws: PoolError.mapping(.inUse(path: path))) { try TracePool.open(path: path, writable: true) }
        let reader1 = try TracePool.open(path: path, writable: false)
        let reader2 = try TracePool.open(path: path, writable: false)
        #expect(throws: TraceError.readOnly) { try reader1.store.createVolume(named: "x") }
        _ = (writer, reader2)
    }

    @Test func missingFileIsNamed() {
        #expect(throws: PoolError.mapping(.notFound(path: "/nonexistent/pool"))) {
            try TracePool.open(path: "/nonexistent/pool", writable: false)
        }
    }
}

/// Nothing that points into a mapping may outlive it: writers, readers and
/// record views keep the mapping alive after the pool is dropped.
@Suite struct LifetimeTests {
    static func writerOfDroppedPool(_ path: String, size: UInt64 = 8 << 20) throws -> LaneWriter {
        let pool = try TracePool.format(path: path, size: size, parameters: smallParameters())
        try pool.store.createVolume(named: "l")
        return try pool.store.openWriter(volume: "l")
    }

    @Test func writerOutlivesItsPool() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        do {
            let w = try Self.writerOfDroppedPool(path)
            for i in 0..<300 { try w.append(bytes: payload(i, 1000)) }
        }  // the writer's deinit commits after the pool is long gone
        let pool = try TracePool.open(path: path, writable: false)
        #expect(try readAll(try pool.store.openReader(volume: "l")).map(\.bytes) == (0..<300).map { payload($0, 1000) })
    }

    @Test func regionFullMidWriteThenDeinitIsSafe() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        var appended = 0
        do {
            let w = try Self.writerOfDroppedPool(path, size: 2 << 20)
            #expect(throws: TraceError.self) {
                for i in 0..<10_000 { try w.append(bytes: payload(i, 4000)); appended += 1 }
            }
        }
        let pool = try TracePool.open(path: path, writable: false)
        #expect(try readAll(try pool.store.openReader(volume: "l")).count == appended)
    }

    @Test func readerAndRecordOutliveTheirPool() throws {
        let path = temporaryPoolPath()
        defer { unlink(path) }
        do {
            let w = try Self.writerOfDroppedPool(path)
            for i in 0..<50 { try w.append(bytes: payload(i, 100_000)) }
        }
        func reader() throws -> VolumeReader { try TracePool.open(path: path, writable: false).store.openReader(volume: "l") }
        let r = try reader()
        var records: [RecordView] = []
        while let record = try r.next() { records.append(record) }
        // Records split across segments are whole through withContiguousPayload and bytes.
        for (i, record) in records.enumerated() {
            #expect(record.bytes == payload(i, 100_000))
            #expect(record.withContiguousPayload { Array($0) } == payload(i, 100_000))
        }
        #expect(records.contains { !$0.isContiguous })
    }
}
