/* A freestanding program standing in for a bare-metal VMM: no libc, its own
 * _start, raw Linux syscalls (open, fstat, mmap, munmap, close, write,
 * exit_group), its own allocator and mem* functions. It links the archive of
 * scripts/build-vmm.sh through include/pmtrace_vmm.h and its default x86-64
 * shim, formats the region file given as argv[1] (created by the test with
 * its final size), creates volume "vmm" with two lanes and writes:
 *   lane 0: blobs of BLOB_SIZES bytes, byte j of blob i = blob_byte(i, j);
 *   lane 1: ACCESS_COUNT memory accesses from next_access(), in calls of
 *           1, 2, 3, ... accesses, with one blob (LANE1_BLOB) after the
 *           first LANE1_BLOB_AFTER accesses;
 * commits, closes, detaches, and checks the release hook ran once. The
 * store's clock is a counter, so timestamps follow the order of the calls.
 * VMMArchiveTests replays the same generators in Swift. Prints one line of
 * results on stdout; exit status 0 = success. */
#include <pmtrace_vmm.h>

/* ---- syscalls ---- */
static long sys(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
    return ret;
}
enum { SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_fstat = 5, SYS_mmap = 9, SYS_munmap = 11, SYS_exit_group = 231 };

static size_t cstrlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static void put(int fd, const char *s) { sys(SYS_write, fd, (long)s, (long)cstrlen(s), 0, 0, 0); }
static void put_u64(int fd, uint64_t v) {
    char buf[24];
    int i = 23;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    put(fd, buf + i);
}
static __attribute__((noreturn)) void die(const char *what, int code) {
    put(2, "harness: ");
    put(2, what);
    put(2, ": ");
    put(2, pmt_strerror(code));
    put(2, " (");
    put(2, pmt_last_error());
    put(2, ")\n");
    sys(SYS_exit_group, 1, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}
#define CHECK(call, expected)                          \
    do {                                               \
        int rc_ = (call);                              \
        if (rc_ != (expected)) die(#call, rc_);        \
    } while (0)

/* ---- what the host provides (pmtrace_vmm.h) ---- */
/* rep movsb / stosb: the compiler cannot turn these back into calls. */
void *memcpy(void *dst, const void *src, size_t n) {
    void *d = dst;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) :: "memory");
    return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
    if ((uintptr_t)dst - (uintptr_t)src >= n) return memcpy(dst, src, n); /* no harmful overlap */
    unsigned char *d = (unsigned char *)dst + n - 1;
    const unsigned char *s = (const unsigned char *)src + n - 1;
    __asm__ __volatile__("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
    return dst;
}
void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}
#if defined(__clang__)
__attribute__((no_builtin))
#endif
int memcmp(const void *a, const void *b, size_t n) {
    const volatile unsigned char *p = a, *q = b;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
    return 0;
}

/* A power-of-two size-class allocator over a static arena; counts calls so
 * the harness can show that appends do not allocate. */
#define ARENA_BYTES (32u << 20)
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(4096)));
static size_t arena_used;
static void *free_lists[48];
static uint64_t allocations, frees, live;
struct block { uint32_t cls; uint32_t pad[3]; }; /* 16 bytes before every block */

int posix_memalign(void **out, size_t alignment, size_t size) {
    allocations++;
    unsigned cls = 4;
    while (((size_t)1 << cls) < size + sizeof(struct block)) cls++;
    if (alignment <= 16 && free_lists[cls]) {
        void *p = free_lists[cls];
        free_lists[cls] = *(void **)p;
        *out = p;
        live++;
        return 0;
    }
    size_t start = (arena_used + sizeof(struct block) + alignment - 1) & ~(alignment - 1);
    if (start + ((size_t)1 << cls) > ARENA_BYTES) return 12; /* ENOMEM */
    arena_used = start - sizeof(struct block) + ((size_t)1 << cls);
    struct block *b = (struct block *)(arena + start) - 1;
    b->cls = alignment <= 16 ? cls : 0; /* over-aligned blocks are not reused */
    *out = arena + start;
    live++;
    return 0;
}
void free(void *p) {
    if (!p) return;
    frees++;
    live--;
    struct block *b = (struct block *)p - 1;
    if (b->cls == 0) return;
    *(void **)p = free_lists[b->cls];
    free_lists[b->cls] = p;
}

