/*
 * queue.c — pp_queue (queue.h): a ring of encoded value tuples in a sync
 * segment (platform.h, pp__plat_sobj). The ring's layout, the states of
 * an item and the steps between them are in values/queue_ring.h.
 *
 * put: encode (no mutex); take the state mutex, free what consumers are
 *      done with, then either (a small item, or one of more than a
 *      quarter of the ring) copy it in and COMMIT it in one critical
 *      section, or RESERVE room, release the mutex, copy the item in
 *      without it and take the mutex again to COMMIT. The mutex is held
 *      for a handful of stores (and at most a 512-byte copy).
 * get: take the mutex and find the oldest committed item; a small one is
 *      copied out and removed right there; a larger one is CLAIMED, the
 *      mutex released, the item decoded right from the ring (a copy
 *      first only if it wraps around the ring's end) and marked DONE with
 *      one CAS, without the mutex.
 * Wakes: a getter about to nap marks wait_items, a putter wait_room; the
 * commit / the get that frees room takes the mark down and only then
 * touches the wake word (and the kernel, if someone sleeps).
 * A process killed with the mutex leaves it to the next caller, whose
 * pp__sobj_enter() rolls its redo record forward; qr_check_ring() then
 * recounts. One killed between the steps leaves a RESERVED or CLAIMED
 * item with its (pid, stamp), which whoever it holds up turns DONE after
 * a liveness check (qr_unblock()).
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/log.h"
#include "procpool/queue.h"
#include "platform.h"
#include "core/core.h"
#include "sync/sobj.h"
#include "values/queue_internal.h"
#include "values/queue_ring.h"
#include "values/tuple.h"
#include "values/value_internal.h"

/* Taking the state mutex is short; a caller that must not wait still
 * allows a holder this long to finish (a stopped holder: PP_EBUSY). */
#define LOCK_GRACE_MS 2000
/* Attempts at the state mutex before waiting for it. */
#define LOCK_TRIES 64
/* Checks of the wake word before a waiter sleeps. */
#define SPIN 4000
/* A getter that walked past this many items (a RESERVED one holds rhead
 * back) looks for a dead producer, at most once per slice. */
#define LONG_WALK 64
/* Items of up to this many encoded bytes are copied in and out under the
 * state mutex (one critical section each way); larger ones are reserved
 * and claimed, and copied without it. */
#define SMALL_MAX 512
/* Encode buffers kept for reuse (taken with a CAS; more threads putting
 * at once each use a buffer of their own), and the largest one kept. */
#define ENC_SLOTS    4
#define ENC_KEEP_MAX ((size_t)1 << 20)

/* As every sync kind (sobj.h): the handle is the cached sobj handle. */
struct pp_queue {
    pp__sobj o;
};

static struct {
    volatile uint64_t busy;
    pp__buf b;
} g_enc[ENC_SLOTS];

void (*pp__queue_test_hook)(int point);

static void hook(int point)
{
    if (pp__queue_test_hook != NULL)
        pp__queue_test_hook(point);
}

static qstate *state_of(const pp_queue *q)
{
    return pp__sobj_state(&q->o);
}

/* The deadline of a call, computed when it is first needed: the fast
 * path (the mutex free, the queue not full / empty) reads no clock. */
typedef struct qclock {
    int64_t timeout_ms;
    int64_t deadline;
    int set;
} qclock;

static int64_t deadline_of(qclock *c)
{
    if (!c->set) {
        c->deadline = pp__sobj_deadline(c->timeout_ms);
        c->set = 1;
    }
    return c->deadline;
}

/* Deadline for taking the state mutex: at least the grace period. */
static int64_t lock_deadline(int64_t deadline)
{
    int64_t g = pp__plat_now_ms() + LOCK_GRACE_MS;

    return deadline == PP_INFINITE || deadline > g ? deadline : g;
}

