/*
 * submit.c — apply / map / starmap / imap and their async forms.
 *
 * Arguments are encoded into TASK frames here, on the submitting thread,
 * so every problem with them (unregistered function, oversized value) is
 * reported by the submitting call and the caller may free its tuples as
 * soon as the call returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/value_internal.h"

_Static_assert(PP__MAX_CHUNK == PP_MAX_CHUNKSIZE, "the public chunk limit is the wire's");

/* How item i of a submission is encoded into a TASK frame. */
typedef struct item_src {
    const pp_values *one;         /* apply: the argument tuple */
    const pp_values *items;       /* map: item i as a one-item tuple */
    const pp_values *const *argv; /* starmap: argv[i] */
    uint8_t flags;                /* frame flags for every chunk (PP__FLAG_TIMED) */
} item_src;

static pp_status encode_item(const item_src *src, size_t i, pp__buf *b)
{
    if (src->items != NULL)
        return pp__values_encode_one(src->items, i, b);
    if (src->argv != NULL)
        return pp__values_encode(src->argv[i], b);
    return pp__values_encode(src->one, b);
}

/* Encoded size of the argument tuples of items first..first+count-1. */
static size_t chunk_args_size(const item_src *src, size_t first, size_t count)
{
    size_t i, n = 0;

    for (i = first; i < first + count; i++) {
        if (src->items != NULL)
            n += PP__VALUES_HDR + pp__values_item_encoded_size(src->items, i);
        else if (src->argv != NULL)
            n += pp__values_encoded_size(src->argv[i]);
        else
            n += pp__values_encoded_size(src->one);
    }
    return n;
}

static void free_chunks(pp__chunk *c)
{
    while (c != NULL) {
        pp__chunk *next = c->next;
        pp__buf_free(&c->frame);
        free(c);
        c = next;
    }
}

/* Are items first..first+count-1 of a map all one-scalar arguments of one
 * type (an int column or a double column)? */
static int scalar_column(const item_src *src, size_t first, size_t count, pp_type *type)
{
    uint64_t bits;
    pp_type t;
    size_t i;

    if (src->items == NULL || count == 0)
        return 0;
    for (i = first; i < first + count; i++) {
        if (!pp__values_item_scalar(src->items, i, &t, &bits) || (i > first && t != *type))
            return 0;
        *type = t;
    }
    return 1;
}

static pp_status build_chunk(const pp__fnref *ref, const item_src *src, size_t first, size_t count,
                             pp__chunk **out)
{
    pp__chunk *c = calloc(1, sizeof *c);
    pp_type type = PP_TYPE_NONE;
    uint64_t bits;
    pp_status st;
    size_t at, i;
    int column = scalar_column(src, first, count, &type);

    if (c == NULL)
        return PP_ENOMEM;
    pp__buf_init(&c->frame);
    c->first = first;
    c->count = (uint16_t)count;
    /* One allocation of the exact size: large frames are populated memory
     * in power-of-two classes (pp__mem), where a guess that overshoots a
     * class costs twice the memory. */
    st = pp__buf_reserve(&c->frame,
                         PP__FRAME_HDR + pp__fnref_encoded_size(ref) + 8 +
                             (column ? 1 + count * 8 : chunk_args_size(src, first, count)));
    if (st == PP_OK)
        st = pp__frame_begin(&c->frame, PP__MSG_TASK, (uint16_t)count, 0, &at);
    if (st == PP_OK)
        st = pp__fnref_encode(ref, &c->frame);
    if (st == PP_OK)
        st = pp__buf_put_u64(&c->frame, (uint64_t)first);
    if (st == PP_OK)
        pp__frame_set_flags(&c->frame, at, (uint8_t)((column ? PP__FLAG_SCALARS : 0) | src->flags));
    if (column) {
        /* wire/msg.h, "Scalar columns" */
        if (st == PP_OK)
            st = pp__buf_put_u8(&c->frame, (uint8_t)type);
        for (i = first; i < first + count && st == PP_OK; i++) {
            pp__values_item_scalar(src->items, i, &type, &bits);
            st = pp__buf_put_u64(&c->frame, bits);
        }
    } else {
        for (i = first; i < first + count && st == PP_OK; i++)
            st = encode_item(src, i, &c->frame);
    }
    if (st == PP_OK)
        st = pp__frame_end(&c->frame, at);
    if (st != PP_OK) {
        free_chunks(c);
        return st;
    }
    *out = c;
    return PP_OK;
}

