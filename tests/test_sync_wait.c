/*
 * test_sync_wait.c — the local waiting kinds of sync.h: events, barriers
 * and conditions (semantics and timeouts, threads, pool workers on every
 * start method with the objects passed as task arguments). Semaphores
 * and the travel of sync objects: test_sync.c; deaths: test_sync_death.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* -------------------------------------------------------------- event */

static void t_event_semantics(void)
{
    char name[PP_NAME_MAX + 1];
    pp_event *e = NULL, *o = NULL;
    pp_sem *s = NULL;
    int set = -1;
    int64_t t0, dt;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_event_create(name, &e), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_event_name(e), name);
    PP_ASSERT_STATUS(pp_event_is_set(e, &set), PP_OK);
    CU_ASSERT_EQUAL(set, 0);
    PP_ASSERT_STATUS(pp_event_wait(e, 0), PP_ETIMEDOUT);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_event_wait(e, 150), PP_ETIMEDOUT);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(dt >= 149 - pp_test_clock_slack_ms() && dt < 20000, "waited %lld ms",
                  (long long)dt);
    PP_ASSERT_STATUS_FATAL(pp_event_open(name, &o), PP_OK);
    PP_ASSERT_STATUS(pp_event_set(o), PP_OK);
    PP_ASSERT_STATUS(pp_event_set(o), PP_OK); /* twice: still set */
    PP_ASSERT_STATUS(pp_event_is_set(e, &set), PP_OK);
    CU_ASSERT_EQUAL(set, 1);
    PP_ASSERT_STATUS(pp_event_wait(e, 0), PP_OK);
    PP_ASSERT_STATUS(pp_event_wait(e, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_event_clear(e), PP_OK);
    PP_ASSERT_STATUS(pp_event_is_set(o, &set), PP_OK);
    CU_ASSERT_EQUAL(set, 0);
    PP_ASSERT_STATUS(pp_event_wait(o, 0), PP_ETIMEDOUT);
    /* another kind under the name */
    PP_ASSERT_STATUS(pp_sem_open(name, &s), PP_ETYPE);
    CU_ASSERT_PTR_NULL(s);
    PP_ASSERT_STATUS(pp_event_wait(e, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_event_wait(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_event_set(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_event_clear(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_event_is_set(e, NULL), PP_EINVAL);
    pp_event_destroy(o);
    pp_event_destroy(e);
    PP_ASSERT_STATUS(pp_event_open(name, &o), PP_ENOENT);
}

static void set_clear_later(void *arg)
{
    pp_test_sleep_ms(100);
    PP_ASSERT_STATUS(pp_event_set(arg), PP_OK);
    PP_ASSERT_STATUS(pp_event_clear(arg), PP_OK);
}

/* A set during the wait counts even if a clear follows at once. */
static void t_event_set_then_cleared(void)
{
    pp_event *e = NULL;
    pp_test_thread *th;

    PP_ASSERT_STATUS_FATAL(pp_event_create(NULL, &e), PP_OK);
    th = pp_test_thread_start(set_clear_later, e);
    PP_ASSERT_STATUS(pp_event_wait(e, WAIT_MS), PP_OK);
    pp_test_thread_join(th);
    pp_event_destroy(e);
}

/* ------------------------------------------------------------ barrier */

typedef struct bar_arg {
    pp_barrier *b;
    int64_t timeout;
    int64_t index;
    pp_status st;
} bar_arg;

static void bar_wait_thread(void *arg)
{
    bar_arg *a = arg;

    a->st = pp_barrier_wait(a->b, a->timeout, &a->index);
}

static void t_barrier_semantics(void)
{
    pp_barrier *b = NULL;
    pp_test_thread *th[2];
    bar_arg a[2];
    int64_t idx = -1, waiting = -1;
    int broken = -1, i, seen[3] = {0, 0, 0};

    PP_ASSERT_STATUS_FATAL(pp_barrier_create(NULL, 1, &b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_wait(b, 0, &idx), PP_OK); /* one party: passes */
    CU_ASSERT_EQUAL(idx, 0);
    pp_barrier_destroy(b);

    PP_ASSERT_STATUS_FATAL(pp_barrier_create(NULL, 3, &b), PP_OK);
    CU_ASSERT_EQUAL(pp_barrier_parties(b), 3);
    for (i = 0; i < 2; i++) {
        a[i].b = b;
        a[i].timeout = WAIT_MS;
        a[i].index = -1;
        a[i].st = PP_ESYS;
        th[i] = pp_test_thread_start(bar_wait_thread, &a[i]);
    }
    do {
        pp_test_sleep_ms(5);
        PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    } while (waiting < 2);
    CU_ASSERT_EQUAL(broken, 0);
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, &idx), PP_OK);
    for (i = 0; i < 2; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_STATUS(a[i].st, PP_OK);
        if (a[i].index >= 0 && a[i].index < 3)
            seen[a[i].index]++;
    }
    CU_ASSERT_EQUAL(idx, 2); /* the last arrival */
    seen[2]++;
    CU_ASSERT(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    /* and again: the barrier is reusable */
    for (i = 0; i < 2; i++)
        th[i] = pp_test_thread_start(bar_wait_thread, &a[i]);
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, NULL), PP_OK);
    for (i = 0; i < 2; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_STATUS(a[i].st, PP_OK);
    }
    PP_ASSERT_STATUS(pp_barrier_wait(b, -2, NULL), PP_EINVAL);
    pp_barrier_destroy(b);
    PP_ASSERT_STATUS(pp_barrier_create(NULL, 0, &b), PP_EINVAL);
    PP_ASSERT_STATUS(pp_barrier_create(NULL, PP_BARRIER_MAX + 1, &b), PP_EINVAL);
}

/* A timeout breaks the barrier for everyone until a reset; abort too. */
static void t_barrier_broken(void)
{
    pp_barrier *b = NULL;
    pp_test_thread *th;
    bar_arg a;
    int64_t waiting = -1;
    int broken = -1;

    PP_ASSERT_STATUS_FATAL(pp_barrier_create(NULL, 3, &b), PP_OK);
    a.b = b;
    a.timeout = WAIT_MS;
    a.st = PP_ESYS;
    th = pp_test_thread_start(bar_wait_thread, &a);
    do {
        pp_test_sleep_ms(5);
        PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, NULL), PP_OK);
    } while (waiting < 1);
    PP_ASSERT_STATUS(pp_barrier_wait(b, 100, NULL), PP_ETIMEDOUT);
    pp_test_thread_join(th);
    PP_ASSERT_STATUS(a.st, PP_EBROKEN); /* the other waiter */
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT_EQUAL(broken, 1);
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, NULL), PP_EBROKEN);
    PP_ASSERT_STATUS(pp_barrier_reset(b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT(broken == 0 && waiting == 0);
    /* a reset while one waits: that one gets PP_EBROKEN, later ones work */
    a.st = PP_ESYS;
    th = pp_test_thread_start(bar_wait_thread, &a);
    do {
        pp_test_sleep_ms(5);
        PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, NULL), PP_OK);
    } while (waiting < 1);
    PP_ASSERT_STATUS(pp_barrier_reset(b), PP_OK);
    pp_test_thread_join(th);
    PP_ASSERT_STATUS(a.st, PP_EBROKEN);
    PP_ASSERT_STATUS(pp_barrier_abort(b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, NULL), PP_EBROKEN);
    PP_ASSERT_STATUS(pp_barrier_reset(b), PP_OK);
    pp_barrier_destroy(b);
}

