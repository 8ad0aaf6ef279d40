/*
 * test_manager_objects.c — the objects a manager hosts besides its lock
 * (manager_objects.h): each kind's semantics and timeouts, through two
 * connections where it matters (the holder is the connection), and
 * their kind checks. Limits, bad arguments and failures (a holder or
 * waiter killed, the server killed, hostile frames) are in
 * test_manager_failures.c. Every wait is bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/lock.h"
#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "procpool/value.h"
#include "pp_test.h"
#include "pp_test_mgr.h"

#define KEYLEN PP_TEST_MGR_KEYLEN

static uint8_t g_key[KEYLEN];

/* A started manager with a known key and a second connection to it. */
static pp_manager *start_two(pp_manager **second)
{
    pp_manager *m = pp_test_mgr_start_keyed(g_key);

    if (second != NULL)
        PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, second),
                               PP_OK);
    return m;
}

/* A timed wait took at least about ms (never an upper bound: load). */
#define ASSERT_WAITED(t0, ms) CU_ASSERT(pp_test_now_ms() - (t0) >= (ms)-pp_test_clock_slack_ms())

/* ------------------------------------------------------------ timeouts */

/* Every wait that times out lasts its whole timeout, also the part the
 * server waits (they ended up to a millisecond early: deadlines counted
 * from a truncated clock on both sides). */
typedef struct mbusy {
    pp_mevent *e;
    volatile int stop;
    int errors;
} mbusy;

/* Set and clear an event until told to stop: every change wakes the
 * server's waiters (one condition variable serves all objects). */
static void mbusy_thread(void *arg)
{
    mbusy *b = arg;

    while (!b->stop)
        if (pp_mevent_set(b->e) != PP_OK || pp_mevent_clear(b->e) != PP_OK)
            b->errors++;
}

static void t_waits_last_their_timeout(void)
{
    pp_manager *c2 = NULL;
    pp_manager *m = start_two(&c2);
    pp_test_thread *th;
    mbusy b;
    pp_lock *l = NULL;
    pp_mcond *cv = NULL;
    pp_msem *s = NULL;
    pp_mevent *e = NULL;
    pp_mqueue *q = NULL;
    pp_values *v = NULL;

    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, l, &cv), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 0, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mevent_create(m, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    memset(&b, 0, sizeof b);
    PP_ASSERT_STATUS_FATAL(pp_mevent_create(c2, &b.e), PP_OK);
    th = pp_test_thread_start(mbusy_thread, &b);
    PP_ASSERT_WAITS_FULL(pp_msem_acquire(s, 3), 3);
    PP_ASSERT_WAITS_FULL(pp_mevent_wait(e, 2), 2);
    PP_ASSERT_WAITS_FULL(pp_mqueue_get(q, &v, 2), 2);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 10000), PP_OK);
    PP_ASSERT_WAITS_FULL(pp_mcond_wait(cv, 2), 2);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    b.stop = 1;
    pp_test_thread_join(th);
    CU_ASSERT_EQUAL(b.errors, 0);
    pp_mevent_destroy(b.e);
    pp_manager_destroy(c2);
    pp_mqueue_destroy(q);
    pp_mevent_destroy(e);
    pp_msem_destroy(s);
    pp_mcond_destroy(cv);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

/* ---------------------------------------------------------------- rlock */

static void t_rlock(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_lock *a = NULL, *b = NULL, *x = NULL;
    uint64_t token;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &a), PP_OK);
    CU_ASSERT(pp_manager_lock_id(a) > 0);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock_open(c, pp_manager_lock_id(a), &b), PP_OK);
    PP_ASSERT_STATUS(pp_manager_lock_open(c, pp_manager_lock_id(a), &x), PP_ENOENT);
    PP_ASSERT_STATUS(pp_lock_acquire(a, 1000), PP_OK);
    token = pp_lock_fencing_token(a);
    PP_ASSERT_STATUS(pp_lock_acquire(a, 0), PP_OK); /* recursive: no EDEADLK */
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_OK);
    CU_ASSERT_EQUAL(pp_lock_fencing_token(a), token); /* the same hold */
    PP_ASSERT_STATUS(pp_lock_release(b), PP_EPERM);   /* not the owner */
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY); /* one hold left */
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);        /* the last frees it */
    PP_ASSERT_STATUS(pp_lock_release(a), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_acquire(b, 1000), PP_OK);
    CU_ASSERT(pp_lock_fencing_token(b) > token);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    pp_lock_destroy(b);
    pp_lock_destroy(a);
    /* a plain lock's id is not a recursive lock */
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a), PP_OK);
    PP_ASSERT_STATUS(pp_manager_rlock_open(c, pp_manager_lock_id(a), &b), PP_ETYPE);
    PP_ASSERT_STATUS(pp_manager_rlock_open(c, 0, &b), PP_EINVAL);
    pp_lock_destroy(a);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------------ semaphore */