/* Split items from..to-1 into chunks of chunksize; list in order. */
static pp_status build_chunks(const pp__fnref *ref, const item_src *src, size_t from, size_t to,
                              size_t chunksize, pp__chunk **list)
{
    pp__chunk *head = NULL, *tail = NULL, *c;
    size_t first, count;
    pp_status st;

    for (first = from; first < to; first += count) {
        count = to - first < chunksize ? to - first : chunksize;
        st = build_chunk(ref, src, first, count, &c);
        if (st != PP_OK) {
            free_chunks(head);
            return st;
        }
        if (tail)
            tail->next = c;
        else
            head = c;
        tail = c;
    }
    *list = head;
    return PP_OK;
}

/*
 * Would any TASK frame of this submission be too large? Checked for all
 * chunks before the first is queued, so PP_ETOOBIG comes from the
 * submitting call as value.h promises, never from a later batch after
 * earlier ones have run. For map the tuple's own size bounds every chunk:
 * the scan is only needed when that bound is above the limit.
 */
static pp_status check_frames(const pp__fnref *ref, const item_src *src, size_t n, size_t cs)
{
    size_t fixed = pp__fnref_encoded_size(ref) + 8, first, count;

    /* n <= PP_VALUES_MAX_ITEMS and sizes <= PP_MESSAGE_MAX: no overflow */
    if (src->items != NULL &&
        pp__values_encoded_size(src->items) + PP__VALUES_HDR * n + fixed <= PP__FRAME_MAX)
        return PP_OK;
    for (first = 0; first < n; first += count) {
        count = n - first < cs ? n - first : cs;
        if (chunk_args_size(src, first, count) > PP__FRAME_MAX - fixed)
            return PP_ETOOBIG;
    }
    return PP_OK;
}

/* Python's default: ceil(n / (4 * processes)), at least 1. */
static size_t auto_chunksize(const pp_pool *p, size_t n, int kind)
{
    size_t per, cs;

    if (kind == JOB_IMAP || kind == JOB_IMAP_UNORDERED)
        return 1;
    if (p->chunksize)
        return p->chunksize;
    per = (size_t)p->n * 4;
    cs = n / per + (n % per ? 1 : 0);
    if (cs < 1)
        cs = 1;
    return cs > PP__MAX_CHUNK ? PP__MAX_CHUNK : cs;
}

static pp_status job_new(int kind, size_t n, const pp_submit_options *o, int sync, pp_task_fn fn,
                         struct pp_result **out)
{
    struct pp_result *j = calloc(1, sizeof *j);
    const char *name = pp_task_name(fn);

    if (j == NULL)
        return PP_ENOMEM;
    /* n <= PP_VALUES_MAX_ITEMS (or the caller's array): no overflow.
     * Freed by job_free()/job_discard() with the same size. */
    j->items = pp__mem_zalloc(n * sizeof *j->items);
    if (kind == JOB_IMAP_UNORDERED)
        j->order = malloc((n ? n : 1) * sizeof *j->order);
    if (j->items == NULL || (kind == JOB_IMAP_UNORDERED && j->order == NULL)) {
        pp__mem_free(j->items, n * sizeof *j->items);
        free(j->order);
        free(j);
        return PP_ENOMEM;
    }
    j->kind = kind;
    j->n = n;
    j->first_failed = n;
    j->sync = sync;
    if (o != NULL && !sync) {
        j->callback = o->callback;
        j->error_callback = o->error_callback;
        j->userdata = o->userdata;
    }
    if (o != NULL) {
        j->progress = o->progress;
        j->progress_ud = o->progress_userdata;
        j->timeout_ms = o->timeout_ms;
    }
    pp__strlcpy(j->fname, name ? name : "(unregistered function)", sizeof j->fname);
    *out = j;
    return PP_OK;
}

static void job_discard(struct pp_result *j)
{
    pp__mem_free(j->items, j->n * sizeof *j->items);
    free(j->order);
    free(j);
}

/* Register job j with the pool and queue its first chunks. With
 * want_handle the caller gets a reference. */
