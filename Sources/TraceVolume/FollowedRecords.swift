#if !hasFeature(Embedded)
import TraceFormat

extension RecordReader {
    /// Follows a live writer: an `AsyncSequence` of every record committed to
    /// the volume, now and later, in the reader's order.
    ///
    /// When the reader reaches the committed tail it calls `refresh()` every
    /// `interval` (a `Task.sleep`, so waiting costs no CPU) and goes on with
    /// what was committed since, in this process or another. It ends (returns
    /// nil) when the task is cancelled, or once the volume is sealed or deleted
    /// through the reader's store and every record committed before has been
    /// returned; a seal by another process is not seen, so cancel the task to
    /// stop following such a writer. Errors (damage, a ring writer overwriting
    /// what is being read) are thrown from `next()`.
    ///
    /// Runs on the caller's actor (the iterator takes `#isolation`), so a
    /// non-`Sendable` reader never crosses an isolation boundary.
    /// Latency: at most `interval` after a commit. Hosted builds only.
    public func follow(interval: Duration = .milliseconds(1)) -> FollowedRecords<Self> {
        FollowedRecords(reader: self, interval: interval)
    }
}

/// The records of a volume as a live writer commits them (see
/// `RecordReader.follow(interval:)`). Single-pass: it advances the reader.
public struct FollowedRecords<Reader: RecordReader>: AsyncSequence {
    /// Each element is a whole committed record, in place.
    public typealias Element = RecordView
    /// Reading errors.
    public typealias Failure = TraceError

    /// The reader this sequence advances.
    public let reader: Reader
    /// How long to wait at the committed tail before looking again.
    public let interval: Duration

    /// The iterator (it advances `reader`).
    public func makeAsyncIterator() -> Iterator { Iterator(reader: reader, interval: interval) }

    /// Waits at the committed tail, polling every `interval`.
    public struct Iterator: AsyncIteratorProtocol {
        let reader: Reader
        let interval: Duration

        /// The next committed record, waiting for one if none is committed
        /// yet; nil once the task is cancelled or the volume is finished.
        public mutating func next(isolation actor: isolated (any Actor)? = #isolation) async throws(TraceError) -> RecordView? {
            while !Task.isCancelled {
                if let r = try reader.next() { return r }
                // Sealed: one more look picks up what was committed before the seal.
                if reader.volumeIsFinished {
                    try reader.refresh()
                    return try reader.next()
                }
                do { try await Task.sleep(for: interval) } catch { return nil }  // cancelled while waiting
                try reader.refresh()
            }
            return nil
        }

        /// As `next(isolation:)`, without an actor.
        public mutating func next() async throws(TraceError) -> RecordView? {
            try await next(isolation: nil)
        }
    }
}
#endif
