/*
 * pool.c — worker supervision, dispatch and the pool's lifecycle.
 *
 * Threads of a pool (all in the parent):
 *  - the supervisor starts workers (also replacements) and reaps dead ones.
 *    It is the only thread that creates worker processes, so on Linux the
 *    parent-death signal of spawned workers is tied to a thread that lives
 *    as long as the pool.
 *  - one reader per worker blocks on that worker's channel, completes
 *    results, and notices the worker's death (EOF) — portable, and on
 *    Windows the only way to wait on many pipes without a 64-handle cap.
 *  - the result thread runs callbacks, so user code never runs while a
 *    pool lock is held and a callback may submit more work.
 * Tasks are written to a worker by whichever thread has work for it
 * (submitter or reader), one writer per worker at a time; a worker gets at
 * most WINDOW chunks ahead, and only small ones while it is busy, so a
 * write never blocks for long on a busy worker and the two directions of a
 * channel can never fill up against each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"
#include "value_internal.h"

#define WINDOW 64u                   /* chunks outstanding per worker, at most */
#define PREFETCH_NS 2000000          /* queue ~2 ms of work ahead of a busy worker */
#define PREFETCH_BYTES (16u * 1024u) /* bytes queued to a busy worker */
#define START_RETRIES 3              /* failed starts before the pool gives up */


/* ------------------------------------------------------------------ core */

static pp_status core_create(pp__core **out)
{
    pp__core *c = calloc(1, sizeof *c);
    apr_status_t ast;

    if (c == NULL)
        return PP_ENOMEM;
    ast = apr_pool_create_unmanaged_ex(&c->mp, NULL, NULL);
    if (ast == APR_SUCCESS)
        ast = apr_thread_mutex_create(&c->mu, APR_THREAD_MUTEX_DEFAULT, c->mp);
    if (ast == APR_SUCCESS)
        ast = apr_thread_cond_create(&c->cond, c->mp);
    if (ast != APR_SUCCESS) {
        if (c->mp)
            apr_pool_destroy(c->mp);
        free(c);
        return pp__from_apr(ast);
    }
    c->refs = 1;
    *out = c;
    return PP_OK;
}

/* Drop a reference; the caller holds c->mu, which this releases. */
static void core_unref_unlock(pp__core *c)
{
    unsigned left = --c->refs;

    apr_thread_mutex_unlock(c->mu);
    if (left == 0) {
        apr_pool_destroy(c->mp);
        free(c);
    }
}

/* ------------------------------------------------------------------ jobs */

int pp__on_result_thread(const pp_pool *p)
{
    return p != NULL && p->resthread != NULL &&
           apr_os_thread_equal(p->resthread_id, apr_os_thread_current());
}

void pp__report_unobserved(struct pp_result *j)
{
    const pp_error *e;

    if (j->first_failed >= j->n || j->observed || j->reported)
        return;
    j->reported = 1;
    e = pp__item_error(&j->items[j->first_failed]);
    pp__log(PP_LOG_ERROR, "unobserved failure of task '%s'%s: %s (%s)%s%s",
            j->fname, j->n > 1 ? " (map item)" : "", pp_err_name(e->status),
            pp_strerror(e->status), e->message[0] ? ": " : "", e->message);
}

pp_status pp__item_status(const pp__item *it)
{
    switch (it->state) {
    case IT_PENDING:
        return PP_ENOTREADY;
    case IT_ERROR:
        return (pp_status)(int32_t)it->aux;
    default:
        return PP_OK;
    }
}

const pp_error *pp__item_error(const pp__item *it)
{
    static const pp_error no_memory = {
        PP_ENOMEM, 0, "the task failed, but there was no memory to record its error"};

    if (it->state != IT_ERROR)
        return NULL;
    return it->u.error != NULL ? it->u.error : &no_memory;
}

static void job_free(struct pp_result *j)
{
    size_t i;

    for (i = 0; j->nheld > 0 && i < j->n; i++) {
        if (j->items[i].state == IT_VALUE)
            pp_values_destroy(j->items[i].u.value);
        else if (j->items[i].state == IT_ERROR)
            free(j->items[i].u.error);
    }
    pp__mem_free(j->items, j->n * sizeof *j->items);
    free(j->order);
    while (j->raw != NULL) {
        pp__rawbuf *next = j->raw->next;
        pp__mem_free(j->raw, j->raw->size);
        j->raw = next;
    }
    while (j->slab != NULL) {
        pp__slab *next = j->slab->next;
        pp__mem_free(j->slab, sizeof *j->slab + j->slab->size);
        j->slab = next;
    }
    free(j);
}

/* size bytes (a multiple of 8) from j's slab. Caller holds the mutex. */
static void *slab_get(struct pp_result *j, size_t size)
{
    pp__slab *b = j->slab;
    size_t cap;
    void *mem;

    if (b == NULL || b->size - b->used < size) {
        /* 16 slots first (an apply reads one), then doubling to 1 MiB */
        cap = b == NULL ? 16 * size : b->size * 2;
        if (cap > ((size_t)1 << 20) - sizeof *b)
            cap = ((size_t)1 << 20) - sizeof *b;
        b = pp__mem_zalloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->size = cap;
        b->next = j->slab;
        j->slab = b;
    }
    mem = (unsigned char *)b->data + b->used;
    b->used += size;
    return mem;
}

