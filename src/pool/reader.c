/*
 * reader.c — one reader thread per worker: reads its frames, completes
 * results (READY, RESULT), and handles the worker's death: fails the chunk
 * it was running and gives the rest back to the queue.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/column.h"
#include "values/value_internal.h"

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
static int64_t record_service_time(pp_pool *p, pp__wslot *w, const pp__chunk *c)
{
    int64_t now = pp__plat_now_ns();
    int64_t start = c->sent_ns > w->last_result_ns ? c->sent_ns : w->last_result_ns;
    uint64_t service = now > start ? (uint64_t)(now - start) : 1;

    w->last_result_ns = now;
    p->chunk_ema_ns = p->chunk_ema_ns ? (p->chunk_ema_ns * 7 + service) / 8 : service;
    return now;
}

/* Keep the payload of a RESULT frame (once per frame): *buf is the copy. */
static pp_status keep_payload(struct pp_result *j, const uint8_t *payload, uint32_t len,
                              pp__rawbuf **buf)
{
    pp__rawbuf *b;
    size_t cap, size = offsetof(pp__rawbuf, data) + len;

    if (*buf != NULL)
        return PP_OK;
    /* not zeroed: the copy below fills it */
    b = size < PP__PLAT_BIG_MIN ? malloc(size) : pp__mem_big_alloc(size, 0, &cap);
    if (b == NULL)
        return PP_ENOMEM;
    b->size = size; /* pp__mem_free(b, size) frees either */
    memcpy(b->data, payload, len);
    b->next = j->raw;
    j->raw = b;
    *buf = b;
    return PP_OK;
}

/* Encoded outcome of a task that returned one scalar: status, code, tuple. */
#define SCALAR_OUTCOME PP__SCALAR_OUTCOME
static const uint8_t zero8[8] = {0, 0, 0, 0, 0, 0, 0, 0};

/* RESULT payload in the column form (values/column.h): every item
 * succeeded with one value of one type. A scalar column is taken in one
 * pass; a blob column is checked whole first (nothing is applied from a
 * malformed one), then kept (one copy of the payload) and each item's
 * bytes are read in place from the copy. */
static pp_status read_result_column(pp__chunk *c, pp__rd *rd, const uint8_t *payload, uint32_t len,
                                    size_t from, size_t n)
{
    pp__rawbuf *buf = NULL;
    uint8_t tag = 0;
    size_t start;
    pp_status st;

    if (pp__rd_u8(rd, &tag) != PP_OK)
        return PP_EPROTO;
    if (tag == PP_TYPE_INT || tag == PP_TYPE_DOUBLE) {
        if (pp__rd_left(rd) != n * 8)
            return PP_EPROTO;
        pp__items_succeed_column(c->job, c->first + from, n, (pp_type)tag, rd->p + rd->pos);
        rd->pos += n * 8;
        return PP_OK;
    }
    if (tag != PP_TYPE_STR && tag != PP_TYPE_BYTES)
        return PP_EPROTO;
    start = rd->pos;
    if (!pp__column_check_blobs(rd->p + start, pp__rd_left(rd), (pp_type)tag, n))
        return PP_EPROTO;
    rd->pos = rd->len;
    st = keep_payload(c->job, payload, len, &buf);
    if (st != PP_OK)
        return st;
    /* The items' tuples built now (in this thread, while the workers
     * still run) instead of by the reader of the results, in the job's
     * block at the items' indexes. Again, in the copy: the same bytes,
     * checked above, so each entry is just stepped over. */
    pp__items_succeed_blobs(c->job, c->first + from, n, (pp_type)tag, buf->data + start,
                            pp__job_tuples(c->job, c->first + from));
    return PP_OK;
}

/* RESULT payload in the general form: an outcome per item. A one-scalar
 * success (status 0, code 0, one int or double: what the worker writes)
 * is taken directly; any other success is kept encoded (a copy of the
 * payload, made at the first such result) and decoded when read. */
