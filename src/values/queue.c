/*
 * queue.c — pp_queue (queue.h): a ring of encoded value tuples in a sync
 * segment (platform.h, pp__plat_sobj).
 *
 * State (in the segment, after the header struct qstate): a byte ring of
 * cap bytes (a multiple of 8). head and tail are byte positions that only
 * grow (ring offset = position % cap); tail - head bytes are in use. An
 * item at position p is an 8-byte header — u32 length, u32 commit mark —
 * then length bytes of encoded tuple (values/tuple.h), padded to 8; the
 * data may wrap around the ring's end, a header never does.
 *
 * Every change happens under the state mutex, in this order:
 *   put: copy the data and header into free space past tail (nothing
 *        points there yet), the commit mark last; then publish: one redo
 *        record (sobj.h) of {head, tail + need, count + 1}.
 *   get: check the header at head (length, mark of that position), copy
 *        the data out, then one redo record of {head + need, tail,
 *        count - 1}; decode after unlocking. A tuple of plain items (no
 *        lock, shm or sync object to open by name) lying in one piece is
 *        decoded in place before the record instead, saving a copy.
 * A process killed anywhere in there leaves the state mutex to the next
 * caller, whose pp__sobj_enter() rolls a committed record forward (an
 * uncommitted one changed nothing: the old values are intact); then
 * check_ring() walks the ring from head and cuts it at the first item
 * whose header is not a committed one (never expected; a defence against
 * a damaged ring). The data copies happen before the record is written
 * (a release store of seal between them).
 *
 * Commit marks depend on the position (MARK ^ position / 8), so the stale
 * header of an item got long ago is never taken for a committed one.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/log.h"
#include "procpool/queue.h"
#include "platform.h"
#include "core/core.h"
#include "sync/sobj.h"
#include "values/queue_internal.h"
#include "values/tuple.h"
#include "values/value_internal.h"

#define MARK 0xC0117ED5u
/* Taking the state mutex is short; a caller that must not wait still
 * allows a holder this long to finish (a stopped holder: PP_EBUSY). */
#define LOCK_GRACE_MS 2000
/* Attempts at the state mutex before waiting for it. */
#define LOCK_TRIES 64
/* Checks of the wake word before a waiter sleeps. */
#define SPIN 4000
/* Items from this many encoded bytes are decoded in place (a copy saved);
 * smaller ones are copied out, which holds the mutex for less time than
 * decoding them (several allocations) would. */
#define DIRECT_MIN 512
/* Encode buffers kept for reuse (taken with a CAS; more threads putting
 * at once each use a buffer of their own), and the largest one kept. */
#define ENC_SLOTS    4
#define ENC_KEEP_MAX ((size_t)1 << 20)

typedef struct qstate {
    pp__sobj_redo redo; /* first member (sobj.h) */
    uint64_t cap;       /* ring bytes, immutable */
    uint64_t maxsize;   /* immutable; 0: no count limit */
    uint64_t head;
    uint64_t tail;
    uint64_t count;
    /* The position of the last item put: stored with release order after
     * the item's bytes and before its redo record, so no compiler or CPU
     * moves a byte of the item past the record that publishes it. */
    uint64_t seal;
} qstate;

/* The ring starts 64-byte aligned after the state. */
#define RING_OFF ((sizeof(qstate) + 63u) & ~(size_t)63u)

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

static uint8_t *ring_of(qstate *s)
{
    return (uint8_t *)s + RING_OFF;
}

static size_t need_of(size_t len)
{
    return PP_QUEUE_ITEM_OVERHEAD + ((len + 7u) & ~(size_t)7u);
}

static uint32_t mark_of(uint64_t pos)
{
    return MARK ^ (uint32_t)(pos >> 3);
}

/* Copy n bytes into / out of the ring from position pos, wrapping. */
static void ring_write(uint8_t *ring, uint64_t cap, uint64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos % cap), first = n;

    if (first > cap - off)
        first = (size_t)(cap - off);
    memcpy(ring + off, src, first);
    memcpy(ring, (const uint8_t *)src + first, n - first);
}

static void ring_read(const uint8_t *ring, uint64_t cap, uint64_t pos, void *dst, size_t n)
{
    size_t off = (size_t)(pos % cap), first = n;

    if (first > cap - off)
        first = (size_t)(cap - off);
    memcpy(dst, ring + off, first);
    memcpy((uint8_t *)dst + first, ring, n - first);
}

/* The header at pos: the item's length if it is a committed item that
 * ends by tail, else -1. */
