/*
 * result.c — reading results: pp_result_* and pp_iter_*.
 */
#include <stdlib.h>

#include "pool/pool_internal.h"

static pp_status first_status(const struct pp_result *r)
{
    return r->first_failed < r->n ? pp__item_status(&r->items[r->first_failed]) : PP_OK;
}

/* On the result thread a result whose callbacks are still to run there can
 * never become ready while we wait: refuse instead of deadlocking. */
int pp__result_would_deadlock(const struct pp_result *r)
{
    int needs_thread =
        r->callback != NULL || r->error_callback != NULL || (r->progress != NULL && !r->sync);

    return !r->ready && needs_thread && r->pool != NULL && pp__on_result_thread(r->pool);
}

/* Wait until ready. Caller holds the mutex. */
pp_status pp__result_wait_ready_locked(struct pp_result *r, int64_t timeout_ms)
{
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    int64_t left;

    if (pp__result_foreign_pending(r))
        return PP_ESTATE;
    if (pp__result_would_deadlock(r))
        return PP_EDEADLK;
    while (!r->ready) {
        if (timeout_ms == PP_INFINITE) {
            pp__plat_cond_wait(r->core->cond, r->core->mu, PP_INFINITE);
            continue;
        }
        left = deadline - pp__plat_now_ms();
        if (left <= 0)
            return PP_ETIMEDOUT;
        pp__plat_cond_wait(r->core->cond, r->core->mu, left);
    }
    return PP_OK;
}

pp_status pp_result_wait(pp_result *r, int64_t timeout_ms)
{
    pp_status st;

    if (r == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    st = pp__core_lock(r->core);
    if (st != PP_OK)
        return st;
    st = pp__result_wait_ready_locked(r, timeout_ms);
    pp__plat_mtx_unlock(r->core->mu);
    return st;
}

pp_status pp_result_get(pp_result *r, int64_t timeout_ms, const pp_values **value)
{
    pp_status st;

    if (value != NULL)
        *value = NULL;
    if (r == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    st = pp__core_lock(r->core);
    if (st != PP_OK)
        return st;
    st = pp__result_wait_ready_locked(r, timeout_ms);
    if (st == PP_OK) {
        r->observed = 1;
        st = first_status(r);
        if (st == PP_OK && r->n == 1 && value != NULL)
            st = pp__item_value_locked(r, 0, value);
    }
    pp__plat_mtx_unlock(r->core->mu);
    return st;
}

int pp_result_ready(const pp_result *cr)
{
    pp_result *r = (pp_result *)cr; /* locking mutates nothing visible */
    int ready;

    if (r == NULL || pp__core_lock(r->core) != PP_OK)
        return 0;
    ready = r->ready;
    pp__plat_mtx_unlock(r->core->mu);
    return ready;
}

pp_status pp_result_successful(pp_result *r)
{
    pp_status st;

    if (r == NULL)
        return PP_EINVAL;
    if (pp__core_lock(r->core) != PP_OK)
        return PP_ESTATE;
    if (!r->ready) {
        st = PP_ENOTREADY;
    } else {
        r->observed = 1;
        st = first_status(r);
    }
    pp__plat_mtx_unlock(r->core->mu);
    return st;
}

const pp_error *pp_result_error(pp_result *r)
{
    const pp_error *e = NULL;

    if (r == NULL || pp__core_lock(r->core) != PP_OK)
        return NULL;
    if (r->ready && r->first_failed < r->n) {
        r->observed = 1;
        e = pp__item_error(&r->items[r->first_failed]);
    }
    pp__plat_mtx_unlock(r->core->mu);
    return e;
}

size_t pp_result_count(const pp_result *r)
{
    return r ? r->n : 0;
}

/* Caller holds the mutex. */
static pp_status item_locked(struct pp_result *r, size_t i, const pp_values **value,
                             const pp_error **error)
{
    pp_status st = pp__item_status(&r->items[i]);

    if (st == PP_ENOTREADY)
        return st;
    if (value != NULL && st == PP_OK) {
        st = pp__item_value_locked(r, i, value);
        if (st != PP_OK)
            return st; /* out of memory decoding it; the item stays readable */
    }
    if (error != NULL)
        *error = pp__item_error(&r->items[i]);
    if (st != PP_OK)
        r->observed = 1;
    return st;
}

pp_status pp_result_item(pp_result *r, size_t i, const pp_values **value, const pp_error **error)
{
    pp_status st;

    if (value != NULL)
        *value = NULL;
    if (error != NULL)
        *error = NULL;
    if (r == NULL)
        return PP_EINVAL;
    if (i >= r->n)
        return PP_ERANGE;
    st = pp__core_lock(r->core);
    if (st != PP_OK)
        return st;
    st = item_locked(r, i, value, error);
    pp__plat_mtx_unlock(r->core->mu);
    return st;
}

void pp_result_release(pp_result *r)
{
    pp__core *core;

    if (r == NULL)
        return;
    core = r->core;
    if (pp__core_lock(core) != PP_OK)
        return; /* a fork child's copy of a busy pool: left to the child's exit */
    /* A reference of our own keeps the core (and its mutex) alive while the
     * job lets go of its reference; ours may then be the last (the pool is
     * gone and this was its last result). */
    core->refs++;
    pp__job_unref_locked(r);
    pp__core_unref_unlock(core);
}

/* ------------------------------------------------------------- iterators */

/* Index of the next deliverable item, or n if none yet. Caller locks. */
static size_t iter_peek_locked(const struct pp_result *r)
{
    if (r->kind == JOB_IMAP_UNORDERED)
        return r->cursor < r->order_len ? r->order[r->cursor] : r->n;
    if (r->cursor < r->n && r->items[r->cursor].state != IT_PENDING)
        return r->cursor;
    return r->n;
}

pp_status pp_iter_next(pp_iter *it, int64_t timeout_ms, size_t *index, const pp_values **value,
                       const pp_error **error)
{
    struct pp_result *r = it ? &it->r : NULL;
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    pp_status st;
    size_t i;

    if (value != NULL)
        *value = NULL;
    if (error != NULL)
        *error = NULL;
    if (r == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    st = pp__core_lock(r->core);
    if (st != PP_OK)
        return st;
    for (;;) {
        if (r->cursor >= r->n) {
            st = PP_EOF;
            break;
        }
        i = iter_peek_locked(r);
        if (i < r->n) {
            r->cursor++;
            if (index != NULL)
                *index = i;
            st = item_locked(r, i, value, error);
            break;
        }
        if (timeout_ms != PP_INFINITE && pp__plat_now_ms() >= deadline) {
            st = PP_ETIMEDOUT;
            break;
        }
        if (pp__result_foreign_pending(r)) {
            st = PP_ESTATE;
            break;
        }
        if (timeout_ms == PP_INFINITE)
            pp__plat_cond_wait(r->core->cond, r->core->mu, PP_INFINITE);
        else
            pp__plat_cond_wait(r->core->cond, r->core->mu, deadline - pp__plat_now_ms());
    }
    pp__plat_mtx_unlock(r->core->mu);
    return st;
}

size_t pp_iter_count(const pp_iter *it)
{
    return it ? it->r.n : 0;
}

void pp_iter_release(pp_iter *it)
{
    pp_result_release(it ? &it->r : NULL);
}