typedef struct sem_waiter {
    pp_msem *s;
    pp_status st;
} sem_waiter;

static void sem_acquire_long(void *arg)
{
    sem_waiter *w = arg;

    w->st = pp_msem_acquire(w->s, 20000);
}

/* One handle, two threads: one waits long on a semaphore, the other's
 * calls take their turn on the connection between its one-second waits
 * (first come, first served) instead of losing the race for it again and
 * again (seen: 0.8-6.8 s per call). */
static void t_calls_take_turns_with_a_long_wait(void)
{
    pp_manager *m = start_two(NULL);
    pp_msem *s = NULL, *other = NULL;
    pp_test_thread *th;
    sem_waiter b;
    int64_t worst = 0, t0, dt, limit = 2500 * pp_test_timeout_mult();
    int i;

    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 0, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 0, 0, &other), PP_OK);
    memset(&b, 0, sizeof b);
    b.s = s;
    b.st = PP_EINVAL;
    th = pp_test_thread_start(sem_acquire_long, &b);
    pp_test_sleep_ms(200); /* it waits in the server */
    for (i = 0; i < 12; i++) {
        t0 = pp_test_now_ms();
        PP_ASSERT_STATUS(pp_msem_release(other), PP_OK);
        dt = pp_test_now_ms() - t0;
        worst = dt > worst ? dt : worst;
        pp_test_sleep_ms(i * 37 % 300);
    }
    PP_ASSERT_MSG(worst < limit, "a call waited %lld ms for the connection", (long long)worst);
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    pp_test_thread_join(th);
    PP_ASSERT_STATUS(b.st, PP_OK);
    pp_msem_destroy(other);
    pp_msem_destroy(s);
    pp_manager_destroy(m);
}

static void t_semaphore(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_msem *s = NULL, *o = NULL, *bs = NULL;
    pp_test_thread *t;
    sem_waiter w;
    int64_t v = -1, t0;

    m = start_two(&c);
    PP_ASSERT_STATUS(pp_msem_create(m, -1, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_create(m, PP_MANAGER_SEM_MAX + 1, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 2, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_open(c, pp_msem_id(s), &o), PP_OK);
    PP_ASSERT_STATUS(pp_msem_acquire(s, 0), PP_OK);
    PP_ASSERT_STATUS(pp_msem_try_acquire(o), PP_OK);
    PP_ASSERT_STATUS(pp_msem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    PP_ASSERT_STATUS(pp_msem_try_acquire(s), PP_EBUSY);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_msem_acquire(o, 300), PP_ETIMEDOUT);
    ASSERT_WAITED(t0, 300);
    PP_ASSERT_STATUS(pp_msem_acquire(o, -5), PP_EINVAL);
    /* a waiter on the other connection, woken by a release after a slice */
    w.s = o;
    w.st = PP_EINVAL;
    t = pp_test_thread_start(sem_acquire_long, &w);
    pp_test_sleep_ms(1300);
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_OK);
    /* unbounded: any number of releases */
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_msem_value(o, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 3);
    /* bounded: never above its initial value */
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 1, 1, &bs), PP_OK);
    PP_ASSERT_STATUS(pp_msem_release(bs), PP_ESTATE);
    PP_ASSERT_STATUS(pp_msem_acquire(bs, 100), PP_OK);
    PP_ASSERT_STATUS(pp_msem_release(bs), PP_OK);
    PP_ASSERT_STATUS(pp_msem_release(bs), PP_ESTATE);
    pp_msem_destroy(bs);
    pp_msem_destroy(o);
    pp_msem_destroy(s);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* A timeout too large to add to the clock (INT64_MAX, INT64_MAX - 1) is a
 * wait without end: the waiter on the other connection gets the
 * semaphore released after 300 ms, never PP_ETIMEDOUT at once. */
