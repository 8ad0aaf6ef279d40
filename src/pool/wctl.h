/*
 * wctl.h — a worker's control block: a small shared memory block between
 * the parent and one worker process (one per worker incarnation), through
 * which the parent learns what the worker was doing when it died, and
 * takes back work it sent ahead, without a message per task.
 *
 *  gate  (id << 1): the worker has started chunk id (chunk ids grow with
 *        every send, so chunks sent to this worker after id have larger
 *        ones); (bound << 1) | 1: chunks with id <= bound that are not
 *        started yet must not be started (the parent took them back). The
 *        worker claims a chunk and the parent takes chunks back with a
 *        compare-and-swap on this one word: a chunk is started or taken
 *        back, never both.
 *  done  progress of the last started chunk: bits 0-15 items finished,
 *        16-31 items whose outcome is kept in area, 32-62 bytes of area
 *        used, 63 set while item "finished" is running. The parent reads
 *        it (and the area) only once the worker is dead, so the worker
 *        writes it with plain stores, one per item start and end: a dead
 *        process cannot half-write an aligned word (on the 64-bit targets
 *        we build for), and nothing else races with it.
 *  area  the outcomes of the first "kept" items of that chunk, so a
 *        worker's death does not lose them: the first col_items as a
 *        column of 8-byte little-endian values of type col_type (the
 *        worker's scalar column, wire/msg.h, kept there in place: no
 *        copy), the others in RESULT form from PP__WCTL_COLUMN bytes on.
 *        That column lies at col_at bytes from the block's start: the
 *        area's start (PP__WCTL_AREA_AT), or for a chunk of int or double
 *        arguments that came through the inbox, its arguments' column
 *        there (below). Items past the area's end are not kept (their
 *        outcomes still reach the parent in the RESULT frame if the
 *        worker lives).
 *  inbox the arguments of chunks sent to this worker (PP__FLAG_INBOX,
 *        wire/msg.h): the parent copies a chunk's TASK payload into a free
 *        region and sends only its place; regions are used in send order
 *        as a ring and freed when the chunk's last RESULT arrives, or it
 *        is taken back (never claimed: the worker never reads it), or the
 *        worker dies (its block goes with it). The worker reads its region
 *        in place. It writes there only the results of a chunk of int or
 *        double arguments (a scalar column, 8-byte aligned: the parent
 *        ends every region at a multiple of 8), item i's over item i's
 *        argument once that is read, and if all of them are one int or
 *        double each, its RESULT frame only says so (PP__FLAG_INBOX): the
 *        parent reads them there before it frees the region. A chunk that
 *        does not fit goes through the channel as before.
 */
#ifndef PROCPOOL_POOL_WCTL_H
#define PROCPOOL_POOL_WCTL_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"

#define PP__WCTL_MAGIC 0x4c435750u /* "PWCL" */
#define PP__WCTL_AREA  ((size_t)2 * 1024 * 1024)

typedef struct pp__wctl {
    uint32_t magic;
    uint32_t area_size;
    uint32_t inbox_size;
    uint32_t pad_;
    volatile uint64_t gate;
    volatile uint64_t done;
    volatile uint32_t col_type;  /* pp_type of the column values, 0 if none */
    volatile uint32_t col_items; /* kept items that are column values */
    volatile uint64_t started;   /* id of the chunk the worker claimed last (the gate
                                    loses it when the parent takes chunks back) */
    volatile uint64_t item_ms;   /* timed chunks (PP__FLAG_TIMED): when the running
                                    item started (pp__plat_now_ms, a clock all processes
                                    share); written before done, with release order */
    volatile uint64_t col_at;    /* where the column of kept values lies: bytes from the
                                    block's start (PP__WCTL_AREA_AT: the area's start) */
    /* the area follows at PP__WCTL_AREA_AT bytes from the start */
} pp__wctl;

/* Bytes of the column at the area's start: one value per item of a chunk. */
#define PP__WCTL_COLUMN    ((size_t)PP__WCTL_MAX_ITEMS * 8)
#define PP__WCTL_MAX_ITEMS 65536u

#define PP__WCTL_AREA_AT  ((size_t)64)
#define PP__WCTL_INBOX    ((size_t)8 * 1024 * 1024)
#define PP__WCTL_INBOX_AT (PP__WCTL_AREA_AT + PP__WCTL_AREA)
#define PP__WCTL_SIZE     (PP__WCTL_INBOX_AT + PP__WCTL_INBOX)

/* The outcome area of c (area_size bytes). */
static inline uint8_t *pp__wctl_area(const pp__wctl *c)
{
    return (uint8_t *)c + PP__WCTL_AREA_AT;
}

/* The inbox (PP__WCTL_INBOX bytes). */
static inline uint8_t *pp__wctl_inbox(const pp__wctl *c)
{
    return (uint8_t *)c + PP__WCTL_INBOX_AT;
}