/* ------------------------------------------ event and barrier in workers */

/* (barrier, event): wait for the event, meet the parent at the barrier,
 * return the arrival index. */
static int meet_task(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_barrier *b = NULL;
    pp_event *e = NULL;
    int64_t idx = -1;
    pp_status st;

    st = pp_values_get_barrier(a, 0, &b);
    if (st == PP_OK)
        st = pp_values_get_event(a, 1, &e);
    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (barrier, event): %s", pp_err_name(st));
    st = pp_event_wait(e, WAIT_MS);
    if (st == PP_OK)
        st = pp_barrier_wait(b, WAIT_MS, &idx);
    if (st != PP_OK)
        return pp_task_fail(t, st, "%s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), idx);
}
PP_TASK_REGISTER(meet_task)

static void do_meet_workers(int method)
{
    enum { TASKS = 3 };
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *args = NULL;
    pp_result *r = NULL;
    pp_barrier *b = NULL;
    pp_event *e = NULL;
    const pp_values *res = NULL;
    int64_t idx = -1;
    pp_status st;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_barrier_create(NULL, 2, &b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_event_create(NULL, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&args, b, e), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    /* one task at a time, so each generation pairs the parent with it */
    for (i = 0; i < TASKS; i++) {
        PP_ASSERT_STATUS_FATAL(pp_apply_async(p, meet_task, args, NULL, &r), PP_OK);
        if (i == 0) { /* the first waits for the event */
            PP_ASSERT_STATUS(pp_result_wait(r, 200), PP_ETIMEDOUT);
            PP_ASSERT_STATUS(pp_event_set(e), PP_OK);
        }
        PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, &idx), PP_OK);
        st = pp_result_get(r, WAIT_MS, &res);
        PP_ASSERT_MSG(st == PP_OK, "task: %s",
                      pp_result_error(r) ? pp_result_error(r)->message : pp_err_name(st));
        pp_result_release(r);
    }
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_event_destroy(e);
    pp_barrier_destroy(b);
}
PP_TEST_PER_METHOD(meet_workers)