/* ---- the workload (mirrored in VMMArchiveTests.swift) ---- */
static const size_t BLOB_SIZES[] = {1, 7, 8, 64, 255, 256, 4095, 5000, 70000, 3};
#define BLOB_COUNT (sizeof BLOB_SIZES / sizeof BLOB_SIZES[0])
#define ACCESS_COUNT 20000u
#define LANE1_BLOB_AFTER 7000u
static const char LANE1_BLOB[] = "lane 1 blob between access batches";

static unsigned char blob_byte(size_t i, size_t j) { return (unsigned char)(i * 131 + j * 7 + (j >> 8)); }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t previous_address = 0x100000;
static pmt_access next_access(uint64_t i) {
    static const uint32_t sizes[8] = {1, 2, 4, 8, 16, 63, 64, 4096};
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    pmt_access a;
    a.kind = (uint8_t)(rng >> 62);
    a.size = sizes[(rng >> 40) & 7];
    switch (i % 4) {
    case 0: previous_address += 8; break;
    case 1: previous_address -= (rng >> 52); break;
    case 2: previous_address = rng; break;
    default: previous_address += 64; break;
    }
    a.address = previous_address;
    a.reserved[0] = a.reserved[1] = a.reserved[2] = 0;
    return a;
}

static uint64_t ticks;
static uint64_t counter_clock(void) { return ++ticks; }

static int released;
static void release_region(void *context, void *base, uint64_t size) {
    released++;
    sys(SYS_munmap, (long)base, (long)size, 0, 0, 0, 0);
    sys(SYS_close, (long)(intptr_t)context, 0, 0, 0, 0, 0);
}

static unsigned char blob[70000];

/* Maps the file and fills the region with the shim; the release hook unmaps
 * it and closes the file. */
static void map_region(const char *path, pmt_region *region) {
    long fd = sys(SYS_open, (long)path, 2 /* O_RDWR */, 0, 0, 0, 0);
    if (fd < 0) { put(2, "harness: cannot open the region file\n"); sys(SYS_exit_group, 1, 0, 0, 0, 0, 0); }
    uint64_t st[18]; /* struct stat on x86-64: st_size at byte 48 */
    if (sys(SYS_fstat, fd, (long)st, 0, 0, 0, 0) != 0) { put(2, "harness: fstat failed\n"); sys(SYS_exit_group, 1, 0, 0, 0, 0, 0); }
    uint64_t size = st[6];
    long base = sys(SYS_mmap, 0, (long)size, 3 /* PROT_READ|PROT_WRITE */, 1 /* MAP_SHARED */, fd, 0);
    if (base < 0 && base > -4096) { put(2, "harness: mmap failed\n"); sys(SYS_exit_group, 1, 0, 0, 0, 0, 0); }
    pmt_vmm_x86_region(region, (void *)base, size, PMT_GRANULARITY_CACHE_LINE, release_region, (void *)(intptr_t)fd);
}

