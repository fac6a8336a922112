/* Internal to CCRC32C: the AVX-512 VPCLMULQDQ folding steps shared by the
 * checksum loops (crc32c_vpclmul.c) and the group stream (crc32c_stream.c).
 * See crc32c_vpclmul.c for the arithmetic. x86-64 only. */
#pragma once
#include <immintrin.h>
#include <stdint.h>

#define VP_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,vpclmulqdq,pclmul,sse4.2")))

/* Fold constants (K1, K2) for 256, 64 and 16 bytes, and for reducing the four
 * 128-bit lanes of one register; set by pmt_crc32c_vpclmul_init. */
extern uint64_t pmt_crc32c_k_256[2], pmt_crc32c_k_64[2], pmt_crc32c_k_16[2], pmt_crc32c_k_lanes[8];

VP_TARGET static inline __m512i broadcast_pair(const uint64_t *k) {
    return _mm512_broadcast_i64x2(_mm_set_epi64x((long long)k[1], (long long)k[0]));
}

/* x folded forward over the distance k stands for, XORed into data. */
VP_TARGET static inline __m512i fold512(__m512i x, __m512i k, __m512i data) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

/* Folds the four lanes of x into one. */
VP_TARGET static inline __m128i reduce512(__m512i x) {
    __m512i k = _mm512_loadu_si512((const void *)pmt_crc32c_k_lanes);
    __m512i t = _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11));
    t = _mm512_mask_blend_epi64(0xC0, t, x); /* lane 3 stays as it is */
    __m256i h = _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    return _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* The CRC state (not inverted) a folded 128-bit remainder stands for. */
VP_TARGET static inline uint64_t remainder_state(__m128i r) {
    uint64_t s = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
    return _mm_crc32_u64(s, (uint64_t)_mm_extract_epi64(r, 1));
}