static void sem_acquire_huge(void *arg)
{
    sem_waiter *w = arg;

    w->st = pp_msem_acquire(w->s, w->st == PP_OK ? INT64_MAX : INT64_MAX - 1);
}

static void t_huge_timeouts(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_msem *s = NULL, *o = NULL;
    pp_test_thread *t;
    sem_waiter w;
    int k;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 0, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_open(c, pp_msem_id(s), &o), PP_OK);
    for (k = 0; k < 2; k++) {
        w.s = o;
        w.st = k == 0 ? PP_OK : PP_EINVAL; /* which huge timeout */
        t = pp_test_thread_start(sem_acquire_huge, &w);
        pp_test_sleep_ms(300);
        PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
        pp_test_thread_join(t);
        PP_ASSERT_STATUS(w.st, PP_OK);
    }
    pp_msem_destroy(o);
    pp_msem_destroy(s);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------------ condition */

typedef struct cond_waiter {
    pp_lock *lock;
    pp_mcond *cond;
    int64_t timeout;
    volatile int *holders; /* waiters that acquired the lock so far */
    pp_status acq, st, rel;
} cond_waiter;

/* Hold the lock, wait, release it again (the wait re-acquired it). */
static void cond_wait_thread(void *arg)
{
    cond_waiter *w = arg;

    w->acq = pp_lock_acquire(w->lock, 10000);
    (*w->holders)++; /* under the lock */
    w->st = pp_mcond_wait(w->cond, w->timeout);
    w->rel = pp_lock_release(w->lock);
}

/* A waiter on connection c (its own lock and condition handles). */
static pp_test_thread *start_cond_waiter(pp_manager *c, pp_lock *lock, pp_mcond *cond,
                                         volatile int *holders, cond_waiter *w)
{
    memset(w, 0, sizeof *w);
    w->holders = holders;
    w->acq = w->st = w->rel = PP_EINVAL;
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(lock), &w->lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_open(c, pp_mcond_id(cond), w->lock, &w->cond), PP_OK);
    w->timeout = 20000;
    return pp_test_thread_start(cond_wait_thread, w);
}

static void free_cond_waiter(cond_waiter *w)
{
    PP_ASSERT_STATUS(w->acq, PP_OK);
    PP_ASSERT_STATUS(w->rel, PP_OK); /* the wait gave the lock back */
    pp_mcond_destroy(w->cond);
    pp_lock_destroy(w->lock);
}

/* Hold l once n waiters took it: each one that took it gave it back by
 * waiting, so all n wait now. */
static void lock_when_waiting(pp_lock *l, volatile int *holders, int n)
{
    int64_t end = pp_test_now_ms() + 20000;

    for (;;) {
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 20000), PP_OK);
        if (*holders >= n)
            return;
        PP_ASSERT_STATUS_FATAL(pp_lock_release(l), PP_OK);
        CU_ASSERT_FATAL(pp_test_now_ms() < end);
        pp_test_sleep_ms(20);
    }
}

static void t_condition(void)
{
    pp_manager *m = NULL, *c = NULL, *d = NULL;
    pp_lock *l = NULL, *other = NULL;
    pp_mcond *cv = NULL, *x = NULL;
    cond_waiter w1, w2;
    pp_test_thread *t1, *t2;
    volatile int holders = 0;
    int64_t t0;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &d), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS(pp_mcond_create(c, l, &cv), PP_EINVAL); /* l is m's, not c's */
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, l, &cv), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &other), PP_OK);
    PP_ASSERT_STATUS(pp_mcond_open(m, pp_mcond_id(cv), other, &x), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mcond_wait(cv, 10), PP_EPERM); /* lock not held */
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_EPERM);
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 0), PP_EINVAL);
    /* timed out: still the lock is held again */
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_mcond_wait(cv, 200), PP_ETIMEDOUT);
    ASSERT_WAITED(t0, 200);
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_OK); /* held: nobody waits, fine */
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    /* notify(1) after more than one slice of waiting wakes one waiter */
    t1 = start_cond_waiter(c, l, cv, &holders, &w1);
    lock_when_waiting(l, &holders, 1);
    pp_test_sleep_ms(1300); /* the waiter is in its second slice */
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_test_thread_join(t1);
    PP_ASSERT_STATUS(w1.st, PP_OK);
    free_cond_waiter(&w1);
    /* notify_all wakes both of two waiters */
    holders = 0;
    t1 = start_cond_waiter(c, l, cv, &holders, &w1);
    t2 = start_cond_waiter(d, l, cv, &holders, &w2);
    lock_when_waiting(l, &holders, 2);
    PP_ASSERT_STATUS(pp_mcond_notify_all(cv), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_test_thread_join(t1);
    pp_test_thread_join(t2);
    PP_ASSERT_STATUS(w1.st, PP_OK);
    PP_ASSERT_STATUS(w2.st, PP_OK);
    free_cond_waiter(&w1);
    free_cond_waiter(&w2);
    pp_mcond_destroy(cv);
    pp_lock_destroy(other);
    pp_lock_destroy(l);
    pp_manager_destroy(d);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* A condition on a recursive lock gives back every hold and takes them
 * all again. */
static void t_condition_rlock(void)
{
    pp_manager *m = start_two(NULL);
    pp_mcond *cv = NULL;
    pp_lock *l = NULL;

    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, l, &cv), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_mcond_wait(cv, 0), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_EPERM);
    pp_lock_destroy(l); /* the condition's lock is gone */
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_ENOENT);
    pp_mcond_destroy(cv);
    pp_manager_destroy(m);
}