/* Take the state mutex (a few attempts first, then waiting until the
 * call's deadline, at least the grace period), checking the ring after a
 * dead holder. PP_OK or PP_ETIMEDOUT (or an OS error). */
static pp_status lock_state(pp_queue *q, qclock *c)
{
    int repaired = 0, i;
    pp_status st = PP_ETIMEDOUT;
    uint64_t cut;

    for (i = 0; i < LOCK_TRIES && st == PP_ETIMEDOUT; i++)
        st = pp__sobj_try_enter(&q->o, &repaired);
    if (st == PP_ETIMEDOUT)
        st = pp__sobj_enter(&q->o, lock_deadline(deadline_of(c)), &repaired);

    if (st == PP_OK && repaired) {
        pp__plat_sobj_wake(pp__sobj_plat(&q->o)); /* whatever the dead one owed */
        cut = qr_check_ring(state_of(q));
        if (cut != 0)
            pp__log(PP_LOG_WARN, "queue %s: damaged ring repaired, %llu item(s) dropped",
                    pp__sobj_name(&q->o), (unsigned long long)cut);
    }
    return st;
}

static void unlock_state(pp_queue *q)
{
    pp__sobj_leave(&q->o);
}

/* ---------------------------------------------------------- lifecycle */

pp_status pp_queue_create(const char *name, size_t maxsize, size_t capacity_bytes, pp_queue **out)
{
    pp__sobj *o = NULL;
    qstate *init;
    size_t size;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (capacity_bytes == 0)
        capacity_bytes = PP_QUEUE_DEFAULT_BYTES;
    if (maxsize > PP_QUEUE_MAX_ITEMS || capacity_bytes < PP_QUEUE_MIN_BYTES ||
        capacity_bytes > PP_QUEUE_MAX_BYTES)
        return PP_EINVAL;
    capacity_bytes = (capacity_bytes + 7u) & ~(size_t)7u;
    size = QR_RING_OFF + capacity_bytes;
    /* The whole state is the init image (pp__plat_sobj_create() copies it
     * before anyone can open the name); calloc's zero pages are cheap. */
    init = calloc(1, size);
    if (init == NULL)
        return PP_ENOMEM;
    init->cap = capacity_bytes;
    init->maxsize = maxsize;
    st = pp__sobj_create(PP__SOBJ_QUEUE, name, size, init, &o);
    free(init);
    *out = (pp_queue *)o;
    return st;
}

pp_status pp__queue_check(const pp__sobj *o)
{
    qstate *s = pp__sobj_state(o);
    size_t size = pp__plat_sobj_state_size(pp__sobj_plat(o));

    /* It came from another process: never trust it blindly. */
    if (pp__sobj_kind(o) != PP__SOBJ_QUEUE || size < QR_RING_OFF || s->cap != size - QR_RING_OFF ||
        s->cap % 8 != 0 || s->cap < PP_QUEUE_MIN_BYTES || s->maxsize > PP_QUEUE_MAX_ITEMS)
        return PP_EINVAL;
    return PP_OK;
}

pp_status pp_queue_open(const char *name, pp_queue **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = pp__sobj_open(PP__SOBJ_QUEUE, name, &o);
    if (st != PP_OK)
        return st;
    st = pp__queue_check(o);
    if (st != PP_OK) {
        pp__sobj_destroy(o);
        return st;
    }
    *out = (pp_queue *)o;
    return PP_OK;
}

void pp_queue_destroy(pp_queue *q)
{
    pp__sobj_destroy(q ? &q->o : NULL);
}

const char *pp_queue_name(const pp_queue *q)
{
    return q ? pp__sobj_name(&q->o) : NULL;
}

size_t pp_queue_maxsize(const pp_queue *q)
{
    return q ? (size_t)state_of(q)->maxsize : 0;
}

size_t pp_queue_capacity(const pp_queue *q)
{
    return q ? (size_t)state_of(q)->cap : 0;
}

size_t pp_queue_item_size(const pp_values *v)
{
    return qr_need(pp__values_encoded_size(v));
}

