/* pmtrace_qemu.c — a QEMU TCG plugin that records a guest into a PMTrace
 * region through the bare-metal writer (libpmtrace_vmm.a: Embedded Swift,
 * no Swift runtime), the way a hypervisor would.
 *
 * System mode (qemu-system-x86_64), one lane per vCPU:
 *   - every guest RAM/ROM access as a guest-access-batch record (FORMAT.md
 *     §8.9): guest-physical address, load/store, size, and the guest virtual
 *     address and PC (both free in a memory callback);
 *   - PML batches (kind 3) like Intel Page-Modification Logging: the GPA of
 *     the first store to each 4 KiB page since the last checkpoint, 512 per
 *     record, in the storing vCPU's lane;
 *   - on lane `vcpus` (the machine lane): a base image of guest RAM (non-zero
 *     pages), then every `every` stores a checkpoint: images of the pages
 *     PML logged plus those whose contents changed without a store the plugin
 *     saw (DMA, page-table A/D bits), read from the RAM backing file, and a
 *     checkpoint record (kind 10) closing the epoch; a final one at exit.
 * User mode (qemu-x86_64), lane = vCPU index modulo the volume's lanes:
 *   guest-access batches (kind 9, user-mode form: virtual address, PC, size,
 *   load/store), and a marker
 *   "pmtrace-maps\n" + the process's /proc/self/maps at exit (the CLI imports
 *   the guest's mappings and symbols from it).
 *
 * Arguments (-plugin pmtrace_qemu.so,name=value,...):
 *   pool=PATH        the region file (formatted, the volume created: the CLI does both)
 *   volume=NAME      the volume to record into
 *   ram=PATH         guest RAM backing file (system mode; memory-backend-file)
 *   ramsize=BYTES    its size
 *   map=P:L:G        physical range [P, P+L) as QEMU reports it (RAM-block
 *                    offsets) is at guest-physical G; repeat for each block
 *                    (QEMU 7.2 returns RAM-block offsets, not GPAs)
 *   max=N            record at most N accesses (0 = no limit)
 *   every=N          a checkpoint every N guest stores (0 = base and final only)
 *   record=on|off    off: callbacks and counting only (the overhead baseline)
 *   pml=on|off       PML batches and checkpoints (default on, system mode)
 *   stats=PATH       write the plugin's counters there at exit (key=value lines)
 *   snapshot=PATH    (tests) copy guest RAM to PATH when checkpoint `snapepoch` is taken
 *   snapepoch=N      which checkpoint (default 1)
 * Environment (benchmarks): PMTRACE_PLUGIN_CAPTURE=PATH[:SKIP[:MAX]] writes the
 * entries vCPU 0 hands over, expanded to 16-byte pmt_guest_entry records, to
 * PATH, after skipping SKIP of them, at most MAX (default 2^26): the input of
 * scripts/bench-vm-encoder.sh, which replays them through the encoder
 * thread's code without booting.
 * Guest RAM above 4 GiB and ramsize above 3.5 GiB are not imaged. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <immintrin.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "pmtrace_vmm.h"
#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = PMT_QEMU_PLUGIN_API_VERSION;

#define MAX_VCPUS 64
#define MAX_MAPS 16
#define BUF 2048         /* user mode: accesses buffered per vCPU before they are encoded */
#define SLOT_WORDS 4096  /* system mode: 8-byte words per slot (32 KiB, ~4000 accesses) */
#define CLAIM 4096       /* accesses a vCPU takes from the global budget at once */
#define PAGE 4096ull
#define SLOTS 64         /* buffers in flight per vCPU between it and the encoder thread
                          * (2 MiB, ~2.5 ms of a vCPU: room for the encoder
                          * being descheduled a while on a loaded machine) */

/* A slot holds 8-byte words the vCPU writes with one plain store per access
 * (half the bytes of the 16-byte pmt_guest_entry it wrote before: the cache
 * lines the vCPU takes back from the encoder's core each ring halve too):
 *   an access:       GPA (bits 0-39) | size shift << 40 | store << 43
 *                    | PC index << 44, the PC being g.pcs[PC index],
 *                    assigned when the instruction is translated (pc_index);
 *   a wide access:   the same with PC index SLOT_WIDE, then a word holding
 *                    the PC (instructions translated after the table filled);
 *   a translation:   SLOT_TRANSLATION << 44, then a word holding virtual − GPA
 *                    for the accesses after it (written only when it
 *                    changes: within a page it never does).
 * The encoder thread expands them (expand_words) into pmt_guest_entry runs
 * for pmt_append_guest_entries: what reaches the store, and so the kind-9
 * records, is what the vCPU's 16-byte entries gave (encoder_bench --check
 * and EncoderEquivalenceTests compare the records).
 * GPAs are below 2^40 (parse_args). */
#define GPA_BITS 40
#define SLOT_INDEX_SHIFT 44
#define SLOT_WIDE 0xFFFFEull
#define SLOT_TRANSLATION 0xFFFFFull
#define SLOT_ITEM_MAX 4  /* words one access may add: a translation and a wide access */
#define PC_HASH (1u << 21) /* open-addressed PC → index table, at most half full */
#define DECODED 256      /* per-vCPU cache of meminfo decodings */
#define PREFETCH_AHEAD 32 /* words: 4 cache lines */
#define RUN 256          /* entries the encoder thread hands over per call (4 KiB) */

/* PREFETCHW: the line in a writable state. (`__builtin_prefetch(p, 1, 3)`
 * is PREFETCHT0 unless the compiler is told the CPU has PRFCHW — a read
 * prefetch, which leaves the line shared with the encoder's core, so the
 * store still waits for the invalidation. CPUs without PRFCHW decode 0F 0D as
 * a NOP; a prefetch never faults.) */
static inline void prefetch_for_write(const void *p) {
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
}

/* What a vCPU hands to the encoder thread: slot words, then PML entries. */
struct slot {
    size_t n;             /* words (set when the vCPU submits the slot) */
    unsigned npml;
    uint64_t pml[512];
    uint64_t w[SLOT_WORDS] __attribute__((aligned(64))); /* no line shared with the header */
} __attribute__((aligned(64)));

/* Laid out by who writes what, a cache line apart: the fields a vCPU touches
 * on every access first (only its thread writes them), then `head` (the vCPU
 * writes it once a slot, the encoder thread polls it), then what the
 * encoder thread writes (`tail`, `recorded`, `pml_records`). A line the
 * other core wrote costs the vCPU a cache-line transfer when it next reads
 * it. */
struct vcpu {
    /* the vCPU's thread, every access */
    uint64_t *w;          /* system mode: fill->w, the words being filled */
    size_t wn;            /* words in it so far (fill->n is set on submit) */
    uint64_t translation; /* vCPU: virtual − GPA of its last entry */
    int recording;        /* record=on, the base image taken and the store not failed: one check per access */
    unsigned npml;
    uint64_t loads, stores, io, unmapped, unrecorded, pml_entries;
    uint64_t stores_synced, sync_at; /* v->stores added to g.stores_total; when to add again */
    uint64_t allowance;
    int exhausted;        /* the global budget is spent: record nothing more */
    int thread_known;
    struct slot *fill;
    /* meminfo → decoded (vCPU thread): bits 0-31 the meminfo, bit 32 valid,
     * bits 40-43 the slot word's size shift and store bit (a guest makes few distinct
     * meminfo values: each is decoded by QEMU once, then found here — two
     * calls into QEMU per access cost ~2 ns). */
    uint64_t decoded[DECODED];
    uint64_t pml[512];    /* the vCPU's PML log: handed over when full (512) or at a checkpoint */
    /* slots submitted (vCPU), read by the encoder thread */
    uint64_t head __attribute__((aligned(64)));
    /* written by the encoder thread (system mode) */
    uint64_t tail __attribute__((aligned(64))); /* slots encoded */
    uint64_t recorded, pml_records;
    /* the rest: now and then */
    pthread_mutex_t lock __attribute__((aligned(64))); /* the lane: its thread, checkpoints and exit */
    pmt_lane *lane;
    int lane_failed;
    size_t n;             /* user mode: entries of u[] filled (published after the entry, for finish()) */
    uint64_t appended;    /* user mode: accesses handed to the store (under lock), the counters' "recorded" */
    struct slot *ring;    /* system mode: SLOTS slots; the vCPU fills ring[head % SLOTS] */
    uint64_t waits, wait_ns; /* times the vCPU blocked on the encoder (ring full or a drain), and for how long */
    uint64_t checkpoint_ns;  /* time this vCPU spent taking checkpoints (base image included) */
    pthread_t thread;     /* the vCPU's host thread (system mode), for its CPU time */
    pid_t tid;            /* its thread id, for its context switches at exit */
    uint64_t syscall_args[3];
    pmt_guest_access u[BUF]; /* user mode: encoded in the vCPU's thread */
} __attribute__((aligned(64)));

