/* pmtrace_nvm.h — NVM discovery before any OS runs: where persistent memory
 * is (ACPI SRAT and NFIT) and where the data of a Linux namespace starts
 * (its fsdax/devdax info block). In the bare-metal archive
 * (scripts/build-vmm.sh) and in any build of the NVMDiscovery module.
 *
 * Every input is untrusted: lengths and offsets are bounds-checked, the ACPI
 * checksums and the info block's Fletcher-64 verified; bad input returns a
 * negative PMT_NVM_E_* code, never traps. Allocation goes through the Swift
 * runtime (posix_memalign/free, see pmtrace_vmm.h). Thread-safe (no state). */
#ifndef PMTRACE_NVM_H
#define PMTRACE_NVM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PMT_NVM_E_TRUNCATED (-1)        /* a structure runs past the bytes given */
#define PMT_NVM_E_SIGNATURE (-2)        /* not an SRAT / NFIT */
#define PMT_NVM_E_ACPI_CHECKSUM (-3)    /* the table's bytes do not sum to 0 */
#define PMT_NVM_E_FLETCHER (-4)         /* the info block's Fletcher-64 does not match */
#define PMT_NVM_E_INVALID_FIELD (-5)    /* a length, offset, version or mode out of range */
#define PMT_NVM_E_NO_INFO_BLOCK (-6)    /* no info block: a raw namespace, data at 0 */

/* One non-volatile physical range (24 bytes). */
typedef struct pmt_nvm_range {
    uint64_t base;             /* first physical address */
    uint64_t length;           /* bytes */
    uint32_t flags;            /* PMT_NVM_RANGE_* */
    uint32_t proximity_domain; /* valid with PMT_NVM_RANGE_DOMAIN */
} pmt_nvm_range;
#define PMT_NVM_RANGE_NFIT 1u    /* an NFIT persistent-memory SPA range */
#define PMT_NVM_RANGE_SRAT 2u    /* covered by an enabled non-volatile SRAT entry */
#define PMT_NVM_RANGE_HOTPLUG 4u /* the SRAT entry is hot-pluggable */
#define PMT_NVM_RANGE_DOMAIN 8u  /* proximity_domain is valid */

/* The non-volatile ranges of the tables (either may be NULL, length 0),
 * sorted by base, into out[0 .. capacity). Returns how many there are (may
 * exceed capacity), or a PMT_NVM_E_* code. */
int64_t pmt_nvm_ranges(const void *srat, size_t srat_length, const void *nfit, size_t nfit_length,
                       pmt_nvm_range *out, size_t capacity);

/* *offset = where the data of the namespace starts (start_pad + dataoff of
 * its info block at 4 KiB); `namespace` holds its first `length` bytes (at
 * least 8 KiB), namespace_size bounds the offset (0: unknown). Returns 0 or
 * a PMT_NVM_E_* code. */
int pmt_nvm_data_offset(const void *namespace_bytes, size_t length, uint64_t namespace_size, uint64_t *offset);

#ifdef __cplusplus
}
#endif
#endif
