/* pmtrace.h — the C interface of PMTrace, one header for every writer: a
 * bare-metal VMM linking the static archive (scripts/build-vmm.sh), a QEMU
 * plugin, a hosted tool linking libPMTraceC.so. The region comes in as a
 * pmt_region descriptor (pmtrace_region.h); hosted programs may let
 * pmt_open() map a file through libpmem2 instead.
 *
 * Errors: functions return PMT_OK (0) or a negative PMT_E_* code;
 * pmt_strerror(code) names the code and pmt_last_error() describes the last
 * failure on this thread (valid until the next call on the same thread).
 *
 * Threads: one thread per lane handle; different lanes append in parallel
 * without locks; store-level calls may come from any thread. Processes: a
 * store and its lanes belong to the process that opened them; a fork()ed
 * child (which shares a hosted mapping) must not append, commit or change
 * volumes through them — two processes writing one lane break its chain —
 * and should only exit or exec (the QEMU plugin stops recording in a child:
 * README, "Recording a real VM and real programs"). A fork()ed child never
 * holds a hosted region's writer lock: when fork() returns in the parent the
 * child has closed its copy, so the region is free again once the parent
 * closes it, however long the child lives. A child started with
 * posix_spawn, popen or system() runs no fork handlers: it holds a copy
 * until its exec (close-on-exec), and a writable pmt_open waits up to
 * 50 ms for such a holder before PMT_E_BUSY. Durability: a
 * record is durable once pmt_commit on its lane returns (or an automatic
 * commit at a segment end / every commit_interval bytes happened).
 * Lifetime: a lane handle keeps its store (and the region) alive; the
 * region's release hook runs once the store and every lane are closed.
 * The on-media format is in FORMAT.md. */
#ifndef PMTRACE_H
#define PMTRACE_H
#include "pmtrace_region.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmt_store pmt_store;
typedef struct pmt_lane pmt_lane;
/* Older name of pmt_store. */
typedef pmt_store pmt_pool;

/* Formats the region (destroys what it held). segment_size 0 = 1 MiB,
 * volume_slots 0 = 1024, max_lanes 0 = 64. Does not take ownership. */
int pmt_format(const pmt_region *region, uint64_t segment_size, uint32_t volume_slots, uint32_t max_lanes);

/* Mounts a formatted region (recovering after a crash). On success the store
 * owns the region and calls region->release once when it is done with it;
 * on failure it does not. options may be NULL. */
int pmt_attach(const pmt_region *region, int writable, const pmt_options *options, pmt_store **out);
/* Releases the caller's reference; lanes still open keep the store alive. */
void pmt_detach(pmt_store *store);

/* Hosted builds only (libPMTraceC.so): maps a pool file or device through
 * libpmem2 and attaches it. Writable opens take the file's writer lock.
 * `path` is a file name only: the CLI's `<path>@<offset>` form (a region
 * inside a file) is not parsed here ("no such file"); map such a region
 * yourself and pass it to pmt_attach. */
int pmt_open(const char *path, int writable, uint64_t commit_interval, pmt_store **out);
/* Hosted builds only: opens read-only like pmt_open(path, 0, 0, out), and a
 * pool file shorter than the region its superblock records (an interrupted
 * copy) as well, where pmt_open refuses it: the missing bytes read as zeros,
 * so readers return every record before the cut and then PMT_E_DAMAGED naming
 * what lay past it. Sets *file_bytes (the bytes the file holds from the
 * region's start) and *region_bytes; they are equal for a whole region. */
int pmt_open_truncated(const char *path, pmt_store **out, uint64_t *file_bytes, uint64_t *region_bytes);
/* Same as pmt_detach. */
void pmt_close(pmt_store *store);

/* Creates a volume with `lanes` lanes (ring != 0: reclaim its oldest
 * segments when the region is full). PMT_EXISTED if it already existed
 * (nothing changed), PMT_OK if created. Atomic and durable on return. */
int pmt_volume_create(pmt_store *store, const char *name, uint32_t lanes, int ring);

/* The writer of one lane of a volume; at most one per lane. */
int pmt_lane_open(pmt_store *store, const char *volume, uint32_t lane, pmt_lane **out);
/* Writes the pending access batch, commits and releases the lane. */
void pmt_lane_close(pmt_lane *lane);

/* Appends one record (no fence, no allocation). kind: 1..10, 12 or
 * PMT_KIND_FIRST_USER and above. timestamp 0 = the store's clock. Writes
 * the lane's pending access batch first (pmt_append_accesses); if that
 * fails, returns its error and appends nothing. */
