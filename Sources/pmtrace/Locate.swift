import ArgumentParser
import Foundation
import NVMDiscovery
import PMTrace

/// `pmtrace locate`: where persistent memory is (the ACPI SRAT and NFIT the
/// firmware hands the OS) and where a namespace's data starts (its Linux
/// info block), so that a region can be opened as `<path>@<offset>`.
struct Locate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find non-volatile memory ranges (ACPI SRAT, NFIT) and where a namespace's data starts.",
        discussion: """
            Reads the SRAT and NFIT files of --acpi-tables (either may be missing) and prints the physical \
            ranges of persistent memory: NFIT persistent-memory SPA ranges, and enabled non-volatile SRAT \
            memory-affinity ranges. With --namespace, reads the Linux info block 4 KiB into the file or \
            device (fsdax "NVDIMM_PFN_INFO" or devdax "NVDIMM_DAX_INFO", checksum verified) and prints where \
            the data starts: `<namespace>@<offset>` opens a region there. A namespace without an info block \
            is raw: its data starts at 0. Every length, offset and checksum is checked; a damaged table or \
            block is an error naming the structure and byte offset.
            """)

    @Option(help: "Directory holding the ACPI tables SRAT and NFIT (default: /sys/firmware/acpi/tables).") var acpiTables: String?
    @Option(help: "A namespace's device or backing file (e.g. /dev/pmem0 or an NVDIMM's image) to read the info block of.") var namespace: String?
    @Flag(help: "Print JSON.") var json = false

    /// `--json` (README, "JSON output").
    struct Output: Encodable {
        var acpiTables: String
        @OrNull var srat: Table?
        @OrNull var nfit: Table?
        var nonVolatileRanges: [Range]
        @OrNull var namespace: Namespace?
    }

    /// One table that was present: its length, revision and entries of interest.
    struct Table: Encodable {
        var path: String
        var length: Int
        var revision: UInt8
        var entries: [Entry]
    }

    /// A memory-affinity entry (SRAT) or SPA range (NFIT).
    struct Entry: Encodable {
        var offset: Int
        var base: UInt64
        var length: UInt64
        var flags: UInt64
        @OrNull var enabled: Bool?
        @OrNull var hotPluggable: Bool?
        @OrNull var nonVolatile: Bool?
        @OrNull var typeGUID: String?
        @OrNull var persistentMemory: Bool?
        @OrNull var proximityDomain: UInt32?
    }

    struct Range: Encodable {
        var base: UInt64
        var length: UInt64
        var inNFIT: Bool
        var inSRAT: Bool
        var hotPluggable: Bool
        @OrNull var proximityDomain: UInt32?
    }

    struct Namespace: Encodable {
        var path: String
        @OrNull var size: UInt64?
        var kind: String
        var dataOffset: UInt64
        /// Bytes of data (size − dataOffset − endTrunc); null when the size is unknown.
        @OrNull var dataLength: UInt64?
        var region: String
        @OrNull var dataoff: UInt64?
        @OrNull var startPad: UInt32?
        @OrNull var endTrunc: UInt32?
        @OrNull var align: UInt32?
        @OrNull var npfns: UInt64?
        @OrNull var mode: UInt32?
        @OrNull var pageSize: UInt32?
        @OrNull var pageStructSize: UInt16?
        @OrNull var version: String?
        @OrNull var uuid: String?
        @OrNull var parentUUID: String?
        /// The PMTrace region found at the data offset (null when there is none).
        @OrNull var pmtraceRegion: Region?
    }

    /// A PMTrace region found where the namespace's data starts.
    struct Region: Encodable {
        var regionSize: UInt64
        var volumes: Int
        var uuid: String
    }

    func run() throws {
        // A directory named on the command line must exist (a typo is not "no tables"); the
        // default may be missing (a machine without ACPI: both tables absent).
        if let given = self.acpiTables {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory)
            guard exists && isDirectory.boolValue else {
                throw CLIError("\(TerminalText.escape(given)): \(exists ? "not a directory" : "no such directory") (--acpi-tables names the directory holding SRAT and NFIT)")
            }
        }
        let acpiTables = self.acpiTables ?? "/sys/firmware/acpi/tables"
        let sratPath = acpiTables + "/SRAT", nfitPath = acpiTables + "/NFIT"
        let sratBytes = try Self.readTable(sratPath), nfitBytes = try Self.readTable(nfitPath)
        let srat = try sratBytes.map { try Self.parsing(sratPath, $0) { b throws(NVMError) in try SRAT.parse(b) } }
        let nfit = try nfitBytes.map { try Self.parsing(nfitPath, $0) { b throws(NVMError) in try NFIT.parse(b) } }
        let ranges = NonVolatileRange.find(srat: srat, nfit: nfit)
        var ns = try namespace.map { try Self.readNamespace($0) }
        if let n = ns, let p = try? TracePool.open(path: n.path, offset: n.dataOffset, writable: false) {
            let sb = p.store.superblock
            ns?.pmtraceRegion = Region(regionSize: sb.regionSize, volumes: p.store.volumes().count,
                                       uuid: String(format: "%016llx%016llx", sb.uuidHigh, sb.uuidLow))
        }

        var out = Output(acpiTables: acpiTables, nonVolatileRanges: ranges.map {
            Range(base: $0.base, length: $0.length, inNFIT: $0.inNFIT, inSRAT: $0.inSRAT, hotPluggable: $0.hotPluggable,
                  proximityDomain: $0.proximityDomain)
        })
        out.srat = srat.map { s in
            Table(path: sratPath, length: s.header.length, revision: s.header.revision, entries: s.memoryAffinities.map {
                Entry(offset: $0.offset, base: $0.base, length: $0.length, flags: UInt64($0.flags), enabled: $0.enabled,
                      hotPluggable: $0.hotPluggable, nonVolatile: $0.nonVolatile, proximityDomain: $0.proximityDomain)
            })
        }
        out.nfit = nfit.map { n in
            Table(path: nfitPath, length: n.header.length, revision: n.header.revision, entries: n.spaRanges.map {
                Entry(offset: $0.offset, base: $0.base, length: $0.length, flags: UInt64($0.flags), typeGUID: $0.typeGUID.description.lowercased(),
                      persistentMemory: $0.isPersistentMemory, proximityDomain: $0.proximityDomainValid ? $0.proximityDomain : nil)
            })
        }
        out.namespace = ns
        if json { return try printJSON(out) }

        print("ACPI tables in \(TerminalText.escape(acpiTables)): SRAT \(srat.map { "\($0.header.length) bytes, \($0.memoryAffinities.count) memory affinity entries" } ?? "absent"); NFIT \(nfit.map { "\($0.header.length) bytes, \($0.spaRanges.count) SPA ranges" } ?? "absent")")
        if ranges.isEmpty { print("no non-volatile memory ranges") }
        for r in ranges {
            var from: [String] = []
            if r.inNFIT { from.append("NFIT persistent memory") }
            if r.inSRAT { from.append("SRAT non-volatile" + (r.hotPluggable ? " hot-pluggable" : "")) }
            if let d = r.proximityDomain { from.append("proximity domain \(d)") }
            print("non-volatile: 0x\(String(r.base, radix: 16))-0x\(String(r.base + r.length - 1, radix: 16)) (\(formatBytes(r.length))): \(from.joined(separator: ", "))")
        }
        if let ns {
            let found = ns.pmtraceRegion.map { "; a PMTrace region is there (\(formatBytes($0.regionSize)), \($0.volumes) volume(s))" } ?? ""
            if ns.kind == "raw" {
                print("namespace \(TerminalText.escape(ns.path)): no info block (raw): data at offset 0; region \(TerminalText.escape(ns.region))\(found)")
            } else {
                print("namespace \(TerminalText.escape(ns.path)): \(ns.kind) info block v\(ns.version ?? "?"): data at offset \(ns.dataOffset) (0x\(String(ns.dataOffset, radix: 16))), align \(ns.align ?? 0), \(ns.npfns ?? 0) page frames, memmap in \(ns.mode == 2 ? "the namespace" : "RAM"); region \(TerminalText.escape(ns.region))\(found)")
            }
        }
    }

    /// The table at `path`, or nil when there is none; other read errors are errors.
    static func readTable(_ path: String) throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let d = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read") }
        return Array(d)
    }

    /// `parse` over `bytes`; its error becomes one naming `path`.
    static func parsing<T>(_ path: String, _ bytes: [UInt8], _ parse: (UnsafeRawBufferPointer) throws(NVMError) -> T) throws -> T {
        switch bytes.withUnsafeBytes({ b in Result { () throws(NVMError) in try parse(b) } }) {
        case .success(let v): return v
        case .failure(let e): throw CLIError("\(path): \(e)", status: ExitStatus.refused)
        }
    }

    /// The info block of the namespace at `path` (its first 8 KiB).
    static func readNamespace(_ path: String) throws -> Namespace {
        // O_NONBLOCK: a FIFO or socket must not block the open; it is refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw CLIError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CLIError("\(path): \(String(cString: strerror(errno)))") }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFBLK || type == S_IFCHR else {
            throw CLIError("\(path): not a regular file or a device (a namespace is a device like /dev/pmem0 or its backing file)")
        }
        let end = lseek(fd, 0, SEEK_END)
        let size: UInt64? = end > 0 ? UInt64(end) : nil
        var head = [UInt8](repeating: 0, count: 8192)
        var got = 0
        while got < head.count {
            let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, $0.count - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIError("\(path): read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            got += n
        }
        head.removeLast(head.count - got)
        let result = head.withUnsafeBytes { b in Result { () throws(NVMError) in try NamespaceInfoBlock.parse(namespace: b, namespaceSize: size) } }
        switch result {
        case .failure(.noInfoBlock):
            return Namespace(path: path, size: size, kind: "raw", dataOffset: 0, dataLength: size, region: path)
        case .failure(let e):
            throw CLIError("\(path): \(e)", status: ExitStatus.refused)
        case .success(let b):
            func hex(_ u: (UInt64, UInt64)) -> String {
                let h = [u.0, u.1].map { v in String(repeating: "0", count: 16 - String(v, radix: 16).count) + String(v, radix: 16) }.joined()
                return [h.prefix(8), h.dropFirst(8).prefix(4), h.dropFirst(12).prefix(4), h.dropFirst(16).prefix(4), h.dropFirst(20)].joined(separator: "-")
            }
            return Namespace(
                path: path, size: size, kind: b.kind.description, dataOffset: b.dataOffset,
                dataLength: size.map { $0 - b.dataOffset - UInt64(b.endTrunc) }, region: "\(path)@\(b.dataOffset)",
                dataoff: b.dataoff, startPad: b.startPad, endTrunc: b.endTrunc, align: b.align, npfns: b.npfns, mode: b.mode,
                pageSize: b.pageSize, pageStructSize: b.pageStructSize, version: "\(b.versionMajor).\(b.versionMinor)",
                uuid: hex(b.uuid), parentUUID: hex(b.parentUUID))
        }
    }
}
