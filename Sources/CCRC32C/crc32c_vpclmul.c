/* CRC32C by carry-less-multiply folding with AVX-512 VPCLMULQDQ.
 *
 * The message is read as 128-bit lanes, four to a 512-bit register and four
 * registers per 256-byte step. In the bit-reflected representation (the
 * first byte's low bit is the highest power of x), a lane A standing D bits
 * before the lane B it is folded into contributes A * x^D, and with
 * A = hi * x^64 + lo (hi = the lane's low quadword, the earlier bytes):
 *     A * x^D = hi * x^(D+64) + lo * x^D  (mod P)
 * pclmulqdq of two reflected operands yields the product times x, and a
 * 32-bit reflected constant used as a 64-bit operand stands for itself times
 * x^32, so the constants are K1 = x^(D+31) mod P for hi and K2 = x^(D-33) mod P
 * for lo: both products fit in 96 bits and their XOR with B represents the
 * same remainder as A followed by B. Folding ends with one 128-bit value R
 * standing for everything read so far; its CRC state is R * x^32 mod P,
 * which the crc32 instruction gives directly (two crc32q on R's quadwords
 * from state 0); bytes after that continue with crc32.
 *
 * The fused variant stores every 64-byte block it loads with a non-temporal
 * store (vmovntdq) before folding it: one pass over the source. */
#include "crc32c_internal.h"
#include <string.h>

#if defined(__x86_64__)
#include "crc32c_fold.h"

/* Fold constants, (K1, K2) per 128-bit lane; set once by init (also used by
 * the group stream, crc32c_stream.c). */
uint64_t pmt_crc32c_k_256[2], pmt_crc32c_k_64[2], pmt_crc32c_k_16[2], pmt_crc32c_k_lanes[8];
#define k_256 pmt_crc32c_k_256
#define k_64 pmt_crc32c_k_64
#define k_16 pmt_crc32c_k_16
#define k_lanes pmt_crc32c_k_lanes

static void pair(uint64_t *k, uint64_t bits) {
    k[0] = pmt_crc32c_x_pow_mod(bits + 31);
    k[1] = pmt_crc32c_x_pow_mod(bits - 33);
}

void pmt_crc32c_vpclmul_init(void) {
    pair(k_256, 256 * 8);
    pair(k_64, 64 * 8);
    pair(k_16, 16 * 8);
    /* Reducing one 512-bit register: lanes 0, 1, 2 move 48, 32, 16 bytes on. */
    pair(k_lanes + 0, 48 * 8);
    pair(k_lanes + 2, 32 * 8);
    pair(k_lanes + 4, 16 * 8);
    k_lanes[6] = k_lanes[7] = 0;
}

VP_TARGET static inline __m128i fold128(__m128i x, __m128i k, __m128i data) {
    return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11), data, 0x96);
}

enum { NO_COPY = 0, COPY_NT = 1, COPY_CACHED = 2 };

/* The folding core over *lenp >= 64 bytes: consumes all whole 16-byte units
 * and returns the CRC state (not inverted) after them. With `copy` set, every
 * unit is also stored to *dp: COPY_NT with non-temporal stores (*dp 64-byte
 * aligned), COPY_CACHED with ordinary stores (any alignment). */
#define STORE512(to, v) (copy == COPY_NT ? _mm512_stream_si512((to), (v)) : _mm512_storeu_si512((to), (v)))
#define STORE128(to, v) (copy == COPY_NT ? _mm_stream_si128((__m128i *)(to), (v)) : _mm_storeu_si128((__m128i *)(to), (v)))

