/*
 * bench_redis.c — the distributed pool (pp_pool_options.broker) against
 * local workers, and the Redis lock's rate.
 *
 *   <where>_apply_roundtrip_us  mean pp_apply() round trip of an empty
 *                               task over --applies calls
 *   <where>_map_trivial_s       pp_map() of --items identity tasks,
 *                               chunk size 1 (the per-task cost)
 *   <where>_map_cpu_s           pp_map() of --cpu-items tasks that each
 *                               keep a CPU busy --cpu-ms ms, chunk size 1
 *                               (--remote workers: the ideal is
 *                               cpu-items * cpu-ms / workers)
 *   redis_lock_pairs_per_s      uncontended pp_lock acquire+release pairs
 *                               of a Redis lock (pp_redis_lock_create()),
 *                               --pairs per run, best of --runs
 *
 * <where> is "local" (a pool of --remote local workers, no broker) or
 * "remote" (a pool with --broker and one local worker kept busy by a long
 * task for the whole run, so every measured task runs on the remote
 * workers). The remote workers are this program started elsewhere with
 * PROCPOOL_REMOTE set to the broker address (pp_init() then serves the
 * pool and never returns); bench/run_bench.py --only redis starts a
 * private redis-server and --remote of them on this machine. The password
 * comes from PROCPOOL_REDIS_PASSWORD, never argv. Times are the best of
 * --runs runs. Every result is checked (exit status 1 otherwise).
 *
 * bench/bench_redis.py is the Python twin (multiprocessing.Pool of
 * --remote processes; its lock row is a Manager().Lock(), Python's
 * network-reachable lock). Output: "<metric> <number>" lines, "#" lines
 * for information. procpool's public API only (procpool_client_dep).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"

typedef struct options {
    const char *broker; /* redis://host:port/POOLNAME */
    int remote;         /* remote workers started by the caller */
    int64_t items, cpu_items, cpu_ms, applies, pairs;
    int runs;
} options;

static pp_pool *g_pool;

static void die_pp(const char *what, pp_status st)
{
    fprintf(stderr, "bench_redis: %s: %s (%s)\n", what, pp_strerror(st), pp_err_name(st));
    if (g_pool != NULL) {
        pp_pool_terminate(g_pool);
        pp_pool_destroy(g_pool);
    }
    exit(1);
}

static int64_t parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end != '\0' || v < 1) {
        fprintf(stderr, "bench_redis: %s must be an integer >= 1, not '%s'\n", what, s);
        exit(2);
    }
    return (int64_t)v;
}

/* ----------------------------------------------------------------- tasks */

/* Task (x): returns x. */
static int identity(pp_task *t)
{
    int64_t x = 0;
    pp_status st = pp_values_get_int(pp_task_args(t), 0, &x);

    return st != PP_OK ? st : pp_values_add_int(pp_task_result(t), x);
}
PP_TASK_REGISTER(identity)

/* Task (x, ms): keeps a CPU busy ms milliseconds, returns x. The same
 * loop as the Python twin's (a clock read per round), so both sides do
 * the same work per task whatever the language. */
static int spin(pp_task *t)
{
    int64_t x = 0, ms = 0, end;
    pp_status st;

    if ((st = pp_values_get_int(pp_task_args(t), 0, &x)) != PP_OK ||
        (st = pp_values_get_int(pp_task_args(t), 1, &ms)) != PP_OK)
        return st;
    end = pp_monotonic_ns() + ms * 1000000;
    while (pp_monotonic_ns() < end)
        ;
    return pp_values_add_int(pp_task_result(t), x);
}
PP_TASK_REGISTER(spin)

/* Task (s): sleeps up to s seconds: holds the remote pool's local worker
 * (the pool is terminated at the end, which ends it). */
static int hold(pp_task *t)
{
    int64_t s = 0;

    (void)pp_values_get_int(pp_task_args(t), 0, &s);
    pp_sleep_ms(s * 1000);
    return pp_values_add_int(pp_task_result(t), 0);
}
PP_TASK_REGISTER(hold)

/* ----------------------------------------------------------------- parent */

static void make_pool(const options *o, int remote)
{
    pp_pool_options po;
    pp_status st;

    memset(&po, 0, sizeof po);
    po.processes = remote ? 1 : o->remote;
    po.broker = remote ? o->broker : NULL;
    if ((st = pp_pool_create(&g_pool, &po)) != PP_OK)
        die_pp("pp_pool_create", st);
}

