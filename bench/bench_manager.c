/*
 * bench_manager.c — throughput of a lock hosted by a procpool manager,
 * used from other processes (clients), as Python's Manager().Lock().
 *
 *   mgr_uncontended_pairs_per_s   one client process, --pairs
 *                                 acquire+release pairs, best of --runs
 *   mgr_contended_<N>p_incr_per_s N = 2 and 4 client processes each doing
 *                                 --incr increments of one shared 64-bit
 *                                 counter under the manager lock; total
 *                                 increments / wall time, best of --runs
 *
 * The manager is started with pp_manager_start() (its default endpoint:
 * a Unix socket on POSIX, TCP loopback on Windows; --tcp for TCP
 * loopback everywhere) with the program key. The clients are the workers
 * of a pool, one task each (a map with chunk size 1): the lock reaches
 * them as a task argument and each worker opens its own connection with
 * the key it inherited (manager.h), never from argv; the counter is in a
 * pp_shm block, also an argument. Start-up and connecting are not timed:
 * the parent holds the lock until every client is ready, then starts the
 * clock and releases it; the clock stops when every task's result is
 * back. The final counter must be N * incr (exit status 1 otherwise).
 *
 * bench/bench_manager.py is the Python twin; bench/run_bench.py runs both.
 * Output: "<metric> <integer>" lines, and "#" lines for information.
 * procpool's public API only (procpool_client_dep).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"

#define MAX_PROCS 4
/* The shared block: the counter (under the manager lock), the ready count
 * (atomic). */
#define OFF_COUNTER   0
#define OFF_READY     8
#define SHM_SIZE      64
#define READY_WAIT_MS 60000

typedef struct options {
    int64_t pairs;
    int64_t incr;
    int runs;
    int tcp;
} options;

/* Destroyed again if the parent has to bail out (no name outlives it). */
static pp_manager *g_mgr;
static pp_lock *g_lock;
static pp_shm *g_shm;
static pp_pool *g_pool;

static void die_pp(const char *what, pp_status st)
{
    int oserr = pp_os_error();
    fprintf(stderr, "bench_manager: %s: %s (%s, os error %d)\n", what, pp_strerror(st),
            pp_err_name(st), oserr);
    (void)pp_lock_release(g_lock); /* maybe the gate: tasks wait on it */
    pp_pool_destroy(g_pool);
    pp_shm_destroy(g_shm);
    pp_lock_destroy(g_lock);
    pp_manager_destroy(g_mgr);
    exit(1);
}

static int64_t parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 1) {
        fprintf(stderr, "bench_manager: %s must be an integer >= 1, not '%s'\n", what, s);
        exit(2);
    }
    return (int64_t)v;
}

/* --------------------------------------------------------------- client */

/* Task (item, lock, pairs, runs): runs timed runs of pairs acquire+release
 * pairs; the best time in ns. */
static int client_pairs(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_lock *lock = NULL;
    int64_t pairs = 0, runs = 0, best = INT64_MAX;
    pp_status st;

    if ((st = pp_values_get_lock(a, 1, &lock)) != PP_OK ||
        (st = pp_values_get_int(a, 2, &pairs)) != PP_OK ||
        (st = pp_values_get_int(a, 3, &runs)) != PP_OK)
        return st;
    for (int64_t r = 0; r < runs; r++) {
        int64_t t0 = pp_monotonic_ns();
        for (int64_t i = 0; i < pairs; i++) {
            if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
                return pp_task_fail(t, 1, "pp_lock_acquire: %s", pp_err_name(st));
            if ((st = pp_lock_release(lock)) != PP_OK)
                return pp_task_fail(t, 1, "pp_lock_release: %s", pp_err_name(st));
        }
        int64_t dt = pp_monotonic_ns() - t0;
        if (dt < best)
            best = dt;
    }
    return pp_values_add_int(pp_task_result(t), best);
}
PP_TASK_REGISTER(client_pairs)

/* Task (item, lock, shm, incr): report ready, then incr increments of the
 * counter in shm under the lock. */
