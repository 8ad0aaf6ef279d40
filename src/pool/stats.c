/*
 * stats.c — what a pool can say about itself: its health and counters
 * (pp_pool_get_stats) and its workers (pp_pool_workers).
 */
#include <string.h>

#include "pool/pool_internal.h"

static size_t queued_locked(const pp_pool *p)
{
    const pp__chunk *c;
    size_t n = 0;

    for (c = p->q_head; c != NULL; c = c->next)
        n++;
    return n;
}

pp_status pp_pool_get_stats(pp_pool *p, pp_pool_stats *out)
{
    int i;

    if (p == NULL || out == NULL)
        return PP_EINVAL;
    memset(out, 0, sizeof *out);
    if (pp__pool_foreign(p))
        return PP_ESTATE; /* before the mutex (pool.h, pp_pool_close) */
    pp__plat_mtx_lock(p->core->mu);
    out->workers = p->n;
    for (i = 0; i < p->n; i++) {
        const pp__wslot *w = &p->w[i];
        if (w->state == W_READY) {
            out->ready++;
            out->busy += w->ninflight > 0;
        } else if (w->state == W_STARTING) {
            out->starting++;
        }
    }
    out->queued = queued_locked(p);
    out->workers_started = p->n_started;
    out->worker_deaths = p->n_deaths;
    out->inbox_chunks = p->n_inbox;
    out->start_failures = p->n_start_failed;
    out->broken_status = p->broken;
    if (p->broken != PP_OK) {
        out->health = PP_POOL_BROKEN;
        pp__strlcpy(out->reason, p->broken_msg, sizeof out->reason);
    } else if (p->degraded_msg[0] != '\0') {
        out->health = PP_POOL_DEGRADED;
        pp__strlcpy(out->reason, p->degraded_msg, sizeof out->reason);
    }
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}

static void worker_info_locked(const pp__wslot *w, int64_t now_ns, pp_worker_info *out)
{
    const pp__chunk *c = w->inflight;
    int64_t since;

    memset(out, 0, sizeof *out);
    out->pid = w->state == W_EMPTY ? 0 : w->pid;
    out->tasks_done = w->chunks_done;
    out->busy_ms = -1;
    switch (w->state) {
    case W_STARTING:
        out->state = PP_WORKER_STARTING;
        break;
    case W_READY:
        out->state = c != NULL ? PP_WORKER_BUSY : PP_WORKER_IDLE;
        break;
    default:
        out->state = PP_WORKER_GONE;
        break;
    }
    if (out->state == PP_WORKER_BUSY) {
        /* the oldest chunk in flight is the one it runs (or is about to) */
        pp__strlcpy(out->task, c->job->fname, sizeof out->task);
        since = c->sent_ns > w->last_result_ns ? c->sent_ns : w->last_result_ns;
        out->busy_ms = now_ns > since ? (now_ns - since) / 1000000 : 0;
    }
}

pp_status pp_pool_workers(pp_pool *p, pp_worker_info *out, size_t cap, size_t *count)
{
    int64_t now_ns = pp__plat_now_ns();
    size_t i;

    if (p == NULL || count == NULL || (out == NULL && cap > 0))
        return PP_EINVAL;
    if (pp__pool_foreign(p))
        return PP_ESTATE; /* before the mutex (pool.h, pp_pool_close) */
    pp__plat_mtx_lock(p->core->mu);
    for (i = 0; i < cap && i < (size_t)p->n; i++)
        worker_info_locked(&p->w[i], now_ns, &out[i]);
    *count = (size_t)p->n;
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}
