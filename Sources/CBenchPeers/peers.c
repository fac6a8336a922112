#include "pmt_peers.h"
#include <errno.h>
#include <libpmemlog.h>
#include <libpmemobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

static __thread char error_text[256];

const char *pmt_peer_error(void) { return error_text; }

static void set_error(const char *what, const char *detail) {
    snprintf(error_text, sizeof error_text, "%s: %s", what, detail ? detail : strerror(errno));
}

/* ---------------- the limit ---------------- */

void pmt_nt_copy(void *dst, const void *src, size_t len) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    /* Head: ordinary stores up to 16-byte alignment, then flush that line. */
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > len) head = len;
    if (head) {
        memcpy(d, s, head);
        _mm_clflush(d);
        d += head; s += head; len -= head;
    }
    while (len >= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), c);
        _mm_stream_si128((__m128i *)(d + 48), e);
        d += 64; s += 64; len -= 64;
    }
    while (len >= 16) {
        _mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
        d += 16; s += 16; len -= 16;
    }
    if (len) {
        memcpy(d, s, len);
        _mm_clflush(d);
    }
}

void pmt_sfence(void) { _mm_sfence(); }

/* ---------------- libpmemobj ---------------- */

#define MAX_LISTS 8

struct record {
    PMEMoid next;
    uint64_t len;
    unsigned char data[];
};

struct list {
    PMEMoid head;
    PMEMoid tail;
    uint64_t count;
    uint64_t bytes;
};

struct root {
    struct list lists[MAX_LISTS];
};

struct pmt_obj {
    PMEMobjpool *pop;
    struct root *root;
};

pmt_obj *pmt_obj_create(const char *path, size_t pool_size, int lists) {
    if (lists < 1 || lists > MAX_LISTS) { set_error("pmt_obj_create", "1...8 lists"); return NULL; }
    PMEMobjpool *pop = pmemobj_create(path, "pmtrace-peer", pool_size, 0644);
    if (!pop) { set_error("pmemobj_create", pmemobj_errormsg()); return NULL; }
    PMEMoid r = pmemobj_root(pop, sizeof(struct root));
    if (OID_IS_NULL(r)) { set_error("pmemobj_root", pmemobj_errormsg()); pmemobj_close(pop); return NULL; }
    pmt_obj *o = calloc(1, sizeof *o);
    o->pop = pop;
    o->root = pmemobj_direct(r);
    return o;
}

int pmt_obj_append(pmt_obj *o, int list, const void *buf, size_t len) {
    struct list *l = &o->root->lists[list];
    int failed = 0;
    TX_BEGIN(o->pop) {
        PMEMoid rec = pmemobj_tx_alloc(sizeof(struct record) + len, 1);
        struct record *r = pmemobj_direct(rec);
        r->next = OID_NULL;
        r->len = len;
        memcpy(r->data, buf, len);  /* fresh allocation: no undo log needed */
        pmemobj_tx_add_range_direct(l, sizeof *l);
        if (OID_IS_NULL(l->tail)) {
            l->head = rec;
        } else {
            struct record *t = pmemobj_direct(l->tail);
            pmemobj_tx_add_range_direct(&t->next, sizeof t->next);
            t->next = rec;
        }
        l->tail = rec;
        l->count += 1;
        l->bytes += len;
    } TX_ONABORT {
        failed = 1;
        set_error("pmemobj transaction", pmemobj_errormsg());
    } TX_END
    return failed ? -1 : 0;
}

uint64_t pmt_obj_count(pmt_obj *o, int list) { return o->root->lists[list].count; }

void pmt_obj_close(pmt_obj *o) {
    pmemobj_close(o->pop);
    free(o);
}

/* ---------------- libpmemlog ---------------- */

struct pmt_log { PMEMlogpool *plp; };

pmt_log *pmt_log_create(const char *path, size_t pool_size) {
    PMEMlogpool *plp = pmemlog_create(path, pool_size, 0644);
    if (!plp) { set_error("pmemlog_create", pmemlog_errormsg()); return NULL; }
    pmt_log *l = calloc(1, sizeof *l);
    l->plp = plp;
    return l;
}

int pmt_log_append(pmt_log *l, const void *buf, size_t len) {
    if (pmemlog_append(l->plp, buf, len) != 0) { set_error("pmemlog_append", pmemlog_errormsg()); return -1; }
    return 0;
}

size_t pmt_log_used(pmt_log *l) { return (size_t)pmemlog_tell(l->plp); }

void pmt_log_close(pmt_log *l) {
    pmemlog_close(l->plp);
    free(l);
}

long pmt_bench_atomic_add(long *p) { return __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST); }