static pp_status read_result_outcomes(pp__chunk *c, pp__rd *rd, const uint8_t *payload,
                                      uint32_t len, size_t from, size_t n)
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

    for (i = from; i < from + n && st == PP_OK; i++) {
        if (pp__rd_left(rd) >= SCALAR_OUTCOME && memcmp(rd->p + rd->pos, zero8, 8) == 0) {
            pp__rd_init(&one, rd->p + rd->pos + 8, SCALAR_OUTCOME - 8);
            if (pp__values_peek_scalar(&one, &type, &bits)) {
                pp__item_succeed_scalar(c->job, c->first + i, type, bits);
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
                pp__item_succeed(c->job, c->first + i, buf->data + (raw - payload), rawlen);
        }
    }
    return st;
}

pp_status pp__chunk_apply_result_locked(pp__chunk *c, const pp__frame_hdr *h,
                                        const uint8_t *payload)
{
    int partial = (h->flags & PP__FLAG_PARTIAL) != 0;
    pp_status st;
    pp__rd rd;

    /* A partial RESULT covers the chunk's next items, the last one the rest.
     * (Results in place are only a worker's, read by handle_result.) */
    if ((h->flags & PP__FLAG_INBOX) || c->id != h->id || h->count > c->count - c->answered ||
        (partial && h->count == 0) || (!partial && h->count != c->count - c->answered))
        return PP_EPROTO;
    pp__rd_init(&rd, payload, h->length);
    st = (h->flags & PP__FLAG_SCALARS)
             ? read_result_column(c, &rd, payload, h->length, c->answered, h->count)
             : read_result_outcomes(c, &rd, payload, h->length, c->answered, h->count);
    if (st == PP_OK && pp__rd_left(&rd) != 0)
        st = PP_EPROTO;
    if (st == PP_OK)
        c->answered += h->count;
    return st;
}

/* Where the argument column of c lies in its worker's control block
 * (bytes from the block's start), if c is a chunk of int or double
 * arguments that went through the inbox; else 0. Computed from the
 * parent's own copy of the chunk, never from what the worker wrote: the
 * worker may keep its results there (pool/wctl.h). */
static size_t inbox_column_at(const pp__chunk *c)
{
    size_t len = c->frame.len, col = (size_t)c->count * 8;
    uint8_t tag;

    if (!c->in_inbox || c->lazy_bytes > 0 || c->count == 0 || len < PP__FRAME_HDR + col + 1 ||
        !(pp__frame_flags(&c->frame, 0) & PP__FLAG_SCALARS))
        return 0;
    tag = c->frame.data[len - col - 1];
    if (tag != PP_TYPE_INT && tag != PP_TYPE_DOUBLE)
        return 0;
    len -= PP__FRAME_HDR; /* the payload's bytes: the region's */
    if (c->inbox_off > PP__WCTL_INBOX || len > PP__WCTL_INBOX - c->inbox_off)
        return 0;
    return PP__WCTL_INBOX_AT + c->inbox_off + len - col;
}

/* A RESULT that says c's results lie in place of its arguments in the
 * inbox (wire/msg.h): checked against what c is, then read there (before
 * c, and its region, are freed). */
static pp_status read_result_in_place(pp_pool *p, const pp__wslot *w, pp__chunk *c,
                                      const pp__frame_hdr *h, const uint8_t *payload)
{
    size_t at = inbox_column_at(c);

    if (at == 0 || at % 8 != 0 || w->ctl == NULL || c->id != h->id || c->answered != 0 ||
        h->count != c->count || (h->flags & PP__FLAG_PARTIAL) || !(h->flags & PP__FLAG_SCALARS) ||
        h->length != 1 || (payload[0] != PP_TYPE_INT && payload[0] != PP_TYPE_DOUBLE))
        return PP_EPROTO;
    pp__items_succeed_column(c->job, c->first, c->count, (pp_type)payload[0],
                             (const uint8_t *)w->ctl + at);
    c->answered = c->count;
    p->n_in_place++;
    return PP_OK;
}