VP_TARGET static inline __attribute__((always_inline)) uint64_t
fold_run(uint64_t c, const unsigned char **pp, unsigned char **dp, size_t *lenp, int copy) {
    const unsigned char *p = *pp;
    unsigned char *d = copy ? *dp : 0;
    size_t len = *lenp;
    __m512i x0 = _mm512_loadu_si512((const void *)p);
    if (copy) STORE512((void *)d, x0);
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)(uint32_t)c)));
    p += 64; len -= 64;
    if (copy) d += 64;
    __m512i k64 = broadcast_pair(k_64);
    if (len >= 192) {
        __m512i x1 = _mm512_loadu_si512((const void *)p);
        __m512i x2 = _mm512_loadu_si512((const void *)(p + 64));
        __m512i x3 = _mm512_loadu_si512((const void *)(p + 128));
        if (copy) {
            STORE512((void *)d, x1);
            STORE512((void *)(d + 64), x2);
            STORE512((void *)(d + 128), x3);
            d += 192;
        }
        p += 192; len -= 192;
        __m512i k256 = broadcast_pair(k_256);
        while (len >= 256) {
            __m512i y0 = _mm512_loadu_si512((const void *)p);
            __m512i y1 = _mm512_loadu_si512((const void *)(p + 64));
            __m512i y2 = _mm512_loadu_si512((const void *)(p + 128));
            __m512i y3 = _mm512_loadu_si512((const void *)(p + 192));
            if (copy) {
                STORE512((void *)d, y0);
                STORE512((void *)(d + 64), y1);
                STORE512((void *)(d + 128), y2);
                STORE512((void *)(d + 192), y3);
                d += 256;
            }
            x0 = fold512(x0, k256, y0);
            x1 = fold512(x1, k256, y1);
            x2 = fold512(x2, k256, y2);
            x3 = fold512(x3, k256, y3);
            p += 256; len -= 256;
        }
        x0 = fold512(x0, k64, x1);
        x0 = fold512(x0, k64, x2);
        x0 = fold512(x0, k64, x3);
    }
    while (len >= 64) {
        __m512i y = _mm512_loadu_si512((const void *)p);
        if (copy) { STORE512((void *)d, y); d += 64; }
        x0 = fold512(x0, k64, y);
        p += 64; len -= 64;
    }
    __m128i r = reduce512(x0);
    __m128i k16 = _mm_set_epi64x((long long)k_16[1], (long long)k_16[0]);
    while (len >= 16) {
        __m128i y = _mm_loadu_si128((const __m128i *)p);
        if (copy) { STORE128(d, y); d += 16; }
        r = fold128(r, k16, y);
        p += 16; len -= 16;
    }
    uint64_t s = remainder_state(r);
    *pp = p;
    if (copy) *dp = d;
    *lenp = len;
    return s;
}

VP_TARGET uint32_t pmt_crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t len) {
    uint64_t c = (uint32_t)~crc;
    /* Below 128 bytes the fold's setup and reduction cost more than crc32q. */
    if (len >= 128) {
        /* Long buffers: reach a cache-line boundary first, so no load splits a line. */
        if (len >= 1024) {
            while ((uintptr_t)p & 7) { c = _mm_crc32_u8((uint32_t)c, *p++); len--; }
            while ((uintptr_t)p & 63) { uint64_t w; memcpy(&w, p, 8); c = _mm_crc32_u64(c, w); p += 8; len -= 8; }
        }
        c = fold_run(c, &p, 0, &len, NO_COPY);
    }
    while (len >= 8) { uint64_t w; memcpy(&w, p, 8); c = _mm_crc32_u64(c, w); p += 8; len -= 8; }
    while (len--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

/* Copies the whole 8-byte words of src to dst (8-byte aligned) with
 * non-temporal stores and extends *crc over them; returns len rounded down to 8. */
VP_TARGET size_t pmt_crc32c_vpclmul_copy_nt(uint32_t *crcp, unsigned char *dst, const unsigned char *src, size_t len) {
    if ((uintptr_t)dst & 7) return 0;
    uint64_t c = (uint32_t)~*crcp;
    size_t total = len;
    while (((uintptr_t)dst & 63) && len >= 8) {
        uint64_t w;
        memcpy(&w, src, 8);
        c = _mm_crc32_u64(c, w);
        _mm_stream_si64((long long *)dst, (long long)w);
        src += 8; dst += 8; len -= 8;
    }
    if (len >= 64) c = fold_run(c, &src, &dst, &len, COPY_NT);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, src, 8);
        c = _mm_crc32_u64(c, w);
        _mm_stream_si64((long long *)dst, (long long)w);
        src += 8; dst += 8; len -= 8;
    }
    *crcp = ~(uint32_t)c;
    return total - len;
}
/* Copies src to dst (any alignment) with ordinary stores and extends *crc
 * over it, in one pass; all len bytes. */
VP_TARGET size_t pmt_crc32c_vpclmul_copy(uint32_t *crcp, unsigned char *dst, const unsigned char *src, size_t len) {
    uint64_t c = (uint32_t)~*crcp;
    size_t total = len;
    if (len >= 128) c = fold_run(c, &src, &dst, &len, COPY_CACHED);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, src, 8);
        c = _mm_crc32_u64(c, w);
        memcpy(dst, &w, 8);
        src += 8; dst += 8; len -= 8;
    }
    while (len--) { c = _mm_crc32_u8((uint32_t)c, *src); *dst++ = *src++; }
    *crcp = ~(uint32_t)c;
    return total;
}
#endif