static struct {
    int system;
    int record, pml;
    unsigned vcpus, lanes;
    const char *pool_path, *volume, *ram_path, *stats_path, *snapshot_path;
    uint64_t snapshot_epoch;
    const char *capture_path;        /* capture=: raw slot entries (benchmarks) */
    int capture_fd;
    uint64_t capture_skip, capture_max, capture_seen;
    uint64_t ram_size, max, every;
    struct { uint64_t phys, len, gpa; } map[MAX_MAPS];
    unsigned nmaps;
    uint64_t gpa_limit; /* pages below this have a dirty bit */
    pmt_store *store;
    void *base;
    uint64_t size;
    int pool_fd, ram_fd;
    uint64_t budget;                 /* accesses left to claim (atomic) */
    uint64_t stores_total;           /* synced from vCPUs (atomic) */
    uint64_t next_checkpoint;        /* stores at which the next one is due (atomic) */
    uint64_t *dirty;                 /* PML bitmap, one bit per 4 KiB GPA page */
    unsigned char *shadow;           /* guest RAM as of the last checkpoint */
    const unsigned char *ram;        /* the RAM file, mapped read-only (ram_size bytes) */
    pthread_mutex_t ckpt_lock;
    pthread_once_t base_once;
    int base_done;                   /* the base image is taken (fast check before pthread_once) */
    uint64_t epoch, images_total, unlogged_total;
    int failed;
    pthread_t encoder;
    pthread_mutex_t enc_lock;
    pthread_cond_t enc_wake;
    pthread_cond_t slot_free;        /* signalled when the encoder frees a slot and a vCPU waits */
    int enc_sleeping, enc_stop, enc_running, producers_waiting;
    uint64_t encoder_cpu;
    uint64_t encoder_naps, encoder_wakes; /* the encoder's timed sleeps; wakes a vCPU asked for */
    /* PC table (system mode, recording): index → PC, written at translation
     * under pc_lock before any access can name the index; read by the encoder. */
    uint64_t *pcs, *pc_keys;
    uint32_t *pc_vals;               /* index + 1 per pc_keys slot, 0 = empty */
    uint64_t npcs, pc_limit;         /* indices given; at most pc_limit (tests lower it) */
    pthread_mutex_t pc_lock;
    int finished;                    /* finish() ran (atexit, or a fatal guest signal first) */
    int closing;                     /* user mode: finish() began; vCPUs still running append nothing more */
    uint64_t forks;                  /* user mode: child processes the program made (not recorded) */
    int exec;                        /* user mode: recording ended at the program's execve */
} g = { .pc_limit = SLOT_WIDE, .pc_lock = PTHREAD_MUTEX_INITIALIZER, .snapshot_epoch = 1, .capture_fd = -1, .capture_max = 1ull << 26, .enc_lock = PTHREAD_MUTEX_INITIALIZER, .enc_wake = PTHREAD_COND_INITIALIZER,
        .slot_free = PTHREAD_COND_INITIALIZER, .record = 1, .pml = 1, .ckpt_lock = PTHREAD_MUTEX_INITIALIZER, .base_once = PTHREAD_ONCE_INIT };

static struct vcpu vcpus[MAX_VCPUS];

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pmtrace plugin: %s\n", line);
}

/* A failure of the store stops recording (the guest keeps running); the
 * message goes to stderr once. */
static void store_failed(const char *what, int rc) {
    if (__atomic_exchange_n(&g.failed, 1, __ATOMIC_SEQ_CST)) return;
    for (unsigned i = 0; i < MAX_VCPUS; i++) __atomic_store_n(&vcpus[i].recording, 0, __ATOMIC_RELAXED);
    say("%s failed: %s (%s); recording stopped", what, pmt_strerror(rc), pmt_last_error());
}

/* ---- lanes ---------------------------------------------------------------- */

static pmt_lane *lane_of(struct vcpu *v, unsigned index) {
    if (!v->lane && !v->lane_failed) {
        int rc = pmt_lane_open(g.store, g.volume, index, &v->lane);
        if (rc != PMT_OK) {
            v->lane_failed = 1;
            store_failed("opening a lane", rc);
        }
    }
    return v->lane;
}

/* ---- the encoder thread (system mode) ------------------------------------------
 * A vCPU only copies each access into a slot (a few ns); this thread encodes
 * full slots into the vCPU's lane, on another host core. A vCPU whose
 * SLOTS slots are all waiting yields until one is free: nothing is dropped. */

/* The pmt_guest_entry word of an access's slot word. */
static inline uint64_t entry_word(uint64_t x) {
    return (x & ((1ull << GPA_BITS) - 1)) | ((x >> 40) & 7) << PMT_GUEST_ENTRY_SIZE_SHIFT
         | ((x >> 43) & 1) << PMT_GUEST_ENTRY_KIND_SHIFT;
}

/* Expands the slot words w[*pos..n) into at most `cap` entries (the form
 * pmt_append_guest_entries takes); returns how many, advances *pos past the
 * words used and adds the accesses among them to *accesses. The words are
 * the plugin's own (a vCPU wrote each item whole before publishing the slot). */
static size_t expand_words(const uint64_t *w, size_t n, size_t *pos, pmt_guest_entry *out, size_t cap, uint64_t *accesses) {
    size_t i = *pos, k = 0;
    uint64_t a = 0;
    const uint64_t *pcs = g.pcs;
    while (i < n && k < cap) {
        uint64_t x = w[i], index = x >> SLOT_INDEX_SHIFT;
        if (__builtin_expect(index < SLOT_WIDE, 1)) {
            out[k].word = entry_word(x);
            out[k].pc = pcs[index];
            i++;
            a++;
        } else if (index == SLOT_WIDE) {
            out[k].word = entry_word(x);
            out[k].pc = w[i + 1];
            i += 2;
            a++;
        } else {
            out[k].word = PMT_GUEST_ENTRY_TRANSLATION;
            out[k].pc = w[i + 1];
            i += 2;
        }
        k++;
    }
    *pos = i;
    *accesses += a;
    return k;
}

/* Appends a slot's words to the lane (the vCPU's lock held): expanded RUN
 * entries at a time into a buffer that stays in this core's L1, the next
 * words' cache lines prefetched first (the vCPU wrote them on the other
 * core moments ago). */
static void encode_words(struct vcpu *v, pmt_lane *lane, const uint64_t *w, size_t n) {
    pmt_guest_entry e[RUN];
    size_t pos = 0;
    uint64_t accesses = 0;
    int rc = PMT_OK;
    while (pos < n && rc == PMT_OK) {
        uintptr_t next = (uintptr_t)w + (pos + RUN) * 8;
        size_t ahead = n - pos > 2 * RUN ? RUN : n - pos > RUN ? n - pos - RUN : 0;
        for (size_t b = 0; b < ahead * 8; b += 64) __builtin_prefetch((const void *)(next + b));
        size_t k = expand_words(w, n, &pos, e, RUN, &accesses);
        rc = pmt_append_guest_entries(lane, e, k, PMT_GUEST_VIRTUAL | PMT_GUEST_PC);
    }
    if (rc != PMT_OK) store_failed("appending accesses", rc);
    else v->recorded += accesses;
}