static pp_status enqueue(pp_pool *p, struct pp_result *j, pp__chunk *list, int want_handle)
{
    pp__plat_mtx_lock(p->core->mu);
    if (p->state != P_RUNNING || p->broken != PP_OK) {
        pp_status st = p->state != P_RUNNING ? PP_ECLOSED : p->broken;
        pp__plat_mtx_unlock(p->core->mu);
        return st;
    }
    j->core = p->core;
    j->pool = p;
    j->refs = 1 + (want_handle ? 1 : 0); /* running + caller */
    p->core->refs++;
    j->live_next = p->live;
    if (p->live)
        p->live->live_prev = j;
    p->live = j;
    pp__queue_append_locked(p, list, j);
    if (j->n == 0)
        pp__job_complete_empty_locked(j);
    pp__plat_mtx_unlock(p->core->mu);
    pp__pump_all(p);
    return PP_OK;
}

/*
 * Queue the next batch of job j: items from..to-1, encoded in list (or
 * build_st if encoding failed). A pool terminated or broken meanwhile gets
 * nothing more: those items and all later ones fail with its status, as
 * do all items from `from` on when encoding failed (only PP_ENOMEM can:
 * check_frames() has ruled out PP_ETOOBIG, and the tuples themselves were
 * checked when they were built). Returns 0 when the
 * submission is finished (last batch, or stopped).
 */
static int feed(pp_pool *p, struct pp_result *j, pp__chunk *list, pp_status build_st, size_t from,
                size_t to)
{
    char msg[128];
    int go_on = 1;

    pp__plat_mtx_lock(p->core->mu);
    if (build_st != PP_OK) {
        snprintf(msg, sizeof msg, "could not encode the arguments of this item: %s",
                 pp_strerror(build_st));
        pp__job_fail_range_locked(j, from, j->n, build_st, msg);
        go_on = 0;
    } else if (j->canceled) {
        free_chunks(list); /* its items are failed already */
        go_on = 0;
    } else if (p->state == P_TERMINATING || p->state == P_JOINED || p->broken != PP_OK) {
        pp_status st = p->broken != PP_OK ? p->broken : PP_ETERMINATED;
        free_chunks(list);
        pp__job_fail_range_locked(j, from, j->n, st,
                                  p->broken != PP_OK ? p->broken_msg : "pool was terminated");
        go_on = 0;
    } else {
        pp__queue_append_locked(p, list, j);
        go_on = to < j->n;
    }
    pp__plat_mtx_unlock(p->core->mu);
    if (build_st == PP_OK)
        pp__pump_all(p);
    return go_on;
}

/* Items per batch: at least one chunk per worker, and enough items that a
 * batch is worth a lock round (chunksize 1 over 20,000 items: 3 batches). */
static size_t batch_items(const pp_pool *p, size_t cs)
{
    size_t per = cs * (size_t)p->n;

    if (per < 8192)
        per = (8192 + cs - 1) / cs * cs;
    return per;
}

/*
 * Encode and queue a submission. Arguments are encoded in batches and each
 * batch is queued at once, so workers start on the first one while the rest
 * is still being encoded (a million-item map no longer encodes everything
 * before any worker has work). Every problem the caller can cause is found
 * in the first batch or before it; see feed() for what later batches can
 * meet.
 */
static pp_status submit_counted(pp_pool *p, int kind, pp_task_fn fn, const item_src *timed_src,
                                size_t n, const pp_submit_options *o, int sync, int want_handle,
                                struct pp_result **out)
{
    item_src s = *timed_src;
    const item_src *src = &s;
    struct pp_result *j;
    pp__chunk *list = NULL;
    pp__fnref ref;
    size_t cs, batch, at, end;
    pp_status st;

    if (o != NULL && (o->chunksize > PP__MAX_CHUNK || o->timeout_ms < 0))
        return PP_EINVAL;
    /* Failure detail out-parameters are filled when a sync call returns;
     * an async call returns before anything failed (pool.h). */
    if (o != NULL && !sync && (o->error != NULL || o->error_index != NULL))
        return PP_EINVAL;
    /* Items with a timeout: the worker notes when each starts (wctl.h). */
    s.flags = o != NULL && o->timeout_ms > 0 ? PP__FLAG_TIMED : 0;
    st = pp__fnref_make(fn, p->method == PP__START_FORK, &ref);
    if (st != PP_OK)
        return st;
    cs = (o != NULL && o->chunksize) ? o->chunksize : auto_chunksize(p, n, kind);
    st = check_frames(&ref, src, n, cs);
    if (st != PP_OK)
        return st;
    batch = batch_items(p, cs);
    end = n < batch ? n : batch;
    st = build_chunks(&ref, src, 0, end, cs, &list);
    if (st != PP_OK)
        return st;
    st = job_new(kind, n, o, sync, fn, &j);
    if (st != PP_OK) {
        free_chunks(list);
        return st;
    }
    /* The caller's reference is taken here, so j stays valid below even if
     * the job completes meanwhile. */
    st = enqueue(p, j, list, 1);
    if (st != PP_OK) {
        free_chunks(list);
        job_discard(j);
        return st;
    }
    for (at = end; at < n; at = end) {
        end = n - at < batch ? n : at + batch;
        list = NULL;
        st = build_chunks(&ref, src, at, end, cs, &list);
        if (!feed(p, j, list, st, at, end))
            break;
    }
    if (want_handle)
        *out = j;
    else
        pp_result_release(j);
    return PP_OK;
}

