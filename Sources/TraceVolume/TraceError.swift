import TraceFormat

/// Every failure of the store, with what and where.
public enum TraceError: Error, Equatable, Sendable {
    /// A structure read from media is damaged (names structure and offset).
    case damaged(FormatError)
    /// The file holds no PMTrace superblock (never formatted, or another kind of file).
    case notARegion(reason: String)
    /// The region was written by a format version this build cannot read.
    case unsupportedVersion(major: UInt16, minor: UInt16)
    /// A newer minor version: readable, but this build will not write to it.
    case newerMinorVersion(major: UInt16, minor: UInt16)
    /// The region was mapped `by` bytes off where it starts (its superblock
    /// copy A was found where copy B belongs, or B where A belongs; regions
    /// formatted since 1.3): positive, the region starts that many bytes
    /// after the offset given; negative, before it.
    case regionMisplaced(by: Int64)
    /// The file is shorter than the region its superblocks describe.
    case regionTruncated(recordedSize: UInt64, mappedSize: UInt64)
    /// Records of this kind cannot be appended (0 ends a segment; 9...0x7FFF
    /// are reserved for future format versions).
    case reservedKind(UInt16)
    /// Both superblock copies fail their checks.
    case bothSuperblocksDamaged(a: FormatError, b: FormatError)
    /// The region cannot hold the metadata plus the minimum number of segments.
    case regionTooSmall(size: UInt64, minimum: UInt64)
    /// A format parameter is out of range.
    case invalidParameter(name: String, value: UInt64)
    /// A volume name breaks the rules of FORMAT.md §4.1.
    case invalidName(NameProblem)
    /// A volume of that name exists.
    case duplicateName(String)
    /// No live volume has that name.
    case volumeNotFound(String)
    /// The volume is sealed: no more appends.
    case volumeSealed(String)
    /// The volume has a writer open in this process (delete, seal, rename
    /// wait for it to close).
    case volumeBusy(String)
    /// Every one of the `slots` volume-table slots is in use.
    case volumeTableFull(slots: Int)
    /// A lane count of `requested`; 1 … `max` allowed.
    case invalidLaneCount(requested: Int, max: Int)
    /// Lane `lane` of a volume with `laneCount` lanes.
    case laneOutOfRange(lane: Int, laneCount: Int)
    /// Another writer in this process has this lane.
    case laneBusy(volume: String, lane: Int)
    /// No free segment and the volume is not in ring mode.
    case regionFull(freeSegments: UInt64, totalSegments: UInt64, segmentSize: UInt64)
    /// A record of `bytes` bytes does not fit what ring volume `volume`'s
    /// lane `lane` can keep: taking the next segment would reclaim the one
    /// holding the record's own first fragment. Nothing of it is committed.
    case recordLargerThanRing(volume: String, lane: Int, bytes: Int)
    /// The store was mounted read-only.
    case readOnly
    /// A lane's chain or records are damaged; names volume and lane.
    case laneDamaged(volume: String, lane: Int, FormatError)
    /// A record's bytes changed between the check and the copy (its segment
    /// was reused by a concurrent writer).
    case recordChanged(segment: UInt64, offset: Int)
    /// A segment that looked free was kept because its header names a live
    /// volume it may hold data of (a warning, not a failure).
    case segmentReserved(segment: UInt64, volume: String)
    /// A ring-mode writer reclaimed the segment a reader was in (a reader
    /// opened with `ReadOptions.skipReclaimed` goes on at the oldest record
    /// instead, and reports the gap).
    case overwrittenWhileReading(volume: String, lane: Int)
    /// The volume was deleted while this reader read it (its volume-table
    /// slot no longer holds it), so its segments may hold another volume's
    /// bytes now; what was handed out before was the volume's own.
    case volumeDeletedWhileReading(volume: String, lane: Int)
    /// The region reported a lost store (`PersistentRegion.storesLost`: a
    /// bus error, or its file cut short under the mapping): the lane
    /// publishes nothing more and takes no new segment; it stays as of its
    /// last commit before the loss.
    case storesLost(volume: String, lane: Int)
    /// The region reported a lost store before or during a change to volume
    /// `volume`'s table entry (create, rename, seal, delete): the change is
    /// not taken as made (it may not have reached media; the entry's other
    /// copy still holds the volume as it was), and after a loss the store
    /// makes no further change.
    case updateLost(volume: String)
}

