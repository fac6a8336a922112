/* A small program the NVM store guest runs: it prints the addresses of its
 * own functions (a static, non-PIE executable: run-time addresses are the
 * link-time ones), so that the host can symbolize them with the symbol table
 * the guest imported into its NVDIMM (`pmtrace symbols import`). Debian's
 * busybox-static is stripped (no .symtab, and a static binary has no
 * .dynsym), so this program stands in for "the guest's own program". */
#include <stdio.h>

__attribute__((noinline)) unsigned long pmt_probe_checksum(const char *s) {
    unsigned long h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}

__attribute__((noinline)) int pmt_probe_report(const char *name, void *address) {
    return printf("NVM-ADDR %s 0x%lx\n", name, (unsigned long)address);
}

int main(void) {
    pmt_probe_report("main", (void *)main);
    pmt_probe_report("pmt_probe_checksum", (void *)pmt_probe_checksum);
    pmt_probe_report("pmt_probe_report", (void *)pmt_probe_report);
    /* An address inside a function: 8 bytes past the start of the checksum. */
    pmt_probe_report("pmt_probe_checksum+0x8", (char *)pmt_probe_checksum + 8);
    return (int)(pmt_probe_checksum("pmtrace") & 0);
}
