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

/* x -> 3x + 1 (one int); x < 0 exits the worker. */
static int rs_lin(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    if (x < 0)
        pp__plat_exit(9);
    return pp_values_add_int(pp_task_result(t), 3 * x + 1);
}
PP_TASK_REGISTER(rs_lin)

/* As rs_lin, but x % 5000 == 7 fails (code 44) and x % 5000 == 2600
 * returns the string "c<x>": the chunks of those items are answered in
 * the general form, the others as scalar columns. */
static int rs_col(pp_task *t)
{
    char s[32];
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    if (x < 0)
        pp__plat_exit(9);
    if (x % 5000 == 7)
        return pp_task_fail(t, 44, "item %lld fails", (long long)x);
    if (x % 5000 == 2600) {
        snprintf(s, sizeof s, "c%lld", (long long)x);
        return pp_values_add_str(pp_task_result(t), s);
    }
    return pp_values_add_int(pp_task_result(t), 3 * x + 1);
}
PP_TASK_REGISTER(rs_col)

/* rs_col over a record: an int64 (8 bytes, host order). */
static int rs_rec(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;
    int64_t x;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK || n != sizeof x)
        return pp_task_fail(t, 2, "one int64 record");
    memcpy(&x, p, sizeof x);
    if (x % 5000 == 7)
        return pp_task_fail(t, 44, "record %lld fails", (long long)x);
    if (x % 5000 == 2600)
        return pp_values_add_str(pp_task_result(t), "not a number");
    return pp_values_add_int(pp_task_result(t), 3 * x + 1);
}
PP_TASK_REGISTER(rs_rec)

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

/* ------------------------------------------------ results kept as a column */

/* Large maps whose int / double results come back in scalar columns (kept
 * side by side, read in one copy when every item is one) read in bulk over
 * ranges and one by one, mixed with every other kind of outcome. */
enum { CN = 100000 };

/* Items first..first+n-1 of an all-int map of rs_lin over from + i. */
static int check_lin_range(pp_result *r, int64_t from, size_t first, size_t n, int64_t *out,
                           pp_status *status)
{
    size_t k;
    int bad = 0;

    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, first, n, out, status), PP_OK);
    for (k = 0; k < n; k++)
        bad += out[k] != 3 * (from + (int64_t)(first + k)) + 1 || status[k] != PP_OK;
    return bad;
}

static void t_column_ints_ranges(void)
{
    static const size_t ranges[][2] = {{0, CN},      {0, 0},     {CN, 0},      {CN - 1, 1},
                                       {0, 1},       {12345, 1}, {12345, 777}, {50000, 50000},
                                       {99000, 999}, {7, 65536}};
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *items = range_from(0, CN);
    int64_t *out = malloc(CN * sizeof *out);
    double *d = malloc(CN * sizeof *d);
    pp_status *status = malloc(CN * sizeof *status);
    const pp_values **vals = malloc(CN * sizeof *vals);
    const pp_values *v = NULL;
    pp_result *r = NULL;
    size_t k, i;
    int bad = 0;
    int64_t x;
    double y;

    CU_ASSERT_FATAL(out != NULL && d != NULL && status != NULL && vals != NULL);
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_lin, items, NULL, &r), PP_OK);
    for (k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
        int b = check_lin_range(r, 0, ranges[k][0], ranges[k][1], out, status);
        PP_ASSERT_MSG(b == 0, "range %lu+%lu: %d wrong", (unsigned long)ranges[k][0],
                      (unsigned long)ranges[k][1], b);
    }
    /* one by one, as tuples, then in bulk again: the same values */
    for (i = 0; i < CN; i += i % 2 ? 97 : 1) {
        x = -1;
        bad += pp_result_item(r, i, &v, NULL) != PP_OK || pp_values_get_int(v, 0, &x) != PP_OK ||
               x != 3 * (int64_t)i + 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    PP_ASSERT_STATUS(pp_result_values(r, 0, 1000, 2000, vals, status), PP_OK);
    for (k = 0, bad = 0; k < 2000; k++) {
        x = -1;
        bad += vals[k] == NULL || pp_values_count(vals[k]) != 1 ||
               pp_values_get_int(vals[k], 0, &x) != PP_OK || x != 3 * (int64_t)(1000 + k) + 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(check_lin_range(r, 0, 0, CN, out, status), 0);
    /* an output not at a page boundary (a large one is mapped before it is
     * filled): nothing written outside it */
    out[0] = out[CN - 3] = -5;
    status[0] = status[CN - 3] = PP_ETIMEDOUT;
    CU_ASSERT_EQUAL(check_lin_range(r, 0, 3, CN - 4, out + 1, status + 1), 0);
    CU_ASSERT(out[0] == -5 && out[CN - 3] == -5);
    CU_ASSERT(status[0] == PP_ETIMEDOUT && status[CN - 3] == PP_ETIMEDOUT);
    /* no silent conversion: int results are not doubles */
    PP_ASSERT_STATUS(pp_result_doubles(r, 0, 10, 100, d, status), PP_ETYPE);
    for (k = 0, bad = 0; k < 100; k++)
        bad += status[k] != PP_ETYPE || d[k] != 0.0;
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);

    /* doubles: x / 2 */
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_half, items, NULL, &r), PP_OK);
    for (k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
        size_t first = ranges[k][0], n = ranges[k][1];
        PP_ASSERT_STATUS(pp_result_doubles(r, WAIT_MS, first, n, d, status), PP_OK);
        for (i = 0, bad = 0; i < n; i++)
            bad += d[i] != (double)(first + i) / 2.0 || status[i] != PP_OK;
        PP_ASSERT_MSG(bad == 0, "doubles %lu+%lu: %d wrong", (unsigned long)first, (unsigned long)n,
                      bad);
    }
    for (i = 0, bad = 0; i < CN; i += 89) {
        y = -1;
        bad += pp_result_item(r, i, &v, NULL) != PP_OK || pp_values_get_double(v, 0, &y) != PP_OK ||
               y != (double)i / 2.0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, CN, out, status), PP_ETYPE);
    for (i = 0, bad = 0; i < CN; i++)
        bad += status[i] != PP_ETYPE || out[i] != 0;
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    pp_values_destroy(items);
    free(out);
    free(d);
    free(status);
    free(vals);
    pp_test_pool_finish(p);
}