/* ---------------------------------------------------------------- event */

typedef struct event_waiter {
    pp_mevent *e;
    pp_status st;
} event_waiter;

static void event_wait_thread(void *arg)
{
    event_waiter *w = arg;

    w->st = pp_mevent_wait(w->e, 20000);
}

static void t_event(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_mevent *e = NULL, *o = NULL;
    pp_test_thread *t;
    event_waiter w;
    int set = -1;
    int64_t t0;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_mevent_create(m, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mevent_open(c, pp_mevent_id(e), &o), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_is_set(o, &set), PP_OK);
    CU_ASSERT_EQUAL(set, 0);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_mevent_wait(o, 200), PP_ETIMEDOUT);
    ASSERT_WAITED(t0, 200);
    PP_ASSERT_STATUS(pp_mevent_set(e), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_is_set(o, &set), PP_OK);
    CU_ASSERT_EQUAL(set, 1);
    PP_ASSERT_STATUS(pp_mevent_wait(o, 0), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_wait(o, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_clear(e), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_wait(o, 0), PP_ETIMEDOUT);
    /* a set and a clear at once, while a waiter is in its second slice:
     * the wait still ends (Python: wait() returns True) */
    w.e = o;
    w.st = PP_EINVAL;
    t = pp_test_thread_start(event_wait_thread, &w);
    pp_test_sleep_ms(1300);
    PP_ASSERT_STATUS(pp_mevent_set(e), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_clear(e), PP_OK);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_OK);
    PP_ASSERT_STATUS(pp_mevent_is_set(e, NULL), PP_EINVAL);
    pp_mevent_destroy(e); /* the creator's: gone */
    PP_ASSERT_STATUS(pp_mevent_set(o), PP_ENOENT);
    pp_mevent_destroy(o);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* -------------------------------------------------------------- barrier */

typedef struct bar_waiter {
    pp_manager *m;
    pp_mbarrier *b;
    int64_t timeout, index;
    pp_status st;
} bar_waiter;

static void barrier_thread(void *arg)
{
    bar_waiter *w = arg;

    w->st = pp_mbarrier_wait(w->b, w->timeout, &w->index);
}

/* n waiters, each on its own connection, on barrier id. */
static void start_bar_waiters(pp_manager *m, uint64_t id, bar_waiter *w, pp_test_thread **t, int n,
                              int64_t timeout)
{
    int i;

    for (i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = -1;
        w[i].st = PP_EINVAL;
        w[i].timeout = timeout;
        PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &w[i].m),
                               PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_mbarrier_open(w[i].m, id, &w[i].b), PP_OK);
        t[i] = pp_test_thread_start(barrier_thread, &w[i]);
    }
}

static void join_bar_waiters(bar_waiter *w, pp_test_thread **t, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        pp_test_thread_join(t[i]);
        pp_mbarrier_destroy(w[i].b);
        pp_manager_destroy(w[i].m);
    }
}

/* Until n wait at b. */
static void until_waiting(pp_mbarrier *b, int64_t n)
{
    int64_t end = pp_test_now_ms() + 20000, waiting = -1;

    while (pp_mbarrier_state(b, &waiting, NULL) == PP_OK && waiting < n && pp_test_now_ms() < end)
        pp_test_sleep_ms(20);
    CU_ASSERT_EQUAL_FATAL(waiting, n);
}