pp_status pp__item_value_locked(struct pp_result *j, size_t i, const pp_values **value)
{
    pp__item *it = &j->items[i];
    pp_values *v;
    pp_status st;
    pp__rd rd;

    if (it->state == IT_SCALAR) {
        void *mem = slab_get(j, pp__values_scalar_size());
        if (mem == NULL)
            return PP_ENOMEM;
        /* Lives in the slab: nothing to count for job_free. */
        it->u.value = pp__values_init_scalar(mem, (pp_type)it->aux, it->u.bits);
        it->state = IT_VALUE;
    } else if (it->state == IT_RAW) {
        pp__rd_init(&rd, it->u.raw, it->aux);
        st = pp__values_decode(&rd, &v, NULL, NULL, 0);
        if (st != PP_OK)
            return st;
        it->u.value = v;
        it->state = IT_VALUE;
        j->nheld++;
    }
    *value = it->state == IT_VALUE ? it->u.value : NULL;
    return PP_OK;
}

/* Caller holds core->mu. Frees the job when the last reference goes; the
 * core reference it held is dropped too (never the last one here: the
 * caller's context still uses the mutex, see pp_result_release). */
void pp__job_unref_locked(struct pp_result *j)
{
    if (--j->refs > 0)
        return;
    if (j->complete)
        pp__report_unobserved(j);
    if (j->pool != NULL) {
        if (j->live_prev)
            j->live_prev->live_next = j->live_next;
        else
            j->pool->live = j->live_next;
        if (j->live_next)
            j->live_next->live_prev = j->live_prev;
    }
    j->core->refs--;
    job_free(j);
}

static void item_finish(struct pp_result *j, size_t i, pp_status st)
{
    if (st != PP_OK && i < j->first_failed)
        j->first_failed = i;
    if (j->kind == JOB_IMAP_UNORDERED)
        j->order[j->order_len++] = i;
    j->done++;
}

void pp__item_fail(struct pp_result *j, size_t i, pp_status st, int code, const char *msg)
{
    pp__item *it = &j->items[i];
    pp_error *e;

    if (it->state != IT_PENDING)
        return;
    e = calloc(1, sizeof *e);
    if (e != NULL) {
        e->status = st;
        e->code = code;
        pp__strlcpy(e->message, msg, sizeof e->message);
        j->nheld++;
    }
    it->state = IT_ERROR;
    it->aux = (uint32_t)(int32_t)st;
    it->u.error = e;
    /* Without memory for the details the status alone still gets through. */
    item_finish(j, i, st);
}

static void item_succeed(struct pp_result *j, size_t i, const uint8_t *raw, size_t len)
{
    pp__item *it = &j->items[i];

    if (it->state != IT_PENDING)
        return;
    it->state = IT_RAW;
    it->aux = (uint32_t)len; /* len < PP__FRAME_MAX */
    it->u.raw = raw;
    item_finish(j, i, PP_OK);
}

static void item_succeed_scalar(struct pp_result *j, size_t i, pp_type type, uint64_t bits)
{
    pp__item *it = &j->items[i];

    if (it->state != IT_PENDING)
        return;
    it->state = IT_SCALAR;
    it->aux = (uint32_t)type;
    it->u.bits = bits;
    item_finish(j, i, PP_OK);
}

/* Queue work for the result thread (callbacks, async progress). */
static void cb_enqueue(pp_pool *p, struct pp_result *j)
{
    if (j->cb_queued)
        return;
    j->cb_queued = 1;
    j->refs++;
    j->cb_next = NULL;
    if (p->cb_tail)
        p->cb_tail->cb_next = j;
    else
        p->cb_head = j;
    p->cb_tail = j;
    apr_thread_cond_signal(p->res_cond);
}

static void job_complete_locked(struct pp_result *j);
static void start_failed_locked(pp_pool *p, const char *msg);

static void job_after_items_locked(struct pp_result *j)
{
    pp_pool *p = j->pool;

    if (j->done == j->n) {
        job_complete_locked(j);
        return;
    }
    apr_thread_cond_broadcast(j->core->cond); /* imap readers, sync progress */
    if (j->progress != NULL && !j->sync && p != NULL)
        cb_enqueue(p, j);
}

static void job_complete_locked(struct pp_result *j)
{
    pp_pool *p = j->pool;
    int has_cb = j->callback != NULL || j->error_callback != NULL || j->progress != NULL;

    if (j->complete)
        return;
    j->complete = 1;
    if (has_cb && !j->sync && p != NULL && !p->stop) {
        cb_enqueue(p, j); /* ready once the callbacks have run (as Python) */
    } else {
        j->ready = 1;
    }
    apr_thread_cond_broadcast(j->core->cond);
    pp__job_unref_locked(j); /* the pool's "running" reference */
}

void pp__job_complete_empty_locked(struct pp_result *j)
{
    job_complete_locked(j);
}

void pp__job_fail_range_locked(struct pp_result *j, size_t from, size_t to, pp_status st,
                               const char *msg)
{
    size_t i;

    for (i = from; i < to; i++)
        pp__item_fail(j, i, st, 0, msg);
    job_after_items_locked(j);
}

/* Fail every unfinished item of a chunk. */
static void chunk_fail_locked(pp__chunk *c, pp_status st, int code, const char *msg)
{
    size_t i;

    for (i = c->first; i < c->first + c->count; i++)
        pp__item_fail(c->job, i, st, code, msg);
    job_after_items_locked(c->job);
}

static void chunk_free(pp__chunk *c)
{
    pp__buf_free(&c->frame);
    free(c);
}

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
    return c;
}

void pp__queue_append_locked(pp_pool *p, pp__chunk *list, struct pp_result *j)
{
    pp__chunk *c, *next;

    for (c = list; c != NULL; c = next) {
        next = c->next;
        c->next = NULL;
        c->job = j;
        c->id = p->next_id++;
        pp__frame_set_id(&c->frame, 0, c->id);
        if (p->q_tail)
            p->q_tail->next = c;
        else
            p->q_head = c;
        p->q_tail = c;
    }
}