static void encode_slot(struct vcpu *v, unsigned index, struct slot *s) {
    pthread_mutex_lock(&v->lock);
    pmt_lane *lane = g.failed ? NULL : lane_of(v, index);
    if (lane && s->n) encode_words(v, lane, s->w, s->n);
    if (lane && s->npml) {
        unsigned char p[8 + 8 * 512];
        uint32_t count = s->npml, zero = 0;
        memcpy(p, &count, 4);
        memcpy(p + 4, &zero, 4);
        memcpy(p + 8, s->pml, 8 * (size_t)s->npml);
        int rc = pmt_append(lane, PMT_KIND_PML_BATCH, p, 8 + 8 * (size_t)s->npml, 0);
        if (rc != PMT_OK) store_failed("appending a PML batch", rc);
        v->pml_records++;
    }
    pthread_mutex_unlock(&v->lock);
    s->n = 0;
    s->npml = 0;
}

static int encode_pending(void) {
    int did = 0;
    for (unsigned i = 0; i < g.vcpus; i++) {
        struct vcpu *v = &vcpus[i];
        uint64_t head = __atomic_load_n(&v->head, __ATOMIC_SEQ_CST);
        while (v->tail < head) {
            encode_slot(v, i, &v->ring[v->tail % SLOTS]);
            __atomic_store_n(&v->tail, v->tail + 1, __ATOMIC_SEQ_CST);
            did = 1;
            if (__atomic_load_n(&g.producers_waiting, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&g.enc_lock);
                pthread_cond_broadcast(&g.slot_free);
                pthread_mutex_unlock(&g.enc_lock);
            }
        }
    }
    return did;
}

static int encode_pending_check(void) {
    for (unsigned i = 0; i < g.vcpus; i++)
        if (__atomic_load_n(&vcpus[i].head, __ATOMIC_SEQ_CST) != vcpus[i].tail) return 1;
    return 0;
}

/* How long the encoder polls for the next slot before it sleeps. A vCPU
 * fills a slot in ~40 µs; waking a sleeping encoder costs the vCPU a futex
 * call (and the encoder a context switch) per slot, so the encoder keeps
 * polling (with pause, on its own core) for about one slot's time first.
 * (Tried: no polling, a 150 µs nap and a wake only when half a ring waits:
 * 52.7 s vs 50.7 s for the same boot — the encoder fell further behind.) */
#define ENCODER_POLL_NS 100000ull

static void *encoder_main(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&g.enc_stop, __ATOMIC_ACQUIRE)) {
        if (encode_pending()) continue;
        uint64_t idle_since = now_ns();
        int found = 0;
        while (!found && now_ns() - idle_since < ENCODER_POLL_NS && !__atomic_load_n(&g.enc_stop, __ATOMIC_ACQUIRE)) {
            for (int i = 0; i < 64; i++) _mm_pause();
            found = encode_pending_check();
        }
        if (found) continue;
        pthread_mutex_lock(&g.enc_lock);
        __atomic_store_n(&g.enc_sleeping, 1, __ATOMIC_SEQ_CST);
        if (!encode_pending_check()) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 1000000;
            if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
            g.encoder_naps++;
            pthread_cond_timedwait(&g.enc_wake, &g.enc_lock, &t);
        }
        __atomic_store_n(&g.enc_sleeping, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&g.enc_lock);
    }
    encode_pending();
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        g.encoder_cpu = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
    return NULL;
}

static void wake_encoder(void) {
    if (__atomic_load_n(&g.enc_sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&g.enc_lock);
        g.encoder_wakes++;
        pthread_cond_signal(&g.enc_wake);
        pthread_mutex_unlock(&g.enc_lock);
    }
}

/* Blocks (no spinning: the encoder needs the core) until the encoder has
 * taken v's slots up to `until` (tail ≥ until). */
static void wait_for_encoder(struct vcpu *v, uint64_t until) {
    if (__atomic_load_n(&v->tail, __ATOMIC_SEQ_CST) >= until) return;
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&g.enc_lock);
    __atomic_add_fetch(&g.producers_waiting, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&v->tail, __ATOMIC_SEQ_CST) < until) {
        pthread_cond_signal(&g.enc_wake);
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 1000000;
        if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&g.slot_free, &g.enc_lock, &t);
    }
    __atomic_sub_fetch(&g.producers_waiting, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&g.enc_lock);
    v->waits++;
    v->wait_ns += now_ns() - t0;
}

/* Writes a slot's entries, expanded to pmt_guest_entry (16 bytes: the
 * capture format encoder_bench replays), to the capture file (vCPU 0 only). */
static void capture(const struct slot *s) {
    static pmt_guest_entry e[SLOT_WORDS];
    size_t pos = 0;
    uint64_t accesses = 0;
    size_t count = expand_words(s->w, s->n, &pos, e, SLOT_WORDS, &accesses);
    uint64_t from = g.capture_seen, to = from + count;
    g.capture_seen = to;
    if (to <= g.capture_skip || from >= g.capture_skip + g.capture_max) return;
    uint64_t a = from < g.capture_skip ? g.capture_skip - from : 0;
    uint64_t b = to > g.capture_skip + g.capture_max ? g.capture_skip + g.capture_max - from : count;
    if (write(g.capture_fd, &e[a], (size_t)(b - a) * sizeof e[0]) != (ssize_t)((b - a) * sizeof e[0]))
        say("capture: %s", strerror(errno));
}

/* Hands the vCPU's slot to the encoder and takes the next free one. */
static void submit(struct vcpu *v) {
    v->fill->n = v->wn;
    if (__builtin_expect(g.capture_fd >= 0, 0) && v == &vcpus[0]) capture(v->fill);
    uint64_t h = v->head + 1;
    __atomic_store_n(&v->head, h, __ATOMIC_SEQ_CST);
    wake_encoder();
    if (h >= SLOTS) wait_for_encoder(v, h - SLOTS + 1);
    v->fill = &v->ring[h % SLOTS];
    v->w = v->fill->w;
    v->wn = 0;
}

/* Submits the vCPU's partial slot and waits until everything it submitted
 * is in its lane (before a checkpoint, and at exit). */
static void hand_over_pml(struct vcpu *v) {
    memcpy(v->fill->pml, v->pml, 8 * (size_t)v->npml);
    v->fill->npml = v->npml;
    v->npml = 0;
}

static void drain(struct vcpu *v) {
    if (v->npml) hand_over_pml(v);
    if (v->wn || v->fill->npml) submit(v);
    wake_encoder();
    wait_for_encoder(v, v->head);
}

/* ---- address translation ------------------------------------------------ */

static inline int translate(uint64_t phys, uint64_t *gpa) {
    for (unsigned i = 0; i < g.nmaps; i++)
        if (phys - g.map[i].phys < g.map[i].len) {
            *gpa = phys - g.map[i].phys + g.map[i].gpa;
            return 1;
        }
    return 0;
}

/* ---- checkpoints ----------------------------------------------------------- */

static int dirty_test_and_set(uint64_t gpa) {
    uint64_t page = gpa / PAGE;
    if (gpa >= g.gpa_limit) return 1; /* not tracked: never logged */
    uint64_t bit = 1ull << (page & 63);
    if (__atomic_load_n(&g.dirty[page >> 6], __ATOMIC_RELAXED) & bit) return 1;
    return (__atomic_fetch_or(&g.dirty[page >> 6], bit, __ATOMIC_RELAXED) & bit) != 0;
}

/* Appends an image of `page` (copied once: the image and the shadow get
 * the same bytes even if another vCPU writes the page meanwhile) and
 * updates the shadow from that copy. */
