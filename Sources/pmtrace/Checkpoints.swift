import ArgumentParser
import Foundation
import GuestRecording
import PMTrace

struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the checkpoint epochs of a guest recorded by record-vm: time, pages, bytes, PML entries.",
        discussion: """
            One line per epoch: its number (0 = the base image of guest RAM when recording began), the \
            host time its checkpoint was taken, the page images it holds and their bytes, the distinct \
            pages PML logged in it (the guest's first store to each 4 KiB page), and the pages imaged \
            because they changed without a store the plugin saw (DMA by the firmware, accessed/dirty bits \
            the MMU sets in page tables).
            """)

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume recorded by `pmtrace record-vm`.", transform: VolumeName.existing) var volume: VolumeName
    @Flag(help: "Print JSON (one array; times as integer ns and ISO 8601 text).") var json = false

    struct Row: Encodable {
        var epoch: UInt64
        var time: UInt64
        var timeISO: String
        var base: Bool
        var final: Bool
        var images: Int
        var imageBytes: UInt64
        var pmlPages: Int
        var unloggedPages: UInt64
        var stores: UInt64
    }

    func run() throws {
        let p = try openPool(pool, writable: false)
        let epochs: GuestEpochs
        do { epochs = try GuestEpochs(store: p.store, volume: volume.value) } catch let e as GuestEpochsError {
            throw CLIError(e.description, status: ExitStatus.refused)
        }
        let rows = epochs.epochs.map { e in
            Row(epoch: e.checkpoint.epoch, time: e.time, timeISO: formatTime(e.time), base: e.checkpoint.flags.contains(.base),
                final: e.checkpoint.flags.contains(.final), images: e.images.count, imageBytes: UInt64(e.images.count) * 4096,
                pmlPages: e.pmlPages.count, unloggedPages: e.checkpoint.unloggedPages, stores: e.checkpoint.stores)
        }
        if json { try printJSON(rows); return }
        print("EPOCH  TIME                      IMAGES   BYTES       PML PAGES  UNLOGGED  GUEST STORES")
        for r in rows {
            let tag = r.base ? " base" : r.final ? " final" : ""
            print(String(format: "%5llu  %@  %7ld  %-10@  %9ld  %8llu  %12llu%@", r.epoch, r.timeISO as NSString, r.images,
                         formatBytes(r.imageBytes) as NSString, r.pmlPages, r.unloggedPages, r.stores, tag as NSString))
        }
    }
}
