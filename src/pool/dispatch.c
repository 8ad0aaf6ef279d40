/*
 * dispatch.c — the pool's queue of chunks and how they reach workers: the
 * prefetch window that sizes how far ahead a busy worker is fed, one
 * writer per worker (the pump), and failing queued work when the pool
 * breaks or is terminated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/column.h"
#include "values/tuple.h"

#define WINDOW         64u           /* chunks outstanding per worker, at most */
#define PREFETCH_NS    2000000       /* queue ~2 ms of work ahead of a busy worker */
#define PREFETCH_BYTES (16u * 1024u) /* bytes queued to a busy worker */
#define INBOX_MIN      (8u * 1024u)  /* smaller TASK payloads go through the channel */
#define INBOX_DESC     (PP__FRAME_HDR + 16u)

/* ---------------------------------------------------------------- queue */

static pp__chunk *queue_pop(pp_pool *p)
{
    pp__chunk *c = p->q_head;

    if (c == NULL)
        return NULL;
    p->q_head = c->next;
    if (p->q_head == NULL)
        p->q_tail = NULL;
    c->next = NULL;
    p->queued_bytes -= pp__chunk_len(c);
    return c;
}

pp__chunk *pp__queue_take_locked(pp_pool *p)
{
    pp__chunk *c = queue_pop(p);

    if (c == NULL)
        return NULL;
    c->id = p->next_id++; /* as gather_batch: ids grow with every send */
    pp__frame_set_id(&c->frame, 0, c->id);
    c->sent_ns = pp__plat_now_ns();
    if (p->feed_waiters > 0 && p->queued_bytes <= PP__FEED_QUEUE_BYTES)
        pp__plat_cond_broadcast(p->core->cond);
    return c;
}

/* Fail and free a list of chunks (a broken pool keeps nothing queued). */
static void fail_list_locked(pp__chunk *list, pp_status st, const char *msg)
{
    while (list != NULL) {
        pp__chunk *next = list->next;
        list->next = NULL;
        pp__chunk_fail_locked(list, st, 0, msg);
        pp__chunk_free(list);
        list = next;
    }
}

/* Fail and free the chunks of canceled jobs in list; the rest, in order. */
static pp__chunk *drop_canceled_locked(pp__chunk *list)
{
    pp__chunk *keep = NULL, **tail = &keep, *next;

    for (; list != NULL; list = next) {
        next = list->next;
        list->next = NULL;
        if (list->job->canceled) {
            fail_list_locked(list, PP_ECANCELED, "canceled");
        } else if (pp__chunk_gone(list)) {
            /* its sync map has returned: every item of it has finished */
            fail_list_locked(list, PP_ECANCELED, "canceled");
        } else {
            *tail = list;
            tail = &list->next;
        }
    }
    return keep;
}

/* Free j's queued chunks (only its lazy ones if lazy_only). */
static void drop_queued_locked(pp_pool *p, struct pp_result *j, int lazy_only)
{
    pp__chunk *c, **link = &p->q_head;

    p->q_tail = NULL;
    while ((c = *link) != NULL) {
        if (c->job == j && (!lazy_only || c->lazy_bytes > 0)) {
            *link = c->next;
            c->next = NULL;
            p->queued_bytes -= pp__chunk_len(c);
            pp__chunk_free(c);
        } else {
            p->q_tail = c;
            link = &c->next;
        }
    }
}

void pp__remove_job_from_queue_locked(pp_pool *p, struct pp_result *j)
{
    drop_queued_locked(p, j, 0);
}

void pp__queue_append_locked(pp_pool *p, pp__chunk *list, struct pp_result *j)
{
    pp__chunk *c, *next;

    for (c = list; c != NULL; c = next) {
        next = c->next;
        c->next = NULL;
        c->job = j;
        j->refs++; /* dropped by pp__chunk_free */
        if (j->canceled) {
            fail_list_locked(c, PP_ECANCELED, "canceled");
            continue;
        }
        if (p->broken != PP_OK) {
            /* Nothing will ever run it: fail it now, never wait for it. */
            fail_list_locked(c, p->broken, p->broken_msg);
            continue;
        }
        if (p->q_tail)
            p->q_tail->next = c;
        else
            p->q_head = c;
        p->q_tail = c;
        p->queued_bytes += pp__chunk_len(c);
    }
    if (p->idle_timeout_ms > 0)
        pp__plat_cond_signal(p->sup_cond); /* workers retired for idleness come back */
}

