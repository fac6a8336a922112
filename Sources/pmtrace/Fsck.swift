import ArgumentParser
import Foundation
import MetadataCatalog
import PMTrace
import TraceVolume

struct Fsck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every structure and CRC of a region; --repair fixes what can be fixed without losing a committed record.",
        discussion: """
            Reports damaged superblock or volume-table copies, broken lane chains, segments owned twice, \
            damaged committed records, orphaned segments and torn tails past commit points, each with its \
            location.

            A region another process is writing can be checked: a lane that changes under the check \
            and shows a finding is checked again from a fresh walk (up to 5 times), a ring segment the \
            writer reclaims meanwhile is no longer the lane's, and a lane's next segment that a writer \
            is filling is reported as info. A check that finds damage is run again from a fresh mount \
            while its findings change (3 checks at most); the same findings twice are reported as they are.

            Exit status (like fsck(8), simplified): 0 the region is clean, or --repair fixed every \
            problem found; 1 damage found that remains (also a region that is truncated or not a PMTrace \
            region at all); 2 usage error, or the pool could not be opened or read (no such file, not a \
            regular file or DAX device, permission, bus error).
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Flag(help: "Repair: rewrite damaged superblock and volume-table copies from their valid twins. Never writes a segment, a commit word or a record.") var repair = false
    @Flag(help: "With --repair: print what repair would write, change nothing.") var dryRun = false
    @Option(help: "With --repair: save every byte range repair overwrites to this new file first (offset, length, old bytes), so the repair can be undone; it must not exist yet.") var backup: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        // Without --repair these would be ignored: a user who meant to repair (or to keep a
        // backup) would believe it happened.
        if !repair && dryRun { throw ValidationError("--dry-run needs --repair (fsck alone changes nothing)") }
        if !repair && backup != nil { throw ValidationError("--backup needs --repair (fsck alone overwrites nothing)") }
    }

    /// `--json` (README, "JSON output").
    struct Output: Encodable {
        struct Finding: Encodable {
            var severity: String
            var location: String
            var message: String
            var repaired: Bool
            /// What `--repair` would do (null: it leaves this alone).
            @OrNull var repair: String?
        }
        var pool: String
        var clean: Bool
        var volumes: Int
        var lanes: Int
        var segmentsInUse: UInt64
        var recordsChecked: UInt64
        var bytesChecked: UInt64
        var salvageableRecords: UInt64
        @OrNull var unsafeShutdownCount: UInt64?
        @OrNull var badBlocks: [ByteRange]?
        var findings: [Finding]
    }

    func run() throws {
        if let backup, repair && !dryRun {
            try OutputGuard.refuse(backup, option: "--backup", samePoolAs: pool)
            try OutputGuard.refuseExisting(backup, option: "--backup")
        }
        // The superblock copy a writable mount would rewrite is left to the check,
        // so that it is reported, planned (--dry-run) and backed up (--backup).
        var p = try openPool(pool, writable: repair && !dryRun, repairAtMount: false)
        let mode: RepairMode
        if !repair { mode = .none } else if dryRun { mode = .dryRun } else if let backup {
            // Each range is on disk (fsync) before repair overwrites it: a crash mid-repair keeps the backup.
            // A new file (O_EXCL), written in place: never a rename over whatever the
            // path names (a device, a FIFO, the pool; adversary s23 A1, A2).
            let fd = open(backup, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CLIError("\(backup): cannot create the repair backup file: \(String(cString: strerror(errno)))") }
            let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            do { try file.write(contentsOf: Data("PMTRACE-FSCK-BACKUP 1\n".utf8)); try file.synchronize() } catch {
                throw CLIError("\(backup): cannot write the repair backup file: \(error)")
            }
            mode = .apply(backup: { offset, old in
                var entry = Data()
                var header = offset.littleEndian, length = UInt64(old.count).littleEndian
                withUnsafeBytes(of: &header) { entry.append(contentsOf: $0) }
                withUnsafeBytes(of: &length) { entry.append(contentsOf: $0) }
                entry.append(contentsOf: old)
                do { try file.write(contentsOf: entry); try file.synchronize() } catch { return false }
                return true
            })
        } else { mode = .apply(backup: nil) }
        var r = try p.store.check(repair: mode)
        r.findings += MetadataCatalog.check(store: p.store)  // symbol tables and process maps (read-only)
        // A read-only check runs beside writers: one reusing freed segments on
        // several lanes can change what the mount saw while the lanes are walked
        // (adversary s25: "not the lane's chain" for a segment just reused). Damage
        // stays; a finding a fresh mount does not repeat was such a change.
        // The same findings twice in a row are the media's, not a writer's: no more checks,
        // and no word of a writer (adversary s27: a damaged, idle region said one changed it).
        var attempts = 1, changed = false
        if case .none = mode {
            while !r.clean && attempts < 3 && p.truncation == nil && p.mapping.mediaFault == nil {
                attempts += 1
                let before = r.findings
                p = try openPool(pool, writable: false, repairAtMount: false)
                r = try p.store.check(repair: .none)
                r.findings += MetadataCatalog.check(store: p.store)
                if r.findings == before { break }
                changed = true
            }
            if changed {
                r.findings.append(CheckFinding(severity: .info, location: "region",
                                               message: "checked \(attempts) times: a writer changed the region while it was checked; this is the last check's report"))
            }
        }
        // What the check could not see is not clean: pages that read as zeros.
        if let t = p.truncation {
            r.findings.append(CheckFinding(severity: .error, location: "region",
                                           message: "truncated: the file holds \(t.fileBytes) of the region's \(t.regionSize) bytes; the rest was checked as zeros"))
        }
        if let fault = p.mapping.mediaFault {
            r.findings.append(CheckFinding(severity: .error, location: "region",
                                           message: "\(fault.description); what those pages hold was not checked"))
        }
        let bad = p.mapping.badBlocks.map { $0.isEmpty ? "none" : "\($0.count): " + $0.map { "\($0.offset)+\($0.length)" }.joined(separator: ", ") } ?? "not available"
        let o = Output(
            pool: pool, clean: r.clean, volumes: r.volumes, lanes: r.lanes, segmentsInUse: r.segmentsInUse, recordsChecked: r.recordsChecked,
            bytesChecked: r.bytesChecked, salvageableRecords: r.salvageableRecords,
            unsafeShutdownCount: p.mapping.unsafeShutdownCount,
            badBlocks: p.mapping.badBlocks?.map { ByteRange(offset: $0.offset, length: $0.length) },
            findings: r.findings.map { .init(severity: $0.severity.rawValue, location: $0.location, message: $0.message, repaired: $0.repaired, repair: $0.repair) })
        if json {
            try printJSON(o)
        } else {
            for f in o.findings {
                print("\(f.severity): \(TerminalText.escape(f.location)): \(TerminalText.escape(f.message))\(f.repaired ? " [repaired]" : "")")
            }
            if dryRun {
                for f in r.findings { if let plan = f.repair { print("repair would: \(TerminalText.escape(f.location)): \(plan)") } }
            }
            print("\(o.clean ? "clean" : "NOT clean"): \(o.volumes) volume(s), \(o.lanes) lane(s), \(o.segmentsInUse) segment(s) in use, \(o.recordsChecked) committed record(s) (\(formatBytes(o.bytesChecked))) checked, \(o.salvageableRecords) salvageable past commit points; unsafe shutdowns: \(o.unsafeShutdownCount.map { String($0) } ?? "not available"); bad blocks: \(bad)")
        }
        if !r.clean {
            // The report went to standard output; a script that keeps only
            // standard error still learns why the status is 1.
            let left = r.findings.filter { !$0.repaired }
            let errors = left.filter { $0.severity.rawValue == "error" }.count, warnings = left.filter { $0.severity.rawValue == "warning" }.count
            standardErrorWrite(Data("pmtrace: \(TerminalText.escape(pool)): NOT clean: \(errors) error(s), \(warnings) warning(s) remain (the findings are on standard output)\n".utf8))
            throw ExitCode(ExitStatus.refused)
        }
    }
}
