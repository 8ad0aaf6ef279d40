/*
 * bench_lock.c — throughput of procpool's named robust lock.
 *
 *   lock_uncontended_pairs_per_s   one process, --pairs acquire+release
 *                                  pairs, best of --runs runs
 *   lock_contended_<N>p_incr_per_s N = 2 and 4 processes each doing --incr
 *                                  lock-protected increments of one shared
 *                                  64-bit counter; total increments / wall
 *                                  time, best of --runs runs
 *
 * and, in the same run, the same workloads on the raw OS primitive the
 * lock is built on (bench_limits.c: a robust PTHREAD_PROCESS_SHARED mutex
 * in shared memory; Windows: a named mutex), as "limit_mutex_*" rows.
 *
 * The contenders are the workers of a pool of N processes, one task each
 * (a map with chunk size 1 over N items: an idle worker gets one item
 * first, so the N tasks run at the same time); the lock and the shared
 * block (pp_shm: the counter, and a ready count) reach them as task
 * arguments. Start-up is not timed: the parent holds the lock while the
 * tasks start, waits until all of them report ready, then starts the clock
 * and releases the lock. The clock stops when every task's result has come
 * back. The final counter must equal N * incr, otherwise the benchmark
 * fails (exit status 1).
 *
 * bench/bench_lock.py is the Python twin (multiprocessing.Lock) with the
 * same workloads and output; bench/run_bench.py runs both and compares.
 * Output: "<metric> <integer>" lines, and "#" lines for information.
 * procpool's public API only (procpool_client_dep).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_limits.h"
#include "procpool/procpool.h"

#define MAX_PROCS 4
/* The shared block: the counter (under the lock), the ready count (atomic). */
#define OFF_COUNTER   0
#define OFF_READY     8
#define SHM_SIZE      64
#define READY_WAIT_MS 60000

typedef struct options {
    int64_t pairs;
    int64_t incr;
    int runs;
} options;

/* The objects the parent created, destroyed again if it has to bail out,
 * so that no name outlives a failed run (their creator's destroy removes
 * the names). */
static pp_lock *g_lock;
static pp_shm *g_shm;
static pp_pool *g_pool;

static void cleanup(void)
{
    pp_pool_destroy(g_pool);
    pp_shm_destroy(g_shm);
    pp_lock_destroy(g_lock);
    g_pool = NULL;
    g_shm = NULL;
    g_lock = NULL;
}

static void die_pp(const char *what, pp_status st)
{
    int oserr = pp_os_error();
    fprintf(stderr, "bench_lock: %s: %s (%s, os error %d)\n", what, pp_strerror(st),
            pp_err_name(st), oserr);
    /* the gate may be held by this thread: a pool being destroyed would
     * wait for tasks blocked on it */
    (void)pp_lock_release(g_lock);
    cleanup();
    exit(1);
}

static int64_t parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 1) {
        fprintf(stderr, "bench_lock: %s must be an integer >= 1, not '%s'\n", what, s);
        exit(2);
    }
    return (int64_t)v;
}

/* ------------------------------------------------------------ contender */

/* Task (item, lock, shm, incr): report ready, then incr increments of the
 * counter under the lock. */
static int contend(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    int64_t incr = 0, i;
    pp_status st;

    if ((st = pp_values_get_lock(a, 1, &lock)) != PP_OK ||
        (st = pp_values_get_shm(a, 2, &shm)) != PP_OK ||
        (st = pp_values_get_int(a, 3, &incr)) != PP_OK)
        return st;
    int64_t *counter = (int64_t *)((char *)pp_shm_ptr(shm) + OFF_COUNTER);
    if ((st = pp_shm_add_int64(shm, OFF_READY, 1, NULL)) != PP_OK)
        return st;
    for (i = 0; i < incr; i++) {
        if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
            return pp_task_fail(t, 1, "pp_lock_acquire: %s", pp_err_name(st));
        ++*counter;
        if ((st = pp_lock_release(lock)) != PP_OK)
            return pp_task_fail(t, 1, "pp_lock_release: %s", pp_err_name(st));
    }
    return pp_values_add_int(pp_task_result(t), 0);
}
PP_TASK_REGISTER(contend)

/* --------------------------------------------------------- uncontended */

static double uncontended_pairs_per_s(const options *o)
{
    pp_status st;
    if ((st = pp_lock_create(NULL, &g_lock)) != PP_OK)
        die_pp("pp_lock_create", st);

    int64_t best_ns = INT64_MAX;
    for (int run = 0; run < o->runs; run++) {
        int64_t t0 = pp_monotonic_ns();
        for (int64_t i = 0; i < o->pairs; i++) {
            if ((st = pp_lock_acquire(g_lock, PP_INFINITE)) != PP_OK)
                die_pp("pp_lock_acquire", st);
            if ((st = pp_lock_release(g_lock)) != PP_OK)
                die_pp("pp_lock_release", st);
        }
        int64_t dt = pp_monotonic_ns() - t0;
        if (dt < best_ns)
            best_ns = dt;
    }
    pp_lock_destroy(g_lock);
    g_lock = NULL;
    return (double)o->pairs * 1e9 / (double)(best_ns > 0 ? best_ns : 1);
}

/* ----------------------------------------------------------- contended */