/* ---------------------------------------------------------- put / get */

/* Wait for the wake word to move from seen: a short spin first (the other
 * side of a busy queue is usually a few microseconds away, and a sleep
 * costs both sides a system call), then a sliced nap (sobj.h). */
static void nap(pp_queue *q, uint32_t seen, int64_t deadline)
{
    const pp__plat_sobj *p = pp__sobj_plat(&q->o);
    int i;

    for (i = 0; i < SPIN; i++)
        if (pp__plat_sobj_seq(p) != seen)
            return;
    pp__sobj_nap(&q->o, seen, deadline);
}

/* Room for an item of need bytes now? (mutex held) */
static int has_room(const qstate *s, size_t need)
{
    return (s->maxsize == 0 || s->count + s->nres < s->maxsize) &&
           s->cap - (s->tail - s->head) >= need;
}

/* Wait for room for an item of len bytes: PP_OK with the mutex held,
 * or why not. */
static pp_status wait_room(pp_queue *q, size_t len, qclock *clk, int try_only)
{
    qstate *s = state_of(q);
    size_t need = qr_need(len);
    uint64_t stuck_head = UINT64_MAX;
    int64_t stuck_since = 0, now;
    uint32_t seen;
    pp_status st;

    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&q->o));
        st = lock_state(q, clk);
        if (st != PP_OK)
            return try_only ? PP_EBUSY : st;
        qr_reclaim(s);
        if (has_room(s, need))
            break;
        /* Held up by the same item for a slice: is its owner alive? */
        if (s->head != stuck_head) {
            stuck_head = s->head;
            stuck_since = pp__plat_now_ms();
        } else if ((now = pp__plat_now_ms()) - stuck_since >= PP__SOBJ_SLICE_MS) {
            stuck_since = now;
            if (qr_unblock(s, s->head) != 0) {
                pp__plat_sobj_wake(pp__sobj_plat(&q->o)); /* room for others too */
                if (has_room(s, need))
                    break;
            }
        }
        if (!try_only) {
            /* marked, then one more look: a getter that finished an item
             * after the look above sees the mark (qr_done()) */
            qr_flag_set(&s->wait_room);
            qr_reclaim(s);
            if (has_room(s, need))
                break;
        }
        unlock_state(q);
        if (try_only)
            return PP_EBUSY;
        if (pp__sobj_left(deadline_of(clk)) == 0)
            return PP_ETIMEDOUT;
        nap(q, seen, deadline_of(clk));
    }
    hook(PP__QUEUE_HOOK_PUT_LOCKED);
    return PP_OK;
}

/* Put the encoded item (len bytes at data). try_only: PP_EBUSY instead
 * of waiting. A small item (or one of more than a quarter of the ring) is
 * copied in under the mutex; a larger one is reserved, copied without the
 * mutex, then committed. */
static pp_status put_encoded(pp_queue *q, const uint8_t *data, size_t len, int64_t timeout_ms,
                             int try_only)
{
    qstate *s = state_of(q);
    size_t need = qr_need(len);
    qclock clk = {timeout_ms, 0, 0};
    pp__sobj_proc me;
    uint64_t pos = 0;
    int wake;
    pp_status st;

    if (need > s->cap) {
        pp__log(PP_LOG_WARN,
                "queue %s: an item of %llu encoded bytes needs %llu bytes of ring, the ring "
                "has %llu (create the queue with a larger capacity)",
                pp__sobj_name(&q->o), (unsigned long long)len, (unsigned long long)need,
                (unsigned long long)s->cap);
        return PP_ETOOBIG;
    }
    pp__sobj_self(&me); /* (its first call in a thread reads /proc: not under the mutex) */
    st = wait_room(q, len, &clk, try_only);
    if (st != PP_OK)
        return st;
    if (len <= SMALL_MAX || need > s->cap / 4) {
        /* small, or in a ring of a few such items, where the copy could
         * not overlap much with other puts and gets anyway */
        qr_put(s, data, len);
    } else {
        pos = qr_reserve(s, len, &me);
        unlock_state(q);
        qr_write(s, pos + PP_QUEUE_ITEM_OVERHEAD, data, len);
        hook(PP__QUEUE_HOOK_PUT_COPIED);
        st = lock_state(q, &clk);
        if (st != PP_OK) {
            /* The mutex did not come back within the grace period (a
             * stopped holder): the item is dropped, the next walk frees
             * its room. */
            qr_abandon(s, pos, len);
            return try_only ? PP_EBUSY : st;
        }
        qr_commit(s, pos, len);
    }
    hook(PP__QUEUE_HOOK_PUT_PUBLISHED);
    wake = qr_flag_take(&s->wait_items);
    unlock_state(q);
    if (wake)
        pp__plat_sobj_wake(pp__sobj_plat(&q->o));
    return PP_OK;
}

