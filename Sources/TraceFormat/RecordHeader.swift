/// The 32-byte header before every record payload (FORMAT.md §7).
///
/// The CRC covers header bytes 0..<28 and then the payload, starting from the
/// CRC of the segment header the record lives in: a record left over from a
/// segment's earlier life never validates in its new one.
public struct RecordHeader: Equatable, Sendable {
    /// How a record's fragments join (FORMAT.md §7): unsplit records have none.
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The flag bits as stored.
        public let rawValue: UInt16
        /// Flags from stored bits (unknown bits are kept; readers check `known`).
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// More fragments of this record follow (records longer than a segment).
        public static let hasMore = Flags(rawValue: 1)
        /// This fragment continues a record started earlier.
        public static let continuation = Flags(rawValue: 2)
        /// Every flag this version defines; readers reject others.
        public static let known: Flags = [.hasMore, .continuation]
    }

    /// Payload bytes of this fragment (not of the whole record).
    public var payloadLength: UInt32
    /// What the payload holds (FORMAT.md §7, §8).
    public var kind: RecordKind
    /// Split-record flags (`hasMore`, `continuation`).
    public var flags: Flags
    /// Record number within the lane; fragments of one record share it.
    public var sequence: UInt64
    /// Nanoseconds; writers keep it non-decreasing within a lane.
    public var timestamp: UInt64

    /// A header with the given fields; `encodeFields` writes it, the checksum is computed over header and payload.
    public init(payloadLength: UInt32, kind: RecordKind, flags: Flags, sequence: UInt64, timestamp: UInt64) {
        self.payloadLength = payloadLength
        self.kind = kind
        self.flags = flags
        self.sequence = sequence
        self.timestamp = timestamp
    }

    /// Writes the header bytes 0..<28 (everything but the CRC).
    /// Bytes 0..<8 go out as one 8-byte store so that the CRC's 8-byte load
    /// of them right after is forwarded from the store buffer instead of
    /// stalling on three partial stores (it is on the append hot path).
    @inlinable
    public func encodeFields(into p: UnsafeMutableRawPointer) {
        let first = UInt64(payloadLength) | UInt64(kind.rawValue) << 32 | UInt64(flags.rawValue) << 48
        p.storeLE(first, at: 0)
        p.storeLE(sequence, at: 8)
        p.storeLE(timestamp, at: 16)
        p.storeLE(UInt32(0), at: 24)
    }

    /// Header bytes covered by the record checksum (everything before the CRC field).
    public static let checksummedHeaderBytes = 28

    /// The record checksum rule (FORMAT.md §7): CRC32C seeded with the CRC of
    /// the segment header the record lives in, over header bytes 0..<28, then
    /// over the payload. `crc` is the implementation to use (hardware or
    /// `CRC32C.software`; all give the same value).
    @inlinable
    public static func checksum(
        seed: UInt32, header: UnsafeRawPointer, payload: UnsafeRawPointer?, count: Int, crc: CRC32C.Function
    ) -> UInt32 {
        crc(crc(seed, header, checksummedHeaderBytes), payload, count)
    }

    /// Decodes the fields (no CRC check; see `RecordHeader.checksum`).
    @inlinable
    public static func decodeFields(_ p: UnsafeRawPointer) -> RecordHeader {
        RecordHeader(
            payloadLength: p.loadLE(0), kind: RecordKind(rawValue: p.loadLE(4)),
            flags: Flags(rawValue: p.loadLE(6)), sequence: p.loadLE(8), timestamp: p.loadLE(16))
    }

    /// The stored CRC of a header at `p`.
    @inlinable
    public static func storedCRC(_ p: UnsafeRawPointer) -> UInt32 { p.loadLE(28) }
}
