/*
 * syncwait.c — how a sync call (pp_apply, the sync map forms) waits for
 * its result: a bounded spin first when the pool's work comes back fast,
 * with a look at the worker's channel for an apply, then a sleep on the
 * pool's condition, running the call's progress callback on its way.
 */
#include <string.h>

#include "pool/pool_internal.h"
#include "values/tuple.h"

/* A sync call (apply, a sync map) whose pool's recent chunks came back
 * within SPIN_IF_NS each waits for its result in a bounded spin, up to
 * twice that average or SPIN_MAX_NS, before it sleeps on the condition:
 * on a round trip of a few microseconds, the reader thread's wake-up of a
 * sleeping caller (and the caller's sleep) is a third of the time. The
 * spin yields the CPU at each turn, so a worker or reader thread waiting
 * for this CPU runs first (on 2 CPUs, a pure spin would take the one the
 * round trip needs). Measured (bench apply round trip, 2 vCPUs): median
 * 36 -> 26 us, the pipe round trip being 7-9 us.
 *
 * An apply whose chunk is the only one its worker holds also looks at
 * that worker's channel while it spins (a peek: the reader thread still
 * reads it): once the whole RESULT of its chunk is there, and is one int
 * or double (the commonest result), the caller completes its item itself
 * instead of waiting for the reader thread's wake-up, which is then off
 * the round trip (the reader finds the item finished: finishing is a
 * no-op the second time, and the chunk's bookkeeping stays the
 * reader's). Anything else (a failure, a tuple, the reader first) is the
 * reader's as before. */
#define SPIN_IF_NS  50000
#define SPIN_MAX_NS 50000

/* The worker whose channel a sync apply looks at, while it spins. */
typedef struct peek_target {
    pp_pool *pool;
    pp__wslot *w; /* NULL: none */
    uint64_t id;  /* its chunk */
} peek_target;

/* Caller holds the mutex. */
static void peek_begin_locked(struct pp_result *j, peek_target *t)
{
    pp_pool *p = j->pool;
    int i;

    t->w = NULL;
    t->pool = p;
    t->id = 0;
    if (j->kind != JOB_APPLY || j->n != 1 || p == NULL)
        return;
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state == W_READY && w->ninflight == 1 && w->inflight->job == j &&
            w->inflight->answered == 0 && !w->inflight->in_inbox) {
            w->peeking++;
            t->w = w;
            t->id = w->inflight->id;
            return;
        }
    }
}

/* Caller holds the mutex. */
static void peek_end_locked(peek_target *t)
{
    if (t->w == NULL)
        return;
    if (--t->w->peeking == 0 && t->w->state == W_DEAD)
        pp__plat_cond_signal(t->pool->sup_cond); /* it may reap the slot now */
    t->w = NULL;
}

/* What the first n bytes of a channel hold for chunk id: 1 the whole
 * RESULT frame of one item that succeeded with one int or double (*type,
 * *bits; the checks are the reader thread's, reader.c, which reads the
 * frame anyway), 0 not enough bytes yet, -1 anything else. */
static int peek_scalar(const uint8_t *buf, size_t n, uint64_t id, pp_type *type, uint64_t *bits)
{
    static const uint8_t zero8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    pp__frame_hdr h;
    uint8_t tag = 0;
    pp__rd rd;

    if (n < PP__FRAME_HDR)
        return 0;
    if (pp__frame_parse_hdr(buf, &h) != PP_OK || h.type != PP__MSG_RESULT || h.id != id ||
        h.count != 1 || h.length > PP__SCALAR_OUTCOME)
        return -1;
    if (n - PP__FRAME_HDR < h.length)
        return 0;
    if (h.flags == PP__FLAG_SCALARS) { /* the column form: u8 type, u64 */
        pp__rd_init(&rd, buf + PP__FRAME_HDR, h.length);
        if (h.length != 9 || pp__rd_u8(&rd, &tag) != PP_OK ||
            (tag != PP_TYPE_INT && tag != PP_TYPE_DOUBLE) || pp__rd_u64(&rd, bits) != PP_OK)
            return -1;
        *type = (pp_type)tag;
        return 1;
    }
    if (h.flags != 0 || h.length != PP__SCALAR_OUTCOME ||
        memcmp(buf + PP__FRAME_HDR, zero8, 8) != 0) /* status and code 0 */
        return -1;
    pp__rd_init(&rd, buf + PP__FRAME_HDR + 8, PP__SCALAR_OUTCOME - 8);
    return pp__values_peek_scalar(&rd, type, bits) ? 1 : -1;
}

