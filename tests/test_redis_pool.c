/*
 * test_redis_pool.c — the distributed pool (pool.h: pp_pool_options.broker)
 * against a real redis-server (pp_test_redis.h): 1 local worker and 2
 * remote workers, which are child processes of this test binary started
 * with PROCPOOL_REMOTE (their pp_init() runs the remote worker loop).
 *
 *  - every submission form, results right, some run remotely;
 *  - arguments that cannot leave the machine are refused (PP_ENOTSUP);
 *  - nothing is left in Redis after destroy;
 *  - a remote worker SIGKILLed mid-task: only its chunk's items fail
 *    (PP_EWORKERDIED after the lease), the rest are right;
 *  - remote workers that never come back: the pool goes on locally;
 *  - bad entries injected with a raw hiredis client: rejected, logged,
 *    the pool keeps serving;
 *  - Redis restarted mid-map: clear errors, no hang, later maps work;
 *  - the program that owns the pool killed: its keys expire;
 *  - the listing of remote workers and progress across machines;
 *  - hostile cases: a lease or expiry out of range, the task stream
 *    deleted mid-map, a remote worker or Redis paused (SIGSTOP) longer
 *    than the lease, Redis out of memory, results near the message limit,
 *    a pool destroyed while a remote worker runs its chunk, local objects
 *    in the initializer's arguments, a remote worker that served a program
 *    with a long lease taking on one with a short lease.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_env.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#ifndef _WIN32
#include <signal.h>
#endif
#include <hiredis/hiredis.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "values/tuple.h"
#include "pp_test.h"
#include "pp_test_redis.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define LEASE_MS 600

/* ----------------------------------------------------------------- tasks */

static int is_remote(void)
{
    const char *v = getenv("PROCPOOL_REMOTE");

    return v != NULL && v[0] != '\0';
}

/* (x[, sleep_ms]) -> x * x */
static int rp_sq(pp_task *t)
{
    int64_t x = 0, ms = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 1, "no int");
    if (pp_values_count(pp_task_args(t)) > 1 &&
        pp_values_get_int(pp_task_args(t), 1, &ms) == PP_OK && ms > 0)
        pp__plat_sleep_ms(ms);
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(rp_sq)

/* (x, sleep_ms) -> (x * x, 1 if run by a remote worker, its pid) */
static int rp_who(pp_task *t)
{
    int64_t x = 0, ms = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK ||
        pp_values_get_int(pp_task_args(t), 1, &ms) != PP_OK)
        return pp_task_fail(t, 1, "want (x, ms)");
    if (ms > 0)
        pp__plat_sleep_ms(ms);
    if (pp_values_add_int(pp_task_result(t), x * x) != PP_OK ||
        pp_values_add_int(pp_task_result(t), is_remote()) != PP_OK)
        return PP_ENOMEM;
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(rp_who)

/* A record of pp_map_array(): 8 bytes in, one int out. */
static int rp_rec(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;
    int64_t x;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK || n != 8)
        return pp_task_fail(t, 1, "want 8 bytes");
    memcpy(&x, p, 8);
    return pp_values_add_int(pp_task_result(t), x + 1);
}
PP_TASK_REGISTER(rp_rec)

/* (x, lock) -> 1 if run remotely, after a hold of the lock */
static int rp_locked(pp_task *t)
{
    pp_lock *l = NULL;
    pp_status st;

    st = pp_values_get_lock(pp_task_args(t), 1, &l);
    if (st != PP_OK)
        return pp_task_fail(t, st, "no lock");
    st = pp_lock_acquire(l, 10000);
    if (st != PP_OK)
        return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
    st = pp_lock_release(l);
    if (st != PP_OK)
        return pp_task_fail(t, st, "release: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), is_remote());
}
PP_TASK_REGISTER(rp_locked)

/* (n) -> (n / 2 bytes, n - n / 2 bytes, 1 if remote) */
static int rp_big(pp_task *t)
{
    int64_t n = 0;
    pp_status st;
    char *b;

    if (pp_values_get_int(pp_task_args(t), 0, &n) != PP_OK || n < 0)
        return pp_task_fail(t, 1, "want (n)");
    b = malloc((size_t)n + 1);
    if (b == NULL)
        return PP_ENOMEM;
    memset(b, (int)(n % 251), (size_t)n);
    /* two halves: one value holds at most PP_VALUE_MAX_BYTES */
    st = pp_values_add_bytes(pp_task_result(t), b, (size_t)n / 2);
    if (st == PP_OK)
        st = pp_values_add_bytes(pp_task_result(t), b, (size_t)n - (size_t)n / 2);
    free(b);
    if (st == PP_OK)
        st = pp_values_add_int(pp_task_result(t), is_remote());
    if (st != PP_OK)
        return pp_task_fail(t, st, "%lld bytes: %s (remote %d)", (long long)n, pp_err_name(st),
                            is_remote());
    return PP_OK;
}
PP_TASK_REGISTER(rp_big)

static int g_init_ran;

static int rp_init(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 1, "no int");
    g_init_ran = (int)x;
    return 0;
}
PP_TASK_REGISTER(rp_init)

/* () -> what the initializer set */
static int rp_init_seen(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), g_init_ran);
}
PP_TASK_REGISTER(rp_init_seen)

/* ---------------------------------------------------------------- set-up */

typedef struct fixture {
    pp_test_redis s;
    char name[PP_NAME_MAX + 1];
    char url[160];
    pp_test_child *remote[4];
    int nremote;
    pp_pool *pool;
} fixture;

/* For this process (the pool reads its credentials with getenv()) and the
 * children it starts. */
static void set_env(const char *name, const char *value)
{
    CU_ASSERT_FATAL(apr_env_set(name, value, pp_test_pool()) == APR_SUCCESS);
#ifdef _WIN32
    /* the C runtime's copy, which SetEnvironmentVariable leaves alone */
    CU_ASSERT_FATAL(_putenv_s(name, value) == 0);
#endif
}

/* A remote worker: this binary with PROCPOOL_REMOTE set (the helper named
 * is never reached: pp_init() runs the remote worker loop). */
static void add_remote(fixture *f)
{
    set_env("PROCPOOL_REMOTE", f->url);
    f->remote[f->nremote] = pp_test_spawn("rp-unreached", NULL);
    (void)apr_env_delete("PROCPOOL_REMOTE", pp_test_pool());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->remote[f->nremote]);
    f->nremote++;
}

/* Wait until the pool lists n remote workers: 1, or 0 after WAIT_MS. */
static int wait_remotes(pp_pool *p, size_t n)
{
    int64_t t0 = pp_test_now_ms();
    size_t count = 0;

    while (pp_test_now_ms() - t0 < WAIT_MS) {
        if (pp_pool_remote_workers(p, NULL, 0, &count) == PP_OK && count == n)
            return 1;
        pp_test_sleep_ms(50);
    }
    return 0;
}

static void fixture_pool(fixture *f, const pp_pool_options *extra)
{
    pp_pool_options o;

    if (extra != NULL)
        o = *extra;
    else
        memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = f->url;
    if (o.broker_lease_ms == 0)
        o.broker_lease_ms = LEASE_MS;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&f->pool, &o), PP_OK);
}

#ifndef _WIN32
/* A pool of the fixture's name if the name is free (f->pool NULL if not). */
static void fixture_pool_try(fixture *f)
{
    pp_pool_options o;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = f->url;
    o.broker_lease_ms = LEASE_MS;
    f->pool = NULL;
    if (pp_pool_create(&f->pool, &o) != PP_OK)
        f->pool = NULL;
}
#endif

