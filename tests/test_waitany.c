/*
 * test_waitany.c — waiting on many results at once: pp_result_wait_any(),
 * pp_result_wait_all(), pp_completion_* (result.h).
 *
 * Tasks that must not finish yet block on a named lock the test holds
 * (passed as an argument), so "not ready" is a fact, not a timing guess:
 * the test releases the lock when it wants them to finish.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* Args: a lock. Waits for it (the test holds it), releases it, returns 1. */
static int wa_gate(pp_task *t)
{
    pp_lock *l = NULL;
    pp_status st = pp_values_get_lock(pp_task_args(t), 0, &l);

    if (st != PP_OK)
        return pp_task_fail(t, st, "no lock argument");
    st = pp_lock_acquire(l, 60000);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
    (void)pp_lock_release(l);
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(wa_gate)

static int wa_quick(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), 2);
}
PP_TASK_REGISTER(wa_quick)

static int wa_die(pp_task *t)
{
    (void)t;
    pp__plat_exit(7);
    return 0;
}
PP_TASK_REGISTER(wa_die)

static pp_pool *make_pool(int n)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

/* An apply of fn, with the lock as its argument when lock is not NULL. */
static pp_result *submit(pp_pool *p, pp_task_fn fn, pp_lock *lock)
{
    pp_values *args = NULL;
    pp_result *r = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
    if (lock != NULL)
        PP_ASSERT_STATUS_FATAL(pp_values_add_lock(args, lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, fn, args, NULL, &r), PP_OK);
    pp_values_destroy(args);
    return r;
}

static pp_lock *held_lock(void)
{
    pp_lock *l = NULL;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 0), PP_OK);
    return l;
}

static int64_t result_int(pp_result *r)
{
    const pp_values *v = NULL;
    int64_t x = -1;

    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, &v), PP_OK);
    if (v != NULL)
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
    return x;
}

static void t_wait_any_returns_the_ready_one(void)
{
    pp_pool *p = make_pool(2);
    pp_lock *gate = held_lock();
    pp_result *rs[2];
    size_t idx = 99;

    rs[0] = submit(p, wa_gate, gate);
    rs[1] = submit(p, wa_quick, NULL);
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 2, WAIT_MS, &idx), PP_OK);
    CU_ASSERT_EQUAL(idx, 1);
    CU_ASSERT(!pp_result_ready(rs[0])); /* it waits for our lock */
    CU_ASSERT_EQUAL(result_int(rs[1]), 2);
    /* 0 ms: just look; the gated one still is not ready. */
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 1, 0, &idx), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 1, WAIT_MS, &idx), PP_OK);
    CU_ASSERT_EQUAL(idx, 0);
    CU_ASSERT_EQUAL(result_int(rs[0]), 1);
    /* Index NULL is allowed; duplicates too. */
    pp_result_release(rs[1]);
    rs[1] = rs[0];
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 2, 0, NULL), PP_OK);
    pp_result_release(rs[0]);
    pp_test_pool_finish(p);
    pp_lock_destroy(gate);
}

typedef struct busy {
    pp_pool *p;
    volatile int stop;
    int errors;
} busy;

/* Quick tasks one after another until told to stop: results keep
 * arriving, and every arrival wakes the pool's waiters. */
static void busy_thread(void *arg)
{
    busy *b = arg;

    while (!b->stop) {
        pp_result *r = NULL;

        if (pp_apply_async(b->p, wa_quick, NULL, NULL, &r) != PP_OK ||
            pp_result_wait(r, 60000) != PP_OK)
            b->errors++;
        pp_result_release(r);
    }
}

/* Every wait on a result that times out lasts its whole timeout (they
 * ended up to a millisecond early when woken near the end by another
 * result's arrival: deadlines were counted from a truncated clock). */
static void t_waits_last_their_timeout(void)
{
    pp_pool *p = make_pool(2);
    pp_lock *gate = held_lock();
    pp_result *r = submit(p, wa_gate, gate);
    pp_completion *c = NULL;
    pp_test_thread *th;
    busy b;
    size_t idx = 0;

    memset(&b, 0, sizeof b);
    b.p = p;
    th = pp_test_thread_start(busy_thread, &b);

    PP_ASSERT_WAITS_FULL(pp_result_get(r, 2, NULL), 2);
    PP_ASSERT_WAITS_FULL(pp_result_wait(r, 3), 3);
    PP_ASSERT_WAITS_FULL(pp_result_wait_any(&r, 1, 2, &idx), 2);
    PP_ASSERT_WAITS_FULL(pp_result_wait_all(&r, 1, 2), 2);
    PP_ASSERT_STATUS_FATAL(pp_completion_create(&r, 1, &c), PP_OK);
    PP_ASSERT_WAITS_FULL(pp_completion_next(c, 2, &idx), 2);
    b.stop = 1;
    pp_test_thread_join(th);
    CU_ASSERT_EQUAL(b.errors, 0);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_WAITS_FULL(pp_pool_join(p, 2), 2);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_completion_next(c, WAIT_MS, &idx), PP_OK);
    pp_completion_release(c);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_lock_destroy(gate);
}

