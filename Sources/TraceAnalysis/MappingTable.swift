import MetadataCatalog
import TraceVolume

/// A process's mappings as `/proc/<pid>/maps` listed them, for naming the
/// addresses no symbol covers: `[heap]`, `[stack]`, `[anon]` (anonymous
/// memory), `[vdso]`, or the mapped file (an image without symbols there).
/// Read-only after creation; O(log mappings) per lookup.
public struct MappingTable: Sendable {
    /// The mappings, sorted by start address.
    public let lines: [ProcMapsLine]

    /// A table of `lines` (sorted here).
    public init(_ lines: [ProcMapsLine]) {
        self.lines = lines.sorted { $0.start < $1.start }
    }

    /// The index in `lines` of the mapping holding `address`, or nil.
    public func index(of address: UInt64) -> Int? {
        var lo = 0, hi = lines.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if lines[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, address < lines[lo - 1].end else { return nil }
        return lo - 1
    }

    /// The name of mapping `i`: its path, its bracketed kernel name
    /// (`[heap]`, `[stack]`, `[vdso]`), or `[anon]`.
    public func label(_ i: Int) -> String { lines[i].path ?? "[anon]" }

    /// The label of the mapping holding `address`, or `[unmapped]`.
    public func label(of address: UInt64) -> String { index(of: address).map(label) ?? Self.unmapped }

    /// What an address outside every mapping is called.
    public static let unmapped = "[unmapped]"

    /// The marker prefix of the maps text `pmtrace record` ends lane 0 with
    /// (FORMAT.md §8.11); `AccessStream` keeps the text it follows.
    public static let markerPrefix: [UInt8] = Array("pmtrace-maps\n".utf8)

    /// The mappings `pmtrace record` stored in a volume (the marker that ends
    /// lane 0, FORMAT.md §8.11), or an empty table when it has none (a lackey
    /// import, a VM recording). Reads lane 0: O(records of lane 0).
    public static func recorded(in store: TraceStore, volumeBytes: [UInt8]) throws(TraceError) -> MappingTable {
        let info = try store.volume(nameBytes: volumeBytes)
        guard info.laneCount > 0 else { return MappingTable([]) }
        let lane = try store.openReader(volumeBytes: volumeBytes).lanes[0]
        var found = MappingTable([])
        while let r = try lane.next() {
            guard r.kind == .marker else { continue }
            r.withContiguousPayload { p in
                guard p.count >= markerPrefix.count, p.prefix(markerPrefix.count).elementsEqual(markerPrefix) else { return }
                found = MappingTable(ProcMapsLine.parse(String(decoding: p.dropFirst(markerPrefix.count), as: UTF8.self)))
            }
        }
        return found
    }
}
