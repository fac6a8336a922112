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
                let gpa = try r.withContiguousPayload { p throws(FormatError) in try PageImage.decode(p).address }
                versions[gpa & ~0xFFF, default: []].append((epoch, r.timestamp, r.sequence))
            default: break
            }
        }
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
        throw GuestEpochsError("the image of page 0x\(String(gpa, radix: 16)) (record \(target.sequence)) was not found again")
    }

    /// The page at `gpa` as of `epoch` (4096 bytes; zeros when never imaged).
    public func page(at gpa: UInt64, epoch: Int) throws -> [UInt8] {
        try withPage(at: gpa, epoch: epoch) { p in p.map { [UInt8]($0) } ?? [UInt8](repeating: 0, count: 4096) }
    }

    /// Pages imaged in epochs `from + 1 … to` (page-aligned GPAs, sorted):
    /// every page that can differ between the two epochs.
    public func pagesImaged(after from: Int, through to: Int) -> [UInt64] {
        versions.compactMap { gpa, v in v.contains { $0.epoch > from && $0.epoch <= to } ? gpa : nil }.sorted()
    }
}
