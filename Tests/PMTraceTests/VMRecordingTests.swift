#if arch(x86_64) && os(Linux)
import Foundation
import GuestRecording
import MetadataCatalog
import PMTrace
import Testing
@testable import TraceAnalysis
import TraceFormat
import TracePayloads
import TraceVolume

/// The QEMU plugin over the bare-metal writer, on a real Linux guest
/// (system mode) and real programs (user mode). Skipped, with the reason,
/// when QEMU is not installed (scripts/setup.sh installs it).
@Suite(.serialized) struct VMRecordingTests {
    static let root = VMMArchiveTests.root

    static func script(_ name: String) throws -> [String] {
        let r = try VMMArchiveTests.run("/bin/bash", [root.appendingPathComponent("scripts/\(name)").path])
        try #require(r.status == 0, "\(name) failed:\n\(r.err)")
        return r.out.split(separator: "\n").map(String.init)
    }

    static var hasQEMU: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }
    static var hasQEMUUser: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-x86_64") }

    /// Page `gpa` of a file (zeros past its end).
    static func page(_ file: FileHandle, _ gpa: UInt64) throws -> [UInt8] {
        try file.seek(toOffset: gpa)
        var bytes = [UInt8](try file.read(upToCount: 4096) ?? Data())
        bytes += [UInt8](repeating: 0, count: 4096 - bytes.count)
        return bytes
    }

    /// Whether `a` and `b` differ only in bits 5 and 6 (accessed, dirty) of
    /// 8-byte entries: what the soft MMU writes into page tables itself.
    static func onlyAccessedDirtyBits(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for i in 0..<a.count where a[i] != b[i] {
            if i % 8 != 0 || (a[i] ^ b[i]) & ~0x60 != 0 { return false }
        }
        return true
    }

    /// A careless user gets one line naming what is wrong, and nothing is
    /// created: no QEMU, no kernel, a region too small, an existing RAM file,
    /// no program.
    @Test func recordCommandsRefuseBadInputClearly() throws {
        let pool = scratchPath("bad.pool"), ramFile = scratchPath("bad.ram")
        defer { unlink(pool); unlink(ramFile) }
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        let kernel = "/nonexistent/vmlinuz"
        let noQEMU = try pmtrace(["record-vm", pool, "v", "--kernel", kernel, "--initrd", kernel], environment: ["PATH": "/nonexistent"])
        #expect(noQEMU.status == 2 && noQEMU.stderr.contains("apt-get install -y qemu-system-x86"), "\(noQEMU.stderr)")
        guard Self.hasQEMU else { return }
        let noKernel = try pmtrace(["record-vm", pool, "v", "--kernel", kernel, "--initrd", kernel])
        #expect(noKernel.status == 2 && noKernel.stderr.contains("/nonexistent/vmlinuz: no such kernel"), "\(noKernel.stderr)")
        let plugin = try #require(try Self.script("build-plugin.sh").last)
        let small = try pmtrace(["record-vm", pool, "v", "--kernel", "/bin/sh", "--initrd", "/bin/sh", "--plugin", plugin])
        #expect(small.status == 1 && small.stderr.contains("region too small"), "\(small.stderr)")
        _ = FileManager.default.createFile(atPath: ramFile, contents: Data([1]))
        let ram = try pmtrace(["record-vm", pool, "v", "--kernel", "/bin/sh", "--initrd", "/bin/sh", "--ram-file", ramFile, "--plugin", plugin])
        #expect(ram.status == 2 && ram.stderr.contains("exists"), "\(ram.stderr)")
        let memory = try pmtrace(["record-vm", pool, "v", "--kernel", "/bin/sh", "--initrd", "/bin/sh", "--memory", "5G"])
        #expect(memory.status == 2 && memory.stderr.contains("--memory"), "\(memory.stderr)")
        let noProgram = try pmtrace(["record", pool, "u"])
        #expect(noProgram.status == 2 && noProgram.stderr.contains("after --"), "\(noProgram.stderr)")
        let missing = try pmtrace(["record", pool, "u", "--plugin", plugin, "--", "/nonexistent/prog"])
        #expect(missing.status == 2 && missing.stderr.contains("no such program"), "\(missing.stderr)")
        let list = try pmtrace(["list", pool, "--json"])
        #expect(!list.out.contains("\"volume\""), "no volume was left behind: \(list.out)")
    }

    /// A run killed with SIGKILL cannot clean up: its guest stops with it
    /// (QEMU runs under `setpriv --pdeathsig TERM`, and its TERM handler
    /// lets the plugin commit), the region stays clean, and the next run
    /// removes the temporary RAM file it left.
    @Test(.enabled(if: hasQEMU && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs QEMU and setpriv"))
    func killedRunStopsItsGuestAndItsRAMFileIsRemovedLater() throws {
        let guest = try Self.script("guest.sh")
        let (kernel, initrd) = (guest[guest.count - 2], guest[guest.count - 1])
        let plugin = try #require(try Self.script("build-plugin.sh").last)
        let pool = scratchPath("killed.pool")
        defer { unlink(pool) }
        #expect(try pmtrace(["format", pool, "--size", "1G"]).status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: pmtraceBinary)
        p.arguments = ["record-vm", pool, "k", "--kernel", kernel, "--initrd", initrd, "--memory", "128M",
                       "--max-accesses", "5000000", "--plugin", plugin]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Wait for the guest's first console line: QEMU and the plugin are running.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("guest:") {
            let chunk = err.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "record-vm ended before the guest printed: \(String(decoding: seen, as: UTF8.self))")
            seen.append(chunk)
        }
        let ramFile = "/dev/shm/pmtrace-ram-\(p.processIdentifier)"
        #expect(FileManager.default.fileExists(atPath: ramFile))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // QEMU holds the region's lock until it exits: a writable open waits for that.
        var waited = 0
        while try pmtrace(["create", pool, "probe"]).status != 0 {
            waited += 1
            try #require(waited < 600, "QEMU kept running after its pmtrace was killed")
            usleep(50_000)
        }
        let fsck = try pmtrace(["fsck", pool])
        #expect(fsck.status == 0, "\(fsck.out)")
        #expect(FileManager.default.fileExists(atPath: ramFile), "the killed run could not remove its RAM file")
        _ = try pmtrace(["record-vm", pool, "v", "--kernel", "/nonexistent/vmlinuz", "--initrd", "/nonexistent/initrd"])
        #expect(!FileManager.default.fileExists(atPath: ramFile), "the next run removes it")
    }

    /// The plugin links the bare-metal archive, not the Swift runtime: what
    /// it needs from outside is libc, pthreads and QEMU's plugin API.
    @Test func pluginNeedsNoSwiftRuntime() throws {
        let plugin = try #require(try Self.script("build-plugin.sh").last)
        let r = try VMMArchiveTests.run("/usr/bin/nm", ["-D", "--undefined-only", plugin])
        try #require(r.status == 0, "\(r.err)")
        let symbols = r.out.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(symbols.contains("qemu_plugin_register_vcpu_mem_cb"))
        let foreign = symbols.filter { s in
            !(s.hasPrefix("qemu_plugin_") || s.contains("@GLIBC_") || s.hasPrefix("_ITM_") || s == "__gmon_start__")
        }
        #expect(foreign.isEmpty, "undefined symbols beyond libc and the plugin API: \(foreign)")
        let r2 = try VMMArchiveTests.run("/usr/bin/readelf", ["-d", plugin])
        #expect(!r2.out.contains("swift"), "no Swift library is NEEDED")
    }

    @Test(.enabled(if: hasQEMU, "qemu-system-x86_64 is not installed (scripts/setup.sh installs it)"))
    func systemModeBootIsRecordedExactly() throws {
        let guest = try Self.script("guest.sh")
        let (kernel, initrd) = (guest[guest.count - 2], guest[guest.count - 1])
        let plugin = try #require(try Self.script("build-plugin.sh").last)
        let pool = scratchPath("vm.pool"), ram = scratchPath("vm.ram"), stats = scratchPath("vm.stats")
        let snapshot = scratchPath("vm.snap2"), restored2 = scratchPath("vm.r2"), restoredLast = scratchPath("vm.rlast")
        defer { for f in [pool, ram, stats, snapshot, restored2, restoredLast] { unlink(f) } }
        #expect(try pmtrace(["format", pool, "--size", "1G"]).status == 0)
        let maxAccesses: UInt64 = 20_000_000
        let r = try pmtrace(["record-vm", pool, "boot", "--kernel", kernel, "--initrd", initrd, "--memory", "128M",
                             "--max-accesses", "\(maxAccesses)", "--checkpoint-every", "60000000", "--ram-file", ram,
                             "--stats", stats, "--plugin", plugin, "--snapshot", snapshot, "--snapshot-epoch", "2"])
        try #require(r.status == 0, "record-vm failed: \(r.stderr)")
        let s = PluginStats(text: try String(contentsOfFile: stats, encoding: .utf8))
        #expect(s.mode == "system" && !s.failed)
        #expect(s.unmapped == 0, "every RAM/ROM access translates to a GPA")
        #expect(s.recorded == min(maxAccesses, s.loads + s.stores - s.io))

        let p = try TracePool.open(path: pool, writable: false)
        // The volume holds exactly what the plugin counted.
        let v = try VolumeStats.compute(store: p.store, volume: "boot")
        #expect(v.accessCount == s.recorded)
        #expect(v.pmlEntries == s.pmlEntries)
        #expect(v.checkpoints == s.checkpoints)
        #expect(v.byKind["page-image"]?.records == s.images)

        // The marker the guest generated at run time.
        let console = try p.store.openLaneReader(volume: "boot", lane: 2)
        var marker: String?
        while let m = try console.next() {
            let text = m.withContiguousPayload { String(decoding: $0, as: UTF8.self) }
            if text.hasPrefix("PMTRACE-MARKER ") { marker = text }
        }
        let markerText = try #require(marker, "the guest printed no marker")

        // Rebuild guest RAM from the images, epoch by epoch, and check each
        // epoch's changes against its PML pages.
        let epochs = try GuestEpochs(store: p.store, volume: "boot")
        #expect(epochs.epochs.count == Int(s.checkpoints) && epochs.epochs.count >= 3)
        #expect(epochs.epochs.first?.checkpoint.flags == .base && epochs.epochs.last?.checkpoint.flags == .final)
        var memory: [UInt64: [UInt8]] = [:]
        let machine = try p.store.openLaneReader(volume: "boot", lane: epochs.machineLane)
        var epoch = 0
        var changedOutsidePML = 0, adOnly = 0, changed = 0, loaded = 0
        var perEpoch: [Int: (other: Int, ad: Int)] = [:]
        // What the firmware copies into RAM by DMA (fw_cfg) before the kernel
        // runs: 4 KiB windows of the kernel and initramfs at 512-byte steps.
        var fileWindows = Set<[UInt8]>()
        for path in [kernel, initrd] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            for start in stride(from: 0, to: max(0, bytes.count - 4096), by: 512) { fileWindows.insert(Array(bytes[start..<start + 4096])) }
        }
        var pmlEverywhere = Set<UInt64>()
        while let rec = try machine.next() {
            if rec.kind == .checkpoint { epoch += 1; continue }
            guard rec.kind == .pageImage else { continue }
            let (gpa, bytes) = try rec.withContiguousPayload { b throws(FormatError) in
                let (a, page) = try PageImage.decode(b)
                return (a, [UInt8](page))
            }
            let before = memory[gpa] ?? [UInt8](repeating: 0, count: 4096)
            if epoch > 0 && before != bytes {
                changed += 1
                if !epochs.epochs[epoch].pmlPages.contains(gpa) {
                    changedOutsidePML += 1
                    if Self.onlyAccessedDirtyBits(before, bytes) { adOnly += 1; perEpoch[epoch, default: (0, 0)].ad += 1 }
                    else {
                        perEpoch[epoch, default: (0, 0)].other += 1
                        if fileWindows.contains(bytes) { loaded += 1 }
                    }
                }
            }
            memory[gpa] = bytes
        }
        for e in epochs.epochs { pmlEverywhere.formUnion(e.pmlPages) }
        print("system mode: \(s.loads + s.stores) accesses, \(s.recorded) recorded, \(epochs.epochs.count) checkpoints, \(changed) page changes after the base, \(changedOutsidePML) outside PML of which \(adOnly) accessed/dirty bits only")
        print("per epoch (other, a/d only): \(perEpoch.sorted { $0.key < $1.key }); \(loaded) are pages of the kernel or initramfs")
        // After the firmware, the only writes the plugin cannot see are the
        // accessed/dirty bits the soft MMU sets in page tables.
        for (e, n) in perEpoch where e > 1 { #expect(n.other == 0, "epoch \(e): \(n.other) pages changed by something other than a store or an A/D bit") }
        // In the firmware's epoch, unseen writes are the kernel and initramfs loaded by DMA.
        let firmware = perEpoch[1]?.other ?? 0
        #expect(loaded * 10 >= firmware * 9, "\(loaded) of \(firmware) unseen writes in epoch 1 are kernel/initramfs pages")

        // The restored last epoch equals guest RAM at power-off, every page.
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: ram))
        let size = try file.seekToEnd()
        var mismatches = 0
        var markerPages: [UInt64] = []
        let needle = Array(markerText.utf8)
        for gpa in stride(from: UInt64(0), to: size, by: 4096) {
            let actual = try Self.page(file, gpa)
            if actual != (memory[gpa] ?? [UInt8](repeating: 0, count: 4096)) { mismatches += 1 }
            if actual.count >= needle.count,
               (0...(actual.count - needle.count)).contains(where: { actual[$0] == needle[0] && Array(actual[$0..<$0 + needle.count]) == needle }) {
                markerPages.append(gpa)
            }
        }
        #expect(mismatches == 0, "the last epoch restores guest RAM exactly")

        // `pmtrace restore`: an intermediate epoch equals the copy of guest
        // RAM the plugin took at that checkpoint, the last one the RAM file.
        let r2 = try pmtrace(["restore", pool, "boot", "--at", "2", "--out", restored2])
        try #require(r2.status == 0, "\(r2.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored2, andPath: snapshot), "epoch 2 restores the RAM copied at checkpoint 2")
        let rl = try pmtrace(["restore", pool, "boot", "--at", "last", "--out", restoredLast])
        try #require(rl.status == 0, "\(rl.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restoredLast, andPath: ram), "the last epoch restores the RAM file at power-off")
        #expect(try pmtrace(["restore", pool, "boot", "--at", "last", "--out", restoredLast]).status == 2, "an existing output is kept")
        // `pmtrace diff`: the pages that changed from epoch 2 to 3, by source.
        struct DiffRow: Decodable { var gpa: UInt64; var bytesChanged: Int; var source: String }
        let d = try pmtrace(["diff", pool, "boot", "--from", "2", "--to", "3", "--json"])
        try #require(d.status == 0, "\(d.stderr)")
        let rows = try JSONDecoder().decode([DiffRow].self, from: d.stdout)
        #expect(!rows.isEmpty && rows.allSatisfy { $0.bytesChanged > 0 && $0.bytesChanged <= 4096 })
        #expect(rows.filter { $0.source == "unlogged" }.count == perEpoch[3]?.ad ?? 0, "diff's unlogged pages are the A/D-bit pages")
        #expect(!markerPages.isEmpty, "the host finds the marker in the RAM file")
        for gpa in markerPages {
            #expect(pmlEverywhere.contains(gpa), "page \(String(gpa, radix: 16)) with the marker was logged by PML")
        }
    }

    @Test(.enabled(if: hasQEMUUser, "qemu-x86_64 is not installed (scripts/setup.sh installs qemu-user)"))
    func userModeProgramIsRecordedWithItsLibraries() throws {
        let plugin = try #require(try Self.script("build-plugin.sh").last)
        let pool = scratchPath("user.pool"), stats = scratchPath("user.stats")
        defer { for f in [pool, stats] { unlink(f) } }
        #expect(try pmtrace(["format", pool, "--size", "512M"]).status == 0)
        let r = try pmtrace(["record", pool, "ls", "--stats", stats, "--plugin", plugin, "--", "ls", "-l", "/usr/bin"])
        try #require(r.status == 0, "record failed: \(r.stderr)")
        #expect(r.out.contains("bash"), "the program's own output passes through")
        let s = PluginStats(text: try String(contentsOfFile: stats, encoding: .utf8))
        #expect(s.mode == "user" && !s.failed && s.recorded == s.loads + s.stores && s.recorded > 1_000_000)
        let p = try TracePool.open(path: pool, writable: false)
        let v = try VolumeStats.compute(store: p.store, volume: "ls")
        #expect(v.accessCount == s.recorded)
        #expect(v.accesses["load"] == s.loads && v.accesses["store"] == s.stores)

        let hot = try pmtrace(["hot", pool, "ls", "--as", "ls", "--json", "--top", "20"])
        try #require(hot.status == 0, "\(hot.stderr)")
        struct Row: Decodable { var app: String; var function: String; var accesses: UInt64 }
        let rows = try JSONDecoder().decode([Row].self, from: hot.stdout)
        #expect(rows.contains { $0.app == "libc.so.6" && $0.function.contains("mem") }, "libc's memory functions are among the hottest: \(rows.prefix(5))")
        // The mappings come from the marker at the end of lane 0: a time window that ends
        // before the program's exit still names them (it read nothing past the window).
        let early = try pmtrace(["hot", pool, "ls", "--by", "mapping", "--until", "+20ms"])
        #expect(early.status == 0 && early.out.contains("ld-linux") && !early.out.contains("[unmapped]"), "\(early.out)")

        // hot's fast path (runs, range cache, interned slots, page table) gives exactly
        // the answers of one symbol lookup per access, for every grouping.
        let symbolizer = try MetadataCatalog(store: p.store).symbolizer(addressSpace: "ls")
        let cases: [(HotCounter.Grouping, Bool, Set<MemoryAccess.Kind>?)] = [
            (.function, true, nil), (.function, false, nil), (.function, true, [.store]),
            (.image, true, nil), (.image, false, nil), (.page, false, nil), (.mapping, true, nil),
        ]
        for (grouping, byPC, kinds) in cases {
            let fast = HotCounter(grouping: grouping, symbolizer: symbolizer, byPC: byPC, kinds: kinds)
            let slow = HotCounter(grouping: grouping, symbolizer: symbolizer, byPC: byPC, kinds: kinds, cached: false)
            let stream = try AccessStream(reader: try p.store.openReader(volume: "ls"))
            let block = AccessBlock()
            while try stream.next(into: block) { fast.add(block); slow.add(block) }
            #expect(fast.total == slow.total && fast.symbolized == slow.symbolized, "\(grouping) byPC \(byPC)")
            let f = fast.rows(top: .max, maps: stream.recordedMaps), s = slow.rows(top: .max, maps: stream.recordedMaps)
            #expect(f.count == s.count && f == s, "\(grouping) byPC \(byPC): \(f.count) rows vs \(s.count)")
            #expect(f.count > 3 && f.reduce(0) { $0 + $1.accesses } == fast.total)
        }
    }
}
#endif