static void t_wait_all_and_timeout(void)
{
    pp_pool *p = make_pool(2);
    pp_lock *gate = held_lock();
    pp_result *rs[3];
    int64_t t0;
    int i;

    rs[0] = submit(p, wa_quick, NULL);
    rs[1] = submit(p, wa_gate, gate);
    rs[2] = submit(p, wa_quick, NULL);
    PP_ASSERT_STATUS(pp_result_wait(rs[0], WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(rs[2], WAIT_MS), PP_OK);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_result_wait_all(rs, 3, 200), PP_ETIMEDOUT);
    CU_ASSERT(pp_test_now_ms() - t0 >= 200 - pp_test_clock_slack_ms()); /* it did wait */
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait_all(rs, 3, WAIT_MS), PP_OK);
    for (i = 0; i < 3; i++) {
        CU_ASSERT(pp_result_ready(rs[i]));
        CU_ASSERT_EQUAL(result_int(rs[i]), i == 1 ? 1 : 2);
        pp_result_release(rs[i]);
    }
    pp_test_pool_finish(p);
    pp_lock_destroy(gate);
}

/* Results of two pools in one set; a failed result (its worker died) is
 * ready too, and its failure is still the caller's to read. */
static void t_across_pools_and_failures(void)
{
    pp_pool *a = make_pool(1), *b = make_pool(1);
    pp_lock *gate = held_lock();
    pp_result *rs[2];
    size_t idx = 99;

    rs[0] = submit(a, wa_gate, gate);
    rs[1] = submit(b, wa_die, NULL);
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 2, WAIT_MS, &idx), PP_OK);
    CU_ASSERT_EQUAL(idx, 1);
    PP_ASSERT_STATUS(pp_result_get(rs[1], 0, NULL), PP_EWORKERDIED);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait_all(rs, 2, WAIT_MS), PP_OK);
    CU_ASSERT_EQUAL(result_int(rs[0]), 1);
    pp_result_release(rs[0]);
    pp_result_release(rs[1]);
    pp_test_pool_finish(a);
    pp_test_pool_finish(b);
    pp_lock_destroy(gate);
}

static void t_completion_order(void)
{
    pp_pool *p = make_pool(2);
    pp_lock *gate = held_lock();
    pp_completion *c = NULL;
    pp_result *rs[4];
    int seen[4] = {0, 0, 0, 0};
    size_t idx = 99;
    int i;

    rs[0] = submit(p, wa_gate, gate);
    rs[1] = submit(p, wa_quick, NULL);
    rs[2] = submit(p, wa_quick, NULL);
    rs[3] = submit(p, wa_quick, NULL);
    PP_ASSERT_STATUS_FATAL(pp_completion_create(rs, 4, &c), PP_OK);
    CU_ASSERT_EQUAL(pp_completion_left(c), 4);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS(pp_completion_next(c, WAIT_MS, &idx), PP_OK);
        CU_ASSERT(idx >= 1 && idx <= 3);
        if (idx < 4)
            seen[idx]++;
    }
    CU_ASSERT(seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
    /* The gated one is the only one left, and it is not ready. */
    CU_ASSERT_EQUAL(pp_completion_left(c), 1);
    PP_ASSERT_STATUS(pp_completion_next(c, 100, &idx), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_completion_next(c, WAIT_MS, &idx), PP_OK);
    CU_ASSERT_EQUAL(idx, 0);
    PP_ASSERT_STATUS(pp_completion_next(c, WAIT_MS, &idx), PP_EOF);
    CU_ASSERT_EQUAL(pp_completion_left(c), 0);
    pp_completion_release(c);
    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(result_int(rs[i]), i == 0 ? 1 : 2);
        pp_result_release(rs[i]);
    }
    pp_test_pool_finish(p);
    pp_lock_destroy(gate);
}

/* On the result thread, waiting for a result whose callback must run on
 * that same thread could never end: PP_EDEADLK, not a hang. */