/* One look at t's channel: 1 if it completed j, else 0 (and *stop set
 * when looking again is pointless: the rest is the reader's). */
static int peek_once(struct pp_result *j, const peek_target *t, int *stop)
{
    uint8_t buf[PP__FRAME_HDR + PP__SCALAR_OUTCOME];
    uint64_t bits = 0;
    pp_type type = PP_TYPE_INT;
    size_t got = 0;
    int done = 0, r;

    if (pp__plat_chan_peek(t->w->chan, buf, sizeof buf, &got) != PP_OK) {
        *stop = 1; /* no peek here, or the channel failed */
        return 0;
    }
    r = peek_scalar(buf, got, t->id, &type, &bits);
    if (r <= 0) {
        *stop = r < 0;
        return 0;
    }
    pp__plat_mtx_lock(j->core->mu);
    /* Still its chunk (not failed meanwhile by a death or terminate,
     * whose item is then finished already: succeeding is a no-op). */
    if (t->w->state == W_READY && t->w->inflight != NULL && t->w->inflight->id == t->id) {
        pp__item_succeed_scalar(j, 0, type, bits);
        pp__job_after_items_locked(j);
    }
    done = j->ready;
    pp__plat_mtx_unlock(j->core->mu);
    *stop = !done;
    return done;
}

static void spin_until_ready(struct pp_result *j, uint64_t ema_ns, peek_target *t)
{
    uint64_t span = ema_ns * 2 < SPIN_MAX_NS ? ema_ns * 2 : SPIN_MAX_NS;
    int64_t end = pp__plat_now_ns() + (int64_t)span;
    int stop = t->w == NULL;

    while (pp__plat_atomic_load64(&j->ready_flag) == 0 && pp__plat_now_ns() < end) {
        if (!stop && peek_once(j, t, &stop))
            return;
        pp__plat_yield();
    }
}

/* Wait for a sync submission, running its progress callback here. */
pp_status pp__wait_sync(struct pp_result *j)
{
    size_t seen = 0, done;
    uint64_t ema = 0;

    pp__plat_mtx_lock(j->core->mu);
    if (!j->ready && j->progress == NULL && j->pool != NULL)
        ema = j->pool->chunk_ema_ns;
    if (ema != 0 && ema <= SPIN_IF_NS) {
        peek_target t;
        peek_begin_locked(j, &t);
        pp__plat_mtx_unlock(j->core->mu);
        spin_until_ready(j, ema, &t);
        pp__plat_mtx_lock(j->core->mu);
        peek_end_locked(&t);
    }
    for (;;) {
        done = j->done;
        if (j->progress != NULL && done != seen) {
            pp__plat_mtx_unlock(j->core->mu);
            j->progress(done, j->n, j->progress_ud);
            seen = done;
            pp__plat_mtx_lock(j->core->mu);
            continue;
        }
        if (j->ready)
            break;
        pp__plat_cond_wait(j->core->cond, j->core->mu, PP_INFINITE);
    }
    /* The caller may free its items once this returns: no chunk of this
     * map reads them any more. */
    if (j->lazy && j->pool != NULL)
        pp__job_forget_source_locked(j->pool, j);
    pp__plat_mtx_unlock(j->core->mu);
    return pp_result_successful(j);
}