static int client_incr(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    int64_t incr = 0;
    pp_status st;

    if ((st = pp_values_get_lock(a, 1, &lock)) != PP_OK ||
        (st = pp_values_get_shm(a, 2, &shm)) != PP_OK ||
        (st = pp_values_get_int(a, 3, &incr)) != PP_OK)
        return st;
    int64_t *counter = (int64_t *)((char *)pp_shm_ptr(shm) + OFF_COUNTER);
    if ((st = pp_shm_add_int64(shm, OFF_READY, 1, NULL)) != PP_OK)
        return st;
    for (int64_t i = 0; i < incr; i++) {
        if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
            return pp_task_fail(t, 1, "pp_lock_acquire: %s", pp_err_name(st));
        ++*counter;
        if ((st = pp_lock_release(lock)) != PP_OK)
            return pp_task_fail(t, 1, "pp_lock_release: %s", pp_err_name(st));
    }
    return pp_values_add_int(pp_task_result(t), 0);
}
PP_TASK_REGISTER(client_incr)

/* --------------------------------------------------------------- parent */

static void make_pool(int nproc)
{
    pp_pool_options po;
    pp_status st;

    memset(&po, 0, sizeof po);
    po.processes = nproc;
    if ((st = pp_pool_create(&g_pool, &po)) != PP_OK)
        die_pp("pp_pool_create", st);
}

static void stop_pool(void)
{
    pp_status st;

    pp_pool_close(g_pool);
    if ((st = pp_pool_join(g_pool, PP_INFINITE)) != PP_OK)
        die_pp("pp_pool_join", st);
    pp_pool_destroy(g_pool);
    g_pool = NULL;
}

static pp_values *range(int n)
{
    pp_values *v = NULL;
    pp_status st = pp_values_create(&v);

    for (int i = 0; i < n && st == PP_OK; i++)
        st = pp_values_add_int(v, i);
    if (st != PP_OK)
        die_pp("pp_values_create", st);
    return v;
}

/* Wait for a map's result; a failed task is fatal, with its message. */
static void get_ok(pp_result *r, const char *what)
{
    pp_status st = pp_result_get(r, PP_INFINITE, NULL);

    if (st != PP_OK) {
        const pp_error *e = pp_result_error(r);
        fprintf(stderr, "bench_manager: %s failed: %s\n", what, e != NULL ? e->message : "?");
        die_pp(what, st);
    }
}

static double uncontended_pairs_per_s(const options *o)
{
    pp_values *items = range(1), *extra = NULL;
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t ns = 0;
    pp_status st;

    make_pool(1);
    if ((st = pp_values_pack(&extra, "kll", g_lock, o->pairs, (int64_t)o->runs)) != PP_OK)
        die_pp("pp_values_pack", st);
    memset(&so, 0, sizeof so);
    so.extra_args = extra;
    if ((st = pp_map_async(g_pool, client_pairs, items, &so, &r)) != PP_OK)
        die_pp("pp_map_async", st);
    get_ok(r, "the pairs client");
    if ((st = pp_result_ints(r, PP_INFINITE, 0, 1, &ns, NULL)) != PP_OK)
        die_pp("pp_result_ints", st);
    pp_result_release(r);
    pp_values_destroy(extra);
    pp_values_destroy(items);
    stop_pool();
    return (double)o->pairs * 1e9 / (double)(ns > 0 ? ns : 1);
}

