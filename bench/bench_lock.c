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
 * The contenders are fresh executions of this program (apr_proc_create with
 * the helper flag --contender), so the same code runs on POSIX and Windows;
 * each opens the lock and the shared counter by name. Start-up is not timed:
 * the parent holds the lock while the contenders start, waits until all of
 * them report ready, then starts the clock and releases the lock. The clock
 * stops when the last contender has exited. The final counter must equal
 * N * incr, otherwise the benchmark fails (exit status 1).
 *
 * bench/bench_lock.py is the Python twin (multiprocessing.Lock) with the
 * same workloads and output; bench/run_bench.py runs both and compares.
 * Output: "<metric> <integer>" lines, and "#" lines for information.
 *
 * This file uses two internal platform functions (named shared memory and
 * a monotonic nanosecond clock) through procpool_internal_dep.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>

#include "platform.h"
#include "procpool/procpool.h"

#define MAX_PROCS 4

/* The shared block. counter is protected by the lock; ready is atomic. */
typedef struct shared {
    int64_t counter;
    volatile apr_uint32_t ready;
} shared;

typedef struct options {
    int64_t pairs;
    int64_t incr;
    int runs;
} options;

/* Names the parent created, removed again if it has to bail out, so no
 * named object outlives a failed run. */
static char g_lock_name[PP_NAME_MAX + 1];
static char g_shm_name[PP_NAME_MAX + 1];

static void remove_names(void)
{
    if (g_lock_name[0] != '\0')
        (void)pp__plat_mutex_unlink(g_lock_name);
    if (g_shm_name[0] != '\0')
        (void)pp__plat_shm_unlink(g_shm_name);
    g_lock_name[0] = g_shm_name[0] = '\0';
}

static void die_pp(const char *what, pp_status st)
{
    remove_names();
    fprintf(stderr, "bench_lock: %s: %s (%s, os error %d)\n", what, pp_strerror(st),
            pp_err_name(st), pp_os_error());
    exit(1);
}

