/* pmtrace_vmm.h — PMTrace in a bare-metal VMM (or any freestanding x86-64
 * program): the static archive scripts/build-vmm.sh builds
 * (.build-vmm/libpmtrace_vmm.a: TraceFormat + TraceVolume + the C entry
 * points, compiled with Embedded Swift for x86_64-unknown-none-elf).
 *
 * The entry points are those of pmtrace.h, the same as for hosted writers
 * (pmt_open, the libpmem2 mapper, exists only in libPMTraceC.so). This header
 * adds:
 *   1. what the host must define for the archive to link (PMT_VMM_HOST
 *      below; nothing else is undefined in the archive besides memcpy,
 *      memmove and memset, which every C compiler already expects of a
 *      freestanding environment);
 *   2. a default x86-64 persistence shim as static inline functions: cache
 *      line write-back (clwb, else clflushopt, else clflush, chosen by
 *      CPUID), sfence, a non-temporal copy (movntdq with SSE2, else movnti),
 *      and hardware CRC32C (the SSE4.2 crc32 instruction);
 *   3. pmt_vmm_x86_region() / pmt_vmm_x86_options(), which fill a pmt_region
 *      and pmt_options from the shim, so a VMM can take it as is:
 *
 *          pmt_region r;
 *          pmt_options o;
 *          pmt_vmm_x86_region(&r, base, size, PMT_GRANULARITY_CACHE_LINE, 0, 0);
 *          pmt_vmm_x86_options(&o);           // then set o.clock, commit_interval
 *          pmt_format(&r, 0, 0, 0);           // once, for a new region
 *          pmt_attach(&r, 1, &o, &store);
 *
 * The archive also holds NVM discovery (where persistent memory is, from
 * the ACPI SRAT/NFIT, and where a namespace's data starts): pmtrace_nvm.h.
 *
 * Link with --gc-sections: the archive keeps every function in its own
 * section, and a writer does not reach the read and check paths.
 *
 * Execution environment the archive assumes: x86-64 long mode with SSE
 * enabled (the Swift code may use SSE registers), the System V calling
 * convention with its 128-byte red zone (ring-0 code built with
 * -mno-red-zone must not take interrupts on the stack the library runs on),
 * and some stack: Tests/VMM/harness.c measures its peak and fails above
 * 64 KiB.
 * Threads: as pmtrace.h says; the archive's pmt_last_error() text is one
 * buffer shared by all threads (hosted builds keep one per thread). */
#ifndef PMTRACE_VMM_H
#define PMTRACE_VMM_H
#include "pmtrace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. What the host provides ----------------------------------------
 * The archive's `nm -u` is exactly these functions plus memcpy, memmove and
 * memset (with their C standard meanings). A test (VMMArchiveTests) reads
 * the PMT_VMM_HOST declarations below and fails on any other undefined
 * symbol. Define PMT_VMM_NO_HOST_DECLARATIONS if your own headers already
 * declare them. */
#define PMT_VMM_HOST /* a function the host must define */
#ifndef PMT_VMM_NO_HOST_DECLARATIONS
/* The Embedded Swift runtime's allocator (objects, arrays, the store's
 * tables): store *memptr = a block of `size` bytes aligned to `alignment` (a
 * power of two, at least sizeof(void *)) and return 0, or return nonzero when
 * out of memory (the call then traps). Allocation happens at attach, volume
 * create, lane open and segment switches; pmt_append and pmt_append_accesses
 * do not allocate between segment switches. */
PMT_VMM_HOST int posix_memalign(void **memptr, size_t alignment, size_t size);
/* Releases a block from posix_memalign; free(NULL) does nothing. */
PMT_VMM_HOST void free(void *ptr);
/* Byte comparison (String and struct equality in the Swift code). The fourth
 * function GCC and Clang already expect any freestanding environment to have. */
PMT_VMM_HOST int memcmp(const void *a, const void *b, size_t n);
#endif

/* ---- 2. The default x86-64 shim -----------------------------------------
 * Works on memory of any kind (DRAM, NVDIMM, a DAX file's pages); it is what
 * makes stores durable on an ADR or eADR platform when the region is
 * persistent memory. */

