#pragma once
#include <stddef.h>
#include <stdint.h>

/* The peers PMTrace's benchmarks measure against, in C because libpmemobj's
 * transactions are C macros. Each returns 0 on success, -1 with a message
 * readable by pmt_peer_error() otherwise. Not thread-safe unless stated. */

const char *pmt_peer_error(void);

/* --- the limit: a plain non-temporal copy loop (no library) --- */
/* Copies len bytes with 16-byte non-temporal stores; the unaligned head and
 * the tail shorter than 16 bytes use ordinary stores and a clflush of their
 * line. No fence: call pmt_sfence(). */
void pmt_nt_copy(void *dst, const void *src, size_t len);
void pmt_sfence(void);

/* --- libpmemobj: a transactional append into a linked list of records --- */
typedef struct pmt_obj pmt_obj;
pmt_obj *pmt_obj_create(const char *path, size_t pool_size, int lists);
/* One transaction: allocate the record, copy the payload, link it at the
 * tail of list `list`, bump the list's count and bytes. Thread-safe across
 * different lists. */
int pmt_obj_append(pmt_obj *o, int list, const void *buf, size_t len);
uint64_t pmt_obj_count(pmt_obj *o, int list);
void pmt_obj_close(pmt_obj *o);

/* --- libpmemlog: pmemlog_append (thread-safe) --- */
typedef struct pmt_log pmt_log;
pmt_log *pmt_log_create(const char *path, size_t pool_size);
int pmt_log_append(pmt_log *l, const void *buf, size_t len);
size_t pmt_log_used(pmt_log *l);
void pmt_log_close(pmt_log *l);

/* A lock-prefixed add (what a retain or release does), for the read profile. */
long pmt_bench_atomic_add(long *p);