static pp_status put(pp_queue *q, const pp_values *v, int64_t timeout_ms, int try_only)
{
    pp__buf own, *b = &own;
    int slot;
    pp_status st;

    if (q == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    for (slot = 0; slot < ENC_SLOTS; slot++) {
        if (pp__plat_atomic_cas64(&g_enc[slot].busy, 0, 1)) {
            b = &g_enc[slot].b;
            break;
        }
    }
    if (slot == ENC_SLOTS)
        pp__buf_init(&own);
    pp__buf_reset(b);
    st = pp__buf_reserve(b, pp__values_encoded_size(v));
    if (st == PP_OK)
        st = pp__values_encode(v, b);
    if (st == PP_OK)
        st = put_encoded(q, b->data, b->len, timeout_ms, try_only);
    if (slot == ENC_SLOTS || b->cap > ENC_KEEP_MAX)
        pp__buf_free(b); /* keep no huge buffer around for small items */
    if (slot < ENC_SLOTS)
        pp__plat_atomic_store64(&g_enc[slot].busy, 0);
    return st;
}

pp_status pp_queue_put(pp_queue *q, const pp_values *v, int64_t timeout_ms)
{
    return put(q, v, timeout_ms, 0);
}

pp_status pp_queue_try_put(pp_queue *q, const pp_values *v)
{
    return put(q, v, 0, 1);
}

/* Wait for an item and take it (mutex taken and released): PP_OK with
 * either the item's bytes copied to small (*len <= SMALL_MAX, removed
 * from the ring) or the item CLAIMED at *pos; or why not. */
static pp_status take(pp_queue *q, qclock *clk, int try_only, uint8_t *small, uint64_t *pos,
                      size_t *len)
{
    qstate *s = state_of(q);
    pp__sobj_proc me;
    unsigned steps;
    uint32_t seen;
    int64_t now;
    int got, at_rhead, wake = 0;
    pp_status st;

    pp__sobj_self(&me); /* not under the mutex: see put_encoded() */
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&q->o));
        st = lock_state(q, clk);
        if (st != PP_OK)
            return try_only ? PP_EBUSY : st;
        got = s->count > 0 && qr_find(s, pos, len, &at_rhead, &steps);
        if (got && *len <= SMALL_MAX) {
            qr_take(s, *pos, *len, at_rhead, small);
            wake = qr_flag_take(&s->wait_room);
        } else if (got) {
            qr_claim(s, &me, *pos, *len, at_rhead);
        }
        if (got && steps > LONG_WALK && (now = pp__plat_now_ms()) >= (int64_t)s->check_at) {
            /* rhead held back by a RESERVED item: a dead producer's? */
            s->check_at = (uint64_t)(now + PP__SOBJ_SLICE_MS);
            wake |= qr_unblock(s, s->rhead) != 0;
        }
        if (!got && !try_only)
            qr_flag_set(&s->wait_items); /* the next commit wakes */
        unlock_state(q);
        if (wake)
            pp__plat_sobj_wake(pp__sobj_plat(&q->o));
        if (got)
            return PP_OK;
        if (try_only)
            return PP_EBUSY;
        if (pp__sobj_left(deadline_of(clk)) == 0)
            return PP_ETIMEDOUT;
        nap(q, seen, deadline_of(clk));
    }
}

