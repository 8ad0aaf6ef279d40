/*
 * broker.c — the pool's side of remote workers (pool/broker.h): the
 * registered implementation, the check of arguments bound for another
 * machine, pp_pool_remote_workers().
 */
#include <stdio.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/value_internal.h"

static const pp__broker_ops *volatile g_ops;

void pp__broker_register(const pp__broker_ops *ops)
{
    g_ops = ops;
}

pp_status pp__broker_open(pp_pool *p, const pp_pool_options *o)
{
    const pp__broker_ops *ops = g_ops;
    pp__broker *b = NULL;
    pp_status st;

    if (o->broker == NULL)
        return PP_OK;
    if (ops == NULL) {
        pp__log(PP_LOG_ERROR,
                "pool broker %s: this procpool was built without hiredis (meson "
                "option redis): no distributed pool",
                o->broker);
        return PP_ENOTSUP;
    }
    st = ops->open(p, o, &b);
    if (st != PP_OK)
        return st;
    /* The pool's threads read these under the mutex (dispatch, join). */
    pp__plat_mtx_lock(p->core->mu);
    p->bops = ops;
    p->broker = b;
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}

pp_status pp__broker_check_args(const pp_values *v, const char *where)
{
    size_t i, n = pp_values_count(v);
    pp_type t;

    for (i = 0; i < n; i++) {
        t = pp_values_type(v, i);
        if ((t == PP_TYPE_LOCK || t == PP_TYPE_SHM || t == PP_TYPE_SYNC) &&
            pp__values_item_locator(v, i) == NULL) {
            pp__log(PP_LOG_ERROR,
                    "%s '%s' in the %s cannot reach a remote worker of this pool (it lives on "
                    "this machine only): use a Redis lock or a manager's object",
                    t == PP_TYPE_SHM    ? "shared memory block"
                    : t == PP_TYPE_SYNC ? "sync object"
                                        : "lock",
                    pp__values_named_name(v, i) ? pp__values_named_name(v, i) : "?", where);
            return PP_ENOTSUP;
        }
    }
    return PP_OK;
}

pp_status pp_pool_remote_workers(pp_pool *pool, pp_remote_worker *out, size_t cap, size_t *count)
{
    if (pool == NULL || count == NULL || (out == NULL && cap > 0))
        return PP_EINVAL;
    *count = 0;
    /* no broker, or a fork child of the pool's creator: the broker's
     * connection is the creator's (pool.h) */
    if (pool->broker == NULL || pp__pool_foreign(pool))
        return PP_ESTATE;
    return pool->bops->list(pool->broker, out, cap, count);
}
