/*
 * bench_pool.c — procpool's Pool against Python's multiprocessing.Pool
 * (bench/bench_pool.py runs the same workloads; bench/run_bench.py runs
 * both and prints the table). Trivial tasks, so what is measured is the
 * pool's own cost per task: messages, wake-ups, bookkeeping.
 *
 * Output: "<metric> <value>" lines (seconds or microseconds as named),
 * "#" lines for information. Every result is checked; a wrong one exits 1.
 *
 * usage: bench_pool [--processes N] [--quick] [--only PREFIX]
 *   --only PREFIX  run only the metrics whose name starts with PREFIX
 *                  (e.g. "map_", "start_stop"), for profiling one path
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"

static int noop(pp_task *t)
{
    int64_t x = 0;

    pp_values_get_int(pp_task_args(t), 0, &x);
    return pp_values_add_int(pp_task_result(t), x);
}
PP_TASK_REGISTER(noop)

static int g_procs = 2;
static const char *g_only = NULL;

/* Is metric `name` selected by --only? */
static int want(const char *name)
{
    return g_only == NULL || strncmp(name, g_only, strlen(g_only)) == 0;
}

static double seconds_since(int64_t t0)
{
    return (double)(pp_monotonic_ns() - t0) / 1e9;
}

static void die(const char *what, pp_status st)
{
    fprintf(stderr, "bench_pool: %s: %s (%s)\n", what, pp_err_name(st), pp_strerror(st));
    exit(1);
}

static pp_pool *make_pool(pp_start_method m)
{
    pp_pool_options o;
    pp_pool *p;
    pp_status st;

    memset(&o, 0, sizeof o);
    o.processes = g_procs;
    o.start_method = m;
    st = pp_pool_create(&p, &o);
    if (st != PP_OK)
        die("pp_pool_create", st);
    return p;
}

static void stop_pool(pp_pool *p)
{
    pp_pool_close(p);
    pp_pool_join(p, PP_INFINITE);
    pp_pool_destroy(p);
}

/* create + close + join + destroy, mean of runs */
static void bench_start_stop(const char *name, pp_start_method m, int runs)
{
    int64_t t0 = pp_monotonic_ns();
    int i;

    for (i = 0; i < runs; i++)
        stop_pool(make_pool(m));
    printf("%s %.6f\n", name, seconds_since(t0) / runs);
}

/* Does this platform have the fork start method? (Windows: PP_ENOTSUP.) */
static int have_fork(void)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_status st;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_FORK;
    st = pp_pool_create(&p, &o);
    if (st == PP_OK)
        pp_pool_destroy(p);
    return st != PP_ENOTSUP;
}

static void check_item(pp_result *r, size_t i, int64_t want)
{
    const pp_values *v = NULL;
    int64_t x = -1;
    pp_status st = pp_result_item(r, i, &v, NULL);

    if (st != PP_OK)
        die("result item", st);
    pp_values_get_int(v, 0, &x);
    if (x != want) {
        fprintf(stderr, "bench_pool: item %lu is %lld, expected %lld\n", (unsigned long)i,
                (long long)x, (long long)want);
        exit(1);
    }
}

static void bench_apply_async(pp_pool *p, int n)
{
    pp_result **rs = malloc((size_t)n * sizeof *rs);
    pp_values *a;
    int64_t t0;
    int i;

    pp_values_pack(&a, "l", (int64_t)1);
    t0 = pp_monotonic_ns();
    for (i = 0; i < n; i++) {
        pp_status st = pp_apply_async(p, noop, a, NULL, &rs[i]);
        if (st != PP_OK)
            die("pp_apply_async", st);
    }
    for (i = 0; i < n; i++) {
        pp_status st = pp_result_get(rs[i], PP_INFINITE, NULL);
        if (st != PP_OK)
            die("pp_result_get", st);
        pp_result_release(rs[i]);
    }
    printf("apply_async_%d_s %.6f\n", n, seconds_since(t0));
    pp_values_destroy(a);
    free(rs);
}

static void bench_apply(pp_pool *p, int n)
{
    pp_values *a, *r;
    int64_t t0, x;
    int i;

    pp_values_pack(&a, "l", (int64_t)5);
    t0 = pp_monotonic_ns();
    for (i = 0; i < n; i++) {
        pp_status st = pp_apply(p, noop, a, &r, NULL);
        if (st != PP_OK)
            die("pp_apply", st);
        pp_values_get_int(r, 0, &x);
        if (x != 5)
            die("pp_apply result", PP_EPROTO);
        pp_values_destroy(r);
    }
    printf("apply_roundtrip_us %.3f\n", seconds_since(t0) / n * 1e6);
    pp_values_destroy(a);
}

static pp_values *range(int n)
{
    pp_values *v;
    int i;

    pp_values_create(&v);
    for (i = 0; i < n; i++)
        pp_values_add_int(v, i);
    return v;
}