/* Put a list of chunks back at the front, keeping their order. */
void pp__queue_push_front_locked(pp_pool *p, pp__chunk *list)
{
    pp__chunk *tail = list;

    if (list == NULL)
        return;
    if (p->broken != PP_OK) {
        fail_list_locked(list, p->broken, p->broken_msg);
        return;
    }
    if (p->state == P_TERMINATING || p->state == P_JOINED) {
        /* The queue was failed at terminate and nothing takes from it any
         * more: a chunk put back now (taken back from a worker that was
         * still alive) would never end, nor its sync map's wait. */
        fail_list_locked(list, PP_ETERMINATED, "pool was terminated");
        return;
    }
    list = drop_canceled_locked(list);
    if (list == NULL)
        return;
    tail = list;
    for (;;) {
        /* Back from a worker: its inbox region (if any) is not its any more. */
        tail->in_inbox = 0;
        tail->wire_len = 0;
        p->queued_bytes += pp__chunk_len(tail);
        if (tail->next == NULL)
            break;
        tail = tail->next;
    }
    tail->next = p->q_head;
    p->q_head = list;
    if (p->q_tail == NULL)
        p->q_tail = tail;
}

void pp__fail_queue_locked(pp_pool *p, pp_status st, const char *msg)
{
    pp__chunk *c;

    while ((c = queue_pop(p)) != NULL) {
        pp__chunk_fail_locked(c, st, 0, msg);
        pp__chunk_free(c);
    }
}

/* -------------------------------------------------------------- dispatch */

static int idle_locked(const pp_pool *p, const pp__wslot *w)
{
    return w->state == W_READY && w->ninflight == 0 && !w->quit_sent &&
           (p->maxtasks == 0 || w->sent < p->maxtasks);
}

static int any_idle_worker_locked(const pp_pool *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        if (idle_locked(p, &p->w[i]))
            return 1;
    }
    return 0;
}

/* How many chunks a worker may hold: enough to never wait for its next
 * task (tiny tasks: up to WINDOW, so writes and reads batch), but only
 * about PREFETCH_NS of work, so long tasks are not stuck behind each other
 * in one worker while another could run them. */
static unsigned window_locked(const pp_pool *p)
{
    uint64_t depth;

    if (p->chunk_ema_ns == 0)
        return 2;
    depth = PREFETCH_NS / p->chunk_ema_ns + 1;
    return depth < 2 ? 2 : depth > WINDOW ? WINDOW : (unsigned)depth;
}

/* ----------------------------------------------------------------- inbox */

/* A region of len bytes in the free bytes [from, to) of an inbox that
 * ends at a multiple of 8: a scalar column, at a TASK payload's end, is
 * then 8-byte aligned, and its worker keeps its results over it
 * (pool/wctl.h). */
static int inbox_fit(size_t from, size_t to, size_t len, size_t *off)
{
    size_t at = from + (8 - (from + len) % 8) % 8;

    if (to < at || to - at < len)
        return 0;
    *off = at;
    return 1;
}

/* A free region of len bytes in w's inbox (pool/wctl.h), or 0. Regions
 * are taken in send order as a ring: the in-flight chunks that have one
 * are, in list order, one run that may wrap once (results free the
 * oldest, take-backs the newest, a death all of them). */
static int inbox_find(const pp__wslot *w, size_t len, size_t *off)
{
    const pp__chunk *c, *first = NULL, *last = NULL;
    size_t head, tail;

    if (w->ctl == NULL || len < INBOX_MIN || len > PP__WCTL_INBOX)
        return 0;
    for (c = w->inflight; c != NULL; c = c->next) {
        if (c->in_inbox) {
            if (first == NULL)
                first = c;
            last = c;
        }
    }
    if (first == NULL)
        return inbox_fit(0, PP__WCTL_INBOX, len, off);
    head = first->inbox_off;
    tail = last->inbox_off + (pp__chunk_len(last) - PP__FRAME_HDR);
    if (last->inbox_off >= head) {
        /* not wrapped: from the start up to the first, or after the last.
         * The start first: a map then cycles through the few regions it
         * keeps in flight, memory already in place, instead of touching
         * (and faulting in, on both sides) the whole inbox once. */
        return inbox_fit(0, head, len, off) || inbox_fit(tail, PP__WCTL_INBOX, len, off);
    }
    return inbox_fit(tail, head, len, off); /* wrapped: between the last and the first */
}

