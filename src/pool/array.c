/*
 * array.c — pp_map_array(): a task applied to every record of a caller's
 * array, results into the caller's output array, a status per record.
 *
 * Records travel as one-item byte tuples encoded straight from the
 * caller's array into the chunks (chunks.c: no tuple per record), and
 * through the worker's inbox where they fit (pool/wctl.h). Results are
 * read once the map is complete, under one lock, straight from where the
 * reader keeps them: a one-scalar result from its 8 bytes, a bytes result
 * from its encoded form (no tuple is built for either).
 */
#include <stdio.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/value_internal.h"

/* The bytes of an encoded one-item bytes tuple (values/tuple.h), if raw is
 * exactly that. */
static int raw_bytes(const uint8_t *raw, size_t len, const uint8_t **p, size_t *n)
{
    uint32_t count;
    uint8_t type;
    pp__rd rd;

    pp__rd_init(&rd, raw, len);
    if (pp__rd_u32(&rd, &count) != PP_OK || count != 1 || pp__rd_u8(&rd, &type) != PP_OK ||
        type != (uint8_t)PP_TYPE_BYTES || pp__rd_blob(&rd, PP_VALUE_MAX_BYTES, p, n) != PP_OK)
        return 0;
    return pp__rd_left(&rd) == 0;
}

/* Item i's result into dst (out_size bytes): PP_OK, the item's failure,
 * or PP_ETYPE when it is not one bytes value of out_size bytes (nor, with
 * out_size 8, one int or double). Caller holds the mutex. */
static pp_status copy_result(struct pp_result *j, size_t i, void *dst, size_t out_size)
{
    pp__item *it = &j->items[i];
    pp_status st = pp__item_status(it);
    const pp_values *v = NULL;
    const uint8_t *p;
    const void *vp;
    size_t n;

    if (st != PP_OK)
        return st;
    if (it->state == IT_SCALAR) {
        if (out_size != 8)
            return PP_ETYPE;
        memcpy(dst, &it->u.bits, 8); /* an int's value or a double's bits, host order */
        return PP_OK;
    }
    if (it->state == IT_COLVAL) {
        if (out_size != 8)
            return PP_ETYPE;
        memcpy(dst, &j->colvals[i], 8); /* as IT_SCALAR, kept in the job's column */
        return PP_OK;
    }
    if (it->state == IT_BYTES) { /* from a blob column: the bytes in place */
        if (it->aux != out_size)
            return PP_ETYPE;
        memcpy(dst, it->u.raw, out_size);
        return PP_OK;
    }
    if (it->state == IT_RAW) {
        if (!raw_bytes(it->u.raw, it->aux, &p, &n) || n != out_size)
            return PP_ETYPE;
        memcpy(dst, p, n);
        return PP_OK;
    }
    st = pp__item_value_locked(j, i, &v); /* already decoded by someone */
    if (st != PP_OK)
        return st;
    if (v == NULL || pp_values_count(v) != 1 || pp_values_get_bytes(v, 0, &vp, &n) != PP_OK ||
        n != out_size)
        return PP_ETYPE;
    memcpy(dst, vp, n);
    return PP_OK;
}

pp_status pp_map_array(pp_pool *pool, pp_task_fn fn, const void *in, size_t in_size, size_t n,
                       void *out, size_t out_size, pp_status *status, const pp_submit_options *opts)
{
    pp__item_src src = {0};
    struct pp_result *j = NULL;
    pp_status st, ret = PP_OK;
    size_t i, first = SIZE_MAX;
    pp_error e;

    if (pool == NULL || fn == NULL)
        return pp__report_call_failure(opts, PP_EINVAL, "pp_map_array: no pool or no task");
    if (n > 0 && (in == NULL || out == NULL))
        return pp__report_call_failure(opts, PP_EINVAL, "pp_map_array: in or out NULL");
    /* a result is one value: a larger output record could never be filled */
    if (in_size == 0 || out_size == 0 || in_size > PP_VALUE_MAX_BYTES ||
        out_size > PP_VALUE_MAX_BYTES)
        return pp__report_call_failure(opts, PP_EINVAL,
                                       "pp_map_array: record sizes must be 1 to "
                                       "PP_VALUE_MAX_BYTES");
    if (n > SIZE_MAX / in_size || n > SIZE_MAX / out_size || n > SIZE_MAX / (4 * sizeof(pp__item)))
        return pp__report_call_failure(opts, PP_EINVAL, "pp_map_array: too many records");
    if (opts != NULL && (opts->extra_args != NULL || opts->extra_values != NULL))
        return pp__report_call_failure(opts, PP_EINVAL, /* the argument is the record alone */
                                       "pp_map_array: extra values are not taken");
    src.arr = in;
    src.arr_size = in_size;
    st = pp__submit_sync_map(pool, fn, &src, n, opts, &j);
    if (st != PP_OK)
        return pp__report_call_failure(opts, st, NULL);
    pp__prefault_outputs(out, n * out_size, status, n); /* j is complete: no mutex */
    pp__plat_mtx_lock(j->core->mu);
    i = 0;
    if (out_size == 8 && n > 0 && j->ncolval[0] + j->ncolval[1] == n) {
        /* every result came in a column (ints or doubles): one copy */
        memcpy(out, j->colvals, n * 8);
        for (; status != NULL && i < n; i++)
            status[i] = PP_OK;
        i = n;
    }
    for (; i < n; i++) {
        void *dst = (uint8_t *)out + i * out_size;
        st = copy_result(j, i, dst, out_size);
        if (st != PP_OK) {
            memset(dst, 0, out_size);
            if (ret == PP_OK) {
                ret = st;
                first = i;
            }
        }
        if (status != NULL)
            status[i] = st;
    }
    if (ret != PP_OK && opts != NULL && opts->error != NULL) {
        const pp_error *ie = pp__item_error(&j->items[first]);
        if (ie != NULL) {
            e = *ie;
        } else {
            memset(&e, 0, sizeof e);
            e.status = ret;
            snprintf(e.message, sizeof e.message,
                     "the result of record %lu is not one bytes value of %lu bytes",
                     (unsigned long)first, (unsigned long)out_size);
        }
        *opts->error = e;
    }
    if (ret != PP_OK && opts != NULL && opts->error_index != NULL)
        *opts->error_index = first;
    j->observed = 1; /* every outcome was handed to the caller */
    pp__plat_mtx_unlock(j->core->mu);
    pp_result_release(j);
    return ret;
}
