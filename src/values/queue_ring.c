/*
 * queue_ring.c — the steps of a queue item's life in the ring (see
 * values/queue_ring.h for the layout, the states and who holds what).
 */
#include <string.h>

#include "platform.h"
#include "values/queue_internal.h"
#include "values/queue_ring.h"

/* The marks of the states (mixed with the position). */
#define M_RES  0x5E5E4ED1u
#define M_COM  0xC0117ED5u
#define M_CLM  0xC1A13ED3u
#define M_DONE 0xD0DED0DBu
#define M_ABAN 0xAB4D0E07u

/* Liveness checks (a /proc read each on Linux) one unblock makes at most. */
#define UNBLOCK_CHECKS 8
/* An empty queue goes back to the ring's start once its tail is this far
 * into it (see qr_reclaim()). */
#define REWIND_MIN ((uint64_t)16384)

static const uint32_t g_marks[] = {0, M_RES, M_COM, M_CLM, M_DONE, M_ABAN};

static void hook(int point)
{
    if (pp__queue_test_hook != NULL)
        pp__queue_test_hook(point);
}

uint64_t qr_state_word(uint64_t pos, int st, size_t len)
{
    return ((uint64_t)(g_marks[st] ^ (uint32_t)(pos >> 3)) << 32) | (uint32_t)len;
}

/* The state of the item at pos (*len its length) if its header is one
 * of ours and the item ends by limit, else QR_BAD. */
static int state_at(qstate *s, uint64_t pos, uint64_t limit, size_t *len)
{
    uint64_t w = pp__plat_atomic_load64(qr_word(s, pos, 0));
    uint32_t mark = (uint32_t)(w >> 32) ^ (uint32_t)(pos >> 3), l = (uint32_t)w;
    int st;

    for (st = QR_RES; st <= QR_ABAN; st++) {
        if (g_marks[st] == mark)
            break;
    }
    if (st > QR_ABAN || l > s->cap - PP_QUEUE_ITEM_OVERHEAD || limit < pos ||
        qr_need(l) > limit - pos)
        return QR_BAD;
    *len = l;
    return st;
}

void qr_write(qstate *s, uint64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos % s->cap), first = n;

    if (first > s->cap - off)
        first = (size_t)(s->cap - off);
    memcpy(qr_ring(s) + off, src, first);
    memcpy(qr_ring(s), (const uint8_t *)src + first, n - first);
}

void qr_read(qstate *s, uint64_t pos, void *dst, size_t n)
{
    size_t off = (size_t)(pos % s->cap), first = n;

    if (first > s->cap - off)
        first = (size_t)(s->cap - off);
    memcpy(dst, qr_ring(s) + off, first);
    memcpy((uint8_t *)dst + first, qr_ring(s), n - first);
}

/* One word of the state, stored alone (atomic: no record needed). */
static void store1(qstate *s, uint64_t *word, uint64_t v)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, word, v);
    pp__sobj_tx_commit(&tx);
}

void qr_reclaim(qstate *s)
{
    uint64_t pos = s->head, rhead = s->rhead;
    size_t len = 0;
    pp__sobj_tx tx;

    while (pos != rhead && state_at(s, pos, rhead, &len) == QR_DONE)
        pos += qr_need(len);
    if (pos == s->tail && pos % s->cap >= REWIND_MIN) {
        /* Empty: start again at the ring's start, whose lines are likely
         * still in the caches (a queue that is mostly empty then works in
         * a few KiB instead of sweeping the whole ring). Back to this
         * lap's first position, not on to the next lap's: positions then
         * grow no faster than the bytes put (never wrap around 2^64).
         * Nothing refers to a position past this one any more: every item
         * is DONE (a consumer still decoding has its item CLAIMED, a
         * producer still copying RESERVED: then the queue is not empty),
         * and headers are only read in [head, tail), which every put
         * writes afresh. */
        pos -= pos % s->cap;
        pp__sobj_tx_begin(&tx, s);
        pp__sobj_tx_set(&tx, &s->head, pos);
        pp__sobj_tx_set(&tx, &s->rhead, pos);
        pp__sobj_tx_set(&tx, &s->tail, pos);
        pp__sobj_tx_commit(&tx);
    } else if (pos != s->head) {
        store1(s, &s->head, pos);
    }
}