static int slot_can_take(const pp_pool *p, const pp__wslot *w, const pp__chunk *c)
{
    size_t off;

    if (w->state != W_READY || w->quit_sent)
        return 0;
    if (p->maxtasks != 0 && w->sent >= p->maxtasks)
        return 0;
    if (w->ninflight == 0)
        return 1;
    /* Work ahead only when nobody is idle, within the window, and in chunks
     * whose writes cannot block until the worker is done: small ones (they
     * fit in the channel's buffer) or ones that go through its inbox. */
    if (w->ninflight >= window_locked(p) || any_idle_worker_locked(p))
        return 0;
    if (inbox_find(w, pp__chunk_len(c) - PP__FRAME_HDR, &off))
        return w->inflight_bytes + INBOX_DESC <= PREFETCH_BYTES;
    return w->inflight_bytes + pp__chunk_len(c) <= PREFETCH_BYTES;
}

static void inflight_append(pp__wslot *w, pp__chunk *c)
{
    c->next = NULL;
    if (w->inflight_tail)
        w->inflight_tail->next = c;
    else
        w->inflight = c;
    w->inflight_tail = c;
    w->ninflight++;
    w->inflight_bytes += c->wire_len;
    w->sent++;
}

/* Append to out what sends c to w: through w's inbox if it has room (the
 * payload copied there now, a descriptor on the channel), else the frame.
 * Caller holds the mutex (the control block stays mapped: the slot is not
 * reaped while the mutex is held). */
static pp_status put_chunk(pp_pool *p, pp__wslot *w, pp__chunk *c, pp__buf *out)
{
    size_t len = pp__chunk_len(c) - PP__FRAME_HDR, mark = out->len, at, off;
    uint8_t *dst;
    pp_status st;

    if (!inbox_find(w, len, &off)) {
        /* a lazy chunk's entries go into its frame first (it stays whole
         * for a sending again after a death) */
        st = pp__chunk_materialize(c);
        if (st != PP_OK)
            return st;
        c->wire_len = c->frame.len;
        return pp__buf_put(out, c->frame.data, c->frame.len);
    }
    dst = pp__wctl_inbox(w->ctl) + off;
    /* A lazy chunk's entries straight from the caller's items: the one
     * copy (the region is free: nothing reads it until the descriptor) */
    if (c->lazy_bytes > 0 && !pp__chunk_put_lazy(c, dst + (c->frame.len - PP__FRAME_HDR)))
        return PP_EINVAL;
    st = pp__frame_begin(out, PP__MSG_TASK, c->count, c->id, &at);
    if (st == PP_OK)
        st = pp__buf_put_u64(out, (uint64_t)off);
    if (st == PP_OK)
        st = pp__buf_put_u64(out, (uint64_t)len);
    if (st == PP_OK)
        st = pp__frame_end(out, at);
    if (st != PP_OK) {
        out->len = mark;
        return st;
    }
    pp__frame_set_flags(out, at, (uint8_t)(pp__frame_flags(&c->frame, 0) | PP__FLAG_INBOX));
    memcpy(dst, c->frame.data + PP__FRAME_HDR, c->frame.len - PP__FRAME_HDR);
    c->in_inbox = 1;
    c->inbox_off = off;
    c->wire_len = INBOX_DESC;
    p->n_inbox++;
    return PP_OK;
}

/* Move chunks for w from the queue into its in-flight list and gather
 * their frames into out. Caller holds the mutex. Returns 1 if there is
 * something to write. */
