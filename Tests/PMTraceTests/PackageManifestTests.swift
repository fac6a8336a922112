import Foundation
import Testing

/// Package.swift lists, for every target, every module of this package the
/// target imports — the ones it reaches through another target too.
///
/// Why: SwiftPM rebuilds a module only when a module it *declares* changes.
/// `pmtrace` imported TraceVolume but declared only PMTrace (which depends on
/// it): after an incremental release build the CLI kept the old inlined
/// `append` beside the new TraceVolume, and the NVM guest's `pmtrace
/// _torture-writer` wrote records whose bytes did not match their sequence
/// numbers (2 and 14 in two kill runs; a clean build: none). Reproduced in a
/// two-module package: an executable importing, but not declaring, a module
/// with an `@inlinable` function printed the old result after the change.
@Suite struct PackageManifestTests {
    static let root = VMMArchiveTests.root

    @Test func everyImportedModuleOfThisPackageIsADeclaredDependency() throws {
        let scratch = NSTemporaryDirectory() + "pmtrace-dump-package-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let r = try VMMArchiveTests.run("/usr/bin/env", ["swift", "package", "--scratch-path", scratch, "dump-package"])
        try #require(r.status == 0, "swift package dump-package: \(r.err)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let targets = try #require(manifest["targets"] as? [[String: Any]])
        var declared: [String: Set<String>] = [:], directories: [String: String] = [:]
        for t in targets {
            let name = try #require(t["name"] as? String)
            var names = Set<String>()
            for d in t["dependencies"] as? [[String: Any]] ?? [] {
                for key in ["byName", "target", "product"] {
                    if let entry = d[key] as? [Any], let first = entry.first as? String { names.insert(first) }
                }
            }
            declared[name] = names
            let type = t["type"] as? String
            directories[name] = (t["path"] as? String) ?? ((type == "test" ? "Tests/" : "Sources/") + name)
        }
        #expect(declared["pmtrace"]?.contains("PMTrace") == true, "the manifest was not read: \(declared.keys.sorted())")
        let locals = Set(declared.keys)
        var missing: [String] = []
        var filesRead = 0
        for (name, directory) in directories.sorted(by: { $0.key < $1.key }) {
            let dir = Self.root.appendingPathComponent(directory)
            guard let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { continue }
            var imported = Set<String>()
            for case let file as URL in files where file.pathExtension == "swift" {
                filesRead += 1
                for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                    if let module = Self.importedModule(line) { imported.insert(module) }
                }
            }
            for module in imported.sorted() where locals.contains(module) && module != name && declared[name]?.contains(module) != true {
                missing.append("\(name) imports \(module)")
            }
        }
        #expect(filesRead > 250, "read \(filesRead) source files")
        #expect(missing.isEmpty, "not declared in Package.swift: \(missing.joined(separator: "; "))")
    }

    /// The module an `import` declaration names (attributes, access levels and
    /// import kinds allowed before it), or nil for any other line.
    static func importedModule(_ line: Substring) -> String? {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        while let first = words.first, first.hasPrefix("@") || ["public", "package", "internal", "private", "fileprivate"].contains(first) {
            words.removeFirst()
        }
        guard words.first == "import", words.count >= 2 else { return nil }
        let kinds: Set = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"]
        let path = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
        return String(path.prefix { $0 != "." })
    }
}
