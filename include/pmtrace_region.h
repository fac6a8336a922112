/* pmtrace_region.h — the one way into a PMTrace store: a region descriptor.
 *
 * Whoever maps the region (libpmem2 on a host, a bare-metal VMM over a
 * physical range, QEMU over a guest-RAM or NVDIMM file, a crash simulator in
 * tests) fills one `pmt_region` and hands it to the store. The store reaches
 * media through nothing else. It calls `release(context, base, size)` exactly
 * once, when the last store, writer, reader or record view made from the
 * region is gone; after that it never touches `base` again.
 *
 * Types only: no functions are declared here, so the header can be imported
 * by Swift (module CPMTrace) and by freestanding C alike. Entry points are in
 * pmtrace.h. The on-media format is in FORMAT.md. */
#ifndef PMTRACE_REGION_H
#define PMTRACE_REGION_H
#include <stddef.h>
#include <stdint.h>

#if defined(__has_attribute)
#  if __has_attribute(swift_name)
#    define PMT_SWIFT_NAME(n) __attribute__((swift_name(#n)))
#  endif
#  if __has_attribute(enum_extensibility)
#    define PMT_CLOSED_ENUM __attribute__((enum_extensibility(closed)))
#  endif
#endif
#ifndef PMT_SWIFT_NAME
#  define PMT_SWIFT_NAME(n)
#endif
#ifndef PMT_CLOSED_ENUM
#  define PMT_CLOSED_ENUM
#endif
#if !defined(__clang__) && !defined(_Nonnull)
#  define _Nonnull
#  define _Nullable
#endif

/* The software's version, and the on-media format version it writes (it
 * reads every minor version of PMT_FORMAT_VERSION_MAJOR). */
#define PMT_VERSION_MAJOR 0
#define PMT_VERSION_MINOR 5
#define PMT_VERSION_PATCH 0
#define PMT_FORMAT_VERSION_MAJOR 1
#define PMT_FORMAT_VERSION_MINOR 4

/* How stores to the region become durable. */
enum PMT_CLOSED_ENUM PMT_SWIFT_NAME(StoreGranularity) pmt_granularity {
    /* eADR-class platform: a store is durable once visible; fences still order. */
    PMT_GRANULARITY_BYTE PMT_SWIFT_NAME(byte) = 0,
    /* Stores need a cache-line flush (or a non-temporal store) and a fence. */
    PMT_GRANULARITY_CACHE_LINE PMT_SWIFT_NAME(cacheLine) = 1,
    /* Only msync-style page writeback makes data durable (non-DAX files). */
    PMT_GRANULARITY_PAGE PMT_SWIFT_NAME(page) = 2,
};
typedef enum pmt_granularity pmt_granularity;

/* Flush and drain [addr, addr+len): durable on return. */
typedef void (*pmt_persist_fn)(const void *_Nullable addr, size_t len);
/* Fence: everything flushed or stored non-temporally before is durable on return. */
typedef void (*pmt_drain_fn)(void);
/* Copy into the region without draining (libpmem2 pmem2_memcpy_fn semantics;
 * `flags` is `copy_flags` below on the append path, 0 elsewhere). */
typedef void *_Nullable (*pmt_copy_fn)(void *_Nullable dst, const void *_Nullable src, size_t len, unsigned flags);
/* Called exactly once when the store no longer needs the region (unmap it,
 * release the file, free the buffer). */
typedef void (*pmt_release_fn)(void *_Nullable context, void *_Nullable base, uint64_t size);

/* A mapped region and how to make stores to it durable. */
typedef struct PMT_SWIFT_NAME(RegionDescriptor) pmt_region {
    void *_Nullable base;         /* first byte of the region (page aligned) */
    uint64_t size;                /* bytes mapped at base */
    pmt_granularity granularity;
    uint32_t copy_flags;          /* flags for `copy` on the append path (e.g. NONTEMPORAL|NODRAIN) */
    pmt_persist_fn _Nonnull persist;
    pmt_drain_fn _Nonnull drain;
    pmt_copy_fn _Nonnull copy;
    pmt_release_fn _Nullable release; /* may be NULL: the caller keeps the region mapped forever */
    void *_Nullable context;      /* passed to release */
    /* May be NULL. A count the mapper raises when a store to the region may
     * have been lost: e.g. a SIGBUS handler that maps a zero page over a page
     * the file can no longer back (truncated, or a sparse file on a full file
     * system). Once it is nonzero the store publishes no further commit: a
     * commit word never covers bytes that did not reach the region
     * (pmt_commit then fails with PMT_E_IO; the last good commit stays). */
    const volatile uint64_t *_Nullable lost_stores;
} pmt_region;

