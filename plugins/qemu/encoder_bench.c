/* encoder_bench.c — the QEMU plugin's encoder thread without booting a guest
 * (scripts/bench-vm-encoder.sh builds and runs it). Replays slot entries
 * captured from a real boot (PMTRACE_PLUGIN_CAPTURE, see pmtrace_qemu.c)
 * through the plugin's own code (this file includes pmtrace_qemu.c) into a
 * ring volume of a region file, and prints the encoder's thread CPU time
 * per access: the figure that must stay below the vCPU's ~14-18 ns per access.
 *
 *   encoder_bench <region file> <capture file> [entries] [passes]
 *
 * Two ways are timed on the same entries, best of `passes` each:
 *   entries  — what the plugin does: pmt_append_guest_entries on the slot
 *              entries as they are;
 *   accesses — the previous way: each entry rebuilt as a pmt_guest_access
 *              (32 bytes), 256 at a time, then pmt_append_guest_accesses.
 * Captures of the previous entry layout (meminfo << 40) are converted first:
 * capture files say which layout they hold by their first access entry. */
#include "pmtrace_qemu.c"

/* QEMU 7.2's meminfo: MemOpIdx (mmu index | MemOp << 4) | rw << 16. */
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info) { return (info >> 4) & 7; }
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info) { return (info >> 16) & QEMU_PLUGIN_MEM_W; }
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr) { (void)info; (void)vaddr; return NULL; }
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *h) { (void)h; return 0; }
uint64_t qemu_plugin_hwaddr_phys_addr(const struct qemu_plugin_hwaddr *h) { (void)h; return 0; }
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb) { (void)id; (void)cb; }
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *u) { (void)id; (void)cb; (void)u; }
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

/* The previous encoder: rebuild pmt_guest_access records, CHUNK at a time. */
#define OLD_CHUNK 256
static int old_way(pmt_lane *lane, const pmt_guest_entry *e, size_t n, uint64_t *translation) {
    pmt_guest_access out[OLD_CHUNK];
    size_t k = 0;
    uint64_t t = *translation;
    for (size_t i = 0; i < n; i++) {
        uint64_t w0 = e[i].word, w1 = e[i].pc;
        if (w0 & PMT_GUEST_ENTRY_TRANSLATION) { t = w1; continue; }
        uint64_t gpa = w0 & PMT_GUEST_ENTRY_ADDRESS_MASK;
        out[k].physical = gpa;
        out[k].virtual_address = gpa + t;
        out[k].pc = w1;
        out[k].size = 1u << ((w0 >> PMT_GUEST_ENTRY_SIZE_SHIFT) & 7);
        out[k].kind = (w0 >> PMT_GUEST_ENTRY_KIND_SHIFT) & 3;
        if (++k == OLD_CHUNK) {
            if (pmt_append_guest_accesses(lane, out, k, PMT_GUEST_VIRTUAL | PMT_GUEST_PC) != PMT_OK) return 0;
            k = 0;
        }
    }
    *translation = t;
    return !k || pmt_append_guest_accesses(lane, out, k, PMT_GUEST_VIRTUAL | PMT_GUEST_PC) == PMT_OK;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s <region file> <capture file> [entries] [passes]\n", argv[0]); return 2; }
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
    /* The region: 1 GiB, one ring volume (old segments are reused). */
    uint64_t size = 1ull << 30;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) { perror(argv[1]); return 1; }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    pmt_region r;
    pmt_vmm_x86_region(&r, base, size, PMT_GRANULARITY_CACHE_LINE, 0, 0);
    if (pmt_format(&r, 0, 0, 0) != PMT_OK) { fprintf(stderr, "format: %s\n", pmt_last_error()); return 1; }
    munmap(base, size);
    close(fd);
    g.pool_path = argv[1];
    if (!open_pool()) return 1;
    g.volume = "bench";
    if (pmt_volume_create(g.store, g.volume, 1, 1) != PMT_OK) { fprintf(stderr, "create: %s\n", pmt_last_error()); return 1; }
    struct vcpu *v = &vcpus[0];
    pthread_mutex_init(&v->lock, NULL);
    pmt_lane *lane = lane_of(v, 0);
    if (!lane) return 1;
    printf("%zu entries, %zu accesses (%s layout), slots of %d entries, best of %d passes\n", n, accesses,
           old_layout ? "previous, converted" : "current", BUF - 1, passes);
    for (int way = 0; way < 2; way++) {
        double best = 1e30;
        for (int p = 0; p < passes; p++) {
            uint64_t t = 0;
            double t0 = thread_seconds();
            for (size_t i = 0; i < n; i += BUF - 1) {
                size_t k = n - i < BUF - 1 ? n - i : BUF - 1;
                pthread_mutex_lock(&v->lock); /* as encode_slot */
                int ok;
                if (way == 0) {
                    encode_entries(v, lane, e + i, k, 0); /* as encode_slot */
                    ok = !g.failed;
                } else ok = old_way(lane, e + i, k, &t);
                pthread_mutex_unlock(&v->lock);
                if (!ok) { fprintf(stderr, "append: %s\n", pmt_last_error()); return 1; }
            }
            if (pmt_commit(lane) != PMT_OK) { fprintf(stderr, "commit: %s\n", pmt_last_error()); return 1; }
            double s = thread_seconds() - t0;
            if (s < best) best = s;
        }
        printf("  %-8s %.2f ns/access (thread CPU)\n", way == 0 ? "entries" : "accesses", best / (double)accesses * 1e9);
    }
    pmt_lane_close(lane);
    pmt_detach(g.store);
    unlink(argv[1]);
    return 0;
}