static int harness_main(int argc, char **argv) {
    if (argc != 2 && argc != 3) { put(2, "usage: harness <region file> [clflush|eadr]\n"); return 2; }
    if (pmt_version() != PMT_VERSION_MAJOR * 10000u + PMT_VERSION_MINOR * 100u + PMT_VERSION_PATCH) {
        put(2, "harness: pmt_version differs from the header\n");
        return 1;
    }
    pmt_region region;
    pmt_options options;
    /* argv[2] forces a shim variant the CPU's own choice would not take:
     * clflush (every x86-64 has it) or eadr (byte granularity: fences only). */
    int force_clflush = 0, eadr = 0;
    if (argc == 3) {
        const char *v = argv[2];
        if (v[0] == 'c' && v[1] == 'l' && v[2] == 'f' && v[3] == 'l' && v[4] == 'u' && v[5] == 's' && v[6] == 'h' && v[7] == 0) force_clflush = 1;
        else if (v[0] == 'e' && v[1] == 'a' && v[2] == 'd' && v[3] == 'r' && v[4] == 0) eadr = 1;
        else { put(2, "harness: unknown shim variant\n"); return 2; }
    }
    map_region(argv[1], &region);
    if (eadr) pmt_vmm_x86_region(&region, region.base, region.size, PMT_GRANULARITY_BYTE, region.release, region.context);
    if (force_clflush) { region.persist = pmt_x86_persist_clflush; region.copy = pmt_x86_copy_clflush; }
    pmt_vmm_x86_options(&options);
    options.clock = counter_clock;

    /* The shim's CRC must agree with the store's ("123456789" -> 0xE3069283). */
    if (options.crc32c && (options.crc32c(0, "123456789", 9) != 0xE3069283u ||
                           options.crc32c(options.crc32c(0, "1234", 4), "56789", 5) != 0xE3069283u)) {
        put(2, "harness: crc32c check failed\n");
        return 1;
    }

    CHECK(pmt_format(&region, 65536, 16, 4), PMT_OK);
    pmt_store *store;
    CHECK(pmt_attach(&region, 1, &options, &store), PMT_OK);
    CHECK(pmt_volume_create(store, "vmm", 2, 0), PMT_OK);
    CHECK(pmt_volume_create(store, "vmm", 2, 0), PMT_EXISTED);
    pmt_lane *lane0, *lane1;
    CHECK(pmt_lane_open(store, "vmm", 0, &lane0), PMT_OK);
    CHECK(pmt_lane_open(store, "vmm", 1, &lane1), PMT_OK);
    CHECK(pmt_lane_open(store, "vmm", 1, &lane1), PMT_E_BUSY);

    for (size_t i = 0; i < BLOB_COUNT; i++) {
        for (size_t j = 0; j < BLOB_SIZES[i]; j++) blob[j] = blob_byte(i, j);
        CHECK(pmt_append(lane0, PMT_KIND_BLOB, blob, BLOB_SIZES[i], 0), PMT_OK);
    }
    CHECK(pmt_commit(lane0), PMT_OK);

    pmt_access bad = {0x1000, 8, 4, {0, 0, 0}};
    CHECK(pmt_append_accesses(lane1, &bad, 1), PMT_E_INVALID);
    CHECK(pmt_append_accesses(lane1, 0, 1), PMT_E_INVALID);
    CHECK(pmt_append_accesses(lane1, 0, 0), PMT_OK);

    /* The first batch record also makes the lane's first segment (which
     * allocates); count allocations over the steady state after it. */
    pmt_access first = next_access(0);
    CHECK(pmt_append_accesses(lane1, &first, 1), PMT_OK);
    CHECK(pmt_commit(lane1), PMT_OK);
    uint64_t before = allocations, calls = 0;
    pmt_access chunk[64];
    uint64_t done = 1;
    for (uint64_t n = 2; done < ACCESS_COUNT; n = n % 64 + 1) {
        if (done < LANE1_BLOB_AFTER && done + n > LANE1_BLOB_AFTER) n = LANE1_BLOB_AFTER - done;
        if (done + n > ACCESS_COUNT) n = ACCESS_COUNT - done;
        for (uint64_t k = 0; k < n; k++) chunk[k] = next_access(done + k);
        CHECK(pmt_append_accesses(lane1, chunk, n), PMT_OK);
        calls++;
        done += n;
        if (done == LANE1_BLOB_AFTER) CHECK(pmt_append(lane1, PMT_KIND_BLOB, LANE1_BLOB, sizeof LANE1_BLOB - 1, 0), PMT_OK);
    }
    uint64_t append_allocations = allocations - before;
    CHECK(pmt_commit(lane1), PMT_OK);

    pmt_lane_close(lane0);
    pmt_lane_close(lane1);
    if (released != 0) { put(2, "harness: region released while the store was attached\n"); return 1; }
    pmt_detach(store);
    if (released != 1) { put(2, "harness: release hook did not run exactly once\n"); return 1; }
    /* What stays allocated now is the library's lazily made globals (CRC
     * tables, the error-text buffer). A second attach-write-detach cycle
     * must not add to it. */
    uint64_t live_after_first = live;
    pmt_region first_region = region;
    map_region(argv[1], &region);
    region.persist = first_region.persist;
    region.copy = first_region.copy;
    region.granularity = first_region.granularity;
    /* The lost-store count a VMM's machine-check handler would raise. */
    static volatile uint64_t lost;
    region.lost_stores = &lost;
    CHECK(pmt_attach(&region, 1, &options, &store), PMT_OK);
    CHECK(pmt_volume_create(store, "second", 1, 0), PMT_OK);
    CHECK(pmt_lane_open(store, "second", 0, &lane0), PMT_OK);
    CHECK(pmt_append_accesses(lane0, chunk, 10), PMT_OK);
    CHECK(pmt_append(lane0, PMT_KIND_BLOB, "second", 6, 0), PMT_OK);
    CHECK(pmt_commit(lane0), PMT_OK);
    /* After a lost store nothing more is published: not the lane's next
     * commit (nor its close), not a new volume. */
    CHECK(pmt_append(lane0, PMT_KIND_BLOB, "lost", 4, 0), PMT_OK);
    lost = 1;
    CHECK(pmt_commit(lane0), PMT_E_IO);
    CHECK(pmt_volume_create(store, "third", 1, 0), PMT_E_IO);
    pmt_lane_close(lane0);
    pmt_detach(store);
    if (released != 2) { put(2, "harness: release hook did not run once more\n"); return 1; }
    if (live != live_after_first) {
        put(2, "harness: an attach-write-detach cycle leaked blocks: ");
        put_u64(2, live - live_after_first);
        put(2, "\n");
        return 1;
    }

    put(1, "ok blobs=");
    put_u64(1, BLOB_COUNT);
    put(1, " accesses=");
    put_u64(1, ACCESS_COUNT);
    put(1, " access-calls=");
    put_u64(1, calls);
    put(1, " allocations-during-access-appends=");
    put_u64(1, append_allocations);
    put(1, " allocations=");
    put_u64(1, allocations);
    put(1, " frees=");
    put_u64(1, frees);
    put(1, " live-globals=");
    put_u64(1, live);
    put(1, " arena-bytes=");
    put_u64(1, arena_used);
    put(1, " flush=");
    static const char *const flush_names[] = {"clflush", "clflushopt", "clwb"};
    put(1, eadr ? "none-eadr" : force_clflush ? "clflush" : flush_names[pmt_x86_flush_kind()]);
    put(1, options.crc32c ? " crc32c=sse4.2" : " crc32c=table");
    put(1, "\n");
    return 0;
}

