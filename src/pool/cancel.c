/*
 * cancel.c — pp_result_cancel / pp_iter_cancel: drop what a submission
 * still has queued, take back what was sent ahead, kill the workers that
 * are running it, and give every unfinished item PP_ECANCELED.
 */
#include "pool/pool_internal.h"

/* Does w have a chunk of j in flight? */
static int holds_job_locked(const pp__wslot *w, const struct pp_result *j)
{
    const pp__chunk *c;

    for (c = w->inflight; c != NULL; c = c->next) {
        if (c->job == j)
            return 1;
    }
    return 0;
}

/* Is w running a chunk of j? Called after everything w had not started
 * was taken back: the chunk it claimed last is the only one it can still
 * run (earlier ones have finished; their results are on the way and are
 * read before its death is), and it can claim nothing else now. */
static int runs_job_locked(const pp__wslot *w, const struct pp_result *j)
{
    const pp__chunk *c;
    pp__wctl_progress pr;

    if (w->ctl == NULL)
        return 0;
    pp__wctl_read(w->ctl, &pr);
    for (c = w->inflight; c != NULL; c = c->next) {
        if (c->id == pr.started)
            return c->job == j;
    }
    return 0;
}

pp_status pp_result_cancel(pp_result *r)
{
    pp_pool *p;
    int i;

    if (r == NULL)
        return PP_EINVAL;
    /* Not from a fork child of the pool's creator: the pool is not its
     * own (before the mutex, as the pool's calls: pool.h) */
    if (pp__core_foreign(r->core))
        return PP_ESTATE;
    pp__plat_mtx_lock(r->core->mu);
    p = r->pool;
    if (r->complete || r->canceled) {
        pp__plat_mtx_unlock(r->core->mu);
        return PP_OK;
    }
    r->canceled = 1; /* from now on no chunk of it is queued again */
    if (p != NULL) {
        pp__remove_job_from_queue_locked(p, r);
        if (p->broker != NULL)
            p->bops->cancel_locked(p->broker, r);
        for (i = 0; i < p->n; i++) {
            pp__wslot *w = &p->w[i];
            if (w->state != W_READY || !holds_job_locked(w, r))
                continue;
            /* First take back all it has not started (j's chunks and
             * others'): then the one chunk left is the one it runs, and it
             * cannot start another before the kill lands. */
            if (pp__take_back_locked(p, w) > 0)
                pp__remove_job_from_queue_locked(p, r);
            if (runs_job_locked(w, r)) {
                w->killed = 1; /* stopped by the pool: not a death */
                pp__plat_proc_kill(w->proc);
            }
        }
    }
    /* Every item not finished yet: canceled, now. Outcomes that arrive
     * later for them are ignored. */
    pp__job_fail_range_locked(r, 0, r->n, PP_ECANCELED, "canceled");
    if (p != NULL)
        pp__pump_all_locked(p);
    pp__plat_mtx_unlock(r->core->mu);
    return PP_OK;
}

pp_status pp_iter_cancel(pp_iter *it)
{
    return pp_result_cancel(it != NULL ? &it->r : NULL);
}
