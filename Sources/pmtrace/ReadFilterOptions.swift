import ArgumentParser
import TraceAnalysis
import TraceVolume

/// `--lane`, `--since`, `--until` of dump, hot, export, heatmap and working-set (README, "The CLI").
struct ReadFilterOptions: ParsableArguments {
    @Option(name: .customLong("lane"), parsing: .unconditionalSingleValue, help: "Read only this lane (repeatable).") var lanes: [Int] = []
    @Option(help: ArgumentHelp("Only records at or after this time.", discussion: TimeArgument.help, valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Only records at or before this time.", valueName: "time")) var until: String?

    /// The filter for `reader`'s volume; relative times (`+2s`) count from
    /// the volume's first record (read here: O(lanes)).
    func filter(for reader: VolumeReader) throws -> RecordFilter {
        for l in lanes where l < 0 || l >= reader.info.laneCount {
            throw CLIError("--lane \(l): the volume has lanes 0…\(reader.info.laneCount - 1)")
        }
        var origin: UInt64?
        func resolve(_ text: String?, _ name: String) throws -> UInt64? {
            guard let text else { return nil }
            if text.hasPrefix("+") && origin == nil { origin = try Self.firstTimestamp(reader) }
            return try TimeArgument.parse(text, origin: origin ?? 0, option: name)
        }
        let f = RecordFilter(lanes: lanes.isEmpty ? nil : Set(lanes), since: try resolve(since, "--since"), until: try resolve(until, "--until"))
        if let s = f.since, let u = f.until, s > u { throw CLIError("--since is after --until") }
        return f
    }

    /// The mappings a `pmtrace record` volume stored: those `stream` met, or,
    /// when a filter kept it from reading the maps marker at the end of lane
    /// 0 (`--until` before the program's exit, `--lane` without 0), read from
    /// lane 0 itself (O(records of lane 0)). Empty for volumes without one.
    func recordedMaps(_ stream: AccessStream, store: TraceStore, volumeBytes: [UInt8]) throws -> MappingTable {
        let filtered = !lanes.isEmpty || since != nil || until != nil
        guard stream.recordedMaps.lines.isEmpty, filtered else { return stream.recordedMaps }
        return try MappingTable.recorded(in: store, volumeBytes: volumeBytes)
    }

    /// The earliest first-record timestamp over the lanes (peeks, then rewinds).
    static func firstTimestamp(_ reader: VolumeReader) throws -> UInt64 {
        var first = UInt64.max
        for lane in reader.lanes {
            if let r = try lane.next() { first = min(first, r.timestamp) }
        }
        try reader.seek(timestamp: 0)
        return first == .max ? 0 : first
    }
}

/// Times given on the command line.
enum TimeArgument {
    static let help = "A time is ns since the Unix epoch, ISO-8601 (2026-11-27T13:33:43.5Z), or +<n>[ns|us|ms|s|m] after the volume's first record."

    static func parse(_ text: String, origin: UInt64, option: String) throws -> UInt64 {
        if let ns = UInt64(text) { return ns }
        if text.hasPrefix("+") {
            var body = Substring(text.dropFirst())
            var scale = 1e9
            for (suffix, s) in [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9)] where body.hasSuffix(suffix) {
                body = body.dropLast(suffix.count)
                scale = s
                break
            }
            guard let v = Double(body), v >= 0, v * scale < 1.8e19 else { throw CLIError("\(option) \(text): \(help)") }
            let (t, overflow) = origin.addingReportingOverflow(UInt64(v * scale))
            guard !overflow else { throw CLIError("\(option) \(text): past the largest time") }
            return t
        }
        switch ISOTime.nanoseconds(text) {
        case .success(let ns): return ns
        case .failure(let problem): throw CLIError(problem.message(option, text, help: help))
        }
    }
}
