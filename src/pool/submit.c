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

/* Python's default: ceil(n / (4 * processes)), at least 1; the remote
 * workers seen alive count as processes. */
static size_t auto_chunksize(pp_pool *p, size_t n, int kind)
{
    size_t per, cs, workers = (size_t)p->n;

    if (kind == JOB_IMAP || kind == JOB_IMAP_UNORDERED)
        return 1;
    if (p->chunksize)
        return p->chunksize;
    if (p->broker != NULL) {
        pp__plat_mtx_lock(p->core->mu);
        workers += p->bops->workers_locked(p->broker);
        pp__plat_mtx_unlock(p->core->mu);
    }
    per = workers * 4;
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
    j->items = n == 1 ? &j->item1 : pp__mem_zalloc(n * sizeof *j->items);
    if (kind == JOB_IMAP_UNORDERED)
        j->order = malloc((n ? n : 1) * sizeof *j->order);
    if (j->items == NULL || (kind == JOB_IMAP_UNORDERED && j->order == NULL)) {
        if (j->items != &j->item1)
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
    if (j->items != &j->item1)
        pp__mem_free(j->items, j->n * sizeof *j->items);
    free(j->order);
    free(j);
}

/* The pool takes submissions: PP_OK, else why not (PP_ECLOSED, or what
 * broke it). Caller holds the mutex, and has checked pp__pool_foreign(). */
static pp_status pool_open_locked(const pp_pool *p)
{
    return p->state != P_RUNNING ? PP_ECLOSED : p->broken;
}

/* Register job j with the pool (open when the call started: pool_open_locked()).
 * Its batches are queued by feed(): a close since the call started does
 * not stop them (the call was made while the pool was open); a terminate
 * or a break since then (a pp_map_stream() item function, a progress
 * callback, another thread) fails every item not queued yet with the
 * pool's status there, and the caller gets a result that says so. */
static void enqueue_locked(pp_pool *p, struct pp_result *j, int want_handle)
{
    j->core = p->core;
    j->pool = p;
    j->refs = 1 + (want_handle ? 1 : 0); /* running + caller */
    p->core->refs++;
    j->live_next = p->live;
    if (p->live)
        p->live->live_prev = j;
    p->live = j;
    if (j->n == 0)
        pp__job_complete_empty_locked(j);
}

/*
 * Queue the next batch of job j (the first one registers j: enqueue_locked(),
 * in the same mutex hold): its chunks (list, items from..to-1), and
 * if encoding stopped at item to (fail_st), items to..n-1 fail with
 * fail_st (a made item too large, its maker's status, PP_ENOMEM). A pool
 * terminated or broken meanwhile gets nothing more: those items and all
 * later ones fail with its status. Returns 0 when the submission is
 * finished (last batch, or stopped).
 */
static int feed(pp_pool *p, struct pp_result *j, int first, pp__chunk *list, size_t from, size_t to,
                pp_status fail_st)
{
    char msg[160];
    int go_on = 1;

    pp__plat_mtx_lock(p->core->mu);
    if (first)
        enqueue_locked(p, j, 1);
    if (j->canceled) {
        pp__chunk_list_free(list); /* its items are failed already */
        go_on = 0;
    } else if (p->state == P_TERMINATING || p->state == P_JOINED || p->broken != PP_OK) {
        pp_status st = p->broken != PP_OK ? p->broken : PP_ETERMINATED;
        pp__chunk_list_free(list);
        pp__job_fail_range_locked(j, from, j->n, st,
                                  p->broken != PP_OK ? p->broken_msg : "pool was terminated");
        go_on = 0;
    } else {
        pp__queue_append_locked(p, list, j);
        go_on = to < j->n;
        if (fail_st != PP_OK && to < j->n) {
            if (fail_st == PP_ETOOBIG)
                snprintf(msg, sizeof msg,
                         "the arguments of item %lu are larger than one message; items from "
                         "it on were not run",
                         (unsigned long)to);
            else
                snprintf(msg, sizeof msg,
                         "could not make the arguments of item %lu (%s); items from it on were "
                         "not run",
                         (unsigned long)to, pp_strerror(fail_st));
            pp__job_fail_range_locked(j, to, j->n, fail_st, msg);
            go_on = 0;
        }
        if (list != NULL)
            pp__pump_submitted_locked(p); /* the mutex is released while writing */
    }
    pp__plat_mtx_unlock(p->core->mu);
    return go_on;
}

/* A sync submission: wait while more than PP__FEED_QUEUE_BYTES of frames
 * are queued, so the parent holds its input plus a bounded amount of
 * encoded arguments (the rest is encoded as workers take work). Runs a
 * sync map's progress callback meanwhile. Ends when there is room, or
 * the job or pool stopped (feed() then sees why). Timed waits: a wake-up
 * lost is a short delay, never a hang. */
static void wait_room(pp_pool *p, struct pp_result *j, size_t *seen)
{
    size_t done;

    pp__plat_mtx_lock(p->core->mu);
    p->feed_waiters++;
    while (p->queued_bytes > PP__FEED_QUEUE_BYTES && !j->canceled && p->broken == PP_OK &&
           p->state != P_TERMINATING && p->state != P_JOINED) {
        done = j->done;
        if (j->progress != NULL && done != *seen) {
            pp__plat_mtx_unlock(p->core->mu);
            j->progress(done, j->n, j->progress_ud);
            *seen = done;
            pp__plat_mtx_lock(p->core->mu);
            continue;
        }
        pp__plat_cond_wait(p->core->cond, p->core->mu, 100);
    }
    p->feed_waiters--;
    pp__plat_mtx_unlock(p->core->mu);
}

/* Items per batch: at least one chunk per worker, and enough items that a
 * batch is worth a lock round (chunksize 1 over 20,000 items: 3 batches).
 * Batches are also bounded in bytes (chunks.c). */
static size_t batch_items(const pp_pool *p, size_t cs)
{
    size_t per = cs * (size_t)p->n;

    if (per < 8192)
        per = (8192 + cs - 1) / cs * cs;
    return per;
}

/* pp_map_stream()'s items are made in batches of up to thousands: once
 * the pool is terminated or broken, or the call canceled, the rest of the
 * batch is not made (feed() then fails those items), so a terminate or a
 * destroy does not wait for the caller's item function to make them. */
typedef struct stop_gen {
    pp_item_fn gen;
    void *ud;
    pp_pool *p;
    const struct pp_result *j;
} stop_gen;

static pp_status stop_gen_item(void *ud, size_t i, pp_values *args)
{
    const stop_gen *g = ud;
    pp_status st = PP_OK;

    pp__plat_mtx_lock(g->p->core->mu);
    if (g->j != NULL && g->j->canceled)
        st = PP_ECANCELED;
    else if (g->p->broken != PP_OK)
        st = g->p->broken;
    else if (g->p->state == P_TERMINATING || g->p->state == P_JOINED)
        st = PP_ETERMINATED;
    pp__plat_mtx_unlock(g->p->core->mu);
    return st != PP_OK ? st : g->gen(g->ud, i, args);
}

/*
 * Encode and queue a submission. Arguments are encoded in batches and each
 * batch is queued at once, so workers start on the first one while the rest
 * is still being encoded. A sync call encodes a batch only when there is
 * room in the queue (wait_room), so a map of any size runs in bounded
 * memory. Every problem the caller can cause with items that exist is
 * found before the first batch; see feed() for what later batches (and
 * made items) can meet.
 */
static pp_status submit_counted(pp_pool *p, int kind, pp_task_fn fn, const pp__item_src *timed_src,
                                size_t n, const pp_submit_options *o, int sync, int want_handle,
                                pp_status open_st, pp__chunk **spare, struct pp_result **out)
{
    pp__item_src s = *timed_src;
    stop_gen sg = {s.gen, s.gen_ud, p, NULL};
    struct pp_result *j;
    pp__chunk *list = NULL;
    pp__builder b;
    pp__fnref ref;
    size_t cs, at, end, seen = 0;
    pp_status st, bst;
    int auto_cs, first = 1;

    if (o != NULL && (o->chunksize > PP__MAX_CHUNK || o->timeout_ms < 0))
        return PP_EINVAL;
    /* Failure detail out-parameters are filled when a sync call returns;
     * an async call returns before anything failed (pool.h). */
    if (o != NULL && !sync && (o->error != NULL || o->error_index != NULL))
        return PP_EINVAL;
    /* Items with a timeout: the worker notes when each starts (wctl.h). */
    s.flags = o != NULL && o->timeout_ms > 0 ? PP__FLAG_TIMED : 0;
    /* A sync apply: its worker may spin for the caller's next one. */
    if (sync && kind == JOB_APPLY)
        s.flags |= PP__FLAG_WAITED;
    /* Remote workers know functions by name only (pool/broker.h). */
    st = pp__fnref_make(fn, p->method == PP__START_FORK && p->broker == NULL, &ref);
    if (st != PP_OK)
        return st;
    if (open_st != PP_OK)
        return open_st;
    auto_cs = !(o != NULL && o->chunksize) && !p->chunksize;
    cs = (o != NULL && o->chunksize) ? o->chunksize : auto_chunksize(p, n, kind);
    if (s.gen != NULL) {
        s.gen = stop_gen_item;
        s.gen_ud = &sg;
    }
    st = pp__builder_init(&b, &ref, &s, n, cs, auto_cs, batch_items(p, cs));
    b.spare = *spare; /* freed with the builder if unused */
    *spare = NULL;
    /* A sync map's caller waits (pp__wait_sync) with its items alive:
     * byte and string columns are copied from them when sent (lazy
     * chunks, pool_internal.h). Not for remote workers (they read frames
     * whole). */
    b.lazy = sync && kind == JOB_MAP && p->broker == NULL;
    if (st == PP_OK)
        st = pp__builder_check(&b);
    if (st == PP_OK)
        st = job_new(kind, n, o, sync, fn, &j);
    if (st != PP_OK) {
        pp__builder_free(&b);
        return st;
    }
    j->lazy = b.lazy;
    j->blob_tuples = s.arr == NULL; /* pp_map_array copies blob results as bytes */
    sg.j = j;
    bst = pp__builder_batch(&b, 0, &list, &end);
    if (bst == PP_ENOMEM && list == NULL && s.gen == NULL) {
        /* nothing could be encoded: the call fails, nothing ran (made
         * items: PP_ENOMEM may be what the item function returned, and
         * its items fail with it like with any other status) */
        pp__builder_free(&b);
        job_discard(j);
        return bst;
    }
    /* The caller's reference is taken with the first batch (feed), so j
     * stays valid below even if the job completes meanwhile. */
    for (at = 0;; first = 0) {
        if (!feed(p, j, first, list, at, end, bst))
            break;
        at = end;
        if (sync)
            wait_room(p, j, &seen);
        list = NULL;
        bst = pp__builder_batch(&b, at, &list, &end);
    }
    pp__builder_free(&b);
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
 * use-after-free, as with any other object. Extra values are appended to
 * each item as it is encoded (chunks.c): no copy of the whole input. */
/* A thread inside a submitting call, listed in p->feeders while the call
 * is counted: a pp_map_stream() item function or a sync map's progress
 * callback runs there, and a join or destroy from it would wait for the
 * call that runs it (pp__on_feeding_thread). */
struct pp__feeder {
    uint64_t thread;
    struct pp__feeder *next;
};

int pp__on_feeding_thread(pp_pool *p)
{
    uint64_t self = pp__plat_thread_id();
    const struct pp__feeder *f;
    int found = 0;

    pp__plat_mtx_lock(p->core->mu);
    for (f = p->feeders; f != NULL && !found; f = f->next)
        found = f->thread == self;
    pp__plat_mtx_unlock(p->core->mu);
    return found;
}

/* A pool with a broker: pp_map_stream()'s items are checked as made. */
typedef struct remote_gen {
    pp_item_fn gen;
    void *ud;
} remote_gen;

static pp_status remote_gen_item(void *ud, size_t i, pp_values *args)
{
    const remote_gen *g = ud;
    pp_status st = g->gen(g->ud, i, args);

    return st == PP_OK ? pp__broker_check_args(args, "arguments") : st;
}

/* Arguments bound for a pool with a broker (any task may run remotely). */
static pp_status check_remote(const pp__item_src *s, size_t n)
{
    pp_status st = PP_OK;
    size_t i;

    if (s->one != NULL)
        st = pp__broker_check_args(s->one, "arguments");
    if (st == PP_OK && s->items != NULL)
        st = pp__broker_check_args(s->items, "map items");
    for (i = 0; st == PP_OK && s->argv != NULL && i < n; i++)
        st = s->argv[i] != NULL ? pp__broker_check_args(s->argv[i], "arguments") : PP_OK;
    if (st == PP_OK && s->extra != NULL)
        st = pp__broker_check_args(s->extra, "extra arguments");
    return st;
}

static pp_status submit(pp_pool *p, int kind, pp_task_fn fn, const pp__item_src *src, size_t n,
                        const pp_submit_options *o, int sync, int want_handle,
                        struct pp_result **out)
{
    remote_gen rg;
    pp__item_src s = *src;
    pp_values *extra = NULL;
    struct pp__feeder me, **pf;
    pp__chunk *spare = NULL;
    pp_status st, open_st;

    if (p == NULL || fn == NULL || (want_handle && out == NULL))
        return PP_EINVAL;
    /* Before the mutex: a fork child may have a copy of it that a thread
     * of the creator held at the fork, and no thread to release it. */
    if (pp__pool_foreign(p))
        return PP_ESTATE;
    if (o != NULL && o->extra_values != NULL && o->extra_args != NULL)
        return PP_EINVAL;
    if (o != NULL && (o->extra_values != NULL || o->n_extra_values > 0)) {
        st = pp_values_from(&extra, o->extra_values, o->n_extra_values);
        if (st != PP_OK)
            return st;
    }
    s.extra = extra != NULL ? extra : o != NULL ? o->extra_args : NULL;
    if (s.extra != NULL && pp_values_count(s.extra) == 0)
        s.extra = NULL;
    if (p->broker != NULL) {
        st = check_remote(&s, n);
        if (st != PP_OK) {
            pp_values_destroy(extra);
            return st;
        }
        if (s.gen != NULL) {
            rg.gen = s.gen;
            rg.ud = s.gen_ud;
            s.gen = remote_gen_item;
            s.gen_ud = &rg;
        }
    }
    me.thread = pp__plat_thread_id();
    pp__plat_mtx_lock(p->core->mu);
    p->feeding++;
    me.next = p->feeders;
    p->feeders = &me;
    /* Whether the pool takes it is decided here (submit_counted reports
     * it after its own checks of the arguments), and an apply gets a
     * freed chunk for its one chunk: one mutex hold for the three. */
    open_st = pool_open_locked(p);
    if (open_st == PP_OK && o != NULL && !sync && (o->callback || o->error_callback || o->progress))
        open_st = pp__resthread_ensure_locked(p); /* supervisor.c: the first that needs it */
    if (open_st == PP_OK && n == 1)
        spare = pp__chunk_take_free_locked(p);
    pp__plat_mtx_unlock(p->core->mu);
    st = submit_counted(p, kind, fn, &s, n, o, sync, want_handle, open_st, &spare, out);
    pp__chunk_list_free(spare); /* not handed to a builder: the call stopped before */
    pp__plat_mtx_lock(p->core->mu);
    for (pf = &p->feeders; *pf != &me; pf = &(*pf)->next)
        ;
    *pf = me.next;
    pp__feed_end_locked(p);
    pp__plat_mtx_unlock(p->core->mu);
    pp_values_destroy(extra);
    return st;
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

pp_status pp__report_call_failure(const pp_submit_options *o, pp_status st, const char *what)
{
    if (o == NULL)
        return st;
    report_failure(o, NULL, st, SIZE_MAX);
    if (o->error != NULL && what != NULL)
        snprintf(o->error->message, sizeof o->error->message, "%s: %s", what, pp_strerror(st));
    return st;
}

pp_status pp_apply(pp_pool *pool, pp_task_fn fn, const pp_values *args, pp_values **result,
                   pp_error *error)
{
    pp__item_src src = {0};
    const pp_values *v = NULL;
    struct pp_result *j;
    pp_status st;

    src.one = args;
    if (result != NULL)
        *result = NULL;
    st = submit(pool, JOB_APPLY, fn, &src, 1, NULL, 1, 1, &j);
    if (st != PP_OK) {
        fill_error(error, NULL, st);
        return st;
    }
    st = pp__wait_sync(j);
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
    pp__item_src src = {0};

    src.one = args;
    return submit(pool, JOB_APPLY, fn, &src, 1, opts, 0, out != NULL, out);
}

static pp_status map_src(pp_pool *pool, int kind, pp_task_fn fn, const pp__item_src *src, size_t n,
                         const pp_submit_options *opts, int sync, pp_result **out)
{
    struct pp_result *j;
    pp_status st;

    st = submit(pool, kind, fn, src, n, opts, sync, 1, &j);
    if (st != PP_OK) {
        if (sync && opts != NULL)
            report_failure(opts, NULL, st, SIZE_MAX);
        return st;
    }
    *out = j;
    if (!sync)
        return PP_OK;
    st = pp__wait_sync(j);
    if (st != PP_OK && opts != NULL)
        report_failure(opts, pp_result_error(j), st, j->first_failed);
    return st;
}

pp_status pp__submit_sync_map(pp_pool *pool, pp_task_fn fn, const pp__item_src *src, size_t n,
                              const pp_submit_options *opts, struct pp_result **out)
{
    pp_status st = submit(pool, JOB_MAP, fn, src, n, opts, 1, 1, out);

    if (st == PP_OK)
        (void)pp__wait_sync(*out);
    return st;
}

static pp_status map_common(pp_pool *pool, int kind, pp_task_fn fn, const pp_values *items,
                            const pp_values *const *argv, size_t n, const pp_submit_options *opts,
                            int sync, pp_result **out)
{
    pp__item_src src = {0};
    size_t i;

    if (out == NULL)
        return sync ? pp__report_call_failure(opts, PP_EINVAL, "no result out-parameter")
                    : PP_EINVAL;
    *out = NULL;
    if (items == NULL && argv == NULL && n > 0)
        return sync ? pp__report_call_failure(opts, PP_EINVAL, "no items") : PP_EINVAL;
    for (i = 0; argv != NULL && i < n; i++) {
        if (argv[i] == NULL)
            return sync ? pp__report_call_failure(opts, PP_EINVAL, "a NULL argument tuple")
                        : PP_EINVAL;
    }
    src.items = items;
    src.argv = argv;
    return map_src(pool, kind, fn, &src, n, opts, sync, out);
}

pp_status pp_map_stream(pp_pool *pool, pp_task_fn fn, size_t n, pp_item_fn item, void *userdata,
                        const pp_submit_options *opts, pp_result **out)
{
    pp__item_src src = {0};

    if (out == NULL)
        return pp__report_call_failure(opts, PP_EINVAL, "no result out-parameter");
    *out = NULL;
    if (item == NULL)
        return pp__report_call_failure(opts, PP_EINVAL, "no item function");
    if (n > SIZE_MAX / (4 * sizeof(pp__item))) /* no memory could hold its outcomes */
        return pp__report_call_failure(opts, PP_ETOOBIG, "too many items");
    src.gen = item;
    src.gen_ud = userdata;
    return map_src(pool, JOB_MAP, fn, &src, n, opts, 1, out);
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