/* Put a list of chunks back at the front, keeping their order. */
static void queue_push_front(pp_pool *p, pp__chunk *list)
{
    pp__chunk *tail = list;

    if (list == NULL)
        return;
    while (tail->next)
        tail = tail->next;
    tail->next = p->q_head;
    p->q_head = list;
    if (p->q_tail == NULL)
        p->q_tail = tail;
}

static void fail_queue_locked(pp_pool *p, pp_status st, const char *msg)
{
    pp__chunk *c;

    while ((c = queue_pop(p)) != NULL) {
        chunk_fail_locked(c, st, 0, msg);
        chunk_free(c);
    }
}

/* -------------------------------------------------------------- dispatch */

static int any_idle_worker_locked(const pp_pool *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        if (p->w[i].state == W_READY && p->w[i].ninflight == 0 && !p->w[i].quit_sent &&
            (p->maxtasks == 0 || p->w[i].sent < p->maxtasks))
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

static int slot_can_take(const pp_pool *p, const pp__wslot *w, const pp__chunk *c)
{
    if (w->state != W_READY || w->quit_sent)
        return 0;
    if (p->maxtasks != 0 && w->sent >= p->maxtasks)
        return 0;
    if (w->ninflight == 0)
        return 1;
    /* Work ahead only when nobody is idle, within the window, and in small
     * chunks: they fit in the channel's buffer, so the write cannot block
     * until the worker is done. */
    return w->ninflight < window_locked(p) && w->inflight_bytes + c->frame.len <= PREFETCH_BYTES &&
           !any_idle_worker_locked(p);
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
    w->inflight_bytes += c->frame.len;
    w->sent++;
}

/* Move chunks for w from the queue into its in-flight list and gather
 * their frames into out. Caller holds the mutex. Returns 1 if there is
 * something to write. */
static int gather_batch(pp_pool *p, pp__wslot *w, pp__buf *out)
{
    pp__chunk *c;
    size_t at;

    pp__buf_reset(out);
    while (p->q_head != NULL && slot_can_take(p, w, p->q_head)) {
        c = queue_pop(p);
        if (pp__buf_put(out, c->frame.data, c->frame.len) != PP_OK) {
            queue_push_front(p, c);
            break;
        }
        c->sent_ns = pp__plat_now_ns();
        inflight_append(w, c);
    }
    if (out->len == 0 && w->quit_wanted && !w->quit_sent && w->ninflight == 0 &&
        w->state == W_READY) {
        if (pp__frame_begin(out, PP__MSG_QUIT, 0, 0, &at) == PP_OK &&
            pp__frame_end(out, at) == PP_OK)
            w->quit_sent = 1;
    }
    return out->len > 0;
}

/* Write whatever w can take now. One thread writes to a worker at a time;
 * another thread that finds work meanwhile sets repump and leaves. Caller
 * holds the mutex; it is released while writing. */
static void pump_locked(pp_pool *p, pp__wslot *w)
{
    pp__buf out;

    if (w->pumping) {
        w->repump = 1;
        return;
    }
    w->pumping = 1;
    pp__buf_init(&out);
    do {
        w->repump = 0;
        if (!gather_batch(p, w, &out))
            continue;
        apr_thread_mutex_unlock(p->core->mu);
        /* A failed write means the worker is gone; its reader sees EOF and
         * takes care of the in-flight chunks. */
        (void)pp__plat_chan_write(w->chan, out.data, out.len);
        apr_thread_mutex_lock(p->core->mu);
        w->repump = 1;
    } while (w->repump);
    w->pumping = 0;
    if (w->state == W_DEAD)
        apr_thread_cond_signal(p->sup_cond); /* it may reap the slot now */
    pp__buf_free(&out);
}

static void pump_all_locked(pp_pool *p)
{
    int i, pass;

    /* Idle workers first, so work spreads before anyone works ahead. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < p->n && (p->q_head != NULL || p->state == P_CLOSED); i++) {
            pp__wslot *w = &p->w[i];
            if (w->state == W_READY && (pass == 1 || w->ninflight == 0))
                pump_locked(p, w);
        }
    }
}

void pp__pump_all(pp_pool *p)
{
    apr_thread_mutex_lock(p->core->mu);
    pump_all_locked(p);
    apr_thread_mutex_unlock(p->core->mu);
}

/* When the pool is closed and the queue is empty, idle workers may go. */
static void maybe_quit_workers_locked(pp_pool *p)
{
    int i;

    if (p->state != P_CLOSED || p->q_head != NULL || p->feeding > 0)
        return;
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state == W_READY && !w->quit_wanted) {
            w->quit_wanted = 1;
            pump_locked(p, w);
        }
    }
}

void pp__feed_end_locked(pp_pool *p)
{
    /* Only join, and idle workers of a closed pool, wait for this: no
     * wake-ups for the calls of a running pool. */
    if (--p->feeding > 0 || p->state == P_RUNNING)
        return;
    maybe_quit_workers_locked(p);
    apr_thread_cond_broadcast(p->core->cond);
    apr_thread_cond_signal(p->sup_cond);
}

/* ---------------------------------------------------------------- broken */

static void break_pool_locked(pp_pool *p, pp_status st, const char *msg)
{
    if (p->broken == PP_OK) {
        p->broken = st;
        pp__strlcpy(p->broken_msg, msg, sizeof p->broken_msg);
        pp__log(PP_LOG_ERROR, "pool cannot run tasks any more: %s", msg);
    }
    fail_queue_locked(p, st, p->broken_msg);
    apr_thread_cond_broadcast(p->core->cond);
    apr_thread_cond_signal(p->sup_cond);
}

/* ---------------------------------------------------------------- reader */

/* One item's outcome: status and code, then for success the result tuple
 * (validated and stepped over: *raw / *rawlen locate it), else a message. */
