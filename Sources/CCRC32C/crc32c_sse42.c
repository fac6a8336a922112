/* CRC32C with the SSE4.2 crc32 instruction: three interleaved streams joined
 * with pclmul, and the same loop fused with a non-temporal copy. */
#include "crc32c_internal.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* Multiplying a CRC state by x^(8n) mod P moves it past n zero bytes. With
 * pclmul that is one carry-less multiply by K = x^(8n-33) mod P and one crc32
 * instruction: crc32_u64(0, clmul(c, K)) = c * K * x^33 = c * x^(8n) mod P
 * (all in the reflected representation, where 0x80000000 is x^0). This lets
 * three independent streams run in parallel and be joined cheaply, hiding the
 * crc32 instruction's 3-cycle latency. */
#define STREAM_LONG 4096
#define STREAM_SHORT 256
#define FUSED_STREAM 1024

static uint64_t k_long, k_short, k_fused;

void pmt_crc32c_sse42_init(void) {
    k_long = pmt_crc32c_x_pow_mod(8ull * STREAM_LONG - 33);
    k_short = pmt_crc32c_x_pow_mod(8ull * STREAM_SHORT - 33);
    k_fused = pmt_crc32c_x_pow_mod(8ull * FUSED_STREAM - 33);
}

__attribute__((target("sse4.2,pclmul")))
static inline uint64_t shift_crc(uint64_t c, uint64_t k) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)c), _mm_cvtsi64_si128((long long)k), 0);
    return _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(product));
}

__attribute__((target("sse4.2,pclmul")))
static uint64_t three_streams(uint64_t c, const unsigned char **pp, size_t *lenp, size_t stream, uint64_t k) {
    const unsigned char *p = *pp;
    size_t len = *lenp;
    while (len >= 3 * stream) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *q1 = p + stream, *q2 = p + 2 * stream;
        for (size_t i = 0; i < stream; i += 8) {
            uint64_t a, b, d;
            memcpy(&a, p + i, 8);
            memcpy(&b, q1 + i, 8);
            memcpy(&d, q2 + i, 8);
            c = _mm_crc32_u64(c, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, d);
        }
        c = shift_crc(c, k) ^ c1;
        c = shift_crc(c, k) ^ c2;
        p += 3 * stream;
        len -= 3 * stream;
    }
    *pp = p;
    *lenp = len;
    return c;
}

__attribute__((target("sse4.2,pclmul")))
uint32_t pmt_crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len) {
    uint64_t c = (uint32_t)~crc;
    while (len && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); len--; }
    c = three_streams(c, &p, &len, STREAM_LONG, k_long);
    c = three_streams(c, &p, &len, STREAM_SHORT, k_short);
    while (len >= 8) { uint64_t w; memcpy(&w, p, 8); c = _mm_crc32_u64(c, w); p += 8; len -= 8; }
    while (len--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

/* Fused CRC + non-temporal copy: three streams of FUSED_STREAM bytes each, every
 * 8-byte word loaded once, folded into its stream's CRC and written with movnti.
 * Whole blocks of 3 × FUSED_STREAM bytes only; dst 8-byte aligned. */
__attribute__((target("sse4.2,pclmul")))
size_t pmt_crc32c_sse42_copy_nt(uint32_t *crcp, unsigned char *dst, const unsigned char *src, size_t len) {
    uint64_t c = (uint32_t)~*crcp;
    size_t done = 0;
    while (len - done >= 3 * FUSED_STREAM) {
        const unsigned char *s0 = src + done, *s1 = s0 + FUSED_STREAM, *s2 = s1 + FUSED_STREAM;
        long long *d0 = (long long *)(dst + done), *d1 = (long long *)(dst + done + FUSED_STREAM),
                  *d2 = (long long *)(dst + done + 2 * FUSED_STREAM);
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < FUSED_STREAM / 8; i++) {
            uint64_t a, b, e;
            memcpy(&a, s0 + 8 * i, 8);
            memcpy(&b, s1 + 8 * i, 8);
            memcpy(&e, s2 + 8 * i, 8);
            c = _mm_crc32_u64(c, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, e);
            _mm_stream_si64(d0 + i, (long long)a);
            _mm_stream_si64(d1 + i, (long long)b);
            _mm_stream_si64(d2 + i, (long long)e);
        }
        c = shift_crc(c, k_fused) ^ c1;
        c = shift_crc(c, k_fused) ^ c2;
        done += 3 * FUSED_STREAM;
    }
    *crcp = ~(uint32_t)c;
    return done;
}
#endif
