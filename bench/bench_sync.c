/*
 * bench_sync.c — throughput of procpool's local semaphore (sync.h), with
 * the public API only.
 *
 *   sem_uncontended_pairs_per_s   one process, --pairs acquire+release
 *                                 pairs on a semaphore of 1, best of --runs
 *   sem_contended_<N>p_pairs_per_s N = 2 and 4 pool workers each doing
 *                                 --cpairs acquire+release pairs on one
 *                                 semaphore of 1; total pairs / wall time
 *                                 from "go" until every task has ended,
 *                                 best of --runs runs
 *
 * Start-up is not timed: every task releases a "ready" semaphore and
 * waits for a "go" event; the parent takes N ready units, starts the
 * clock and sets the event. bench/bench_sync.py is the Python twin
 * (multiprocessing.Semaphore) with the same workloads and output lines
 * "<metric> <integer>" ("#" lines are information).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"

static void die(const char *what, pp_status st)
{
    fprintf(stderr, "bench_sync: %s: %s (%s)\n", what, pp_strerror(st), pp_err_name(st));
    exit(1);
}

static int64_t parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 1) {
        fprintf(stderr, "bench_sync: %s must be an integer >= 1, not '%s'\n", what, s);
        exit(2);
    }
    return (int64_t)v;
}

/* (sem, ready, go, n): report ready, wait for go, n pairs on sem. */
static int contender(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_sem *s = NULL, *ready = NULL;
    pp_event *go = NULL;
    int64_t n = 0, i;
    pp_status st;

    st = pp_values_get_sem(a, 0, &s);
    if (st == PP_OK)
        st = pp_values_get_sem(a, 1, &ready);
    if (st == PP_OK)
        st = pp_values_get_event(a, 2, &go);
    if (st == PP_OK)
        st = pp_values_get_int(a, 3, &n);
    if (st == PP_OK)
        st = pp_sem_release(ready);
    if (st == PP_OK)
        st = pp_event_wait(go, 60000);
    for (i = 0; st == PP_OK && i < n; i++) {
        st = pp_sem_acquire(s, PP_INFINITE);
        if (st == PP_OK)
            st = pp_sem_release(s);
    }
    return st == PP_OK ? PP_OK : pp_task_fail(t, st, "%s", pp_err_name(st));
}
PP_TASK_REGISTER(contender)

/* Warm-up: every worker started and idle before the gated runs, so the
 * pool gives each contender a worker of its own (a busy worker is fed
 * ahead only when none is idle). */
static int nap(pp_task *t)
{
    (void)t;
    pp_sleep_ms(100);
    return PP_OK;
}
PP_TASK_REGISTER(nap)

static void warm_up(pp_pool *p, int nproc)
{
    pp_values *items[8];
    pp_result *r = NULL;
    pp_status st;
    int i;

    for (i = 0; i < 2 * nproc; i++) {
        items[i] = NULL;
        if ((st = pp_values_create(&items[i])) != PP_OK)
            die("pp_values_create", st);
    }
    if ((st = pp_starmap_async(p, nap, items, (size_t)(2 * nproc), NULL, &r)) != PP_OK ||
        (st = pp_result_get(r, PP_INFINITE, NULL)) != PP_OK)
        die("warm-up", st);
    pp_result_release(r);
    for (i = 0; i < 2 * nproc; i++)
        pp_values_destroy(items[i]);
}

static double uncontended(int64_t pairs, int runs)
{
    int64_t best = INT64_MAX, i, t0, dt;
    pp_sem *s = NULL;
    pp_status st;
    int r;

    if ((st = pp_sem_create(NULL, 1, 0, &s)) != PP_OK)
        die("pp_sem_create", st);
    for (r = 0; r < runs; r++) {
        t0 = pp_monotonic_ns();
        for (i = 0; i < pairs; i++) {
            if ((st = pp_sem_acquire(s, PP_INFINITE)) != PP_OK)
                die("pp_sem_acquire", st);
            if ((st = pp_sem_release(s)) != PP_OK)
                die("pp_sem_release", st);
        }
        dt = pp_monotonic_ns() - t0;
        if (dt < best)
            best = dt;
    }
    pp_sem_destroy(s);
    return (double)pairs * 1e9 / (double)(best > 0 ? best : 1);
}