static pp_status read_outcome(pp__rd *rd, pp_status *st, int *code, const uint8_t **raw,
                              size_t *rawlen, char *msg)
{
    const uint8_t *m;
    uint32_t s, c;
    size_t n, start;
    pp_status rs;

    rs = pp__rd_u32(rd, &s);
    if (rs == PP_OK)
        rs = pp__rd_u32(rd, &c);
    if (rs != PP_OK)
        return rs;
    *st = (pp_status)(int32_t)s;
    *code = (int)(int32_t)c;
    if (*st == PP_OK) {
        start = rd->pos;
        rs = pp__values_skip(rd);
        *raw = rd->p + start;
        *rawlen = rd->pos - start;
        return rs;
    }
    rs = pp__rd_blob(rd, PP__ERRMSG_MAX, &m, &n);
    if (rs != PP_OK)
        return rs;
    memcpy(msg, m, n);
    msg[n] = '\0';
    return PP_OK;
}

/* A chunk's service time: from when the worker could start it (sent, or
 * its previous result) to its result. The pool's moving average sizes the
 * prefetch window (window_locked). */
static void record_service_time(pp_pool *p, pp__wslot *w, const pp__chunk *c)
{
    int64_t now = pp__plat_now_ns();
    int64_t start = c->sent_ns > w->last_result_ns ? c->sent_ns : w->last_result_ns;
    uint64_t service = now > start ? (uint64_t)(now - start) : 1;

    w->last_result_ns = now;
    p->chunk_ema_ns = p->chunk_ema_ns ? (p->chunk_ema_ns * 7 + service) / 8 : service;
}

/* Keep the payload of a RESULT frame (once per frame): *buf is the copy. */
static pp_status keep_payload(struct pp_result *j, const uint8_t *payload, uint32_t len,
                              pp__rawbuf **buf)
{
    pp__rawbuf *b;

    if (*buf != NULL)
        return PP_OK;
    b = pp__mem_zalloc(sizeof *b + len);
    if (b == NULL)
        return PP_ENOMEM;
    b->size = sizeof *b + len;
    memcpy(b->data, payload, len);
    b->next = j->raw;
    j->raw = b;
    *buf = b;
    return PP_OK;
}

/* Encoded outcome of a task that returned one scalar: status, code, tuple. */
#define SCALAR_OUTCOME (4 + 4 + PP__VALUES_HDR + 9)
static const uint8_t zero8[8] = {0, 0, 0, 0, 0, 0, 0, 0};

/* RESULT payload in the scalar-column form (codec.h): every item
 * succeeded with one value of one type. */
static pp_status read_result_column(pp__chunk *c, pp__rd *rd)
{
    uint64_t bits;
    uint8_t tag = 0;
    size_t i;

    if (pp__rd_u8(rd, &tag) != PP_OK || (tag != PP_TYPE_INT && tag != PP_TYPE_DOUBLE) ||
        pp__rd_left(rd) != (size_t)c->count * 8)
        return PP_EPROTO;
    for (i = 0; i < c->count; i++) {
        pp__rd_u64(rd, &bits); /* length checked above */
        item_succeed_scalar(c->job, c->first + i, (pp_type)tag, bits);
    }
    return PP_OK;
}

/* RESULT payload in the general form: an outcome per item. A one-scalar
 * success (status 0, code 0, one int or double: what the worker writes)
 * is taken directly; any other success is kept encoded (a copy of the
 * payload, made at the first such result) and decoded when read. */
static pp_status read_result_outcomes(pp__chunk *c, pp__rd *rd, const uint8_t *payload,
                                      uint32_t len)
{
    char msg[PP__ERRMSG_MAX + 1];
    pp__rawbuf *buf = NULL;
    const uint8_t *raw;
    pp_status st = PP_OK, ist;
    size_t i, rawlen;
    uint64_t bits;
    pp_type type;
    pp__rd one;
    int code;

    for (i = 0; i < c->count && st == PP_OK; i++) {
        if (pp__rd_left(rd) >= SCALAR_OUTCOME && memcmp(rd->p + rd->pos, zero8, 8) == 0) {
            pp__rd_init(&one, rd->p + rd->pos + 8, SCALAR_OUTCOME - 8);
            if (pp__values_peek_scalar(&one, &type, &bits)) {
                item_succeed_scalar(c->job, c->first + i, type, bits);
                rd->pos += SCALAR_OUTCOME;
                continue;
            }
        }
        msg[0] = '\0';
        st = read_outcome(rd, &ist, &code, &raw, &rawlen, msg);
        if (st != PP_OK)
            break;
        if (ist != PP_OK) {
            pp__item_fail(c->job, c->first + i, ist, code, msg);
        } else {
            st = keep_payload(c->job, payload, len, &buf);
            if (st == PP_OK)
                item_succeed(c->job, c->first + i, buf->data + (raw - payload), rawlen);
        }
    }
    return st;
}

static pp_status handle_result(pp_pool *p, pp__wslot *w, const pp__frame_hdr *h,
                               const uint8_t *payload)
{
    pp__chunk *c = w->inflight;
    pp_status st;
    pp__rd rd;

    /* The worker answers in order: the oldest chunk in flight is the one. */
    if (c == NULL || c->id != h->id || c->count != h->count)
        return PP_EPROTO;
    pp__rd_init(&rd, payload, h->length);
    st = (h->flags & PP__FLAG_SCALARS) ? read_result_column(c, &rd)
                                       : read_result_outcomes(c, &rd, payload, h->length);
    if (st == PP_OK && pp__rd_left(&rd) != 0)
        st = PP_EPROTO;
    if (st != PP_OK)
        return st;
    record_service_time(p, w, c);
    w->inflight = c->next;
    if (w->inflight == NULL)
        w->inflight_tail = NULL;
    w->ninflight--;
    w->inflight_bytes -= c->frame.len;
    job_after_items_locked(c->job);
    chunk_free(c);
    return PP_OK;
}

