/*
 * test_results.c — reading many results at once: pp_result_ints,
 * pp_result_doubles, pp_result_values (result.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* x -> x * x; x % 7 == 3 fails (code 33); x % 11 == 5 returns the string
 * "s<x>"; x % 13 == 6 returns two ints; x < 0 exits the worker. */
static int rs_task(pp_task *t)
{
    char s[32];
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    if (x < 0)
        pp__plat_exit(9);
    if (x % 7 == 3)
        return pp_task_fail(t, 33, "item %lld fails", (long long)x);
    if (x % 11 == 5) {
        snprintf(s, sizeof s, "s%lld", (long long)x);
        return pp_values_add_str(pp_task_result(t), s);
    }
    if (x % 13 == 6) {
        pp_status st = pp_values_add_int(pp_task_result(t), x);
        return st != PP_OK ? st : pp_values_add_int(pp_task_result(t), x);
    }
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(rs_task)

static int rs_half(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    return pp_values_add_double(pp_task_result(t), (double)x / 2.0);
}
PP_TASK_REGISTER(rs_half)

/* Waits for the lock given as its argument. */
static int rs_gate(pp_task *t)
{
    pp_lock *l = NULL;
    pp_status st = pp_values_get_lock(pp_task_args(t), 0, &l);

    if (st != PP_OK)
        return pp_task_fail(t, st, "no lock");
    st = pp_lock_acquire(l, 60000);
    if (st == PP_OK || st == PP_EOWNERDEAD)
        (void)pp_lock_release(l);
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(rs_gate)

/* Sleeps the ms given as its argument, then returns 1. */
static int rs_nap(pp_task *t)
{
    int64_t ms = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &ms) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    pp__plat_sleep_ms(ms);
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(rs_nap)

static pp_values *range_from(int64_t from, int n)
{
    pp_values *v = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(v, from + i), PP_OK);
    return v;
}

/* Every kind of outcome in one map: squares, failures, strings, pairs;
 * each slot says which, and the ints are right. Also a sub-range. */
static void do_ints_mixed(int method)
{
    enum { N = 5000 };
    pp_pool *p = pp_test_pool_make(method, 2);
    pp_values *items = range_from(0, N);
    int64_t *out = malloc(N * sizeof *out);
    pp_status *status = malloc(N * sizeof *status);
    const pp_error *e = NULL;
    pp_result *r = NULL;
    int i, bad = 0;

    CU_ASSERT_FATAL(out != NULL && status != NULL);
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_task, items, NULL, &r), PP_OK);
    /* item 3 is the first problem: a task failure */
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, N, out, status), PP_ETASK);
    for (i = 0; i < N; i++) {
        pp_status want = i % 7 == 3 ? PP_ETASK : (i % 11 == 5 || i % 13 == 6) ? PP_ETYPE : PP_OK;
        if (status[i] != want || (want == PP_OK && out[i] != (int64_t)i * i) ||
            (want != PP_OK && out[i] != 0))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* The failures were seen: pp_result_error() agrees on the first one. */
    e = pp_result_error(r);
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT_EQUAL(e->code, 33);
    /* A range of only good items: PP_OK, status optional. */
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, 3, out, NULL), PP_OK);
    CU_ASSERT(out[0] == 0 && out[1] == 1 && out[2] == 4);
    /* A string item in range, no status array: PP_ETYPE is the answer. */
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 4, 2, out, NULL), PP_ETYPE); /* 4: ok, 5: "s5" */
    CU_ASSERT_EQUAL(out[0], 16);
    pp_result_release(r);
    pp_values_destroy(items);
    free(out);
    free(status);
    pp_test_pool_finish(p);
}

PP_TEST_PER_METHOD(ints_mixed)

static void t_doubles_and_values(void)
{
    enum { N = 1000 };
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *items = range_from(0, N);
    double *d = malloc(N * sizeof *d);
    const pp_values **vals = malloc(N * sizeof *vals);
    pp_status *status = malloc(N * sizeof *status);
    pp_result *r = NULL, *q = NULL;
    int i, bad = 0;

    CU_ASSERT_FATAL(d != NULL && vals != NULL && status != NULL);
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_half, items, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_doubles(r, WAIT_MS, 0, N, d, status), PP_OK);
    for (i = 0; i < N; i++)
        bad += status[i] != PP_OK || d[i] != (double)i / 2.0;
    CU_ASSERT_EQUAL(bad, 0);
    /* No silent conversion: double results are not ints. */
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, 1, (int64_t *)(void *)d, NULL), PP_ETYPE);
    PP_ASSERT_STATUS(pp_result_values(r, 0, 0, N, vals, status), PP_OK);
    for (i = 0, bad = 0; i < N; i++) {
        double x = -1;
        bad += vals[i] == NULL || pp_values_get_double(vals[i], 0, &x) != PP_OK ||
               x != (double)i / 2.0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Tuples of any form: strings, pairs, failures (NULL and the status). */
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_task, items, NULL, &q), PP_OK);
    PP_ASSERT_STATUS(pp_result_values(q, WAIT_MS, 0, 20, vals, status), PP_ETASK);
    {
        const char *s = NULL;
        int64_t a = 0, b = 0;
        CU_ASSERT(status[3] == PP_ETASK && vals[3] == NULL);
        CU_ASSERT(status[5] == PP_OK && pp_values_get_str(vals[5], 0, &s) == PP_OK &&
                  strcmp(s, "s5") == 0);
        CU_ASSERT(status[6] == PP_OK && pp_values_count(vals[6]) == 2 &&
                  pp_values_get_int(vals[6], 0, &a) == PP_OK &&
                  pp_values_get_int(vals[6], 1, &b) == PP_OK && a == 6 && b == 6);
    }
    pp_result_release(q);
    pp_result_release(r);
    pp_values_destroy(items);
    free(d);
    free(vals);
    free(status);
    pp_test_pool_finish(p);
}

