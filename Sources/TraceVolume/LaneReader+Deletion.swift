import TraceFormat

extension LaneReader {
    /// Whether this reader's volume still holds its volume-table slot, read
    /// from media (so a deletion by another process shows). O(1).
    var volumeStillLive: Bool {
        guard let e = TraceStore.bestEntry(media, slot: slot) else { return false }
        return e.state == .live && e.uid == uid
    }

    /// `error`, or `volumeDeletedWhileReading` when a deletion explains it:
    /// the volume no longer holds its slot, so its segments may have been
    /// reused, and their new bytes fail this reader's checks (damage, a
    /// changed record, a chain that names another owner). Errors a deletion
    /// does not cause pass through unchanged. O(1).
    func explained(_ error: TraceError) -> TraceError {
        switch error {
        case .damaged, .laneDamaged, .recordChanged, .overwrittenWhileReading:
            return volumeStillLive ? error : .volumeDeletedWhileReading(volume: volume, lane: lane)
        default:
            return error
        }
    }
}

extension VolumeReader {
    /// `error` as a deletion of the volume explains it: when the volume no
    /// longer holds its volume-table slot (deleted while being read, its
    /// segments perhaps reused), `volumeDeletedWhileReading`; otherwise
    /// `error` unchanged. For errors met outside the reader, such as
    /// `RecordView.copyVerified`'s `recordChanged`. O(1).
    public func explained(_ error: TraceError) -> TraceError {
        var lane = 0
        switch error {
        case .laneDamaged(_, let l, _), .overwrittenWhileReading(_, let l): lane = l
        default: break
        }
        guard lane >= 0, lane < lanes.count else { return error }
        return lanes[lane].explained(error)
    }
}