static void t_barrier(void)
{
    pp_manager *m = start_two(NULL);
    pp_mbarrier *b = NULL;
    bar_waiter w[3];
    pp_test_thread *t[3];
    int64_t index = -1;
    int broken = -1, seen = 0, i;

    PP_ASSERT_STATUS(pp_mbarrier_create(m, 0, &b), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_mbarrier_create(m, 4, &b), PP_OK);
    /* 3 waiters in their second slice, then the 4th: every index once */
    start_bar_waiters(m, pp_mbarrier_id(b), w, t, 3, 20000);
    until_waiting(b, 3);
    pp_test_sleep_ms(1100);
    PP_ASSERT_STATUS(pp_mbarrier_wait(b, 20000, &index), PP_OK);
    seen |= 1 << index;
    join_bar_waiters(w, t, 3);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS(w[i].st, PP_OK);
        seen |= 1 << w[i].index;
    }
    CU_ASSERT_EQUAL(seen, 0xf);
    /* abort: the waiters and later waits are told PP_EBROKEN */
    start_bar_waiters(m, pp_mbarrier_id(b), w, t, 2, 20000);
    until_waiting(b, 2);
    PP_ASSERT_STATUS(pp_mbarrier_abort(b), PP_OK);
    join_bar_waiters(w, t, 2);
    PP_ASSERT_STATUS(w[0].st, PP_EBROKEN);
    PP_ASSERT_STATUS(w[1].st, PP_EBROKEN);
    PP_ASSERT_STATUS(pp_mbarrier_wait(b, 100, NULL), PP_EBROKEN);
    PP_ASSERT_STATUS(pp_mbarrier_state(b, NULL, &broken), PP_OK);
    CU_ASSERT_EQUAL(broken, 1);
    PP_ASSERT_STATUS(pp_mbarrier_reset(b), PP_OK);
    /* a wait that times out breaks it: for the others too */
    start_bar_waiters(m, pp_mbarrier_id(b), w, t, 1, 20000);
    until_waiting(b, 1);
    PP_ASSERT_STATUS(pp_mbarrier_wait(b, 200, NULL), PP_ETIMEDOUT);
    join_bar_waiters(w, t, 1);
    PP_ASSERT_STATUS(w[0].st, PP_EBROKEN);
    /* reset while one waits: it is told PP_EBROKEN, the barrier works */
    PP_ASSERT_STATUS(pp_mbarrier_reset(b), PP_OK);
    start_bar_waiters(m, pp_mbarrier_id(b), w, t, 1, 20000);
    until_waiting(b, 1);
    PP_ASSERT_STATUS(pp_mbarrier_reset(b), PP_OK);
    join_bar_waiters(w, t, 1);
    PP_ASSERT_STATUS(w[0].st, PP_EBROKEN);
    PP_ASSERT_STATUS(pp_mbarrier_state(b, NULL, &broken), PP_OK);
    CU_ASSERT_EQUAL(broken, 0);
    pp_mbarrier_destroy(b);
    /* one party: never waits */
    PP_ASSERT_STATUS_FATAL(pp_mbarrier_create(m, 1, &b), PP_OK);
    PP_ASSERT_STATUS(pp_mbarrier_wait(b, 0, &index), PP_OK);
    CU_ASSERT_EQUAL(index, 0);
    pp_mbarrier_destroy(b);
    pp_manager_destroy(m);
}

/* ---------------------------------------------------------------- value */

