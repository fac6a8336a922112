import TraceFormat

/// What `LaneReader` and `VolumeReader` have in common: whole, committed,
/// checksum-verified records one at a time, and a way to pick up records
/// committed since. Lets generic code (and `RecordSequence`,
/// `FollowedRecords`) work with either.
///
/// Thread safety: readers are not thread-safe; use one from one thread (or
/// task) at a time.
public protocol RecordReader: AnyObject {
    /// The next whole committed record, or nil when none is committed yet.
    /// Cost: one checksum pass over the record.
    func next() throws(TraceError) -> RecordView?
    /// Picks up records committed since the reader was opened or last refreshed.
    /// Cost: O(segments of the volume).
    func refresh() throws(TraceError)
    /// Whether the volume was sealed (or deleted) through the store this
    /// reader came from, so no record can follow the ones committed.
    /// A seal by another process's store is not seen here.
    var volumeIsFinished: Bool { get }
    /// The error that ended the last iteration of `records`, or nil when it
    /// ran to the committed tail. Reset when a new iteration starts.
    var iterationError: TraceError? { get set }
}

extension LaneReader: RecordReader {
    /// Whether the volume was sealed or deleted through this reader's store.
    /// O(1) under the store's lock.
    public var volumeIsFinished: Bool { store.isFinished(slot: slot, uid: uid) }
}

extension VolumeReader: RecordReader {
    /// Whether the volume was sealed or deleted through this reader's store.
    /// O(1) under the store's lock.
    public var volumeIsFinished: Bool { lanes.first?.volumeIsFinished ?? true }
}

extension TraceStore {
    /// The volume in `slot` with `uid` is sealed, or no longer there.
    func isFinished(slot: Int, uid: UInt64) -> Bool {
        lock.withLock {
            guard slots[slot].isLive, let e = slots[slot].entry, e.uid == uid else { return true }
            return e.flags.contains(.sealed)
        }
    }
}

extension RecordReader {
    /// The reader's records as a `Sequence`: `for r in reader.records { … }`
    /// returns every whole committed record, in the reader's order, once.
    ///
    /// Iteration ends at the committed tail, or at the first error: a
    /// sequence cannot throw, so the error is kept in `iterationError`
    /// (check it after the loop, or use `next()` to have it thrown).
    /// Each record is checksum-verified; the sequence is single-pass (it
    /// advances the reader). Cost per record: as `next()`.
    public var records: RecordSequence<Self> { RecordSequence(reader: self) }

    /// Every record committed now, in order; throws the first error.
    /// Memory: one `RecordView` per record (the payloads stay in place).
    public func allRecords() throws(TraceError) -> [RecordView] {
        var out: [RecordView] = []
        while let r = try next() { out.append(r) }
        return out
    }
}

/// A reader's records as a single-pass `Sequence` (see `RecordReader.records`).
/// Not thread-safe, like the reader it advances.
public struct RecordSequence<Reader: RecordReader>: Sequence, IteratorProtocol {
    /// The reader this sequence advances.
    public let reader: Reader
    var started = false

    /// A sequence over `reader`'s remaining records.
    public init(reader: Reader) { self.reader = reader }

    /// The sequence is its own iterator: it advances the reader.
    public func makeIterator() -> RecordSequence<Reader> { self }

    /// The next whole committed record; nil at the committed tail or on an
    /// error, which is then in `reader.iterationError`.
    public mutating func next() -> RecordView? {
        if !started { started = true; reader.iterationError = nil }
        do throws(TraceError) { return try reader.next() } catch {
            reader.iterationError = error
            return nil
        }
    }
}
