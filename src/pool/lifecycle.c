/*
 * lifecycle.c — creating a pool (options, HELLO frame, threads, the
 * first workers) and its lifecycle: close, terminate, join, destroy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/keyring.h"
#include "pool/pool_internal.h"
#include "values/value_internal.h"

/* -------------------------------------------------------------- creation */

/* How long pp_pool_create waits for the launcher to settle (the fork
 * zygote's spare, forked as soon as the first workers are). */
#define SETTLE_MS 5000

/* PP_EINVAL for a bad option, saying which in the log (pool.h). */
static pp_status bad_option(const char *what)
{
    pp__log(PP_LOG_ERROR, "pp_pool_create: %s", what);
    return PP_EINVAL;
}

static pp_status check_options(const pp_pool_options *o, int *method)
{
    if (o->processes < 0 || o->processes > PP_POOL_MAX_PROCESSES)
        return bad_option("processes must be 0 (the CPU count) to PP_POOL_MAX_PROCESSES");
    if (o->maxtasksperchild < 0)
        return bad_option("maxtasksperchild must be 0 (never) or more");
    if (o->chunksize > PP__MAX_CHUNK)
        return bad_option("chunksize must be 0 (automatic) to PP_MAX_CHUNKSIZE");
    if (o->start_timeout_ms < PP_INFINITE)
        return bad_option("start_timeout_ms must be PP_INFINITE, 0 (the default) or more");
    if (o->idle_timeout_ms < 0)
        return bad_option("idle_timeout_ms must be 0 (never) or more");
    if (o->broker_lease_ms < 0)
        return bad_option("broker_lease_ms must be 0 (the default) or more");
    if (o->broker_expire_ms < 0)
        return bad_option("broker_expire_ms must be 0 (the default) or more");
    /* Set without a broker they would do nothing: a forgotten broker
     * address, say, would give a local pool silently. */
    if (o->broker == NULL && o->broker_lease_ms != 0)
        return bad_option("broker_lease_ms is set but broker is NULL");
    if (o->broker == NULL && o->broker_expire_ms != 0)
        return bad_option("broker_expire_ms is set but broker is NULL");
    /* The initializer runs on remote workers too (pool/broker.h). */
    if (o->broker != NULL && o->initargs != NULL &&
        pp__broker_check_args(o->initargs, "initializer arguments") != PP_OK)
        return PP_ENOTSUP;
    switch (o->start_method) {
    case PP_START_DEFAULT:
        *method = pp__plat_default_start_method();
        return PP_OK;
    case PP_START_FORK:
        *method = PP__START_FORK;
        return PP_OK;
    case PP_START_SPAWN:
        *method = PP__START_SPAWN;
        return PP_OK;
    case PP_START_FORKSERVER:
        *method = PP__START_FORKSERVER;
        return PP_OK;
    default:
        return bad_option("start_method is not one of pp_start_method's values");
    }
}

static pp_status encode_hello(pp_pool *p, const pp_pool_options *o)
{
    pp__fnref ref;
    pp_status st;

    /* Remote workers know functions by name only (pool/broker.h). */
    st = pp__fnref_make(o->initializer, p->method == PP__START_FORK && o->broker == NULL, &ref);
    if (st != PP_OK)
        return st;
    /* The payload all workers share; each gets the keyring before it and
     * its control block's name after it (send_hello). */
    st = pp__buf_put_u32(&p->hello, p->maxtasks);
    if (st == PP_OK)
        st = pp__buf_put_u64(&p->hello, o->max_worker_memory);
    if (st == PP_OK)
        st = pp__fnref_encode(&ref, &p->hello);
    if (st == PP_OK)
        st = pp__values_encode(o->initargs, &p->hello);
    if (st == PP_OK && p->hello.len > PP__FRAME_MAX - 1 - PP_NAME_MAX - PP__KEYRING_ENC_MAX)
        st = PP_ETOOBIG;
    return st;
}

static pp_status pool_alloc(const pp_pool_options *o, int method, pp_pool **out)
{
    pp_pool *p = calloc(1, sizeof *p);
    pp_status st;
    int i;

    if (p == NULL)
        return PP_ENOMEM;
    p->method = method;
    p->n = o->processes ? o->processes : pp__plat_cpu_count();
    p->maxtasks = (uint32_t)o->maxtasksperchild;
    p->idle_timeout_ms = o->idle_timeout_ms;
    p->chunksize = o->chunksize;
    p->start_timeout_ms = o->start_timeout_ms != 0 ? o->start_timeout_ms : PP__START_TIMEOUT_MS;
    pp__buf_init(&p->hello);
    p->w = calloc((size_t)p->n, sizeof *p->w);
    st = p->w ? pp__core_create(&p->core) : PP_ENOMEM;
    if (st == PP_OK)
        st = pp__plat_cond_create(&p->sup_cond);
    if (st == PP_OK)
        st = pp__plat_cond_create(&p->res_cond);
    if (st == PP_OK)
        st = encode_hello(p, o);
    if (st != PP_OK) {
        if (p->core) {
            pp__plat_mtx_lock(p->core->mu);
            pp__core_unref_unlock(p->core);
        }
        pp__plat_cond_destroy(p->sup_cond);
        pp__plat_cond_destroy(p->res_cond);
        pp__buf_free(&p->hello);
        free(p->w);
        free(p);
        return st;
    }
    for (i = 0; i < p->n; i++) {
        p->w[i].pool = p;
        p->w[i].idx = i;
    }
    p->next_id = 1;
    *out = p;
    return PP_OK;
}