/* Every submitting call is counted (p->feeding) from its start to its
 * end, so that pp_pool_join() (and destroy after it) waits for a call that
 * is still encoding or queueing, and workers of a closed pool stay for its
 * batches. A call that starts after the pool is destroyed is the caller's
 * use-after-free, as with any other object. */
static void free_tuples(pp_values **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++)
        pp_values_destroy(v[i]);
    free(v);
}

/* pp_submit_options.extra_args: the argument tuple of every item with
 * extra appended, built before encoding (which copies them into frames
 * during the submitting call; freed after it). */
static pp_status join_extra(const item_src *src, size_t n, const pp_values *extra, pp_values ***out)
{
    pp_values **v = calloc(n > 0 ? n : 1, sizeof *v);
    const pp_values *a;
    pp_status st = v != NULL ? PP_OK : PP_ENOMEM;
    size_t i;

    for (i = 0; st == PP_OK && i < n; i++) {
        a = src->items != NULL ? src->items : src->argv != NULL ? src->argv[i] : src->one;
        st = pp_values_create(&v[i]);
        if (st == PP_OK && src->items != NULL)
            st = pp__values_append(v[i], a, i, 1);
        else if (st == PP_OK && a != NULL)
            st = pp__values_append(v[i], a, 0, pp_values_count(a));
        if (st == PP_OK)
            st = pp__values_append(v[i], extra, 0, pp_values_count(extra));
    }
    if (st != PP_OK) {
        free_tuples(v, n);
        return st;
    }
    *out = v;
    return PP_OK;
}

static pp_status submit(pp_pool *p, int kind, pp_task_fn fn, const item_src *src, size_t n,
                        const pp_submit_options *o, int sync, int want_handle,
                        struct pp_result **out)
{
    item_src joined = {NULL, NULL, NULL, 0};
    pp_values **tuples = NULL, *extra = NULL;
    pp_status st;

    if (p == NULL || fn == NULL || (want_handle && out == NULL))
        return PP_EINVAL;
    if (o != NULL && o->extra_values != NULL && o->extra_args != NULL)
        return PP_EINVAL;
    if (o != NULL && (o->extra_values != NULL || o->n_extra_values > 0)) {
        st = pp_values_from(&extra, o->extra_values, o->n_extra_values);
        if (st != PP_OK)
            return st;
    }
    if (o != NULL && (o->extra_args != NULL || extra != NULL)) {
        st = join_extra(src, n, extra != NULL ? extra : o->extra_args, &tuples);
        pp_values_destroy(extra);
        if (st != PP_OK)
            return st;
        joined.argv = (const pp_values *const *)tuples;
        src = &joined;
    }
    pp__plat_mtx_lock(p->core->mu);
    p->feeding++;
    pp__plat_mtx_unlock(p->core->mu);
    st = submit_counted(p, kind, fn, src, n, o, sync, want_handle, out);
    pp__plat_mtx_lock(p->core->mu);
    pp__feed_end_locked(p);
    pp__plat_mtx_unlock(p->core->mu);
    free_tuples(tuples, n);
    return st;
}

/* ------------------------------------------------------------- sync waits */

/* Wait for a sync submission, running its progress callback here. */
static pp_status wait_sync(struct pp_result *j)
{
    size_t seen = 0, done;

    pp__plat_mtx_lock(j->core->mu);
    for (;;) {
        done = j->done;
        if (j->progress != NULL && done != seen) {
            pp__plat_mtx_unlock(j->core->mu);
            j->progress(done, j->n, j->progress_ud);
            seen = done;
            pp__plat_mtx_lock(j->core->mu);
            continue;
        }
        if (j->ready)
            break;
        pp__plat_cond_wait(j->core->cond, j->core->mu, PP_INFINITE);
    }
    pp__plat_mtx_unlock(j->core->mu);
    return pp_result_successful(j);
}

