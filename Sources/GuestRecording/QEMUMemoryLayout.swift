import Foundation

/// Where QEMU's RAM blocks sit in guest-physical memory, read from its
/// monitor (`info ramblock` and `info mtree -f`) on the paused machine.
///
/// QEMU 7.2's plugin API (`qemu_plugin_hwaddr_phys_addr`) returns a RAM
/// block's offset in QEMU's RAM address space plus the offset inside the
/// block — the guest-physical address only for the first block when it
/// starts at 0. The recorder translates with this table: a flat-view range
/// of a RAM, ROM or NV-RAM region at guest-physical `gpa`, backed by the
/// block named like the region, maps `[physical, physical + length)` to
/// `[gpa, gpa + length)`, where `physical` is what 7.2 computes: the block's
/// offset + the region's own address in its container (`info mtree`) + the
/// offset inside the region (the flat view's `@offset`). For guest RAM
/// declared first (`-machine memory-backend=`) that is the GPA itself; for
/// the BIOS it is 0x1_0FFC_0000 and up, for an NVDIMM the RAM size and up.
public struct QEMUMemoryLayout: Equatable, Sendable {
    /// One translated range.
    public struct Range: Equatable, Sendable {
        /// The address the plugin API reports (RAM-block offset + offset in the block).
        public var physical: UInt64
        /// Bytes in the range.
        public var length: UInt64
        /// The guest-physical address of `physical`.
        public var gpa: UInt64
        /// The memory region's name (`ram0`, `pc.bios`, `nv0`, …).
        public var name: String
        /// `ram`, `rom` or `nv-ram`.
        public var type: String
    }

    /// Ranges in flat-view order. When two ranges cover the same RAM-block
    /// bytes (the BIOS appears twice, at 0xE0000 and below 4 GiB), only the
    /// larger is kept: the plugin can report one GPA per access.
    public var ranges: [Range]

    /// Parses the two monitor outputs (extra text, prompts and terminal
    /// escapes are ignored). Throws when no RAM range is found.
    public init(ramblock: String, tree: String, mtree: String) throws {
        var blocks: [String: UInt64] = [:], used: [String: UInt64] = [:]
        for line in Self.lines(ramblock) {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // Block Name, PSize (two words: "4 KiB"), Offset, Used, Total
            guard f.count >= 6, f[f.count - 3].hasPrefix("0x"), let offset = UInt64(f[f.count - 3].dropFirst(2), radix: 16),
                  let size = UInt64(f[f.count - 2].dropFirst(2), radix: 16) else { continue }
            blocks[String(f[0])] = offset
            used[String(f[0])] = size
        }
        let addresses = Self.regionAddresses(tree)
        var ranges: [Range] = []
        var inSystem = false
        for line in Self.lines(mtree) {
            if line.hasPrefix("FlatView") { inSystem = false; continue }
            if line.contains("Root memory region: system") { inSystem = true; continue }
            guard inSystem, let r = Self.flatRange(line, blocks: blocks, addresses: addresses) else { continue }
            ranges.append(r)
        }
        // A RAM block whose ranges all keep one displacement is mapped whole:
        // the firmware later maps RAM into holes of the paused machine's view
        // (SeaBIOS shadows 0xC0000-0xFFFFF), at the same displacement.
        var merged: [Range] = []
        for r in ranges {
            guard r.type != "rom", let size = used[r.name], let block = blocks[r.name] else { merged.append(r); continue }
            let same = ranges.filter { $0.name == r.name }
            let displacement = r.gpa &- r.physical
            if same.allSatisfy({ $0.gpa &- $0.physical == displacement }) {
                if !merged.contains(where: { $0.name == r.name }) {
                    merged.append(Range(physical: block, length: size, gpa: block &+ displacement, name: r.name, type: r.type))
                }
            } else {
                merged.append(r)
            }
        }
        ranges = merged
        // One GPA per physical address: drop a range covered by a larger one.
        ranges = ranges.filter { r in
            !ranges.contains { o in
                // Subtractions only: ranges near 2^64 must not overflow.
                o != r && o.length > r.length && r.physical >= o.physical && r.physical - o.physical <= o.length - r.length
            }
        }
        guard ranges.contains(where: { $0.type == "ram" }) else {
            throw LayoutError("QEMU's monitor reported no RAM in the system flat view")
        }
        self.ranges = ranges
    }