/* Wait until the pool lists every remote worker (they heartbeat once
 * they have seen the pool), at most 60 s. */
static void wait_remote(const options *o)
{
    pp_remote_worker w[64];
    size_t n = 0;
    int64_t end = pp_monotonic_ms() + 60000;
    pp_status st;

    for (;;) {
        if ((st = pp_pool_remote_workers(g_pool, w, 64, &n)) != PP_OK)
            die_pp("pp_pool_remote_workers", st);
        if (n >= (size_t)o->remote)
            return;
        if (pp_monotonic_ms() > end) {
            fprintf(stderr, "bench_redis: %lu of %d remote workers after 60 s\n", (unsigned long)n,
                    o->remote);
            die_pp("waiting for remote workers", PP_ETIMEDOUT);
        }
        pp_sleep_ms(50);
    }
}

static void stop_pool(void)
{
    pp_pool_terminate(g_pool);
    pp_pool_destroy(g_pool);
    g_pool = NULL;
}

static pp_values *range(int64_t n)
{
    pp_values *v = NULL;
    pp_status st = pp_values_create(&v);

    for (int64_t i = 0; i < n && st == PP_OK; i++)
        st = pp_values_add_int(v, i);
    if (st != PP_OK)
        die_pp("pp_values_create", st);
    return v;
}

/* pp_map of items with fn (extra: appended), chunk size 1; every result
 * checked to be its item. Seconds. */
static double timed_map(pp_task_fn fn, const pp_values *items, const pp_values *extra)
{
    size_t n = pp_values_count(items);
    int64_t *out = malloc((n ? n : 1) * sizeof *out);
    pp_submit_options so;
    pp_result *r = NULL;
    pp_error err;
    pp_status st;
    int64_t t0;

    if (out == NULL)
        die_pp("malloc", PP_ENOMEM);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.extra_args = extra;
    so.error = &err;
    t0 = pp_monotonic_ns();
    st = pp_map(g_pool, fn, items, &so, &r);
    if (st == PP_OK)
        st = pp_result_ints(r, PP_INFINITE, 0, n, out, NULL);
    double s = (double)(pp_monotonic_ns() - t0) / 1e9;
    if (st != PP_OK) {
        fprintf(stderr, "bench_redis: map: %s\n", err.message);
        die_pp("pp_map", st);
    }
    for (size_t i = 0; i < n; i++) {
        if (out[i] != (int64_t)i)
            die_pp("a wrong map result", PP_EPROTO);
    }
    pp_result_release(r);
    free(out);
    return s;
}

static void run_pool_rows(const options *o, int remote)
{
    const char *where = remote ? "remote" : "local";
    pp_values *items = range(o->items), *cpu = range(o->cpu_items), *ms = NULL, *one = NULL;
    pp_result *held = NULL;
    double best, s;
    pp_status st;

    make_pool(o, remote);
    if (remote) {
        /* the one local worker: busy for the whole run */
        if ((st = pp_values_of(&one, 600)) != PP_OK ||
            (st = pp_apply_async(g_pool, hold, one, NULL, &held)) != PP_OK)
            die_pp("pp_apply_async", st);
        pp_values_destroy(one);
        one = NULL;
        wait_remote(o);
    }
    /* warm-up: every worker has run a task */
    (void)timed_map(identity, cpu, NULL);

    if ((st = pp_values_of(&one, 7)) != PP_OK)
        die_pp("pp_values_of", st);
    best = 1e30;
    for (int r = 0; r < o->runs; r++) {
        int64_t t0 = pp_monotonic_ns();
        for (int64_t i = 0; i < o->applies; i++) {
            pp_values *res = NULL;
            pp_error err;
            int64_t x = 0;

            if ((st = pp_apply(g_pool, identity, one, &res, &err)) != PP_OK ||
                (st = pp_values_get_int(res, 0, &x)) != PP_OK || x != 7) {
                fprintf(stderr, "bench_redis: apply: %s\n", err.message);
                die_pp("pp_apply", st != PP_OK ? st : PP_EPROTO);
            }
            pp_values_destroy(res);
        }
        s = (double)(pp_monotonic_ns() - t0) / 1e3 / (double)o->applies;
        best = s < best ? s : best;
    }
    printf("%s_apply_roundtrip_us %.1f\n", where, best);

    best = 1e30;
    for (int r = 0; r < o->runs; r++) {
        s = timed_map(identity, items, NULL);
        best = s < best ? s : best;
    }
    printf("%s_map_trivial_s %.4f\n", where, best);

    if ((st = pp_values_of(&ms, o->cpu_ms)) != PP_OK)
        die_pp("pp_values_of", st);
    best = 1e30;
    for (int r = 0; r < o->runs; r++) {
        s = timed_map(spin, cpu, ms);
        best = s < best ? s : best;
    }
    printf("%s_map_cpu_s %.4f\n", where, best);
    fflush(stdout);

    pp_result_release(held);
    stop_pool();
    pp_values_destroy(items);
    pp_values_destroy(cpu);
    pp_values_destroy(ms);
    pp_values_destroy(one);
}

