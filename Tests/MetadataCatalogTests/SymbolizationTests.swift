import Foundation
import MetadataCatalog
import PMTrace
import PMTraceTesting
import Testing
import TraceVolume

@Suite struct SymbolizationTests {
    /// For every function symbol `nm` lists, its start and its last byte
    /// symbolize to that symbol — or, at an address shared by aliases, to the
    /// alias the documented preference rule picks; exceptions are counted and
    /// must be explained by nesting (an inner symbol owns part of an outer one).
    @Test(arguments: ["libc", "ls", "swift"]) func agreesWithNm(_ which: String) throws {
        let path = which == "libc" ? libcPath : (which == "ls" ? "/usr/bin/ls" : swiftBinary)
        let expected = try nmFunctions(path)
        try #require(!expected.isEmpty, "nm found no symbols in \(path)")
        let (pool, catalog) = try catalogPool()
        // nm reads .dynsym of a stripped file: compare with the same symbols (no debug file).
        try catalog.importELF(at: path, app: which, useDebugFile: false)
        let table = try catalog.table(app: which)
        var byStart: [UInt64: Set<String>] = [:]
        for e in expected { byStart[e.address, default: []].insert(e.name) }
        var starts = 0, ends = 0, nested = 0
        var failures: [String] = []
        for e in expected {
            guard let m = table.lookup(e.address) else { failures.append("start of \(e.name) 0x\(String(e.address, radix: 16)): ??"); continue }
            if byStart[e.address]!.contains(m.nameString) && m.offset == 0 { starts += 1 } else { failures.append("start of \(e.name): \(m.nameString)+\(m.offset)") }
            guard e.size > 0 else { continue }
            let last = e.address + e.size - 1
            guard let n = table.lookup(last) else { failures.append("end of \(e.name): ??"); continue }
            if byStart[e.address]!.contains(n.nameString) && n.offset == e.size - 1 {
                ends += 1
            } else if let inner = expected.first(where: { $0.address > e.address && $0.address <= last && byStart[$0.address]!.contains(n.nameString) }) {
                nested += 1  // an inner symbol starts inside this one and owns its last byte
                _ = inner
            } else {
                failures.append("end of \(e.name) (0x\(String(last, radix: 16))): \(n.nameString)+\(n.offset)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.prefix(5))")
        #expect(starts == expected.count)
        print("nm agreement for \(path): \(starts)/\(expected.count) starts, \(ends) ends exact, \(nested) ends owned by a nested symbol")
        withExtendedLifetime(pool) {}
    }

    /// 10,000 random addresses in the C library's text against llvm-symbolizer
    /// (symbol-table answers). Agreement must be at least 99.9 %.
    @Test func agreesWithLLVMSymbolizer() throws {
        guard let symbolizer = findTool("llvm-symbolizer") else {
            Issue.record("llvm-symbolizer not found")
            return
        }
        let elf = try ELFFile(contentsOf: libcPath)
        guard let text = elf.sections.first(where: { $0.name == ".text" }) else { Issue.record("no .text"); return }
        let (pool, catalog) = try catalogPool()
        // Symbol-table answers on both sides: our .dynsym table, and llvm-symbolizer
        // kept away from separate debug files (whose DWARF it would otherwise use).
        try catalog.importELF(at: libcPath, app: "libc", useDebugFile: false)
        let table = try catalog.table(app: "libc")
        var rng = SplitMix64(seed: 2026)
        let addresses = (0..<10_000).map { _ in text.address + rng.next() % text.size }
        let input = addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let emptyDir = NSTemporaryDirectory() + "pmtrace-no-debug-\(getpid())"
        try FileManager.default.createDirectory(atPath: emptyDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: emptyDir) }
        let output = try tool(symbolizer, ["--obj=\(libcPath)", "--functions=linkage", "--no-inlines", "--output-style=LLVM",
                                           "--debug-file-directory=\(emptyDir)"], input: input)
        // LLVM style: function line, location line, blank line per address.
        let blocks = output.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        try #require(blocks.count == addresses.count, "llvm-symbolizer gave \(blocks.count) answers")
        var agree = 0, nested = 0
        var unexplained: [String] = []
        for (a, block) in zip(addresses, blocks) {
            let theirs = String(block.split(separator: "\n").first ?? "??")
            let ours = table.lookup(a)
            if theirs == (ours?.nameString ?? "??") { agree += 1; continue }
            // llvm-symbolizer gives "??" past the end of a symbol nested in a larger one;
            // we name the enclosing symbol, whose range still covers the address.
            if theirs == "??", let o = ours, o.offset > 0 { nested += 1; continue }
            unexplained.append("0x\(String(a, radix: 16)): ours \(ours?.nameString ?? "??"), llvm \(theirs)")
        }
        let rate = Double(agree) / Double(addresses.count)
        print("llvm-symbolizer agreement on libc .dynsym: \(agree)/\(addresses.count) = \(String(format: "%.2f", rate * 100)) %; \(nested) explained by nesting; unexplained: \(unexplained.prefix(10))")
        #expect(rate >= 0.999)
        #expect(unexplained.isEmpty, "\(unexplained.prefix(10))")
        withExtendedLifetime(pool) {}
    }

    /// With the C library's debug file installed, its full .symtab is used.
    @Test func usesSeparateDebugFile() throws {
        let (pool, catalog) = try catalogPool()
        let withDebug = try catalog.importELF(at: libcPath, app: "full")
        let dynsymOnly = try catalog.importELF(at: libcPath, app: "dyn", useDebugFile: false)
        let id = try ELFFile(contentsOf: libcPath).buildID.map { String(format: "%02x", $0) }.joined()
        if FileManager.default.fileExists(atPath: "/usr/lib/debug/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug") {
            #expect(withDebug.symbols > dynsymOnly.symbols * 2)
        } else {
            #expect(withDebug.symbols == dynsymOnly.symbols)
        }
        withExtendedLifetime(pool) {}
    }

    @Test func demangles() {
        #expect(Demangler.demangle("_ZNSt6chrono3_V212system_clock3nowEv") == "std::chrono::_V2::system_clock::now()")
        #expect(Demangler.demangle("$sSS5countSivg") == "Swift.String.count.getter : Swift.Int")
        #expect(Demangler.demangle("malloc") == "malloc")
        #expect(Demangler.demangle("_Znotmangled") == "_Znotmangled")
    }

    @Test func batchLookupMatchesSingleLookups() throws {
        let (pool, catalog) = try catalogPool()
        try catalog.importELF(at: libcPath, app: "libc")
        let table = try catalog.table(app: "libc")
        var rng = SplitMix64(seed: 1)
        let addresses = (0..<50_000).map { _ in rng.next() % 0x20_0000 }
        var batch = [String?](repeating: nil, count: addresses.count)
        addresses.withUnsafeBufferPointer { a in table.lookup(a) { i, m in batch[i] = m?.nameString } }
        #expect(batch == addresses.map { table.lookup($0)?.nameString })
        #expect(batch.contains { $0 != nil })
        withExtendedLifetime(pool) {}
    }

    /// `gap(around:)` is exactly the run of addresses without a symbol: empty
    /// where a symbol covers the address; otherwise every address of the gap
    /// has no symbol and the addresses just outside it have one (or lie
    /// outside every chunk's span).
    @Test func gapsAreExactlyTheAddressesWithoutSymbols() throws {
        let (pool, catalog) = try catalogPool()
        try catalog.importELF(at: libcPath, app: "libc")
        let table = try catalog.table(app: "libc")
        var rng = SplitMix64(seed: 11)
        var gaps = 0
        for _ in 0..<20_000 {
            let a = rng.next() % 0x20_0000
            let g = table.gap(around: a)
            guard table.lookup(a) == nil else { #expect(g.isEmpty, "0x\(String(a, radix: 16))"); continue }
            gaps += 1
            try #require(g.contains(a), "0x\(String(a, radix: 16)): \(g)")
            for b in [g.lowerBound, g.upperBound - 1, g.lowerBound + (g.upperBound - g.lowerBound) / 2] {
                #expect(table.lookup(b) == nil, "0x\(String(b, radix: 16)) in gap \(g)")
            }
            if g.lowerBound > 0 { #expect(table.lookup(g.lowerBound - 1) != nil || g.lowerBound == 0, "below \(g)") }
            if g.upperBound < 0x20_0000 { #expect(table.lookup(g.upperBound) != nil, "above \(g)") }
        }
        #expect(gaps > 0)
        withExtendedLifetime(pool) {}
    }

    /// The live process's own maps: `malloc`'s runtime address symbolizes to malloc.
    @Test func symbolizesThroughProcessMaps() throws {
        let (pool, catalog) = try catalogPool(size: 256 << 20)
        let text = try #require(ProcMapsLine.readFile("/proc/self/maps"))
        let imported = try catalog.importProcessMaps(pid: UInt32(getpid()), text: text, addressSpace: "self")
        #expect(imported.importedTables.contains("libc.so.6"), "skipped: \(imported.skipped), entries: \(Set(imported.entries.map { String(decoding: $0.app, as: UTF8.self) }))")
        let s = try catalog.symbolizer(addressSpace: "self")
        let malloc = UInt64(UInt(bitPattern: dlsym(dlopen(nil, RTLD_NOW), "malloc")))
        let r = s.lookup(malloc + 3)
        #expect(r?.app == "libc.so.6")
        #expect(r?.match?.nameString == "malloc" && r?.match?.offset == 3)
        withExtendedLifetime(pool) {}
    }
}

