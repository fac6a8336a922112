import Foundation
import Testing

/// README's "Use it from Swift": its Package.swift and main.swift, taken from
/// the README by their markers, build as a second package that depends on
/// this one by path, and the program prints what the README says.
@Suite(.serialized) struct ReadmeSnippetTests {
    @Test func swiftSnippetBuildsAsASecondPackageAndRuns() throws {
        let work = scratchPath("swift-user")
        let package = "\(work)/hello-pmtrace"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: "\(package)/Sources/hello-pmtrace", withIntermediateDirectories: true)
        // The README's "../pmtrace" is a checkout of this repository beside the package.
        try FileManager.default.createSymbolicLink(atPath: "\(work)/pmtrace", withDestinationPath: repositoryRoot.path)
        let manifest = try readmeSnippet("swift-package")
        #expect(manifest.contains(".package(path: \"../pmtrace\")"), "the README's path to the package moved")
        try manifest.write(toFile: "\(package)/Package.swift", atomically: true, encoding: .utf8)
        try readmeSnippet("swift-main").write(toFile: "\(package)/Sources/hello-pmtrace/main.swift", atomically: true, encoding: .utf8)
        // Its own scratch directory, kept between runs beside the repository's builds.
        let scratch = repositoryRoot.appendingPathComponent(".build-readme").path
        let build = try shell("swift build --scratch-path '\(scratch)' -Xswiftc -warnings-as-errors", in: package)
        try #require(build.status == 0, "\(build.output.suffix(3000))")
        let pool = "\(work)/hello.pool"
        let run = try shell("'\(scratch)/debug/hello-pmtrace' '\(pool)'")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output == "0 hello 1 from Swift\n1 hello 2 from Swift\n2 hello 3 from Swift\n", "\(run.output)")
        let read = try pmtrace(["read", pool, "greetings"])
        #expect(read.out == "hello 1 from Swifthello 2 from Swifthello 3 from Swift")
    }
}