static int gather_batch(pp_pool *p, pp__wslot *w, pp__buf *out)
{
    pp__chunk *c;
    pp_status st;
    int64_t now = 0;
    size_t at;

    pp__buf_reset(out);
    while (p->q_head != NULL && slot_can_take(p, w, p->q_head)) {
        c = queue_pop(p);
        /* Ids grow with every send, also for a chunk sent again after it
         * was taken back or its worker died: the control block's gate
         * (pool/wctl.h) relies on it. */
        c->id = p->next_id++;
        pp__frame_set_id(&c->frame, 0, c->id);
        st = put_chunk(p, w, c, out);
        if (st == PP_EINVAL) {
            /* a lazy chunk whose items changed under it (the caller's
             * race): its items fail, it is never sent */
            pp__chunk_fail_locked(c, PP_EINVAL, 0,
                                  "the map's items changed while it ran (a string or buffer "
                                  "of another size)");
            pp__chunk_free(c);
            continue;
        }
        if (st != PP_OK) {
            pp__queue_push_front_locked(p, c);
            break;
        }
        if (now == 0)
            now = pp__plat_now_ns(); /* one clock read for the batch: one write */
        c->sent_ns = now;
        inflight_append(w, c);
    }
    /* A sync submission waits for room in the queue (submit.c). */
    if (p->feed_waiters > 0 && p->queued_bytes <= PP__FEED_QUEUE_BYTES)
        pp__plat_cond_broadcast(p->core->cond);
    if (out->len == 0 && w->quit_wanted && !w->quit_sent && w->ninflight == 0 &&
        w->state == W_READY) {
        if (pp__frame_begin(out, PP__MSG_QUIT, 0, 0, &at) == PP_OK &&
            pp__frame_end(out, at) == PP_OK)
            w->quit_sent = 1;
    }
    return out->len > 0;
}

/* A slot's write buffer larger than this is not kept between pumps. */
#define OUT_KEEP (64u * 1024u)

/* Write whatever w can take now. One thread writes to a worker at a time;
 * another thread that finds work meanwhile sets repump and leaves. Caller
 * holds the mutex; it is released while writing. */
void pp__pump_locked(pp_pool *p, pp__wslot *w)
{
    pp__buf *out = &w->out; /* the pumping thread's (w->pumping) */

    if (w->pumping) {
        w->repump = 1;
        return;
    }
    w->pumping = 1;
    do {
        w->repump = 0;
        if (!gather_batch(p, w, out))
            continue;
        pp__plat_mtx_unlock(p->core->mu);
        /* A failed write means the worker is gone; its reader sees EOF and
         * takes care of the in-flight chunks. */
        (void)pp__plat_chan_write(w->chan, out->data, out->len);
        pp__plat_mtx_lock(p->core->mu);
        w->repump = 1;
    } while (w->repump);
    if (out->cap > OUT_KEEP)
        pp__buf_free(out);
    w->pumping = 0;
    if (w->state == W_DEAD)
        pp__plat_cond_signal(p->sup_cond); /* it may reap the slot now */
}

/* Pump every worker (ahead_max 0), or, for a submitting call, only those
 * that hold fewer than ahead_max chunks: one that holds more has its next
 * ones in hand, and its reader thread pumps it at its next result, then
 * with every chunk queued meanwhile in one write. A submission of one
 * task (pp_apply_async) then costs no system call of its own while the
 * workers are busy: 20,000 of them made 20,000 writes, each waking a
 * worker for one task. */
static void pump_all_locked(pp_pool *p, unsigned ahead_max)
{
    int i, pass;

    /* Idle workers first, so work spreads before anyone works ahead. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < p->n && (p->q_head != NULL || p->state == P_CLOSED); i++) {
            pp__wslot *w = &p->w[i];
            if (w->state == W_READY && (pass == 1 || w->ninflight == 0) &&
                (ahead_max == 0 || w->ninflight < ahead_max))
                pp__pump_locked(p, w);
        }
        /* Remote workers after idle local ones, before local work ahead. */
        if (pass == 0 && p->broker != NULL && p->q_head != NULL)
            p->bops->pump_locked(p->broker);
    }
    pp__balance_locked(p);
}

