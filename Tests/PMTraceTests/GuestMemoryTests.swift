import Foundation
import GuestRecording
import PMTraceTesting
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// GuestMemory over hand-built recordings: the page of a GPA as of each
/// epoch, restore into a sparse file, and hostile checkpoint records that
/// must give typed errors, never a trap or a huge allocation.
@Suite struct GuestMemoryTests {
    static func image(_ gpa: UInt64, fill: UInt8) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: PageImage.headerSize + 4096)
        p.withUnsafeMutableBytes { PageImage.encodeHeader(address: gpa, into: $0.baseAddress!) }
        for i in PageImage.headerSize..<p.count { p[i] = fill }
        return p
    }

    static func checkpoint(_ epoch: UInt64, ram: UInt64, flags: Checkpoint.Flags = []) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Checkpoint.size)
        let c = Checkpoint(flags: flags, epoch: epoch, stores: 0, accesses: 0, images: 0, loggedPages: 0, unloggedPages: 0, ramBytes: ram)
        b.withUnsafeMutableBytes { c.encode(into: $0.baseAddress!) }
        return b
    }

    /// Lane 1 of volume "g": base (page 0x1000 = 1s), epoch 1 (0x1000 = 2s, 0x3000 = 3s), epoch 2 (0x1000 zeros).
    static func recording(ram: UInt64 = 16 * 4096) throws -> MemoryPool {
        let pool = try MemoryPool.inMemory(size: 8 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 4))
        _ = try pool.store.createVolume(named: "g", lanes: 3)
        let w = try pool.store.openWriter(volume: "g", lane: 1)
        var t: UInt64 = 1
        func put(_ bytes: [UInt8], _ kind: RecordKind) throws { try w.append(bytes: bytes, kind: kind, timestamp: t); t += 1 }
        try put(image(0x1000, fill: 1), .pageImage)
        try put(checkpoint(0, ram: ram, flags: .base), .checkpoint)
        try put(image(0x1000, fill: 2), .pageImage)
        try put(image(0x3000, fill: 3), .pageImage)
        try put(checkpoint(1, ram: ram), .checkpoint)
        try put(image(0x1000, fill: 0), .pageImage)
        try put(checkpoint(2, ram: ram, flags: .final), .checkpoint)
        w.close()
        return pool
    }

    @Test func pagesAsOfEachEpochAndRestore() throws {
        let pool = try Self.recording()
        let m = try GuestMemory(store: pool.store, volume: "g")
        #expect(m.epochs.epochs.count == 3 && m.epochs.machineLane == 1)
        #expect(try m.page(at: 0x1234, epoch: 0) == [UInt8](repeating: 1, count: 4096))
        #expect(try m.page(at: 0x1000, epoch: 1) == [UInt8](repeating: 2, count: 4096))
        #expect(try m.page(at: 0x1000, epoch: 2) == [UInt8](repeating: 0, count: 4096))
        #expect(try m.page(at: 0x3000, epoch: 0) == [UInt8](repeating: 0, count: 4096))
        #expect(try m.page(at: 0x3000, epoch: 2) == [UInt8](repeating: 3, count: 4096))
        #expect(m.epoch(atTime: 0) == nil && m.epoch(atTime: 5) == 1 && m.epoch(atTime: 100) == 2)
        #expect(m.pagesImaged(after: 0, through: 2) == [0x1000, 0x3000])

        let path = NSTemporaryDirectory() + "pmtrace-guest-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        defer { unlink(path) }
        let s = try m.restore(epoch: 1, to: path)
        #expect(s == GuestMemory.RestoreSummary(bytes: 16 * 4096, dataPages: 2, holes: 14))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == 16 * 4096)
        #expect(bytes[0x1000..<0x2000].allSatisfy { $0 == 2 } && bytes[0x3000..<0x4000].allSatisfy { $0 == 3 })
        #expect(bytes[0..<0x1000].allSatisfy { $0 == 0 } && bytes[0x4000...].allSatisfy { $0 == 0 })
        #expect(throws: GuestEpochsError.self) { _ = try m.restore(epoch: 1, to: path) }  // exists
        let part = try m.restore(epoch: 2, range: 0x3000..<0x5000, to: path, overwrite: true)
        #expect(part.dataPages == 1 && part.holes == 1)
        #expect(throws: GuestEpochsError.self) { _ = try m.restore(epoch: 2, range: 0x3001..<0x5000, to: path, overwrite: true) }
    }

    /// A page image damaged after the recording was opened fails the
    /// restore with a typed error and leaves no partial image behind.
    @Test func aDamagedImageFailsTheRestoreAndLeavesNoFile() throws {
        let pool = try Self.recording()
        let m = try GuestMemory(store: pool.store, volume: "g")
        let bytes = UnsafeMutableRawBufferPointer(start: pool.memory.base, count: Int(pool.memory.size))
        func isImageOfThrees(_ i: Int) -> Bool {
            bytes[i] == 3 && bytes[i + 4095] == 3 && bytes[i..<i + 4096].allSatisfy { $0 == 3 }
        }
        let found: Int? = (0...(bytes.count - 4096)).first(where: isImageOfThrees)
        let at = try #require(found)
        bytes[at + 100] ^= 0x40
        let path = NSTemporaryDirectory() + "pmtrace-guest-damaged-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        defer { unlink(path) }
        #expect(throws: TraceError.self) { _ = try m.restore(epoch: 1, to: path) }
        #expect(access(path, F_OK) != 0)
        // With overwrite, the file that was there stays as it was.
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: TraceError.self) { _ = try m.restore(epoch: 1, to: path, overwrite: true) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("old".utf8))
        #expect(access("\(path).restoring-\(getpid())", F_OK) != 0)
    }

    /// Restore writes image files only: something else at the path (a FIFO
    /// here; a device such as /dev/null in the adversary's run, which a
    /// failed restore then removed) is refused even with overwrite, and left.
    @Test func somethingOtherThanAFileIsRefusedAndLeft() throws {
        let pool = try Self.recording()
        let m = try GuestMemory(store: pool.store, volume: "g")
        let path = NSTemporaryDirectory() + "pmtrace-guest-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(path, 0o644) == 0)
        defer { unlink(path) }
        #expect(throws: GuestEpochsError.self) { _ = try m.restore(epoch: 1, to: path, overwrite: true) }
        var st = stat()
        #expect(lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
    }

    /// A checkpoint claiming 2^62 bytes of RAM, or 12 bytes, is refused with
    /// a message, not a trap or an attempt to map it.
    @Test(arguments: [UInt64(1) << 62, 12, 0]) func hostileRAMSizeIsRefused(ram: UInt64) throws {
        let pool = try Self.recording(ram: ram)
        let m = try GuestMemory(store: pool.store, volume: "g")
        let path = NSTemporaryDirectory() + "pmtrace-guest-hostile-\(getpid())-\(ram).img"
        defer { unlink(path) }
        #expect(throws: GuestEpochsError.self) { _ = try m.restore(epoch: 2, to: path) }
    }

    /// A page image beyond the RAM size the checkpoints give is named, not
    /// left out of a whole-RAM image in silence (nor listed by `changes` as a
    /// changed page); a range still restores.
    @Test func imageBeyondTheRAMSizeFailsAWholeRestore() throws {
        let pool = try Self.recording(ram: 3 * 4096)
        let m = try GuestMemory(store: pool.store, volume: "g")
        let path = NSTemporaryDirectory() + "pmtrace-guest-beyond-\(getpid()).img"
        defer { unlink(path) }
        #expect {
            _ = try m.restore(epoch: 2, to: path)
        } throws: { "\($0)".hasPrefix("damaged recording: the page image of GPA 0x3000 lies beyond the 12288 bytes of RAM") }
        #expect(access(path, F_OK) != 0)
        #expect { _ = try m.changes(from: 0, to: 2) } throws: { "\($0)".contains("GPA 0x3000 lies beyond") }
        let inRange = try m.restore(epoch: 1, range: 0..<(8 * 4096), to: path)
        #expect(inRange.dataPages == 2)
    }

    /// A page image off a page boundary is damage, not a page placed at the
    /// boundary below it; `changes` agrees with comparing `page` twice.
    @Test func misalignedImageIsRefusedAndChangesMatchPages() throws {
        let pool = try Self.recording()
        let m = try GuestMemory(store: pool.store, volume: "g")
        let c = try m.changes(from: 0, to: 2)
        var expected: [UInt64: Int] = [:]
        for gpa in m.pagesImaged(after: 0, through: 2) {
            let a = try m.page(at: gpa, epoch: 0), b = try m.page(at: gpa, epoch: 2)
            let n = (0..<4096).filter { a[$0] != b[$0] }.count
            if n > 0 { expected[gpa] = n }
        }
        #expect(Dictionary(uniqueKeysWithValues: c.map { ($0.gpa, $0.bytesChanged) }) == expected && c.count == 2)
        let w = try pool.store.openWriter(volume: "g", lane: 1)
        try w.append(bytes: Self.image(0x1123, fill: 9), kind: .pageImage, timestamp: 100)
        w.close()
        #expect(throws: FormatError.self) { _ = try GuestMemory(store: pool.store, volume: "g") }
    }

    /// A volume without checkpoint records is not a guest recording; a
    /// damaged checkpoint payload is a typed format error.
    @Test func notARecordingAndDamagedCheckpoint() throws {
        let pool = try MemoryPool.inMemory(size: 8 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 4))
        _ = try pool.store.createVolume(named: "plain", lanes: 1)
        #expect(throws: GuestEpochsError.self) { _ = try GuestEpochs(store: pool.store, volume: "plain") }
        _ = try pool.store.createVolume(named: "bad", lanes: 1)
        let w = try pool.store.openWriter(volume: "bad", lane: 0)
        try w.append(bytes: [UInt8](repeating: 7, count: 64), kind: .checkpoint)
        w.close()
        #expect(throws: FormatError.self) { _ = try GuestEpochs(store: pool.store, volume: "bad") }
    }

    /// Adversary s23 (F-ckpt-epoch): checkpoints whose epoch fields are not
    /// 0, 1, 2, … in lane order (0, 2, 1; 5, 1, 2; 0, 1, 2^64 − 1) were listed
    /// by their field but restored and diffed by position, so `restore --at 2`
    /// built the state of the checkpoint listed as epoch 1. Now such a
    /// recording is refused, naming the record.
    @Test(arguments: [[0, 2, 1], [5, 1, 2], [0, 1, UInt64.max]] as [[UInt64]])
    func checkpointsOutOfOrderAreADamagedRecording(_ fields: [UInt64]) throws {
        let pool = try MemoryPool.inMemory(size: 8 << 20, parameters: FormatParameters(segmentSize: 64 << 10, volumeSlots: 8, maxLanesPerVolume: 4))
        _ = try pool.store.createVolume(named: "g", lanes: 1)
        let w = try pool.store.openWriter(volume: "g", lane: 0)
        for (i, e) in fields.enumerated() {
            try w.append(bytes: Self.image(0x1000, fill: UInt8(i + 1)), kind: .pageImage, timestamp: UInt64(2 * i + 1))
            try w.append(bytes: Self.checkpoint(e, ram: 16 * 4096, flags: i == 0 ? .base : []), kind: .checkpoint, timestamp: UInt64(2 * i + 2))
        }
        w.close()
        let wrong = fields.enumerated().first { UInt64($0.offset) != $0.element }!
        #expect { _ = try GuestEpochs(store: pool.store, volume: "g") } throws: { e in
            let text = "\(e)"
            return e is GuestEpochsError && text.contains("damaged recording") && text.contains("says epoch \(wrong.element)")
                && text.contains("checkpoint \(wrong.offset)")
        }
    }
}
