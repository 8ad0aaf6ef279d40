/*
 * cancel.c — pp_result_cancel / pp_iter_cancel: drop what a submission
 * still has queued, take back what was sent ahead, kill the workers that
 * are running it, and give every unfinished item PP_ECANCELED.
 */
#include "pool/pool_internal.h"

/* Does w have a chunk of j in flight? Is the first one started? */
static int holds_job_locked(const pp__wslot *w, const struct pp_result *j, int *running)
{
    const pp__chunk *c;
    pp__wctl_progress pr;

    *running = 0;
    for (c = w->inflight; c != NULL; c = c->next) {
        if (c->job != j)
            continue;
        if (c == w->inflight && w->ctl != NULL) {
            pp__wctl_read(w->ctl, &pr); /* only the gate is read while it runs */
            *running = c->id <= pr.bound;
        }
        return 1;
    }
    return 0;
}

pp_status pp_result_cancel(pp_result *r)
{
    pp_pool *p;
    int i, running;

    if (r == NULL)
        return PP_EINVAL;
    pp__plat_mtx_lock(r->core->mu);
    p = r->pool;
    if (r->complete || r->canceled) {
        pp__plat_mtx_unlock(r->core->mu);
        return PP_OK;
    }
    r->canceled = 1; /* from now on no chunk of it is queued again */
    if (p != NULL) {
        pp__remove_job_from_queue_locked(p, r);
        for (i = 0; i < p->n; i++) {
            pp__wslot *w = &p->w[i];
            if (w->state != W_READY || !holds_job_locked(w, r, &running))
                continue;
            if (running) {
                /* what else it was sent goes back to the queue when it dies */
                w->cancel_kill = 1;
                pp__plat_proc_kill(w->proc);
            } else if (pp__take_back_locked(p, w) > 0) {
                pp__remove_job_from_queue_locked(p, r);
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
