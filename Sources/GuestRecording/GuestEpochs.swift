import TraceFormat
import TracePayloads
import TraceVolume

/// The checkpoint epochs of a guest recorded by `pmtrace record-vm`
/// (FORMAT.md §8.10, §8.11): for each epoch its checkpoint record, where its
/// page images are, and the pages PML logged in it.
///
/// Built by one pass over the volume's committed records; page contents are
/// not read (an image is located by its record's position in the lane).
/// O(records) time, O(images + PML entries) memory.
public struct GuestEpochs: Sendable {
    /// One epoch.
    public struct Epoch: Sendable {
        /// The checkpoint record that closed it.
        public var checkpoint: Checkpoint
        /// Its host time (ns since the Unix epoch).
        public var time: UInt64
        /// Guest-physical addresses of its page images, in lane order, each
        /// with the index of its record among the machine lane's records.
        public var images: [(gpa: UInt64, record: Int)]
        /// Distinct pages PML logged in this epoch (page-aligned GPAs), from
        /// the vCPU lanes' PML batches whose time is ≤ this checkpoint's and
        /// > the previous one's.
        public var pmlPages: Set<UInt64>
    }

    /// Epochs in order, the base image (epoch 0) first.
    public var epochs: [Epoch]
    /// The lane holding the images and checkpoints.
    public var machineLane: Int

    /// Indexes `volume`. Throws when a record is damaged, a checkpoint's
    /// epoch is not its place among the lane's checkpoints (0, 1, 2, …), or no
    /// lane holds a checkpoint record (not a `record-vm` volume).
    public init(store: TraceStore, volume: String) throws {
        let info = try store.openReader(volume: volume).info
        var machine: Int?
        var epochs: [Epoch] = []
        var pml: [(time: UInt64, pages: [UInt64])] = []
        for lane in 0..<info.laneCount {
            let reader = try store.openLaneReader(volume: volume, lane: lane)
            var pending: [(gpa: UInt64, record: Int)] = []
            var index = 0
            while let r = try reader.next() {
                defer { index += 1 }
                switch r.kind {
                case .pageImage:
                    let gpa = try r.decodePayload { p throws(FormatError) in try PageImage.decode(p).address }
                    pending.append((gpa, index))
                case .checkpoint:
                    if machine != nil && machine != lane {
                        throw GuestEpochsError("checkpoint records in lanes \(machine!) and \(lane) of '\(volume)'")
                    }
                    machine = lane
                    let c = try r.decodePayload { p throws(FormatError) in try Checkpoint.decode(p) }
                    // Epochs number the lane's checkpoints 0, 1, 2, … (FORMAT.md §8.10):
                    // `checkpoints`, `restore --at` and `diff` all use that number.
                    guard c.epoch == UInt64(epochs.count) else {
                        throw GuestEpochsError("damaged recording: the checkpoint record at lane \(lane), sequence \(r.sequence) of '\(volume)' "
                                               + "says epoch \(c.epoch), but it is the lane's checkpoint \(epochs.count) (epochs count 0, 1, 2, …)")
                    }
                    epochs.append(Epoch(checkpoint: c, time: r.timestamp, images: pending, pmlPages: []))
                    pending = []
                case .pmlBatch:
                    var pages: [UInt64] = []
                    try r.decodePayload { p throws(FormatError) in try PMLBatch.forEach(p) { pages.append($0 & ~0xFFF) } }
                    pml.append((r.timestamp, pages))
                default:
                    break
                }
            }
        }
        guard let machine else { throw GuestEpochsError("'\(volume)' holds no checkpoint records (not recorded by record-vm?)") }
        // A PML batch belongs to the first checkpoint at or after its time.
        for batch in pml {
            var lo = 0, hi = epochs.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if epochs[mid].time < batch.time { lo = mid + 1 } else { hi = mid }
            }
            guard lo < epochs.count else { continue }  // after the last checkpoint: no epoch closed it
            epochs[lo].pmlPages.formUnion(batch.pages)
        }
        self.epochs = epochs
        self.machineLane = machine
    }
}

/// A volume that is not a guest recording.
public struct GuestEpochsError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, in one line.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