/* One contended run with the pool's nproc workers; the wall time in ns. */
static int64_t contended_run(int nproc, const options *o)
{
    pp_values *items = range(nproc), *extra = NULL;
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t ready = 0;
    pp_status st;

    if ((st = pp_shm_create(NULL, SHM_SIZE, &g_shm)) != PP_OK)
        die_pp("pp_shm_create", st);
    if ((st = pp_values_pack(&extra, "kml", g_lock, g_shm, o->incr)) != PP_OK)
        die_pp("pp_values_pack", st);
    if ((st = pp_lock_acquire(g_lock, PP_INFINITE)) != PP_OK) /* the gate */
        die_pp("pp_lock_acquire (gate)", st);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.extra_args = extra;
    if ((st = pp_map_async(g_pool, client_incr, items, &so, &r)) != PP_OK)
        die_pp("pp_map_async", st);
    for (int64_t waited = 0; ready < nproc; waited++) {
        if ((st = pp_shm_load_int64(g_shm, OFF_READY, &ready)) != PP_OK)
            die_pp("pp_shm_load_int64", st);
        if (pp_result_ready(r))
            get_ok(r, "a client (finished before all were ready)");
        if (waited > READY_WAIT_MS)
            die_pp("clients not ready after 60 s", PP_ETIMEDOUT);
        if (ready < nproc)
            pp_sleep_ms(1);
    }
    pp_sleep_ms(20); /* each is in its first acquire */
    int64_t t0 = pp_monotonic_ns();
    if ((st = pp_lock_release(g_lock)) != PP_OK)
        die_pp("pp_lock_release (gate)", st);
    get_ok(r, "a client");
    int64_t dt = pp_monotonic_ns() - t0;
    int64_t counter = *(const int64_t *)((const char *)pp_shm_ptr(g_shm) + OFF_COUNTER);
    int64_t expected = (int64_t)nproc * o->incr;
    if (counter != expected) {
        fprintf(stderr,
                "bench_manager: FAILED: %d-process counter is %" PRId64 ", expected %" PRId64
                ": the lock did not exclude\n",
                nproc, counter, expected);
        die_pp("counter", PP_EPROTO);
    }
    pp_result_release(r);
    pp_values_destroy(extra);
    pp_values_destroy(items);
    pp_shm_destroy(g_shm);
    g_shm = NULL;
    return dt > 0 ? dt : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_manager [--pairs N] [--incr K] [--runs R] [--tcp]\n"
                    "  --pairs N  uncontended acquire+release pairs per run (20000)\n"
                    "  --incr K   increments per process in the contended runs (5000)\n"
                    "  --runs R   runs per metric, best kept (3)\n"
                    "  --tcp      the manager listens on TCP loopback (default: the\n"
                    "             platform's local endpoint, a Unix socket on POSIX)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    pp_status st = pp_init(&argc, &argv);
    if (st != PP_OK)
        die_pp("pp_init", st);

    options o = {20000, 5000, 3, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tcp") == 0) {
            o.tcp = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--pairs") == 0)
            o.pairs = parse_count(argv[++i], "--pairs");
        else if (strcmp(argv[i], "--incr") == 0)
            o.incr = parse_count(argv[++i], "--incr");
        else if (strcmp(argv[i], "--runs") == 0)
            o.runs = (int)parse_count(argv[++i], "--runs");
        else
            usage();
    }

    pp_manager_options mo;
    memset(&mo, 0, sizeof mo);
    mo.listen = o.tcp ? "tcp://127.0.0.1:0" : NULL; /* no key: the program key */
    if ((st = pp_manager_start(&g_mgr, &mo)) != PP_OK)
        die_pp("pp_manager_start", st);
    if ((st = pp_manager_lock(g_mgr, &g_lock)) != PP_OK)
        die_pp("pp_manager_lock", st);

    printf("# procpool bench_manager, %s, pairs %" PRId64 ", incr %" PRId64 ", runs %d\n",
           pp_manager_address(g_mgr), o.pairs, o.incr, o.runs);
    fflush(stdout);
    printf("mgr_uncontended_pairs_per_s %.0f\n", uncontended_pairs_per_s(&o));
    fflush(stdout);
    for (int nproc = 2; nproc <= MAX_PROCS; nproc *= 2) {
        int64_t best = INT64_MAX;
        make_pool(nproc);
        for (int r = 0; r < o.runs; r++) {
            int64_t dt = contended_run(nproc, &o);
            if (dt < best)
                best = dt;
        }
        stop_pool();
        printf("mgr_contended_%dp_incr_per_s %.0f\n", nproc,
               (double)nproc * (double)o.incr * 1e9 / (double)best);
        fflush(stdout);
    }
    pp_lock_destroy(g_lock);
    pp_manager_destroy(g_mgr);
    pp_shutdown();
    return 0;
}
