/// ISO-8601 / RFC 3339 times given on the command line, parsed strictly
/// into nanoseconds since the Unix epoch with integer arithmetic (no
/// `Double`: every digit counts, and no conversion can trap).
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM|±HHMM)`, 1 to 9 fractional
/// digits, `T`/`Z` in either case, a space for the `T` (RFC 3339 §5.6
/// allows it). Anything else (an exponent, trailing
/// text, a 13th month, a 61st second) is refused, never read as some other
/// time. Times before 1970 or after `largest` are refused too.
enum ISOTime {
    /// The latest time a UInt64 of nanoseconds holds.
    static let largest = "2554-07-21T23:34:33.709551615Z"

    /// Why a text is not a time this program can use.
    enum Problem: Error, Equatable {
        /// Not of the accepted shape (or a field out of range).
        case malformed
        /// Before 1970-01-01T00:00:00Z.
        case beforeEpoch
        /// After `largest`.
        case pastLargest
    }

    /// Whether `text` is meant as an ISO time (a date first), so that its
    /// problem, not a generic one, is reported.
    static func looksLikeDate(_ text: String) -> Bool {
        let u = Array(text.utf8.prefix(5))
        return u.count == 5 && u[0..<4].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && u[4] == UInt8(ascii: "-")
    }

    /// `text` as ns since the Unix epoch. O(length of text).
    static func nanoseconds(_ text: String) -> Result<UInt64, Problem> {
        var s = Scanner(Array(text.utf8))
        guard let year = s.digits(4), s.take("-"), let month = s.digits(2), s.take("-"), let day = s.digits(2),
              s.take("T") || s.take("t") || s.take(" "), let hour = s.digits(2), s.take(":"), let minute = s.digits(2), s.take(":"),
              let second = s.digits(2)
        else { return .failure(.malformed) }
        var fraction: Int64 = 0
        if s.take(".") {
            var n = 0
            while let d = s.digit() {
                n += 1
                guard n <= 9 else { return .failure(.malformed) }
                fraction = fraction * 10 + d
            }
            guard n > 0 else { return .failure(.malformed) }
            for _ in n..<9 { fraction *= 10 }
        }
        var offset: Int64 = 0
        if s.take("Z") || s.take("z") {
        } else if let sign: Int64 = s.take("+") ? 1 : s.take("-") ? -1 : nil {
            guard let oh = s.digits(2) else { return .failure(.malformed) }
            _ = s.take(":")
            guard let om = s.digits(2), oh <= 23, om <= 59 else { return .failure(.malformed) }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return .failure(.malformed)
        }
        guard s.atEnd, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 59
        else { return .failure(.malformed) }
        // Bounded by the 4-digit year: |seconds| < 2^39, no overflow in Int64.
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard seconds >= 0 else { return .failure(.beforeEpoch) }
        let (whole, o1) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, o2) = whole.addingReportingOverflow(UInt64(fraction))
        guard !o1, !o2 else { return .failure(.pastLargest) }
        return .success(ns)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the date (proleptic Gregorian; H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// A cursor over ASCII bytes.
    struct Scanner {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { at == bytes.count }
        mutating func take(_ c: Unicode.Scalar) -> Bool {
            guard at < bytes.count, bytes[at] == UInt8(ascii: c) else { return false }
            at += 1
            return true
        }
        mutating func digit() -> Int64? {
            guard at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 else { return nil }
            at += 1
            return Int64(bytes[at - 1] - 0x30)
        }
        mutating func digits(_ n: Int) -> Int64? {
            var v: Int64 = 0
            for _ in 0..<n {
                guard let d = digit() else { return nil }
                v = v * 10 + d
            }
            return v
        }
    }
}

extension ISOTime.Problem {
    /// The complaint about `text` given to `option`.
    func message(_ option: String, _ text: String, help: String) -> String {
        switch self {
        case .malformed: return "\(option) \(text): not a time. \(help)"
        case .beforeEpoch: return "\(option) \(text): before 1970-01-01T00:00:00Z (times are ns since the Unix epoch)"
        case .pastLargest: return "\(option) \(text): past the largest time, \(ISOTime.largest) (times are UInt64 ns since the Unix epoch)"
        }
    }
}
