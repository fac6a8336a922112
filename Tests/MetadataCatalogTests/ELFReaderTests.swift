import Foundation
import PMTraceTesting
import MetadataCatalog
import Testing

@Suite struct ELFReaderTests {
    @Test func readsRealFiles() throws {
        let libc = try ELFFile(contentsOf: libcPath)
        #expect(libc.kind == .shared)
        #expect(libc.buildID.count == 20)
        let (symbols, source) = try libc.symbols()
        #expect(source == .dynsym || source == .symtab)
        #expect(symbols.contains { $0.name == "malloc" && $0.isFunction && $0.size > 0 })
        let swift = try ELFFile(contentsOf: swiftBinary)
        #expect(try swift.symbols().source == .symtab)
    }

    @Test func buildIDMatchesReadelf() throws {
        guard let readelf = findTool("readelf") else { return }
        let text = try tool(readelf, ["-n", libcPath])
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Build ID:") }) else { return }
        let expected = line.split(separator: " ").last.map(String.init)
        let id = try ELFFile(contentsOf: libcPath).buildID.map { String(format: "%02x", $0) }.joined()
        #expect(id == expected)
    }

    @Test func rejectsWhatItCannotRead() throws {
        func header(_ cls: UInt8, _ data: UInt8) -> Data {
            var d = Data([0x7F, 0x45, 0x4C, 0x46, cls, data, 1, 0])
            d.append(Data(repeating: 0, count: 120))
            return d
        }
        #expect(throws: ELFError.notELF) { try ELFFile(data: Data("hello world, not an ELF".utf8)) }
        #expect(throws: ELFError.notELF) { try ELFFile(data: Data()) }
        #expect(throws: ELFError.unsupportedClass(1)) { try ELFFile(data: header(1, 1)) }
        #expect(throws: ELFError.unsupportedByteOrder(2)) { try ELFFile(data: header(2, 2)) }
    }

    /// Every prefix length of a real ELF (sampled) either parses or throws an
    /// ELFError: never a trap, never an out-of-bounds read.
    @Test func truncatedFilesNeverTrap() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/ls"))
        var lengths = Array(0..<200) + stride(from: 200, to: whole.count, by: max(1, whole.count / 400)).map { $0 }
        lengths.append(whole.count - 1)
        var parsed = 0
        for n in lengths {
            if let f = try? ELFFile(data: whole.prefix(n)) {
                _ = try? f.symbols()
                parsed += 1
            }
        }
        #expect(parsed < lengths.count)
    }

    /// Random bytes written over the headers: an error or a result, never a trap.
    /// A PT_LOAD whose `p_offset + p_filesz` passes 2^64 used to trap in
    /// `linkDelta` (maps import of such a file). Now it answers by difference.
    @Test func loadSegmentEndPast2to64() throws {
        var d = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/ls"))
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }
        func put(_ v: UInt64, _ o: Int) { for k in 0..<8 { d[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
        let phoff = Int(u64(0x20)), phentsize = Int(d[0x36]) | Int(d[0x37]) << 8, phnum = Int(d[0x38]) | Int(d[0x39]) << 8
        for i in 0..<phnum where d[phoff + i * phentsize] == 1 {  // PT_LOAD
            put(0xFFFF_FFFF_FFFF_F000, phoff + i * phentsize + 8)   // p_offset
            put(0x2000, phoff + i * phentsize + 32)                // p_filesz: the end wraps
        }
        let elf = try ELFFile(data: d)
        #expect(elf.linkDelta(forFileOffset: 0xFFFF_FFFF_FFFF_F800) != nil)
        #expect(elf.linkDelta(forFileOffset: 0x1000) == nil)
    }

    @Test func corruptedHeadersNeverTrap() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/ls"))
        var rng = SystemRandomNumberGenerator()
        var rejected = 0
        for _ in 0..<500 {
            var d = whole
            for _ in 0..<8 {
                let i = Int.random(in: 0..<min(d.count, 4096), using: &rng)
                d[i] = UInt8.random(in: 0...255, using: &rng)
            }
            if let f = try? ELFFile(data: d), (try? f.symbols()) != nil { continue }
            rejected += 1
        }
        // Eight random bytes in the first 4 KiB usually hit a header field that is checked.
        #expect(rejected > 0)
    }

    @Test func procMapsLines() {
        let text = """
            55d1c4a00000-55d1c4a04000 r--p 00000000 fe:00 123 /usr/bin/cat
            55d1c4a04000-55d1c4a09000 r-xp 00004000 fe:00 123 /usr/bin/cat
            7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0          [stack]
            7f0000000000-7f0000001000 ---p 00000000 00:00 0
            garbage line
            """
        let lines = ProcMapsLine.parse(text)
        #expect(lines.count == 4)
        #expect(lines[1].executable && lines[1].offset == 0x4000 && lines[1].path == "/usr/bin/cat")
        #expect(lines[2].path == "[stack]" && lines[3].path == nil)
    }
}