static inline void pmt_x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(subleaf));
}

/* Which cache-line write-back the CPU has. */
enum pmt_x86_flush { PMT_X86_CLFLUSH = 0, PMT_X86_CLFLUSHOPT = 1, PMT_X86_CLWB = 2 };

static inline enum pmt_x86_flush pmt_x86_flush_kind(void) {
    uint32_t r[4];
    pmt_x86_cpuid(0, 0, r);
    if (r[0] < 7) return PMT_X86_CLFLUSH;
    pmt_x86_cpuid(7, 0, r);
    if (r[1] & (1u << 24)) return PMT_X86_CLWB;
    if (r[1] & (1u << 23)) return PMT_X86_CLFLUSHOPT;
    return PMT_X86_CLFLUSH;
}

/* Whether the crc32 instruction (SSE4.2) is there. */
static inline int pmt_x86_has_crc32(void) {
    uint32_t r[4];
    pmt_x86_cpuid(1, 0, r);
    return (r[2] >> 20) & 1;
}

static inline void pmt_x86_sfence(void) { __asm__ __volatile__("sfence" ::: "memory"); }

#define PMT_X86_LINE 64u

/* Write-back (no fence) of every cache line of [addr, addr+len). */
#define PMT_X86_DEFINE_FLUSH(name, insn)                                                   \
    static inline void pmt_x86_flush_##name(const void *addr, size_t len) {                \
        if (len == 0) return;                                                              \
        uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(PMT_X86_LINE - 1);                    \
        uintptr_t end = (uintptr_t)addr + len;                                             \
        for (; p < end; p += PMT_X86_LINE)                                                 \
            __asm__ __volatile__(insn " %0" : "+m"(*(volatile char *)p) :: "memory");      \
    }
PMT_X86_DEFINE_FLUSH(clwb, "clwb")
PMT_X86_DEFINE_FLUSH(clflushopt, "clflushopt")
PMT_X86_DEFINE_FLUSH(clflush, "clflush")
#undef PMT_X86_DEFINE_FLUSH

/* The non-temporal copy: bytes before the first 8-byte (16 with SSE2)
 * boundary and after the last are stored normally and written back with
 * `flush`; the rest goes around the cache (movntdq / movnti). No fence: the
 * store calls drain (sfence) before anything depends on the bytes. */
static inline void *pmt_x86_copy_nt(void *dst, const void *src, size_t len, void (*flush)(const void *, size_t)) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
#if defined(__SSE2__)
    const uintptr_t align = 16;
#else
    const uintptr_t align = 8;
#endif
    size_t head = (size_t)((align - ((uintptr_t)d & (align - 1))) & (align - 1));
    if (head > len) head = len;
    if (head) {
        for (size_t i = 0; i < head; i++) d[i] = s[i];
        flush(d, head);
        d += head; s += head; len -= head;
    }
#if defined(__SSE2__)
    for (; len >= 64; d += 64, s += 64, len -= 64)
        __asm__ __volatile__(
            "movdqu (%1), %%xmm0\n\tmovdqu 16(%1), %%xmm1\n\tmovdqu 32(%1), %%xmm2\n\tmovdqu 48(%1), %%xmm3\n\t"
            "movntdq %%xmm0, (%0)\n\tmovntdq %%xmm1, 16(%0)\n\tmovntdq %%xmm2, 32(%0)\n\tmovntdq %%xmm3, 48(%0)"
            :: "r"(d), "r"(s) : "xmm0", "xmm1", "xmm2", "xmm3", "memory");
#endif
    for (; len >= 8; d += 8, s += 8, len -= 8) {
        uint64_t w;
        __builtin_memcpy(&w, s, 8);
        __asm__ __volatile__("movnti %1, %0" : "=m"(*(uint64_t *)d) : "r"(w));
    }
    if (len) {
        for (size_t i = 0; i < len; i++) d[i] = s[i];
        flush(d, len);
    }
    return dst;
}