static int append_image(pmt_lane *lane, uint64_t gpa, const unsigned char *page) {
    static unsigned char payload[16 + PAGE]; /* under ckpt_lock */
    uint32_t size = PAGE, zero = 0;
    memcpy(payload, &gpa, 8);
    memcpy(payload + 8, &size, 4);
    memcpy(payload + 12, &zero, 4);
    memcpy(payload + 16, page, PAGE);
    int rc = pmt_append(lane, PMT_KIND_PAGE_IMAGE, payload, sizeof payload, 0);
    if (rc != PMT_OK) store_failed("appending a page image", rc);
    else memcpy(g.shadow + gpa, payload + 16, PAGE);
    return rc == PMT_OK;
}

/* The end of the file's data range that contains or follows `off` (below
 * `end`), and where it starts (*start); both `end` when no data follows.
 * Holes of the RAM file read as zeros (QEMU never punches one into RAM the
 * guest used); SEEK_DATA/SEEK_HOLE find them without touching them (reading
 * a tmpfs hole through a mapping would allocate it). */
static uint64_t data_range(uint64_t off, uint64_t end, uint64_t *start) {
    off_t d = lseek(g.ram_fd, (off_t)off, SEEK_DATA);
    if (d < 0) {
        *start = errno == ENXIO ? end : off; /* ENXIO: no data after off; other errors: all data */
        return end;
    }
    uint64_t s = (uint64_t)d & ~(PAGE - 1);
    if (s >= end) { *start = end; return end; }
    off_t h = lseek(g.ram_fd, (off_t)s, SEEK_HOLE);
    uint64_t e = h < 0 ? end : ((uint64_t)h + PAGE - 1) & ~(PAGE - 1);
    *start = s;
    return e > end || e <= s ? end : e;
}

