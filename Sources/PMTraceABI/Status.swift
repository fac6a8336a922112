import CPMTrace
import TraceFormat
import TraceVolume

/// The C result code for a store error (pmtrace_region.h). Also records the
/// error's text for pmt_last_error().
public func fail(_ error: TraceError) -> Int32 {
    setLastError(error.description)
    return status(of: error)
}

/// A failure that is not a store error (a null argument, say).
public func fail(_ code: Int32, _ message: String) -> Int32 {
    setLastError(message)
    return code
}

func status(of error: TraceError) -> Int32 {
    switch error {
    case .invalidParameter, .invalidName, .invalidLaneCount, .laneOutOfRange, .duplicateName: return Int32(PMT_E_INVALID)
    case .notARegion, .regionMisplaced, .regionTooSmall, .regionTruncated: return Int32(PMT_E_NOT_A_REGION)
    case .damaged, .bothSuperblocksDamaged, .laneDamaged, .recordChanged, .overwrittenWhileReading: return Int32(PMT_E_DAMAGED)
    case .unsupportedVersion, .newerMinorVersion: return Int32(PMT_E_VERSION)
    case .volumeNotFound, .volumeDeletedWhileReading: return Int32(PMT_E_NOT_FOUND)
    case .volumeSealed: return Int32(PMT_E_SEALED)
    case .volumeBusy, .laneBusy: return Int32(PMT_E_BUSY)
    case .regionFull, .volumeTableFull, .recordLargerThanRing: return Int32(PMT_E_FULL)
    case .readOnly: return Int32(PMT_E_READ_ONLY)
    case .reservedKind: return Int32(PMT_E_KIND)
    case .segmentReserved: return Int32(PMT_E_DAMAGED)
    case .storesLost, .updateLost: return Int32(PMT_E_IO)
    }
}

@_cdecl("pmt_strerror")
public func pmt_strerror(_ code: Int32) -> UnsafePointer<CChar> {
    let text: StaticString
    switch code {
    case Int32(PMT_OK): text = "PMT_OK: success"
    case Int32(PMT_EXISTED): text = "PMT_EXISTED: already existed"
    case Int32(PMT_END): text = "PMT_END: at the committed tail"
    case Int32(PMT_E_INVALID): text = "PMT_E_INVALID: invalid argument"
    case Int32(PMT_E_NOT_A_REGION): text = "PMT_E_NOT_A_REGION: not a PMTrace region"
    case Int32(PMT_E_DAMAGED): text = "PMT_E_DAMAGED: damaged structure on media"
    case Int32(PMT_E_VERSION): text = "PMT_E_VERSION: unsupported format version"
    case Int32(PMT_E_NOT_FOUND): text = "PMT_E_NOT_FOUND: no such volume"
    case Int32(PMT_E_SEALED): text = "PMT_E_SEALED: volume is sealed"
    case Int32(PMT_E_BUSY): text = "PMT_E_BUSY: lane, volume or region in use"
    case Int32(PMT_E_FULL): text = "PMT_E_FULL: region full"
    case Int32(PMT_E_READ_ONLY): text = "PMT_E_READ_ONLY: attached read-only"
    case Int32(PMT_E_KIND): text = "PMT_E_KIND: reserved record kind"
    case Int32(PMT_E_IO): text = "PMT_E_IO: mapping or file error"
    default: text = "unknown PMTrace result code"
    }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("pmt_last_error")
public func pmt_last_error() -> UnsafePointer<CChar> { lastError() }

@_cdecl("pmt_version")
public func pmt_version() -> UInt32 {
    UInt32(PMT_VERSION_MAJOR) * 10000 + UInt32(PMT_VERSION_MINOR) * 100 + UInt32(PMT_VERSION_PATCH)
}