#define PMT_X86_DEFINE_OPS(name)                                                           \
    static inline void pmt_x86_persist_##name(const void *addr, size_t len) {              \
        pmt_x86_flush_##name(addr, len);                                                   \
        pmt_x86_sfence();                                                                  \
    }                                                                                      \
    static inline void *pmt_x86_copy_##name(void *dst, const void *src, size_t len, unsigned flags) { \
        (void)flags; /* always non-temporal, never drains (NONTEMPORAL|NODRAIN) */         \
        return pmt_x86_copy_nt(dst, src, len, pmt_x86_flush_##name);                      \
    }
PMT_X86_DEFINE_OPS(clwb)
PMT_X86_DEFINE_OPS(clflushopt)
PMT_X86_DEFINE_OPS(clflush)
#undef PMT_X86_DEFINE_OPS

/* eADR (PMT_GRANULARITY_BYTE): caches are in the persistence domain, only
 * ordering is needed. */
static inline void pmt_x86_persist_fence(const void *addr, size_t len) {
    (void)addr; (void)len;
    pmt_x86_sfence();
}
static inline void pmt_x86_flush_none(const void *addr, size_t len) { (void)addr; (void)len; }
static inline void *pmt_x86_copy_eadr(void *dst, const void *src, size_t len, unsigned flags) {
    (void)flags;
    return pmt_x86_copy_nt(dst, src, len, pmt_x86_flush_none);
}

static inline void pmt_x86_drain(void) { pmt_x86_sfence(); }

/* CRC32C with the crc32 instruction; the contract of pmt_options.crc32c
 * (crc is a previous result, 0 to start; bit-identical to the portable one). */
static inline uint32_t pmt_x86_crc32c(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    if (!p || len == 0) return crc;
    uint32_t c = ~crc;
    for (; len && ((uintptr_t)p & 7); p++, len--) __asm__("crc32b %1, %0" : "+r"(c) : "rm"(*p));
    uint64_t c64 = c;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        __asm__("crc32q %1, %0" : "+r"(c64) : "rm"(w));
    }
    c = (uint32_t)c64;
    for (; len; p++, len--) __asm__("crc32b %1, %0" : "+r"(c) : "rm"(*p));
    return ~c;
}

/* ---- 3. Filling the descriptors -------------------------------------------
 * The region [base, base+size) (page aligned) with the shim's persist, drain
 * and copy for `granularity` (PMT_GRANULARITY_CACHE_LINE: ADR, flushes by
 * CPUID; PMT_GRANULARITY_BYTE: eADR, fences only). release(context, base,
 * size) runs once when the store is done with the region (may be NULL). */
static inline void pmt_vmm_x86_region(pmt_region *r, void *base, uint64_t size, pmt_granularity granularity,
                                      pmt_release_fn release, void *context) {
    r->base = base;
    r->size = size;
    r->granularity = granularity;
    r->copy_flags = 0; /* the shim's copy is always non-temporal and never drains */
    r->drain = pmt_x86_drain;
    if (granularity == PMT_GRANULARITY_BYTE) {
        r->persist = pmt_x86_persist_fence;
        r->copy = pmt_x86_copy_eadr;
    } else {
        switch (pmt_x86_flush_kind()) {
        case PMT_X86_CLWB: r->persist = pmt_x86_persist_clwb; r->copy = pmt_x86_copy_clwb; break;
        case PMT_X86_CLFLUSHOPT: r->persist = pmt_x86_persist_clflushopt; r->copy = pmt_x86_copy_clflushopt; break;
        default: r->persist = pmt_x86_persist_clflush; r->copy = pmt_x86_copy_clflush; break;
        }
    }
    r->release = release;
    r->context = context;
    r->lost_stores = 0; /* a VMM with a machine-check handler may point it at its own count */
}

/* Zeroed options with the hardware CRC32C when the CPU has it (else the
 * store's portable table). Set clock (nanoseconds; NULL stamps 0) and
 * commit_interval yourself. */
static inline void pmt_vmm_x86_options(pmt_options *o) {
    o->commit_interval = 0;
    o->clock = 0;
    o->crc32c = pmt_x86_has_crc32() ? pmt_x86_crc32c : 0;
    o->copy_with_checksum = 0;
}

#ifdef __cplusplus
}
#endif
#endif
