#if arch(x86_64) && os(Linux)
import Foundation
import PMTrace
import PMTraceTesting
import Testing
import TraceVolume

/// Issue 10, part 3: a Linux guest keeps its trace store on its emulated
/// NVDIMM (scripts/nvm-store-guest.sh: pmtrace in the initramfs, the region
/// on /dev/dax0.0 through the real kernel's devdax path). The host then opens
/// the NVDIMM's backing file in place (`<file>@<data offset>`, the offset from
/// `pmtrace locate --namespace`) after QEMU was SIGKILLed in the middle of a
/// stream of commits, after a normal power-off, and the other way round: a
/// region the host wrote is read back by the guest.
///
/// What a SIGKILL of QEMU does and does not simulate: the NVDIMM is a shared
/// mapping of the backing file, so every store the guest made is in the host's
/// page cache the moment it is made — the machine dies as at a power cut,
/// except that nothing like a CPU cache is lost (TCG has none). This checks the
/// commit protocol against a death at an arbitrary instruction, not flushing.
/// Skipped when QEMU is not installed. About 10–15 s a boot.
@Suite(.serialized) struct NVMStoreGuestTests {
    static let root = VMMArchiveTests.root
    /// When QEMU is killed: after this many acknowledged commits (0: as the
    /// stream starts). PMTRACE_NVM_KILLS=1,15,… for other or more runs.
    static let killPoints: [Int] = ProcessInfo.processInfo.environment["PMTRACE_NVM_KILLS"].map {
        $0.split(separator: ",").compactMap { Int($0) }
    } ?? [0, 7, 60]

    /// The guest's "NVM-<key> …" lines: key → the rest of each line, in order.
    struct Console {
        var lines: [(key: String, rest: String)] = []
        init(_ text: String) {
            for line in text.split(separator: "\n") {
                guard let r = line.range(of: "NVM-") else { continue }
                let l = line[r.upperBound...]
                let key = l.prefix { $0 != " " }
                lines.append((String(key), String(l.dropFirst(key.count).drop { $0 == " " })))
            }
        }
        func all(_ key: String) -> [String] { lines.filter { $0.key == key }.map(\.rest) }
        func first(_ key: String) -> String? { all(key).first }
    }

