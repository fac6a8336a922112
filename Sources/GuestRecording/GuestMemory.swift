import TraceFormat
import TracePayloads
import TraceVolume

/// Guest-physical memory of a guest recorded by `pmtrace record-vm`, as of
/// any checkpoint, read in place from the volume's page images
/// (FORMAT.md §8.10): the page at GPA `g` as of epoch `e` is the last image
/// of `g` in epochs 0 … e, or zeros when there is none.
///
/// Lives beside `GuestEpochs` in GuestRecording, not in the catalog or the
/// store: it relies on the conventions of §8.11 (which lane holds the
/// images, what a checkpoint record closes), which are a recorder's, not the
/// store's; and analyzers that want "the page at g as of t" need no file
/// output, so the image writer (`restore(epoch:into:)`) sits on top of it.
///
/// Thread safety: none (one reader inside); use one instance per thread.
/// Cost: init reads every record header once (O(records)); `page` is
/// O(log images of g + log segments + records per segment).
public final class GuestMemory {
    /// The epochs, as `GuestEpochs` indexed them.
    public let epochs: GuestEpochs
    /// Guest RAM bytes the images cover (from the last checkpoint record).
    public let ramBytes: UInt64
    let reader: LaneReader
    let store: TraceStore
    let volume: String
    /// For each imaged page (page-aligned GPA): (epoch, timestamp, sequence) of its images, in order.
    var versions: [UInt64: [(epoch: Int, timestamp: UInt64, sequence: UInt64)]] = [:]

    /// Indexes `volume`'s images. Throws `GuestEpochsError` for a volume
    /// that is not a guest recording, `TraceError`/`FormatError` for damage.
    public init(store: TraceStore, volume: String) throws {
        self.store = store
        self.volume = volume
        epochs = try GuestEpochs(store: store, volume: volume)
        ramBytes = epochs.epochs.last?.checkpoint.ramBytes ?? 0
        reader = try store.openLaneReader(volume: volume, lane: epochs.machineLane)
        let scan = try store.openLaneReader(volume: volume, lane: epochs.machineLane)
        var epoch = 0
        while let r = try scan.next() {
            switch r.kind {
            case .checkpoint: epoch += 1
            case .pageImage:
                let gpa = try r.decodePayload { p throws(FormatError) in try PageImage.decode(p).address }
                versions[gpa & ~0xFFF, default: []].append((epoch, r.timestamp, r.sequence))
            default: break
            }
        }
    }

    /// Throws `GuestEpochsError` ("damaged recording") when a page image lies
    /// at or beyond the RAM size the last checkpoint gives: images cover
    /// guest RAM from GPA 0 (FORMAT.md §8.10), so one beyond it contradicts
    /// the checkpoints. O(imaged pages). `hint` ends the message.
    func checkImagesWithinRAM(hint: String = "") throws {
        let beyond = versions.keys.filter { $0 >= ramBytes }
        guard let first = beyond.min() else { return }
        throw GuestEpochsError("damaged recording: the page image of GPA 0x\(String(first, radix: 16)) lies beyond the \(ramBytes) bytes of RAM the checkpoints give (\(beyond.count) such pages)\(hint)")
    }

    /// The epoch in effect at host time `time` (ns): the last checkpoint
    /// taken at or before it; nil before the base image.
    public func epoch(atTime time: UInt64) -> Int? {
        epochs.epochs.lastIndex { $0.time <= time }
    }

    /// Calls `body` with the 4 KiB page at `gpa` (rounded down to its page)
    /// as of `epoch`, or with nil when the page is all zeros then. The bytes
    /// are valid only inside `body` (they point into the region).
    public func withPage<R>(at gpa: UInt64, epoch: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        precondition(epoch >= 0 && epoch < epochs.epochs.count, "epoch out of range")
        guard let v = versions[gpa & ~0xFFF], let last = v.lastIndex(where: { $0.epoch <= epoch }) else { return try body(nil) }
        let target = v[last]
        try reader.seek(timestamp: target.timestamp)
        while let r = try reader.next() {
            if r.kind == .pageImage && r.sequence == target.sequence {
                return try r.withContiguousPayload { p in try body(try PageImage.decode(p).page) }
            }
            if r.timestamp > target.timestamp { break }
        }
        // Timestamps out of order (a damaged or hostile lane) defeat the seek:
        // look through the whole lane before giving up.
        try reader.seek(timestamp: 0)
        while let r = try reader.next() {
            guard r.kind == .pageImage && r.sequence == target.sequence else { continue }
            return try r.withContiguousPayload { p in try body(try PageImage.decode(p).page) }
        }
        throw GuestEpochsError("damaged recording: the image of page 0x\(String(gpa, radix: 16)) (record \(target.sequence)) indexed earlier was not found again")
    }

    /// The page at `gpa` as of `epoch` (4096 bytes; zeros when never imaged).
    public func page(at gpa: UInt64, epoch: Int) throws -> [UInt8] {
        try withPage(at: gpa, epoch: epoch) { p in p.map { [UInt8]($0) } ?? [UInt8](repeating: 0, count: 4096) }
    }

    /// The pages that differ between epochs `from` and `to` (≥ `from`), with
    /// how many of their bytes differ, sorted by GPA. One pass over the
    /// machine lane; memory: one page per candidate that has an image at
    /// or before `from`.
    public func changes(from: Int, to: Int) throws -> [(gpa: UInt64, bytesChanged: Int)] {
        precondition(from >= 0 && from <= to && to < epochs.epochs.count, "epochs out of range")
        try checkImagesWithinRAM()
        var beforeWinner: [UInt64: UInt64] = [:], afterWinner: [UInt64: UInt64] = [:]  // sequence → gpa
        for (gpa, v) in versions where v.contains(where: { $0.epoch > from && $0.epoch <= to }) {
            if let x = v.last(where: { $0.epoch <= from }) { beforeWinner[x.sequence] = gpa }
            if let y = v.last(where: { $0.epoch <= to }) { afterWinner[y.sequence] = gpa }
        }
        var before: [UInt64: [UInt8]] = [:]
        var result: [(gpa: UInt64, bytesChanged: Int)] = []
        let scan = try store.openLaneReader(volume: volume, lane: epochs.machineLane)
        var left = afterWinner.count
        while left > 0, let r = try scan.next() {
            guard r.kind == .pageImage else { continue }
            if let gpa = beforeWinner[r.sequence] {
                before[gpa] = try r.decodePayload { p throws(FormatError) in [UInt8](try PageImage.decode(p).page) }
            } else if let gpa = afterWinner[r.sequence] {
                left -= 1
                let old = before.removeValue(forKey: gpa)
                let n = try r.decodePayload { p throws(FormatError) -> Int in
                    let page = try PageImage.decode(p).page
                    var n = 0
                    if let old { for i in 0..<4096 where old[i] != page[i] { n += 1 } } else { for b in page where b != 0 { n += 1 } }
                    return n
                }
                if n > 0 { result.append((gpa, n)) }
            }
        }
        guard left == 0 else { throw GuestEpochsError("damaged recording: \(left) indexed page images were not found again") }
        return result.sorted { $0.gpa < $1.gpa }
    }

    /// Pages imaged in epochs `from + 1 … to` (page-aligned GPAs, sorted):
    /// every page that can differ between the two epochs.
    public func pagesImaged(after from: Int, through to: Int) -> [UInt64] {
        versions.compactMap { gpa, v in v.contains { $0.epoch > from && $0.epoch <= to } ? gpa : nil }.sorted()
    }
}