static void t_value(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_mvalue *i = NULL, *d = NULL, *o = NULL;
    int64_t x = 0;
    double y = 0;
    int swapped = -1;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 40, &i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_double(m, 1.5, &d), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_open(c, pp_mvalue_id(i), &o), PP_OK);
    CU_ASSERT_EQUAL(pp_mvalue_type(o), PP_TYPE_INT);
    PP_ASSERT_STATUS(pp_mvalue_add_int(o, 2, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 42);
    PP_ASSERT_STATUS(pp_mvalue_get_int(i, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 42);
    PP_ASSERT_STATUS(pp_mvalue_cas_int(i, 41, 7, &swapped, &x), PP_OK);
    CU_ASSERT(swapped == 0 && x == 42);
    PP_ASSERT_STATUS(pp_mvalue_cas_int(o, 42, 7, &swapped, &x), PP_OK);
    CU_ASSERT(swapped == 1 && x == 42);
    PP_ASSERT_STATUS(pp_mvalue_set_int(i, INT64_MAX), PP_OK);
    PP_ASSERT_STATUS(pp_mvalue_add_int(i, 1, NULL), PP_ERANGE);
    PP_ASSERT_STATUS(pp_mvalue_get_int(o, &x), PP_OK);
    CU_ASSERT_EQUAL(x, INT64_MAX);
    PP_ASSERT_STATUS(pp_mvalue_get_double(i, &y), PP_ETYPE);
    PP_ASSERT_STATUS(pp_mvalue_cas_double(i, 0.0, 1.0, NULL, NULL), PP_ETYPE);
    PP_ASSERT_STATUS(pp_mvalue_add_double(d, 1.0, &y), PP_OK);
    CU_ASSERT_DOUBLE_EQUAL(y, 2.5, 1e-12);
    PP_ASSERT_STATUS(pp_mvalue_cas_double(d, 2.5, -1.0, &swapped, &y), PP_OK);
    CU_ASSERT(swapped == 1);
    PP_ASSERT_STATUS(pp_mvalue_get_double(d, &y), PP_OK);
    CU_ASSERT_DOUBLE_EQUAL(y, -1.0, 1e-12);
    PP_ASSERT_STATUS(pp_mvalue_set_int(d, 1), PP_ETYPE);
    PP_ASSERT_STATUS(pp_mvalue_get_int(NULL, &x), PP_EINVAL);
    pp_mvalue_destroy(o);
    pp_mvalue_destroy(d);
    pp_mvalue_destroy(i);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* ---------------------------------------------------------------- queue */

typedef struct q_getter {
    pp_mqueue *q;
    pp_values *v;
    pp_status st;
} q_getter;

static void queue_get_thread(void *arg)
{
    q_getter *g = arg;

    g->st = pp_mqueue_get(g->q, &g->v, 20000);
}

static pp_values *one_int(int64_t x)
{
    pp_values *v = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "l", x), PP_OK);
    return v;
}

