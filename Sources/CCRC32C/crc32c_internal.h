/* Internal to CCRC32C: the implementations behind pmt_crc32c. Each takes and
 * returns the CRC as the public functions do (previous result in, 0 to start). */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* x^n mod P (P = CRC32C), bit-reflected: 0x80000000 is x^0. */
uint32_t pmt_crc32c_x_pow_mod(uint64_t n);

/* Slicing-by-8 table; any CPU. */
uint32_t pmt_crc32c_table(uint32_t crc, const unsigned char *p, size_t len);

#if defined(__x86_64__)
/* SSE4.2 crc32 instruction, three streams joined with pclmul. init() once
 * before use (the dispatcher does it before publishing the path). */
void pmt_crc32c_sse42_init(void);
uint32_t pmt_crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len);
size_t pmt_crc32c_sse42_copy_nt(uint32_t *crc, unsigned char *dst, const unsigned char *src, size_t len);

/* AVX-512 + VPCLMULQDQ carry-less-multiply folding, 256 bytes per step. */
void pmt_crc32c_vpclmul_init(void);
uint32_t pmt_crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t len);
size_t pmt_crc32c_vpclmul_copy_nt(uint32_t *crc, unsigned char *dst, const unsigned char *src, size_t len);
size_t pmt_crc32c_vpclmul_copy(uint32_t *crc, unsigned char *dst, const unsigned char *src, size_t len);
#endif
