import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `Benchmarks all --quick` runs every experiment end to end and writes
/// output that parses. Nothing about speed is asserted here.
@Suite struct BenchmarksQuickTests {
    final class SVGCheck: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements[name, default: 0] += 1
        }
    }

    @Test func quickRunProducesParsableResults() throws {
        let binary = URL(fileURLWithPath: pmtraceBinary).deletingLastPathComponent().appendingPathComponent("Benchmarks").path
        let out = scratchPath("bench")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["all", "--quick", "--out", out]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(text.contains("libpmem2 granularity:"))
        for (name, columns) in [("sweep", 14), ("transfer", 5), ("peers", 22), ("events", 5), ("mount", 3), ("mount-segments", 3), ("symbols", 6), ("transfer-anchor", 4), ("crc", 7)] {
            let csv = try String(contentsOfFile: "\(out)/\(name).csv", encoding: .utf8)
            let lines = csv.split(separator: "\n").filter { !$0.hasPrefix("#") }
            #expect(lines.count >= 2, "\(name).csv has no rows")
            #expect(csv.hasPrefix("# libpmem2 granularity:"), "\(name).csv does not say which granularity was measured")
            for row in lines.dropFirst() {
                let cells = row.split(separator: ",", omittingEmptySubsequences: false)
                #expect(cells.count == columns, "\(name).csv: \(row)")
                #expect(cells.dropFirst(name == "mount" ? 1 : (name == "symbols" ? 2 : 0)).dropLast(name == "symbols" ? 1 : 0).allSatisfy { Double($0) != nil }, "\(name).csv: \(row)")
            }
        }
        for name in ["sweep", "transfer", "peers", "events", "mount", "mount-segments", "symbols"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(name).svg"))
            let parser = XMLParser(data: data)
            let check = SVGCheck()
            parser.delegate = check
            #expect(parser.parse(), "\(name).svg is not well-formed")
            #expect(check.elements["polyline", default: 0] >= 1 && check.elements["text", default: 0] >= 5, "\(name).svg has no plot")
        }
    }
}