static pp_status handle_ready(pp_pool *p, pp__wslot *w, const pp__frame_hdr *h,
                              const uint8_t *payload)
{
    char msg[PP__ERRMSG_MAX + 1];
    char line[PP__ERRMSG_MAX + 64];
    const uint8_t *raw;
    pp_status st, ist;
    size_t rawlen;
    uint64_t pid;
    pp__rd rd;
    int code;

    if (w->state != W_STARTING)
        return PP_EPROTO;
    msg[0] = '\0';
    pp__rd_init(&rd, payload, h->length);
    st = pp__rd_u64(&rd, &pid);
    if (st == PP_OK)
        st = read_outcome(&rd, &ist, &code, &raw, &rawlen, msg);
    if (st != PP_OK)
        return st;
    w->pid = pid;
    w->init_reported = 1;
    if (p->creating)
        p->init_pending--;
    if (ist != PP_OK) {
        snprintf(line, sizeof line, "initializer failed in worker %llu: %s (code %d)",
                 (unsigned long long)pid, msg, code);
        break_pool_locked(p, PP_ETASK, line);
        return PP_OK; /* the worker exits by itself */
    }
    w->state = W_READY;
    p->start_failures = 0;
    apr_thread_cond_broadcast(p->core->cond);
    return PP_OK;
}

static void describe_exit(const pp__exit_info *e, uint64_t pid, char *buf, size_t len, int *code)
{
    if (e->signaled) {
        snprintf(buf, len, "worker process %llu was killed by signal %d",
                 (unsigned long long)pid, e->signo);
        *code = e->signo;
    } else {
        snprintf(buf, len, "worker process %llu exited with code %d while running the task",
                 (unsigned long long)pid, e->code);
        *code = e->code;
    }
}

/* The worker's channel hit EOF: collect its exit status, fail the chunk
 * it was running, give the rest back to the queue. */
static void handle_death(pp_pool *p, pp__wslot *w)
{
    pp__exit_info info;
    char msg[160];
    pp__chunk *running, *rest;
    int code = 0;

    /* Bounded: a worker that closed its channel but lingers is killed. */
    memset(&info, 0, sizeof info);
    if (pp__plat_proc_wait(w->proc, 2000, &info) == PP_ETIMEDOUT) {
        pp__plat_proc_kill(w->proc);
        pp__plat_proc_wait(w->proc, PP_INFINITE, &info);
    }

    apr_thread_mutex_lock(p->core->mu);
    w->exit = info;
    running = w->inflight;
    rest = running ? running->next : NULL;
    w->inflight = w->inflight_tail = NULL;
    w->ninflight = 0;
    w->inflight_bytes = 0;
    if (running != NULL) {
        running->next = NULL;
        if (p->state == P_TERMINATING) {
            chunk_fail_locked(running, PP_ETERMINATED, 0, "pool was terminated");
        } else {
            describe_exit(&info, w->pid, msg, sizeof msg, &code);
            chunk_fail_locked(running, PP_EWORKERDIED, code, msg);
            pp__log(PP_LOG_WARN, "%s; starting a replacement", msg);
        }
        chunk_free(running);
    }
    if (p->state == P_TERMINATING) {
        while (rest != NULL) {
            pp__chunk *next = rest->next;
            chunk_fail_locked(rest, PP_ETERMINATED, 0, "pool was terminated");
            chunk_free(rest);
            rest = next;
        }
    } else {
        queue_push_front(p, rest); /* sent but never started */
    }
    if (w->state == W_STARTING && !w->init_reported && !w->killed) {
        /* Died before it could report: crash in the initializer, or in
         * main() before pp_init() of a spawned worker. */
        char line[200];
        describe_exit(&info, w->pid, msg, sizeof msg, &code);
        snprintf(line, sizeof line, "a worker died while starting (%s)", msg);
        start_failed_locked(p, line);
    }
    w->state = W_DEAD;
    /* Wake a writer blocked on this channel (the worker's end may live on
     * elsewhere, so its write might never end otherwise); the slot is
     * reaped once it has let go (supervise_once). */
    pp__plat_chan_shutdown(w->chan);
    apr_thread_cond_signal(p->sup_cond);
    pump_all_locked(p);
    apr_thread_mutex_unlock(p->core->mu);
}

static void *APR_THREAD_FUNC reader_main(apr_thread_t *thd, void *arg)
{
    pp__wslot *w = arg;
    pp_pool *p = w->pool;
    const uint8_t *payload;
    pp__frame_hdr h;
    pp__reader rd;
    pp_status st;

    st = pp__reader_init(&rd, w->chan);
    while (st == PP_OK) {
        st = pp__reader_next(&rd, &h, &payload);
        if (st != PP_OK)
            break;
        apr_thread_mutex_lock(p->core->mu);
        if (h.type == PP__MSG_RESULT)
            st = handle_result(p, w, &h, payload);
        else if (h.type == PP__MSG_READY)
            st = handle_ready(p, w, &h, payload);
        else
            st = PP_EPROTO;
        /* Batch: finish every frame already buffered before writing more. */
        if (st == PP_OK && !pp__reader_buffered(&rd)) {
            pump_locked(p, w);
            maybe_quit_workers_locked(p);
        }
        apr_thread_mutex_unlock(p->core->mu);
    }
    if (st != PP_ECONNLOST) {
        /* A worker that sends garbage cannot be trusted with more work. */
        pp__log(PP_LOG_ERROR, "worker %llu: %s; killing it", (unsigned long long)w->pid,
                pp_strerror(st));
        pp__plat_proc_kill(w->proc);
    }
    pp__reader_free(&rd);
    handle_death(p, w);
    (void)thd; /* returning (not apr_thread_exit) lets apr_thread_join free the thread */
    return NULL;
}

