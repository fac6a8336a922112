/// A four-character ACPI table signature ("SRAT", "NFIT"), kept as its
/// bytes in a little-endian word so that it compares without String.
public struct ACPISignature: Equatable, Sendable, CustomStringConvertible {
    /// The four bytes, the first in the low byte.
    public let rawValue: UInt32

    /// The signature whose bytes are `rawValue` (first byte lowest).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The signature of four ASCII bytes.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
    }

    /// "SRAT": the System Resource Affinity Table.
    public static let srat = ACPISignature(0x53, 0x52, 0x41, 0x54)
    /// "NFIT": the NVDIMM Firmware Interface Table.
    public static let nfit = ACPISignature(0x4E, 0x46, 0x49, 0x54)

    /// The four characters, printable ASCII as is, other bytes as `\xNN`.
    public var description: String {
        var s = ""
        for i in 0..<4 {
            let b = UInt8(truncatingIfNeeded: rawValue >> (8 * UInt32(i)))
            if b >= 0x20 && b < 0x7F {
                s += String(decoding: [b], as: UTF8.self)
            } else {
                s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return s
    }
}