/* "<name>_s": the map alone. Python's map returns the list of results;
 * "<name>_read_s": the map plus reading (and checking) every result into an
 * array in one call (pp_result_ints); "<name>_read_each_s" (no Python twin):
 * a second map, its results read one by one with pp_result_item();
 * "<name>_reading_only_{bulk,each}_s": the reading part alone of each. */
static void bench_map(pp_pool *p, const char *name, int n, size_t chunksize, int with_reads)
{
    pp_values *items = range(n);
    int64_t *out = malloc((size_t)n * sizeof *out);
    pp_submit_options o;
    pp_result *r;
    pp_status st;
    int64_t t0;
    int i;

    if (out == NULL)
        die("malloc", PP_ENOMEM);
    memset(&o, 0, sizeof o);
    o.chunksize = chunksize;
    t0 = pp_monotonic_ns();
    st = pp_map(p, noop, items, &o, &r);
    printf("%s_s %.6f\n", name, seconds_since(t0));
    if (st != PP_OK)
        die("pp_map", st);
    if (with_reads) {
        int64_t t1 = pp_monotonic_ns();
        st = pp_result_ints(r, PP_INFINITE, 0, (size_t)n, out, NULL);
        if (st != PP_OK)
            die("pp_result_ints", st);
        for (i = 0; i < n; i++) {
            if (out[i] != i)
                die("pp_result_ints: a wrong result", PP_EINVAL);
        }
        printf("%s_read_s %.6f\n", name, seconds_since(t0));
        printf("%s_reading_only_bulk_s %.6f\n", name, seconds_since(t1));
    }
    pp_result_release(r);
    if (with_reads) {
        int64_t t1;
        t0 = pp_monotonic_ns();
        st = pp_map(p, noop, items, &o, &r);
        if (st != PP_OK)
            die("pp_map", st);
        t1 = pp_monotonic_ns();
        for (i = 0; i < n; i++)
            check_item(r, (size_t)i, i);
        printf("%s_read_each_s %.6f\n", name, seconds_since(t0));
        printf("%s_reading_only_each_s %.6f\n", name, seconds_since(t1));
        pp_result_release(r);
    }
    free(out);
    pp_values_destroy(items);
}

static void bench_imap_unordered(pp_pool *p, int n)
{
    pp_values *items = range(n);
    pp_submit_options o;
    char *seen = calloc((size_t)n, 1);
    pp_iter *it;
    size_t idx;
    int64_t t0;
    int i;

    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    t0 = pp_monotonic_ns();
    if (pp_imap_unordered(p, noop, items, &o, &it) != PP_OK)
        die("pp_imap_unordered", PP_EINVAL);
    for (i = 0; i < n; i++) {
        pp_status st = pp_iter_next(it, PP_INFINITE, &idx, NULL, NULL);
        if (st != PP_OK || idx >= (size_t)n || seen[idx]++)
            die("pp_iter_next", st);
    }
    printf("imap_unordered_%d_s %.6f\n", n, seconds_since(t0));
    pp_iter_release(it);
    pp_values_destroy(items);
    free(seen);
}

int main(int argc, char **argv)
{
    pp_status st = pp_init(&argc, &argv);
    const char *map_name, *map1_name;
    int quick = 0, i;
    pp_pool *p;

    if (st != PP_OK)
        die("pp_init", st);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--processes") == 0 && i + 1 < argc) {
            g_procs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            g_only = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_pool [--processes N] [--quick] [--only PREFIX]\n");
            return 2;
        }
    }
    if (g_procs < 1) {
        fprintf(stderr, "bench_pool: --processes must be >= 1\n");
        return 2;
    }
    map_name = quick ? "map_100000_default_chunk" : "map_1000000_default_chunk";
    map1_name = quick ? "map_2000_chunksize1" : "map_20000_chunksize1";
    printf("# procpool pool benchmark, %d worker processes\n", g_procs);
    if (have_fork()) {
        if (want("start_stop_fork_s"))
            bench_start_stop("start_stop_fork_s", PP_START_FORK, 5);
        if (want("start_stop_forkserver_s"))
            bench_start_stop("start_stop_forkserver_s", PP_START_FORKSERVER, 5);
    }
    if (want("start_stop_spawn_s"))
        bench_start_stop("start_stop_spawn_s", PP_START_SPAWN, 5);
    p = make_pool(PP_START_DEFAULT);
    if (want("apply_async_"))
        bench_apply_async(p, quick ? 2000 : 20000);
    if (want("apply_roundtrip_us"))
        bench_apply(p, quick ? 200 : 2000);
    if (want(map_name))
        bench_map(p, map_name, quick ? 100000 : 1000000, 0, 1);
    if (want(map1_name))
        bench_map(p, map1_name, quick ? 2000 : 20000, 1, 0);
    if (want("imap_unordered_"))
        bench_imap_unordered(p, quick ? 2000 : 20000);
    stop_pool(p);
    return 0;
}