/* Decode n bytes at data into *out (PP_EPROTO if they are not exactly
 * one tuple). */
static pp_status decode(const uint8_t *data, size_t n, pp_values **out)
{
    pp__rd rd;
    pp_status st;

    pp__rd_init(&rd, data, n);
    st = pp__values_decode(&rd, out, NULL, NULL, 0);
    if (st == PP_OK && pp__rd_end(&rd) != PP_OK) {
        pp_values_destroy(*out);
        *out = NULL;
        st = PP_EPROTO; /* dropped, as queue.h says */
    }
    return st;
}

static pp_status get(pp_queue *q, pp_values **out, int64_t timeout_ms, int try_only)
{
    qclock clk = {timeout_ms, 0, 0};
    qstate *s;
    uint8_t small[SMALL_MAX], *copy = NULL;
    const uint8_t *data;
    uint64_t pos = 0, off;
    size_t len = 0;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (q == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    s = state_of(q);
    st = take(q, &clk, try_only, small, &pos, &len);
    if (st != PP_OK)
        return st;
    if (len <= SMALL_MAX) {
        hook(PP__QUEUE_HOOK_GET_TAKEN);
        return decode(small, len, out);
    }
    hook(PP__QUEUE_HOOK_GET_TAKEN);
    /* Decoded where it lies; copied out first only if it wraps. */
    off = (pos + PP_QUEUE_ITEM_OVERHEAD) % s->cap;
    data = qr_ring(s) + off;
    if (off + len > s->cap) {
        copy = malloc(len);
        if (copy != NULL)
            qr_read(s, pos + PP_QUEUE_ITEM_OVERHEAD, copy, len);
        data = copy;
    }
    st = data != NULL ? decode(data, len, out) : PP_ENOMEM;
    free(copy);
    if (st == PP_ENOMEM && lock_state(q, &clk) == PP_OK) {
        qr_unclaim(s, pos, len); /* it stays in the queue */
        unlock_state(q);
        pp__plat_sobj_wake(pp__sobj_plat(&q->o));
    } else {
        qr_done(s, pos, len);
        /* a CAS, not a look first: no load moves before qr_done()'s CAS */
        if (pp__plat_atomic_cas64(&s->wait_room, 1, 0))
            pp__plat_sobj_wake(pp__sobj_plat(&q->o));
    }
    return st;
}

pp_status pp_queue_get(pp_queue *q, pp_values **out, int64_t timeout_ms)
{
    return get(q, out, timeout_ms, 0);
}

pp_status pp_queue_try_get(pp_queue *q, pp_values **out)
{
    return get(q, out, 0, 1);
}

/* ---------------------------------------------------------- snapshots */

pp_status pp_queue_qsize(pp_queue *q, size_t *n)
{
    if (q == NULL || n == NULL)
        return PP_EINVAL;
    /* Without the state mutex: a snapshot that never waits. */
    *n = (size_t)pp__plat_atomic_load64((volatile uint64_t *)&state_of(q)->count);
    return PP_OK;
}

pp_status pp_queue_empty(pp_queue *q, int *flag)
{
    size_t n = 0;
    pp_status st = flag ? pp_queue_qsize(q, &n) : PP_EINVAL;

    if (st == PP_OK)
        *flag = n == 0;
    return st;
}

pp_status pp_queue_full(pp_queue *q, int *flag)
{
    size_t n = 0;
    pp_status st = flag ? pp_queue_qsize(q, &n) : PP_EINVAL;

    if (st == PP_OK)
        *flag = pp_queue_maxsize(q) != 0 && n >= pp_queue_maxsize(q);
    return st;
}
