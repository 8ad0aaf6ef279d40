/*
 * bulk.c — reading many results of one submission at once
 * (pp_result_ints / _doubles / _values, result.h): one wait, one mutex
 * round for the whole range instead of one per item, and scalar results
 * copied straight from where the reader kept them (no tuple is built for
 * them).
 */
#include <string.h>

#include "pool/pool_internal.h"

enum { WANT_INT, WANT_DOUBLE, WANT_VALUES };

/* Outputs from this size on are prefaulted before they are filled. */
#define PREFAULT_MIN ((size_t)1 << 20)

/* The caller's arrays for n results: a large one that is fresh costs a
 * page fault per page in the copy; one call maps them all (platform.h;
 * most of what a bulk read of a million column ints costs otherwise). */
void pp__prefault_outputs(void *out, size_t size, void *status, size_t n)
{
    if (size >= PREFAULT_MIN)
        pp__plat_prefault_write(out, size);
    if (status != NULL && n * sizeof(pp_status) >= PREFAULT_MIN)
        pp__plat_prefault_write(status, n * sizeof(pp_status));
}

/* One item's scalar, without building a tuple when the reader kept it as
 * a scalar. PP_ETYPE if its result is not exactly one value of the type. */
static pp_status scalar_locked(struct pp_result *r, size_t i, int want, uint64_t *bits)
{
    pp__item *it = &r->items[i];
    pp_type type = want == WANT_INT ? PP_TYPE_INT : PP_TYPE_DOUBLE;
    const pp_values *v = NULL;
    pp_status st = pp__item_status(it);
    int64_t x;
    double d;

    if (st != PP_OK)
        return st;
    if (it->state == IT_SCALAR || it->state == IT_COLVAL) {
        if ((pp_type)it->aux != type)
            return PP_ETYPE;
        *bits = it->state == IT_SCALAR ? it->u.bits : r->colvals[i];
        return PP_OK;
    }
    st = pp__item_value_locked(r, i, &v);
    if (st != PP_OK)
        return st;
    if (v == NULL || pp_values_count(v) != 1 || pp_values_type(v, 0) != type)
        return PP_ETYPE;
    if (want == WANT_INT) {
        (void)pp_values_get_int(v, 0, &x);
        *bits = (uint64_t)x;
    } else {
        (void)pp_values_get_double(v, 0, &d);
        memcpy(bits, &d, sizeof d);
    }
    return PP_OK;
}

static pp_status bulk(pp_result *r, int want, int64_t timeout_ms, size_t first, size_t n, void *out,
                      pp_status *status)
{
    pp_status st, ret = PP_OK;
    size_t k, size;

    if (r == NULL || out == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (first > r->n || n > r->n - first)
        return PP_ERANGE;
    pp__plat_mtx_lock(r->core->mu);
    st = pp__result_wait_ready_locked(r, timeout_ms);
    if (st != PP_OK) {
        pp__plat_mtx_unlock(r->core->mu);
        return st;
    }
    size = n * (want == WANT_VALUES ? sizeof(void *) : 8);
    if (size >= PREFAULT_MIN || (status != NULL && n * sizeof *status >= PREFAULT_MIN)) {
        /* without the mutex: the job is ready, its items no longer change */
        pp__plat_mtx_unlock(r->core->mu);
        pp__prefault_outputs(out, size, status, n);
        pp__plat_mtx_lock(r->core->mu);
    }
    if (want != WANT_VALUES && r->n > 0 && r->ncolval[want == WANT_DOUBLE] == r->n) {
        /* Every item of the job came in a column of the wanted type (the
         * commonest map): its values are side by side already. */
        memcpy(out, r->colvals + first, n * sizeof *r->colvals);
        for (k = 0; status != NULL && k < n; k++)
            status[k] = PP_OK;
        pp__plat_mtx_unlock(r->core->mu);
        return PP_OK;
    }
    for (k = 0; k < n; k++) {
        size_t i = first + k;
        uint64_t bits = 0;
        const pp__item *it = &r->items[i];

        if (want != WANT_VALUES &&
            it->aux == (uint32_t)(want == WANT_INT ? PP_TYPE_INT : PP_TYPE_DOUBLE) &&
            (it->state == IT_SCALAR || it->state == IT_COLVAL)) {
            /* the commonest case, without a call: an int / double result */
            bits = it->state == IT_SCALAR ? it->u.bits : r->colvals[i];
            if (want == WANT_INT)
                ((int64_t *)out)[k] = (int64_t)bits;
            else
                memcpy(&((double *)out)[k], &bits, sizeof bits);
            if (status != NULL)
                status[k] = PP_OK;
            continue;
        }

        if (want == WANT_VALUES && it->state == IT_VALUE) {
            /* read already, or a blob column's tuple (made on arrival) */
            ((const pp_values **)out)[k] = it->u.value;
            if (status != NULL)
                status[k] = PP_OK;
            continue;
        }
        if (want == WANT_VALUES) {
            const pp_values *v = NULL;
            st = pp__item_status(&r->items[i]);
            if (st == PP_OK)
                st = pp__item_value_locked(r, i, &v);
            ((const pp_values **)out)[k] = st == PP_OK ? v : NULL;
        } else {
            st = scalar_locked(r, i, want, &bits);
            if (want == WANT_INT)
                ((int64_t *)out)[k] = st == PP_OK ? (int64_t)bits : 0;
            else if (st == PP_OK)
                memcpy(&((double *)out)[k], &bits, sizeof bits);
            else
                ((double *)out)[k] = 0.0;
        }
        if (status != NULL)
            status[k] = st;
        if (st != PP_OK && ret == PP_OK)
            ret = st;
    }
    /* Every failure in the range was handed to the caller (in status, or
     * the first one returned): it has been observed. */
    if (ret != PP_OK)
        r->observed = 1;
    pp__plat_mtx_unlock(r->core->mu);
    return ret;
}

pp_status pp_result_ints(pp_result *r, int64_t timeout_ms, size_t first, size_t n, int64_t *out,
                         pp_status *status)
{
    return bulk(r, WANT_INT, timeout_ms, first, n, out, status);
}

pp_status pp_result_doubles(pp_result *r, int64_t timeout_ms, size_t first, size_t n, double *out,
                            pp_status *status)
{
    return bulk(r, WANT_DOUBLE, timeout_ms, first, n, out, status);
}

pp_status pp_result_values(pp_result *r, int64_t timeout_ms, size_t first, size_t n,
                           const pp_values **out, pp_status *status)
{
    return bulk(r, WANT_VALUES, timeout_ms, first, n, (void *)out, status);
}