extension TraceError: CustomStringConvertible {
    /// One line a person can act on, naming what is wrong and where.
    public var description: String {
        switch self {
        case .damaged(let e): return "damaged region: \(e)"
        case .notARegion(let reason): return "not a PMTrace region: \(reason)"
        case .unsupportedVersion(let major, let minor):
            return "format version \(major).\(minor) is not supported (this build reads version \(Layout.versionMajor).x)"
        case .newerMinorVersion(let major, let minor):
            return "format version \(major).\(minor) is newer than this build's \(Layout.versionMajor).\(Layout.versionMinor): opened read-only only"
        case .regionMisplaced(let by):
            return by > 0
                ? "the region starts \(by) bytes after the offset it was opened at (superblock copy A was found where copy B belongs): open it at that offset"
                : "the region starts \(-by) bytes before the offset it was opened at (superblock copy B was found where copy A belongs): open it at that offset"
        case .regionTruncated(let recorded, let mapped):
            return "the region is truncated: its superblocks describe \(recorded) bytes but only \(mapped) are there"
        case .reservedKind(let kind):
            return kind == 0
                ? "record kind 0 is the end-of-segment marker and cannot be appended"
                : "record kind \(kind) is reserved for future format versions (applications use 0x8000...0xFFFF)"
        case .bothSuperblocksDamaged(let a, let b):
            return "both superblock copies are damaged: \(a); \(b)"
        case .regionTooSmall(let size, let minimum):
            return "region of \(size) bytes is too small: at least \(minimum) bytes are needed"
        case .invalidParameter(let name, let value): return "invalid \(name): \(value)"
        case .invalidName(let p):
            switch p {
            case .empty: return "invalid volume name: empty"
            case .tooLong(let length, let max): return "invalid volume name: \(length) bytes long, at most \(max) allowed"
            case .notUTF8: return "invalid volume name: not valid UTF-8"
            case .containsNUL: return "invalid volume name: contains a NUL byte"
            case .controlCharacter(let offset): return "invalid volume name: control character at byte \(offset)"
            case .reserved: return "invalid volume name: names beginning with '.' are reserved for the symbol catalog"
            }
        case .duplicateName(let n): return "a volume named '\(n)' already exists"
        case .volumeNotFound(let n): return "no volume named '\(n)'"
        case .volumeSealed(let n): return "volume '\(n)' is sealed (read-only)"
        case .volumeBusy(let n): return "volume '\(n)' has an open writer"
        case .volumeTableFull(let slots): return "the volume table is full (\(slots) slots)"
        case .invalidLaneCount(let requested, let max): return "invalid lane count \(requested): 1...\(max) allowed"
        case .laneOutOfRange(let lane, let count): return "lane \(lane) does not exist (the volume has \(count) lanes)"
        case .laneBusy(let v, let lane): return "lane \(lane) of volume '\(v)' already has a writer"
        case .regionFull(let free, let total, let segmentSize):
            return "region full: \(free) of \(total) segments free (\(free * segmentSize) bytes left); create the volume with ring mode to reuse its oldest segments"
        case .recordLargerThanRing(let v, let lane, let bytes):
            return "a record of \(bytes) bytes does not fit ring volume '\(v)' lane \(lane): its next fragment would reclaim the segment holding its first (free segments or make the records smaller)"
        case .readOnly: return "the region is open read-only"
        case .laneDamaged(let v, let lane, let e): return "volume '\(v)' lane \(lane) is damaged: \(e)"
        case .recordChanged(let segment, let offset):
            return "the record at segment \(segment) offset \(offset) changed while it was copied (a concurrent writer reused the segment); nothing of it was handed out"
        case .segmentReserved(let segment, let volume):
            return "segment \(segment) is kept out of reuse: it may hold data of volume '\(volume)' that no chain reaches (freed when that volume is deleted)"
        case .overwrittenWhileReading(let v, let lane):
            return "volume '\(v)' lane \(lane): the ring writer reclaimed the segment being read"
        case .volumeDeletedWhileReading(let v, let lane):
            return "volume '\(v)' was deleted while it was being read (lane \(lane) met segments reused since); every record handed out before was the volume's own"
        case .storesLost(let v, let lane):
            return "volume '\(v)' lane \(lane): a store to the region was lost (bus error, or the file was cut short); nothing after the lane's last commit before it is published"
        case .updateLost(let v):
            return "volume '\(v)': a store to the region was lost (bus error, or the file was cut short); the change to the volume was not made, or may not have reached media"
        }
    }
}