/* A hint that the bytes at p will be read soon: fetched into the L2 cache,
 * no fault for any address, no effect on results. The library's batch
 * readers (inlined into their callers) fetch the next record group with it
 * while the caller handles the current one. */
static inline void pmt_prefetch(const void *_Nullable p) { __builtin_prefetch(p, 0, 1); }

/* Store settings that are not on media. Zero-initialize and set what you need. */
typedef struct pmt_options {
    /* A lane commits by itself after this many appended bytes (0: only at
     * pmt_commit and segment ends). */
    uint64_t commit_interval;
    /* Nanosecond timestamps for records and volumes (NULL: 0). */
    uint64_t (*_Nullable clock)(void);
    /* CRC32C (Castagnoli; crc is a previous result, 0 to start). NULL: the
     * portable table implementation. Must match it bit for bit. */
    uint32_t (*_Nullable crc32c)(uint32_t crc, const void *_Nullable data, size_t len);
    /* Optional fused checksum + non-temporal copy of a prefix of `len` bytes;
     * extends *crc over what it copied and returns how many bytes that was. */
    size_t (*_Nullable copy_with_checksum)(uint32_t *_Nullable crc, void *_Nullable dst, const void *_Nullable src, size_t len);
} pmt_options;

/* One memory access for pmt_append_accesses (pmtrace.h), encoded into a
 * memory-access-batch record (FORMAT.md §8.2). 16 bytes. */
typedef struct pmt_access {
    uint64_t address;      /* the accessed address (guest-physical, guest-virtual: the writer's choice) */
    uint32_t size;         /* bytes accessed */
    uint8_t kind;          /* one of the PMT_ACCESS_* values below */
    uint8_t reserved[3];   /* ignored; set to 0 */
} pmt_access;

/* Payload bytes of the per-lane buffer pmt_append_accesses encodes into
 * (about 1000-2000 typical accesses per record). */
#define PMT_ACCESS_BATCH_BYTES 4096

/* One guest memory access of a virtual machine for
 * pmt_append_guest_accesses (pmtrace.h), encoded into a guest-access-batch
 * record (FORMAT.md §8.9). 32 bytes. */
typedef struct pmt_guest_access {
    uint64_t physical;     /* guest-physical address */
    uint64_t virtual_address; /* guest virtual address (stored when PMT_GUEST_VIRTUAL is given) */
    uint64_t pc;           /* guest PC of the accessing instruction (stored when PMT_GUEST_PC is given) */
    uint32_t size;         /* bytes accessed */
    uint8_t kind;          /* one of the PMT_ACCESS_* values below */
    uint8_t reserved[3];   /* ignored; set to 0 */
} pmt_guest_access;

/* A guest access packed in 16 bytes for pmt_append_guest_entries (pmtrace.h):
 * word = physical address (bits 0-55) | size shift << 56 | kind << 59, or
 * PMT_GUEST_ENTRY_TRANSLATION (then pc holds virtual - physical of the
 * accesses after it). */
#define PMT_GUEST_ENTRY_TRANSLATION 0x8000000000000000ull /* 1 << 63 */
#define PMT_GUEST_ENTRY_ADDRESS_MASK 0x00FFFFFFFFFFFFFFull /* (1 << 56) - 1 */
#define PMT_GUEST_ENTRY_SIZE_SHIFT 56
#define PMT_GUEST_ENTRY_KIND_SHIFT 59
typedef struct pmt_guest_entry {
    uint64_t word; /* address | size shift << 56 | kind << 59, or PMT_GUEST_ENTRY_TRANSLATION */
    uint64_t pc;   /* the PC, or (translation entry) virtual - physical */
} pmt_guest_entry;

/* Which optional fields pmt_append_guest_accesses stores (FORMAT.md §8.9). */
enum {
    PMT_GUEST_VIRTUAL = 1,
    PMT_GUEST_PC = 2,
    /* A user-mode process: `physical` holds the virtual address (there is no
     * physical one); not together with PMT_GUEST_VIRTUAL. */
    PMT_GUEST_USER = 4,
};

/* Payload bytes of the per-lane buffer pmt_append_guest_accesses encodes
 * into (about 2500-4000 accesses per record). */
#define PMT_GUEST_BATCH_BYTES 16384

/* pmt_access.kind and pmt_guest_access.kind (the two kind bits of FORMAT.md §8.2). */
enum {
    PMT_ACCESS_LOAD = 0,
    PMT_ACCESS_STORE = 1,
    PMT_ACCESS_MODIFY = 2,
    PMT_ACCESS_INSTRUCTION_FETCH = 3,
};