static void die_apr(const char *what, apr_status_t rv)
{
    char buf[256];
    remove_names();
    fprintf(stderr, "bench_lock: %s: %s\n", what, apr_strerror(rv, buf, sizeof buf));
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

/* The program to re-execute: the running image where the OS tells us,
 * argv[0] otherwise (APR_PROGRAM_PATH searches PATH for a bare name). */
static const char *self_exe(const char *argv0)
{
#if defined(_WIN32)
    static char path[4096];
    DWORD n = GetModuleFileNameA(NULL, path, (DWORD)sizeof path);
    if (n > 0 && n < sizeof path)
        return path;
#elif defined(__linux__)
    return "/proc/self/exe";
#endif
    return argv0;
}

/* ------------------------------------------------------------ contender */

static int contender_main(const char *lock_name, const char *shm_name, int64_t incr)
{
    pp_lock *lock = NULL;
    pp__plat_shm *shm = NULL;
    pp_status st;

    if ((st = pp_lock_open(lock_name, &lock)) != PP_OK)
        die_pp("contender: pp_lock_open", st);
    if ((st = pp__plat_shm_open(shm_name, &shm)) != PP_OK)
        die_pp("contender: shm open", st);
    shared *sh = pp__plat_shm_ptr(shm);

    apr_atomic_inc32(&sh->ready);
    for (int64_t i = 0; i < incr; i++) {
        if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
            die_pp("contender: pp_lock_acquire", st);
        sh->counter++;
        if ((st = pp_lock_release(lock)) != PP_OK)
            die_pp("contender: pp_lock_release", st);
    }
    pp__plat_shm_close(shm);
    pp_lock_destroy(lock);
    return 0;
}

/* --------------------------------------------------------- uncontended */

static double uncontended_pairs_per_s(const options *o)
{
    pp_lock *lock = NULL;
    pp_status st;
    if ((st = pp_lock_create(NULL, &lock)) != PP_OK)
        die_pp("pp_lock_create", st);
    snprintf(g_lock_name, sizeof g_lock_name, "%s", pp_lock_name(lock));

    int64_t best_ns = INT64_MAX;
    for (int run = 0; run < o->runs; run++) {
        int64_t t0 = pp__plat_now_ns();
        for (int64_t i = 0; i < o->pairs; i++) {
            if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
                die_pp("pp_lock_acquire", st);
            if ((st = pp_lock_release(lock)) != PP_OK)
                die_pp("pp_lock_release", st);
        }
        int64_t dt = pp__plat_now_ns() - t0;
        if (dt < best_ns)
            best_ns = dt;
    }
    pp_lock_destroy(lock);
    g_lock_name[0] = '\0';
    return (double)o->pairs * 1e9 / (double)(best_ns > 0 ? best_ns : 1);
}

/* ----------------------------------------------------------- contended */

/* One contended run with nproc processes; returns the wall time in ns. */
static int64_t contended_run(const char *exe, const char *argv0, int nproc, const options *o,
                             apr_pool_t *pool)
{
    static unsigned seq;
    pp_lock *lock = NULL;
    pp__plat_shm *shm = NULL;
    pp_status st;
    apr_status_t rv;

    char *shm_name = g_shm_name;
    if ((st = pp_lock_create(NULL, &lock)) != PP_OK)
        die_pp("pp_lock_create", st);
    snprintf(g_lock_name, sizeof g_lock_name, "%s", pp_lock_name(lock));
    snprintf(shm_name, sizeof g_shm_name, "ppbench-%" PRIu64 "-%u", pp__plat_getpid(), ++seq);
    if ((st = pp__plat_shm_create(shm_name, sizeof(shared), &shm)) != PP_OK) {
        shm_name[0] = '\0'; /* not ours: do not unlink it */
        die_pp("shm create", st);
    }
    shared *sh = pp__plat_shm_ptr(shm);

    /* Held until every contender is ready: it is the starting gate. */
    if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
        die_pp("pp_lock_acquire (gate)", st);

    apr_procattr_t *attr;
    if ((rv = apr_procattr_create(&attr, pool)) != APR_SUCCESS ||
        (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH)) != APR_SUCCESS ||
        (rv = apr_procattr_error_check_set(attr, 1)) != APR_SUCCESS)
        die_apr("apr_procattr", rv);

    char incr[24];
    snprintf(incr, sizeof incr, "%" PRId64, o->incr);
    const char *args[] = {argv0, "--contender", pp_lock_name(lock), shm_name, incr, NULL};
    apr_proc_t procs[MAX_PROCS];
    for (int i = 0; i < nproc; i++) {
        if ((rv = apr_proc_create(&procs[i], exe, args, NULL, attr, pool)) != APR_SUCCESS)
            die_apr("apr_proc_create", rv);
    }

    /* A contender that fails before it is ready must not leave us waiting. */
    for (int64_t waited = 0; apr_atomic_read32(&sh->ready) < (apr_uint32_t)nproc; waited++) {
        for (int i = 0; i < nproc; i++) {
            int code = 0;
            apr_exit_why_e why;
            if (apr_proc_wait(&procs[i], &code, &why, APR_NOWAIT) == APR_CHILD_DONE)
                die_pp("a contender exited before it was ready", PP_ESPAWN);
        }
        if (waited > 60000)
            die_pp("contenders not ready after 60 s", PP_ETIMEDOUT);
        pp__plat_sleep_ms(1);
    }

    int64_t t0 = pp__plat_now_ns();
    if ((st = pp_lock_release(lock)) != PP_OK)
        die_pp("pp_lock_release (gate)", st);
    for (int i = 0; i < nproc; i++) {
        int code = 0;
        apr_exit_why_e why;
        rv = apr_proc_wait(&procs[i], &code, &why, APR_WAIT);
        if (rv != APR_CHILD_DONE)
            die_apr("apr_proc_wait", rv);
        if (!APR_PROC_CHECK_EXIT(why) || code != 0) {
            remove_names();
            fprintf(stderr, "bench_lock: contender %d %s %d\n", i,
                    APR_PROC_CHECK_EXIT(why) ? "exited with status" : "killed by signal", code);
            exit(1);
        }
    }
    int64_t dt = pp__plat_now_ns() - t0;

    /* Every contender has exited: no lock needed to read the counter. */
    int64_t expected = (int64_t)nproc * o->incr;
    if (sh->counter != expected) {
        remove_names();
        fprintf(stderr,
                "bench_lock: FAILED: %d-process counter is %" PRId64 ", expected %" PRId64
                ": the lock did not exclude\n",
                nproc, sh->counter, expected);
        exit(1);
    }
    pp__plat_shm_close(shm);
    st = pp__plat_shm_unlink(shm_name);
    shm_name[0] = '\0';
    if (st != PP_OK)
        die_pp("shm unlink", st);
    pp_lock_destroy(lock);
    g_lock_name[0] = '\0';
    return dt > 0 ? dt : 1;
}

static double contended_incr_per_s(const char *exe, const char *argv0, int nproc, const options *o)
{
    int64_t best_ns = INT64_MAX;
    for (int run = 0; run < o->runs; run++) {
        apr_pool_t *pool;
        apr_status_t rv = apr_pool_create(&pool, NULL);
        if (rv != APR_SUCCESS)
            die_apr("apr_pool_create", rv);
        int64_t dt = contended_run(exe, argv0, nproc, o, pool);
        apr_pool_destroy(pool);
        if (dt < best_ns)
            best_ns = dt;
    }
    return (double)nproc * (double)o->incr * 1e9 / (double)best_ns;
}

/* ---------------------------------------------------------------- main */

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
    pp_status st = pp_init(&argc, &argv);
    if (st != PP_OK)
        die_pp("pp_init", st);
    apr_status_t rv = apr_initialize();
    if (rv != APR_SUCCESS)
        die_apr("apr_initialize", rv);

    if (argc == 5 && strcmp(argv[1], "--contender") == 0)
        return contender_main(argv[2], argv[3], parse_count(argv[4], "incr"));

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
    const char *exe = self_exe(argv[0]);
    for (int nproc = 2; nproc <= MAX_PROCS; nproc *= 2) {
        printf("lock_contended_%dp_incr_per_s %.0f\n", nproc,
               contended_incr_per_s(exe, argv[0], nproc, &o));
        fflush(stdout);
    }

    apr_terminate();
    pp_shutdown();
    return 0;
}