/* ------------------------------------------------------------ supervisor */

/* Launch a worker process for slot w and send it HELLO. Called on the
 * supervisor thread without the mutex; the reader thread is started by
 * the caller under the mutex (attach_reader_locked). */
static pp_status launch_worker(pp_pool *p, pp__wslot *w)
{
    apr_status_t ast;
    pp_status st;

    ast = apr_pool_create_unmanaged_ex(&w->mp, NULL, NULL);
    if (ast != APR_SUCCESS)
        return pp__from_apr(ast);
    st = pp__plat_launcher_start(p->launcher, &w->proc, &w->chan);
    if (st == PP_OK)
        st = pp__plat_chan_write(w->chan, p->hello.data, p->hello.len);
    if (st != PP_OK) {
        pp__plat_chan_close(w->chan);
        pp__plat_proc_release(w->proc);
        apr_pool_destroy(w->mp);
        w->chan = NULL;
        w->proc = NULL;
        w->mp = NULL;
    }
    return st;
}

static pp_status attach_reader_locked(pp_pool *p, pp__wslot *w)
{
    apr_status_t ast;

    w->state = W_STARTING; /* before the reader can see READY */
    w->pid = pp__plat_proc_pid(w->proc);
    if (p->state == P_TERMINATING) {
        w->killed = 1;
        pp__plat_proc_kill(w->proc); /* terminated while it was starting */
    }
    ast = apr_thread_create(&w->reader, NULL, reader_main, w, w->mp);
    if (ast != APR_SUCCESS) {
        w->state = W_EMPTY;
        pp__plat_chan_close(w->chan);
        pp__plat_proc_release(w->proc);
        apr_pool_destroy(w->mp);
        w->chan = NULL;
        w->proc = NULL;
        w->mp = NULL;
        return pp__from_apr(ast);
    }
    return PP_OK;
}

/* Count a failed start; too many in a row (or any while creating) and the
 * pool gives up instead of looping forever. */
static void start_failed_locked(pp_pool *p, const char *msg)
{
    pp__log(PP_LOG_WARN, "%s", msg);
    if (p->creating || ++p->start_failures >= START_RETRIES)
        break_pool_locked(p, PP_ESPAWN, msg);
    if (p->creating)
        p->init_pending = 0;
}

static void reap_worker(pp__wslot *w)
{
    apr_status_t rv;

    apr_thread_join(&rv, w->reader);
    pp__plat_chan_close(w->chan);
    pp__plat_proc_release(w->proc);
    apr_pool_destroy(w->mp);
    w->reader = NULL;
    w->chan = NULL;
    w->proc = NULL;
    w->mp = NULL;
    w->pid = 0;
    w->sent = 0;
    w->quit_wanted = w->quit_sent = 0;
    w->killed = 0;
    w->init_reported = 0;
    w->state = W_EMPTY;
}

static int work_left_locked(const pp_pool *p)
{
    int i;

    if (p->q_head != NULL || p->feeding > 0)
        return 1;
    for (i = 0; i < p->n; i++) {
        if (p->w[i].ninflight > 0)
            return 1;
    }
    return 0;
}

static int want_workers_locked(const pp_pool *p)
{
    if (p->broken != PP_OK || p->stop)
        return 0;
    return p->state == P_RUNNING || (p->state == P_CLOSED && work_left_locked(p));
}

/* One pass: reap the dead, start what is missing. Holds the mutex except
 * while launching or joining. Returns 1 if something changed. */
static int supervise_once(pp_pool *p)
{
    char msg[160];
    pp_status st;
    int i, changed = 0;

    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        /* Not while another thread is writing to it (mutex released):
         * handle_death has shut the channel down, so the write ends. */
        if (w->state == W_DEAD && !w->pumping) {
            apr_thread_mutex_unlock(p->core->mu);
            reap_worker(w);
            apr_thread_mutex_lock(p->core->mu);
            changed = 1;
        }
        if (w->state != W_EMPTY || !want_workers_locked(p))
            continue;
        apr_thread_mutex_unlock(p->core->mu);
        st = launch_worker(p, w);
        apr_thread_mutex_lock(p->core->mu);
        if (st == PP_OK)
            st = attach_reader_locked(p, w);
        changed = 1;
        if (st != PP_OK) {
            snprintf(msg, sizeof msg, "could not start a worker process: %s (os error %d)",
                     pp_strerror(st), pp_os_error());
            start_failed_locked(p, msg);
        }
    }
    maybe_quit_workers_locked(p);
    if (changed)
        apr_thread_cond_broadcast(p->core->cond);
    return changed;
}

static void *APR_THREAD_FUNC supervisor_main(apr_thread_t *thd, void *arg)
{
    pp_pool *p = arg;

    apr_thread_mutex_lock(p->core->mu);
    while (!p->stop) {
        if (supervise_once(p))
            continue;
        /* Timed: a start that failed is retried after a pause. */
        apr_thread_cond_timedwait(p->sup_cond, p->core->mu, apr_time_from_msec(100));
    }
    apr_thread_mutex_unlock(p->core->mu);
    (void)thd; /* returning (not apr_thread_exit) lets apr_thread_join free the thread */
    return NULL;
}

/* ---------------------------------------------------------- result thread */

static void run_callbacks(pp_pool *p, struct pp_result *j)
{
    size_t done;
    const pp_error *err = NULL;
    int complete = j->complete;

    done = j->done;
    if (complete && j->first_failed < j->n) {
        err = pp__item_error(&j->items[j->first_failed]);
        if (j->error_callback)
            j->observed = 1;
    }
    apr_thread_mutex_unlock(p->core->mu);
    if (j->progress && done != j->progress_seen)
        j->progress(done, j->n, j->progress_ud);
    j->progress_seen = done;
    if (complete) {
        if (err == NULL && j->callback)
            j->callback(j, j->userdata);
        else if (err != NULL && j->error_callback)
            j->error_callback(j, err, j->userdata);
    }
    apr_thread_mutex_lock(p->core->mu);
}