static void pool_free(pp_pool *p)
{
    int i;

    pp__first_release(p);
    pp__plat_cond_destroy(p->sup_cond);
    pp__plat_cond_destroy(p->res_cond);
    pp__buf_free(&p->hello);
    for (i = 0; i < p->n; i++)
        pp__buf_free(&p->w[i].out); /* dispatch.c */
    free(p->w);
    pp__chunk_list_free(p->free_chunks); /* no thread is left to add to it */
    pp__plat_mtx_lock(p->core->mu);
    pp__core_unref_unlock(p->core);
    free(p);
}

static void stop_threads(pp_pool *p)
{
    pp__plat_mtx_lock(p->core->mu);
    p->stop = 1;
    pp__plat_cond_broadcast(p->core->cond);
    pp__plat_cond_signal(p->sup_cond);
    pp__plat_cond_signal(p->res_cond);
    pp__plat_mtx_unlock(p->core->mu);
    pp__plat_thread_join(p->supervisor);
    pp__plat_thread_join(p->resthread);
    p->supervisor = p->resthread = NULL;
}

static pp_status wait_created(pp_pool *p)
{
    pp_status st;

    pp__plat_mtx_lock(p->core->mu);
    while (p->init_pending > 0 && p->broken == PP_OK)
        pp__plat_cond_wait(p->core->cond, p->core->mu, PP_INFINITE);
    p->creating = 0;
    st = p->broken;
    pp__plat_mtx_unlock(p->core->mu);
    return st;
}

static pp_status start_threads(pp_pool *p)
{
    /* The supervisor starts every worker process: it lives as long as the
     * pool, as the platform contract asks of the thread that starts them.
     * The result thread is started by the first submission with a
     * callback (pp__resthread_ensure_locked): a pool used without callbacks
     * never has it (one thread creation and join less per pool). */
    return pp__plat_thread_create(&p->supervisor, pp__supervisor_main, p);
}

pp_status pp_pool_create(pp_pool **out, const pp_pool_options *opts)
{
    pp_pool_options defaults;
    pp_pool *p;
    pp_status st;
    int method;

    memset(&defaults, 0, sizeof defaults);
    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    st = check_options(opts, &method);
    if (st != PP_OK)
        return st;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    /* Spawning re-runs the program with the arguments pp_init() saw: a
     * pp_init(NULL, NULL) left nothing to run (pool.h: PP_ENOTINIT). */
    if (method != PP__START_FORK && !pp__core_have_argv())
        return PP_ENOTINIT;
    st = pool_alloc(opts, method, &p);
    if (st != PP_OK)
        return st;
    /* Fork: the zygote is forked here, before this pool has any thread;
     * it hands the first workers their HELLO (supervisor.c). */
    st = pp__first_launcher_create(p);
    if (st != PP_OK) {
        pool_free(p);
        return st;
    }
    p->creating = 1;
    p->init_pending = p->n;
    st = start_threads(p);
    if (st == PP_OK)
        st = wait_created(p);
    if (st == PP_OK)
        st = pp__broker_open(p, opts);
    /* Fork: the zygote forks its spare after the first workers; the pool
     * is not handed out before the spare exists (bounded: without one the
     * pool works, it only cannot outlive its zygote). */
    if (st == PP_OK)
        pp__plat_launcher_settle(p->launcher, SETTLE_MS);
    if (st != PP_OK) {
        pp_pool_terminate(p);
        pp_pool_join(p, PP_INFINITE);
        pp_pool_destroy(p);
        return st;
    }
    *out = p;
    return PP_OK;
}

int pp_pool_size(const pp_pool *pool)
{
    return pool ? pool->n : 0;
}

/* ------------------------------------------------------------- lifecycle */

pp_status pp_pool_close(pp_pool *p)
{
    if (p == NULL)
        return PP_EINVAL;
    if (pp__pool_foreign(p))
        return PP_ESTATE;
    pp__plat_mtx_lock(p->core->mu);
    if (p->state == P_RUNNING)
        p->state = P_CLOSED;
    pp__maybe_quit_workers_locked(p);
    pp__plat_cond_broadcast(p->core->cond);
    pp__plat_cond_signal(p->sup_cond);
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}