/* Redis, its password in the environment (pool and remote workers read
 * it there), nremote remote workers, a pool (opts: NULL for defaults)
 * that sees them all. */
static void fixture_start(fixture *f, int nremote, const pp_pool_options *opts)
{
    int i;

    memset(f, 0, sizeof *f);
    pp_test_redis_start(&f->s);
    set_env("PROCPOOL_REDIS_PASSWORD", f->s.password);
    pp_test_unique_name(f->name, sizeof f->name);
    snprintf(f->url, sizeof f->url, "%s/%s", f->s.url, f->name);
    for (i = 0; i < nremote; i++)
        add_remote(f);
    fixture_pool(f, opts);
    PP_ASSERT_MSG_FATAL(wait_remotes(f->pool, (size_t)nremote),
                        "the pool did not see %d remote workers", nremote);
}

static void fixture_stop(fixture *f)
{
    int i;

    pp_pool_destroy(f->pool);
    f->pool = NULL;
    for (i = 0; i < f->nremote; i++)
        pp_test_child_free(f->remote[i]);
    pp_test_redis_stop(&f->s);
}

/* A raw client of the test's server. */
static redisContext *raw_connect(const fixture *f)
{
    char host[64];
    int port = 0;
    redisContext *c;
    redisReply *rep;

    CU_ASSERT_FATAL(sscanf(f->s.url, "redis://%63[^:]:%d", host, &port) == 2);
    c = redisConnect(host, port);
    CU_ASSERT_FATAL(c != NULL && c->err == 0);
    rep = redisCommand(c, "AUTH %s", f->s.password);
    CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    return c;
}

/* Keys of the pool's name left in Redis (KEYS pp:{NAME}*). */
static size_t keys_left(const fixture *f)
{
    redisContext *c = raw_connect(f);
    redisReply *rep;
    size_t n;

    rep = redisCommand(c, "KEYS pp:{%s}*", f->name);
    CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_ARRAY);
    n = rep->elements;
    freeReplyObject(rep);
    redisFree(c);
    return n;
}

/* Wait up to ms for no key of the pool's name to be left: 1 if none is. */
static int wait_no_keys(const fixture *f, int64_t ms)
{
    int64_t t0 = pp_test_now_ms();

    while (keys_left(f) != 0) {
        if (pp_test_now_ms() - t0 > ms)
            return 0;
        pp_test_sleep_ms(100);
    }
    return 1;
}

/* n items (i, ms) as argument tuples */
static pp_values **make_args(size_t n, int64_t ms)
{
    pp_values **argv = calloc(n, sizeof *argv);
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(argv);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[i], "ll", (int64_t)i, ms), PP_OK);
    return argv;
}

static void free_args(pp_values **argv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        pp_values_destroy(argv[i]);
    free(argv);
}

/* Check a finished rp_who map of n items: every item right; returns how
 * many ran remotely. */
static size_t check_who(pp_result *r, size_t n)
{
    size_t i, remote = 0;

    for (i = 0; i < n; i++) {
        const pp_values *v = NULL;
        int64_t sq = -1, rem = -1;
        if (!PP_ASSERT_STATUS(pp_result_item(r, i, &v, NULL), PP_OK))
            continue;
        CU_ASSERT(pp_values_get_int(v, 0, &sq) == PP_OK && sq == (int64_t)(i * i));
        CU_ASSERT(pp_values_get_int(v, 1, &rem) == PP_OK);
        remote += rem == 1;
    }
    return remote;
}

/* ----------------------------------------------------------------- tests */

static size_t g_progress_last, g_progress_calls;

static void on_progress(size_t done, size_t total, void *ud)
{
    (void)ud;
    (void)total;
    g_progress_last = done;
    g_progress_calls++;
}

static pp_status gen_item(void *ud, size_t i, pp_values *args)
{
    (void)ud;
    return pp_values_add_int(args, (int64_t)i);
}

/* Every submission form with 1 local and 2 remote workers. */
static void t_forms(void)
{
    enum { N = 40 };
    pp_values **argv = make_args(N, 20);
    pp_values *args = NULL, *items = NULL, *res = NULL;
    pp_submit_options so;
    pp_result *r = NULL;
    pp_iter *it = NULL;
    int64_t ints[N], in[N], out[N];
    pp_status sts[N];
    size_t i, idx, seen;
    const pp_values *v;
    fixture f;

    fixture_start(&f, 2, NULL);
    /* apply */
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "ll", (int64_t)7, (int64_t)0), PP_OK);
    PP_ASSERT_STATUS(pp_apply(f.pool, rp_who, args, &res, NULL), PP_OK);
    CU_ASSERT(pp_values_get_int(res, 0, &ints[0]) == PP_OK && ints[0] == 49);
    pp_values_destroy(res);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, rp_who, args, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, &v), PP_OK);
    pp_result_release(r);
    pp_values_destroy(args);
    /* starmap, sync and async: remote workers take part */
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.progress = on_progress;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    PP_ASSERT_MSG(check_who(r, N) > 0, "no item ran on a remote worker");
    CU_ASSERT_EQUAL(g_progress_last, N); /* progress across machines */
    pp_result_release(r);
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    PP_ASSERT_MSG(check_who(r, N) > 0, "no item ran on a remote worker");
    pp_result_release(r);
    /* map, map_async: scalar columns */
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, (int64_t)i), PP_OK);
    PP_ASSERT_STATUS(pp_map(f.pool, rp_sq, items, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, N, ints, NULL), PP_OK);
    for (i = 0; i < N; i++)
        CU_ASSERT_EQUAL(ints[i], (int64_t)(i * i));
    pp_result_release(r);
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, rp_sq, items, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, N, ints, NULL), PP_OK);
    CU_ASSERT_EQUAL(ints[N - 1], (int64_t)((N - 1) * (N - 1)));
    pp_result_release(r);
    /* imap, imap_unordered */
    PP_ASSERT_STATUS_FATAL(pp_imap(f.pool, rp_sq, items, NULL, &it), PP_OK);
    for (i = 0; i < N; i++) {
        PP_ASSERT_STATUS(pp_iter_next(it, WAIT_MS, &idx, &v, NULL), PP_OK);
        CU_ASSERT_EQUAL(idx, i);
    }
    PP_ASSERT_STATUS(pp_iter_next(it, WAIT_MS, &idx, &v, NULL), PP_EOF);
    pp_iter_release(it);
    PP_ASSERT_STATUS_FATAL(pp_imap_unordered(f.pool, rp_sq, items, NULL, &it), PP_OK);
    for (seen = 0; pp_iter_next(it, WAIT_MS, &idx, &v, NULL) == PP_OK; seen++)
        ;
    CU_ASSERT_EQUAL(seen, N);
    pp_iter_release(it);
    /* map_stream */
    PP_ASSERT_STATUS(pp_map_stream(f.pool, rp_sq, N, gen_item, NULL, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, N, ints, NULL), PP_OK);
    CU_ASSERT_EQUAL(ints[5], 25);
    pp_result_release(r);
    /* map_array */
    for (i = 0; i < N; i++)
        in[i] = (int64_t)i * 3;
    PP_ASSERT_STATUS(pp_map_array(f.pool, rp_rec, in, 8, N, out, 8, sts, &so), PP_OK);
    for (i = 0; i < N; i++)
        CU_ASSERT_EQUAL(out[i], (int64_t)i * 3 + 1);
    pp_values_destroy(items);
    free_args(argv, N);
    fixture_stop(&f);
}