/* Chunks of 500 items: rs_col's failures and strings put a few of them
 * in the general form, the others come as columns (a job with both). */
static pp_submit_options chunks_of_500(void)
{
    pp_submit_options o;

    memset(&o, 0, sizeof o);
    o.chunksize = 500;
    return o;
}

/* What rs_col gives item i of range_from(from, ...): the status, and *x. */
static pp_status col_want(int64_t from, size_t i, int64_t *x)
{
    int64_t a = from + (int64_t)i;

    *x = 0;
    if (a % 5000 == 7)
        return PP_ETASK;
    if (a % 5000 == 2600)
        return PP_ETYPE;
    *x = 3 * a + 1;
    return PP_OK;
}

/* A map of rs_col (columns that end at failures and strings) with a
 * worker killed in the middle (item DIE): each slot has exactly its own
 * outcome, never a value that is not its own, over any range and one by
 * one. */
static void t_column_failures_and_death(void)
{
    enum { DIE = 50001 };
    pp_submit_options o = chunks_of_500();
    static const size_t ranges[][2] = {{0, CN},         {2590, 20},    {5000, 10},
                                       {490, 1020},     {5010, 4000},  {DIE - 300, 600},
                                       {CN - 600, 600}, {52000, 48000}};
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *items = NULL;
    int64_t *out = malloc(CN * sizeof *out);
    pp_status *status = malloc(CN * sizeof *status), *all = malloc(CN * sizeof *all);
    const pp_values *v = NULL;
    const pp_error *e = NULL;
    pp_result *r = NULL;
    size_t i, k;
    int dead = 0, bad = 0;
    int64_t x;

    CU_ASSERT_FATAL(out != NULL && status != NULL && all != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < CN; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i == DIE ? -1 : (int64_t)i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_col, items, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, CN, out, all), PP_ETASK); /* item 7 */
    for (i = 0; i < CN; i++) {
        pp_status want = col_want(0, i, &x);
        if (i == DIE)
            want = PP_EWORKERDIED;
        /* the dead worker's other unfinished items fail with it */
        if (i != DIE && want == PP_OK && all[i] == PP_EWORKERDIED)
            want = PP_EWORKERDIED, x = 0;
        dead += all[i] == PP_EWORKERDIED;
        if (all[i] != want || out[i] != (want == PP_OK ? x : 0)) {
            if (bad++ < 5)
                PP_ASSERT_MSG(0, "item %lu: %s %lld", (unsigned long)i, pp_err_name(all[i]),
                              (long long)out[i]);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(dead >= 1 && all[DIE] == PP_EWORKERDIED);
    /* ranges: the same slots; the first problem in index order returned */
    for (k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
        size_t first = ranges[k][0], n = ranges[k][1];
        pp_status ret = PP_OK, got;
        memset(out, 0xab, n * sizeof *out);
        got = pp_result_ints(r, 0, first, n, out, status);
        for (i = 0, bad = 0; i < n; i++) {
            pp_status want = all[first + i];
            (void)col_want(0, first + i, &x);
            if (ret == PP_OK)
                ret = want;
            bad += status[i] != want || out[i] != (want == PP_OK ? x : 0);
        }
        PP_ASSERT_MSG(bad == 0 && got == ret, "range %lu+%lu: %d wrong, %s for %s",
                      (unsigned long)first, (unsigned long)n, bad, pp_err_name(got),
                      pp_err_name(ret));
    }
    /* one by one: the same outcome as in bulk, the error's code kept */
    for (i = 0, bad = 0; i < CN; i += i % 3 ? 1 : 41) {
        pp_status st = pp_result_item(r, i, &v, &e);
        int64_t y = -1;
        (void)col_want(0, i, &x);
        if (all[i] == PP_ETYPE)
            bad += st != PP_OK || pp_values_count(v) != 1 || pp_values_type(v, 0) != PP_TYPE_STR;
        else if (all[i] == PP_OK)
            bad += st != PP_OK || pp_values_get_int(v, 0, &y) != PP_OK || y != x;
        else
            bad += st != all[i] || e == NULL || (st == PP_ETASK && e->code != 44);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    pp_values_destroy(items);
    free(out);
    free(status);
    free(all);
    pp_test_pool_finish(p);
}

/* pp_map_array with 8-byte int results: every record a column value (one
 * copy), then with failures and a string among them. */
static void t_column_array(void)
{
    pp_submit_options o = chunks_of_500();
    int64_t *in = malloc(CN * sizeof *in), *out = malloc(CN * sizeof *out), x;
    pp_status *status = malloc(CN * sizeof *status);
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    size_t i;
    int bad = 0;

    CU_ASSERT_FATAL(in != NULL && out != NULL && status != NULL);
    for (i = 0; i < CN; i++)
        in[i] = 5000 * (int64_t)i + 1; /* never % 5000 == 7 or 2600 */
    PP_ASSERT_STATUS(pp_map_array(p, rs_rec, in, 8, CN, out, 8, status, NULL), PP_OK);
    for (i = 0; i < CN; i++)
        bad += status[i] != PP_OK || out[i] != 3 * in[i] + 1;
    CU_ASSERT_EQUAL(bad, 0);
    for (i = 0; i < CN; i++)
        in[i] = (int64_t)i;
    PP_ASSERT_STATUS(pp_map_array(p, rs_rec, in, 8, CN, out, 8, status, &o), PP_ETASK);
    for (i = 0, bad = 0; i < CN; i++) {
        pp_status want = col_want(0, i, &x);
        bad += status[i] != want || out[i] != x;
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_test_pool_finish(p);
    free(in);
    free(out);
    free(status);
}

/* A map's column block may be one a released map used (not zeroed): a
 * later map never shows that map's values where its own items failed or
 * are not ints, in bulk or one by one. */
static void t_column_reuse_never_stale(void)
{
    pp_submit_options o = chunks_of_500();
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *a = range_from(0, CN), *b = range_from(1000000, CN);
    int64_t *out = malloc(CN * sizeof *out), x, y;
    pp_status *status = malloc(CN * sizeof *status);
    const pp_values *v = NULL;
    pp_result *r = NULL;
    size_t i;
    int round, bad = 0;

    CU_ASSERT_FATAL(out != NULL && status != NULL);
    for (round = 0; round < 2; round++) {
        PP_ASSERT_STATUS_FATAL(pp_map(p, rs_lin, a, NULL, &r), PP_OK);
        CU_ASSERT_EQUAL(check_lin_range(r, 0, 0, CN, out, status), 0);
        pp_result_release(r); /* its blocks go to the cache */
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, rs_col, b, &o, &r), PP_OK);
        memset(out, 0xab, CN * sizeof *out);
        PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, CN, out, status), PP_ETASK);
        for (i = 0; i < CN; i++) {
            pp_status want = col_want(1000000, i, &x);
            y = -1;
            if (pp_result_item(r, i, &v, NULL) == PP_OK && want == PP_OK)
                (void)pp_values_get_int(v, 0, &y);
            else if (want != PP_OK)
                y = 0;
            bad += status[i] != want || out[i] != x || y != x;
        }
        PP_ASSERT_MSG(bad == 0, "round %d: %d wrong", round, bad);
        pp_result_release(r);
    }
    pp_values_destroy(a);
    pp_values_destroy(b);
    free(out);
    free(status);
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
    PP_TEST(t_column_ints_ranges),
    PP_TEST(t_column_failures_and_death),
    PP_TEST(t_column_array),
    PP_TEST(t_column_reuse_never_stale),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(results)
{
    pp_test_add_suite("results", cases);
}