unsigned pp__take_back_locked(pp_pool *p, pp__wslot *v)
{
    pp__chunk *c, **link, *taken = NULL, **tail = &taken;
    uint64_t bound;
    unsigned n = 0;

    if (v->state != W_READY || v->inflight == NULL || v->ctl == NULL)
        return 0;
    if (!pp__wctl_revoke(v->ctl, v->inflight_tail->id, &bound))
        return 0;
    /* ids up to bound: started (the one running) or finished */
    link = &v->inflight;
    v->inflight_tail = NULL;
    while ((c = *link) != NULL) {
        if (c->id > bound) {
            *link = c->next;
            c->next = NULL;
            *tail = c;
            tail = &c->next;
            v->ninflight--;
            v->inflight_bytes -= c->wire_len;
            v->sent--;
            n++;
        } else {
            v->inflight_tail = c;
            link = &c->next;
        }
    }
    if (v->ninflight == 0)
        v->idle_since_ms = pp__plat_now_ms(); /* idle from now, not from its last result */
    pp__queue_push_front_locked(p, taken);
    return n;
}

/* The local worker with the most chunks sent ahead (at least one beside
 * the one it runs), or -1. */
static int busiest_locked(const pp_pool *p)
{
    int i, best = -1;

    for (i = 0; i < p->n; i++) {
        if (p->w[i].state == W_READY && p->w[i].ninflight >= 2 &&
            (best < 0 || p->w[i].ninflight > p->w[best].ninflight))
            best = i;
    }
    return best;
}

/* Remote workers with room count as idle workers too: what a busy local
 * worker was sent ahead and has not started goes to them. */
static void balance_to_broker_locked(pp_pool *p)
{
    int best;

    while (p->broker != NULL && p->q_head == NULL && p->bops->room_locked(p->broker) > 0) {
        best = busiest_locked(p);
        if (best < 0 || pp__take_back_locked(p, &p->w[best]) == 0)
            return;
        p->bops->pump_locked(p->broker); /* may drop the mutex meanwhile */
    }
}

void pp__balance_locked(pp_pool *p)
{
    int i, k, best;

    balance_to_broker_locked(p);

    /* Each pass gives one idle worker the backlog of the busiest one. */
    for (k = 0; k < p->n && p->q_head == NULL && any_idle_worker_locked(p); k++) {
        best = busiest_locked(p);
        if (best < 0 || pp__take_back_locked(p, &p->w[best]) == 0)
            return;
        for (i = 0; i < p->n && p->q_head != NULL; i++) {
            if (idle_locked(p, &p->w[i]))
                pp__pump_locked(p, &p->w[i]);
        }
    }
}

void pp__pump_all_locked(pp_pool *p)
{
    pump_all_locked(p, 0);
}

/* A worker's reader pumps it after each batch of results (reader.c), so
 * a chunk left queued for a worker that holds SUBMIT_AHEAD or more goes
 * out at its next result at the latest: never later than before, when
 * the window (window_locked) was full. */
#define SUBMIT_AHEAD 8u

void pp__pump_submitted_locked(pp_pool *p)
{
    pump_all_locked(p, SUBMIT_AHEAD);
}

/* When the pool is closed and the queue is empty, idle workers may go. */
void pp__maybe_quit_workers_locked(pp_pool *p)
{
    int i;

    if (p->state != P_CLOSED || p->q_head != NULL || p->feeding > 0)
        return;
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state == W_READY && !w->quit_wanted) {
            w->quit_wanted = 1;
            pp__pump_locked(p, w);
            /* no start follows: the supervisor retires the launcher */
            pp__plat_cond_signal(p->sup_cond);
        }
    }
}

void pp__feed_end_locked(pp_pool *p)
{
    /* Only join, and idle workers of a closed pool, wait for this: no
     * wake-ups for the calls of a running pool. */
    if (--p->feeding > 0 || p->state == P_RUNNING)
        return;
    pp__maybe_quit_workers_locked(p);
    pp__plat_cond_broadcast(p->core->cond);
    pp__plat_cond_signal(p->sup_cond);
}

/* ---------------------------------------------------------------- broken */

void pp__break_pool_locked(pp_pool *p, pp_status st, const char *msg)
{
    if (p->broken == PP_OK) {
        p->broken = st;
        pp__strlcpy(p->broken_msg, msg, sizeof p->broken_msg);
        pp__log(PP_LOG_ERROR, "pool cannot run tasks any more: %s", msg);
    }
    pp__fail_queue_locked(p, st, p->broken_msg);
    pp__plat_cond_broadcast(p->core->cond);
    pp__plat_cond_signal(p->sup_cond);
}

