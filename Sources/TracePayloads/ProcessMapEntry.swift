import TraceFormat

/// The payload of a `.processMap` record (FORMAT.md §8.5a): one mapping of an
/// application image in one address space over a time range.
///
/// ```
/// 0  u32 magic "PMPM"   4  u32 pid
/// 8  u64 validFrom (ns) 16 u64 validTo (ns, 0 = still mapped)
/// 24 u64 start          32 u64 end (exclusive)    40 u64 fileOffset
/// 48 u64 loadBias (runtime address − link-time address)
/// 56 u16 appLength  58 u16 buildIdLength  60 u16 addressSpaceLength  62 u16 pathLength
/// 64 app, build-id, address-space name, path
/// ```
public struct ProcessMapEntry: Equatable, Sendable {
    /// The payload's first four bytes.
    public static let magic: UInt32 = 0x4D50_4D50  // "PMPM"
    /// Bytes before the variable-length fields.
    public static let headerSize = 64

    /// The process the mapping belongs to.
    public var pid: UInt32
    /// Start of validity, ns since the Unix epoch.
    public var validFrom: UInt64
    /// End of validity (0: still mapped).
    public var validTo: UInt64
    /// First runtime address of the mapping.
    public var start: UInt64
    /// One past the last runtime address.
    public var end: UInt64
    /// Offset of the mapping in the image file.
    public var fileOffset: UInt64
    /// Runtime minus link-time address, modulo 2^64 (FORMAT.md §8.6).
    public var loadBias: UInt64
    /// The application's name.
    public var app: [UInt8]
    /// The image's GNU build-id bytes (may be empty).
    public var buildID: [UInt8]
    /// The address space's name.
    public var addressSpace: [UInt8]
    /// The image's path.
    public var path: [UInt8]

    /// An entry with the given fields.
    public init(pid: UInt32, validFrom: UInt64, validTo: UInt64, start: UInt64, end: UInt64, fileOffset: UInt64,
                loadBias: UInt64, app: [UInt8], buildID: [UInt8], addressSpace: [UInt8], path: [UInt8]) {
        self.pid = pid
        self.validFrom = validFrom
        self.validTo = validTo
        self.start = start
        self.end = end
        self.fileOffset = fileOffset
        self.loadBias = loadBias
        self.app = app
        self.buildID = buildID
        self.addressSpace = addressSpace
        self.path = path
    }

    /// Replaces `out` with the encoded payload (FORMAT.md §8.6). Precondition: each byte field shorter than 64 KiB.
    public func encode(into out: inout [UInt8]) {
        precondition(app.count < 65536 && buildID.count < 65536 && addressSpace.count < 65536 && path.count < 65536)
        out = [UInt8](repeating: 0, count: Self.headerSize)
        out.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            p.storeLE(Self.magic, at: 0)
            p.storeLE(pid, at: 4)
            p.storeLE(validFrom, at: 8)
            p.storeLE(validTo, at: 16)
            p.storeLE(start, at: 24)
            p.storeLE(end, at: 32)
            p.storeLE(fileOffset, at: 40)
            p.storeLE(loadBias, at: 48)
            p.storeLE(UInt16(app.count), at: 56)
            p.storeLE(UInt16(buildID.count), at: 58)
            p.storeLE(UInt16(addressSpace.count), at: 60)
            p.storeLE(UInt16(path.count), at: 62)
        }
        out += app
        out += buildID
        out += addressSpace
        out += path
    }

    /// Decodes a payload; throws on a bad magic, a short payload or lengths past its end.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(FormatError) -> ProcessMapEntry {
        let s = Structure.payload(kind: RecordKind.processMap.rawValue)
        guard payload.count >= headerSize, let p = payload.baseAddress else {
            throw .truncated(s, needed: headerSize, available: payload.count)
        }
        let magic: UInt32 = p.loadLE(0)
        guard magic == Self.magic else { throw .badMagic(s, found: UInt64(magic)) }
        let lengths = [56, 58, 60, 62].map { Int(p.loadLE($0, as: UInt16.self)) }
        guard let f = TrailingFields.split(payload, at: headerSize, lengths: lengths) else {
            throw .truncated(s, needed: headerSize + lengths.reduce(0, +), available: payload.count)
        }
        let start: UInt64 = p.loadLE(24), end: UInt64 = p.loadLE(32)
        guard start < end else { throw .invalidField(s, field: "end (not above start)", value: end) }
        return ProcessMapEntry(
            pid: p.loadLE(4), validFrom: p.loadLE(8), validTo: p.loadLE(16), start: start, end: end,
            fileOffset: p.loadLE(40), loadBias: p.loadLE(48), app: f[0], buildID: f[1], addressSpace: f[2], path: f[3])
    }
}