    /// `0000000000100000-000000000fffffff (prio 0, ram): ram0 @0000000000100000`
    static func flatRange(_ line: String, blocks: [String: UInt64], addresses: [String: UInt64]) -> Range? {
        let s = line.trimmingCharacters(in: .whitespaces)
        guard let dash = s.firstIndex(of: "-"), let open = s.firstIndex(of: "("), let close = s.firstIndex(of: ")"),
              let colon = s[close...].firstIndex(of: ":"),
              let start = UInt64(s[..<dash], radix: 16),
              let last = UInt64(s[s.index(after: dash)..<open].trimmingCharacters(in: .whitespaces), radix: 16),
              last >= start, last - start < UInt64.max else { return nil }  // a length must fit 64 bits
        let type = s[s.index(after: open)..<close].split(separator: ",").last?.trimmingCharacters(in: .whitespaces) ?? ""
        guard type == "ram" || type == "rom" || type == "nv-ram" else { return nil }
        let rest = s[s.index(after: colon)...].split(separator: " ")
        guard let name = rest.first.map(String.init), let block = blocks[name] else { return nil }
        var offset: UInt64 = 0
        if rest.count > 1, rest[1].hasPrefix("@"), let o = UInt64(rest[1].dropFirst(), radix: 16) { offset = o }
        return Range(physical: block &+ (addresses[name] ?? 0) &+ offset, length: last - start + 1, gpa: start, name: name, type: type)
    }

    /// Each region's own address in its container, from the `memory-region:`
    /// sections of `info mtree` (absolute addresses, indented by depth).
    static func regionAddresses(_ tree: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        var stack: [(depth: Int, start: UInt64)] = []
        var inRegions = false
        for line in lines(tree) {
            if line.hasPrefix("memory-region:") { inRegions = true; stack = []; continue }
            if line.hasPrefix("address-space:") { inRegions = false; continue }
            guard inRegions else { continue }
            let depth = line.prefix { $0 == " " }.count
            let s = line.trimmingCharacters(in: .whitespaces)
            guard let dash = s.firstIndex(of: "-"), let start = UInt64(s[..<dash], radix: 16),
                  let close = s.firstIndex(of: ")"), let colon = s[close...].firstIndex(of: ":") else { continue }
            while let top = stack.last, top.depth >= depth { stack.removeLast() }
            let parent = stack.last?.start ?? 0
            stack.append((depth, start))
            let rest = s[s.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !rest.hasPrefix("alias "), let name = rest.split(separator: " ").first.map(String.init) else { continue }
            if result[name] == nil { result[name] = start &- parent }
        }
        return result
    }

    /// Lines with terminal escape sequences and carriage returns removed.
    static func lines(_ text: String) -> [String] {
        text.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\r", with: "")
            .split(separator: "\n").map(String.init)
    }

    /// The plugin arguments (`map=P:L:G`, one per range).
    public var pluginArguments: [String] {
        ranges.map { "map=0x\(String($0.physical, radix: 16)):0x\(String($0.length, radix: 16)):0x\(String($0.gpa, radix: 16))" }
    }
}

/// A layout the monitor output does not describe.
public struct LayoutError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, in one line.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// Console text as a person reads it.
public enum QEMUMemoryLayoutText {
    /// `text` without terminal escape sequences (the monitor's line editor
    /// redraws each typed character) and carriage returns.
    public static func strip(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}(\\[[0-9;?]*[A-Za-z]|c)", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\r", with: "")
    }

    /// `text` without terminal escape sequences, carriage returns and
    /// surrounding white space (SeaBIOS clears the screen on the serial line).
    public static func clean(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}(\\[[0-9;?]*[A-Za-z]|c)", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\r", with: "")
            .trimmingCharacters(in: .whitespaces)
    }
}