static int64_t header_at(qstate *s, uint64_t pos, uint64_t tail)
{
    uint32_t hd[2];

    memcpy(hd, ring_of(s) + pos % s->cap, sizeof hd);
    if (hd[1] != mark_of(pos) || hd[0] > s->cap - PP_QUEUE_ITEM_OVERHEAD ||
        need_of(hd[0]) > tail - pos)
        return -1;
    return (int64_t)hd[0];
}

/* Move head / tail / count in one redo-recorded step. */
static void publish(qstate *s, uint64_t head, uint64_t tail, uint64_t count)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, &s->head, head);
    pp__sobj_tx_set(&tx, &s->tail, tail);
    pp__sobj_tx_set(&tx, &s->count, count);
    pp__sobj_tx_commit(&tx);
}

/* After a holder died (its redo record already rolled forward by
 * pp__sobj_enter()): walk the ring from head and cut it at the first
 * item that is not a committed one. Never expected to cut (a defence
 * against a damaged ring); returns how many items were cut. */
static uint64_t check_ring(qstate *s)
{
    uint64_t head = s->head, tail = s->tail, pos, n = 0;
    int64_t len = 0;

    if (tail < head || tail - head > s->cap || head % 8 != 0 || tail % 8 != 0) {
        n = s->count;
        publish(s, head - head % 8, head - head % 8, 0);
        return n;
    }
    for (pos = head; pos != tail; pos += need_of((size_t)len), n++) {
        len = header_at(s, pos, tail);
        if (len < 0)
            break;
    }
    if (pos != tail || n != s->count) {
        uint64_t cut = s->count > n ? s->count - n : 0;
        publish(s, head, pos, n);
        return cut;
    }
    return 0;
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
        cut = check_ring(state_of(q));
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
    size = RING_OFF + capacity_bytes;
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
    if (pp__sobj_kind(o) != PP__SOBJ_QUEUE || size < RING_OFF || s->cap != size - RING_OFF ||
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
    return need_of(pp__values_encoded_size(v));
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

/* Put the encoded item (len bytes at data). try_only: PP_EBUSY instead
 * of waiting. */
static pp_status put_encoded(pp_queue *q, const uint8_t *data, size_t len, int64_t timeout_ms,
                             int try_only)
{
    qstate *s = state_of(q);
    size_t need = need_of(len), cap = (size_t)s->cap, maxsize = (size_t)s->maxsize;
    qclock clk = {timeout_ms, 0, 0};
    uint32_t seen, hdr[2];
    uint64_t head, tail, count;
    pp_status st;

    if (need > cap) {
        pp__log(PP_LOG_WARN,
                "queue %s: an item of %llu encoded bytes needs %llu bytes of ring, the ring "
                "has %llu (create the queue with a larger capacity)",
                pp__sobj_name(&q->o), (unsigned long long)len, (unsigned long long)need,
                (unsigned long long)cap);
        return PP_ETOOBIG;
    }
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&q->o));
        st = lock_state(q, &clk);
        if (st != PP_OK)
            return try_only ? PP_EBUSY : st;
        head = s->head;
        tail = s->tail;
        count = s->count;
        if ((maxsize == 0 || count < maxsize) && cap - (tail - head) >= need)
            break;
        unlock_state(q);
        if (try_only)
            return PP_EBUSY;
        if (pp__sobj_left(deadline_of(&clk)) == 0)
            return PP_ETIMEDOUT;
        nap(q, seen, deadline_of(&clk));
    }
    hook(PP__QUEUE_HOOK_PUT_LOCKED);
    ring_write(ring_of(s), cap, tail + PP_QUEUE_ITEM_OVERHEAD, data, len);
    hook(PP__QUEUE_HOOK_PUT_COPIED);
    hdr[0] = (uint32_t)len;
    hdr[1] = mark_of(tail);
    ring_write(ring_of(s), cap, tail, hdr, sizeof hdr);
    pp__plat_atomic_store64((volatile uint64_t *)&s->seal, tail);
    publish(s, head, tail + need, count + 1);
    hook(PP__QUEUE_HOOK_PUT_PUBLISHED);
    unlock_state(q);
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

/* 1 if the n encoded bytes at p are one tuple of plain items (ints,
 * doubles, strings, bytes: nothing to open by name), else 0. Bounds are
 * checked here only to stop; the decoder checks everything again. */
