#if os(Linux)
import GuestRecording
import Testing

/// The RAM-block layout of a paused QEMU 7.2 machine with an NVDIMM (the
/// monitor's answers, as `record-vm` gets them over QMP), and the
/// translation the plugin is given: the addresses 7.2's plugin API reports
/// (block offset + the region's own address + offset) → guest-physical.
@Suite struct QEMUMemoryLayoutTests {
    static let ramblock = #"""
              Block Name    PSize              Offset               Used              Total
                    ram0    4 KiB  0x0000000000000000 0x0000000010000000 0x0000000010000000
                     nv0    4 KiB  0x0000000010000000 0x0000000008000000 0x0000000008000000
    /rom@etc/acpi/tables    4 KiB  0x0000000018080000 0x0000000000020000 0x0000000000200000
                 pc.bios    4 KiB  0x0000000018000000 0x0000000000040000 0x0000000000040000
                  pc.rom    4 KiB  0x0000000018040000 0x0000000000020000 0x0000000000020000
   /rom@etc/table-loader    4 KiB  0x0000000018280000 0x0000000000001000 0x0000000000010000
      /rom@etc/acpi/rsdp    4 KiB  0x00000000182c0000 0x0000000000001000 0x0000000000001000

"""#
    static let tree = #"""
memory-region: system
  0000000000000000-ffffffffffffffff (prio 0, i/o): system
    0000000000000000-000000000fffffff (prio 0, ram): alias ram-below-4g @ram0 0000000000000000-000000000fffffff
    0000000000000000-ffffffffffffffff (prio -1, i/o): pci
      00000000000c0000-00000000000dffff (prio 1, rom): pc.rom
      00000000000e0000-00000000000fffff (prio 1, rom): alias isa-bios @pc.bios 0000000000020000-000000000003ffff
      00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios
    00000000000a0000-00000000000bffff (prio 1, i/o): alias smram-region @pci 00000000000a0000-00000000000bffff
    00000000000c0000-00000000000c3fff (prio 1, i/o): alias pam-pci @pci 00000000000c0000-00000000000c3fff
    00000000000c4000-00000000000c7fff (prio 1, i/o): alias pam-pci @pci 00000000000c4000-00000000000c7fff
    00000000000c8000-00000000000cbfff (prio 1, i/o): alias pam-pci @pci 00000000000c8000-00000000000cbfff
    00000000000cc000-00000000000cffff (prio 1, i/o): alias pam-pci @pci 00000000000cc000-00000000000cffff
    00000000000d0000-00000000000d3fff (prio 1, i/o): alias pam-pci @pci 00000000000d0000-00000000000d3fff
    00000000000d4000-00000000000d7fff (prio 1, i/o): alias pam-pci @pci 00000000000d4000-00000000000d7fff
    00000000000d8000-00000000000dbfff (prio 1, i/o): alias pam-pci @pci 00000000000d8000-00000000000dbfff
    00000000000dc000-00000000000dffff (prio 1, i/o): alias pam-pci @pci 00000000000dc000-00000000000dffff
    00000000000e0000-00000000000e3fff (prio 1, i/o): alias pam-pci @pci 00000000000e0000-00000000000e3fff
    00000000000e4000-00000000000e7fff (prio 1, i/o): alias pam-pci @pci 00000000000e4000-00000000000e7fff
    00000000000e8000-00000000000ebfff (prio 1, i/o): alias pam-pci @pci 00000000000e8000-00000000000ebfff
    00000000000ec000-00000000000effff (prio 1, i/o): alias pam-pci @pci 00000000000ec000-00000000000effff
    00000000000f0000-00000000000fffff (prio 1, i/o): alias pam-pci @pci 00000000000f0000-00000000000fffff
    00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic
    00000000fed00000-00000000fed003ff (prio 0, i/o): hpet
    00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi
    0000000100000000-00000001efffffff (prio 0, i/o): device-memory
      0000000100000000-0000000107ffffff (prio 0, nv-ram): alias nvdimm-memory @nv0 0000000000000000-0000000007ffffff

memory-region: smram
    00000000000a0000-00000000000bffff (prio 0, ram): alias smram-low @ram0 00000000000a0000-00000000000bffff

memory-region: ram0
  0000000000000000-000000000fffffff (prio 0, ram): ram0

memory-region: pc.bios
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios

memory-region: pci
  0000000000000000-ffffffffffffffff (prio -1, i/o): pci
    00000000000c0000-00000000000dffff (prio 1, rom): pc.rom
    00000000000e0000-00000000000fffff (prio 1, rom): alias isa-bios @pc.bios 0000000000020000-000000000003ffff
    00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios

memory-region: nv0
  0000000000000000-0000000007ffffff (prio 0, ram): nv0


"""#
    static let flat = #"""
FlatView #1
 AS "memory", root: system
Root memory region: system
  0000000000000000-00000000000bffff (prio 0, ram): ram0
  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom
  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000
  0000000000100000-000000000fffffff (prio 0, ram): ram0 @0000000000100000
  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic
  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet
  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios
  0000000100000000-0000000107ffffff (prio 0, nv-ram): nv0


"""#

    @Test func nvdimmMachineTranslatesEveryBlock() throws {
        let layout = try QEMUMemoryLayout(ramblock: Self.ramblock, tree: Self.tree, mtree: Self.flat)
        func gpa(_ physical: UInt64) -> UInt64? {
            layout.ranges.first { physical >= $0.physical && physical - $0.physical < $0.length }.map { physical - $0.physical + $0.gpa }
        }
        // Guest RAM declared first: identity over the whole block, holes included.
        #expect(gpa(0) == 0 && gpa(0xA_0000) == 0xA_0000 && gpa(0xFFF_FFFF) == 0xFFF_FFFF)
        // The NVDIMM block (offset 0x1000_0000) sits at 4 GiB.
        #expect(gpa(0x1000_0000) == 0x1_0000_0000 && gpa(0x17FF_FFFF) == 0x1_07FF_FFFF)
        // The BIOS: block 0x1800_0000 + its own address 0xFFFC_0000.
        #expect(gpa(0x1800_0000 + 0xFFFC_0000) == 0xFFFC_0000)
        #expect(gpa(0x1800_0000 + 0xFFFC_0000 + 0x3_6000) == 0xFFFF_6000, "the ISA alias at 0xE0000 maps to the same bytes; the larger range wins")
        // The option ROM area: block 0x1804_0000 + 0xC_0000.
        #expect(gpa(0x1804_0000 + 0xC_0000) == 0xC_0000)
        #expect(gpa(0x1000_0000 - 1 + 0x0800_0000 + 1) == nil, "past the NVDIMM: untranslated")
        #expect(layout.pluginArguments.allSatisfy { $0.hasPrefix("map=0x") && $0.split(separator: ":").count == 3 })
    }

    @Test func noRAMIsAnError() {
        #expect(throws: LayoutError.self) { try QEMUMemoryLayout(ramblock: "", tree: "", mtree: "garbage\n(prio 0, ram): x") }
    }
}
#endif