/* Test hook: guest RAM as a file at checkpoint g.snapshot_epoch. */
static void write_snapshot(void) {
    int snap = open(g.snapshot_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (snap < 0) { say("snapshot: %s", strerror(errno)); return; }
    static unsigned char chunk[1 << 20];
    for (uint64_t off = 0; off < g.ram_size; off += sizeof chunk) {
        size_t want = g.ram_size - off < sizeof chunk ? (size_t)(g.ram_size - off) : sizeof chunk;
        size_t got = 0;
        while (got < want) {
            ssize_t r = pread(g.ram_fd, chunk + got, want - got, (off_t)(off + got));
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got < want) memset(chunk + got, 0, want - got);
        if (pwrite(snap, chunk, want, (off_t)off) != (ssize_t)want) say("snapshot: %s", strerror(errno));
    }
    close(snap);
}

/* Images every page of guest RAM that PML logged or whose contents differ
 * from the shadow copy, then closes the epoch with a checkpoint record.
 * Caller holds ckpt_lock. With one vCPU the guest is stopped meanwhile (we
 * run in its thread); with more, the others keep running and an image may
 * already hold some of the next epoch's stores (those pages are in the next
 * epoch's PML too). */
static void take_checkpoint(uint32_t flags) {
    if (g.failed || g.ram_fd < 0) return;
    struct vcpu *m = &vcpus[g.vcpus];
    pthread_mutex_lock(&m->lock);
    pmt_lane *lane = lane_of(m, g.vcpus);
    if (!lane) { pthread_mutex_unlock(&m->lock); return; }
    static const unsigned char zeros[PAGE];
    uint64_t images = 0, logged = 0, unlogged = 0;
    if (g.snapshot_path && g.epoch == g.snapshot_epoch) write_snapshot();
    /* Guest RAM is read through a read-only mapping of its file, kept from
     * one checkpoint to the next (no copy into a buffer first: measured
     * 46-95 ms a scan of 256 MiB against 165-240 ms with 1 MiB preads, on a
     * loaded machine), data ranges only: pages past the file's end or in
     * its holes are zeros. */
    struct stat st;
    uint64_t end = fstat(g.ram_fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size & ~(PAGE - 1) : 0;
    if (end > g.ram_size) end = g.ram_size;
    uint64_t data_start = 0, data_end = 0;
    for (uint64_t gpa = 0; gpa < g.ram_size && !g.failed; gpa += PAGE) {
        if (gpa >= data_end && data_end < end) data_end = data_range(gpa, end, &data_start);
        const unsigned char *content = gpa >= data_start && gpa < data_end ? g.ram + gpa : zeros;
        uint64_t page = gpa / PAGE;
        uint64_t *word = &g.dirty[page >> 6], bit = 1ull << (page & 63);
        int was_logged = (__atomic_fetch_and(word, ~bit, __ATOMIC_RELAXED) & bit) != 0;
        int changed = memcmp(content, g.shadow + gpa, PAGE) != 0;
        if (!was_logged && !changed) continue;
        if (was_logged) logged++; else unlogged++;
        if (!append_image(lane, gpa, content)) break;
        images++;
    }
    /* Logged pages outside guest RAM (NVDIMM, ROM) are counted, not imaged. */
    for (uint64_t w = g.ram_size / PAGE / 64; w < (g.gpa_limit / PAGE + 63) / 64; w++)
        logged += (uint64_t)__builtin_popcountll(__atomic_exchange_n(&g.dirty[w], 0, __ATOMIC_RELAXED));
    uint64_t accesses = 0, stores = 0;
    for (unsigned i = 0; i < g.vcpus; i++) {
        accesses += vcpus[i].loads + vcpus[i].stores;
        stores += vcpus[i].stores;
    }
    unsigned char rec[64];
    uint32_t magic = 0x4B434D50u;
    uint64_t fields[7] = { g.epoch, stores, accesses, images, logged, unlogged, g.ram_size };
    memcpy(rec, &magic, 4);
    memcpy(rec + 4, &flags, 4);
    memcpy(rec + 8, fields, sizeof fields);
    int rc = pmt_append(lane, PMT_KIND_CHECKPOINT, rec, sizeof rec, 0);
    if (rc != PMT_OK) store_failed("appending a checkpoint", rc);
    rc = pmt_commit(lane);
    if (rc != PMT_OK) store_failed("committing a checkpoint", rc);
    g.images_total += images;
    g.unlogged_total += unlogged;
    g.epoch++;
    pthread_mutex_unlock(&m->lock);
}

static void base_image(void) {
    pthread_mutex_lock(&g.ckpt_lock);
    take_checkpoint(1u);
    pthread_mutex_unlock(&g.ckpt_lock);
    __atomic_store_n(&g.base_done, 1, __ATOMIC_RELEASE);
}

/* Called by a vCPU every 256 of its stores. */
static void maybe_checkpoint(struct vcpu *v, unsigned index) {
    uint64_t total = __atomic_add_fetch(&g.stores_total, v->stores - v->stores_synced, __ATOMIC_RELAXED);
    v->stores_synced = v->stores;
    v->sync_at = v->stores + 256;
    if (g.every == 0 || total < __atomic_load_n(&g.next_checkpoint, __ATOMIC_RELAXED)) return;
    if (pthread_mutex_trylock(&g.ckpt_lock) != 0) return;
    if (total >= g.next_checkpoint) {
        (void)index;
        uint64_t t0 = now_ns();
        drain(v);
        take_checkpoint(0);
        v->checkpoint_ns += now_ns() - t0;
        __atomic_store_n(&g.next_checkpoint, total + g.every, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g.ckpt_lock);
}

/* ---- callbacks ---------------------------------------------------------------- */

static int claim(struct vcpu *v) {
    if (g.max == 0) { v->allowance = CLAIM; return 1; }
    if (v->exhausted) return 0;
    uint64_t left = __atomic_load_n(&g.budget, __ATOMIC_RELAXED);
    while (left > 0) {
        uint64_t take = left < CLAIM ? left : CLAIM;
        if (__atomic_compare_exchange_n(&g.budget, &left, left - take, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            v->allowance = take;
            return 1;
        }
    }
    v->exhausted = 1;
    return 0;
}

/* The slow path of mem_system's one per-access check (v->recording != 1):
 * 0 = record nothing (record=off, or the store failed), 1 = record every
 * access (and from now on v->recording is 1: the fast path), 2 = bounded
 * (max=): take each access from the allowance. Takes the base image first. */
static int recording_mode(struct vcpu *v) {
    if (!g.record || __atomic_load_n(&g.failed, __ATOMIC_RELAXED)) return 0;
    if (__builtin_expect(!__atomic_load_n(&g.base_done, __ATOMIC_ACQUIRE), 0)) {
        uint64_t t0 = now_ns();
        pthread_once(&g.base_once, base_image);
        v->checkpoint_ns += now_ns() - t0;
        if (__atomic_load_n(&g.failed, __ATOMIC_RELAXED)) return 0;
    }
    if (g.max != 0) return 2;
    __atomic_store_n(&v->recording, 1, __ATOMIC_RELAXED);
    /* A failure between the check above and the store: look again. */
    if (__atomic_load_n(&g.failed, __ATOMIC_SEQ_CST)) { __atomic_store_n(&v->recording, 0, __ATOMIC_RELAXED); return 0; }
    return 1;
}

/* The decoded meminfo for v->decoded (see there): the slot word's size
 * shift (bits 40-42) and store bit (43). */
#define DECODED_BITS (0xFull << 40)
static __attribute__((noinline)) uint64_t decode_info(struct vcpu *v, qemu_plugin_meminfo_t info) {
    unsigned shift = qemu_plugin_mem_size_shift(info);
    uint64_t store = qemu_plugin_mem_is_store(info) ? 1 : 0;
    uint64_t d = (uint64_t)info | 1ull << 32 | (uint64_t)(shift & 7) << 40 | store << 43;
    v->decoded[(info ^ (info >> 8) ^ (info >> 16)) & (DECODED - 1)] = d;
    return d;
}

/* Adds one access to a slot's words at n (room for SLOT_ITEM_MAX words
 * checked by the caller); returns the new n. `tag` is PC index << 44, or
 * SLOT_WIDE << 44 with the PC in `pc`. */
static inline size_t slot_put(uint64_t *w, size_t n, uint64_t *translation, uint64_t gpa, uint64_t t,
                              uint64_t bits, uint64_t tag, uint64_t pc) {
    if (__builtin_expect(t != *translation, 0)) {
        *translation = t;
        w[n] = SLOT_TRANSLATION << SLOT_INDEX_SHIFT;
        w[n + 1] = t;
        n += 2;
    }
    w[n++] = gpa | bits | tag;
    if (__builtin_expect(tag == SLOT_WIDE << SLOT_INDEX_SHIFT, 0)) w[n++] = pc;
    return n;
}

/* The PC index of an instruction at `pc` (system mode, recording), given
 * when it is first translated and kept for every later translation of the
 * same PC; SLOT_WIDE once pc_limit PCs have one (its accesses then carry
 * the PC in a second word). Translation runs in vCPU threads: under pc_lock. */
static uint64_t pc_index(uint64_t pc) {
    pthread_mutex_lock(&g.pc_lock);
    uint64_t index = SLOT_WIDE;
    uint32_t h = (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 43) & (PC_HASH - 1);
    while (g.pc_vals[h] && g.pc_keys[h] != pc) h = (h + 1) & (PC_HASH - 1);
    if (g.pc_vals[h]) index = g.pc_vals[h] - 1;
    else if (g.npcs < g.pc_limit) {
        index = g.npcs++;
        g.pcs[index] = pc;
        g.pc_keys[h] = pc;
        g.pc_vals[h] = (uint32_t)index + 1;
    }
    pthread_mutex_unlock(&g.pc_lock);
    return index;
}

static inline void mem_system_access(unsigned int vi, qemu_plugin_meminfo_t info, uint64_t vaddr, uint64_t tag, uint64_t pc) {
    struct vcpu *v = &vcpus[vi];
    if (__builtin_expect(!v->thread_known, 0)) { v->thread = pthread_self(); v->tid = gettid(); v->thread_known = 1; }
    uint64_t d = v->decoded[(info ^ (info >> 8) ^ (info >> 16)) & (DECODED - 1)];
    if (__builtin_expect((d & 0x1FFFFFFFFull) != ((uint64_t)info | 1ull << 32), 0)) d = decode_info(v, info);
    int store = (d >> 43) & 1;
    if (store) v->stores++; else v->loads++;
    struct qemu_plugin_hwaddr *h = qemu_plugin_get_hwaddr(info, vaddr);
    if (!h || qemu_plugin_hwaddr_is_io(h)) { v->io++; return; }
    uint64_t gpa;
    if (!translate(qemu_plugin_hwaddr_phys_addr(h), &gpa)) {
        if (v->unmapped++ < 8 && getenv("PMTRACE_PLUGIN_DEBUG"))
            say("untranslated: phys 0x%" PRIx64 " vaddr 0x%" PRIx64, qemu_plugin_hwaddr_phys_addr(h), vaddr);
        return;
    }
    /* After the store refused something, nothing more is handed to it
     * (`recorded`, counted by the encoder thread, is what the store took;
     * the slots in flight at that moment are dropped with the failure's
     * message). */
    int mode = __atomic_load_n(&v->recording, __ATOMIC_RELAXED);
    if (__builtin_expect(mode != 1, 0)) {
        if (!g.record) return; /* the baseline: as cheap as before the fast path existed */
        if ((mode = recording_mode(v)) == 0) return;
    }
    if (store && g.pml) {
        if (!dirty_test_and_set(gpa)) {
            v->pml[v->npml++] = gpa & ~(PAGE - 1);
            v->pml_entries++;
            if (v->npml == 512) {
                hand_over_pml(v);
                submit(v);
            }
        }
        if (v->stores >= v->sync_at) maybe_checkpoint(v, vi);
    }
    if (__builtin_expect(mode == 2, 0)) {
        if (v->allowance == 0 && !claim(v)) { v->unrecorded++; return; }
        v->allowance--;
    }
    /* Plain stores (non-temporal stores of the 32-byte pmt_guest_access
     * stalled the vCPU: 46.2 s vs 43.5 s of its CPU with plain ones, one
     * boot each). A slot always has room for SLOT_ITEM_MAX words. */
    size_t n = v->wn;
    uint64_t *w = v->w;
    /* The encoder thread read this slot's lines on the other core one ring
     * ago: take each line for writing (PREFETCHW) 4 lines ahead, so the
     * ownership transfer overlaps the accesses before it. Measured: vCPU
     * CPU time 38.9 s vs 45.2 s for the same boot without any prefetch
     * (16-byte entries). Every access, not once a line: items of two words
     * would skip the line boundary now and then, and one profiled boot
     * with a prefetch once a line, 8 lines ahead, was no better. A
     * prefetch never faults (past the slot's end it lands
     * in the next slot or nowhere). */
    prefetch_for_write(w + n + PREFETCH_AHEAD);
    n = slot_put(w, n, &v->translation, gpa, vaddr - gpa, d & DECODED_BITS, tag, pc);
    v->wn = n;
    if (n > SLOT_WORDS - SLOT_ITEM_MAX) submit(v);
}

/* The memory callback of an instruction with a PC index (udata: index << 44). */
static void mem_system(unsigned int vi, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    mem_system_access(vi, info, vaddr, (uint64_t)(uintptr_t)udata, 0);
}

/* The memory callback of an instruction without one (udata: its PC). */
static void mem_system_wide(unsigned int vi, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    mem_system_access(vi, info, vaddr, SLOT_WIDE << SLOT_INDEX_SHIFT, (uint64_t)(uintptr_t)udata);
}

static void mem_user(unsigned int vi, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    struct vcpu *v = &vcpus[vi % MAX_VCPUS];
    int store = qemu_plugin_mem_is_store(info);
    if (store) v->stores++; else v->loads++;
    if (!g.record) return;
    if (v->allowance == 0 && !claim(v)) { v->unrecorded++; return; }
    v->allowance--;
    /* The entry first, then the count: finish() may take this buffer from
     * another thread while this one still runs (a guest execve in another
     * thread) and must never see an entry not yet written. */
    size_t at = v->n;
    pmt_guest_access *a = &v->u[at];
    a->physical = vaddr;
    a->pc = (uint64_t)(uintptr_t)udata;
    a->size = 1u << qemu_plugin_mem_size_shift(info);
    a->kind = store ? PMT_ACCESS_STORE : PMT_ACCESS_LOAD;
    __atomic_store_n(&v->n, at + 1, __ATOMIC_RELEASE);
    v->recorded++;
    if (at + 1 == BUF) {
        struct vcpu *lane_owner = &vcpus[(vi % MAX_VCPUS) % g.lanes];
        pthread_mutex_lock(&lane_owner->lock);
        size_t n = v->n;
        v->n = 0;
        int closing = __atomic_load_n(&g.closing, __ATOMIC_ACQUIRE);
        pmt_lane *lane = g.failed || closing ? NULL : lane_of(lane_owner, (vi % MAX_VCPUS) % g.lanes);
        if (lane) {
            int rc = pmt_append_guest_accesses(lane, v->u, n, PMT_GUEST_USER | PMT_GUEST_PC);
            if (rc != PMT_OK) store_failed("appending accesses", rc);
            else v->appended += n;
        }
        pthread_mutex_unlock(&lane_owner->lock);
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_vcpu_mem_cb_t cb = mem_user;
        uint64_t udata = pc;
        if (g.system) {
            /* Recording off (the baseline): no index, the callback returns before it would be used. */
            uint64_t index = g.record ? pc_index(pc) : 0;
            cb = index == SLOT_WIDE ? mem_system_wide : mem_system;
            udata = index == SLOT_WIDE ? pc : index << SLOT_INDEX_SHIFT;
        }
        qemu_plugin_register_vcpu_mem_cb(insn, cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, (void *)(uintptr_t)udata);
    }
}

/* ---- exit ------------------------------------------------------------------------ */

/* /proc/self/maps as a NUL-terminated string, after `prefix` (NULL on failure). */
static char *read_maps(const char *prefix, size_t *out_len) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 1 << 16, len = strlen(prefix);
    char *text = malloc(cap);
    if (!text) { close(fd); return NULL; }
    memcpy(text, prefix, len);
    for (;;) {
        if (cap - len < 4097) {
            char *bigger = realloc(text, cap * 2);
            if (!bigger) break;
            text = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, text + len, cap - len - 1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    text[len] = 0;
    *out_len = len;
    return text;
}

/* QEMU's own mappings, taken at install, before the guest program is loaded. */
static char *host_maps;

/* The guest's mappings: the lines of /proc/self/maps at exit whose address
 * range was not QEMU's own at install (user mode runs the guest in QEMU's
 * address space). */
static void write_maps_marker(void) {
    size_t all_len;
    char *all = read_maps("", &all_len);
    if (!all) return;
    char *text = malloc(all_len + 16);
    if (!text) { free(all); return; }
    size_t len = 0;
    memcpy(text, "pmtrace-maps\n", 13);
    len = 13;
    for (char *line = all; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        char *space = memchr(line, ' ', n);
        int host = 0;
        if (space && host_maps) {
            char key[80];
            size_t k = (size_t)(space - line) + 1;
            if (k + 1 < sizeof key) {
                key[0] = '\n';
                memcpy(key + 1, line, k);
                key[k + 1] = 0;
                host = strstr(host_maps, key) != NULL;
            }
        }
        if (!host) { memcpy(text + len, line, n); len += n; }
        line += n;
    }
    free(all);
    struct vcpu *m = &vcpus[0];
    pthread_mutex_lock(&m->lock);
    pmt_lane *lane = g.failed ? NULL : lane_of(m, 0);
    if (lane) {
        int rc = pmt_append(lane, PMT_KIND_MARKER, text, len, 0);
        if (rc != PMT_OK) store_failed("appending the maps marker", rc);
    }
    pthread_mutex_unlock(&m->lock);
    free(text);
}

/* CPU time a thread has used, in ns (0 if unknown). */
static uint64_t thread_cpu_ns(pthread_t t) {
    clockid_t c;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &c) != 0 || clock_gettime(c, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Everything the run leaves: the buffered accesses, the final checkpoint
 * (system mode) or the maps marker (user mode), the last commits, the
 * counters. Once: at QEMU's atexit, or before a fatal guest signal ends
 * QEMU (fatal_signal_hook), whichever comes first. */
static void finish(void) {
    if (__atomic_exchange_n(&g.finished, 1, __ATOMIC_ACQ_REL)) return;
    __atomic_store_n(&g.closing, 1, __ATOMIC_RELEASE);
    /* Taken first: the vCPU threads are stopped; the encoder still runs. */
    uint64_t vcpu_cpu = 0, encoder_cpu = 0;
    for (unsigned i = 0; g.system && i < g.vcpus; i++)
        if (vcpus[i].thread_known) vcpu_cpu += thread_cpu_ns(vcpus[i].thread);
    uint64_t loads = 0, stores = 0, io = 0, unmapped = 0, recorded = 0, unrecorded = 0, pml = 0, pmlr = 0;
    uint64_t waits = 0, wait_ns = 0, checkpoint_ns = 0, switches = 0, voluntary = 0;
    for (unsigned i = 0; g.system && i < g.vcpus; i++) {
        if (!vcpus[i].thread_known) continue;
        waits += vcpus[i].waits; wait_ns += vcpus[i].wait_ns; checkpoint_ns += vcpus[i].checkpoint_ns;
        char path[64], line[128];
        snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)vcpus[i].tid);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            unsigned long long n;
            if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1) switches += n;
            else if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1) voluntary += n;
        }
        if (f) fclose(f);
    }
    unsigned used = g.system ? g.vcpus : MAX_VCPUS;
    for (unsigned i = 0; i < used; i++) {
        struct vcpu *v = &vcpus[i];
        unsigned lane = g.system ? i : i % g.lanes;
        struct vcpu *owner = &vcpus[lane];
        pthread_mutex_lock(&owner->lock);
        size_t pending = g.system ? 0 : __atomic_load_n(&v->n, __ATOMIC_ACQUIRE);
        if (pending) {
            pmt_lane *l = g.failed ? NULL : lane_of(owner, lane);
            if (l && pmt_append_guest_accesses(l, v->u, pending, PMT_GUEST_USER | PMT_GUEST_PC) != PMT_OK)
                store_failed("appending accesses", -1);
            else if (l) v->appended += pending;
            v->n = 0;
        }
        pthread_mutex_unlock(&owner->lock);
        if (g.system && g.enc_running) drain(v);
        loads += v->loads; stores += v->stores; io += v->io; unmapped += v->unmapped;
        /* User mode: what reached the store (accesses a thread still running
         * made after this, e.g. beside a guest execve, are seen, not recorded). */
        recorded += g.system ? v->recorded : v->appended; unrecorded += v->unrecorded; pml += v->pml_entries; pmlr += v->pml_records;
    }
    if (g.enc_running) {
        __atomic_store_n(&g.enc_stop, 1, __ATOMIC_RELEASE);
        pthread_mutex_lock(&g.enc_lock);
        pthread_cond_signal(&g.enc_wake);
        pthread_mutex_unlock(&g.enc_lock);
        pthread_join(g.encoder, NULL);
        encoder_cpu = g.encoder_cpu;
        g.enc_running = 0;
    }
    /* No access seen: the guest never ran (QEMU refused the kernel): write nothing. */
    if (g.system && g.record && g.pml && __atomic_load_n(&g.base_done, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&g.ckpt_lock);
        take_checkpoint(2u);
        pthread_mutex_unlock(&g.ckpt_lock);
    }
    if (!g.system && g.record) write_maps_marker();
    for (unsigned i = 0; i <= (g.system ? g.vcpus : g.lanes) && i < MAX_VCPUS; i++) {
        pthread_mutex_lock(&vcpus[i].lock); /* a vCPU still running (fatal signal) appends under it */
        if (vcpus[i].lane) {
            int rc = pmt_commit(vcpus[i].lane);
            if (rc != PMT_OK) store_failed("the last commit", rc);
            pmt_lane_close(vcpus[i].lane);
            vcpus[i].lane = NULL;
        }
        vcpus[i].lane_failed = 1; /* no lane opens after this */
        pthread_mutex_unlock(&vcpus[i].lock);
    }
    if (g.store) pmt_detach(g.store);
    if (g.stats_path) {
        FILE *f = fopen(g.stats_path, "w");
        if (f) {
            fprintf(f, "mode=%s\nloads=%" PRIu64 "\nstores=%" PRIu64 "\nio=%" PRIu64 "\nunmapped=%" PRIu64
                       "\nrecorded=%" PRIu64 "\nunrecorded=%" PRIu64 "\npml_entries=%" PRIu64 "\npml_records=%" PRIu64
                       "\ncheckpoints=%" PRIu64 "\nimages=%" PRIu64 "\nunlogged_pages=%" PRIu64 "\nfailed=%d\n"
                       "vcpu_cpu_ns=%" PRIu64 "\nencoder_cpu_ns=%" PRIu64 "\nvcpu_waits=%" PRIu64 "\nvcpu_wait_ns=%" PRIu64
                       "\nvcpu_checkpoint_ns=%" PRIu64 "\nvcpu_involuntary_switches=%" PRIu64 "\nvcpu_voluntary_switches=%" PRIu64
                       "\nencoder_naps=%" PRIu64 "\nencoder_wakes=%" PRIu64 "\npc_indices=%" PRIu64
                       "\nforks=%" PRIu64 "\nexec=%d\n",
                    g.system ? "system" : "user", loads, stores, io, unmapped, recorded, unrecorded, pml, pmlr,
                    g.epoch, g.images_total, g.unlogged_total, g.failed, vcpu_cpu, encoder_cpu,
                    waits, wait_ns, checkpoint_ns, switches, voluntary, g.encoder_naps, g.encoder_wakes, g.npcs,
                    __atomic_load_n(&g.forks, __ATOMIC_RELAXED), g.exec);
            fclose(f);
        }
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata) {
    (void)id; (void)udata;
    finish();
}

/* ---- user mode: fork and exec ------------------------------------------------
 * QEMU runs a guest fork (and vfork, posix_spawn) as a host fork: the child is
 * a copy of QEMU with this plugin's state, the same lanes and the same lock.
 * Two processes appending to one lane would break its chain, so the child
 * records nothing and leaves the store alone: it never appends, commits,
 * writes the maps marker or the counters (finish() is a no-op there); the
 * parent counts the children it made. A guest execve that succeeds replaces
 * QEMU with the host program (it runs natively, outside the plugin), so the
 * recording is finished at the call; one that fails leaves the rest of the
 * program unrecorded (the counters say exec=1). */
static void after_fork_in_parent(void) { __atomic_fetch_add(&g.forks, 1, __ATOMIC_RELAXED); }

static void after_fork_in_child(void) {
    /* Single-threaded here: the other vCPU threads did not come along. */
    g.record = 0;
    g.closing = 1;
    g.finished = 1;
    /* The region's flock belongs to the descriptor's open file description,
     * which fork shares and which the mapping holds too: a child that
     * outlives the program (it neither execs nor exits) would keep the region
     * locked for the writer `record` opens next. The child lets go of both:
     * the mapping (nothing in the child touches the store any more) and the
     * descriptor (pointed at /dev/null, so its number stays valid). */
    if (g.base && g.base != MAP_FAILED) munmap(g.base, g.size);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0 && g.pool_fd >= 0) { dup3(null, g.pool_fd, O_CLOEXEC); close(null); }
}

static void syscall_entry(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
    (void)id; (void)vcpu; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    if (num != 59 && num != 322) return; /* x86-64 execve, execveat */
    if (__atomic_load_n(&g.finished, __ATOMIC_ACQUIRE)) return;
    g.exec = 1;
    finish();
}

/* ---- a fatal guest signal (user mode) ------------------------------------------------
 * A guest signal whose action is to end the process (SIGSEGV, SIGABRT, SIGTERM,
 * SIGPIPE, …) reaches QEMU's dump_core_and_abort, which in QEMU 7.2 does not
 * run the plugins' atexit callbacks: it sets the host signal to SIG_DFL and
 * kill()s its own process. Without finish() the buffered accesses, the maps
 * marker and the last commit would be lost (the appended records lie past the
 * commit point). So the executable's GOT entry of kill() (its only caller in
 * QEMU: guest kill syscalls go through safe_syscall) is pointed here: a
 * kill(own pid, sig) while sig is at SIG_DFL and ends the process runs
 * finish() first. A QEMU that runs atexit on this path (8.x) finds finish()
 * done. Guest threads other than the dying one may still run (a signal that
 * dumps no core does not stop them): they append nothing once g.closing is set,
 * and an access they buffer meanwhile is lost. */
static int (*real_kill)(pid_t, int);

static int ends_process(int sig) {
    switch (sig) {
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return 0;
    default:
        return sig > 0 && sig < 65;
    }
}

static int fatal_signal_hook(pid_t pid, int sig) {
    struct sigaction sa;
    if (pid == getpid() && ends_process(sig) && sigaction(sig, NULL, &sa) == 0
        && !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL)
        finish();
    return real_kill(pid, sig);
}

/* The main executable's dynamic section value `v`: an address (relocated in
 * place by the loader) or an offset from the load base. */
static uintptr_t dyn_address(uintptr_t base, uintptr_t v) { return v < base ? base + v : v; }

static int hook_kill_in(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    uintptr_t base = info->dlpi_addr, relro = 0, relro_end = 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) { relro = base + ph->p_vaddr; relro_end = relro + ph->p_memsz; }
    }
    if (!dyn) return 1; /* a static QEMU: no plugins either */
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *tables[2] = { NULL, NULL };
    size_t sizes[2] = { 0, 0 };
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char *)dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_JMPREL: tables[0] = (const ElfW(Rela) *)dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: sizes[0] = dyn->d_un.d_val; break;
        case DT_RELA: tables[1] = (const ElfW(Rela) *)dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_RELASZ: sizes[1] = dyn->d_un.d_val; break;
        default: break;
        }
    }
    if (!symtab || !strtab) return 1;
    long page = sysconf(_SC_PAGESIZE);
    for (int t = 0; t < 2; t++) {
        for (size_t k = 0; tables[t] && k < sizes[t] / sizeof(ElfW(Rela)); k++) {
            const ElfW(Rela) *r = &tables[t][k];
            unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
            if (strcmp(strtab + symtab[ELF64_R_SYM(r->r_info)].st_name, "kill") != 0) continue;
            uintptr_t slot = base + r->r_offset;
            int ro = slot >= relro && slot < relro_end; /* BIND_NOW: read-only after relocation */
            void *first = (void *)(slot & ~(uintptr_t)(page - 1));
            if (ro && mprotect(first, (size_t)page, PROT_READ | PROT_WRITE) != 0) return 1;
            void **p = (void **)slot;
            if (!real_kill) real_kill = (int (*)(pid_t, int))*p;
            *p = (void *)fatal_signal_hook;
            if (ro) mprotect(first, (size_t)page, PROT_READ);
        }
    }
    return 1; /* the first object is the executable: stop */
}

