/*
 * bench_pool.c — procpool's Pool against Python's multiprocessing.Pool
 * (bench/bench_pool.py runs the same workloads; bench/run_bench.py runs
 * both and prints the table). Trivial tasks, so what is measured is the
 * pool's own cost per task: messages, wake-ups, bookkeeping.
 *
 * Also, in the same run (bench_limits.c): the machine's physical
 * references ("limit_*": pipe round trip, fork+exit+wait, spawn of a
 * trivial program, memcpy bandwidth), and realistic rows with the same
 * task and data as the Python twin: a map over short strings, maps over
 * byte items with a checksum task, each beside its serial loop on the same
 * data, with the parent's peak memory.
 *
 * Output: "<metric> <value>" lines (seconds or microseconds as named),
 * "#: <key> <value>" lines for run_bench.py (bytes a row moves, checks of
 * the results that the twin must reproduce), "#" lines for information.
 * Every result is checked; a wrong one exits 1.
 *
 * usage: bench_pool [--processes N] [--quick] [--only PREFIX]
 *   --only PREFIX  run only the metrics whose name starts with PREFIX
 *                  (e.g. "map_", "start_stop", "limit_"), for profiling
 *                  one path
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_limits.h"
#include "procpool/procpool.h"

static int noop(pp_task *t)
{
    int64_t x = 0;

    pp_values_get_int(pp_task_args(t), 0, &x);
    return pp_values_add_int(pp_task_result(t), x);
}
PP_TASK_REGISTER(noop)

#define STR_MAX 63 /* the strings row's strings are shorter */

/* An ASCII uppercase copy of s into out[STR_MAX + 1]: the strings row's
 * work (Python: str.upper()). 0 if s is too long. */
static int upper_copy(const char *s, char *out)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (i == STR_MAX)
            return 0;
        out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
    }
    out[i] = '\0';
    return 1;
}

static int upper(pp_task *t)
{
    char buf[STR_MAX + 1];
    const char *s = NULL;
    pp_status st = pp_values_get_str(pp_task_args(t), 0, &s);

    if (st != PP_OK)
        return st;
    if (!upper_copy(s, buf))
        return pp_task_fail(t, 1, "upper: a string longer than %d bytes", STR_MAX);
    return pp_values_add_str(pp_task_result(t), buf);
}
PP_TASK_REGISTER(upper)

/* The byte rows' work: the Adler-32 of the item (Python: zlib.adler32). */
static int adler(pp_task *t)
{
    const void *data = NULL;
    size_t len = 0;
    pp_status st = pp_values_get_bytes(pp_task_args(t), 0, &data, &len);

    if (st != PP_OK)
        return st;
    return pp_values_add_int(pp_task_result(t), bl_adler32(1, data, len));
}
PP_TASK_REGISTER(adler)

static int g_procs = 2;
static const char *g_only = NULL;

/* Is metric `name` selected by --only? */
static int want(const char *name)
{
    return g_only == NULL || strncmp(name, g_only, strlen(g_only)) == 0;
}

/* Is some metric of the row whose metrics are "map_<row>_*" and
 * "serial_<row>_*" selected by --only (a prefix of them, or a longer one)? */
