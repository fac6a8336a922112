import Synchronization

/// A minimal test-and-set lock for the store's metadata (volume table and
/// segment allocation). Never taken per record: only when a lane crosses a
/// segment boundary or a volume is created, renamed, sealed or deleted.
/// Works under Embedded Swift, where `Mutex` may be unavailable.
final class SpinLock: Sendable {
    private let held = Atomic<Bool>(false)

    init() {}

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        while !held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            while held.load(ordering: .relaxed) {}
        }
        defer { held.store(false, ordering: .releasing) }
        return try body()
    }
}