/* ---- install ---------------------------------------------------------------------- */

static uint64_t clock_ns(void) { return now_ns(); }

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) return 0;
    *out = v;
    return 1;
}

static int on_off(const char *name, const char *v, int *out) {
    if (!strcmp(v, "on")) *out = 1;
    else if (!strcmp(v, "off")) *out = 0;
    else { say("%s=%s: expected on or off", name, v); return 0; }
    return 1;
}

static int parse_args(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) { say("argument '%s' is not name=value", argv[i]); return 0; }
        *eq = 0;
        const char *k = argv[i], *v = eq + 1;
        if (!strcmp(k, "pool")) g.pool_path = v;
        else if (!strcmp(k, "volume")) g.volume = v;
        else if (!strcmp(k, "ram")) g.ram_path = v;
        else if (!strcmp(k, "stats")) g.stats_path = v;
        else if (!strcmp(k, "snapshot")) g.snapshot_path = v;
        else if (!strcmp(k, "snapepoch")) { if (!parse_u64(v, &g.snapshot_epoch)) { say("snapepoch=%s: not a number", v); return 0; } }
        else if (!strcmp(k, "ramsize")) { if (!parse_u64(v, &g.ram_size)) { say("ramsize=%s: not a number", v); return 0; } }
        else if (!strcmp(k, "max")) { if (!parse_u64(v, &g.max)) { say("max=%s: not a number", v); return 0; } }
        else if (!strcmp(k, "every")) { if (!parse_u64(v, &g.every)) { say("every=%s: not a number", v); return 0; } }
        else if (!strcmp(k, "record")) { if (!on_off(k, v, &g.record)) return 0; }
        else if (!strcmp(k, "pml")) { if (!on_off(k, v, &g.pml)) return 0; }
        else if (!strcmp(k, "map")) {
            char *a = (char *)v, *b = strchr(a, ':'), *c = b ? strchr(b + 1, ':') : NULL;
            if (!b || !c || g.nmaps == MAX_MAPS) { say("map=%s: expected phys:len:gpa (at most %d)", v, MAX_MAPS); return 0; }
            *b = 0; *c = 0;
            uint64_t p, l, q;
            if (!parse_u64(a, &p) || !parse_u64(b + 1, &l) || !parse_u64(c + 1, &q) || l == 0) {
                say("map=%s:%s:%s: not three numbers", a, b + 1, c + 1);
                return 0;
            }
            if (q >= (1ull << GPA_BITS) || l > (1ull << GPA_BITS) - q) {
                say("map=%s:%s:%s: guest-physical addresses end at 2^%d", a, b + 1, c + 1, GPA_BITS);
                return 0;
            }
            g.map[g.nmaps].phys = p; g.map[g.nmaps].len = l; g.map[g.nmaps].gpa = q;
            g.nmaps++;
        } else { say("unknown argument '%s'", k); return 0; }
    }
    if (!g.pool_path || !g.volume) { say("pool= and volume= are required"); return 0; }
    return 1;
}