static int want_row(const char *row)
{
    char fam[2][96];
    int k;

    if (g_only == NULL)
        return 1;
    snprintf(fam[0], sizeof fam[0], "map_%s_", row);
    snprintf(fam[1], sizeof fam[1], "serial_%s_", row);
    for (k = 0; k < 2; k++) {
        if (strncmp(fam[k], g_only, strlen(g_only)) == 0 ||
            strncmp(g_only, fam[k], strlen(fam[k])) == 0)
            return 1;
    }
    return 0;
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

/* ------------------------------------------------------------- limits */

static void limit_row(const char *name, double v, const char *why)
{
    if (v > 0)
        printf("%s %.6g\n", name, v);
    else
        printf("# %s skipped: %s\n", name, why);
    fflush(stdout);
}

#define LIMIT_BATCHES 5

/* The best (lowest) mean of LIMIT_BATCHES batches of n / LIMIT_BATCHES:
 * a limit is what the machine can do, and other jobs on it only slow a
 * batch down. 0 with *why if a batch failed. */
static double best_batch(double (*fn)(int, const char **), int n, const char **why)
{
    double best = 0;
    int b;

    for (b = 0; b < LIMIT_BATCHES; b++) {
        double v = fn(n / LIMIT_BATCHES, why);
        if (v <= 0)
            return 0;
        if (best == 0 || v < best)
            best = v;
    }
    return best;
}

/* The machine's references for the rows below (run_bench.py divides). */
static void bench_limits(int quick)
{
    const char *why = "";
    double v;

    /* (each figure is taken before limit_row() reads why: the order in
     * which a call's arguments are evaluated is unspecified) */
    if (want("limit_pipe_roundtrip_us")) {
        v = best_batch(bl_pipe_roundtrip_us, quick ? 2000 : 20000, &why);
        limit_row("limit_pipe_roundtrip_us", v, why);
    }
    if (want("limit_fork_exit_wait_us")) {
        v = best_batch(bl_fork_exit_wait_us, quick ? 50 : 200, &why);
        limit_row("limit_fork_exit_wait_us", v, why);
    }
    if (want("limit_spawn_exit_wait_us")) {
        v = best_batch(bl_spawn_exit_wait_us, quick ? 25 : 50, &why);
        limit_row("limit_spawn_exit_wait_us", v, why);
    }
    if (want("limit_memcpy_gbps")) {
        v = bl_memcpy_gbps((size_t)64 << 20, quick ? 3 : 8, &why);
        limit_row("limit_memcpy_gbps", v, why);
    }
}

/* ------------------------------------------------------ realistic rows */

/* The parent's peak memory over a part of a row, in MiB above the
 * baseline taken before the row built its data. */
static void print_peak(const char *metric, int64_t base)
{
    const char *why = "";
    int64_t peak = base < 0 ? -1 : bl_mem_peak(&why);

    if (peak < 0)
        printf("# %s skipped: %s\n", metric, why);
    else
        printf("%s %.1f\n", metric, (double)(peak - base) / (1024.0 * 1024.0));
}

/* Start a row's memory accounting: the baseline (-1 with a note). */
static int64_t mem_begin(const char *row)
{
    const char *why = "";
    int64_t base = bl_mem_begin(&why);

    if (base < 0)
        printf("# %s: no peak memory: %s\n", row, why);
    return base;
}

/* map over n short strings, each to its uppercase copy; beside it the
 * same loop in this process. The map's time includes reading every result
 * (Python's map returns them all). */
static void bench_strings(pp_pool *p, int n)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
    char row[64], metric[96], buf[STR_MAX + 1];
    const pp_values **vals = malloc((size_t)n * sizeof *vals);
    pp_values *items, *serial;
    uint64_t in_bytes = 0, out_bytes = 0;
    uint32_t check = 1;
    int64_t base, t0;
    pp_result *r;
    pp_status st;
    int i;

    snprintf(row, sizeof row, "str_%d", n);
    if (vals == NULL)
        die("malloc", PP_ENOMEM);
    base = mem_begin(row);
    if (pp_values_create(&items) != PP_OK || pp_values_create(&serial) != PP_OK)
        die("pp_values_create", PP_ENOMEM);
    for (i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "w%d-%.*s", i, i % 13, alpha);
        in_bytes += strlen(buf);
        if ((st = pp_values_add_str(items, buf)) != PP_OK)
            die("pp_values_add_str", st);
    }

    t0 = pp_monotonic_ns();
    for (i = 0; i < n; i++) {
        const char *s = NULL;
        pp_values_get_str(items, (size_t)i, &s);
        if (!upper_copy(s, buf))
            die("upper_copy", PP_ETOOBIG);
        if ((st = pp_values_add_str(serial, buf)) != PP_OK)
            die("pp_values_add_str", st);
    }
    snprintf(metric, sizeof metric, "serial_%s_s", row);
    printf("%s %.6f\n", metric, seconds_since(t0));
    snprintf(metric, sizeof metric, "serial_%s_peak_mib", row);
    print_peak(metric, base);

    bl_mem_reset_peak();
    t0 = pp_monotonic_ns();
    if ((st = pp_map(p, upper, items, NULL, &r)) != PP_OK)
        die("pp_map (strings)", st);
    if ((st = pp_result_values(r, PP_INFINITE, 0, (size_t)n, vals, NULL)) != PP_OK)
        die("pp_result_values", st);
    snprintf(metric, sizeof metric, "map_%s_s", row);
    printf("%s %.6f\n", metric, seconds_since(t0));
    snprintf(metric, sizeof metric, "map_%s_peak_mib", row);
    print_peak(metric, base);

    for (i = 0; i < n; i++) {
        const char *a = NULL, *b = NULL;
        pp_values_get_str(vals[i], 0, &a);
        pp_values_get_str(serial, (size_t)i, &b);
        if (a == NULL || b == NULL || strcmp(a, b) != 0)
            die("strings row: a wrong result", PP_EPROTO);
        out_bytes += strlen(a);
        check = bl_adler32(check, (const unsigned char *)a, strlen(a));
    }
    printf("#: %s_input_bytes %" PRIu64 "\n", row, in_bytes);
    printf("#: %s_moved_bytes %" PRIu64 "\n", row, in_bytes + out_bytes);
    printf("#: %s_check %" PRIu32 "\n", row, check);
    fflush(stdout);
    pp_result_release(r);
    pp_values_destroy(serial);
    pp_values_destroy(items);
    free(vals);
}

