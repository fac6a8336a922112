import CFaultGuard
import Synchronization

/// Turns SIGBUS in a mapped region into a recorded fault (see
/// `fault_guard.h`): the faulting page reads as zeros, the process lives,
/// and the fault is reported as `PMemError.mediaFault` naming file and offset.
///
/// Every `PMemMapping` registers its range; faults of mappings already
/// released stay in `unreported` until `takeFaults()` collects them, so a
/// command can report them after its pool is gone.
enum FaultGuard {
    struct Registration: Sendable {
        let slot: Int32
        let base: UInt
    }

    private static let unreported = Mutex<[PMemError]>([])

    /// Installs the SIGBUS handler and ignores SIGXFSZ (a file-size limit
    /// then fails the system call with EFBIG); idempotent.
    @discardableResult
    static func install() -> Bool { pmt_fault_guard_install() == 0 }

    /// Registers a mapping; nil when the handler cannot be installed or the
    /// table is full (the mapping then works as before, without the guard).
    static func register(base: UnsafeMutableRawPointer, size: UInt64) -> Registration? {
        guard pmt_fault_guard_install() == 0 else { return nil }
        let slot = pmt_fault_guard_register(base, Int(size))
        return slot >= 0 ? Registration(slot: slot, base: UInt(bitPattern: base)) : nil
    }

    /// The faults recorded for a registration so far, as an error.
    static func fault(_ r: Registration, path: String) -> PMemError? {
        var first: UInt = 0
        let n = pmt_fault_guard_faults(r.slot, &first)
        guard n > 0 else { return nil }
        let offset = UInt64(first &- r.base)
        return .mediaFault(path: path, offset: offset, faults: n, fileSize: system_currentSize(path))
    }

    /// The registration's fault count, for a store to poll with one load
    /// (`pmt_region.lost_stores`); valid while the registration is.
    static func counter(_ r: Registration) -> UnsafePointer<UInt64>? {
        pmt_fault_guard_counter(r.slot).map { UnsafePointer($0) }
    }

    /// The persist function of watched registrations (see `watchSize`).
    static let checkedPersist: pmt_persist_fn = pmt_fault_guard_persist_checked

    /// After each persist through `pmt_fault_guard_persist_checked` in this
    /// registration's range, checks that regular file `fd` still reaches
    /// `fileEnd`, counting a fault when it does not. `fd` stays open while
    /// the registration lives. False when there is no persist function.
    static func watchSize(_ r: Registration, fd: Int32, fileEnd: UInt64, persist: pmt_persist_fn?) -> Bool {
        guard let persist else { return false }
        pmt_fault_guard_watch_size(r.slot, fd, fileEnd, persist)
        return true
    }

    /// Forgets a registration, keeping its fault (if any) for `takeFaults`.
    static func unregister(_ r: Registration, path: String) {
        let f = fault(r, path: path)
        pmt_fault_guard_unregister(r.slot)
        if let f { unreported.withLock { $0.append(f) } }
    }

    static func take() -> [PMemError] {
        unreported.withLock { list in defer { list = [] }; return list }
    }
}