/* The broker address without its pool name: the Redis server. */
static void redis_lock_row(const options *o)
{
    char server[256];
    const char *slash = strrchr(o->broker, '/');
    pp_redis *r = NULL;
    pp_lock *lock = NULL;
    double best = 0;
    pp_status st;
    size_t len = (size_t)(slash - o->broker);

    if (slash == NULL || slash < o->broker + 8 || len >= sizeof server)
        die_pp("the broker address", PP_EINVAL);
    memcpy(server, o->broker, len);
    server[len] = '\0';
    if ((st = pp_redis_connect(server, NULL, &r)) != PP_OK)
        die_pp("pp_redis_connect", st);
    if ((st = pp_redis_lock_create(r, "bench_redis_lock", &lock)) != PP_OK)
        die_pp("pp_redis_lock_create", st);
    for (int k = 0; k < o->runs; k++) {
        int64_t t0 = pp_monotonic_ns();
        for (int64_t i = 0; i < o->pairs; i++) {
            if ((st = pp_lock_acquire(lock, 10000)) != PP_OK ||
                (st = pp_lock_release(lock)) != PP_OK)
                die_pp("the Redis lock", st);
        }
        double rate = (double)o->pairs * 1e9 / (double)(pp_monotonic_ns() - t0);
        best = rate > best ? rate : best;
    }
    printf("redis_lock_pairs_per_s %.0f\n", best);
    pp_lock_destroy(lock);
    pp_redis_destroy(r);
}

int main(int argc, char **argv)
{
    options o;
    pp_status st = pp_init(&argc, &argv); /* a remote worker: never returns */

    if (st != PP_OK)
        die_pp("pp_init", st);
    memset(&o, 0, sizeof o);
    o.remote = 2;
    o.items = 2000;
    o.cpu_items = 100;
    o.cpu_ms = 5;
    o.applies = 500;
    o.pairs = 5000;
    o.runs = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL) {
            fprintf(stderr, "bench_redis: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--broker") == 0)
            o.broker = v;
        else if (strcmp(a, "--remote") == 0)
            o.remote = (int)parse_count(v, a);
        else if (strcmp(a, "--items") == 0)
            o.items = parse_count(v, a);
        else if (strcmp(a, "--cpu-items") == 0)
            o.cpu_items = parse_count(v, a);
        else if (strcmp(a, "--cpu-ms") == 0)
            o.cpu_ms = parse_count(v, a);
        else if (strcmp(a, "--applies") == 0)
            o.applies = parse_count(v, a);
        else if (strcmp(a, "--pairs") == 0)
            o.pairs = parse_count(v, a);
        else if (strcmp(a, "--runs") == 0)
            o.runs = (int)parse_count(v, a);
        else {
            fprintf(stderr, "bench_redis: unknown option %s\n", a);
            return 2;
        }
    }
    if (o.broker == NULL || o.remote > 64) {
        fprintf(stderr, "usage: bench_redis --broker redis://HOST:PORT/POOL [--remote N<=64] "
                        "[--items N] [--cpu-items N] [--cpu-ms MS] [--applies N] [--pairs N] "
                        "[--runs R]\n(password: PROCPOOL_REDIS_PASSWORD)\n");
        return 2;
    }
    printf("# procpool distributed pool: %d remote workers (same machine), %d local for the "
           "local rows\n",
           o.remote, o.remote);
    run_pool_rows(&o, 0);
    run_pool_rows(&o, 1);
    redis_lock_row(&o);
    return 0;
}