/* map of the Adler-32 over n items of size bytes each (item k, byte j:
 * (j + k) & 0xff — the twin builds the same), in one call (pp_starmap: an
 * array of one-item tuples, no limit on the total; the pool streams it);
 * beside it the serial loop. */
static void bench_bytes(pp_pool *p, int n, size_t size, const char *size_name)
{
    unsigned char *buf = malloc(size);
    int64_t *sums = malloc((size_t)n * sizeof *sums), *out = malloc((size_t)n * sizeof *out);
    pp_values **items = calloc((size_t)n, sizeof *items);
    pp_result *r = NULL;
    char row[64], metric[96];
    uint64_t check = 0;
    int64_t base, t0;
    size_t k, j;
    pp_status st;

    if (buf == NULL || sums == NULL || out == NULL || items == NULL)
        die("malloc", PP_ENOMEM);
    snprintf(row, sizeof row, "bytes_%dx%s", n, size_name);
    base = mem_begin(row);
    for (k = 0; k < (size_t)n; k++) {
        for (j = 0; j < size; j++)
            buf[j] = (unsigned char)((j + k) & 0xff);
        if ((st = pp_values_create(&items[k])) != PP_OK ||
            (st = pp_values_add_bytes(items[k], buf, size)) != PP_OK)
            die("pp_values_add_bytes", st);
    }
    free(buf);

    t0 = pp_monotonic_ns();
    for (k = 0; k < (size_t)n; k++) {
        const void *data = NULL;
        size_t len = 0;
        pp_values_get_bytes(items[k], 0, &data, &len);
        sums[k] = bl_adler32(1, data, len);
    }
    snprintf(metric, sizeof metric, "serial_%s_s", row);
    printf("%s %.6f\n", metric, seconds_since(t0));
    snprintf(metric, sizeof metric, "serial_%s_peak_mib", row);
    print_peak(metric, base);

    bl_mem_reset_peak();
    t0 = pp_monotonic_ns();
    if ((st = pp_starmap(p, adler, (const pp_values *const *)items, (size_t)n, NULL, &r)) != PP_OK)
        die("pp_starmap (bytes)", st);
    if ((st = pp_result_ints(r, PP_INFINITE, 0, (size_t)n, out, NULL)) != PP_OK)
        die("pp_result_ints (bytes)", st);
    snprintf(metric, sizeof metric, "map_%s_s", row);
    printf("%s %.6f\n", metric, seconds_since(t0));
    snprintf(metric, sizeof metric, "map_%s_peak_mib", row);
    print_peak(metric, base);

    for (k = 0; k < (size_t)n; k++) {
        if (out[k] != sums[k])
            die("bytes row: a wrong result", PP_EPROTO);
        check += (uint64_t)sums[k];
    }
    printf("# %s: one call\n", row);
    printf("#: %s_calls 1\n", row);
    printf("#: %s_input_bytes %" PRIu64 "\n", row, (uint64_t)n * size);
    printf("#: %s_moved_bytes %" PRIu64 "\n", row, (uint64_t)n * (size + sizeof(int64_t)));
    printf("#: %s_check %" PRIu64 "\n", row, check);
    fflush(stdout);
    pp_result_release(r);
    for (k = 0; k < (size_t)n; k++)
        pp_values_destroy(items[k]);
    free(items);
    free(out);
    free(sums);
}

int main(int argc, char **argv)
{
    int child = bl_child_main(argc, argv); /* a limit's helper process? */
    pp_status st = child >= 0 ? PP_OK : pp_init(&argc, &argv);
    const char *map_name, *map1_name;
    char row[64];
    int quick = 0, i;
    pp_pool *p;

    if (child >= 0)
        return child;
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
    bench_limits(quick);
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
    if (want(map_name)) {
        /* the bytes a map of ints must move at least: 8 in, 8 out per item */
        printf("#: %s_moved_bytes %d\n", map_name, (quick ? 100000 : 1000000) * 16);
        bench_map(p, map_name, quick ? 100000 : 1000000, 0, 1);
    }
    if (want(map1_name))
        bench_map(p, map1_name, quick ? 2000 : 20000, 1, 0);
    if (want("imap_unordered_"))
        bench_imap_unordered(p, quick ? 2000 : 20000);
    snprintf(row, sizeof row, "str_%d", quick ? 20000 : 200000);
    if (want_row(row))
        bench_strings(p, quick ? 20000 : 200000);
    snprintf(row, sizeof row, "bytes_%dx64k", quick ? 512 : 4096);
    if (want_row(row))
        bench_bytes(p, quick ? 512 : 4096, (size_t)64 << 10, "64k");
    snprintf(row, sizeof row, "bytes_%dx1m", quick ? 32 : 256);
    if (want_row(row))
        bench_bytes(p, quick ? 32 : 256, (size_t)1 << 20, "1m");
    stop_pool(p);
    return 0;
}
