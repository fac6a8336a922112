#pragma once
#include <stddef.h>
#include <stdint.h>

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
 * `crc` is a previous result (0 to start); chaining calls over consecutive
 * buffers equals one call over their concatenation.
 * Picks, once per process, the fastest path the CPU and OS support (cpuid and
 * xgetbv): carry-less-multiply folding with AVX-512 VPCLMULQDQ, else the
 * SSE4.2 crc32 instruction (three interleaved streams joined with pclmul),
 * else a slicing-by-8 table. Every path gives the same results.
 * The environment variable PMTRACE_CRC32C=table|sse4.2|vpclmul, read at the
 * first call, lowers the choice (for measurements; it never picks a path the
 * CPU lacks). Thread-safe; O(len). */
uint32_t pmt_crc32c(uint32_t crc, const void *buf, size_t len);

/* 1 when pmt_crc32c uses a hardware path (SSE4.2 or VPCLMULQDQ) on this CPU. */
int pmt_crc32c_is_hardware(void);

/* The implementations, slowest first. */
enum { PMT_CRC32C_TABLE = 0, PMT_CRC32C_SSE42 = 1, PMT_CRC32C_VPCLMUL = 2 };

/* The path pmt_crc32c and pmt_crc32c_copy_nt use. */
int pmt_crc32c_path(void);
/* 1 when this CPU (and OS) can run `path`. */
int pmt_crc32c_path_available(int path);
/* "table", "sse4.2", "vpclmul" (the PMTRACE_CRC32C spellings), or "unknown". */
const char *pmt_crc32c_path_name(int path);

/* pmt_crc32c through one given path (the table when the CPU cannot run it):
 * for tests and benchmarks that compare paths. Thread-safe. */
uint32_t pmt_crc32c_with(int path, uint32_t crc, const void *buf, size_t len);

/* Copies a prefix of src to dst (8-byte aligned) with non-temporal stores and
 * extends *crc over it, in one pass; returns how many bytes it did, and the
 * caller copies and checksums the rest. The VPCLMULQDQ path does every whole
 * 8-byte word (len rounded down to 8); the SSE4.2 path whole blocks of 3 KiB
 * only; the table path nothing (0). No fence: the stores are durable after the
 * next sfence, like libpmem2's memcpy with NONTEMPORAL | NODRAIN. */
size_t pmt_crc32c_copy_nt(uint32_t *crc, void *dst, const void *src, size_t len);

/* pmt_crc32c_copy_nt through one given path (0 when the CPU cannot run it). */
size_t pmt_crc32c_copy_nt_with(int path, uint32_t *crc, void *dst, const void *src, size_t len);

/* Copies src to dst (any alignment) with ordinary (cached) stores and extends
 * *crc over the bytes, in one pass: a verified read out of a mapping. Returns
 * len on the VPCLMULQDQ path and 0 on the others (the caller then copies and
 * checksums in two passes). Thread-safe. */
size_t pmt_crc32c_copy(uint32_t *crc, void *dst, const void *src, size_t len);

/* pmt_crc32c_copy through one given path (0 when the path has no one-pass copy
 * or the CPU cannot run it). */
size_t pmt_crc32c_copy_with(int path, uint32_t *crc, void *dst, const void *src, size_t len);

/* The group stream: a record group's payload written into a segment as its
 * members arrive, straight from the callers' buffers, in whole 64-byte lines
 * with non-temporal stores, the CRC32C folded per line on the way (the
 * VPCLMULQDQ path only: use it when pmt_group_stream_available() is 1).
 * `state` is PMT_GROUP_STREAM_STATE_BYTES bytes, 64-byte aligned, owned by one
 * thread. begin starts a stream at dst (8-byte aligned); member appends the
 * 8-byte member header word, len bytes of src and zeros to a multiple of 8;
 * members does what count calls of member would do for count members of len
 * bytes each, back to back from src, with one header word;
 * bytes appends len bytes (a multiple of 8) of src; finish writes the partial
 * last line and returns the CRC32C (from 0) of every byte appended. Writes
 * only [dst, dst + bytes appended), reads only the sources' len bytes. No
 * fence: durable after the next sfence. A line shared with the next member
 * stays in `state` until it fills or finish writes it. The environment
 * variable PMTRACE_GROUP_STREAM=off makes pmt_group_stream_available() 0 (for
 * measurements). */
enum { PMT_GROUP_STREAM_STATE_BYTES = 512 };
int pmt_group_stream_available(void);
void pmt_group_stream_begin(void *state, void *dst);
void pmt_group_stream_member(void *state, uint64_t header, const void *src, size_t len);
void pmt_group_stream_members(void *state, uint64_t header, const void *src, size_t len, size_t count);
void pmt_group_stream_bytes(void *state, const void *src, size_t len);
uint32_t pmt_group_stream_finish(void *state);
