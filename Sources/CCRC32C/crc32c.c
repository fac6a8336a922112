/* Picks the fastest CRC32C path the CPU and OS support (cpuid + xgetbv), once. */
#include "pmt_crc32c.h"
#include "crc32c_internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int detect_cpu(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return PMT_CRC32C_TABLE;
    int sse42 = (c >> 20) & 1, pclmul = (c >> 1) & 1, osxsave = (c >> 27) & 1;
    if (!(sse42 && pclmul)) return PMT_CRC32C_TABLE;
    if (!osxsave || __get_cpuid_max(0, 0) < 7) return PMT_CRC32C_SSE42;
    __cpuid_count(7, 0, a, b, c, d);
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int vpclmul = (c >> 10) & 1;
    /* The OS saves SSE, AVX, opmask and both halves of the ZMM state (XCR0 bits 1, 2, 5, 6, 7). */
    int os_zmm = (xgetbv0() & 0xE6) == 0xE6;
    return avx512f && avx512dq && avx512bw && avx512vl && vpclmul && os_zmm ? PMT_CRC32C_VPCLMUL : PMT_CRC32C_SSE42;
}
#endif

static int supported = -1; /* best path the CPU has */
static int chosen = -1;    /* what pmt_crc32c uses (PMTRACE_CRC32C may lower it) */

static void detect(void) {
    int best = PMT_CRC32C_TABLE;
#if defined(__x86_64__)
    best = detect_cpu();
    if (best >= PMT_CRC32C_SSE42) pmt_crc32c_sse42_init();
    if (best >= PMT_CRC32C_VPCLMUL) pmt_crc32c_vpclmul_init();
#endif
    int use = best;
    const char *forced = getenv("PMTRACE_CRC32C");
    if (forced) {
        for (int path = PMT_CRC32C_TABLE; path <= PMT_CRC32C_VPCLMUL; path++)
            if (strcmp(forced, pmt_crc32c_path_name(path)) == 0 && path < best) use = path;
    }
    __atomic_store_n(&supported, best, __ATOMIC_RELEASE);
    __atomic_store_n(&chosen, use, __ATOMIC_RELEASE);
}

/* Detection runs once (the fold constants are written before any path can be used). */
static pthread_once_t detected = PTHREAD_ONCE_INIT;

static inline int best_path(void) {
    int s = __atomic_load_n(&supported, __ATOMIC_ACQUIRE);
    if (s < 0) { pthread_once(&detected, detect); s = __atomic_load_n(&supported, __ATOMIC_ACQUIRE); }
    return s;
}

int pmt_crc32c_path(void) {
    int c = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (c < 0) { pthread_once(&detected, detect); c = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE); }
    return c;
}

int pmt_crc32c_path_available(int path) { return path >= PMT_CRC32C_TABLE && path <= best_path(); }

const char *pmt_crc32c_path_name(int path) {
    switch (path) {
    case PMT_CRC32C_TABLE: return "table";
    case PMT_CRC32C_SSE42: return "sse4.2";
    case PMT_CRC32C_VPCLMUL: return "vpclmul";
    default: return "unknown";
    }
}

int pmt_crc32c_is_hardware(void) { return pmt_crc32c_path() >= PMT_CRC32C_SSE42; }

uint32_t pmt_crc32c_with(int path, uint32_t crc, const void *buf, size_t len) {
    if (len == 0) return crc;
    const unsigned char *p = (const unsigned char *)buf;
#if defined(__x86_64__)
    if (!pmt_crc32c_path_available(path)) path = PMT_CRC32C_TABLE;
    if (path == PMT_CRC32C_VPCLMUL) return pmt_crc32c_vpclmul(crc, p, len);
    if (path == PMT_CRC32C_SSE42) return pmt_crc32c_sse42(crc, p, len);
#else
    (void)path;
#endif
    return pmt_crc32c_table(crc, p, len);
}

uint32_t pmt_crc32c(uint32_t crc, const void *buf, size_t len) { return pmt_crc32c_with(pmt_crc32c_path(), crc, buf, len); }

size_t pmt_crc32c_copy_nt_with(int path, uint32_t *crc, void *dst, const void *src, size_t len) {
#if defined(__x86_64__)
    if (pmt_crc32c_path_available(path) && ((uintptr_t)dst & 7) == 0) {
        if (path == PMT_CRC32C_VPCLMUL) return pmt_crc32c_vpclmul_copy_nt(crc, dst, src, len);
        if (path == PMT_CRC32C_SSE42) return pmt_crc32c_sse42_copy_nt(crc, dst, src, len);
    }
#endif
    (void)path; (void)crc; (void)dst; (void)src; (void)len;
    return 0;
}

size_t pmt_crc32c_copy_nt(uint32_t *crc, void *dst, const void *src, size_t len) {
    return pmt_crc32c_copy_nt_with(pmt_crc32c_path(), crc, dst, src, len);
}

size_t pmt_crc32c_copy_with(int path, uint32_t *crc, void *dst, const void *src, size_t len) {
#if defined(__x86_64__)
    if (path == PMT_CRC32C_VPCLMUL && pmt_crc32c_path_available(path)) return pmt_crc32c_vpclmul_copy(crc, dst, src, len);
#endif
    (void)path; (void)crc; (void)dst; (void)src; (void)len;
    return 0;
}

size_t pmt_crc32c_copy(uint32_t *crc, void *dst, const void *src, size_t len) {
    return pmt_crc32c_copy_with(pmt_crc32c_path(), crc, dst, src, len);
}