static pp_status handle_result(pp_pool *p, pp__wslot *w, const pp__frame_hdr *h,
                               const uint8_t *payload)
{
    pp__chunk *c = w->inflight;
    int partial = (h->flags & PP__FLAG_PARTIAL) != 0;
    int64_t now;
    pp_status st;

    /* The worker answers in order: the oldest chunk in flight is the one. */
    if (c == NULL)
        return PP_EPROTO;
    st = (h->flags & PP__FLAG_INBOX) ? read_result_in_place(p, w, c, h, payload)
                                     : pp__chunk_apply_result_locked(c, h, payload);
    if (st != PP_OK)
        return st;
    if (partial) {
        pp__job_after_items_locked(c->job);
        return PP_OK;
    }
    now = record_service_time(p, w, c);
    w->chunks_done++;
    if (c->next == NULL)
        w->idle_since_ms = now / 1000000; /* pp__plat_now_ms(), without a second clock read */
    w->inflight = c->next;
    if (w->inflight == NULL)
        w->inflight_tail = NULL;
    w->ninflight--;
    w->inflight_bytes -= c->wire_len;
    pp__job_after_items_locked(c->job);
    pp__chunk_free(c);
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
    /* The worker has opened its control block (or never will): the name
     * is not needed any more, and must not outlive us. */
    if (w->ctl_linked) {
        (void)pp__plat_shm_unlink(w->ctl_name);
        w->ctl_linked = 0;
    }
    if (p->creating)
        p->init_pending--;
    if (ist == PP_ESPAWN) {
        snprintf(line, sizeof line, "worker %llu could not start: %s", (unsigned long long)pid,
                 msg);
        pp__start_failed_locked(p, PP__START_FAILED, line);
        return PP_OK; /* the worker exits by itself */
    }
    if (ist != PP_OK) {
        snprintf(line, sizeof line, "initializer failed in worker %llu: %s (code %d)",
                 (unsigned long long)pid, msg, code);
        pp__break_pool_locked(p, PP_ETASK, line);
        return PP_OK; /* the worker exits by itself */
    }
    w->state = W_READY;
    w->idle_since_ms = pp__plat_now_ms();
    pp__start_succeeded_locked(p);
    pp__plat_cond_broadcast(p->core->cond);
    return PP_OK;
}

static void describe_exit(const pp__exit_info *e, uint64_t pid, char *buf, size_t len, int *code)
{
    if (e->signaled) {
        snprintf(buf, len, "worker process %llu was killed by %s", (unsigned long long)pid,
                 e->what[0] ? e->what : "a signal");
        *code = e->signo;
    } else if (e->crashed) {
        snprintf(buf, len, "worker process %llu crashed: %s", (unsigned long long)pid, e->what);
        *code = e->code;
    } else if (!e->exited) {
        snprintf(buf, len, "worker process %llu ended: %s", (unsigned long long)pid,
                 e->what[0] ? e->what : "how is not known");
        *code = 0;
    } else {
        snprintf(buf, len, "worker process %llu exited with code %d", (unsigned long long)pid,
                 e->code);
        *code = e->code;
    }
}

/* Items of a dead worker's chunk that finished and whose outcomes it kept
 * in its control block: they keep their results. Returns how many were
 * applied (fewer than kept if the bytes are not what a worker writes). */
static unsigned apply_kept(pp__chunk *c, const pp__wctl *ctl, const pp__wctl_progress *pr)
{
    unsigned n = pr->col_items < c->count ? pr->col_items : c->count;
    uint8_t *copy;
    pp__rd rd;

    if (n > 0 && pr->col_type != PP_TYPE_INT && pr->col_type != PP_TYPE_DOUBLE)
        return 0; /* not what a worker writes */
    /* the kept column: the area's, or c's arguments' in the inbox */
    if (n > 0 && pr->col_at != PP__WCTL_AREA_AT &&
        (inbox_column_at(c) == 0 || pr->col_at != inbox_column_at(c)))
        return 0;
    if (n > 0)
        pp__items_succeed_column(c->job, c->first, n, (pp_type)pr->col_type,
                                 (const uint8_t *)ctl + pr->col_at);
    if (pr->kept <= n || pr->bytes == 0)
        return n;
    copy = malloc(pr->bytes); /* a stable copy: nothing else reads shared memory */
    if (copy == NULL)
        return n;
    memcpy(copy, pp__wctl_area(ctl) + PP__WCTL_COLUMN, pr->bytes);
    pp__rd_init(&rd, copy, pr->bytes);
    if (pr->kept <= c->count &&
        read_result_outcomes(c, &rd, copy, (uint32_t)pr->bytes, n, pr->kept - n) == PP_OK &&
        pp__rd_left(&rd) == 0)
        n = pr->kept;
    free(copy);
    return n;
}

