/* pmtrace.h — the C interface of PMTrace for hosted writers (a VMM, a QEMU
 * plugin, a tracer): open a region, create or open a volume, append records
 * to a lane, commit. Link with libPMTraceC.so (`swift build` builds it).
 *
 * Errors: functions return 0 on success and a negative value on failure;
 * pmt_last_error() then describes it (thread-local, valid until the next
 * call on the same thread).
 *
 * Threads: one thread per lane handle; different lanes may append in
 * parallel without locks. Durability: a record is durable once pmt_commit on
 * its lane returns (or an automatic commit at a segment boundary / every
 * commit_interval bytes happened). The on-media format is in FORMAT.md. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmt_pool pmt_pool;
typedef struct pmt_lane pmt_lane;

enum {
    PMT_KIND_BLOB = 1,
    PMT_KIND_MEMORY_ACCESS_BATCH = 2,
    PMT_KIND_PML_BATCH = 3,
    PMT_KIND_PAGE_IMAGE = 4,
    PMT_KIND_MARKER = 5,
};

/* Opens a formatted region (writable takes the exclusive writer lock).
 * commit_interval: bytes after which lanes commit by themselves (0 = only at
 * pmt_commit and segment boundaries). */
int pmt_open(const char *path, int writable, uint64_t commit_interval, pmt_pool **out);
void pmt_close(pmt_pool *pool);

/* Creates a volume with `lanes` lanes (ring != 0: reclaim its oldest segments when full).
 * Returns 1 if it already existed (nothing changed), 0 if created. */
int pmt_volume_create(pmt_pool *pool, const char *name, uint32_t lanes, int ring);

/* The writer of one lane of a volume; at most one per lane. */
int pmt_lane_open(pmt_pool *pool, const char *volume, uint32_t lane, pmt_lane **out);
/* Commits and releases the lane. */
void pmt_lane_close(pmt_lane *lane);

/* Appends one record (no fence). timestamp 0 = now (CLOCK_REALTIME, ns). */
int pmt_append(pmt_lane *lane, uint16_t kind, const void *data, size_t length, uint64_t timestamp);
/* Makes every record appended to this lane durable: one fence, one 8-byte store, one flush. */
void pmt_commit(pmt_lane *lane);

const char *pmt_last_error(void);

#ifdef __cplusplus
}
#endif
