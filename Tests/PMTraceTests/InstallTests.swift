import Foundation
import Testing

/// scripts/install.sh into a temporary prefix: the files, the man pages
/// without hidden commands, completions that complete volume names, and the
/// README's C program built with pkg-config against the prefix, running with
/// nothing from the Swift toolchain (ldd of program and library).
@Suite(.serialized) struct InstallTests {
    @Test func installedLibraryServesTheReadmeCProgramWithoutAToolchain() throws {
        let prefix = scratchPath("prefix"), work = scratchPath("c-work")
        defer { try? FileManager.default.removeItem(atPath: prefix); try? FileManager.default.removeItem(atPath: work) }
        // The release build stays between runs in .build-install (like the debug build in .build).
        let install = try shell("scripts/install.sh --prefix '\(prefix)'", in: repositoryRoot.path)
        try #require(install.status == 0, "\(install.output.suffix(3000))")

        for file in ["bin/pmtrace", "lib/libPMTraceC.so", "lib/pkgconfig/pmtrace.pc", "include/pmtrace.h", "include/pmtrace_region.h",
                     "include/pmtrace_vmm.h", "share/man/man1/pmtrace.1", "share/man/man1/pmtrace.read.1", "share/man/man1/pmtrace.symbols.import.1",
                     "share/bash-completion/completions/pmtrace", "share/zsh/site-functions/_pmtrace",
                     "share/fish/vendor_completions.d/pmtrace.fish", "share/doc/pmtrace/LICENSE"] {
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/\(file)"), "\(file) not installed")
        }
        // Hidden commands stay out of the manual.
        let pages = try FileManager.default.contentsOfDirectory(atPath: "\(prefix)/share/man/man1")
        #expect(pages.count >= 20 && !pages.contains { $0.contains("torture") }, "\(pages)")
        for page in pages {
            let text = try String(contentsOfFile: "\(prefix)/share/man/man1/\(page)", encoding: .utf8)
            #expect(!text.contains("torture"), "\(page) mentions a hidden command")
        }

        // The README's C program, built exactly as the README says.
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try readmeSnippet("c").write(toFile: "\(work)/hello.c", atomically: true, encoding: .utf8)
        let env = ["PKG_CONFIG_PATH": "\(prefix)/lib/pkgconfig"]
        let cc = try shell("cc -Wall -Werror hello.c $(pkg-config --cflags --libs pmtrace) -o hello", environment: env, in: work)
        try #require(cc.status == 0, "\(cc.output)")

        // Nothing from the toolchain, nothing missing.
        for binary in ["\(work)/hello", "\(prefix)/lib/libPMTraceC.so", "\(prefix)/bin/pmtrace"] {
            let ldd = try shell("ldd '\(binary)'")
            #expect(ldd.status == 0 && ldd.output.contains("libc.so"), "\(binary): \(ldd.output)")
            #expect(!ldd.output.contains(toolchainDirectory) && !ldd.output.contains("not found") && !ldd.output.contains("swift"),
                    "\(binary) needs: \(ldd.output)")
        }
        #expect(try shell("ldd '\(work)/hello'").output.contains("\(prefix)/lib/libPMTraceC.so"))

        // Run with a minimal environment: no toolchain on PATH or on the library path.
        let pool = "\(work)/hello.pool"
        let clean = ["PATH": "/usr/bin:/bin"]
        #expect(try shell("'\(prefix)/bin/pmtrace' format '\(pool)' --size 64M", environment: clean, clean: true).status == 0)
        let run = try shell("./hello '\(pool)'", environment: clean, clean: true, in: work)
        #expect(run.status == 0, "\(run.output)")
        let version = try String(contentsOf: repositoryRoot.appendingPathComponent("include/pmtrace_region.h"), encoding: .utf8)
        let macros = ["MAJOR", "MINOR", "PATCH"].map { m in
            version.split(separator: "\n").first { $0.hasPrefix("#define PMT_VERSION_\(m) ") }.map { String($0.split(separator: " ")[2]) } ?? "?"
        }
        #expect(run.output.contains("(header \(macros.joined(separator: ".")))"), "\(run.output)")
        let read = try shell("'\(prefix)/bin/pmtrace' read '\(pool)' from-c", environment: clean, clean: true)
        #expect(read.output == "hello 1 from C\nhello 2 from C\nhello 3 from C\n", "\(read.output)")
        #expect(try shell("'\(prefix)/bin/pmtrace' --version", environment: clean, clean: true).output.hasPrefix("pmtrace \(macros.joined(separator: "."))\n"))

        // The completion scripts call back into pmtrace, which lists the pool's volumes.
        let bash = try String(contentsOfFile: "\(prefix)/share/bash-completion/completions/pmtrace", encoding: .utf8)
        #expect(bash.contains("---completion read -- positional@1"))
        let completion = try shell("'\(prefix)/bin/pmtrace' ---completion read -- positional@1 3 0 pmtrace read '\(pool)' ''", environment: clean, clean: true)
        #expect(completion.output.split(separator: "\n") == ["from-c"], "\(completion.output)")
        let none = try shell("'\(prefix)/bin/pmtrace' ---completion read -- positional@1 3 1 pmtrace read '\(pool)' x", environment: clean, clean: true)
        #expect(none.output.isEmpty)
    }
}
