#pragma once
#include <stddef.h>
#include <stdint.h>

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
 * `crc` is a previous result (0 to start); chaining calls over consecutive
 * buffers equals one call over their concatenation.
 * Uses the SSE4.2 crc32 instruction (three interleaved streams joined with
 * pclmul) when the CPU has both, a slicing-by-8 table otherwise.
 * Thread-safe; O(len). */
uint32_t pmt_crc32c(uint32_t crc, const void *buf, size_t len);

/* 1 when pmt_crc32c uses the hardware instruction on this CPU. */
int pmt_crc32c_is_hardware(void);

/* Copies a prefix of src to dst (8-byte aligned) with non-temporal stores and
 * extends *crc over it, in one pass. Handles whole blocks of 3 KiB only and
 * returns how many bytes it did (0 without the CPU support); the caller copies
 * and checksums the rest. No fence: the stores are durable after the next
 * sfence, like libpmem2's memcpy with NONTEMPORAL | NODRAIN. */
size_t pmt_crc32c_copy_nt(uint32_t *crc, void *dst, const void *src, size_t len);