static void *APR_THREAD_FUNC resthread_main(apr_thread_t *thd, void *arg)
{
    pp_pool *p = arg;
    struct pp_result *j;

    apr_thread_mutex_lock(p->core->mu);
    for (;;) {
        j = p->cb_head;
        if (j == NULL) {
            if (p->stop)
                break;
            apr_thread_cond_wait(p->res_cond, p->core->mu);
            continue;
        }
        p->cb_head = j->cb_next;
        if (p->cb_head == NULL)
            p->cb_tail = NULL;
        j->cb_queued = 0;
        p->resthread_busy = 1;
        run_callbacks(p, j);
        p->resthread_busy = 0;
        if (j->complete && !j->cb_queued)
            j->ready = 1;
        /* result waiters, and join (which waits for this thread to idle) */
        apr_thread_cond_broadcast(p->core->cond);
        pp__job_unref_locked(j);
    }
    apr_thread_mutex_unlock(p->core->mu);
    (void)thd; /* returning (not apr_thread_exit) lets apr_thread_join free the thread */
    return NULL;
}

static void *APR_THREAD_FUNC resthread_entry(apr_thread_t *thd, void *arg)
{
    pp_pool *p = arg;

    apr_thread_mutex_lock(p->core->mu);
    p->resthread_id = apr_os_thread_current();
    apr_thread_mutex_unlock(p->core->mu);
    return resthread_main(thd, arg);
}

/* -------------------------------------------------------------- creation */

static pp_status check_options(const pp_pool_options *o, int *method)
{
    if (o->processes < 0 || o->processes > PP_POOL_MAX_PROCESSES)
        return PP_EINVAL;
    if (o->maxtasksperchild < 0)
        return PP_EINVAL;
    if (o->chunksize > PP__MAX_CHUNK)
        return PP_EINVAL;
    switch (o->start_method) {
    case PP_START_DEFAULT:
        *method = pp__plat_default_start_method();
        return PP_OK;
    case PP_START_FORK:
        *method = PP__START_FORK;
        return PP_OK;
    case PP_START_SPAWN:
        *method = PP__START_SPAWN;
        return PP_OK;
    case PP_START_FORKSERVER:
        *method = PP__START_FORKSERVER;
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

static pp_status encode_hello(pp_pool *p, const pp_pool_options *o)
{
    pp__fnref ref;
    pp_status st;
    size_t at;

    st = pp__fnref_make(o->initializer, p->method == PP__START_FORK, &ref);
    if (st != PP_OK)
        return st;
    st = pp__frame_begin(&p->hello, PP__MSG_HELLO, 0, 0, &at);
    if (st == PP_OK)
        st = pp__buf_put_u32(&p->hello, p->maxtasks);
    if (st == PP_OK)
        st = pp__fnref_encode(&ref, &p->hello);
    if (st == PP_OK)
        st = pp__values_encode(o->initargs, &p->hello);
    if (st == PP_OK)
        st = pp__frame_end(&p->hello, at);
    return st;
}

static pp_status pool_alloc(const pp_pool_options *o, int method, pp_pool **out)
{
    pp_pool *p = calloc(1, sizeof *p);
    pp_status st;
    int i;

    if (p == NULL)
        return PP_ENOMEM;
    p->method = method;
    p->n = o->processes ? o->processes : pp__plat_cpu_count();
    p->maxtasks = (uint32_t)o->maxtasksperchild;
    p->chunksize = o->chunksize;
    pp__buf_init(&p->hello);
    p->w = calloc((size_t)p->n, sizeof *p->w);
    st = p->w ? core_create(&p->core) : PP_ENOMEM;
    if (st == PP_OK)
        st = pp__from_apr(apr_thread_cond_create(&p->sup_cond, p->core->mp));
    if (st == PP_OK)
        st = pp__from_apr(apr_thread_cond_create(&p->res_cond, p->core->mp));
    if (st == PP_OK)
        st = encode_hello(p, o);
    if (st != PP_OK) {
        if (p->core) {
            apr_thread_mutex_lock(p->core->mu);
            core_unref_unlock(p->core);
        }
        pp__buf_free(&p->hello);
        free(p->w);
        free(p);
        return st;
    }
    for (i = 0; i < p->n; i++) {
        p->w[i].pool = p;
        p->w[i].idx = i;
    }
    p->mp = p->core->mp;
    p->next_id = 1;
    *out = p;
    return PP_OK;
}

static void pool_free(pp_pool *p)
{
    pp__buf_free(&p->hello);
    free(p->w);
    apr_thread_mutex_lock(p->core->mu);
    core_unref_unlock(p->core);
    free(p);
}

static void stop_threads(pp_pool *p)
{
    apr_status_t rv;

    apr_thread_mutex_lock(p->core->mu);
    p->stop = 1;
    apr_thread_cond_broadcast(p->core->cond);
    apr_thread_cond_signal(p->sup_cond);
    apr_thread_cond_signal(p->res_cond);
    apr_thread_mutex_unlock(p->core->mu);
    if (p->supervisor)
        apr_thread_join(&rv, p->supervisor);
    if (p->resthread)
        apr_thread_join(&rv, p->resthread);
    p->supervisor = p->resthread = NULL;
}

static pp_status wait_created(pp_pool *p)
{
    pp_status st;

    apr_thread_mutex_lock(p->core->mu);
    while (p->init_pending > 0 && p->broken == PP_OK)
        apr_thread_cond_wait(p->core->cond, p->core->mu);
    p->creating = 0;
    st = p->broken;
    apr_thread_mutex_unlock(p->core->mu);
    return st;
}

static pp_status start_threads(pp_pool *p)
{
    apr_status_t ast;

    /* Created from the unmanaged core pool by this thread only, before any
     * other pool thread exists: APR pools are not thread-safe. */
    ast = apr_thread_create(&p->resthread, NULL, resthread_entry, p, p->mp);
    if (ast == APR_SUCCESS)
        ast = apr_thread_create(&p->supervisor, NULL, supervisor_main, p, p->mp);
    return pp__from_apr(ast);
}

pp_status pp_pool_create(pp_pool **out, const pp_pool_options *opts)
{
    pp_pool_options defaults;
    pp_pool *p;
    pp_status st;
    int method;

    memset(&defaults, 0, sizeof defaults);
    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    st = check_options(opts, &method);
    if (st != PP_OK)
        return st;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    st = pool_alloc(opts, method, &p);
    if (st != PP_OK)
        return st;
    /* Fork: the zygote is forked here, before this pool has any thread. */
    st = pp__plat_launcher_create(method, &p->launcher);
    if (st != PP_OK) {
        pool_free(p);
        return st;
    }
    p->creating = 1;
    p->init_pending = p->n;
    st = start_threads(p);
    if (st == PP_OK)
        st = wait_created(p);
    if (st != PP_OK) {
        pp_pool_terminate(p);
        pp_pool_join(p, PP_INFINITE);
        pp_pool_destroy(p);
        return st;
    }
    *out = p;
    return PP_OK;
}

int pp_pool_size(const pp_pool *pool)
{
    return pool ? pool->n : 0;
}

/* ------------------------------------------------------------- lifecycle */

pp_status pp_pool_close(pp_pool *p)
{
    if (p == NULL)
        return PP_EINVAL;
    apr_thread_mutex_lock(p->core->mu);
    if (p->state == P_RUNNING)
        p->state = P_CLOSED;
    maybe_quit_workers_locked(p);
    apr_thread_cond_broadcast(p->core->cond);
    apr_thread_cond_signal(p->sup_cond);
    apr_thread_mutex_unlock(p->core->mu);
    return PP_OK;
}

pp_status pp_pool_terminate(pp_pool *p)
{
    int i;

    if (p == NULL)
        return PP_EINVAL;
    apr_thread_mutex_lock(p->core->mu);
    if (p->state == P_JOINED || p->state == P_TERMINATING) {
        apr_thread_mutex_unlock(p->core->mu);
        return PP_OK;
    }
    p->state = P_TERMINATING;
    fail_queue_locked(p, PP_ETERMINATED, "pool was terminated");
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state == W_STARTING || w->state == W_READY) {
            w->killed = 1;
            pp__plat_proc_kill(w->proc);
        }
    }
    apr_thread_cond_broadcast(p->core->cond);
    apr_thread_cond_signal(p->sup_cond);
    apr_thread_mutex_unlock(p->core->mu);
    return PP_OK;
}