static int open_pool(void) {
    g.pool_fd = open(g.pool_path, O_RDWR | O_CLOEXEC);
    if (g.pool_fd < 0) { say("%s: %s", g.pool_path, strerror(errno)); return 0; }
    if (flock(g.pool_fd, LOCK_EX | LOCK_NB) != 0) { say("%s: in use by another writer", g.pool_path); return 0; }
    struct stat st;
    if (fstat(g.pool_fd, &st) != 0 || st.st_size <= 0) { say("%s: empty or unreadable", g.pool_path); return 0; }
    g.size = (uint64_t)st.st_size;
    g.base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, g.pool_fd, 0);
    if (g.base == MAP_FAILED) { say("%s: mmap: %s", g.pool_path, strerror(errno)); return 0; }
    pmt_region r;
    pmt_options o;
    pmt_vmm_x86_region(&r, g.base, g.size, PMT_GRANULARITY_CACHE_LINE, 0, 0);
    pmt_vmm_x86_options(&o);
    o.clock = clock_ns;
    o.commit_interval = 1 << 20;
    int rc = pmt_attach(&r, 1, &o, &g.store);
    if (rc != PMT_OK) { say("%s: %s (%s)", g.pool_path, pmt_strerror(rc), pmt_last_error()); return 0; }
    return 1;
}

