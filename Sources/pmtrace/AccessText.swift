import TraceAnalysis
import TracePayloads

/// Formats per-access rows as bytes without `String` per field: what makes
/// `export --format csv|jsonl` and `dump --accesses` cost text formatting
/// only. Appends to a reusable byte buffer.
struct AccessText {
    var bytes: [UInt8] = []

    static let kindNames: [[UInt8]] = MemoryAccess.Kind.allCases.map { Array(AccessText.kindName($0).utf8) }

    /// The kind's name as `stats` prints it ("load", "store", "modify", "instruction-fetch").
    static func kindName(_ k: MemoryAccess.Kind) -> String { k.name }

    mutating func decimal(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(48 + v)); return }
        // Digits right to left into a stack buffer, then one append (not one per digit).
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var i = d.count
            var x = v
            while x > 0 { i -= 1; d[i] = UInt8(truncatingIfNeeded: 48 + x % 10); x /= 10 }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[i...]))
        }
    }

    mutating func hex(_ v: UInt64) {
        bytes.append(48); bytes.append(120)  // "0x"
        var shift = max(0, (63 - v.leadingZeroBitCount) / 4 * 4)
        while shift >= 0 {
            let d = UInt8((v >> UInt64(shift)) & 0xF)
            bytes.append(d < 10 ? 48 + d : 87 + d)
            shift -= 4
        }
    }

    mutating func text(_ s: String) { bytes.append(contentsOf: s.utf8) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// `s` as a CSV field: quoted when it holds a comma, quote or line break.
    mutating func csvField(_ s: String) {
        guard s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else { text(s); return }
        bytes.append(34)
        for b in s.utf8 { if b == 34 { bytes.append(34) }; bytes.append(b) }
        bytes.append(34)
    }

    /// `s` as a JSON string (quotes, backslashes and control characters escaped).
    mutating func jsonString(_ s: String) {
        bytes.append(34)
        for b in s.utf8 {
            switch b {
            case 34: raw([92, 34])
            case 92: raw([92, 92])
            case 0..<32:
                raw(Array("\\u00".utf8))
                bytes.append(b >> 4 < 10 ? 48 + b >> 4 : 87 + b >> 4)
                bytes.append(b & 15 < 10 ? 48 + b & 15 : 87 + b & 15)
            default: bytes.append(b)
            }
        }
        bytes.append(34)
    }
}