/* The worker's own copy of what it has kept of the claimed chunk (reset
 * by pp__wctl_claim), so the per-item calls never read shared memory. */
typedef struct pp__wctl_cursor {
    unsigned kept;
    size_t bytes;
} pp__wctl_cursor;

/* What the parent reads of a dead worker's last chunk. */
typedef struct pp__wctl_progress {
    uint64_t bound;     /* chunks with a larger id were never started */
    uint64_t started;   /* the chunk the worker claimed last (0: none) */
    unsigned done;      /* items of the last started chunk that finished */
    unsigned kept;      /* ... of which the first kept have outcomes in area */
    unsigned col_items; /* ... the first col_items as column values */
    unsigned col_type;  /* their pp_type */
    uint64_t col_at;    /* where they lie (the worker's word: check it) */
    size_t bytes;       /* bytes of the other outcomes, from PP__WCTL_COLUMN */
    int running;        /* item done was running */
} pp__wctl_progress;

/* Parent: lay out a fresh block of PP__WCTL_SIZE bytes. */
void pp__wctl_init(pp__wctl *c);
/* Worker: a block the parent made (PP_EPROTO if size or magic is wrong). */
pp_status pp__wctl_check(const pp__wctl *c, size_t size);

/* Worker: claim chunk id before running it. 1: run it; 0: the parent took
 * it back (skip it, send nothing). */
int pp__wctl_claim(pp__wctl *c, pp__wctl_cursor *k, uint64_t id);
/* The column at the area's start (PP__WCTL_MAX_ITEMS values). */
static inline uint64_t *pp__wctl_column(const pp__wctl *c)
{
    return (uint64_t *)(void *)pp__wctl_area(c);
}

/* Worker, once a chunk is claimed: its kept column lies at col (the
 * area's column, or the chunk's argument column in the inbox, 8-byte
 * aligned); returns col. */
static inline volatile uint64_t *pp__wctl_keep_column_at(pp__wctl *c, volatile uint64_t *col)
{
    c->col_at = (uint64_t)((const volatile uint8_t *)col - (const uint8_t *)c);
    return col;
}

#define PP__WCTL_DONE(i, k, b) ((uint64_t)(i) | ((uint64_t)(k) << 16) | ((uint64_t)(b) << 32))
#define PP__WCTL_RUNNING       ((uint64_t)1 << 63)

/* Worker: item i of the claimed chunk starts. */
static inline void pp__wctl_item_start(pp__wctl *c, const pp__wctl_cursor *k, unsigned i)
{
    c->done = PP__WCTL_DONE(i, k->kept, k->bytes) | PP__WCTL_RUNNING;
}

/* Worker, in a timed chunk: item i starts now (now_ms); the parent may
 * read this while the worker runs (pp__wctl_running). */
void pp__wctl_item_start_timed(pp__wctl *c, const pp__wctl_cursor *k, unsigned i, int64_t now_ms);

/* Worker: item i finished with one value of type, already in the column
 * (pp__wctl_column(c)[i]); items 0..i-1 must all be column values too.
 * A death between the stores leaves col_items one above done's kept
 * count: the parent then keeps the first kept values only
 * (pp__wctl_read). */
static inline void pp__wctl_item_done_column(pp__wctl *c, pp__wctl_cursor *k, unsigned i,
                                             unsigned type)
{
    c->col_type = type;
    c->col_items = i + 1;
    k->kept = i + 1;
    c->done = PP__WCTL_DONE(i + 1, k->kept, 0);
}

/* Worker: item i finished with these outcome bytes (kept if they fit and
 * every earlier outcome was kept). */
void pp__wctl_item_done(pp__wctl *c, pp__wctl_cursor *k, unsigned i, const uint8_t *outcome,
                        size_t n);
/* The same with the outcome in two pieces (a head of n1 bytes, then n2). */
void pp__wctl_item_done2(pp__wctl *c, pp__wctl_cursor *k, unsigned i, const uint8_t *p1, size_t n1,
                         const uint8_t *p2, size_t n2);

/* Parent: take back every chunk with an id in (bound, through] that the
 * worker has not started. Returns 1 with *bound set (chunks with ids up
 * to it are started or were taken back before), or 0 if nothing can be
 * taken (the worker has started through already). */
int pp__wctl_revoke(pp__wctl *c, uint64_t through, uint64_t *bound);
/* Parent, while the worker runs: if it is running item *item of chunk id
 * (a timed chunk), return 1 with the item and when it started; else 0. */
int pp__wctl_running(pp__wctl *c, uint64_t id, unsigned *item, int64_t *since_ms);
/* Parent: the progress of a worker that has died. */
void pp__wctl_read(pp__wctl *c, pp__wctl_progress *out);

#endif /* PROCPOOL_POOL_WCTL_H */