    /// Boots the store guest; returns its console lines.
    static func boot(_ run: String, _ out: String, killAfter: Int? = nil) throws -> Console {
        var args = [root.appendingPathComponent("scripts/nvm-store-guest.sh").path, run, out]
        if let killAfter { args.append(String(killAfter)) }
        let started = Date()
        let r = try VMMArchiveTests.run("/bin/bash", args)
        try #require(r.status == 0, "nvm-store-guest.sh \(run): \(r.err.suffix(2000))\n\(r.out.suffix(3000))")
        print("nvm-store-guest \(run)\(killAfter.map { " \($0)" } ?? ""): \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let console = Console(r.out)
        #expect(console.all("ERROR").isEmpty, "\(console.all("ERROR"))")
        return console
    }

    /// `locate --namespace` on the backing file: the data offset, with a PMTrace region there.
    static func locate(_ nv: String) throws -> (offset: UInt64, length: UInt64) {
        // An empty directory: no SRAT or NFIT, whatever the host's firmware tables hold.
        let noTables = scratchPath("no-acpi-tables")
        try FileManager.default.createDirectory(atPath: noTables, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: noTables) }
        let r = try pmtrace(["locate", "--acpi-tables", noTables, "--namespace", nv, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let ns = try #require(o["namespace"] as? [String: Any], "\(r.out)")
        #expect(ns["kind"] as? String == "devdax")
        #expect(ns["pmtraceRegion"] is [String: Any], "locate finds no region: \(r.out)")
        let offset = try #require(ns["dataOffset"] as? UInt64)
        let length = try #require(ns["dataLength"] as? UInt64)
        return (offset, length)
    }

    static func sha256(_ data: Data) throws -> String {
        let file = scratchPath("nvm-sha")
        defer { unlink(file) }
        try data.write(to: URL(fileURLWithPath: file))
        let r = try VMMArchiveTests.run("/usr/bin/sha256sum", [file])
        return String(r.out.prefix(64))
    }

    /// nvm-probe's symbols, from `nm` of the very binary the guest carried.
    static func nm() throws -> [String: UInt64] {
        let probe = (ProcessInfo.processInfo.environment["PMTRACE_GUEST_DIR"] ?? root.appendingPathComponent(".guest").path) + "/nvm/nvm-probe"
        let r = try VMMArchiveTests.run("/usr/bin/nm", [probe])
        var symbols: [String: UInt64] = [:]
        for line in r.out.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, let a = UInt64(f[0], radix: 16) { symbols[String(f[2])] = a }
        }
        return symbols
    }

    /// What the guest wrote before its stream, checked on the host through
    /// every command that opens the region in place; the addresses nvm-probe
    /// printed in the guest symbolize (from the table the guest imported) to
    /// what `nm` says on the host.
    static func checkGuestRecords(_ console: Console, region: String) throws {
        #expect(console.first("FORMAT-STATUS") == "0", "\(console.all("FORMAT"))")
        // libpmem2 on the devdax device: cache-line granularity, the real pmem path.
        #expect(console.first("FORMAT")?.hasSuffix("store granularity cache line") == true, "\(console.all("FORMAT"))")
        #expect(console.first("SYMBOLS-STATUS") == "0", "\(console.all("SYMBOLS"))")
        #expect(console.first("BLOB-WRITE-STATUS") == "0" && console.first("MARKER-WRITE-STATUS") == "0")

        let blob = try #require(console.first("BLOB")?.split(separator: " "))
        let read = try pmtrace(["read", region, "blob"])
        let blobSHA = try sha256(read.stdout)
        #expect(read.status == 0 && read.stdout.count == Int(blob[1]) && blobSHA == String(blob[0]), "\(read.stderr)")
        let marker = try #require(console.first("MARKER"))
        let dump = try pmtrace(["dump", region, "markers"])
        #expect(dump.status == 0 && dump.out.contains("kind=marker") && dump.out.contains(marker), "\(dump.out)\(dump.stderr)")

        let symbols = try nm()
        let addresses = console.all("ADDR").map { $0.split(separator: " ") }
        try #require(addresses.count == 4, "\(console.all("ADDR"))")
        let s = try pmtrace(["symbolize", region, "--app", "nvm-probe"] + addresses.map { String($0[1]) })
        #expect(s.status == 0, "\(s.stderr)")
        let answers = s.out.split(separator: "\n")
        for (a, answer) in zip(addresses, answers) {
            let name = String(a[0])  // "main", "pmt_probe_checksum+0x8", …
            let base = String(name.prefix { $0 != "+" })
            let offset = name.contains("+") ? String(name.split(separator: "+")[1]) : "0x0"
            #expect(answer == "\(a[1]) \(base)+\(offset)", "\(answer)")
            #expect(symbols[base].map { "0x" + String($0 + UInt64(offset.dropFirst(2), radix: 16)!, radix: 16) } == String(a[1]), "nm: \(base)")
        }
        for command in [["info", region], ["list", region], ["stats", region, "blob"], ["symbols", "list", region]] {
            let r = try pmtrace(command)
            #expect(r.status == 0, "\(command): \(r.stderr)")
        }
        let fsck = try pmtrace(["fsck", region])
        #expect(fsck.status == 0, "fsck: \(fsck.out)\(fsck.stderr)")
    }

    /// SIGKILL of QEMU while the guest appends and commits: 0, a few and many
    /// acknowledgements in. Every record whose commit the guest acknowledged
    /// on its console reads back byte for byte; fsck is clean.
    @Test(arguments: killPoints) func killedGuestLosesNoAcknowledgedRecord(killAfter: Int) throws {
        guard VMRecordingTests.hasQEMU else { return }
        let out = scratchPath("nvm-kill-\(killAfter)")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let console = try Self.boot("kill", out, killAfter: killAfter)
        #expect(console.first("DONE") == nil)  // it died, it did not power off
        let killed = try String(contentsOfFile: "\(out)/killed", encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(killed.count == 3)
        let lastAcknowledged = killed[2]  // -1: none
        #expect(killed[0] >= killAfter && killed[1] >= killed[0])

        let nv = "\(out)/nv.img"
        let (offset, _) = try Self.locate(nv)
        let region = "\(nv)@\(offset)"
        try Self.checkGuestRecords(console, region: region)

        // The stream, in process: an exact prefix of what was appended, holding every acknowledged record.
        let p = try TracePool.open(path: nv, offset: offset, writable: false)
        let reader = try p.store.openLaneReader(volume: "stream", lane: 0)
        var expected: UInt64 = 0, wrong = 0, found = 0
        while let r = try reader.next() {
            var bytes: [UInt8] = []
            r.forEachFragment { bytes.append(contentsOf: $0) }
            if r.sequence != expected || bytes != tortureRecord(r.sequence) { wrong += 1 }
            if Int(r.sequence) <= lastAcknowledged { found += 1 }
            expected = r.sequence + 1
        }
        let committed = lastAcknowledged + 1
        #expect(wrong == 0, "\(wrong) records out of order or with wrong bytes")
        #expect(found == committed, "\(committed - found) of \(committed) acknowledged records lost")
        #expect(try p.store.check().clean)
        print("nvm-store-guest kill \(killAfter): \(committed) acknowledged, \(found) read back (\(expected) in the lane), lost \(committed - found)")
        let dump = try pmtrace(["dump", region, "stream"])
        #expect(dump.status == 0 && dump.out.split(separator: "\n").count == Int(expected), "\(dump.stderr)")
    }

    /// The guest powers off normally; then the reverse direction on the same
    /// NVDIMM: the host formats and fills a region at the data offset of the
    /// namespace the guest made, the guest's kernel finds that namespace
    /// again, and the guest reads the region through /dev/dax0.0 and checks it.
    @Test func cleanPowerOffThenTheGuestReadsWhatTheHostWrote() throws {
        guard VMRecordingTests.hasQEMU else { return }
        let out = scratchPath("nvm-clean")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let console = try Self.boot("write", out)
        let nv = "\(out)/nv.img"
        var (offset, length) = try Self.locate(nv)
        var region = "\(nv)@\(offset)"
        try Self.checkGuestRecords(console, region: region)
        #expect(console.first("STREAM-WRITE-STATUS") == "0" && console.first("FSCK-STATUS") == "0", "\(console.all("FSCK"))")
        let stream = try #require(console.first("STREAM")?.split(separator: " "))
        let read = try pmtrace(["read", region, "stream"])
        let streamSHA = try Self.sha256(read.stdout)
        #expect(read.status == 0 && read.stdout.count == Int(stream[1]) && streamSHA == String(stream[0]))

        // The reverse direction. The host first discards the guest's data (a hole
        // punched over the data area; the namespace's info block stays): `format
        // --force` over an old region leaves that region's segment headers, which
        // fsck then reports as orphans of the new volumes of the same slot
        // (knownIssueReformatLeavesOldSegments).
        let punch = try VMMArchiveTests.run("/usr/bin/fallocate", ["--punch-hole", "--offset", "\(offset)", "--length", "\(length)", nv])
        #expect(punch.status == 0, "\(punch.err)")
        #expect(try pmtrace(["format", region, "--size", "\(length)", "--force"]).status == 0)
        let input = scratchPath("nvm-host-blob"), text = scratchPath("nvm-host-marker")
        defer { unlink(input); unlink(text) }
        try randomFile(input, bytes: 3 << 20)
        #expect(try pmtrace(["write", region, "host-blob", "--record-size", "16K"], stdinFile: input).status == 0)
        let marker = "host marker \(UUID().uuidString)"
        try marker.write(toFile: text, atomically: false, encoding: .utf8)
        #expect(try pmtrace(["write", region, "host-markers", "--marker"], stdinFile: text).status == 0)
        let probe = (ProcessInfo.processInfo.environment["PMTRACE_GUEST_DIR"] ?? Self.root.appendingPathComponent(".guest").path) + "/nvm/nvm-probe"
        #expect(try pmtrace(["symbols", "import", region, probe, "--app", "nvm-probe"]).status == 0)

        let back = try Self.boot("read", out)
        #expect(back.first("DONE") != nil)
        (offset, length) = try Self.locate(nv)  // the guest's kernel kept the namespace
        region = "\(nv)@\(offset)"
        #expect(back.first("LIST-STATUS") == "0" && back.all("LIST").contains { $0.hasPrefix("host-blob") }, "\(back.all("LIST"))")
        #expect(back.first("FSCK-STATUS") == "0", "\(back.all("FSCK"))")
        let hostSHA = try Self.sha256(Data(contentsOf: URL(fileURLWithPath: input)))
        #expect(back.first("READ") == hostSHA)
        #expect(back.first("DUMP-STATUS") == "0" && back.all("DUMP").contains { $0.hasSuffix("text=\"\(marker)\"") }, "\(back.all("DUMP"))")
        let symbolized = back.all("SYMBOLIZE")
        #expect(back.first("SYMBOLIZE-STATUS") == "0" && symbolized.count == 4, "\(symbolized)")
        for (line, name) in zip(symbolized, ["main+0x0", "pmt_probe_checksum+0x0", "pmt_probe_report+0x0", "pmt_probe_checksum+0x8"]) {
            #expect(line.hasSuffix(" \(name)"), "\(line)")
        }
        #expect(try pmtrace(["fsck", region]).status == 0)
    }
}
#endif
