/*
 * wctl.c — a worker's control block (pool/wctl.h).
 */
#include <string.h>

#include "platform.h"
#include "wire/msg.h"
#include "pool/wctl.h"

_Static_assert(PP__MAX_CHUNK <= PP__WCTL_MAX_ITEMS, "the column holds a chunk's values");
_Static_assert(PP__WCTL_COLUMN < PP__WCTL_AREA, "room for general outcomes");
_Static_assert(sizeof(pp__wctl) <= PP__WCTL_AREA_AT, "the header fits before the area");

#define GATE_REVOKED 1u

#define DONE_ITEMS(d) ((unsigned)((d)&0xffffu))
#define DONE_KEPT(d)  ((unsigned)(((d) >> 16) & 0xffffu))
#define DONE_BYTES(d) ((size_t)(((d) >> 32) & 0x7fffffffu))

void pp__wctl_init(pp__wctl *c)
{
    c->magic = PP__WCTL_MAGIC;
    c->area_size = (uint32_t)PP__WCTL_AREA;
    c->inbox_size = (uint32_t)PP__WCTL_INBOX;
    c->col_at = PP__WCTL_AREA_AT;
    pp__plat_atomic_store64(&c->done, 0);
    pp__plat_atomic_store64(&c->started, 0);
    pp__plat_atomic_store64(&c->gate, 0); /* "started chunk 0": ids start at 1 */
}

pp_status pp__wctl_check(const pp__wctl *c, size_t size)
{
    if (size < PP__WCTL_SIZE || c->magic != PP__WCTL_MAGIC || c->area_size != PP__WCTL_AREA ||
        c->inbox_size != PP__WCTL_INBOX)
        return PP_EPROTO;
    return PP_OK;
}

int pp__wctl_claim(pp__wctl *c, pp__wctl_cursor *k, uint64_t id)
{
    uint64_t g;

    /* The previous chunk's progress is over (its RESULT was sent). */
    k->kept = 0;
    k->bytes = 0;
    c->done = 0;
    c->col_type = 0;
    c->col_items = 0;
    c->col_at = PP__WCTL_AREA_AT;
    for (;;) {
        g = pp__plat_atomic_load64(&c->gate);
        if ((g & GATE_REVOKED) && id <= (g >> 1))
            return 0;
        if (pp__plat_atomic_cas64(&c->gate, g, id << 1)) {
            pp__plat_atomic_store64(&c->started, id);
            return 1;
        }
    }
}

void pp__wctl_item_done(pp__wctl *c, pp__wctl_cursor *k, unsigned i, const uint8_t *outcome,
                        size_t n)
{
    if (k->kept == i && n <= PP__WCTL_AREA - PP__WCTL_COLUMN - k->bytes) {
        memcpy(pp__wctl_area(c) + PP__WCTL_COLUMN + k->bytes, outcome, n);
        k->kept++;
        k->bytes += n;
    }
    /* Through the platform (an opaque call): the copy above is complete
     * before the word that says it is there, whatever the compiler does. */
    pp__plat_atomic_store64(&c->done, PP__WCTL_DONE(i + 1, k->kept, k->bytes));
}

void pp__wctl_item_done2(pp__wctl *c, pp__wctl_cursor *k, unsigned i, const uint8_t *p1, size_t n1,
                         const uint8_t *p2, size_t n2)
{
    uint8_t *d = pp__wctl_area(c) + PP__WCTL_COLUMN + k->bytes;

    /* n1 + n2: a frame's bytes at most, no overflow */
    if (k->kept == i && n1 + n2 <= PP__WCTL_AREA - PP__WCTL_COLUMN - k->bytes) {
        memcpy(d, p1, n1);
        memcpy(d + n1, p2, n2);
        k->kept++;
        k->bytes += n1 + n2;
    }
    pp__plat_atomic_store64(&c->done, PP__WCTL_DONE(i + 1, k->kept, k->bytes));
}

void pp__wctl_item_start_timed(pp__wctl *c, const pp__wctl_cursor *k, unsigned i, int64_t now_ms)
{
    c->item_ms = (uint64_t)now_ms;
    /* release: a parent that sees the running bit sees this item's time */
    pp__plat_atomic_store64(&c->done, PP__WCTL_DONE(i, k->kept, k->bytes) | PP__WCTL_RUNNING);
}

int pp__wctl_running(pp__wctl *c, uint64_t id, unsigned *item, int64_t *since_ms)
{
    uint64_t d, ms;

    if (pp__plat_atomic_load64(&c->started) != id)
        return 0;
    d = pp__plat_atomic_load64(&c->done);
    ms = c->item_ms;
    /* still the same chunk? (else what we read may be another's) */
    if (pp__plat_atomic_load64(&c->started) != id || !(d & PP__WCTL_RUNNING))
        return 0;
    *item = DONE_ITEMS(d);
    *since_ms = (int64_t)ms;
    return 1;
}

int pp__wctl_revoke(pp__wctl *c, uint64_t through, uint64_t *bound)
{
    uint64_t g, b;

    for (;;) {
        g = pp__plat_atomic_load64(&c->gate);
        b = g >> 1;
        if (b >= through)
            return 0;
        if (pp__plat_atomic_cas64(&c->gate, g, (through << 1) | GATE_REVOKED)) {
            *bound = b;
            return 1;
        }
    }
}

void pp__wctl_read(pp__wctl *c, pp__wctl_progress *out)
{
    uint64_t g = pp__plat_atomic_load64(&c->gate);
    uint64_t d = c->done; /* the worker is dead: nothing writes it now */

    out->bound = g >> 1;
    out->started = pp__plat_atomic_load64(&c->started);
    out->done = DONE_ITEMS(d);
    out->kept = DONE_KEPT(d);
    out->bytes = DONE_BYTES(d);
    out->running = (d & PP__WCTL_RUNNING) != 0;
    out->col_type = c->col_type;
    out->col_items = out->col_type != 0 ? c->col_items : 0;
    out->col_at = c->col_at;
    /* the area's size is the constant, not the header's copy: the worker
     * can write that too */
    if (out->bytes > PP__WCTL_AREA - PP__WCTL_COLUMN || out->kept > out->done) {
        /* a dying worker cannot half-write one word, but a buggy one can
         * write nonsense: trust nothing of it */
        out->kept = 0;
        out->col_items = 0;
        out->bytes = 0;
    } else if (out->col_items > out->kept) {
        /* it died inside pp__wctl_item_done_column(), between its stores
         * of col_items and done: the values of the items done says are
         * kept were all written before, the last one is not confirmed
         * (that item counts as running) */
        out->col_items = out->kept;
    }
}