/* ---------------------------------------------------------- condition */

static void t_cond_semantics(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *lock = NULL, *got = NULL;
    pp_cond *c = NULL, *o = NULL;
    int64_t t0, dt;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &lock), PP_OK);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_cond_create(name, NULL, &c), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(name, lock, &c), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_cond_name(c), name);
    PP_ASSERT_STATUS_FATAL(pp_cond_lock(c, &got), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_lock_name(got), pp_lock_name(lock));
    /* the lock must be held */
    PP_ASSERT_STATUS(pp_cond_wait(c, 0), PP_EPERM);
    PP_ASSERT_STATUS(pp_cond_notify(c, 1), PP_EPERM);
    PP_ASSERT_STATUS(pp_cond_notify_all(c), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 0), PP_OK);
    PP_ASSERT_STATUS(pp_cond_notify(c, 1), PP_OK); /* nobody waits */
    PP_ASSERT_STATUS(pp_cond_notify_all(c), PP_OK);
    PP_ASSERT_STATUS(pp_cond_notify(c, 0), PP_EINVAL);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_cond_wait(c, 150), PP_ETIMEDOUT);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(dt >= 149 - pp_test_clock_slack_ms() && dt < 20000, "waited %lld ms",
                  (long long)dt);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EDEADLK); /* held again */
    PP_ASSERT_STATUS(pp_cond_wait(c, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_open(name, &o), PP_OK);
    pp_cond_destroy(o);
    pp_cond_destroy(c);
    PP_ASSERT_STATUS(pp_cond_open(name, &o), PP_ENOENT);
    pp_lock_destroy(lock);
}

typedef struct cond_waiter {
    pp_cond *c;
    pp_lock *lock;
    volatile int *waiting; /* under the lock */
    volatile int *woken;   /* under the lock */
    pp_status st;
} cond_waiter;

static void cond_wait_thread(void *arg)
{
    cond_waiter *w = arg;

    if (pp_lock_acquire(w->lock, WAIT_MS) != PP_OK) {
        w->st = PP_ESYS;
        return;
    }
    (*w->waiting)++;
    w->st = pp_cond_wait(w->c, WAIT_MS);
    (*w->woken)++;
    pp_lock_release(w->lock);
}

/* Until n waiters wait: they counted themselves under the lock before
 * pp_cond_wait released it; holding the lock after that means each has
 * released it, so each is recorded. */
static void until_waiting(pp_lock *lock, volatile int *waiting, int n)
{
    int64_t t0 = pp_test_now_ms();

    for (;;) {
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, WAIT_MS), PP_OK);
        if (*waiting >= n || pp_test_now_ms() - t0 > WAIT_MS)
            return; /* lock held */
        PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
        pp_test_sleep_ms(5);
    }
}

static void t_cond_notify_threads(void)
{
    enum { N = 3 };
    pp_lock *lock = NULL;
    pp_cond *c = NULL;
    pp_test_thread *th[N];
    cond_waiter w[N];
    volatile int waiting = 0, woken = 0;
    int i, n;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(NULL, lock, &c), PP_OK);
    for (i = 0; i < N; i++) {
        w[i].c = c;
        w[i].lock = lock;
        w[i].waiting = &waiting;
        w[i].woken = &woken;
        w[i].st = PP_ESYS;
        th[i] = pp_test_thread_start(cond_wait_thread, &w[i]);
    }
    until_waiting(lock, &waiting, N);
    CU_ASSERT_EQUAL(waiting, N);
    PP_ASSERT_STATUS(pp_cond_notify(c, 1), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_test_sleep_ms(300);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, WAIT_MS), PP_OK);
    n = woken;
    CU_ASSERT_EQUAL(n, 1); /* exactly one */
    PP_ASSERT_STATUS(pp_cond_notify_all(c), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    for (i = 0; i < N; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_STATUS(w[i].st, PP_OK);
    }
    CU_ASSERT_EQUAL(woken, N);
    pp_cond_destroy(c);
    pp_lock_destroy(lock);
}

