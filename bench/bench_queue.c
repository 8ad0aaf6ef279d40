/*
 * bench_queue.c — items per second through a pp_queue (queue.h) from one
 * process to another, against Python's multiprocessing.Queue
 * (bench/bench_queue.py runs the same workloads with the same output).
 *
 *   queue_small_items_per_s  --items N tuples (i, 2.5, "abc")
 *   queue_4k_items_per_s     --items / 10 times one tuple of a 4 KiB byte
 *                            string (built once, as the Python twin's)
 *
 * The consumer is a pool worker (one process) given the queues as task
 * arguments; it answers "ready" on a second queue, the parent starts the
 * clock, puts every item, and stops it when the worker's task has got
 * them all and returned (the sum of the i fields, or of the byte counts,
 * checked). Best of --runs runs. Public API only.
 *
 * usage: bench_queue [--items N] [--runs R] [--bytes CAPACITY] [--only small|4k]
 * Output: "<metric> <integer>" lines, "#" lines for information.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"

#define WAIT_MS 600000

static void die(const char *what, pp_status st)
{
    fprintf(stderr, "bench_queue: %s: %s (%s)\n", what, pp_err_name(st), pp_strerror(st));
    exit(1);
}

/* (queue, back, n, kind): say ready on back, get n items, return the sum
 * of their first ints (kind 0) or byte counts (kind 1). */
static int consumer(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_queue *q = NULL, *back = NULL;
    pp_values *v = NULL;
    int64_t n = 0, kind = 0, i, sum = 0, x;
    const void *p;
    size_t len;
    pp_status st = pp_values_get_queue(a, 0, &q);

    if (st == PP_OK)
        st = pp_values_get_queue(a, 1, &back);
    if (st == PP_OK)
        st = pp_values_get_int(a, 2, &n);
    if (st == PP_OK)
        st = pp_values_get_int(a, 3, &kind);
    if (st == PP_OK)
        st = pp_queue_put(back, NULL, WAIT_MS);
    for (i = 0; i < n && st == PP_OK; i++) {
        st = pp_queue_get(q, &v, WAIT_MS);
        if (st != PP_OK)
            break;
        if (kind == 0 && pp_values_get_int(v, 0, &x) == PP_OK)
            sum += x;
        else if (kind == 1 && pp_values_get_bytes(v, 0, &p, &len) == PP_OK)
            sum += (int64_t)len;
        else
            st = PP_ETYPE;
        pp_values_destroy(v);
    }
    if (st != PP_OK)
        return pp_task_fail(t, st, "consumer: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), sum);
}
PP_TASK_REGISTER(consumer)

/* One run: seconds to move n items of kind through the queue. */
static double run(pp_pool *p, pp_queue *q, pp_queue *back, int64_t n, int kind)
{
    static char block[4096];
    pp_values *args = NULL, *item = NULL, *got = NULL;
    const pp_values *res = NULL;
    pp_result *r = NULL;
    int64_t t0, i, sum = 0, want = 0;
    pp_status st;

    st = pp_values_create(&args);
    if (st == PP_OK)
        st = pp_values_add_queue(args, q);
    if (st == PP_OK)
        st = pp_values_add_queue(args, back);
    if (st == PP_OK)
        st = pp_values_add_int(args, n);
    if (st == PP_OK)
        st = pp_values_add_int(args, kind);
    if (st != PP_OK)
        die("building the arguments", st);
    st = pp_apply_async(p, consumer, args, NULL, &r);
    if (st != PP_OK)
        die("pp_apply_async", st);
    st = pp_queue_get(back, &got, WAIT_MS);
    if (st != PP_OK)
        die("waiting for the consumer", st);
    pp_values_destroy(got);
    t0 = pp_monotonic_ns();
    /* As the Python twin: a new small tuple per item; the one 4 KiB
     * block is built once and put n times. */
    if (kind == 1 && (st = pp_values_of(&item, pp_value_bytes(block, sizeof block))) != PP_OK)
        die("pp_values_of", st);
    for (i = 0; i < n; i++) {
        if (kind == 0 && (st = pp_values_of(&item, i, 2.5, "abc")) != PP_OK)
            die("pp_values_of", st);
        st = pp_queue_put(q, item, WAIT_MS);
        if (st != PP_OK)
            die("pp_queue_put", st);
        if (kind == 0) {
            pp_values_destroy(item);
            item = NULL;
        }
        want += kind == 0 ? i : (int64_t)sizeof block;
    }
    pp_values_destroy(item);
    st = pp_result_get(r, WAIT_MS, &res);
    if (st != PP_OK)
        die("the consumer", st);
    if (pp_values_get_int(res, 0, &sum) != PP_OK || sum != want) {
        fprintf(stderr, "bench_queue: wrong checksum %lld, expected %lld\n", (long long)sum,
                (long long)want);
        exit(1);
    }
    pp_result_release(r);
    pp_values_destroy(args);
    return (double)(pp_monotonic_ns() - t0) / 1e9;
}

static void bench(const char *metric, pp_pool *p, pp_queue *q, pp_queue *back, int64_t n, int kind,
                  int runs)
{
    double best = 1e30, s;
    int i;

    for (i = 0; i < runs; i++) {
        s = run(p, q, back, n, kind);
        if (s < best)
            best = s;
    }
    printf("%s %lld\n", metric, (long long)((double)n / best));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    pp_status st = pp_init(&argc, &argv);
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_queue *q = NULL, *back = NULL;
    int64_t items = 200000;
    size_t bytes = 4u << 20;
    int runs = 3, i, small = 1, big = 1;

    if (st != PP_OK)
        die("pp_init", st);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
            items = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
            bytes = (size_t)atoll(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "small") == 0 || strcmp(argv[i + 1], "4k") == 0)) {
            small = strcmp(argv[++i], "small") == 0;
            big = !small;
        } else {
            fprintf(stderr, "usage: bench_queue [--items N] [--runs R] [--bytes CAPACITY] "
                            "[--only small|4k]\n");
            return 2;
        }
    }
    if (items < 10 || runs < 1) {
        fprintf(stderr, "bench_queue: --items must be >= 10, --runs >= 1\n");
        return 2;
    }
    st = pp_queue_create(NULL, 0, bytes, &q);
    if (st == PP_OK)
        st = pp_queue_create(NULL, 0, 0, &back);
    if (st != PP_OK)
        die("pp_queue_create", st);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    st = pp_pool_create(&p, &o);
    if (st != PP_OK)
        die("pp_pool_create", st);
    printf("# procpool queue benchmark: one producer, one consumer process, ring %llu bytes\n",
           (unsigned long long)pp_queue_capacity(q));
    if (small)
        bench("queue_small_items_per_s", p, q, back, items, 0, runs);
    if (big)
        bench("queue_4k_items_per_s", p, q, back, items / 10, 1, runs);
    pp_pool_close(p);
    pp_pool_join(p, WAIT_MS);
    pp_pool_destroy(p);
    pp_queue_destroy(back);
    pp_queue_destroy(q);
    return 0;
}
