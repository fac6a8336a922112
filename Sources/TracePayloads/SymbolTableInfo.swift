import TraceFormat

/// The payload of a `.symbolTableInfo` record (FORMAT.md §8.6): what a
/// symbol table describes. The first record of every symbol-table volume.
///
/// ```
/// 0  u32 magic "PMSI"   4  u16 elfType (2 exec, 3 shared/PIE)   6  u16 machine (62 x86-64, 183 AArch64)
/// 8  u64 symbolCount    16 u64 importTime (ns)                  24 u64 linkBase (lowest PT_LOAD p_vaddr − p_offset)
/// 32 u32 chunkCount     36 u16 appLength  38 u16 buildIdLength  40 u16 pathLength  42 u16 reserved
/// 44 app name (UTF-8), build-id bytes, path (UTF-8)
/// ```
public struct SymbolTableInfo: Equatable, Sendable {
    /// The payload's first four bytes.
    public static let magic: UInt32 = 0x4953_4D50  // "PMSI"
    /// Bytes before the variable-length fields.
    public static let headerSize = 44

    /// 2 executable (fixed addresses), 3 shared object / PIE.
    public var elfType: UInt16
    /// ELF machine: 62 x86-64, 183 AArch64.
    public var machine: UInt16
    /// Symbols kept after alias removal.
    public var symbolCount: UInt64
    /// Import time, ns since the Unix epoch.
    public var importTime: UInt64
    /// Lowest `p_vaddr − p_offset` of the image's `PT_LOAD` segments.
    public var linkBase: UInt64
    /// Symbol-chunk records that follow this one.
    public var chunkCount: UInt32
    /// The application's name.
    public var app: [UInt8]
    /// The GNU build-id bytes (may be empty).
    public var buildID: [UInt8]
    /// The path the table was imported from.
    public var path: [UInt8]

    /// Info with the given fields.
    public init(elfType: UInt16, machine: UInt16, symbolCount: UInt64, importTime: UInt64, linkBase: UInt64,
                chunkCount: UInt32, app: [UInt8], buildID: [UInt8], path: [UInt8]) {
        self.elfType = elfType
        self.machine = machine
        self.symbolCount = symbolCount
        self.importTime = importTime
        self.linkBase = linkBase
        self.chunkCount = chunkCount
        self.app = app
        self.buildID = buildID
        self.path = path
    }

    /// Precondition: app, build-id and path each shorter than 64 KiB.
    public func encode(into out: inout [UInt8]) {
        precondition(app.count < 65536 && buildID.count < 65536 && path.count < 65536)
        out = [UInt8](repeating: 0, count: Self.headerSize)
        out.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            p.storeLE(Self.magic, at: 0)
            p.storeLE(elfType, at: 4)
            p.storeLE(machine, at: 6)
            p.storeLE(symbolCount, at: 8)
            p.storeLE(importTime, at: 16)
            p.storeLE(linkBase, at: 24)
            p.storeLE(chunkCount, at: 32)
            p.storeLE(UInt16(app.count), at: 36)
            p.storeLE(UInt16(buildID.count), at: 38)
            p.storeLE(UInt16(path.count), at: 40)
        }
        out += app
        out += buildID
        out += path
    }

    /// Decodes a payload; throws on a bad magic, a short payload or lengths past its end.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(FormatError) -> SymbolTableInfo {
        let s = Structure.payload(kind: RecordKind.symbolTableInfo.rawValue)
        guard payload.count >= headerSize, let p = payload.baseAddress else {
            throw .truncated(s, needed: headerSize, available: payload.count)
        }
        let magic: UInt32 = p.loadLE(0)
        guard magic == Self.magic else { throw .badMagic(s, found: UInt64(magic)) }
        let lengths = [36, 38, 40].map { Int(p.loadLE($0, as: UInt16.self)) }
        guard let f = TrailingFields.split(payload, at: headerSize, lengths: lengths) else {
            throw .truncated(s, needed: headerSize + lengths.reduce(0, +), available: payload.count)
        }
        return SymbolTableInfo(
            elfType: p.loadLE(4), machine: p.loadLE(6), symbolCount: p.loadLE(8), importTime: p.loadLE(16),
            linkBase: p.loadLE(24), chunkCount: p.loadLE(32), app: f[0], buildID: f[1], path: f[2])
    }
}