/* ---------------------------------------------------------------- public */

static void fill_error(pp_error *dst, const pp_error *src, pp_status st)
{
    if (dst == NULL)
        return;
    if (src != NULL) {
        *dst = *src;
        return;
    }
    memset(dst, 0, sizeof *dst);
    dst->status = st;
    pp__strlcpy(dst->message, pp_strerror(st), sizeof dst->message);
}

/* The sync map forms' failure detail (pp_submit_options.error and
 * .error_index): the first failed item (index) or, with src NULL and index
 * SIZE_MAX, the call's own failure. */
static void report_failure(const pp_submit_options *o, const pp_error *src, pp_status st,
                           size_t index)
{
    fill_error(o->error, src, st);
    if (o->error_index != NULL)
        *o->error_index = src != NULL ? index : SIZE_MAX;
}

pp_status pp_apply(pp_pool *pool, pp_task_fn fn, const pp_values *args, pp_values **result,
                   pp_error *error)
{
    item_src src = {args, NULL, NULL, 0};
    const pp_values *v = NULL;
    struct pp_result *j;
    pp_status st;

    if (result != NULL)
        *result = NULL;
    st = submit(pool, JOB_APPLY, fn, &src, 1, NULL, 1, 1, &j);
    if (st != PP_OK) {
        fill_error(error, NULL, st);
        return st;
    }
    st = wait_sync(j);
    if (st == PP_OK) {
        pp_result_get(j, PP_INFINITE, &v);
        if (result != NULL)
            st = pp_values_copy(v, result);
    } else {
        fill_error(error, pp_result_error(j), st);
    }
    pp_result_release(j);
    return st;
}

pp_status pp_apply_async(pp_pool *pool, pp_task_fn fn, const pp_values *args,
                         const pp_submit_options *opts, pp_result **out)
{
    item_src src = {args, NULL, NULL, 0};

    return submit(pool, JOB_APPLY, fn, &src, 1, opts, 0, out != NULL, out);
}

static pp_status map_common(pp_pool *pool, int kind, pp_task_fn fn, const pp_values *items,
                            const pp_values *const *argv, size_t n, const pp_submit_options *opts,
                            int sync, pp_result **out)
{
    item_src src = {NULL, items, argv, 0};
    struct pp_result *j;
    pp_status st;
    size_t i;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (items == NULL && argv == NULL && n > 0)
        return PP_EINVAL;
    for (i = 0; argv != NULL && i < n; i++) {
        if (argv[i] == NULL)
            return PP_EINVAL;
    }
    st = submit(pool, kind, fn, &src, n, opts, sync, 1, &j);
    if (st != PP_OK) {
        if (sync && opts != NULL)
            report_failure(opts, NULL, st, SIZE_MAX);
        return st;
    }
    *out = j;
    if (!sync)
        return PP_OK;
    st = wait_sync(j);
    if (st != PP_OK && opts != NULL)
        report_failure(opts, pp_result_error(j), st, j->first_failed);
    return st;
}

pp_status pp_map(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                 const pp_submit_options *opts, pp_result **out)
{
    return map_common(pool, JOB_MAP, fn, items, NULL, pp_values_count(items), opts, 1, out);
}

pp_status pp_map_async(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                       const pp_submit_options *opts, pp_result **out)
{
    return map_common(pool, JOB_MAP, fn, items, NULL, pp_values_count(items), opts, 0, out);
}

pp_status(pp_starmap)(pp_pool *pool, pp_task_fn fn, const pp_values *const *argv, size_t n,
                      const pp_submit_options *opts, pp_result **out)
{
    return map_common(pool, JOB_MAP, fn, NULL, argv, n, opts, 1, out);
}

pp_status(pp_starmap_async)(pp_pool *pool, pp_task_fn fn, const pp_values *const *argv, size_t n,
                            const pp_submit_options *opts, pp_result **out)
{
    return map_common(pool, JOB_MAP, fn, NULL, argv, n, opts, 0, out);
}

pp_status pp_imap(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                  const pp_submit_options *opts, pp_iter **out)
{
    return map_common(pool, JOB_IMAP, fn, items, NULL, pp_values_count(items), opts, 0,
                      (pp_result **)out);
}

pp_status pp_imap_unordered(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                            const pp_submit_options *opts, pp_iter **out)
{
    return map_common(pool, JOB_IMAP_UNORDERED, fn, items, NULL, pp_values_count(items), opts, 0,
                      (pp_result **)out);
}
