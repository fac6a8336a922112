import Foundation

// The JSON convention of every `--json` output (README, "JSON output"):
// - numbers are JSON numbers (counts, sizes, offsets, addresses, ids);
//   identifiers that are not quantities (uuid, build-id) are hex text;
// - a value that is not available is `null`, and its field is always present;
// - a time is two fields: `<name>` integer nanoseconds since the Unix epoch and
//   `<name>ISO` the same instant as ISO-8601 text in UTC with nanoseconds;
//   both are null when the time is unknown (0 on media: no clock);
// - the same thing has the same field name in every command.

/// A field that is written as `null` when absent, never left out.
@propertyWrapper
struct OrNull<Value: Encodable>: Encodable {
    var wrappedValue: Value?
    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let v = wrappedValue { try c.encode(v) } else { try c.encodeNil() }
    }
}

enum JSONTime {
    /// `ns` as a JSON time value: nil (null) when 0, the store's "no clock".
    static func ns(_ ns: UInt64) -> UInt64? { ns == 0 ? nil : ns }

    /// `ns` since the Unix epoch as ISO-8601 UTC text with nine fractional
    /// digits ("2026-11-27T13:33:43.123456789Z"); nil when 0 (unknown).
    static func iso(_ ns: UInt64) -> String? {
        guard ns > 0 else { return nil }
        var seconds = time_t(ns / 1_000_000_000)
        var t = tm()
        gmtime_r(&seconds, &t)
        let fraction = String(ns % 1_000_000_000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
            + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}

/// A byte range of the region (bad blocks): offset and length in bytes.
struct ByteRange: Encodable {
    var offset: UInt64
    var length: UInt64
}