/*
 * The chunk a worker had started when it died: items that finished keep
 * their outcomes (kept in the control block), the item it was running
 * fails with PP_EWORKERDIED, items it never started go back to the queue
 * in a chunk of their own (*tail; NULL if none or no memory, then they
 * fail too). Caller holds the mutex.
 */
static void settle_started_locked(pp_pool *p, pp__wslot *w, pp__chunk *c,
                                  const pp__wctl_progress *pr, const char *died, int code,
                                  pp__chunk **tail)
{
    char msg[PP__ERRMSG_MAX + 1];
    unsigned i, kept, next, done = pr->done < c->count ? pr->done : c->count;
    const char *why = p->state == P_TERMINATING ? "pool was terminated" : died;
    pp_status st = p->state == P_TERMINATING ? PP_ETERMINATED : PP_EWORKERDIED;
    pp_status rst; /* the running item's status */

    if (c->job->canceled) {
        st = PP_ECANCELED;
        why = "canceled";
    }

    *tail = NULL;
    kept = apply_kept(c, w->ctl, pr);
    if (kept < done) {
        snprintf(msg, sizeof msg, "the task finished, but its result was lost: %s", died);
        for (i = kept; i < done; i++)
            pp__item_fail(c->job, c->first + i, PP_EWORKERDIED, code, msg);
    }
    next = done;
    if (pr->running && next < c->count) {
        rst = st;
        if (w->task_timed_out && w->timeout_chunk == c->id && w->timeout_item == next) {
            rst = PP_ETIMEDOUT;
            snprintf(msg, sizeof msg,
                     "task '%s' still ran %lld ms after it started: its worker was killed and "
                     "replaced",
                     c->job->fname, (long long)c->job->timeout_ms);
        } else if (st == PP_EWORKERDIED) {
            snprintf(msg, sizeof msg, "%s while running the task", died);
        } else if (st == PP_ECANCELED) {
            snprintf(msg, sizeof msg, "canceled while it ran (its worker was killed)");
        } else {
            pp__strlcpy(msg, why, sizeof msg);
        }
        pp__item_fail(c->job, c->first + next++, rst, rst == PP_EWORKERDIED ? code : 0, msg);
    }
    if (next < c->count && (st != PP_EWORKERDIED || pp__chunk_tail(c, next, tail) != PP_OK))
        pp__job_fail_range_locked(c->job, c->first + next, c->first + c->count, st, why);
    else
        pp__job_after_items_locked(c->job);
}

/* The worker's channel hit EOF: collect its exit status; settle the chunk
 * it had started (above); chunks it was sent but never started go back to
 * the queue (they fail only if the pool is terminated or broken). */