static int plain_tuple(const uint8_t *p, size_t n)
{
    size_t pos = 4, len;
    uint32_t count, i;

    if (n < 4)
        return 0;
    count = pp__ld_le32(p);
    for (i = 0; i < count; i++) {
        if (pos >= n)
            return 0;
        switch (p[pos++]) {
        case PP_TYPE_INT:
        case PP_TYPE_DOUBLE:
            len = 8;
            break;
        case PP_TYPE_STR:
        case PP_TYPE_BYTES:
            if (n - pos < 4)
                return 0;
            len = (size_t)pp__ld_le32(p + pos) + 4;
            break;
        default:
            return 0;
        }
        if (len > n - pos)
            return 0;
        pos += len;
    }
    return pos == n;
}

/* A tuple of plain items lying in one piece in the ring is decoded right
 * there, under the mutex (no named object to open: a bounded amount of
 * work), saving a copy: 1 with *out or *st set and the item gone from the
 * ring (or left there for PP_ENOMEM); 0 to take the general path. */
static int take_direct(pp_queue *q, size_t n, pp_values **out, pp_status *st)
{
    qstate *s = state_of(q);
    uint64_t head = s->head, off = (head + PP_QUEUE_ITEM_OVERHEAD) % s->cap;
    const uint8_t *p = ring_of(s) + off;
    pp__rd rd;

    if (n < DIRECT_MIN || off + n > s->cap || !plain_tuple(p, n))
        return 0;
    pp__rd_init(&rd, p, n);
    *st = pp__values_decode(&rd, out, NULL, NULL, 0);
    if (*st == PP_ENOMEM)
        return 1;
    if (*st == PP_OK && pp__rd_end(&rd) != PP_OK) {
        pp_values_destroy(*out);
        *out = NULL;
        *st = PP_EPROTO; /* dropped below, as a malformed item is */
    }
    hook(PP__QUEUE_HOOK_GET_LOCKED);
    publish(s, head + need_of(n), s->tail, s->count - 1);
    return 1;
}

/* Take the item at head: decoded in place into *out (*data NULL), or into
 * a new allocation (*data, *len) decoded after unlocking. Called with the
 * state mutex held and count > 0. */
static pp_status take(pp_queue *q, pp_values **out, uint8_t **data, size_t *len)
{
    qstate *s = state_of(q);
    uint64_t head = s->head, tail = s->tail, count = s->count;
    int64_t n = header_at(s, head, tail);
    uint8_t *mem;
    pp_status st = PP_OK;

    if (n < 0) {
        /* Never expected: something overwrote the ring. Cut it here. */
        publish(s, head, head, 0);
        pp__log(PP_LOG_ERROR, "queue %s: damaged item at the head, %llu item(s) dropped",
                pp__sobj_name(&q->o), (unsigned long long)count);
        return PP_EPROTO;
    }
    if (take_direct(q, (size_t)n, out, &st))
        return st;
    mem = malloc(n > 0 ? (size_t)n : 1u);
    if (mem == NULL)
        return PP_ENOMEM;
    hook(PP__QUEUE_HOOK_GET_LOCKED);
    ring_read(ring_of(s), s->cap, head + PP_QUEUE_ITEM_OVERHEAD, mem, (size_t)n);
    publish(s, head + need_of((size_t)n), tail, count - 1);
    *data = mem;
    *len = (size_t)n;
    return PP_OK;
}

static pp_status get(pp_queue *q, pp_values **out, int64_t timeout_ms, int try_only)
{
    qclock clk = {timeout_ms, 0, 0};
    uint8_t *data = NULL;
    size_t len = 0;
    uint32_t seen;
    pp__rd rd;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (q == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&q->o));
        st = lock_state(q, &clk);
        if (st != PP_OK)
            return try_only ? PP_EBUSY : st;
        if (state_of(q)->count > 0)
            break;
        unlock_state(q);
        if (try_only)
            return PP_EBUSY;
        if (pp__sobj_left(deadline_of(&clk)) == 0)
            return PP_ETIMEDOUT;
        nap(q, seen, deadline_of(&clk));
    }
    st = take(q, out, &data, &len);
    unlock_state(q);
    if (st == PP_ENOMEM)
        return st;
    pp__plat_sobj_wake(pp__sobj_plat(&q->o));
    if (st != PP_OK || data == NULL) {
        if (data == NULL && st == PP_OK)
            hook(PP__QUEUE_HOOK_GET_TAKEN);
        return st;
    }
    hook(PP__QUEUE_HOOK_GET_TAKEN);
    pp__rd_init(&rd, data, len);
    st = pp__values_decode(&rd, out, NULL, NULL, 0);
    if (st == PP_OK && pp__rd_end(&rd) != PP_OK) {
        pp_values_destroy(*out);
        *out = NULL;
        st = PP_EPROTO;
    }
    free(data);
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