uint64_t qr_reserve(qstate *s, size_t len, const pp__sobj_proc *me)
{
    uint64_t pos = s->tail;
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0), qr_state_word(pos, QR_RES, len));
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 1), me->pid);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 2), me->stamp);
    pp__sobj_tx_set(&tx, &s->tail, pos + qr_need(len));
    pp__sobj_tx_set(&tx, &s->nres, s->nres + 1);
    pp__sobj_tx_commit(&tx);
    return pos;
}

void qr_commit(qstate *s, uint64_t pos, size_t len)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0), qr_state_word(pos, QR_COM, len));
    pp__sobj_tx_set(&tx, &s->count, s->count + 1);
    pp__sobj_tx_set(&tx, &s->nres, s->nres > 0 ? s->nres - 1 : 0);
    pp__sobj_tx_commit(&tx);
}

void qr_abandon(qstate *s, uint64_t pos, size_t len)
{
    pp__plat_atomic_store64(qr_word(s, pos, 0), qr_state_word(pos, QR_ABAN, len));
}

/* Mutex held: a RESERVED or ABANDONED item at pos is DONE (never got). */
static void drop_reserved(qstate *s, uint64_t pos, size_t len)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0), qr_state_word(pos, QR_DONE, len));
    pp__sobj_tx_set(&tx, &s->nres, s->nres > 0 ? s->nres - 1 : 0);
    pp__sobj_tx_commit(&tx);
}

int qr_find(qstate *s, uint64_t *pos, size_t *len, int *at_rhead, unsigned *steps)
{
    uint64_t p = s->rhead, tail = s->tail;
    int st, contiguous = 1;
    size_t n = 0;

    *steps = 0;
    for (; p != tail; p += qr_need(n), (*steps)++) {
        st = state_at(s, p, tail, &n);
        if (st == QR_BAD)
            break;
        if (st == QR_COM) {
            *pos = p;
            *len = n;
            *at_rhead = contiguous;
            return 1;
        }
        if (st == QR_ABAN) {
            drop_reserved(s, p, n);
            st = QR_DONE;
        }
        if (st == QR_RES)
            contiguous = 0; /* rhead stays here until it is committed */
        else if (contiguous)
            store1(s, &s->rhead, p + qr_need(n));
    }
    /* count said there was one: never expected (a damaged ring) */
    (void)qr_check_ring(s);
    return 0;
}

void qr_claim(qstate *s, const pp__sobj_proc *me, uint64_t pos, size_t len, int at_rhead)
{
    pp__sobj_tx tx;

    hook(PP__QUEUE_HOOK_GET_LOCKED);
    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0), qr_state_word(pos, QR_CLM, len));
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 1), me->pid);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 2), me->stamp);
    pp__sobj_tx_set(&tx, &s->count, s->count - 1);
    if (at_rhead)
        pp__sobj_tx_set(&tx, &s->rhead, pos + qr_need(len));
    pp__sobj_tx_commit(&tx);
}

void qr_take(qstate *s, uint64_t pos, size_t len, int at_rhead, void *dst)
{
    uint64_t end = pos + qr_need(len);
    pp__sobj_tx tx;

    qr_read(s, pos + PP_QUEUE_ITEM_OVERHEAD, dst, len);
    hook(PP__QUEUE_HOOK_GET_LOCKED);
    pp__sobj_tx_begin(&tx, s);
    if (pos == s->head) { /* the oldest in the ring: its room is free at once */
        pp__sobj_tx_set(&tx, &s->head, end);
    } else {
        pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0),
                        qr_state_word(pos, QR_DONE, len));
    }
    pp__sobj_tx_set(&tx, &s->count, s->count - 1);
    if (at_rhead)
        pp__sobj_tx_set(&tx, &s->rhead, end);
    pp__sobj_tx_commit(&tx);
}

void qr_put(qstate *s, const void *data, size_t len)
{
    uint64_t pos = s->tail;
    pp__sobj_tx tx;

    /* past tail: nobody reads there until the record below */
    qr_write(s, pos + PP_QUEUE_ITEM_OVERHEAD, data, len);
    hook(PP__QUEUE_HOOK_PUT_COPIED);
    pp__plat_atomic_store64(qr_word(s, pos, 0), qr_state_word(pos, QR_COM, len));
    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, &s->tail, pos + qr_need(len));
    pp__sobj_tx_set(&tx, &s->count, s->count + 1);
    pp__sobj_tx_commit(&tx);
}