/* Results of the entry points in pmtrace.h: 0 success, 1 "already existed", 2 "no more records",
 * negative values are failures (pmt_strerror names them; pmt_last_error()
 * describes the last one on this thread in detail). */
enum {
    PMT_OK = 0,
    PMT_EXISTED = 1,
    PMT_END = 2,              /* a reader is at the committed tail (pmtrace.h, reading) */
    PMT_E_INVALID = -1,       /* a bad argument (null pointer, bad name, lane out of range) */
    PMT_E_NOT_A_REGION = -2,  /* no PMTrace superblock, or the region is too small or truncated */
    PMT_E_DAMAGED = -3,       /* a structure on media failed its checks */
    PMT_E_VERSION = -4,       /* a format version this build cannot read or write */
    PMT_E_NOT_FOUND = -5,     /* no such volume */
    PMT_E_SEALED = -6,        /* the volume is sealed */
    PMT_E_BUSY = -7,          /* the lane or volume has a writer, or the region is locked */
    PMT_E_FULL = -8,          /* no free segment (or the volume table is full) */
    PMT_E_READ_ONLY = -9,     /* the store was attached read-only */
    PMT_E_KIND = -10,         /* a reserved record kind */
    PMT_E_IO = -11,           /* mapping or file error; a lost store (pmt_region.lost_stores) */
};

/* The reading API's types (pmtrace.h, "Reading"). */
/* One committed record. payload points into the mapping (or, for a record
 * split across segments, into a buffer of the reader); valid until the next
 * call on the same reader and while the store is attached. Read only. */
typedef struct pmt_record {
    uint16_t kind;          /* 1..10, or an application kind 0x8000 and above (FORMAT.md §7) */
    uint16_t reserved;
    uint32_t lane;
    uint64_t sequence;      /* the record's number in its lane */
    uint64_t timestamp;     /* ns since the Unix epoch (writer's clock) */
    const void *_Nullable payload;
    uint64_t length;        /* payload bytes */
} pmt_record;

/* Caller-owned columns for decoded accesses; a NULL column is skipped. Each
 * non-NULL column needs room for the capacity the call is given. virtual_address
 * and pc are 0 where the batch does not record them (kind 2; user-mode kind 9
 * has no virtual_address: its address is the virtual one). */
typedef struct pmt_access_columns {
    uint32_t *_Nullable lane;
    uint64_t *_Nullable timestamp;    /* the record's timestamp (the batch's seal time) */
    uint8_t *_Nullable kind;          /* 0 load, 1 store, 2 modify, 3 instruction fetch */
    uint32_t *_Nullable size;
    uint64_t *_Nullable address;      /* guest-physical (VM) or virtual (process) address */
    uint64_t *_Nullable virtual_address;
    uint64_t *_Nullable pc;
} pmt_access_columns;

/* One decoded batch in a pmt_reader_read_access_runs result: its accesses
 * share the record's lane and timestamp. */
typedef struct pmt_access_run {
    uint64_t timestamp;     /* the record's timestamp (the batch's seal time) */
    uint32_t lane;
    uint32_t count;         /* accesses of the batch, at the columns' next indices */
    uint32_t fields;        /* PMT_GUEST_VIRTUAL / PMT_GUEST_PC / PMT_GUEST_USER bits the batch
                               recorded (0 for kinds 2 and 12): virtual_address and pc are 0
                               where their bit is clear */
    uint32_t reserved;      /* 0 */
} pmt_access_run;

/* Record kinds (FORMAT.md §7). 0 is the end-of-segment marker and can never
 * be appended; 11 and 13..0x7FFF are reserved for future format versions;
 * 0x8000..0xFFFF are free for applications. */
enum {
    PMT_KIND_END_OF_SEGMENT = 0,
    PMT_KIND_BLOB = 1,
    PMT_KIND_MEMORY_ACCESS_BATCH = 2,
    PMT_KIND_PML_BATCH = 3,
    PMT_KIND_PAGE_IMAGE = 4,
    PMT_KIND_MARKER = 5,
    PMT_KIND_PROCESS_MAP = 6,
    PMT_KIND_SYMBOL_TABLE_INFO = 7,
    PMT_KIND_SYMBOL_CHUNK = 8,
    PMT_KIND_GUEST_ACCESS_BATCH = 9,
    PMT_KIND_CHECKPOINT = 10,
    /* since format 1.3: what pmt_append_accesses writes into 1.3 regions */
    PMT_KIND_MEMORY_ACCESS_STREAMS = 12,
    PMT_KIND_FIRST_RESERVED = 13,
    PMT_KIND_FIRST_USER = 0x8000,
};

#endif