/* The initializer runs in remote workers too; its arguments travel. */
static void t_initializer(void)
{
    enum { N = 30 };
    pp_values *initargs = NULL, **argv;
    pp_pool_options o;
    pp_result *r = NULL;
    size_t i;
    fixture f;

    memset(&o, 0, sizeof o);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&initargs, "l", (int64_t)42), PP_OK);
    o.initializer = rp_init;
    o.initargs = initargs;
    fixture_start(&f, 2, &o);
    argv = calloc(N, sizeof *argv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(argv);
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[i]), PP_OK);
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_init_seen, argv, N, NULL, &r), PP_OK);
    for (i = 0; i < N; i++) {
        int64_t x = 0;
        const pp_values *v = NULL;
        CU_ASSERT(pp_result_item(r, i, &v, NULL) == PP_OK && pp_values_get_int(v, 0, &x) == PP_OK &&
                  x == 42);
    }
    pp_result_release(r);
    free_args(argv, N);
    pp_values_destroy(initargs);
    fixture_stop(&f);
}

/* A local named lock cannot reach another machine: refused at submission;
 * nothing of it runs. */
static void t_local_objects_refused(void)
{
    char lname[PP_NAME_MAX + 1];
    pp_values *args = NULL, *items = NULL;
    pp_lock *lock = NULL;
    pp_result *r = NULL;
    fixture f;

    fixture_start(&f, 1, NULL);
    pp_test_unique_name(lname, sizeof lname);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(lname, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(args, 3), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(args, lock), PP_OK);
    PP_ASSERT_STATUS(pp_apply(f.pool, rp_sq, args, NULL, NULL), PP_ENOTSUP);
    PP_ASSERT_STATUS(pp_apply_async(f.pool, rp_sq, args, NULL, &r), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(items, lock), PP_OK);
    PP_ASSERT_STATUS(pp_map(f.pool, rp_sq, items, NULL, &r), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(r);
    /* the pool still serves */
    pp_values_destroy(args);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "l", (int64_t)3), PP_OK);
    PP_ASSERT_STATUS(pp_apply(f.pool, rp_sq, args, NULL, NULL), PP_OK);
    pp_values_destroy(args);
    pp_values_destroy(items);
    pp_lock_destroy(lock);
    fixture_stop(&f);
}

/* A Redis lock travels to remote workers (their own connection, their
 * own credentials from the environment). */
static void t_redis_lock_travels(void)
{
    enum { N = 24 };
    char lname[PP_NAME_MAX + 1];
    pp_values *items = NULL, *extra = NULL;
    pp_submit_options so;
    pp_redis_options ro;
    pp_redis *rc = NULL;
    pp_lock *lock = NULL;
    pp_result *r = NULL;
    size_t i, remote = 0;
    fixture f;

    fixture_start(&f, 2, NULL);
    memset(&ro, 0, sizeof ro);
    ro.password = f.s.password;
    PP_ASSERT_STATUS_FATAL(pp_redis_connect(f.s.url, &ro, &rc), PP_OK);
    pp_test_unique_name(lname, sizeof lname);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(rc, lname, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, (int64_t)i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&extra), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(extra, lock), PP_OK);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.extra_args = extra;
    PP_ASSERT_STATUS(pp_map(f.pool, rp_locked, items, &so, &r), PP_OK);
    for (i = 0; i < N; i++) {
        const pp_values *v = NULL;
        int64_t rem = 0;
        if (PP_ASSERT_STATUS(pp_result_item(r, i, &v, NULL), PP_OK) &&
            pp_values_get_int(v, 0, &rem) == PP_OK)
            remote += rem == 1;
    }
    CU_ASSERT(remote > 0);
    pp_result_release(r);
    pp_values_destroy(items);
    pp_values_destroy(extra);
    pp_lock_destroy(lock);
    pp_redis_destroy(rc);
    fixture_stop(&f);
}

/* Nothing of the pool is left in Redis after destroy (remote workers
 * still running). */
static void t_nothing_left(void)
{
    enum { N = 20 };
    pp_values **argv = make_args(N, 5);
    pp_result *r = NULL;
    fixture f;
    int i;

    fixture_start(&f, 2, NULL);
    CU_ASSERT(keys_left(&f) > 0);
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, NULL, &r), PP_OK);
    pp_result_release(r);
    pp_pool_destroy(f.pool);
    f.pool = NULL;
    PP_ASSERT_MSG(wait_no_keys(&f, 3 * LEASE_MS), "keys of pool %s left in Redis", f.name);
    for (i = 0; i < f.nremote; i++)
        pp_test_child_free(f.remote[i]);
    pp_test_redis_stop(&f.s);
    free_args(argv, N);
}

/* A remote worker that cannot serve says so and exits with code 3: a
 * malformed PROCPOOL_REMOTE, credentials the server refuses. */
static void t_remote_bad_config(void)
{
    fixture f;

    memset(&f, 0, sizeof f);
    pp_test_redis_start(&f.s);
    snprintf(f.url, sizeof f.url, "%s", "redis://127.0.0.1/no-port");
    add_remote(&f);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(f.remote[0], WAIT_MS), 3);
    set_env("PROCPOOL_REDIS_PASSWORD", "wrong");
    snprintf(f.url, sizeof f.url, "%s/name", f.s.url);
    add_remote(&f);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(f.remote[1], WAIT_MS), 3);
    pp_test_child_free(f.remote[0]);
    pp_test_child_free(f.remote[1]);
    pp_test_redis_stop(&f.s);
}

/* The pool name is one program's at a time. */
static void t_name_in_use(void)
{
    pp_pool_options o;
    pp_pool *second = NULL;
    fixture f;

    fixture_start(&f, 0, NULL);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = f.url;
    PP_ASSERT_STATUS(pp_pool_create(&second, &o), PP_EEXIST);
    CU_ASSERT_PTR_NULL(second);
    o.broker = "redis://127.0.0.1:1/bad name";
    PP_ASSERT_STATUS(pp_pool_create(&second, &o), PP_EINVAL);
    o.broker = f.url;
    o.broker_lease_ms = 10;
    PP_ASSERT_STATUS(pp_pool_create(&second, &o), PP_EINVAL);
    fixture_stop(&f);
}

/* ------------------------------------------------------------- failures */

/* Read a finished rp_who map: *ok items right, the others' statuses
 * counted in *died (PP_EWORKERDIED), *lost (PP_ECONNLOST), *other; the
 * chunks (of cs items) with a PP_EWORKERDIED item in *chunks. */
typedef struct tally {
    size_t ok, died, lost, other, remote;
    size_t first_died, last_died;
    char died_msg[256];
} tally;

static void tally_who(pp_result *r, size_t n, tally *t)
{
    size_t i;

    memset(t, 0, sizeof *t);
    for (i = 0; i < n; i++) {
        const pp_values *v = NULL;
        const pp_error *err = NULL;
        int64_t sq = -1, rem = 0;
        pp_status st = pp_result_item(r, i, &v, &err);
        if (st == PP_OK) {
            CU_ASSERT(pp_values_get_int(v, 0, &sq) == PP_OK && sq == (int64_t)(i * i));
            CU_ASSERT(pp_values_get_int(v, 1, &rem) == PP_OK);
            t->ok++;
            t->remote += rem == 1;
        } else if (st == PP_EWORKERDIED) {
            if (t->died == 0) {
                t->first_died = i;
                snprintf(t->died_msg, sizeof t->died_msg, "%s", err ? err->message : "");
            }
            t->last_died = i;
            t->died++;
        } else if (st == PP_ECONNLOST) {
            t->lost++;
        } else {
            PP_ASSERT_MSG(0, "item %u: %s", (unsigned)i, pp_err_name(st));
            t->other++;
        }
    }
}

