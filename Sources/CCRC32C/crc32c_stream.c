/* The group stream (pmt_crc32c.h): a record group's payload written into the
 * segment as its members arrive, straight from the callers' buffers.
 *
 * Why (measured, `Benchmarks _profile-append 256 67108864 524288` and a C
 * model of both paths): staging each member in a 4 KiB DRAM buffer and
 * streaming the buffer out with the fused copy puts a 4 KiB burst of
 * non-temporal stores in the store queue, and the next members' staging
 * stores wait behind it while the memory sits idle during staging. Here
 * every member goes out at once, in whole 64-byte lines: the line two
 * members share (the carry) is assembled in a register from the previous
 * call's partial line and the new member (masked loads, no byte loop),
 * stored whole when it fills, and kept in the state between calls with a
 * full-width store that the next call's full-width load takes by
 * store-to-load forwarding (a masked or narrower store would not forward and
 * the reload would wait behind the stream's non-temporal stores).
 *
 * The CRC: each whole line is folded (VPCLMULQDQ) into one of four
 * accumulators by its line number mod 4, so the accumulator one call updates
 * was last touched four lines earlier and the fold's latency overlaps the
 * next members (one accumulator made every 64-byte member wait for the
 * previous fold through memory). The stream's partial first line (the
 * stream starts 8-byte aligned, after the group's record header) and its
 * partial last line go out as 8-byte non-temporal stores checksummed with
 * crc32; finish joins the four accumulators and returns the CRC of all
 * bytes. Nothing outside [start, start + bytes streamed) is written, and
 * nothing outside a member's bytes is read (masked-off bytes of a masked
 * load never fault). */
#include "pmt_crc32c.h"
#include "crc32c_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include "crc32c_fold.h"

typedef struct {
    _Alignas(64) unsigned char line[64]; /* the carry: bytes [head or 0, fill) valid, zeros above fill */
    _Alignas(64) unsigned char acc[4][64]; /* accumulators of lines 4j + i (the first line carries the CRC so far) */
    unsigned char *dst;                    /* where the carry line goes (64-byte aligned) */
    uint64_t lines;                        /* whole lines folded so far */
    uint32_t fill;                         /* bytes of the carry line in use (multiple of 8) */
    uint32_t head;                         /* where the stream starts in its first line (0 once that line is out) */
    uint32_t crc;                          /* CRC state (not inverted) of the first partial line */
} stream_state;

_Static_assert(sizeof(stream_state) <= PMT_GROUP_STREAM_STATE_BYTES, "group stream state larger than advertised");

/* The lines the fast path does not take: the stream's partial first line
 * (8-byte non-temporal stores, crc32) and its first four whole lines, which
 * start the accumulators; later lines fold as on the fast path. */
VP_TARGET __attribute__((noinline)) static void emit_slow(stream_state *st, unsigned char *d, __m512i line) {
    if (st->head) {
        uint64_t c = st->crc;
        uint64_t w[8];
        _mm512_storeu_si512((void *)w, line);
        for (unsigned i = st->head / 8; i < 8; i++) {
            c = _mm_crc32_u64(c, w[i]);
            _mm_stream_si64((long long *)(d + 8 * i), (long long)w[i]);
        }
        st->crc = (uint32_t)c;
        st->head = 0;
        return;
    }
    _mm512_stream_si512((void *)d, line);
    unsigned char *a = st->acc[st->lines & 3];
    if (st->lines >= 4) {
        _mm512_store_si512((void *)a, fold512(_mm512_load_si512((const void *)a), broadcast_pair(pmt_crc32c_k_256), line));
    } else {
        if (st->lines == 0) line = _mm512_xor_si512(line, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)st->crc)));
        _mm512_store_si512((void *)a, line);
    }
    st->lines++;
}

/* One whole line out: a non-temporal store, and its fold 256 bytes on into its accumulator. */
#define EMIT(v)                                                                                        \
    do {                                                                                               \
        if (fast) {                                                                                    \
            _mm512_stream_si512((void *)d, (v));                                                       \
            unsigned char *a = st->acc[k & 3];                                                         \
            _mm512_store_si512((void *)a, fold512(_mm512_load_si512((const void *)a), k256, (v)));     \
            k++;                                                                                       \
        } else {                                                                                       \
            st->lines = k;                                                                             \
            emit_slow(st, d, (v));                                                                     \
            k = st->lines;                                                                             \
        }                                                                                              \
        d += 64;                                                                                       \
    } while (0)

/* Appends [header word if has_header] + len bytes of src + zeros to the next
 * multiple of 8. `fast`: every line this call completes is past the first four. */
