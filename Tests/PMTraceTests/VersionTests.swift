import Foundation
import PMTraceABI
import Testing
import TraceFormat
import TraceVolume

/// One version everywhere: the C header's macros (the single source),
/// `LibraryVersion`, `pmt_version()`, `pmtrace --version` and CHANGELOG.md.
@Suite struct VersionTests {
    static let header = (try? String(contentsOf: repositoryRoot.appendingPathComponent("include/pmtrace_region.h"), encoding: .utf8)) ?? ""

    static func macro(_ name: String) -> Int? {
        header.split(separator: "\n").first { $0.hasPrefix("#define \(name) ") }.flatMap { Int($0.split(separator: " ")[2]) }
    }

    @Test func swiftCAndTheLinkedLibraryAgree() throws {
        let (major, minor, patch) = (try #require(Self.macro("PMT_VERSION_MAJOR")), try #require(Self.macro("PMT_VERSION_MINOR")),
                                     try #require(Self.macro("PMT_VERSION_PATCH")))
        #expect(LibraryVersion.major == major && LibraryVersion.minor == minor && LibraryVersion.patch == patch)
        #expect(LibraryVersion.text == "\(major).\(minor).\(patch)")
        #expect(pmt_version() == UInt32(major * 10000 + minor * 100 + patch))
        #expect(LibraryVersion.number == pmt_version())
        #expect(Self.macro("PMT_FORMAT_VERSION_MAJOR") == LibraryVersion.formatMajor && LibraryVersion.formatMajor == Int(Layout.versionMajor))
        #expect(Self.macro("PMT_FORMAT_VERSION_MINOR") == LibraryVersion.formatMinor && LibraryVersion.formatMinor == Int(Layout.versionMinor))
    }

    @Test func cliPrintsSoftwareAndFormatVersions() throws {
        let r = try pmtrace(["--version"])
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n")
        #expect(lines.first == "pmtrace \(LibraryVersion.text)", "\(r.out)")
        #expect(lines.dropFirst().first?.hasPrefix("on-media format \(LibraryVersion.formatText) (writes \(LibraryVersion.formatText); reads \(LibraryVersion.formatMajor).x") == true, "\(r.out)")
    }

    @Test func changelogLeadsWithThisVersion() throws {
        let log = try String(contentsOf: repositoryRoot.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let first = log.split(separator: "\n").first { $0.hasPrefix("## ") }
        #expect(first?.hasPrefix("## \(LibraryVersion.text)") == true, "\(first ?? "none")")
        #expect(log.contains("writes \(LibraryVersion.formatText)"))
        #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("LICENSE").path))
    }
}