static int64_t contended_run(pp_pool *p, int nproc, int64_t cpairs)
{
    pp_sem *s = NULL, *ready = NULL;
    pp_event *go = NULL;
    pp_values *items[4];
    pp_result *r = NULL;
    int64_t t0, dt;
    pp_status st;
    int i;

    if ((st = pp_sem_create(NULL, 1, 0, &s)) != PP_OK ||
        (st = pp_sem_create(NULL, 0, 0, &ready)) != PP_OK ||
        (st = pp_event_create(NULL, &go)) != PP_OK)
        die("create", st);
    for (i = 0; i < nproc; i++) {
        items[i] = NULL;
        if ((st = pp_values_of(&items[i], s, ready, go, cpairs)) != PP_OK)
            die("pp_values_of", st);
    }
    if ((st = pp_starmap_async(p, contender, items, (size_t)nproc, NULL, &r)) != PP_OK)
        die("pp_starmap_async", st);
    for (i = 0; i < nproc; i++) {
        if ((st = pp_sem_acquire(ready, 60000)) != PP_OK)
            die("contenders not ready", st);
    }
    t0 = pp_monotonic_ns();
    if ((st = pp_event_set(go)) != PP_OK)
        die("pp_event_set", st);
    if ((st = pp_result_get(r, PP_INFINITE, NULL)) != PP_OK)
        die(pp_result_error(r) ? pp_result_error(r)->message : "contender", st);
    dt = pp_monotonic_ns() - t0;
    pp_result_release(r);
    for (i = 0; i < nproc; i++)
        pp_values_destroy(items[i]);
    pp_event_destroy(go);
    pp_sem_destroy(ready);
    pp_sem_destroy(s);
    return dt;
}

int main(int argc, char **argv)
{
    int64_t pairs = 2000000, cpairs = 200000, best, dt;
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_status st;
    int runs = 3, i, r, nproc;

    if ((st = pp_init(&argc, &argv)) != PP_OK)
        die("pp_init", st);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            pairs = parse_count(argv[++i], "--pairs");
        else if (strcmp(argv[i], "--cpairs") == 0 && i + 1 < argc)
            cpairs = parse_count(argv[++i], "--cpairs");
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = (int)parse_count(argv[++i], "--runs");
        else {
            fprintf(stderr, "usage: bench_sync [--pairs N] [--cpairs N] [--runs N]\n");
            return 2;
        }
    }
    printf("# procpool bench_sync: pairs %" PRId64 ", cpairs %" PRId64 ", runs %d\n", pairs, cpairs,
           runs);
    printf("sem_uncontended_pairs_per_s %.0f\n", uncontended(pairs, runs));
    fflush(stdout);
    for (nproc = 2; nproc <= 4; nproc += 2) {
        memset(&o, 0, sizeof o);
        o.processes = nproc;
        if ((st = pp_pool_create(&p, &o)) != PP_OK)
            die("pp_pool_create", st);
        warm_up(p, nproc);
        best = INT64_MAX;
        for (r = 0; r < runs; r++) {
            dt = contended_run(p, nproc, cpairs);
            if (dt < best)
                best = dt;
        }
        pp_pool_close(p);
        pp_pool_join(p, PP_INFINITE);
        pp_pool_destroy(p);
        printf("sem_contended_%dp_pairs_per_s %.0f\n", nproc,
               (double)nproc * (double)cpairs * 1e9 / (double)(best > 0 ? best : 1));
        fflush(stdout);
    }
    pp_shutdown();
    return 0;
}