/* ------------------------------------------------------------ chunk tail */

pp_status pp__chunk_tail(const pp__chunk *c, unsigned from, pp__chunk **out)
{
    const uint8_t *payload = c->frame.data + PP__FRAME_HDR, *skip;
    size_t len = c->frame.len - PP__FRAME_HDR, fnref_end, args_at, at;
    int column = (pp__frame_flags(&c->frame, 0) & PP__FLAG_SCALARS) != 0;
    uint16_t count = (uint16_t)(c->count - from);
    pp__chunk *t;
    uint64_t first;
    pp_status st;
    unsigned i;
    pp__rd rd;

    *out = NULL;
    if (from >= c->count)
        return PP_EINVAL;
    /* TASK payload (wire/msg.h): fnref, u64 first, then the arguments:
     * a column (values/column.h: u8 type + an entry per item), else a
     * tuple each. */
    pp__rd_init(&rd, payload, len);
    st = pp__fnref_skip(&rd);
    fnref_end = rd.pos;
    if (st == PP_OK)
        st = pp__rd_u64(&rd, &first);
    if (st == PP_OK && column)
        st = pp__rd_take(&rd, 1, &skip); /* the column's type */
    if (st == PP_OK && column && c->lazy_bytes > 0)
        ; /* a lazy chunk's frame ends here: its tail is lazy too */
    else if (st == PP_OK && column && (skip[0] == PP_TYPE_INT || skip[0] == PP_TYPE_DOUBLE))
        st = pp__rd_take(&rd, (size_t)from * 8, &skip);
    else if (st == PP_OK && column) {
        const uint8_t *b;
        size_t n;
        pp_type type = (pp_type)skip[0];
        for (i = 0; st == PP_OK && i < from; i++)
            st = pp__column_get_blob(&rd, type, &b, &n);
    }
    for (i = 0; st == PP_OK && !column && i < from; i++)
        st = pp__values_skip(&rd);
    if (st != PP_OK)
        return PP_EPROTO; /* our own frame: cannot happen */
    args_at = rd.pos;

    t = calloc(1, sizeof *t);
    if (t == NULL)
        return PP_ENOMEM;
    pp__buf_init(&t->frame);
    t->first = c->first + from;
    t->count = count;
    st = pp__buf_reserve(&t->frame, PP__FRAME_HDR + fnref_end + 8 + 1 + (len - args_at));
    if (st == PP_OK)
        st = pp__frame_begin(&t->frame, PP__MSG_TASK, count, 0, &at);
    if (st == PP_OK)
        st = pp__buf_put(&t->frame, payload, fnref_end);
    if (st == PP_OK)
        st = pp__buf_put_u64(&t->frame, first + from);
    if (st == PP_OK)
        pp__frame_set_flags(&t->frame, at, pp__frame_flags(&c->frame, 0)); /* the same flags */
    if (st == PP_OK && column)
        st = pp__buf_put_u8(&t->frame, payload[fnref_end + 8]); /* the column's type */
    if (st == PP_OK)
        st = pp__buf_put(&t->frame, payload + args_at, len - args_at);
    if (st == PP_OK)
        st = pp__frame_end(&t->frame, at);
    if (st != PP_OK) {
        pp__chunk_free(t);
        return st;
    }
    if (c->lazy_bytes > 0) /* its frame ends at the column's type byte too */
        t->lazy_bytes = pp__chunk_lazy_tail(c, from, t);
    t->job = c->job;
    t->job->refs++; /* dropped by pp__chunk_free */
    *out = t;
    return PP_OK;
}

void pp__job_forget_source_locked(pp_pool *p, struct pp_result *j)
{
    pp__chunk *c;
    int i;

    /* its queued lazy chunks: their items have all finished (j is
     * ready), nothing to run */
    drop_queued_locked(p, j, 1);
    for (i = 0; i < p->n; i++) {
        for (c = p->w[i].inflight; c != NULL; c = c->next) {
            if (c->job == j && c->lazy_bytes > 0) {
                c->l_items = NULL;
                c->l_argv = NULL;
                c->l_arr = NULL;
            }
        }
    }
}