/* A remote worker SIGKILLed in the middle of a chunk: after its lease the
 * items of that one chunk fail with PP_EWORKERDIED, every other item is
 * right (never run twice, never lost). */
static void t_remote_killed(void)
{
    enum { N = 48, CS = 4 };
    pp_values **argv = make_args(N, 150);
    pp_submit_options so;
    pp_result *r = NULL;
    size_t count = 9;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = CS;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(1000); /* every worker is in a chunk of 600 ms */
    pp_test_child_kill(f.remote[0]);
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    tally_who(r, N, &t);
    PP_ASSERT_MSG(t.died >= 1 && t.died <= CS, "%u items failed, want 1..%d", (unsigned)t.died, CS);
    PP_ASSERT_MSG(t.died == 0 || t.first_died / CS == t.last_died / CS,
                  "failed items %u..%u are not of one chunk", (unsigned)t.first_died,
                  (unsigned)t.last_died);
    CU_ASSERT_EQUAL(t.ok + t.died, N);
    PP_ASSERT_MSG(strstr(t.died_msg, "stopped heartbeating") != NULL, "message: %s", t.died_msg);
    pp_result_release(r);
    /* the dead one leaves the listing */
    CU_ASSERT(wait_remotes(f.pool, 1));
    CU_ASSERT(pp_pool_remote_workers(f.pool, NULL, 0, &count) == PP_OK && count == 1);
    free_args(argv, N);
    fixture_stop(&f);
}

/* Remote workers that never come back: what was sent to them and not
 * claimed is taken back and run by the local worker; later work runs
 * locally. Nothing fails. */
static void t_remote_never_back(void)
{
    enum { N = 24 };
    pp_values **argv = make_args(N, 10);
    pp_submit_options so;
    pp_result *r = NULL;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    pp_test_child_kill(f.remote[0]);
    pp_test_child_kill(f.remote[1]);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    /* submitted while the pool still counts them alive (their lease) */
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    CU_ASSERT_EQUAL(t.remote, 0);
    pp_result_release(r);
    CU_ASSERT(wait_remotes(f.pool, 0));
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

/* A consumer that died with an entry it never started (delivered to a
 * connection nobody reads any more: a machine gone while it waited): the
 * chunk runs elsewhere, nothing fails. A fake consumer with a heartbeat
 * that is not renewed claims one entry. */
static void t_claimed_never_started(void)
{
    enum { N = 8 };
    pp_values **argv = make_args(N, 200);
    pp_submit_options so;
    pp_result *r = NULL;
    redisContext *c;
    redisReply *rep;
    char inst[20];
    int64_t t0;
    int got = 0;
    fixture f;
    tally t;

    fixture_start(&f, 0, NULL);
    c = raw_connect(&f);
    rep = redisCommand(c, "GET pp:{%s}:alive", f.name);
    CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 16);
    memcpy(inst, rep->str, 17);
    freeReplyObject(rep);
    {
        char value[64];
        snprintf(value, sizeof value, "ghost 1 0 %s", inst);
        rep = redisCommand(c, "SET pp:{%s}:hb:ghost:1:0 %s PX 1500", f.name, value);
        CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_STATUS);
        freeReplyObject(rep);
    }
    CU_ASSERT_FATAL(wait_remotes(f.pool, 1));
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    for (t0 = pp_test_now_ms(); !got && pp_test_now_ms() - t0 < 1000;) {
        rep = redisCommand(c, "XREADGROUP GROUP g ghost:1:0 COUNT 1 STREAMS pp:{%s}:t >", f.name);
        got = rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1;
        freeReplyObject(rep);
        if (!got)
            pp_test_sleep_ms(10);
    }
    PP_ASSERT_MSG(got, "the fake consumer got no entry");
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    redisFree(c);
    free_args(argv, N);
    fixture_stop(&f);
}

/* pp_result_cancel(): every unfinished item is PP_ECANCELED at once;
 * chunks sent to Redis that no remote worker started are withdrawn (the
 * remote workers finish only what they were running). */
static void t_cancel(void)
{
    enum { N = 12 };
    pp_values **argv = make_args(N, 1000), *busy = NULL;
    pp_result *rb = NULL;
    pp_remote_worker w[4];
    pp_submit_options so;
    pp_result *r = NULL;
    size_t i, n = 0, canceled = 0;
    uint64_t done = 0;
    fixture f;

    fixture_start(&f, 2, NULL);
    /* the local worker busy meanwhile: it takes nothing back */
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&busy, "ll", (int64_t)1, (int64_t)4000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, rp_sq, busy, NULL, &rb), PP_OK);
    pp_test_sleep_ms(100);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(300); /* each remote worker runs one, one more waits for each */
    PP_ASSERT_STATUS(pp_result_cancel(r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, 5000), PP_OK);
    for (i = 0; i < N; i++)
        canceled += pp_result_item(r, i, NULL, NULL) == PP_ECANCELED;
    CU_ASSERT(canceled >= N - 3);
    pp_result_release(r);
    pp_test_sleep_ms(2500); /* they finish what they run, and would take more */
    PP_ASSERT_STATUS(pp_pool_remote_workers(f.pool, w, 4, &n), PP_OK);
    for (i = 0; i < n && i < 4; i++)
        done += w[i].tasks_done;
    PP_ASSERT_MSG(done <= 2, "remote workers ran %llu tasks after the cancel, want 2",
                  (unsigned long long)done);
    PP_ASSERT_STATUS(pp_result_wait(rb, WAIT_MS), PP_OK);
    pp_result_release(rb);
    pp_values_destroy(busy);
    free_args(argv, N);
    fixture_stop(&f);
}

/* The one local worker busy with a long task: work the dispatcher sent
 * ahead to it (behind the long task) is taken back for idle remote
 * workers, as it is for an idle local worker; it used to wait there until
 * the long task ended. */
static void t_busy_local_work_goes_remote(void)
{
    enum { N = 20 };
    pp_values **argv = make_args(N, 20), *hold = NULL;
    pp_result *held = NULL, *r = NULL;
    pp_submit_options so;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&hold, 3, 30000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, rp_sq, hold, NULL, &held), PP_OK);
    pp_test_sleep_ms(200); /* the local worker has started it */
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    PP_ASSERT_MSG(!pp_result_ready(held), "the map waited for the local worker's long task");
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_terminate(f.pool), PP_OK);
    pp_result_release(held);
    pp_values_destroy(hold);
    free_args(argv, N);
    fixture_stop(&f);
}

/* pp_pool_terminate(): what is unfinished fails with PP_ETERMINATED, at
 * once; nothing is left in Redis after destroy. */