/* One contended run with the pool's nproc workers; the wall time in ns. */
static int64_t contended_run(int nproc, const options *o)
{
    pp_values *items = NULL, *extra = NULL;
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t ready = 0, counter = 0;
    pp_status st;

    if ((st = pp_lock_create(NULL, &g_lock)) != PP_OK)
        die_pp("pp_lock_create", st);
    if ((st = pp_shm_create(NULL, SHM_SIZE, &g_shm)) != PP_OK)
        die_pp("pp_shm_create", st);
    if ((st = pp_values_create(&items)) != PP_OK)
        die_pp("pp_values_create", st);
    for (int i = 0; i < nproc; i++) {
        if ((st = pp_values_add_int(items, i)) != PP_OK)
            die_pp("pp_values_add_int", st);
    }
    if ((st = pp_values_pack(&extra, "kml", g_lock, g_shm, o->incr)) != PP_OK)
        die_pp("pp_values_pack", st);

    /* Held until every contender is ready: it is the starting gate. */
    if ((st = pp_lock_acquire(g_lock, PP_INFINITE)) != PP_OK)
        die_pp("pp_lock_acquire (gate)", st);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.extra_args = extra;
    if ((st = pp_map_async(g_pool, contend, items, &so, &r)) != PP_OK)
        die_pp("pp_map_async", st);

    /* A contender that fails before it is ready must not leave us waiting. */
    for (int64_t waited = 0; ready < nproc; waited++) {
        if ((st = pp_shm_load_int64(g_shm, OFF_READY, &ready)) != PP_OK)
            die_pp("pp_shm_load_int64", st);
        if (pp_result_ready(r))
            die_pp("a contender finished before all were ready", pp_result_successful(r));
        if (waited > READY_WAIT_MS)
            die_pp("contenders not ready after 60 s", PP_ETIMEDOUT);
        if (ready < nproc)
            pp_sleep_ms(1);
    }

    int64_t t0 = pp_monotonic_ns();
    if ((st = pp_lock_release(g_lock)) != PP_OK)
        die_pp("pp_lock_release (gate)", st);
    if ((st = pp_result_get(r, PP_INFINITE, NULL)) != PP_OK) {
        const pp_error *e = pp_result_error(r);
        fprintf(stderr, "bench_lock: a contender failed: %s\n", e != NULL ? e->message : "?");
        die_pp("contender", st);
    }
    int64_t dt = pp_monotonic_ns() - t0;

    /* Every contender has finished: no lock needed to read the counter. */
    counter = *(const int64_t *)((const char *)pp_shm_ptr(g_shm) + OFF_COUNTER);
    int64_t expected = (int64_t)nproc * o->incr;
    if (counter != expected) {
        fprintf(stderr,
                "bench_lock: FAILED: %d-process counter is %" PRId64 ", expected %" PRId64
                ": the lock did not exclude\n",
                nproc, counter, expected);
        cleanup();
        exit(1);
    }
    pp_result_release(r);
    pp_values_destroy(extra);
    pp_values_destroy(items);
    pp_shm_destroy(g_shm);
    pp_lock_destroy(g_lock);
    g_shm = NULL;
    g_lock = NULL;
    return dt > 0 ? dt : 1;
}

static double contended_incr_per_s(int nproc, const options *o)
{
    pp_pool_options po;
    int64_t best_ns = INT64_MAX;
    pp_status st;

    memset(&po, 0, sizeof po);
    po.processes = nproc;
    if ((st = pp_pool_create(&g_pool, &po)) != PP_OK)
        die_pp("pp_pool_create", st);
    for (int run = 0; run < o->runs; run++) {
        int64_t dt = contended_run(nproc, o);
        if (dt < best_ns)
            best_ns = dt;
    }
    pp_pool_close(g_pool);
    if ((st = pp_pool_join(g_pool, PP_INFINITE)) != PP_OK)
        die_pp("pp_pool_join", st);
    pp_pool_destroy(g_pool);
    g_pool = NULL;
    return (double)nproc * (double)o->incr * 1e9 / (double)best_ns;
}

/* ---------------------------------------------------------------- main */

static void limit_row(const char *name, double v, const char *why)
{
    if (v > 0)
        printf("%s %.0f\n", name, v);
    else
        printf("# %s skipped: %s\n", name, why);
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_lock [--pairs N] [--incr K] [--runs R]\n"
                    "  --pairs N  uncontended acquire+release pairs per run (2000000)\n"
                    "  --incr K   increments per process in the contended runs (1000000)\n"
                    "  --runs R   runs per metric, best kept (3)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int child = bl_child_main(argc, argv); /* a limit's helper process? */
    if (child >= 0)
        return child;
    pp_status st = pp_init(&argc, &argv);
    if (st != PP_OK)
        die_pp("pp_init", st);

    options o = {2000000, 1000000, 3};
    for (int i = 1; i < argc; i++) {
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

    printf("# procpool bench_lock, pairs %" PRId64 ", incr %" PRId64 ", runs %d\n", o.pairs, o.incr,
           o.runs);
    fflush(stdout);
    printf("lock_uncontended_pairs_per_s %.0f\n", uncontended_pairs_per_s(&o));
    fflush(stdout);
    for (int nproc = 2; nproc <= MAX_PROCS; nproc *= 2) {
        printf("lock_contended_%dp_incr_per_s %.0f\n", nproc, contended_incr_per_s(nproc, &o));
        fflush(stdout);
    }

    /* (each figure before limit_row() reads why: argument order is unspecified) */
    const char *why = "";
    double v = bl_mutex_pairs_per_s(o.pairs, o.runs, &why);
    limit_row("limit_mutex_uncontended_pairs_per_s", v, why);
    for (int nproc = 2; nproc <= MAX_PROCS; nproc *= 2) {
        char name[64];
        snprintf(name, sizeof name, "limit_mutex_contended_%dp_incr_per_s", nproc);
        v = bl_mutex_contended_incr_per_s(nproc, o.incr, o.runs, &why);
        limit_row(name, v, why);
    }
    pp_shutdown();
    return 0;
}