/* The PC table (pc_index): reserved, touched only as PCs are added. */
static int pc_table_init(void) {
    void *a = mmap(NULL, SLOT_WIDE * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void *b = mmap(NULL, (size_t)PC_HASH * 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED) return 0;
    g.pcs = a;
    g.pc_keys = b;
    g.pc_vals = (uint32_t *)(g.pc_keys + PC_HASH);
    return 1;
}

static int setup_system(void) {
    if (g.nmaps == 0) { /* no layout given: RAM at 0 */
        g.map[0].phys = 0; g.map[0].len = g.ram_size ? g.ram_size : (1ull << 32); g.map[0].gpa = 0;
        g.nmaps = 1;
    }
    for (unsigned i = 0; i < g.nmaps; i++)
        if (g.map[i].gpa + g.map[i].len > g.gpa_limit) g.gpa_limit = g.map[i].gpa + g.map[i].len;
    if (g.gpa_limit > (1ull << 40)) g.gpa_limit = 1ull << 40;
    g.ram_fd = -1;
    if (g.record && g.pml) {
        if (!g.ram_path || g.ram_size == 0) { say("system mode needs ram= and ramsize= (or pml=off)"); return 0; }
        if (g.ram_size % PAGE || g.ram_size > 0xE0000000ull) { say("ramsize=%" PRIu64 ": a multiple of 4 KiB up to 3.5 GiB", g.ram_size); return 0; }
        g.ram_fd = open(g.ram_path, O_RDONLY | O_CLOEXEC);
        if (g.ram_fd < 0) { say("%s: %s", g.ram_path, strerror(errno)); return 0; }
        /* Only pages below the file's end are ever read (take_checkpoint). */
        void *ram = mmap(NULL, g.ram_size, PROT_READ, MAP_SHARED, g.ram_fd, 0);
        if (ram == MAP_FAILED) { say("%s: mmap: %s", g.ram_path, strerror(errno)); return 0; }
        g.ram = ram;
        g.dirty = calloc((g.gpa_limit / PAGE + 63) / 64, 8);
        g.shadow = mmap(NULL, g.ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (!g.dirty || g.shadow == MAP_FAILED) { say("out of memory for the dirty bitmap or shadow"); return 0; }
    }
    g.next_checkpoint = g.every;
    return 1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    if (!parse_args(argc, argv)) return -1;
    g.system = info->system_emulation;
    g.vcpus = g.system ? (unsigned)info->system.max_vcpus : 1;
    if (g.system && g.vcpus + 1 > MAX_VCPUS) { say("at most %d vCPUs", MAX_VCPUS - 1); return -1; }
    for (unsigned i = 0; i < MAX_VCPUS; i++) pthread_mutex_init(&vcpus[i].lock, NULL);
    g.budget = g.max;
    if (g.system && !setup_system()) return -1;
    char *cap = getenv("PMTRACE_PLUGIN_CAPTURE");
    if (g.system && cap && *cap) {
        char *path = strdup(cap), *colon = strchr(path, ':');
        if (colon) {
            *colon = 0;
            char *second = strchr(colon + 1, ':');
            if (second) { *second = 0; g.capture_max = strtoull(second + 1, NULL, 0); }
            g.capture_skip = strtoull(colon + 1, NULL, 0);
        }
        g.capture_path = path;
        g.capture_fd = open(g.capture_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (g.capture_fd < 0) { say("%s: %s", g.capture_path, strerror(errno)); return -1; }
    }
    if (!open_pool()) return -1;
    g.lanes = g.system ? g.vcpus + 2 : 4; /* user mode: the CLI creates 4 lanes */
    if (!g.system) {
        size_t n;
        host_maps = read_maps("\n", &n);
        dl_iterate_phdr(hook_kill_in, NULL);
        pthread_atfork(NULL, after_fork_in_parent, after_fork_in_child);
        qemu_plugin_register_vcpu_syscall_cb(id, syscall_entry);
    }
    if (g.system) {
        for (unsigned i = 0; i < g.vcpus; i++) {
            void *ring = NULL;
            if (posix_memalign(&ring, 64, SLOTS * sizeof(struct slot)) != 0) { say("out of memory for the access buffers"); return -1; }
            memset(ring, 0, SLOTS * sizeof(struct slot));
            vcpus[i].ring = ring;
            vcpus[i].fill = &vcpus[i].ring[0];
            vcpus[i].w = vcpus[i].fill->w;
        }
        if (g.record) {
            if (!pc_table_init()) { say("out of memory for the PC table"); return -1; }
            if (pthread_create(&g.encoder, NULL, encoder_main, NULL) != 0) { say("cannot start the encoder thread"); return -1; }
            g.enc_running = 1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
