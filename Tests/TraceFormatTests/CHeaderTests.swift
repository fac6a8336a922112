import Foundation
import Testing
import TraceFormat
import TracePayloads

/// include/pmtrace_region.h is the C side of the same definitions: its record
/// kinds and format version must be the Swift ones.
@Suite struct CHeaderTests {
    static let header: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("include/pmtrace_region.h"), encoding: .utf8)) ?? ""
    }()

    static func value(_ name: String) -> Int? {
        guard let line = header.split(separator: "\n").first(where: { $0.contains(" \(name) ") || $0.contains(" \(name) =") }) else { return nil }
        let text = line.split(whereSeparator: { $0 == "=" || $0 == " " || $0 == "," }).last.map(String.init) ?? ""
        return text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
    }

    @Test func recordKindsMatch() {
        let kinds: [(String, RecordKind)] = [
            ("PMT_KIND_END_OF_SEGMENT", .endOfSegment), ("PMT_KIND_BLOB", .blob), ("PMT_KIND_MEMORY_ACCESS_BATCH", .memoryAccessBatch),
            ("PMT_KIND_PML_BATCH", .pmlBatch), ("PMT_KIND_PAGE_IMAGE", .pageImage), ("PMT_KIND_MARKER", .marker),
            ("PMT_KIND_PROCESS_MAP", .processMap), ("PMT_KIND_SYMBOL_TABLE_INFO", .symbolTableInfo), ("PMT_KIND_SYMBOL_CHUNK", .symbolChunk),
            ("PMT_KIND_GUEST_ACCESS_BATCH", .guestAccessBatch), ("PMT_KIND_CHECKPOINT", .checkpoint),
            ("PMT_KIND_MEMORY_ACCESS_STREAMS", .memoryAccessStreams),
        ]
        for (name, kind) in kinds { #expect(Self.value(name) == Int(kind.rawValue), "\(name)") }
        #expect(Self.value("PMT_KIND_FIRST_RESERVED") == Int(RecordKind.firstReserved))
        #expect(Self.value("PMT_KIND_FIRST_USER") == Int(RecordKind.firstUserKind))
        // Every kind Swift names is in the header.
        for raw in 0..<RecordKind.firstReserved where RecordKind(rawValue: raw).isAppendable || raw == 0 {
            #expect(kinds.contains { $0.1.rawValue == raw }, "kind \(raw) missing from the header")
        }
    }

    @Test func accessKindsMatch() {
        let kinds: [(String, MemoryAccess.Kind)] = [
            ("PMT_ACCESS_LOAD", .load), ("PMT_ACCESS_STORE", .store), ("PMT_ACCESS_MODIFY", .modify),
            ("PMT_ACCESS_INSTRUCTION_FETCH", .instructionFetch),
        ]
        for (name, kind) in kinds { #expect(Self.value(name) == Int(kind.rawValue), "\(name)") }
        #expect(kinds.count == MemoryAccess.Kind.allCases.count)
    }

    @Test func formatVersionMatches() {
        #expect(Self.value("PMT_FORMAT_VERSION_MAJOR") == Int(Layout.versionMajor))
        #expect(Self.value("PMT_FORMAT_VERSION_MINOR") == Int(Layout.versionMinor))
    }
}