int pmt_append(pmt_lane *lane, uint16_t kind, const void *data, size_t length, uint64_t timestamp);
/* Appends `count` records of `record_length` bytes each, taken back to back
 * from `records`, all of `kind` and with one timestamp (0 = one reading of
 * the store's clock): the same records and the same bytes on media as
 * `count` pmt_append calls with that timestamp, at a fraction of the cost
 * for small records (one call; the per-record checks run once per run of
 * records that fit the open record group). Not durable until a commit.
 * PMT_E_INVALID, nothing appended, for record_length 0, a NULL records with
 * count > 0, or record_length * count overflowing. On another error (e.g.
 * PMT_E_FULL) the records before the failing one were appended, the rest
 * not; *appended (if not NULL) says how many were, on success and failure.
 * Writes the lane's pending access batch first, as pmt_append does. */
int pmt_append_batch(pmt_lane *lane, uint16_t kind, const void *records, size_t record_length, size_t count,
                     uint64_t timestamp, size_t *appended);
/* Appends memory accesses to the lane's pending memory-access-batch record
 * (kind PMT_KIND_MEMORY_ACCESS_STREAMS, FORMAT.md §8.12, in regions formatted
 * 1.3 or later; PMT_KIND_MEMORY_ACCESS_BATCH, §8.2, in older ones, so their
 * own readers read it), encoding them into a
 * fixed buffer of PMT_ACCESS_BATCH_BYTES the lane got when it was opened: no
 * allocation. The pending batch is written as one record when the buffer is
 * full, before the next pmt_append on the lane (records keep their order),
 * at pmt_commit and at pmt_lane_close; its timestamp is the store's clock at
 * that moment. Like pmt_append, nothing is durable until a commit; the
 * accesses still in the buffer do not count towards commit_interval.
 * PMT_E_INVALID, with nothing appended, if accesses is NULL with n > 0 or a
 * kind is above PMT_ACCESS_INSTRUCTION_FETCH. If writing a full batch fails
 * (PMT_E_FULL), the accesses not yet written as a record are dropped and
 * pmt_last_error() says how many. */
int pmt_append_accesses(pmt_lane *lane, const pmt_access *accesses, size_t n);
/* Appends guest memory accesses of a virtual machine to the lane's pending
 * guest-access-batch record (kind PMT_KIND_GUEST_ACCESS_BATCH, FORMAT.md
 * §8.9), encoded into a fixed buffer of PMT_GUEST_BATCH_BYTES the lane got
 * when it was opened: no allocation. fields (PMT_GUEST_VIRTUAL | PMT_GUEST_PC
 * or 0; PMT_GUEST_USER for a user-mode process, whose `physical` is a virtual
 * address, never with PMT_GUEST_VIRTUAL) says which optional addresses to store; a call whose fields differ
 * from the pending batch's writes that batch first. Each batch's header holds
 * the index of its first access among all accesses appended to the lane
 * through this handle. Otherwise as pmt_append_accesses: the batch is written
 * when full, before the next pmt_append, pmt_append_accesses, at pmt_commit
 * and at pmt_lane_close; PMT_E_INVALID with nothing appended for a NULL array
 * with n > 0, a kind above 3 or unknown fields bits. */
int pmt_append_guest_accesses(pmt_lane *lane, const pmt_guest_access *accesses, size_t n, uint32_t fields);
/* pmt_append_guest_accesses for accesses packed in 16 bytes (pmt_guest_entry),
 * the form a vCPU can hand to an encoder thread with two plain stores each;
 * pmtrace_region.h; the records are byte for byte those pmt_append_guest_accesses writes for
 * the same accesses. An access: word = physical address (bits 0-55) |
 * size shift << 56 (size = 1 << shift: 1 ... 128 bytes) | kind << 59 (bits
 * 61-62 ignored, write 0), pc = its PC. A translation entry (word =
 * PMT_GUEST_ENTRY_TRANSLATION) sets virtual - physical (pc, mod 2^64) for the
 * accesses after it on this lane handle, across calls, until the next one
 * (0 before the first). Every entry is valid by construction: nothing is
 * checked per entry, room in the batch buffer once per run of accesses.
 * PMT_E_INVALID with nothing appended for a NULL array with n > 0 or unknown
 * fields bits; otherwise as pmt_append_guest_accesses. */
int pmt_append_guest_entries(pmt_lane *lane, const pmt_guest_entry *entries, size_t n, uint32_t fields);

/* Makes every record appended to this lane durable: writes the pending
 * access batch, then one fence, one 8-byte store, one flush. Returns PMT_OK,
 * or the failure of writing the pending batch (those accesses are dropped;
 * everything appended before them is committed all the same), or PMT_E_IO
 * once the region's lost-store count (pmt_region.lost_stores) is nonzero:
 * then nothing is published, now or by any later commit of this lane, and
 * readers see the lane as of its last commit before the loss. */