/* (cond, shm): under the condition's lock, set slot 0 and notify all. */
static int cond_signal_task(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_cond *c = NULL;
    pp_lock *lock = NULL;
    pp_shm *m = NULL;
    pp_status st;

    st = pp_values_get_cond(a, 0, &c);
    if (st == PP_OK)
        st = pp_values_get_shm(a, 1, &m);
    if (st == PP_OK)
        st = pp_cond_lock(c, &lock);
    if (st == PP_OK)
        st = pp_lock_acquire(lock, WAIT_MS);
    if (st != PP_OK)
        return pp_task_fail(t, st, "%s", pp_err_name(st));
    pp_shm_store_int64(m, 0, 1);
    st = pp_cond_notify_all(c);
    pp_lock_release(lock);
    return st == PP_OK ? PP_OK : pp_task_fail(t, st, "notify: %s", pp_err_name(st));
}
PP_TASK_REGISTER(cond_signal_task)

static void do_cond_workers(int method)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *args = NULL;
    pp_result *r = NULL;
    pp_lock *lock = NULL;
    pp_cond *c = NULL;
    pp_shm *m = NULL;
    int64_t flag = 0, t0;
    pp_status st = PP_OK;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(NULL, lock, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 8, &m), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&args, c, m), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, cond_signal_task, args, NULL, &r), PP_OK);
    t0 = pp_test_now_ms();
    while (st == PP_OK && pp_shm_load_int64(m, 0, &flag) == PP_OK && flag == 0 &&
           pp_test_now_ms() - t0 < WAIT_MS)
        st = pp_cond_wait(c, WAIT_MS); /* Python's wait_for */
    PP_ASSERT_STATUS(st, PP_OK);
    CU_ASSERT_EQUAL(flag, 1);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    pp_result_release(r);
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_shm_destroy(m);
    pp_cond_destroy(c);
    pp_lock_destroy(lock);
}
PP_TEST_PER_METHOD(cond_workers)

/* A wait that times out never ends before its timeout (it did, by up to
 * a millisecond: deadlines were counted from a truncated clock). */
static void t_waits_last_their_timeout(void)
{
    char ename[PP_NAME_MAX + 1], sname[PP_NAME_MAX + 1], lname[PP_NAME_MAX + 1];
    char cname[PP_NAME_MAX + 1];
    pp_event *e = NULL;
    pp_sem *s = NULL;
    pp_lock *l = NULL;
    pp_cond *c = NULL;

    pp_test_unique_name(ename, sizeof ename);
    pp_test_unique_name(sname, sizeof sname);
    pp_test_unique_name(lname, sizeof lname);
    pp_test_unique_name(cname, sizeof cname);
    PP_ASSERT_STATUS_FATAL(pp_event_create(ename, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(sname, 0, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(lname, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(cname, l, &c), PP_OK);
    PP_ASSERT_WAITS_FULL(pp_event_wait(e, 3), 3);
    PP_ASSERT_WAITS_FULL(pp_sem_acquire(s, 2), 2);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, WAIT_MS), PP_OK);
    PP_ASSERT_WAITS_FULL(pp_cond_wait(c, 2), 2);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_cond_destroy(c);
    pp_lock_destroy(l);
    pp_sem_destroy(s);
    pp_event_destroy(e);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_event_semantics),
    PP_TEST(t_event_set_then_cleared),
    PP_TEST(t_barrier_semantics),
    PP_TEST(t_barrier_broken),
    PP_TEST_METHODS(meet_workers, 120),
    PP_TEST(t_cond_semantics),
    PP_TEST(t_cond_notify_threads),
    PP_TEST_METHODS(cond_workers, 120),
    PP_TEST(t_waits_last_their_timeout),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(sync_wait)
{
    pp_test_add_suite("sync_wait", cases);
}
