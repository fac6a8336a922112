/* encoder_bench.c — the QEMU plugin's encoder thread without booting a guest
 * (scripts/bench-vm-encoder.sh builds and runs it). This file includes
 * pmtrace_qemu.c: what it times and checks is the plugin's own code.
 *
 *   encoder_bench <region file> <capture file> [entries] [passes]
 *   encoder_bench <region file> --check [accesses] [pc limit] [distinct PCs]
 *
 * Timing: replays slot entries captured from a real boot
 * (PMTRACE_PLUGIN_CAPTURE, see pmtrace_qemu.c: 16-byte pmt_guest_entry
 * records) into a ring volume of a region file and prints the encoder's
 * thread CPU time per access — the figure that must stay below the vCPU's
 * ~20 ns per access. Two ways, best of `passes` each, on the same accesses:
 *   words   — what the plugin does: the vCPU's 8-byte slot words (converted
 *             from the capture through the plugin's pc_index and slot_put),
 *             expanded and appended by encode_words;
 *   entries — the previous way: 16-byte entries, written as such by the vCPU,
 *             handed to pmt_append_guest_entries as they are.
 * Captures of the layout before that (meminfo << 40) are converted first.
 *
 * --check: a deterministic synthetic stream (pages and virtual-physical
 * offsets that change; `distinct PCs`, by default twice `pc limit`, so that
 * some accesses are wide) goes both ways into a fresh region: volume
 * "entries" gets the 16-byte entries the vCPU wrote before (built as the
 * previous mem_system did),
 * volume "words" the slot words of today's mem_system (slot_put), encoded
 * by encode_words, slot by slot. Exits 1 unless the expanded words equal the
 * entries; the caller (EncoderEquivalenceTests) compares the volumes' kind-9
 * records. */
#include "pmtrace_qemu.c"

/* QEMU 7.2's meminfo: MemOpIdx (mmu index | MemOp << 4) | rw << 16. */
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info) { return (info >> 4) & 7; }
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info) { return (info >> 16) & QEMU_PLUGIN_MEM_W; }
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr) { (void)info; (void)vaddr; return NULL; }
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *h) { (void)h; return 0; }
uint64_t qemu_plugin_hwaddr_phys_addr(const struct qemu_plugin_hwaddr *h) { (void)h; return 0; }
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb) { (void)id; (void)cb; }
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *u) { (void)id; (void)cb; (void)u; }
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb) { (void)id; (void)cb; }
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *i, qemu_plugin_vcpu_mem_cb_t cb, enum qemu_plugin_cb_flags f,
                                      enum qemu_plugin_mem_rw rw, void *u) { (void)i; (void)cb; (void)f; (void)rw; (void)u; }
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb) { (void)tb; return 0; }
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t i) { (void)tb; (void)i; return NULL; }
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn) { (void)insn; return 0; }

static double thread_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The previous encoder: 16-byte entries as they are, RUN at a time. */
static int entries_way(pmt_lane *lane, const pmt_guest_entry *e, size_t n) {
    for (size_t i = 0; i < n; i += RUN) {
        size_t k = n - i < RUN ? n - i : RUN;
        if (pmt_append_guest_entries(lane, e + i, k, PMT_GUEST_VIRTUAL | PMT_GUEST_PC) != PMT_OK) return 0;
    }
    return 1;
}

/* A fresh region file of `size` bytes, formatted, attached as the plugin does (g.store). */
static int fresh_region(const char *path, uint64_t size) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) { perror(path); return 0; }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 0; }
    pmt_region r;
    pmt_vmm_x86_region(&r, base, size, PMT_GRANULARITY_CACHE_LINE, 0, 0);
    if (pmt_format(&r, 0, 0, 0) != PMT_OK) { fprintf(stderr, "format: %s\n", pmt_last_error()); return 0; }
    munmap(base, size);
    close(fd);
    g.pool_path = path;
    return open_pool();
}

/* Slot words for captured entries, through the plugin's pc_index and
 * slot_put (a translation entry becomes the translation item it came from). */
static size_t to_words(const pmt_guest_entry *e, size_t n, uint64_t *w) {
    size_t k = 0;
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].word & PMT_GUEST_ENTRY_TRANSLATION) {
            w[k++] = SLOT_TRANSLATION << SLOT_INDEX_SHIFT;
            w[k++] = t = e[i].pc;
            continue;
        }
        uint64_t x = e[i].word, index = pc_index(e[i].pc);
        uint64_t bits = ((x >> PMT_GUEST_ENTRY_SIZE_SHIFT) & 7) << 40 | ((x >> PMT_GUEST_ENTRY_KIND_SHIFT) & 1) << 43;
        k = slot_put(w, k, &t, x & ((1ull << GPA_BITS) - 1), t, bits, index << SLOT_INDEX_SHIFT, e[i].pc);
    }
    return k;
}