VP_TARGET static inline __attribute__((always_inline)) void
append(stream_state *st, uint64_t header, int has_header, const unsigned char *s, size_t len, int fast) {
    __m512i k256 = broadcast_pair(pmt_crc32c_k_256);
    __m512i cur = _mm512_load_si512((const void *)st->line);
    unsigned char *d = st->dst;
    uint64_t k = st->lines;
    size_t f = st->fill;
    if (has_header) {
        cur = _mm512_mask_set1_epi64(cur, (__mmask8)(1u << (f >> 3)), (long long)header);
        f += 8;
        if (f == 64) { EMIT(cur); cur = _mm512_setzero_si512(); f = 0; }
    }
    size_t total = f + len;
    if (total < 64) {
        /* Bytes [f, total) of the line from s[0 ..): the mask keeps the load inside the member. */
        cur = _mm512_or_si512(cur, _mm512_maskz_loadu_epi8((~0ULL << f) & ((1ULL << total) - 1), s - f));
        f = total;
    } else {
        cur = _mm512_or_si512(cur, _mm512_maskz_loadu_epi8(~0ULL << f, s - f));
        EMIT(cur);
        s += 64 - f;
        size_t rest = total - 64;
        while (rest >= 64) {
            __m512i y = _mm512_loadu_si512((const void *)s);
            EMIT(y);
            s += 64;
            rest -= 64;
        }
        cur = _mm512_maskz_loadu_epi8((1ULL << rest) - 1, s);
        f = rest;
    }
    f = (f + 7) & ~(size_t)7; /* the padding: zeros from the masked load */
    if (f == 64) { EMIT(cur); cur = _mm512_setzero_si512(); f = 0; }
    _mm512_store_si512((void *)st->line, cur); /* whole: the next call's load forwards from it */
    st->dst = d;
    st->lines = k;
    st->fill = (uint32_t)f;
}

VP_TARGET __attribute__((noinline)) static void append_slow(stream_state *st, uint64_t header, int has_header, const unsigned char *s, size_t len) {
    append(st, header, has_header, s, len, 0);
}

VP_TARGET void pmt_group_stream_begin(void *state, void *dst) {
    stream_state *st = state;
    st->dst = (unsigned char *)((uintptr_t)dst & ~(uintptr_t)63);
    st->head = (uint32_t)((uintptr_t)dst & 63);
    st->fill = st->head;
    st->crc = 0xFFFFFFFFu;
    st->lines = 0;
    _mm512_store_si512((void *)st->line, _mm512_setzero_si512());
}

VP_TARGET void pmt_group_stream_member(void *state, uint64_t header, const void *src, size_t len) {
    stream_state *st = state;
    if (__builtin_expect(st->lines < 4 || st->head, 0)) { append_slow(st, header, 1, src, len); return; }
    append(st, header, 1, src, len, 1);
}

/* count members of len bytes each, from src back to back, all with the same
 * header word: the member loop without a call per member (a batch of members,
 * `LaneWriter.append(batch:)`). Keeping the carry line in a register across
 * the members instead of the state measured no faster (64 B members:
 * `_profile-append-batch 64 67108864 524288` 5.5-7.0 vs 5.3-5.8 ms). */
VP_TARGET void pmt_group_stream_members(void *state, uint64_t header, const void *src, size_t len, size_t count) {
    stream_state *st = state;
    const unsigned char *s = src;
    for (; count && (st->lines < 4 || st->head); count--, s += len) append_slow(st, header, 1, s, len);
    for (; count; count--, s += len) append(st, header, 1, s, len, 1);
}

VP_TARGET void pmt_group_stream_bytes(void *state, const void *src, size_t len) {
    stream_state *st = state;
    if (__builtin_expect(st->lines < 4 || st->head, 0)) { append_slow(st, 0, 0, src, len & ~(size_t)7); return; }
    append(st, 0, 0, src, len & ~(size_t)7, 1);
}

VP_TARGET uint32_t pmt_group_stream_finish(void *state) {
    stream_state *st = state;
    uint64_t c = st->crc;
    uint64_t lines = st->lines;
    if (lines) {
        /* The last four lines' accumulators in order, each folded 64 bytes on into the next. */
        __m512i k64 = broadcast_pair(pmt_crc32c_k_64);
        uint64_t i = lines >= 4 ? lines - 4 : 0;
        __m512i x = _mm512_load_si512((const void *)st->acc[i & 3]);
        for (i++; i < lines; i++) x = fold512(x, k64, _mm512_load_si512((const void *)st->acc[i & 3]));
        c = remainder_state(reduce512(x));
    }
    const uint64_t *w = (const uint64_t *)st->line;
    for (unsigned i = st->head / 8; i < st->fill / 8; i++) {
        c = _mm_crc32_u64(c, w[i]);
        _mm_stream_si64((long long *)(st->dst + 8 * i), (long long)w[i]);
    }
    return ~(uint32_t)c;
}

int pmt_group_stream_available(void) {
    const char *off = getenv("PMTRACE_GROUP_STREAM");
    return pmt_crc32c_path() == PMT_CRC32C_VPCLMUL && !(off && strcmp(off, "off") == 0);
}

#else
int pmt_group_stream_available(void) { return 0; }
void pmt_group_stream_begin(void *state, void *dst) { (void)state; (void)dst; }
void pmt_group_stream_member(void *state, uint64_t header, const void *src, size_t len) { (void)state; (void)header; (void)src; (void)len; }
void pmt_group_stream_members(void *state, uint64_t header, const void *src, size_t len, size_t count) { (void)state; (void)header; (void)src; (void)len; (void)count; }
void pmt_group_stream_bytes(void *state, const void *src, size_t len) { (void)state; (void)src; (void)len; }
uint32_t pmt_group_stream_finish(void *state) { (void)state; return 0; }
#endif