/* The kernel enters with argc at (%rsp), argv after it. */
/* Peak stack use of the whole run: paint STACK_PAINT bytes below the
 * entry stack pointer, run, find the deepest byte that changed. */
#define STACK_PAINT (256u << 10)
#define STACK_LIMIT (64u << 10)
static volatile unsigned char *painted_end;
static __attribute__((noinline)) void paint_stack(void) {
    /* Start below this function's own frame (and its red zone). */
    volatile unsigned char *p = (volatile unsigned char *)__builtin_frame_address(0) - 512;
    painted_end = p - STACK_PAINT;
    while (p > painted_end) *--p = 0xA5;
}
static uint64_t stack_used(volatile unsigned char *top) {
    volatile unsigned char *p = painted_end;
    while (*p == 0xA5) p++;
    return (uint64_t)(top - p);
}

void start_c(long *sp);
void start_c(long *sp) {
    volatile unsigned char *top = (volatile unsigned char *)sp;
    paint_stack();
    int code = harness_main((int)sp[0], (char **)(sp + 1));
    uint64_t used = stack_used(top);
    if (code == 0) {
        put(1, "stack-bytes=");
        put_u64(1, used);
        put(1, "\n");
        if (used > STACK_LIMIT) { put(2, "harness: more than 64 KiB of stack\n"); code = 1; }
    }
    sys(SYS_exit_group, code, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}
__asm__(".text\n.globl _start\n_start:\n\txor %rbp, %rbp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