static void t_queue(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_mqueue *q = NULL, *o = NULL;
    pp_values *v = NULL, *out = NULL;
    const char *s = NULL;
    pp_test_thread *t;
    q_getter g;
    int64_t x = 0, t0;
    double y = 0;
    size_t n = 9;
    int flag = -1;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 2, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_open(c, pp_mqueue_id(q), &o), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_empty(o, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 1);
    PP_ASSERT_STATUS(pp_mqueue_try_get(o, &out), PP_EBUSY);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_mqueue_get(o, &out, 200), PP_ETIMEDOUT);
    ASSERT_WAITED(t0, 200);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "lds", (int64_t)-3, 0.25, "hello"), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(q, v, 1000), PP_OK);
    pp_values_destroy(v);
    v = one_int(2);
    PP_ASSERT_STATUS(pp_mqueue_try_put(q, v), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_try_put(q, v), PP_EBUSY); /* maxsize 2 */
    PP_ASSERT_STATUS(pp_mqueue_put(o, v, 200), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_mqueue_full(o, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 1);
    PP_ASSERT_STATUS(pp_mqueue_qsize(o, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 2);
    /* FIFO, every type back as it went */
    PP_ASSERT_STATUS_FATAL(pp_mqueue_get(o, &out, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(out, "lds", &x, &y, &s), PP_OK);
    CU_ASSERT(x == -3 && y == 0.25 && s != NULL && strcmp(s, "hello") == 0);
    pp_values_destroy(out);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_try_get(q, &out), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(out, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 2);
    pp_values_destroy(out);
    /* an empty tuple travels too */
    PP_ASSERT_STATUS(pp_mqueue_put(q, NULL, 0), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_get(o, &out, 0), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(out), 0);
    pp_values_destroy(out);
    /* a getter on the other connection, fed after more than a slice */
    memset(&g, 0, sizeof g);
    g.q = o;
    g.st = PP_EINVAL;
    t = pp_test_thread_start(queue_get_thread, &g);
    pp_test_sleep_ms(1300);
    PP_ASSERT_STATUS(pp_mqueue_put(q, v, 1000), PP_OK);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(g.st, PP_OK);
    CU_ASSERT(g.v != NULL && pp_values_get_int(g.v, 0, &x) == PP_OK && x == 2);
    pp_values_destroy(g.v);
    pp_values_destroy(v);
    pp_mqueue_destroy(o);
    pp_mqueue_destroy(q);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* ----------------------------------------------------------------- dict */

static void t_dict(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_mdict *d = NULL, *o = NULL;
    pp_values *v = NULL, *out = NULL, *keys = NULL;
    const char *k0 = NULL, *k1 = NULL;
    int64_t x = 0;
    size_t n = 9;
    int found = -1;

    m = start_two(&c);
    PP_ASSERT_STATUS_FATAL(pp_mdict_create(m, &d), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mdict_open(c, pp_mdict_id(d), &o), PP_OK);
    PP_ASSERT_STATUS(pp_mdict_get(o, "a", &out), PP_ENOENT);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "sl", "x", (int64_t)5), PP_OK);
    PP_ASSERT_STATUS(pp_mdict_set(d, "a", v), PP_OK);
    PP_ASSERT_STATUS(pp_mdict_contains(o, "a", &found), PP_OK);
    CU_ASSERT_EQUAL(found, 1);
    PP_ASSERT_STATUS_FATAL(pp_mdict_get(o, "a", &out), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(out), 2);
    pp_values_destroy(out);
    PP_ASSERT_STATUS(pp_mdict_add_int(o, "a", 1, NULL), PP_ETYPE); /* not one int */
    PP_ASSERT_STATUS(pp_mdict_add_int(o, "n", 3, &x), PP_OK);      /* new: from 0 */
    CU_ASSERT_EQUAL(x, 3);
    PP_ASSERT_STATUS(pp_mdict_add_int(d, "n", -5, &x), PP_OK);
    CU_ASSERT_EQUAL(x, -2);
    PP_ASSERT_STATUS(pp_mdict_add_int(d, "n", INT64_MIN, &x), PP_ERANGE);
    PP_ASSERT_STATUS_FATAL(pp_mdict_get(d, "n", &out), PP_OK);
    CU_ASSERT(pp_values_get_int(out, 0, &x) == PP_OK && x == -2);
    pp_values_destroy(out);
    PP_ASSERT_STATUS(pp_mdict_len(o, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 2);
    PP_ASSERT_STATUS_FATAL(pp_mdict_keys(o, &keys), PP_OK);
    CU_ASSERT_EQUAL_FATAL(pp_values_count(keys), 2);
    PP_ASSERT_STATUS(pp_values_get_str(keys, 0, &k0), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_str(keys, 1, &k1), PP_OK);
    CU_ASSERT((strcmp(k0, "a") == 0 && strcmp(k1, "n") == 0) ||
              (strcmp(k0, "n") == 0 && strcmp(k1, "a") == 0));
    pp_values_destroy(keys);
    PP_ASSERT_STATUS(pp_mdict_delete(o, "a"), PP_OK);
    PP_ASSERT_STATUS(pp_mdict_delete(o, "a"), PP_ENOENT);
    PP_ASSERT_STATUS(pp_mdict_contains(d, "a", &found), PP_OK);
    CU_ASSERT_EQUAL(found, 0);
    PP_ASSERT_STATUS(pp_mdict_set(d, "", v), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mdict_set(d, NULL, v), PP_EINVAL);
    pp_values_destroy(v);
    pp_mdict_destroy(d);
    PP_ASSERT_STATUS(pp_mdict_len(o, &n), PP_ENOENT); /* its creator destroyed it */
    pp_mdict_destroy(o);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_rlock, 60),
    PP_TEST_TIMEOUT(t_semaphore, 90),
    PP_TEST_TIMEOUT(t_calls_take_turns_with_a_long_wait, 120),
    PP_TEST_TIMEOUT(t_condition, 120),
    PP_TEST_TIMEOUT(t_condition_rlock, 60),
    PP_TEST_TIMEOUT(t_event, 90),
    PP_TEST_TIMEOUT(t_barrier, 120),
    PP_TEST_TIMEOUT(t_value, 60),
    PP_TEST_TIMEOUT(t_queue, 90),
    PP_TEST_TIMEOUT(t_dict, 60),
    PP_TEST_TIMEOUT(t_waits_last_their_timeout, 60),
    PP_TEST_TIMEOUT(t_huge_timeouts, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_objects)
{
    pp_test_add_suite("manager_objects", g_cases);
}