/* A worker that dies fails only its items: their slots say
 * PP_EWORKERDIED, every other item is read. */
static void t_dead_worker_items(void)
{
    enum { N = 200 };
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *items = NULL;
    int64_t *out = malloc(N * sizeof *out);
    pp_status *status = malloc(N * sizeof *status);
    pp_submit_options o;
    pp_result *r = NULL;
    pp_status first_problem = PP_OK, got;
    int i, dead = 0, bad = 0;

    CU_ASSERT_FATAL(out != NULL && status != NULL);
    /* item 100 exits its worker: replace it by -1 */
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < N; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i == 100 ? -1 : 7 * i + 1), PP_OK);
    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_task, items, &o, &r), PP_OK);
    got = pp_result_ints(r, WAIT_MS, 0, N, out, status);
    for (i = 0; i < N; i++) {
        int64_t x = 7 * i + 1; /* never % 7 == 3 */
        pp_status want = i == 100                       ? PP_EWORKERDIED
                         : (x % 11 == 5 || x % 13 == 6) ? PP_ETYPE
                                                        : PP_OK;
        if (want != PP_OK && first_problem == PP_OK)
            first_problem = want;
        dead += status[i] == PP_EWORKERDIED;
        bad += status[i] != want || (want == PP_OK && out[i] != x * x);
    }
    PP_ASSERT_STATUS(got, first_problem); /* the first problem in index order */
    CU_ASSERT_EQUAL(dead, 1);
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    pp_values_destroy(items);
    free(out);
    free(status);
    pp_test_pool_finish(p);
}

static void t_timeout_and_bad_arguments(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 1);
    pp_lock *gate = NULL;
    pp_values *a = NULL;
    pp_result *r = NULL;
    int64_t out[2];
    pp_status status[2];
    int64_t t0;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &gate), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(gate, 0), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(a, gate), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, rs_gate, a, NULL, &r), PP_OK);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_result_ints(r, 200, 0, 1, out, status), PP_ETIMEDOUT);
    CU_ASSERT(pp_test_now_ms() - t0 >= 200 - pp_test_clock_slack_ms());
    PP_ASSERT_STATUS(pp_result_ints(NULL, 0, 0, 1, out, status), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, 1, NULL, status), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_ints(r, -2, 0, 1, out, status), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, 2, out, status), PP_ERANGE);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 2, 0, out, status), PP_ERANGE);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, (size_t)-1, 2, out, status), PP_ERANGE);
    PP_ASSERT_STATUS(pp_result_values(r, 0, 0, 1, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, 1, out, status), PP_OK);
    CU_ASSERT(out[0] == 1 && status[0] == PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 1, 0, out, status),
                     PP_OK); /* an empty range at the end */
    pp_result_release(r);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp_lock_destroy(gate);
}

/* A timeout too large to add to the clock (INT64_MAX, INT64_MAX - 1) is a
 * wait without end, never an overflow into the past: every wait of a
 * result, of a set of results, of an iterator and of the pool's join
 * waits for a task that is still running instead of timing out at once. */
static void t_huge_timeouts_wait(void)
{
    static const int64_t huge[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000};
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *a = NULL;
    size_t k;

    PP_ASSERT_STATUS_FATAL(pp_values_of(&a, 300), PP_OK);
    for (k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        const int64_t to = huge[k];
        pp_completion *c = NULL;
        pp_result *r[7] = {NULL};
        pp_iter *it = NULL;
        int64_t x = 0;
        size_t i, ix = 0;

        for (i = 0; i < 6; i++)
            PP_ASSERT_STATUS_FATAL(pp_apply_async(p, rs_nap, a, NULL, &r[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_imap(p, rs_nap, a, NULL, &it), PP_OK);
        PP_ASSERT_STATUS(pp_result_get(r[0], to, NULL), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait(r[1], to), PP_OK);
        PP_ASSERT_STATUS(pp_result_ints(r[2], to, 0, 1, &x, NULL), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait_any(&r[3], 1, to, &ix), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait_all(&r[4], 1, to), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_completion_create(&r[5], 1, &c), PP_OK);
        PP_ASSERT_STATUS(pp_completion_next(c, to, &ix), PP_OK);
        PP_ASSERT_STATUS(pp_iter_next(it, to, &ix, NULL, NULL), PP_OK);
        pp_completion_release(c);
        pp_iter_release(it);
        for (i = 0; i < 6; i++)
            pp_result_release(r[i]);
    }
    PP_ASSERT_STATUS(pp_apply_async(p, rs_nap, a, NULL, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, INT64_MAX), PP_OK);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(ints_mixed, 120),
    PP_TEST(t_doubles_and_values),
    PP_TEST(t_dead_worker_items),
    PP_TEST(t_timeout_and_bad_arguments),
    PP_TEST(t_huge_timeouts_wait),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(results)
{
    pp_test_add_suite("results", cases);
}