static void handle_death(pp_pool *p, pp__wslot *w)
{
    pp__wctl_progress pr;
    pp__exit_info info;
    char msg[160];
    pp__chunk *running, *rest, *tail = NULL;
    int code = 0;

    /* Bounded: a worker that closed its channel but lingers is killed; one
     * whose end is not reported even then (its zygote stopped, say) is
     * taken for dead without an exit status rather than waited for. */
    memset(&info, 0, sizeof info);
    if (pp__plat_proc_wait(w->proc, 2000, &info) == PP_ETIMEDOUT) {
        pp__plat_proc_kill(w->proc);
        if (pp__plat_proc_wait(w->proc, 10000, &info) == PP_ETIMEDOUT) {
            memset(&info, 0, sizeof info);
            pp__strlcpy(info.what, "no exit status (its end was not reported)", sizeof info.what);
        }
    }

    pp__plat_mtx_lock(p->core->mu);
    w->exit = info;
    memset(&pr, 0, sizeof pr);
    if (w->ctl != NULL)
        pp__wctl_read(w->ctl, &pr);
    running = w->inflight;
    w->inflight = w->inflight_tail = NULL;
    w->ninflight = 0;
    w->inflight_bytes = 0;
    describe_exit(&info, w->pid, msg, sizeof msg, &code);
    /* Chunks before the one it claimed last had finished, but their
     * results were not read (the reader stopped on a protocol or memory
     * error and killed it): what they had not answered is lost. */
    while (running != NULL && running->id < pr.started) {
        pp__chunk *next = running->next;
        char lost[PP__ERRMSG_MAX + 1];
        snprintf(lost, sizeof lost, "the task finished, but its result was lost: %s", msg);
        running->next = NULL;
        pp__chunk_fail_locked(running, PP_EWORKERDIED, code, lost);
        pp__chunk_free(running);
        running = next;
    }
    /* The worker runs its chunks in order: only the first left can have
     * been started (the one it claimed last), every earlier one has been
     * answered. */
    /* a worker that exits 0 by itself was recycled (maxtasksperchild,
     * max_worker_memory, idle timeout), and one the pool killed to cancel
     * its task (w->killed): not deaths */
    if (w->state == W_READY && p->state != P_TERMINATING && !w->killed &&
        !(info.exited && info.code == 0))
        p->n_deaths++;
    if (running != NULL && running->id == pr.started && running->id <= pr.bound) {
        rest = running->next;
        running->next = NULL;
        settle_started_locked(p, w, running, &pr, msg, code, &tail);
        pp__chunk_free(running);
        if (tail != NULL) {
            tail->next = rest;
            rest = tail;
        }
        if (p->state != P_TERMINATING)
            pp__log(w->killed ? PP_LOG_INFO : PP_LOG_WARN, "%s%s; %s", msg,
                    w->killed ? " (stopped to cancel its task)" : "",
                    p->broken == PP_OK ? "starting a replacement"
                                       : "no replacement: the pool is broken");
    } else {
        rest = running; /* none started: all of them run elsewhere */
    }
    if (p->state == P_TERMINATING) {
        while (rest != NULL) {
            pp__chunk *next = rest->next;
            pp__chunk_fail_locked(rest, PP_ETERMINATED, 0, "pool was terminated");
            pp__chunk_free(rest);
            rest = next;
        }
    } else {
        pp__queue_push_front_locked(p, rest); /* sent but never started */
    }
    if (w->state == W_STARTING && !w->init_reported && !w->killed) {
        /* Died before it could report: crash in the initializer, or in
         * main() before pp_init() of a spawned worker. */
        char line[200];
        int how = w->start_timed_out ? PP__START_TIMEOUT
                  : info.external    ? PP__START_KILLED
                                     : PP__START_FAILED;
        if (how == PP__START_TIMEOUT)
            snprintf(line, sizeof line, "a worker was not ready within %lld ms (%s)",
                     (long long)p->start_timeout_ms, msg);
        else
            snprintf(line, sizeof line, "a worker died while starting (%s)", msg);
        pp__start_failed_locked(p, how, line);
    }
    w->state = W_DEAD;
    /* Wake a writer blocked on this channel (the worker's end may live on
     * elsewhere, so its write might never end otherwise); the slot is
     * reaped once it has let go (supervise_once). */
    pp__plat_chan_shutdown(w->chan);
    pp__plat_cond_signal(p->sup_cond);
    pp__pump_all_locked(p);
    pp__plat_mtx_unlock(p->core->mu);
}

void pp__reader_thread_main(void *arg)
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
        pp__plat_mtx_lock(p->core->mu);
        if (h.type == PP__MSG_RESULT)
            st = handle_result(p, w, &h, payload);
        else if (h.type == PP__MSG_READY)
            st = handle_ready(p, w, &h, payload);
        else
            st = PP_EPROTO;
        /* Batch: finish every frame already buffered before writing more. */
        if (st == PP_OK && !pp__reader_buffered(&rd)) {
            pp__pump_locked(p, w);
            if (w->ninflight == 0)
                pp__balance_locked(p); /* nothing queued for it: help others */
            pp__maybe_quit_workers_locked(p);
        }
        pp__plat_mtx_unlock(p->core->mu);
    }
    if (st != PP_ECONNLOST) {
        /* A worker that sends garbage cannot be trusted with more work. */
        pp__log(PP_LOG_ERROR, "worker %llu: %s; killing it", (unsigned long long)w->pid,
                pp_strerror(st));
        pp__plat_proc_kill(w->proc);
    }
    pp__reader_free(&rd);
    handle_death(p, w);
}