int pmt_commit(pmt_lane *lane);

/* ---- Reading: open read-only (pmt_open(path, 0, 0, &s) or pmt_attach with
 * writable 0), list volumes, iterate records in place, decode access batches.
 * A reader is not thread-safe (one thread at a time); different readers may
 * run in parallel, also while writers append (they see what was committed
 * when opened). Every record handed out passed its checksum. */

/* pmt_record, pmt_access_columns, pmt_access_run and PMT_END are in pmtrace_region.h. */
typedef struct pmt_reader pmt_reader;

/* The number of live volumes (catalog volumes, named ".…", included).
 * PMT_E_DAMAGED (with *count set to the volumes that can be read) for a
 * pool file opened by pmt_open_truncated that ends inside the volume table. */
int pmt_volume_count(pmt_store *store, uint32_t *count);
/* The name of volume `index` (0 .. count-1, slot order) copied with a NUL
 * into buffer[capacity]; *length = its length without the NUL.
 * PMT_E_INVALID if it does not fit (then *length says how much is needed);
 * *lanes (may be NULL) = its lane count. */
int pmt_volume_name(pmt_store *store, uint32_t index, char *buffer, size_t capacity, size_t *length, uint32_t *lanes);

/* Opens a reader over every lane of `volume`, merged by timestamp. */
int pmt_reader_open(pmt_store *store, const char *volume, pmt_reader **out);
/* Positions every lane at its first record with timestamp >= `timestamp`
 * (binary search over segment headers). */
int pmt_reader_seek(pmt_reader *reader, uint64_t timestamp);
/* The next committed record: PMT_OK, PMT_END at the committed tail, or an
 * error (damage: PMT_E_DAMAGED). */
int pmt_reader_next(pmt_reader *reader, pmt_record *out);
/* Accesses in a record: its count for kinds 2 and 9 (validated against the
 * payload length: at most length / 2), 0 for other kinds. */
int pmt_access_count(const pmt_record *record, uint64_t *count);
/* Decodes a kind-2 or kind-9 record into columns[0 .. *n). capacity must be
 * >= pmt_access_count (PMT_E_INVALID otherwise, nothing written). The lane
 * and timestamp columns get the record's. PMT_E_DAMAGED for a malformed batch. */
int pmt_decode_accesses(const pmt_record *record, const pmt_access_columns *columns, size_t capacity, size_t *n);
/* Bulk: reads records and decodes whole access batches into columns until
 * the next batch would not fit; *n = accesses written (0 with PMT_END at the
 * tail). Other records are skipped. capacity below one batch's count gives
 * PMT_E_INVALID with *n = the count needed. Damage or a malformed batch met
 * after some accesses were written ends the call with PMT_OK and those; the
 * next call returns the error, with *n = 0: an error never comes with
 * accesses to keep. */
int pmt_reader_read_accesses(pmt_reader *reader, const pmt_access_columns *columns, size_t capacity, size_t *n);
/* Bulk, run-length form of pmt_reader_read_accesses for consumers that need
 * lane and timestamp per batch rather than per access (columns->lane and
 * columns->timestamp may then be NULL; given, they are filled as well):
 * decodes whole access batches into columns and writes one pmt_access_run
 * per batch into runs[0 .. *n_runs), in reading order, the counts summing
 * to *n. Stops before the batch that would not fit in `capacity` accesses
 * or `run_capacity` runs; other records are skipped. PMT_END with *n = 0 at
 * the tail. capacity below one batch's count (or run_capacity 0) gives
 * PMT_E_INVALID with *n = the count needed and nothing consumed. Cost: the
 * decode alone, no per-access lane or timestamp store. */
int pmt_reader_read_access_runs(pmt_reader *reader, const pmt_access_columns *columns, size_t capacity,
                                pmt_access_run *runs, size_t run_capacity, size_t *n, size_t *n_runs);
/* Releases the reader (the store stays attached). The handle is then freed:
 * passing it to any call again is undefined behaviour, as for free(). */
void pmt_reader_close(pmt_reader *reader);

/* The name of a result code ("PMT_E_FULL: region full"). Static storage. */
const char *pmt_strerror(int code);
/* Details of the last failure on this thread, or "" if none (at most 1024
 * bytes of text, then "…": a message quoting a huge argument is cut). */
const char *pmt_last_error(void);

/* The software version as PMT_VERSION_MAJOR*10000 + MINOR*100 + PATCH of
 * the library actually linked (compare with the header's macros). */
uint32_t pmt_version(void);

#ifdef __cplusplus
}
#endif
#endif