static void t_terminate(void)
{
    enum { N = 16 };
    pp_values **argv = make_args(N, 400);
    pp_submit_options so;
    pp_result *r = NULL;
    size_t i, term = 0, ok = 0;
    fixture f;

    fixture_start(&f, 2, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(600);
    PP_ASSERT_STATUS(pp_pool_terminate(f.pool), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < N; i++) {
        pp_status st = pp_result_item(r, i, NULL, NULL);
        term += st == PP_ETERMINATED;
        ok += st == PP_OK;
    }
    CU_ASSERT_EQUAL(term + ok, N);
    CU_ASSERT(term > 0);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_join(f.pool, WAIT_MS), PP_OK);
    pp_pool_destroy(f.pool);
    f.pool = NULL;
    PP_ASSERT_MSG(wait_no_keys(&f, 3 * LEASE_MS), "keys of pool %s left in Redis", f.name);
    free_args(argv, N);
    fixture_stop(&f);
}

static apr_uint32_t g_rejected;

static void count_rejected(pp_log_level level, const char *message, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(message, "rejected") != NULL)
        apr_atomic_inc32(&g_rejected);
    fprintf(stderr, "procpool: %s\n", message);
}

static void xadd(redisContext *c, const char *key, const char *const *fv, const size_t *lens, int n)
{
    const char *argv[16];
    size_t l[16];
    redisReply *rep;
    int i;

    argv[0] = "XADD";
    l[0] = 4;
    argv[1] = key;
    l[1] = strlen(key);
    argv[2] = "*";
    l[2] = 1;
    for (i = 0; i < n; i++) {
        argv[3 + i] = fv[i];
        l[3 + i] = lens != NULL ? lens[i] : strlen(fv[i]);
    }
    rep = redisCommandArgv(c, 3 + n, argv, l);
    CU_ASSERT(rep != NULL && rep->type == REDIS_REPLY_STRING);
    freeReplyObject(rep);
}

/* Bad entries injected into both streams: rejected (task entries removed
 * by the remote workers, results logged by the pool), the pool keeps
 * serving. */
static void t_bad_entries(void)
{
    enum { N = 30 };
    pp_values **argv = make_args(N, 5), *args = NULL;
    char tkey[128], rkey[128], inst[32];
    pp__buf frame;
    redisContext *c;
    redisReply *rep;
    pp_result *r = NULL;
    size_t at;
    fixture f;
    tally t;
    int64_t t0;

    pp_set_log_hook(count_rejected, NULL, PP_LOG_WARN);
    fixture_start(&f, 2, NULL);
    c = raw_connect(&f);
    snprintf(tkey, sizeof tkey, "pp:{%s}:t", f.name);
    snprintf(rkey, sizeof rkey, "pp:{%s}:r", f.name);
    rep = redisCommand(c, "GET pp:{%s}:alive", f.name);
    CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 16);
    memcpy(inst, rep->str, 17);
    freeReplyObject(rep);
    {
        const char *garbage[2] = {"garbage", "1"};
        const char *notframe[6] = {"i", inst, "id", "1", "f", "not a frame"};
        const char *badid[6] = {"i", inst, "id", "x1", "f", "y"};
        xadd(c, tkey, garbage, NULL, 2);
        xadd(c, tkey, notframe, NULL, 6);
        xadd(c, tkey, badid, NULL, 6);
        xadd(c, rkey, garbage, NULL, 2);
        xadd(c, rkey, badid, NULL, 6);
        xadd(c, rkey, notframe, NULL, 6); /* no such chunk: ignored */
    }
    /* A TASK frame naming its function by address: a remote worker must
     * never call it (it would be another process's address). */
    pp__buf_init(&frame);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "l", (int64_t)2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&frame, PP__MSG_TASK, 1, 7, &at), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__buf_put_u8(&frame, PP__FN_ADDR), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__buf_put_u64(&frame, (uint64_t)(uintptr_t)rp_sq), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__buf_put_u64(&frame, 0), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(args, &frame), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(&frame, at), PP_OK);
    {
        const char *byaddr[6] = {"i", inst, "id", "7", "f", (const char *)frame.data};
        size_t lens[6] = {1, 16, 2, 1, 1, frame.len};
        xadd(c, tkey, byaddr, lens, 6);
    }
    pp__buf_free(&frame);
    pp_values_destroy(args);
    /* the remote workers reject (and remove) every bad task entry */
    t0 = pp_test_now_ms();
    for (;;) {
        long long len;
        rep = redisCommand(c, "XLEN %s", tkey);
        CU_ASSERT_FATAL(rep != NULL && rep->type == REDIS_REPLY_INTEGER);
        len = rep->integer;
        freeReplyObject(rep);
        if (len == 0)
            break;
        PP_ASSERT_MSG_FATAL(pp_test_now_ms() - t0 < WAIT_MS, "%lld bad task entries left", len);
        pp_test_sleep_ms(50);
    }
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, NULL, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    PP_ASSERT_MSG(apr_atomic_read32(&g_rejected) >= 2, "the pool logged %u rejections",
                  apr_atomic_read32(&g_rejected));
    /* the remote workers are still there */
    CU_ASSERT(wait_remotes(f.pool, 2));
    redisFree(c);
    free_args(argv, N);
    fixture_stop(&f);
    pp_set_log_hook(NULL, NULL, PP_LOG_WARN);
}

/* Redis restarted (killed, started again) in the middle of a map: the
 * map ends (no hang), its items right or PP_ECONNLOST with a message
 * about the broker; remote workers come back and later maps work. */
static void t_redis_restarted(void)
{
    enum { N = 40 };
    pp_values **argv = make_args(N, 100);
    pp_submit_options so;
    pp_result *r = NULL;
    const pp_error *err = NULL;
    fixture f;
    size_t i;
    tally t;

    fixture_start(&f, 2, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = 2;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(700);
    pp_test_redis_kill(&f.s);
    pp_test_sleep_ms(300);
    pp_test_redis_restart(&f.s);
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok + t.lost + t.died, N);
    PP_ASSERT_MSG(t.lost + t.died > 0, "no item was lost with Redis");
    for (i = 0; i < N; i++) {
        if (pp_result_item(r, i, NULL, &err) == PP_ECONNLOST) {
            PP_ASSERT_MSG(strstr(err->message, "broker") != NULL, "message: %s", err->message);
            break;
        }
    }
    pp_result_release(r);
    /* they come back */
    PP_ASSERT_MSG_FATAL(wait_remotes(f.pool, 2), "remote workers did not come back");
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    CU_ASSERT(t.remote > 0);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

/* The program that owns the pool killed: its keys expire (a short expiry
 * here), the remote worker's heartbeat goes with them. */
static int h_owner(int argc, char **argv)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = argv[1];
    o.broker_lease_ms = LEASE_MS;
    o.broker_expire_ms = 1000;
    st = pp_pool_create(&p, &o);
    if (st != PP_OK)
        return pp_test_exit_from_status(st);
    pp_test_say("ready");
    while (pp_test_stdin_byte() >= 0)
        ;
    pp_pool_destroy(p);
    return 0;
}

static void t_owner_killed(void)
{
    const char *args[2];
    pp_test_child *owner;
    fixture f;

    memset(&f, 0, sizeof f);
    pp_test_redis_start(&f.s);
    set_env("PROCPOOL_REDIS_PASSWORD", f.s.password);
    pp_test_unique_name(f.name, sizeof f.name);
    snprintf(f.url, sizeof f.url, "%s/%s", f.s.url, f.name);
    add_remote(&f);
    args[0] = f.url;
    args[1] = NULL;
    owner = pp_test_spawn("rp-owner", args);
    CU_ASSERT_FATAL(pp_test_child_expect(owner, "ready", WAIT_MS));
    pp_test_sleep_ms(1500); /* the remote worker heartbeats for it */
    CU_ASSERT(keys_left(&f) >= 4);
    pp_test_child_kill(owner);
    PP_ASSERT_MSG(wait_no_keys(&f, 10000), "keys of the killed program's pool %s left", f.name);
    pp_test_child_free(owner);
    pp_test_child_free(f.remote[0]);
    pp_test_redis_stop(&f.s);
}