static int all_done_locked(const pp_pool *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        if (p->w[i].state != W_EMPTY)
            return 0;
    }
    /* A submission still feeding touches the pool on its next batch (which
     * fails its remaining items once the pool is terminated or broken). */
    if (p->feeding > 0)
        return 0;
    if (p->state == P_CLOSED && p->broken == PP_OK && work_left_locked(p))
        return 0;
    return p->cb_head == NULL && !p->resthread_busy;
}

pp_status pp_pool_join(pp_pool *p, int64_t timeout_ms)
{
    int64_t deadline;
    int64_t left;

    if (p == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (pp__on_result_thread(p))
        return PP_EDEADLK;
    deadline = pp__plat_now_ms() + timeout_ms;
    apr_thread_mutex_lock(p->core->mu);
    if (p->state == P_RUNNING) {
        apr_thread_mutex_unlock(p->core->mu);
        return PP_ESTATE;
    }
    while (p->state != P_JOINED && !all_done_locked(p)) {
        if (timeout_ms == PP_INFINITE) {
            apr_thread_cond_wait(p->core->cond, p->core->mu);
            continue;
        }
        left = deadline - pp__plat_now_ms();
        if (left <= 0) {
            apr_thread_mutex_unlock(p->core->mu);
            return PP_ETIMEDOUT;
        }
        apr_thread_cond_timedwait(p->core->cond, p->core->mu, apr_time_from_msec(left));
    }
    if (p->state == P_JOINED) {
        apr_thread_mutex_unlock(p->core->mu);
        return PP_OK;
    }
    apr_thread_mutex_unlock(p->core->mu);
    stop_threads(p);
    pp__plat_launcher_destroy(p->launcher);
    p->launcher = NULL;
    apr_thread_mutex_lock(p->core->mu);
    p->state = P_JOINED;
    apr_thread_mutex_unlock(p->core->mu);
    return PP_OK;
}

void pp_pool_destroy(pp_pool *p)
{
    struct pp_result *j, *next;

    if (p == NULL)
        return;
    if (pp__on_result_thread(p)) {
        pp__log(PP_LOG_ERROR, "pp_pool_destroy() called from a callback: ignored");
        return;
    }
    if (p->state != P_JOINED) {
        pp_pool_terminate(p);
        pp_pool_join(p, PP_INFINITE);
    }
    apr_thread_mutex_lock(p->core->mu);
    for (j = p->live; j != NULL; j = next) {
        next = j->live_next;
        if (j->complete)
            pp__report_unobserved(j);
        j->pool = NULL;
        j->live_prev = j->live_next = NULL;
    }
    p->live = NULL;
    apr_thread_mutex_unlock(p->core->mu);
    pool_free(p);
}
