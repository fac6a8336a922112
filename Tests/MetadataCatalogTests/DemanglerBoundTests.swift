import Foundation
@testable import MetadataCatalog
import Testing

/// The demangler must stay within fixed memory and time on hostile names
/// (nested back-references double a runtime demangler's output per level)
/// and still demangle the names real programs have.
@Suite struct DemanglerBoundTests {
    /// `f(void (*)(int), …)` with `levels` more pointer-to-function
    /// parameters, each naming the previous one twice: the output doubles per
    /// level (c++filt: 169 bytes in, 3.2 MB out at 16 levels).
    static func nestedSubstitutions(_ levels: Int) -> String {
        // Candidates: S_ = FviE, S0_ = PFviE; each level adds its F…E and its P…, so the
        // pointer of level k is candidate 2k + 2 and level k names candidate 2k (S<2k>_).
        var s = "_Z1fPFviE"
        for k in 0..<levels {
            let ref = "S\(String(2 * k, radix: 36).uppercased())_"
            s += "PFv\(ref)\(ref)E"
        }
        return s
    }

    static let hostile: [(String, String)] = [
        ("nested substitutions, 40 levels", nestedSubstitutions(40)),
        ("nested substitutions, 60 levels", nestedSubstitutions(60)),
        ("template parameter back-references", "_Z1fIPFvT_T_EEvT_" + String(repeating: "PFvT_T_E", count: 60)),
        ("deep template nesting", "_Z1f" + String(repeating: "I1A", count: 3000) + String(repeating: "E", count: 3000) + "v"),
        ("deep pointer nesting", "_Z1fv" + String(repeating: "P", count: 100_000) + "i"),
        ("long identifier", "_Z" + "100000" + String(repeating: "a", count: 100_000) + "v"),
        ("pack expansions", "_Z1fIJiiiiiiiiEEvDp" + String(repeating: "PFvDpT_S_E", count: 50)),
        ("deep pointer nesting within the input bound", "_Z1fP" + String(repeating: "P", count: 2000) + "i"),
        ("deep template nesting within the input bound", "_Z1f" + String(repeating: "I1A", count: 600) + String(repeating: "E", count: 600) + "v"),
        ("swift substitutions", "$s4main" + String(repeating: "AA", count: 500) + "yF"),
    ]

    @Test(arguments: hostile.indices) func hostileNamesStayBounded(_ i: Int) {
        let (what, name) = Self.hostile[i]
        let out = Demangler.demangle(name)
        #expect(out.utf8.count <= max(name.utf8.count, Demangler.maxOutputBytes), "\(what): \(out.utf8.count) bytes")
    }

    /// The estimate is an upper bound: for names it accepts, the real output is no longer.
    @Test func estimateBoundsRealOutput() {
        for levels in 0..<14 {
            let name = Self.nestedSubstitutions(levels)
            let out = Demangler.demangle(name)
            let bound = name.utf8CString.withUnsafeBufferPointer { c in
                c.withMemoryRebound(to: UInt8.self) { DemangleBudget.bound(UnsafeBufferPointer(rebasing: $0.dropLast()), language: .itanium, limit: .max / 4) }
            }
            #expect(out != name || levels > 6, "level \(levels) should demangle")
            #expect(bound.map { out.utf8.count <= $0 } == true, "level \(levels): \(out.utf8.count) bytes, bound \(String(describing: bound))")
        }
    }

    /// Found by the demangle fuzz target: `S<count><kind>` repeats a Swift
    /// standard type (`$sS2000M` is 46 KB), which the estimate first charged
    /// as an identifier (also after the `0` of the `_T0` prefix, taken for a
    /// word-identifier start, or inside digits taken for an identifier length:
    /// `$s_$4S22D`); and a NUL hides the rest of a name from the runtime.
    @Test func swiftRepeatCountsAreCharged() {
        for name in ["$sS2000M", "_T0S24D", "_T0S2000D", "$s_$4S22D", "$s0S22D", "$s$8$8$8$$8$8$$88", "$s.$s440AAA" + String(repeating: "\u{FF}", count: 40) + "A", "$sSSS111M", "$sS111MS111MS111M", "$sSSS111M" + String(repeating: "\0", count: 80) + "A"] {
            let out = Demangler.demangle(name)
            if out != name {
                let bound = Demangler.outputBound(name)
                #expect(bound.map { out.utf8.count <= $0 } == true, "\(name.debugDescription): \(out.utf8.count) bytes, estimate \(String(describing: bound))")
            }
        }
        #expect(Demangler.demangle("$sSi\0junk") == "$sSi\0junk")
    }

    /// Real C++ and Swift names: nearly all still demangle exactly as the runtime does.
    @Test func realNamesStillDemangle() throws {
        guard let nm = findTool("nm") else { return }
        let cxxLibrary = ["/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", "/lib/x86_64-linux-gnu/libstdc++.so.6"].first { FileManager.default.fileExists(atPath: $0) } ?? ""
        let cxx = try tool(nm, ["-D", "--defined-only", cxxLibrary]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.hasPrefix("_Z") }
            .map { $0.split(separator: "@").first.map(String.init) ?? $0 }
        let swift = try tool(nm, [swiftBinary]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.hasPrefix("$s") }
        for (language, names) in [(DemangleBudget.Language.itanium, cxx), (.swift, swift)] {
            let refused = names.filter { !Demangler.withinBudget($0, language) }
            print("\(language): \(refused.count) of \(names.count) refused; e.g. \(refused.prefix(3))")
            #expect(names.count > 100)
            // The estimate is loose (it lets every back-reference double everything before it):
            // long template-heavy names with many back-references come back mangled.
            #expect(refused.count * 100 <= names.count, "\(language): \(refused.count) of \(names.count) refused")
        }
    }
}

extension DemanglerBoundTests {
    /// An ELF file whose symbol is a demangler bomb imports, symbolizes and
    /// prints within the bounds (before: `symbolize` used 3 GiB for 269 bytes).
    @Test(.timeLimit(.minutes(1))) func elfWithHostileNameImportsAndSymbolizes() throws {
        guard let clang = findTool("clang") else { return }
        let name = Self.nestedSubstitutions(40)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pmtrace-bomb-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "void bomb(void) __asm__(\"\(name)\");\nvoid bomb(void) {}\n".write(toFile: dir + "/bomb.c", atomically: true, encoding: .utf8)
        _ = try tool(clang, ["-shared", "-fPIC", "-o", dir + "/libbomb.so", dir + "/bomb.c"])
        let (_, catalog) = try catalogPool()
        try catalog.importELF(at: dir + "/libbomb.so", app: "bomb")
        let symbol = try #require(try ELFFile(contentsOf: dir + "/libbomb.so").symbols().0.first { $0.name == name })
        let m = try #require(try catalog.table(app: "bomb").lookup(symbol.value))
        #expect(m.nameString == name)
        let shown = Demangler.demangle(m.nameString)
        #expect(shown == name)  // beyond the bound: the mangled name
    }
}