/* pp_pool_remote_workers(): host, pid, tasks done, last heartbeat. */
static void t_listing(void)
{
    enum { N = 30 };
    pp_values **argv = make_args(N, 10);
    pp_remote_worker w[4];
    pp_submit_options so;
    pp_pool_options lo;
    pp_pool *local = NULL;
    pp_result *r = NULL;
    uint64_t done = 0;
    size_t n = 0, i, k;
    int64_t t0;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    PP_ASSERT_STATUS(pp_pool_remote_workers(f.pool, w, 4, &n), PP_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    for (i = 0; i < n; i++) {
        int found = 0;
        for (k = 0; k < 2; k++)
            found |= (int64_t)w[i].pid == pp_test_child_pid(f.remote[k]);
        PP_ASSERT_MSG(found, "pid %llu is not a remote worker's", (unsigned long long)w[i].pid);
        CU_ASSERT(w[i].host[0] != '\0');
        CU_ASSERT(w[i].last_heartbeat_ms >= 0 && w[i].last_heartbeat_ms <= LEASE_MS);
    }
    PP_ASSERT_STATUS(pp_pool_remote_workers(f.pool, w, 1, &n), PP_OK); /* cap < count */
    CU_ASSERT_EQUAL(n, 2);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    pp_result_release(r);
    CU_ASSERT(t.remote > 0);
    /* their counts reach the listing with their next heartbeats */
    t0 = pp_test_now_ms();
    while (done < t.remote && pp_test_now_ms() - t0 < WAIT_MS) {
        pp_test_sleep_ms(100);
        PP_ASSERT_STATUS_FATAL(pp_pool_remote_workers(f.pool, w, 4, &n), PP_OK);
        for (done = 0, i = 0; i < n && i < 4; i++)
            done += w[i].tasks_done;
    }
    PP_ASSERT_MSG(done == t.remote, "listed %llu tasks done, %u ran remotely",
                  (unsigned long long)done, (unsigned)t.remote);
    PP_ASSERT_STATUS(pp_pool_remote_workers(NULL, w, 4, &n), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_remote_workers(f.pool, w, 4, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_remote_workers(f.pool, NULL, 4, &n), PP_EINVAL);
    memset(&lo, 0, sizeof lo);
    lo.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&local, &lo), PP_OK);
    PP_ASSERT_STATUS(pp_pool_remote_workers(local, w, 4, &n), PP_ESTATE);
    pp_pool_destroy(local);
    free_args(argv, N);
    fixture_stop(&f);
}

/* ------------------------------------------------------- hostile review */

static void raw_do(const fixture *f, const char *cmd)
{
    redisContext *c = raw_connect(f);
    redisReply *rep = redisCommand(c, cmd);

    CU_ASSERT(rep != NULL);
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "raw %s: %s\n", cmd, rep->str);
    freeReplyObject(rep);
    redisFree(c);
}

#ifndef _WIN32
/* A signal to a process (SIGSTOP, SIGCONT: a pause). */
static void sig_pid(int64_t pid, int sig)
{
    CU_ASSERT_FATAL(kill((pid_t)pid, sig) == 0);
}
#endif

/* A lease or expiry the remote workers refuse (they accept up to an hour
 * and a day) must be refused at creation, not accepted by a pool that no
 * remote worker will ever serve. */
static void t_lease_too_long(void)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    fixture f;

    memset(&f, 0, sizeof f);
    pp_test_redis_start(&f.s);
    set_env("PROCPOOL_REDIS_PASSWORD", f.s.password);
    pp_test_unique_name(f.name, sizeof f.name);
    snprintf(f.url, sizeof f.url, "%s/%s", f.s.url, f.name);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = f.url;
    o.broker_lease_ms = 3600001;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    if (p != NULL)
        pp_pool_destroy(p);
    p = NULL;
    o.broker_lease_ms = 0;
    o.broker_expire_ms = 86400001;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    if (p != NULL)
        pp_pool_destroy(p);
    p = NULL;
    o.broker_expire_ms = INT64_MAX;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    if (p != NULL)
        pp_pool_destroy(p);
    pp_test_redis_stop(&f.s);
}

/* The task stream deleted by hand (or evicted) mid-map: nothing hangs,
 * the remote workers serve again afterwards. */
static void t_stream_deleted(void)
{
    enum { N = 24 };
    pp_values **argv = make_args(N, 200);
    pp_submit_options so;
    pp_result *r = NULL;
    char cmd[200];
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(500);
    snprintf(cmd, sizeof cmd, "DEL pp:{%s}:t", f.name);
    raw_do(&f, cmd);
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok + t.died + t.lost, N);
    pp_result_release(r);
    /* later work reaches the remote workers again */
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    CU_ASSERT(t.remote > 0);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

#ifndef _WIN32
static apr_uint32_t g_outcomes;
static void on_ok(pp_result *r, void *ud)
{
    (void)r;
    (void)ud;
    apr_atomic_inc32(&g_outcomes);
}
static void on_err(pp_result *r, const pp_error *e, void *ud)
{
    (void)r;
    (void)e;
    (void)ud;
    apr_atomic_inc32(&g_outcomes);
}
#endif

/* A remote worker paused longer than its lease mid-task, then resumed: its
 * chunk fails once with PP_EWORKERDIED, its late result is ignored. */
static void t_remote_paused(void)
{
#ifndef _WIN32
    enum { N = 8 };
    pp_values **argv = make_args(N, 1500);
    pp_submit_options so;
    pp_result *r[N];
    size_t i, ok = 0, died = 0;
    fixture f;

    fixture_start(&f, 1, NULL);
    memset(&so, 0, sizeof so);
    so.callback = on_ok;
    so.error_callback = on_err;
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, rp_who, argv[i], &so, &r[i]), PP_OK);
    pp_test_sleep_ms(700);
    sig_pid(pp_test_child_pid(f.remote[0]), SIGSTOP);
    pp_test_sleep_ms(4 * LEASE_MS);
    sig_pid(pp_test_child_pid(f.remote[0]), SIGCONT);
    for (i = 0; i < N; i++) {
        PP_ASSERT_STATUS(pp_result_wait(r[i], WAIT_MS), PP_OK);
        pp_status st = pp_result_item(r[i], 0, NULL, NULL);
        ok += st == PP_OK;
        died += st == PP_EWORKERDIED;
    }
    pp_test_sleep_ms(3000); /* late results */
    CU_ASSERT_EQUAL(ok + died, N);
    CU_ASSERT(died >= 1);
    PP_ASSERT_MSG(apr_atomic_read32(&g_outcomes) == N, "%u outcomes for %d tasks",
                  (unsigned)apr_atomic_read32(&g_outcomes), N);
    for (i = 0; i < N; i++)
        pp_result_release(r[i]);
    /* it serves again */
    CU_ASSERT(wait_remotes(f.pool, 1));
    free_args(argv, N);
    fixture_stop(&f);
#endif
}

/* Redis paused (SIGSTOP) mid-map longer than a reply deadline: the map
 * ends in bounded time, destroy too. */