/* 1 if the words expand to exactly the entries. */
static int expands_to(const uint64_t *w, size_t nw, const pmt_guest_entry *e, size_t n) {
    pmt_guest_entry out[RUN];
    size_t pos = 0, at = 0;
    uint64_t accesses = 0;
    while (pos < nw) {
        size_t k = expand_words(w, nw, &pos, out, RUN, &accesses);
        if (at + k > n || memcmp(out, e + at, k * sizeof out[0]) != 0) return 0;
        at += k;
    }
    return at == n;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int check(const char *region, size_t count, uint64_t pc_limit, uint64_t distinct_pcs) {
    g.pc_limit = pc_limit;
    if (!pc_table_init() || !fresh_region(region, 256ull << 20)) return 1;
    pmt_lane *lanes[2];
    const char *names[2] = { "entries", "words" };
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&vcpus[i].lock, NULL);
        if (pmt_volume_create(g.store, names[i], 1, 1) != PMT_OK) { fprintf(stderr, "create: %s\n", pmt_last_error()); return 1; }
        g.volume = names[i];
        if (!(lanes[i] = lane_of(&vcpus[i], 0))) return 1;
    }
    /* The stream: 16-byte entries as the previous mem_system wrote them
     * (a slot of BUF - 1 at most), and slot words as today's does. */
    pmt_guest_entry *e = malloc(2 * count * sizeof *e);
    uint64_t *w = malloc(SLOT_WORDS * sizeof *w);
    if (!e || !w) return 1;
    size_t ne = 0, nw = 0, slots = 0;
    uint64_t te = 0, tw = 0, page = 0x1000, offset = 0xffff888000000000ull, words_total = 0;
    uint64_t *all_words = malloc(4 * count * sizeof *all_words);
    if (!all_words) return 1;
    for (size_t i = 0; i < count; i++) {
        uint64_t r = rng();
        if ((r & 63) == 0) page = (rng() % (1ull << 28)) & ~(PAGE - 1);        /* another page */
        if ((r & 1023) == 1) offset = r & 0x8000000000000000ull ? 0xffff888000000000ull : (rng() & 0x7ffffffff000ull);
        if ((r & 0xFFFF) == 2) page = (1ull << GPA_BITS) - PAGE;               /* the highest page */
        uint64_t shift = (r >> 8) % 4, kind = (r >> 12) & 1;
        uint64_t gpa = page | ((r >> 16) & (PAGE - (1u << shift)));
        uint64_t vaddr = gpa + offset, pc = 0xffffffff81000000ull + ((r >> 32) % distinct_pcs) * 3;
        /* Before: */
        if (vaddr - gpa != te) {
            te = vaddr - gpa;
            e[ne].word = PMT_GUEST_ENTRY_TRANSLATION;
            e[ne++].pc = te;
        }
        e[ne].word = gpa | shift << PMT_GUEST_ENTRY_SIZE_SHIFT | kind << PMT_GUEST_ENTRY_KIND_SHIFT;
        e[ne++].pc = pc;
        /* Now (tb_trans gives the index, mem_system_access writes the words): */
        uint64_t index = pc_index(pc);
        nw = slot_put(w, nw, &tw, gpa, vaddr - gpa, shift << 40 | kind << 43, index << SLOT_INDEX_SHIFT, pc);
        if (nw > SLOT_WORDS - SLOT_ITEM_MAX || i + 1 == count) {
            memcpy(all_words + words_total, w, nw * sizeof *w);
            words_total += nw;
            encode_words(&vcpus[1], lanes[1], w, nw);
            nw = 0;
            slots++;
        }
    }
    for (size_t i = 0; i < ne; i += BUF - 1) {
        size_t k = ne - i < BUF - 1 ? ne - i : BUF - 1;
        if (!entries_way(lanes[0], e + i, k)) { fprintf(stderr, "append: %s\n", pmt_last_error()); return 1; }
    }
    if (g.failed) return 1;
    for (int i = 0; i < 2; i++) {
        if (pmt_commit(lanes[i]) != PMT_OK) { fprintf(stderr, "commit: %s\n", pmt_last_error()); return 1; }
        pmt_lane_close(lanes[i]);
    }
    pmt_detach(g.store);
    int same = expands_to(all_words, words_total, e, ne);
    printf("%zu accesses, %zu entries (%zu bytes), %" PRIu64 " words (%" PRIu64 " bytes) in %zu slots, %" PRIu64 " PC indices, %s\n",
           count, ne, ne * sizeof *e, words_total, words_total * 8, slots, g.npcs,
           same ? "the words expand to the entries" : "MISMATCH: the words do not expand to the entries");
    return same ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[2], "--check"))
    {
        uint64_t limit = argc > 4 ? strtoull(argv[4], NULL, 0) : SLOT_WIDE;
        if (limit == 0 || limit > SLOT_WIDE) limit = SLOT_WIDE;
        return check(argv[1], argc > 3 ? strtoull(argv[3], NULL, 0) : 1000000, limit, argc > 5 ? strtoull(argv[5], NULL, 0) : 2 * limit + 64);
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s <region file> <capture file> [entries] [passes]\n"
                        "       %s <region file> --check [accesses] [pc limit] [distinct PCs]\n", argv[0], argv[0]);
        return 2;
    }
    uint64_t want = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
    int passes = argc > 4 ? atoi(argv[4]) : 3;
    int cfd = open(argv[2], O_RDONLY);
    struct stat st;
    if (cfd < 0 || fstat(cfd, &st) != 0) { perror(argv[2]); return 1; }
    size_t n = (size_t)st.st_size / sizeof(pmt_guest_entry);
    if (want && want < n) n = want;
    pmt_guest_entry *e = mmap(NULL, n * sizeof *e, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, cfd, 0);
    if (e == MAP_FAILED) { perror("mmap"); return 1; }
    /* Old layout (meminfo at bit 40, decoded flag 62): convert. */
    int old_layout = 0;
    for (size_t i = 0; i < n; i++)
        if (!(e[i].word & PMT_GUEST_ENTRY_TRANSLATION)) { old_layout = ((e[i].word >> 40) & 0xFFFF) != 0; break; }
    size_t accesses = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = e[i].word;
        if (w & PMT_GUEST_ENTRY_TRANSLATION) continue;
        accesses++;
        if (!old_layout) continue;
        uint64_t gpa = w & ((1ull << 40) - 1), shift, kind;
        if (w & (1ull << 62)) { shift = (w >> 40) & 7; kind = (w >> 43) & 1; }
        else { uint32_t info = (uint32_t)((w >> 40) & ((1u << 22) - 1)); shift = qemu_plugin_mem_size_shift(info); kind = qemu_plugin_mem_is_store(info); }
        e[i].word = gpa | shift << PMT_GUEST_ENTRY_SIZE_SHIFT | kind << PMT_GUEST_ENTRY_KIND_SHIFT;
    }
    if (!pc_table_init()) return 1;
    uint64_t *words = malloc(2 * n * sizeof *words);
    if (!words) return 1;
    size_t nw = to_words(e, n, words);
    if (!expands_to(words, nw, e, n)) { fprintf(stderr, "the slot words do not expand to the captured entries\n"); return 1; }
    /* The region: 1 GiB, one ring volume (old segments are reused). */
    if (!fresh_region(argv[1], 1ull << 30)) return 1;
    g.volume = "bench";
    if (pmt_volume_create(g.store, g.volume, 1, 1) != PMT_OK) { fprintf(stderr, "create: %s\n", pmt_last_error()); return 1; }
    struct vcpu *v = &vcpus[0];
    pthread_mutex_init(&v->lock, NULL);
    pmt_lane *lane = lane_of(v, 0);
    if (!lane) return 1;
    printf("%zu entries, %zu accesses (%s layout), %zu slot words (%" PRIu64 " PC indices), best of %d passes\n", n, accesses,
           old_layout ? "previous, converted" : "current", nw, g.npcs, passes);
    for (int way = 0; way < 2; way++) {
        double best = 1e30;
        for (int p = 0; p < passes; p++) {
            double t0 = thread_seconds();
            if (way == 0) {
                /* Slots as the vCPU fills them: cut where it would submit. */
                for (size_t i = 0; i < nw;) {
                    size_t k = 0;
                    while (i + k < nw && k <= SLOT_WORDS - SLOT_ITEM_MAX) k += (words[i + k] >> SLOT_INDEX_SHIFT) >= SLOT_WIDE ? 2 : 1;
                    pthread_mutex_lock(&v->lock); /* as encode_slot */
                    encode_words(v, lane, words + i, k);
                    pthread_mutex_unlock(&v->lock);
                    if (g.failed) { fprintf(stderr, "append: %s\n", pmt_last_error()); return 1; }
                    i += k;
                }
            } else {
                for (size_t i = 0; i < n; i += BUF - 1) {
                    size_t k = n - i < BUF - 1 ? n - i : BUF - 1;
                    pthread_mutex_lock(&v->lock);
                    int ok = entries_way(lane, e + i, k);
                    pthread_mutex_unlock(&v->lock);
                    if (!ok) { fprintf(stderr, "append: %s\n", pmt_last_error()); return 1; }
                }
            }
            if (pmt_commit(lane) != PMT_OK) { fprintf(stderr, "commit: %s\n", pmt_last_error()); return 1; }
            double s = thread_seconds() - t0;
            if (s < best) best = s;
        }
        printf("  %-8s %.2f ns/access (thread CPU)\n", way == 0 ? "words" : "entries", best / (double)accesses * 1e9);
    }
    pmt_lane_close(lane);
    pmt_detach(g.store);
    unlink(argv[1]);
    return 0;
}