void qr_unclaim(qstate *s, uint64_t pos, size_t len)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, (const uint64_t *)qr_word(s, pos, 0), qr_state_word(pos, QR_COM, len));
    pp__sobj_tx_set(&tx, &s->count, s->count + 1);
    if (pos < s->rhead)
        pp__sobj_tx_set(&tx, &s->rhead, pos);
    pp__sobj_tx_commit(&tx);
}

void qr_done(qstate *s, uint64_t pos, size_t len)
{
    /* every read of the item's bytes comes before it; if the item is no
     * longer ours (turned DONE by a repair), nothing to do */
    (void)pp__plat_atomic_cas64(qr_word(s, pos, 0), qr_state_word(pos, QR_CLM, len),
                                qr_state_word(pos, QR_DONE, len));
}

void qr_flag_set(uint64_t *flag)
{
    (void)pp__plat_atomic_cas64(flag, 0, 1);
}

int qr_flag_take(uint64_t *flag)
{
    return pp__plat_atomic_load64(flag) != 0 && pp__plat_atomic_cas64(flag, 1, 0);
}

/* 1 if the owner recorded in the header at pos has ended. */
static int owner_dead(qstate *s, uint64_t pos)
{
    pp__sobj_proc owner;

    owner.pid = pp__plat_atomic_load64(qr_word(s, pos, 1));
    owner.stamp = pp__plat_atomic_load64(qr_word(s, pos, 2));
    return !pp__sobj_proc_alive(&owner);
}

unsigned qr_unblock(qstate *s, uint64_t from)
{
    uint64_t p = from, tail = s->tail;
    unsigned checks = 0, turned = 0;
    size_t n = 0;
    int st;

    for (; p != tail && checks < UNBLOCK_CHECKS; p += qr_need(n)) {
        st = state_at(s, p, tail, &n);
        if (st == QR_BAD || st == QR_COM)
            break;
        if (st == QR_DONE)
            continue;
        if (st != QR_ABAN) {
            checks++;
            if (!owner_dead(s, p))
                break; /* a live owner: it is the one holding things up */
        }
        if (st == QR_CLM)
            qr_done(s, p, n); /* its consumer died: that item is lost */
        else
            drop_reserved(s, p, n);
        turned++;
    }
    /* rhead past what is no longer in the queue, then head */
    for (p = s->rhead; p != tail; p += qr_need(n)) {
        st = state_at(s, p, tail, &n);
        if (st != QR_DONE && st != QR_CLM)
            break;
    }
    if (p != s->rhead)
        store1(s, &s->rhead, p);
    qr_reclaim(s);
    return turned;
}

uint64_t qr_check_ring(qstate *s)
{
    uint64_t head = s->head, tail = s->tail, rhead = s->rhead, p, count = 0, nres = 0;
    uint64_t old = s->count, live = UINT64_MAX;
    int st, rhead_seen = 0;
    size_t n = 0;
    pp__sobj_tx tx;

    if (tail < head || tail - head > s->cap || head % 8 != 0 || tail % 8 != 0)
        tail = head = head - head % 8;
    for (p = head; p != tail; p += qr_need(n)) {
        if (p == rhead)
            rhead_seen = 1;
        st = state_at(s, p, tail, &n);
        if (st == QR_BAD)
            break;
        if (st == QR_COM)
            count++;
        else if (st == QR_RES || st == QR_ABAN)
            nres++;
        if ((st == QR_COM || st == QR_RES || st == QR_ABAN) && live == UINT64_MAX)
            live = p;
    }
    if (p == rhead)
        rhead_seen = 1;
    /* rhead on an item, and no live item before it */
    if (!rhead_seen)
        rhead = live != UINT64_MAX ? live : p;
    else if (live < rhead)
        rhead = live;
    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, &s->head, head);
    pp__sobj_tx_set(&tx, &s->tail, p);
    pp__sobj_tx_set(&tx, &s->rhead, rhead);
    pp__sobj_tx_set(&tx, &s->count, count);
    pp__sobj_tx_set(&tx, &s->nres, nres);
    pp__sobj_tx_commit(&tx);
    return old > count ? old - count : 0;
}
