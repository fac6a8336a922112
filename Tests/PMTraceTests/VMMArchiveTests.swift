#if arch(x86_64) && os(Linux)
import Foundation
import PMTrace
import Testing
import TraceFormat
import TracePayloads
import TraceVolume

/// The bare-metal writer: scripts/build-vmm.sh builds the Embedded Swift
/// archive, its undefined symbols are only what include/pmtrace_vmm.h says
/// the host provides, and a freestanding C program (Tests/VMM/harness.c: no
/// libc, raw syscalls) linked with it writes a region that `pmtrace` reads
/// back exactly.
@Suite(.serialized) struct VMMArchiveTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The Swift toolchain's bin directory (clang, llvm-nm, ld.lld).
    static let toolchain: String = {
        let swift = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/swift" }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/swift"
        return URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent().path
    }()

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    static func run(_ executable: String, _ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let errBox = DataBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readToEndRetrying()
            done.signal()
        }
        let outData = out.fileHandleForReading.readToEndRetrying()
        p.waitUntilExit()
        done.wait()
        return Run(status: p.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                   err: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Builds (or finds up to date) the archive; its path is the script's last line.
    static func buildArchive() throws -> String {
        let r = try run("/bin/bash", [root.appendingPathComponent("scripts/build-vmm.sh").path])
        try #require(r.status == 0, "build-vmm.sh failed:\n\(r.err)")
        let path = try #require(r.out.split(separator: "\n").last.map(String.init))
        try #require(FileManager.default.fileExists(atPath: path), "no archive at \(path)")
        return path
    }

    /// Names of the functions pmtrace_vmm.h marks PMT_VMM_HOST.
    static func hostFunctions() throws -> Set<String> {
        let header = try String(contentsOf: root.appendingPathComponent("include/pmtrace_vmm.h"), encoding: .utf8)
        var names = Set<String>()
        for line in header.split(separator: "\n") where line.hasPrefix("PMT_VMM_HOST ") {
            let beforeParen = line.split(separator: "(")[0]
            let last = beforeParen.split(whereSeparator: { $0 == " " || $0 == "*" }).last.map(String.init)
            if let last { names.insert(last) }
        }
        return names
    }

    /// Functions pmtrace.h and pmtrace_nvm.h (NVM discovery) declare.
    static func entryPoints() throws -> Set<String> {
        try entryPoints(in: "pmtrace.h").union(entryPoints(in: "pmtrace_nvm.h"))
    }

    /// Functions include/`file` declares.
    static func entryPoints(in file: String) throws -> Set<String> {
        let header = try String(contentsOf: root.appendingPathComponent("include/\(file)"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"\b(pmt_[a-z_]+)\("#)
        var names = Set<String>()
        for line in header.split(separator: "\n") where !line.hasPrefix(" *") && !line.hasPrefix("/*") {
            let s = String(line)
            for m in regex.matches(in: s, range: NSRange(location: 0, length: (s as NSString).length)) {
                names.insert((s as NSString).substring(with: m.range(at: 1)))
            }
        }
        return names
    }

    @Test func archiveNeedsOnlyWhatTheHeaderDeclares() throws {
        let archive = try Self.buildArchive()
        let nm = Self.toolchain + "/llvm-nm"
        let undefined = try Self.run(nm, ["-u", archive])
        try #require(undefined.status == 0, "\(undefined.err)")
        let symbols = Set(undefined.out.split(separator: "\n").filter { $0.contains(" U ") }.map { String($0.split(separator: " ").last!) })
        let host = try Self.hostFunctions()
        #expect(host == ["posix_memalign", "free", "memcmp"])
        let allowed = host.union(["memcpy", "memmove", "memset"])
        #expect(symbols.subtracting(allowed).isEmpty, "undefined beyond what the host provides: \(symbols.subtracting(allowed).sorted())")
        #expect(symbols.contains("posix_memalign"), "the allocator is expected to be needed (nm -u: \(symbols.sorted()))")

        // Every C entry point of pmtrace.h but the hosted pmt_open, pmt_open_truncated and pmt_close is
        // defined, and nothing else is global.
        let defined = try Self.run(nm, ["-g", "--defined-only", archive])
        let globals = Set(defined.out.split(separator: "\n").filter { $0.split(separator: " ").count == 3 }
            .map { String($0.split(separator: " ")[2]) })
        let expected = try Self.entryPoints().subtracting(["pmt_open", "pmt_open_truncated", "pmt_close"])
        #expect(expected.contains("pmt_append_accesses"))
        #expect(globals == expected)
    }

    /// The accesses harness.c writes (its next_access, replayed).
    static func accesses(count: Int) -> [MemoryAccess] {
        let sizes: [UInt32] = [1, 2, 4, 8, 16, 63, 64, 4096]
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        var previous: UInt64 = 0x100000
        return (0..<count).map { i in
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            switch i % 4 {
            case 0: previous &+= 8
            case 1: previous &-= rng >> 52
            case 2: previous = rng
            default: previous &+= 64
            }
            return MemoryAccess(kind: MemoryAccess.Kind(rawValue: UInt8(rng >> 62))!, address: previous, size: sizes[Int((rng >> 40) & 7)])
        }
    }

    static let blobSizes = [1, 7, 8, 64, 255, 256, 4095, 5000, 70000, 3]
    static func blob(_ i: Int) -> [UInt8] { (0..<blobSizes[i]).map { j in UInt8(truncatingIfNeeded: i * 131 + j * 7 + (j >> 8)) } }
    static let lane1Blob = Array("lane 1 blob between access batches".utf8)
    static let accessCount = 20000, lane1BlobAfter = 7000

    /// `shim`: the CPU's own choice of cache-line write-back (clwb or
    /// clflushopt where present), plain clflush, or eADR (fences only).
    @Test(arguments: ["cpu", "clflush", "eadr"]) func freestandingHarnessRoundTrip(shim: String) throws {
        let archive = try Self.buildArchive()
        let exe = scratchPath("vmm-harness-\(shim)"), pool = scratchPath("vmm-region-\(shim)")
        defer { unlink(exe); unlink(pool) }
        let cc = try Self.run(Self.toolchain + "/clang", [
            "-ffreestanding", "-nostdlib", "-static", "-fno-pie", "-fno-stack-protector", "-O1", "-Wall", "-Wextra", "-Werror",
            "-fuse-ld=lld", "-Wl,--gc-sections", "-I", Self.root.appendingPathComponent("include").path,
            Self.root.appendingPathComponent("Tests/VMM/harness.c").path, archive, "-o", exe,
        ])
        try #require(cc.status == 0, "the harness did not build:\n\(cc.err)")
        // The region file with its final size; the harness formats it.
        #expect(FileManager.default.createFile(atPath: pool, contents: nil))
        #expect(truncate(pool, 4 << 20) == 0)

        let h = try Self.run(exe, shim == "cpu" ? [pool] : [pool, shim])
        try #require(h.status == 0, "harness failed (\(h.status)): \(h.err)")
        let fields = Dictionary(uniqueKeysWithValues: h.out.split(whereSeparator: { $0 == " " || $0 == "\n" }).dropFirst().compactMap { kv -> (String, String)? in
            let p = kv.split(separator: "=", maxSplits: 1)
            return p.count == 2 ? (String(p[0]), p[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        })
        #expect(h.out.hasPrefix("ok "), "\(h.out)")
        #expect(fields["accesses"] == "\(Self.accessCount)")
        #expect(fields["crc32c"] == "sse4.2" || fields["crc32c"] == "table")
        let stack = try #require(fields["stack-bytes"].flatMap { Int($0) })
        #expect(stack > 0 && stack <= 64 << 10)
        switch shim {
        case "clflush": #expect(fields["flush"] == "clflush")
        case "eadr": #expect(fields["flush"] == "none-eadr")
        default: #expect(["clwb", "clflushopt", "clflush"].contains(fields["flush"] ?? ""))
        }

        // fsck: clean.
        let fsck = try pmtrace(["fsck", pool])
        #expect(fsck.status == 0, "\(fsck.out)\(fsck.stderr)")
        // Clean; the one record past a commit point is the blob appended after the harness's lost store.
        let uncommitted = fsck.out.split(separator: "\n").filter { !$0.hasPrefix("clean:") }
        #expect(fsck.out.split(separator: "\n").last?.hasPrefix("clean:") == true, "\(fsck.out)")
        #expect(uncommitted.count == 1 && uncommitted[0].hasPrefix("info: volume 'second' lane 0: past the commit point")
                && uncommitted[0].contains("1 checksum-valid uncommitted record(s)"), "\(fsck.out)")

        // read: the blobs, byte for byte, in timestamp order (lane 0's all came first).
        let read = try pmtrace(["read", pool, "vmm"])
        #expect(read.status == 0, "\(read.stderr)")
        let expectedBlobs = (0..<Self.blobSizes.count).flatMap { Self.blob($0) } + Self.lane1Blob
        #expect(Array(read.stdout) == expectedBlobs)
        // The harness raised its lost-store count after that blob: the next commit and volume were refused.
        #expect(try pmtrace(["read", pool, "second"]).out == "second")
        #expect(try !pmtrace(["list", pool]).out.contains("third"))

        // dump --json: lane 0 holds the blobs in order; lane 1 the batches,
        // with the blob after exactly `lane1BlobAfter` accesses.
        let dump = try pmtrace(["dump", pool, "vmm", "--json"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let lines = try dump.out.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let lane0 = lines.filter { $0["lane"] as? Int == 0 }, lane1 = lines.filter { $0["lane"] as? Int == 1 }
        #expect(lane0.map { $0["kind"] as? String } == Array(repeating: "blob", count: Self.blobSizes.count))
        #expect(lane0.map { $0["length"] as? Int } == Self.blobSizes)
        var accessesBeforeBlob: Int?
        var total = 0
        for l in lane1 {
            if l["kind"] as? String == "blob" { accessesBeforeBlob = total; continue }
            #expect(l["kind"] as? String == "memory-access-streams")
            let n = try #require(l["accesses"] as? Int)
            #expect(n > 0)
            #expect(try #require(l["length"] as? Int) <= Int(PMT_ACCESS_BATCH_BYTES))
            total += n
        }
        #expect(total == Self.accessCount)
        #expect(accessesBeforeBlob == Self.lane1BlobAfter)
        // Timestamps come from the harness's counter clock: strictly increasing in call order.
        let stamps = lines.compactMap { $0["timestamp"] as? Int }
        #expect(stamps.count == lines.count && zip(stamps, stamps.dropFirst()).allSatisfy { $0 < $1 })

        // Appends allocate only when a lane moves to a new segment (the
        // harness counts posix_memalign calls after lane 1's first record).
        let lane1Segments = Set(lane1.dropFirst().compactMap { $0["segment"] as? Int })
        let allocations = try #require(fields["allocations-during-access-appends"].flatMap { Int($0) })
        #expect(allocations <= lane1Segments.count - 1, "\(allocations) allocations, \(lane1Segments.count) segments")

        // The accesses decode to exactly what the harness generated.
        let p = try TracePool.open(path: pool, writable: false)
        let reader = try p.store.openReader(volume: "vmm")
        var decoded: [MemoryAccess] = []
        while let r = try reader.next() {
            guard MemoryAccessBatch.isBatch(r.kind) else { continue }
            try r.withContiguousPayload { (b: UnsafeRawBufferPointer) throws(FormatError) in
                try MemoryAccessBatch.forEach(b, kind: r.kind) { decoded.append($0) }
            }
        }
        #expect(decoded == Self.accesses(count: Self.accessCount))
    }
}
#endif