static pp_result *g_other;
static pp_status g_from_callback = PP_OK;

static void cb_waits(pp_result *r, void *ud)
{
    (void)r;
    (void)ud;
    g_from_callback = pp_result_wait_any(&g_other, 1, 1000, NULL);
}

static void cb_nothing(pp_result *r, void *ud)
{
    (void)r;
    (void)ud;
}

static void t_deadlock_refused_on_result_thread(void)
{
    pp_pool *p = make_pool(2);
    pp_lock *gate = held_lock();
    pp_submit_options so;
    pp_values *args = NULL;
    pp_result *first = NULL;

    memset(&so, 0, sizeof so);
    so.callback = cb_nothing;
    PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(args, gate), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, wa_gate, args, &so, &g_other), PP_OK);
    pp_values_destroy(args);
    so.callback = cb_waits;
    PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, wa_quick, args, &so, &first), PP_OK);
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_result_wait(first, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(g_from_callback, PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_release(gate), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(g_other, WAIT_MS), PP_OK);
    pp_result_release(first);
    pp_result_release(g_other);
    pp_test_pool_finish(p);
    pp_lock_destroy(gate);
}

static void t_bad_arguments(void)
{
    pp_pool *p = make_pool(1);
    pp_result *rs[2] = {NULL, NULL};
    pp_completion *c = (pp_completion *)&c;

    rs[0] = submit(p, wa_quick, NULL);
    PP_ASSERT_STATUS(pp_result_wait_any(NULL, 1, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 0, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 2, 0, NULL), PP_EINVAL); /* rs[1] NULL */
    PP_ASSERT_STATUS(pp_result_wait_any(rs, 1, -2, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_wait_all(NULL, 1, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_result_wait_all(rs, 2, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_completion_create(rs, 2, &c), PP_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    PP_ASSERT_STATUS(pp_completion_create(rs, 0, &c), PP_EINVAL);
    PP_ASSERT_STATUS(pp_completion_create(NULL, 1, &c), PP_EINVAL);
    PP_ASSERT_STATUS(pp_completion_create(rs, 1, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_completion_next(NULL, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_completion_create(rs, 1, &c), PP_OK);
    PP_ASSERT_STATUS(pp_completion_next(c, -5, NULL), PP_EINVAL);
    CU_ASSERT_EQUAL(pp_completion_left(NULL), 0);
    pp_completion_release(c);
    pp_completion_release(NULL);
    PP_ASSERT_STATUS(pp_result_wait_all(rs, 1, WAIT_MS), PP_OK);
    pp_result_release(rs[0]);
    pp_test_pool_finish(p);
}

/* Many threads wait on overlapping sets while results complete: every
 * waiter wakes (no lost wake-up), none hangs. */
typedef struct waiter_arg {
    pp_result **rs;
    size_t n;
    pp_status st;
} waiter_arg;

static void waiter(void *arg)
{
    waiter_arg *w = arg;

    w->st = pp_result_wait_all(w->rs, w->n, WAIT_MS);
}

static void t_many_waiters(void)
{
    enum { N = 64, THREADS = 8 };
    pp_pool *p = make_pool(2);
    pp_result *rs[N];
    pp__plat_thread *th[THREADS];
    waiter_arg wa[THREADS];
    int i;

    for (i = 0; i < N; i++)
        rs[i] = submit(p, wa_quick, NULL);
    for (i = 0; i < THREADS; i++) {
        wa[i].rs = rs + i * (N / THREADS / 2);
        wa[i].n = N / 2;
        wa[i].st = PP_ESYS;
        PP_ASSERT_STATUS_FATAL(pp__plat_thread_create(&th[i], waiter, &wa[i]), PP_OK);
    }
    for (i = 0; i < THREADS; i++) {
        pp__plat_thread_join(th[i]);
        PP_ASSERT_STATUS(wa[i].st, PP_OK);
    }
    for (i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(result_int(rs[i]), 2);
        pp_result_release(rs[i]);
    }
    pp_test_pool_finish(p);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_wait_any_returns_the_ready_one),
    PP_TEST(t_wait_all_and_timeout),
    PP_TEST(t_waits_last_their_timeout),
    PP_TEST(t_across_pools_and_failures),
    PP_TEST(t_completion_order),
    PP_TEST(t_deadlock_refused_on_result_thread),
    PP_TEST(t_bad_arguments),
    PP_TEST(t_many_waiters),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(waitany)
{
    pp_test_add_suite("waitany", cases);
}