pp_status pp_pool_terminate(pp_pool *p)
{
    int i;

    if (p == NULL)
        return PP_EINVAL;
    if (pp__pool_foreign(p))
        return PP_ESTATE; /* never kill the creator's workers from a fork child */
    pp__plat_mtx_lock(p->core->mu);
    if (p->state == P_JOINED || p->state == P_TERMINATING) {
        pp__plat_mtx_unlock(p->core->mu);
        return PP_OK;
    }
    p->state = P_TERMINATING;
    pp__fail_queue_locked(p, PP_ETERMINATED, "pool was terminated");
    if (p->broker != NULL)
        p->bops->terminate_locked(p->broker);
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state == W_STARTING || w->state == W_READY) {
            w->killed = 1;
            pp__plat_proc_kill(w->proc);
        }
    }
    pp__plat_cond_broadcast(p->core->cond);
    pp__plat_cond_signal(p->sup_cond);
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}

static int all_done_locked(const pp_pool *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        if (p->w[i].state != W_EMPTY || p->w[i].launching)
            return 0;
    }
    /* A submission still feeding touches the pool on its next batch (which
     * fails its remaining items once the pool is terminated or broken). */
    if (p->feeding > 0)
        return 0;
    if (p->state == P_CLOSED && p->broken == PP_OK && pp__work_left_locked(p))
        return 0;
    return p->cb_head == NULL && !p->resthread_busy;
}

pp_status pp_pool_join(pp_pool *p, int64_t timeout_ms)
{
    pp__broker *b;
    int64_t deadline;
    int64_t left;

    if (p == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (pp__pool_foreign(p))
        return PP_ESTATE;
    if (pp__on_result_thread(p) || pp__on_feeding_thread(p))
        return PP_EDEADLK; /* it would wait for the very call that runs it */
    deadline = pp__plat_deadline_ms(timeout_ms);
    pp__plat_mtx_lock(p->core->mu);
    if (p->state == P_RUNNING) {
        pp__plat_mtx_unlock(p->core->mu);
        return PP_ESTATE;
    }
    while (p->state != P_JOINED && !all_done_locked(p)) {
        if (timeout_ms == PP_INFINITE) {
            pp__plat_cond_wait(p->core->cond, p->core->mu, PP_INFINITE);
            continue;
        }
        left = deadline - pp__plat_now_ms();
        if (left <= 0) {
            pp__plat_mtx_unlock(p->core->mu);
            return PP_ETIMEDOUT;
        }
        pp__plat_cond_wait(p->core->cond, p->core->mu, left);
    }
    if (p->state == P_JOINED) {
        pp__plat_mtx_unlock(p->core->mu);
        return PP_OK;
    }
    pp__plat_mtx_unlock(p->core->mu);
    stop_threads(p);
    pp__plat_mtx_lock(p->core->mu);
    b = p->broker;
    p->broker = NULL;
    pp__plat_mtx_unlock(p->core->mu);
    if (b != NULL)
        p->bops->close(b); /* its thread touches the pool: before the pool is freed */
    pp__plat_launcher_destroy(p->launcher);
    p->launcher = NULL;
    pp__first_release(p); /* a first control block no worker took */
    pp__plat_mtx_lock(p->core->mu);
    p->state = P_JOINED;
    pp__plat_mtx_unlock(p->core->mu);
    return PP_OK;
}

void pp_pool_destroy(pp_pool *p)
{
    struct pp_result *j, *next;

    if (p == NULL)
        return;
    if (pp__pool_foreign(p)) {
        /* its threads are the creator's, its workers too: nothing here
         * can be stopped or freed safely (a mutex may be held) */
        pp__log(PP_LOG_ERROR, "pp_pool_destroy() called in a fork child of the process that "
                              "created the pool: ignored (the pool is its creator's)");
        return;
    }
    if (pp__on_result_thread(p) || pp__on_feeding_thread(p)) {
        pp__log(PP_LOG_ERROR, "pp_pool_destroy() called from a callback: ignored");
        return;
    }
    if (p->state != P_JOINED) {
        pp_pool_terminate(p);
        pp_pool_join(p, PP_INFINITE);
    }
    pp__plat_mtx_lock(p->core->mu);
    for (j = p->live; j != NULL; j = next) {
        next = j->live_next;
        if (j->complete)
            pp__report_unobserved(j);
        j->pool = NULL;
        j->live_prev = j->live_next = NULL;
    }
    p->live = NULL;
    pp__plat_mtx_unlock(p->core->mu);
    pool_free(p);
}