static void t_redis_paused(void)
{
#ifndef _WIN32
    enum { N = 24 };
    pp_values **argv = make_args(N, 200);
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t pid, t0;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    pid = ((apr_proc_t *)f.s.proc)->pid;
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(500);
    sig_pid(pid, SIGSTOP);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    fprintf(stderr, "map ended %lld ms after the pause\n", (long long)(pp_test_now_ms() - t0));
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok + t.died + t.lost, N);
    pp_result_release(r);
    /* more work while it is paused runs locally */
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, 4, &so, &r), PP_OK);
    fprintf(stderr, "second map %lld ms\n", (long long)(pp_test_now_ms() - t0));
    pp_result_release(r);
    t0 = pp_test_now_ms();
    pp_pool_destroy(f.pool);
    f.pool = NULL;
    fprintf(stderr, "destroy %lld ms\n", (long long)(pp_test_now_ms() - t0));
    sig_pid(pid, SIGCONT);
    free_args(argv, N);
    fixture_stop(&f);
#endif
}

/* Redis out of memory (maxmemory reached): XADD refused. Nothing hangs,
 * and once it has room the remote workers serve again. */
static void t_redis_oom(void)
{
    enum { N = 16 };
    pp_values **argv = make_args(N, 50);
    pp_submit_options so;
    pp_result *r = NULL;
    fixture f;
    tally t;

    fixture_start(&f, 2, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    raw_do(&f, "CONFIG SET maxmemory 1");
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    fprintf(stderr, "oom: ok %u lost %u died %u\n", (unsigned)t.ok, (unsigned)t.lost,
            (unsigned)t.died);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    raw_do(&f, "CONFIG SET maxmemory 0");
    CU_ASSERT(wait_remotes(f.pool, 2));
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

/* a result's size: near the message limit */
#define HUGE_RESULT (PP_MESSAGE_MAX - 4096)
/* Results near the message limit through Redis. */
static void t_huge_results(void)
{
    enum { N = 6 };
    pp_values **argv = calloc(N, sizeof *argv);
    pp_submit_options so;
    pp_result *r = NULL;
    size_t i, remote = 0;
    pp_pool_options o;
    fixture f;

    /* A lease long enough for a remote worker to make and send a 64 MiB
     * result on a loaded machine (CI, wine: the fixture's 600 ms lapsed
     * once there while a worker sent one); the short lease is for the
     * tests that detect deaths. */
    memset(&o, 0, sizeof o);
    o.broker_lease_ms = 10000;
    fixture_start(&f, 2, &o);
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[i], "l", (int64_t)(HUGE_RESULT - i)), PP_OK);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_big, argv, N, &so, &r), PP_OK);
    for (i = 0; i < N; i++) {
        const pp_values *v = NULL;
        const void *b = NULL;
        size_t n = 0;
        int64_t rem = 0;
        const pp_error *e = NULL;
        pp_status st = pp_result_item(r, i, &v, &e);
        if (!PP_ASSERT_MSG(st == PP_OK, "item %u: %s %s", (unsigned)i, pp_err_name(st),
                           e ? e->message : ""))
            continue;
        CU_ASSERT(pp_values_get_bytes(v, 0, &b, &n) == PP_OK && n == (HUGE_RESULT - i) / 2);
        CU_ASSERT(pp_values_get_bytes(v, 1, &b, &n) == PP_OK &&
                  n == HUGE_RESULT - i - (HUGE_RESULT - i) / 2);
        CU_ASSERT(pp_values_get_int(v, 2, &rem) == PP_OK);
        remote += rem == 1;
    }
    CU_ASSERT(remote > 0);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

/* A pool destroyed while a remote worker runs its chunk: the next program
 * with that pool name gets it. */
static void t_destroy_mid_chunk(void)
{
    enum { N = 6 };
    pp_values **argv = make_args(N, 1500);
    pp_submit_options so;
    pp_result *r = NULL;
    fixture f;
    tally t;

    fixture_start(&f, 1, NULL);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    pp_test_sleep_ms(700);
    pp_pool_destroy(f.pool);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    pp_result_release(r);
    f.pool = NULL;
    /* the chunk it ran ends after the destroy: its result is not kept */
    pp_test_sleep_ms(2500);
    PP_ASSERT_MSG(keys_left(&f) == 0, "keys of pool %s left in Redis after destroy", f.name);
    fixture_pool(&f, NULL);
    CU_ASSERT_FATAL(wait_remotes(f.pool, 1));
    free_args(argv, N);
    argv = make_args(N, 300);
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    CU_ASSERT(t.remote > 0);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
}

/* The initializer runs on remote workers too: its arguments must not hold
 * what lives on this machine only, as a task's (refused at creation). */
static void t_local_initargs_refused(void)
{
    char lname[PP_NAME_MAX + 1];
    pp_values *initargs = NULL;
    pp_pool_options o;
    pp_lock *lock = NULL;
    pp_pool *p = NULL;
    fixture f;

    memset(&f, 0, sizeof f);
    pp_test_redis_start(&f.s);
    set_env("PROCPOOL_REDIS_PASSWORD", f.s.password);
    pp_test_unique_name(f.name, sizeof f.name);
    snprintf(f.url, sizeof f.url, "%s/%s", f.s.url, f.name);
    pp_test_unique_name(lname, sizeof lname);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(lname, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&initargs), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(initargs, 1), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(initargs, lock), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = f.url;
    o.initializer = rp_init;
    o.initargs = initargs;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ENOTSUP);
    if (p != NULL)
        pp_pool_destroy(p);
    CU_ASSERT_EQUAL(keys_left(&f), 0);
    pp_values_destroy(initargs);
    pp_lock_destroy(lock);
    pp_test_redis_stop(&f.s);
}

/* A remote worker that served a program with a long lease (a heartbeat
 * every third of it) takes on the next program with a short one: it must
 * heartbeat for it before it runs its tasks, or that program takes it for
 * dead and fails the chunks it runs. */
static void t_next_program_shorter_lease(void)
{
    enum { N = 8 };
    pp_values **argv = make_args(N, 1000);
    pp_pool_options o;
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t t0;
    size_t n;
    fixture f;
    tally t;

    memset(&o, 0, sizeof o);
    o.broker_lease_ms = 600000; /* a heartbeat every 200 s */
    n = 0;
    fixture_start(&f, 1, &o);
    pp_test_sleep_ms(1500); /* its heartbeat for this program, then the long sleep */
    pp_pool_destroy(f.pool);
    f.pool = NULL;
    fixture_pool(&f, NULL); /* LEASE_MS */
    add_remote(&f);
    t0 = pp_test_now_ms();
    while ((pp_pool_remote_workers(f.pool, NULL, 0, &n) != PP_OK || n == 0) &&
           pp_test_now_ms() - t0 < WAIT_MS)
        pp_test_sleep_ms(50);
    CU_ASSERT_FATAL(n > 0);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    PP_ASSERT_MSG(t.ok == N, "%u of %d items failed (%s)", (unsigned)(N - t.ok), N, t.died_msg);
    pp_result_release(r);
    PP_ASSERT_MSG(wait_remotes(f.pool, 2), "the first remote worker is not listed");
    free_args(argv, N);
    fixture_stop(&f);
}

/* A program paused (Ctrl-Z) longer than its claim on the pool name lives:
 * another takes the name. The first one, resumed, must not take it back
 * nor touch the other's keys (its destroy neither). */
