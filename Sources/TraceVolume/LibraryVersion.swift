import CPMTrace
import TraceFormat

/// The version of this library and the on-media format it reads and writes.
///
/// Single source of truth: the software version is the C header's
/// `PMT_VERSION_MAJOR`/`MINOR`/`PATCH` (include/pmtrace_region.h), read here
/// through the `CPMTrace` module, so Swift, `pmt_version()` and
/// `pmtrace --version` cannot disagree. The format version is
/// `Layout.versionMajor`/`versionMinor`, which a test holds equal to
/// `PMT_FORMAT_VERSION_MAJOR`/`MINOR`.
///
/// Thread safety: constants. Cost: none. Embedded-Swift clean.
public enum LibraryVersion {
    /// Major software version: an incompatible change of the public API.
    public static let major = Int(PMT_VERSION_MAJOR)
    /// Minor software version: additions that keep the API compatible.
    public static let minor = Int(PMT_VERSION_MINOR)
    /// Patch version: fixes only.
    public static let patch = Int(PMT_VERSION_PATCH)
    /// `major * 10000 + minor * 100 + patch`, the number `pmt_version()` returns.
    public static let number = UInt32(major * 10000 + minor * 100 + patch)
    /// The software version as text, "major.minor.patch".
    public static var text: String { "\(major).\(minor).\(patch)" }

    /// The on-media format major version this library writes; it reads
    /// every minor version of this major version and writes to regions of
    /// this minor version or older (FORMAT.md §11).
    public static let formatMajor = Int(Layout.versionMajor)
    /// The on-media format minor version this library writes.
    public static let formatMinor = Int(Layout.versionMinor)
    /// The format version as text, "major.minor".
    public static var formatText: String { "\(formatMajor).\(formatMinor)" }
}