static void t_owner_paused_name_taken(void)
{
#ifndef _WIN32
    enum { N = 12 };
    pp_values **argv = make_args(N, 200);
    pp_submit_options so;
    const char *args[2];
    pp_test_child *owner;
    pp_result *r = NULL;
    int64_t t0;
    fixture f;
    tally t;

    memset(&f, 0, sizeof f);
    pp_test_redis_start(&f.s);
    set_env("PROCPOOL_REDIS_PASSWORD", f.s.password);
    pp_test_unique_name(f.name, sizeof f.name);
    snprintf(f.url, sizeof f.url, "%s/%s", f.s.url, f.name);
    add_remote(&f);
    args[0] = f.url;
    args[1] = NULL;
    owner = pp_test_spawn("rp-owner", args); /* expiry 1000 ms */
    CU_ASSERT_FATAL(pp_test_child_expect(owner, "ready", WAIT_MS));
    sig_pid(pp_test_child_pid(owner), SIGSTOP);
    /* the name is free once its claim expired */
    t0 = pp_test_now_ms();
    fixture_pool_try(&f);
    while (f.pool == NULL && pp_test_now_ms() - t0 < WAIT_MS) {
        pp_test_sleep_ms(200);
        fixture_pool_try(&f);
    }
    CU_ASSERT_FATAL(f.pool != NULL);
    CU_ASSERT_FATAL(wait_remotes(f.pool, 1));
    sig_pid(pp_test_child_pid(owner), SIGCONT);
    pp_test_sleep_ms(3000); /* the resumed owner's broker thread runs */
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    PP_ASSERT_MSG(t.remote > 0, "the remote worker no longer serves the name's owner");
    pp_result_release(r);
    /* the paused one ends: our keys stay */
    pp_test_child_close_stdin(owner);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(owner, WAIT_MS), 0);
    pp_test_child_free(owner);
    PP_ASSERT_STATUS(pp_starmap(f.pool, rp_who, argv, N, &so, &r), PP_OK);
    tally_who(r, N, &t);
    CU_ASSERT_EQUAL(t.ok, N);
    CU_ASSERT(t.remote > 0);
    pp_result_release(r);
    free_args(argv, N);
    fixture_stop(&f);
#endif
}

/* Several threads submit and cancel at once while remote workers answer;
 * then terminate races the last results: every wait ends, every item ends
 * with a result or a clear status. */
typedef struct sub_arg {
    pp_pool *pool;
    pp_values **argv;
    int id;
    size_t bad;
} sub_arg;

enum { SUB_N = 8, SUB_ROUNDS = 6 };

static void submitter(void *arg)
{
    sub_arg *a = arg;
    pp_submit_options so;
    pp_result *r = NULL;
    size_t i;
    int k;

    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    for (k = 0; k < SUB_ROUNDS; k++) {
        if (pp_starmap_async(a->pool, rp_who, a->argv, SUB_N, &so, &r) != PP_OK) {
            a->bad++;
            continue;
        }
        if ((k + a->id) % 2 == 0) {
            pp_test_sleep_ms(20 * (k % 3));
            (void)pp_result_cancel(r);
        }
        if (pp_result_wait(r, WAIT_MS) != PP_OK)
            a->bad++;
        for (i = 0; i < SUB_N; i++) {
            pp_status st = pp_result_item(r, i, NULL, NULL);
            if (st != PP_OK && st != PP_ECANCELED)
                a->bad++;
        }
        pp_result_release(r);
    }
}

static void t_threads_cancel_terminate(void)
{
    enum { T = 4 };
    pp_values **argv = make_args(SUB_N, 60);
    pp_test_thread *th[T];
    sub_arg a[T];
    pp_submit_options so;
    pp_result *r[T];
    size_t i, k;
    fixture f;

    fixture_start(&f, 2, NULL);
    for (i = 0; i < T; i++) {
        a[i].pool = f.pool;
        a[i].argv = argv;
        a[i].id = (int)i;
        a[i].bad = 0;
        th[i] = pp_test_thread_start(submitter, &a[i]);
    }
    for (i = 0; i < T; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_MSG(a[i].bad == 0, "thread %u: %u bad outcomes", (unsigned)i, (unsigned)a[i].bad);
    }
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    for (i = 0; i < T; i++)
        PP_ASSERT_STATUS_FATAL(pp_starmap_async(f.pool, rp_who, argv, SUB_N, &so, &r[i]), PP_OK);
    pp_test_sleep_ms(150);
    (void)pp_result_cancel(r[0]);
    PP_ASSERT_STATUS(pp_pool_terminate(f.pool), PP_OK);
    for (i = 0; i < T; i++) {
        PP_ASSERT_STATUS(pp_result_wait(r[i], WAIT_MS), PP_OK);
        for (k = 0; k < SUB_N; k++) {
            pp_status st = pp_result_item(r[i], k, NULL, NULL);
            PP_ASSERT_MSG(st == PP_OK || st == PP_ETERMINATED || st == PP_ECANCELED,
                          "item %u of %u: %s", (unsigned)k, (unsigned)i, pp_err_name(st));
        }
        pp_result_release(r[i]);
    }
    PP_ASSERT_STATUS(pp_pool_join(f.pool, WAIT_MS), PP_OK);
    free_args(argv, SUB_N);
    fixture_stop(&f);
}

static int h_unreached(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1; /* PROCPOOL_REMOTE was not seen */
}

/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_TIMEOUT(t_forms, 120),
    PP_TEST_TIMEOUT(t_initializer, 120),
    PP_TEST_TIMEOUT(t_local_objects_refused, 120),
    PP_TEST_TIMEOUT(t_redis_lock_travels, 120),
    PP_TEST_TIMEOUT(t_nothing_left, 120),
    PP_TEST_TIMEOUT(t_name_in_use, 120),
    PP_TEST_TIMEOUT(t_remote_bad_config, 120),
    PP_TEST_TIMEOUT(t_listing, 120),
    PP_TEST_TIMEOUT(t_remote_killed, 120),
    PP_TEST_TIMEOUT(t_remote_never_back, 120),
    PP_TEST_TIMEOUT(t_claimed_never_started, 120),
    PP_TEST_TIMEOUT(t_cancel, 120),
    PP_TEST_TIMEOUT(t_busy_local_work_goes_remote, 120),
    PP_TEST_TIMEOUT(t_terminate, 120),
    PP_TEST_TIMEOUT(t_bad_entries, 120),
    PP_TEST_TIMEOUT(t_redis_restarted, 120),
    PP_TEST_TIMEOUT(t_owner_killed, 120),
    PP_TEST_TIMEOUT(t_lease_too_long, 60),
    PP_TEST_TIMEOUT(t_stream_deleted, 120),
    PP_TEST_TIMEOUT(t_remote_paused, 120),
    PP_TEST_TIMEOUT(t_redis_paused, 120),
    PP_TEST_TIMEOUT(t_redis_oom, 120),
    PP_TEST_TIMEOUT(t_huge_results, 180),
    PP_TEST_TIMEOUT(t_destroy_mid_chunk, 120),
    PP_TEST_TIMEOUT(t_local_initargs_refused, 60),
    PP_TEST_TIMEOUT(t_next_program_shorter_lease, 180),
    PP_TEST_TIMEOUT(t_owner_paused_name_taken, 120),
    PP_TEST_TIMEOUT(t_threads_cancel_terminate, 180),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {
    {"rp-unreached", h_unreached},
    {"rp-owner", h_owner},
    {NULL, NULL},
};

PP_TEST_SUITE(redis_pool)
{
    pp_test_add_suite("redis_pool", cases);
    pp_test_add_helpers(helpers);
}
