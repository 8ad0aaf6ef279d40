/*
 * test_manager_values.c — every hosted object of a manager is a value:
 * its handle travels in task arguments, initializer arguments and
 * results, and works in pool workers on every start method the platform
 * has (fork and forkserver variants are in the skip list on Windows):
 *
 *  - queue: tasks put, the parent gets every item;
 *  - value: tasks add, the parent reads the sum;
 *  - semaphore of 2: never more than 2 tasks inside (counted by the
 *    manager's own atomic add);
 *  - event: tasks wait for the parent's set;
 *  - barrier: a task and the parent meet, three rounds;
 *  - dict: tasks set keys;
 *  - condition with its lock: tasks wait for a predicate the parent
 *    makes true under the lock, then notify_all;
 *  - a queue given to the pool initializer;
 *  - wrong-kind getters, a proxy back in a task result, one handle per
 *    object in a worker, a destroyed object (the task fails with
 *    PP_ENOENT and a message naming it), no key (PP_EAUTH), a manager
 *    shut down (PP_ECONNLOST), malformed locators (PP_EPROTO).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "pp_test.h"
#include "wire/buf.h"
#include "values/tuple.h"
#include "values/value_internal.h"
#include "sync/remote.h"
#include "manager/manager.h"
#include "procpool/procpool.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())
#define NTASKS  8
#define NPROCS  3
#define SEM_N   2

/* ------------------------------------------------------------ task side */

static pp_mqueue *g_init_queue;

/* (queue, i): put (i). */
static int mv_put(pp_task *t)
{
    pp_mqueue *q = NULL;
    pp_values *item = NULL;
    int64_t i = 0;
    pp_status st = pp_values_get_mqueue(pp_task_args(t), 0, &q);

    if (st == PP_OK)
        st = pp_values_get_int(pp_task_args(t), 1, &i);
    if (st == PP_OK)
        st = pp_values_pack(&item, "l", i);
    if (st == PP_OK)
        st = pp_mqueue_put(q, item, WAIT_MS);
    pp_values_destroy(item);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "put: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_put)

/* (value, i): add i + 1. */
static int mv_add(pp_task *t)
{
    pp_mvalue *x = NULL;
    int64_t i = 0, now = 0;
    pp_status st = pp_values_get_mvalue(pp_task_args(t), 0, &x);

    if (st == PP_OK)
        st = pp_values_get_int(pp_task_args(t), 1, &i);
    if (st == PP_OK)
        st = pp_mvalue_add_int(x, i + 1, &now);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "add: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_add)

/* (sem, inside, overflow): inside the semaphore, count; note any count
 * above SEM_N. */
static int mv_sem(pp_task *t)
{
    pp_msem *s = NULL;
    pp_mvalue *inside = NULL, *over = NULL;
    int64_t now = 0, dummy = 0;
    pp_status st = pp_values_get_msem(pp_task_args(t), 0, &s);

    if (st == PP_OK)
        st = pp_values_get_mvalue(pp_task_args(t), 1, &inside);
    if (st == PP_OK)
        st = pp_values_get_mvalue(pp_task_args(t), 2, &over);
    if (st == PP_OK)
        st = pp_msem_acquire(s, WAIT_MS);
    if (st != PP_OK)
        return pp_task_fail(t, st, "sem: %s", pp_err_name(st));
    st = pp_mvalue_add_int(inside, 1, &now);
    if (st == PP_OK && now > SEM_N)
        st = pp_mvalue_add_int(over, 1, &dummy);
    pp__plat_sleep_ms(10);
    if (st == PP_OK)
        st = pp_mvalue_add_int(inside, -1, &now);
    pp_msem_release(s);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "sem count: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_sem)

/* (event): wait for it; result: is_set after the wait. */
static int mv_event(pp_task *t)
{
    pp_mevent *e = NULL;
    int set = 0;
    pp_status st = pp_values_get_mevent(pp_task_args(t), 0, &e);

    if (st == PP_OK)
        st = pp_mevent_wait(e, WAIT_MS);
    if (st == PP_OK)
        st = pp_mevent_is_set(e, &set);
    if (st != PP_OK)
        return pp_task_fail(t, st, "event: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), set);
}
PP_TASK_REGISTER(mv_event)

/* (barrier, rounds): wait at it rounds times; result: the indices. */
static int mv_barrier(pp_task *t)
{
    pp_mbarrier *b = NULL;
    int64_t rounds = 0, i, index = -1;
    pp_status st = pp_values_get_mbarrier(pp_task_args(t), 0, &b);

    if (st == PP_OK)
        st = pp_values_get_int(pp_task_args(t), 1, &rounds);
    for (i = 0; st == PP_OK && i < rounds; i++) {
        st = pp_mbarrier_wait(b, WAIT_MS, &index);
        if (st == PP_OK)
            st = pp_values_add_int(pp_task_result(t), index);
    }
    return st == PP_OK ? 0 : pp_task_fail(t, st, "barrier: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_barrier)

/* (dict, i): d["k<i>"] = (i * i). */
static int mv_dict(pp_task *t)
{
    pp_mdict *d = NULL;
    pp_values *val = NULL;
    int64_t i = 0;
    char key[32];
    pp_status st = pp_values_get_mdict(pp_task_args(t), 0, &d);

    if (st == PP_OK)
        st = pp_values_get_int(pp_task_args(t), 1, &i);
    snprintf(key, sizeof key, "k%d", (int)i);
    if (st == PP_OK)
        st = pp_values_pack(&val, "l", i * i);
    if (st == PP_OK)
        st = pp_mdict_set(d, key, val);
    pp_values_destroy(val);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "dict: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_dict)

/* (cond, lock, ready, woken): under the lock, wait until ready != 0,
 * then count itself in woken. */
static int mv_cond(pp_task *t)
{
    pp_mcond *c = NULL;
    pp_lock *lock = NULL;
    pp_mvalue *ready = NULL, *woken = NULL;
    int64_t r = 0, now = 0;
    pp_status st = pp_values_get_mcond(pp_task_args(t), 0, &c);

    if (st == PP_OK)
        st = pp_values_get_lock(pp_task_args(t), 1, &lock);
    if (st == PP_OK)
        st = pp_values_get_mvalue(pp_task_args(t), 2, &ready);
    if (st == PP_OK)
        st = pp_values_get_mvalue(pp_task_args(t), 3, &woken);
    if (st == PP_OK)
        st = pp_lock_acquire(lock, WAIT_MS);
    if (st != PP_OK)
        return pp_task_fail(t, st, "cond: %s", pp_err_name(st));
    while ((st = pp_mvalue_get_int(ready, &r)) == PP_OK && r == 0) {
        st = pp_mcond_wait(c, WAIT_MS);
        if (st != PP_OK)
            break;
    }
    if (st == PP_OK)
        st = pp_mvalue_add_int(woken, 1, &now);
    pp_lock_release(lock);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "cond wait: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_cond)

static int mv_initializer(pp_task *t)
{
    pp_status st = pp_values_get_mqueue(pp_task_args(t), 0, &g_init_queue);

    return st == PP_OK ? 0 : pp_task_fail(t, st, "initializer: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_initializer)

/* (i): put (i) into the initializer's queue. */
static int mv_init_put(pp_task *t)
{
    pp_values *item = NULL;
    int64_t i = 0;
    pp_status st = pp_values_get_int(pp_task_args(t), 0, &i);

    if (st == PP_OK && g_init_queue == NULL)
        st = PP_EINVAL;
    if (st == PP_OK)
        st = pp_values_pack(&item, "l", i);
    if (st == PP_OK)
        st = pp_mqueue_put(g_init_queue, item, WAIT_MS);
    pp_values_destroy(item);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "init put: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_init_put)

/* (queue): return it, and the handle's address in this worker. */
static int mv_echo(pp_task *t)
{
    pp_mqueue *q = NULL;
    pp_status st = pp_values_get_mqueue(pp_task_args(t), 0, &q);

    if (st == PP_OK)
        st = pp_values_add_mqueue(pp_task_result(t), q);
    if (st == PP_OK)
        st = pp_values_add_int(pp_task_result(t), (int64_t)(intptr_t)q);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "echo: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mv_echo)

static int mv_noop_pid(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(mv_noop_pid)

/* ------------------------------------------------------------ test side */

static pp_pool *make_pool(int method, int n, const pp_values *initargs)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)method;
    if (initargs != NULL) {
        o.initializer = mv_initializer;
        o.initargs = initargs;
    }
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

/* starmap of fn over items[0..n), every item must succeed; frees items. */
static void run_all(pp_pool *p, pp_task_fn fn, pp_values **items, size_t n, pp_result **keep)
{
    pp_result *r = NULL;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, fn, items, n, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < n; i++) {
        const pp_error *e = NULL;
        PP_ASSERT_MSG(pp_result_item(r, i, NULL, &e) == PP_OK, "task %u: %s", (unsigned)i,
                      e != NULL ? e->message : "?");
        pp_values_destroy(items[i]);
    }
    if (keep != NULL)
        *keep = r;
    else
        pp_result_release(r);
}

/* (proxy item built by add, i) for i in 0..NTASKS. */
typedef pp_status (*add_fn)(pp_values *v, void *h);

static void make_items(pp_values **items, add_fn add, void *h)
{
    size_t i;

    for (i = 0; i < NTASKS; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(add(items[i], h), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items[i], (int64_t)i), PP_OK);
    }
}

static pp_status add_queue(pp_values *v, void *h)
{
    return pp_values_add_mqueue(v, h);
}

static pp_status add_value(pp_values *v, void *h)
{
    return pp_values_add_mvalue(v, h);
}

static pp_status add_dict(pp_values *v, void *h)
{
    return pp_values_add_mdict(v, h);
}

/* Take NTASKS items from q: each of 0..NTASKS once. */
static void drain(pp_mqueue *q)
{
    unsigned seen = 0;
    size_t i, n = 99;

    for (i = 0; i < NTASKS; i++) {
        pp_values *item = NULL;
        int64_t x = -1;
        PP_ASSERT_STATUS_FATAL(pp_mqueue_get(q, &item, WAIT_MS), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(item, 0, &x), PP_OK);
        CU_ASSERT(x >= 0 && x < NTASKS && !(seen & (1u << x)));
        if (x >= 0 && x < NTASKS)
            seen |= 1u << x;
        pp_values_destroy(item);
    }
    CU_ASSERT_EQUAL(seen, (1u << NTASKS) - 1);
    PP_ASSERT_STATUS(pp_mqueue_qsize(q, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 0);
}

static void do_queue(int method)
{
    pp_values *items[NTASKS];
    pp_manager *m = NULL;
    pp_mqueue *q = NULL;
    pp_pool *p;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    make_items(items, add_queue, q);
    run_all(p, mv_put, items, NTASKS, NULL);
    drain(q);
    pp_test_pool_finish(p);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

static void do_value(int method)
{
    pp_values *items[NTASKS];
    pp_manager *m = NULL;
    pp_mvalue *x = NULL;
    int64_t sum = -1;
    pp_pool *p;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &x), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    make_items(items, add_value, x);
    run_all(p, mv_add, items, NTASKS, NULL);
    PP_ASSERT_STATUS(pp_mvalue_get_int(x, &sum), PP_OK);
    CU_ASSERT_EQUAL(sum, NTASKS * (NTASKS + 1) / 2);
    pp_test_pool_finish(p);
    pp_mvalue_destroy(x);
    pp_manager_destroy(m);
}

static void do_sem(int method)
{
    pp_values *items[NTASKS];
    pp_manager *m = NULL;
    pp_msem *s = NULL;
    pp_mvalue *inside = NULL, *over = NULL;
    int64_t n = -1, units = -1;
    pp_pool *p;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, SEM_N, 1, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &inside), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &over), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    for (i = 0; i < NTASKS; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_msem(items[i], s), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(items[i], inside), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(items[i], over), PP_OK);
    }
    run_all(p, mv_sem, items, NTASKS, NULL);
    PP_ASSERT_STATUS(pp_mvalue_get_int(over, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 0);
    PP_ASSERT_STATUS(pp_mvalue_get_int(inside, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 0);
    PP_ASSERT_STATUS(pp_msem_value(s, &units), PP_OK); /* every unit back */
    CU_ASSERT_EQUAL(units, SEM_N);
    pp_test_pool_finish(p);
    pp_mvalue_destroy(over);
    pp_mvalue_destroy(inside);
    pp_msem_destroy(s);
    pp_manager_destroy(m);
}

static void do_event(int method)
{
    pp_values *items[NPROCS];
    pp_manager *m = NULL;
    pp_mevent *e = NULL;
    pp_result *r = NULL;
    pp_pool *p;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mevent_create(m, &e), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    for (i = 0; i < NPROCS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items[i]), PP_OK);
    for (i = 0; i < NPROCS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_mevent(items[i], e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, mv_event, items, NPROCS, NULL, &r), PP_OK);
    /* Nobody can be done before the set. */
    PP_ASSERT_STATUS(pp_result_wait(r, 300), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_mevent_set(e), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < NPROCS; i++) {
        const pp_values *res = NULL;
        const pp_error *err = NULL;
        int64_t set = 0;
        PP_ASSERT_MSG(pp_result_item(r, i, &res, &err) == PP_OK, "task %u: %s", (unsigned)i,
                      err != NULL ? err->message : "?");
        PP_ASSERT_STATUS(pp_values_get_int(res, 0, &set), PP_OK);
        CU_ASSERT_EQUAL(set, 1);
        pp_values_destroy(items[i]);
    }
    pp_result_release(r);
    pp_test_pool_finish(p);
    pp_mevent_destroy(e);
    pp_manager_destroy(m);
}

/* A task and the parent meet at a barrier of 2, three rounds: each round
 * one is index 0 and the other 1. */
static void do_barrier(int method)
{
    pp_values *a = NULL;
    const pp_values *res = NULL;
    pp_manager *m = NULL;
    pp_mbarrier *b = NULL;
    pp_result *r = NULL;
    int64_t mine[3], theirs = -1;
    pp_pool *p;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mbarrier_create(m, 2, &b), PP_OK);
    p = make_pool(method, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mbarrier(a, b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(a, 3), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, mv_barrier, a, NULL, &r), PP_OK);
    for (i = 0; i < 3; i++)
        PP_ASSERT_STATUS(pp_mbarrier_wait(b, WAIT_MS, &mine[i]), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, &res), PP_OK);
    CU_ASSERT_EQUAL_FATAL(pp_values_count(res), 3);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS(pp_values_get_int(res, i, &theirs), PP_OK);
        CU_ASSERT(mine[i] + theirs == 1 && (theirs == 0 || theirs == 1));
    }
    pp_result_release(r);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp_mbarrier_destroy(b);
    pp_manager_destroy(m);
}

static void do_dict(int method)
{
    pp_values *items[NTASKS];
    pp_manager *m = NULL;
    pp_mdict *d = NULL;
    size_t i, n = 0;
    pp_pool *p;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mdict_create(m, &d), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    make_items(items, add_dict, d);
    run_all(p, mv_dict, items, NTASKS, NULL);
    PP_ASSERT_STATUS(pp_mdict_len(d, &n), PP_OK);
    CU_ASSERT_EQUAL(n, NTASKS);
    for (i = 0; i < NTASKS; i++) {
        pp_values *val = NULL;
        int64_t x = -1;
        char key[32];
        snprintf(key, sizeof key, "k%d", (int)i);
        PP_ASSERT_STATUS(pp_mdict_get(d, key, &val), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(val, 0, &x), PP_OK);
        CU_ASSERT_EQUAL(x, (int64_t)(i * i));
        pp_values_destroy(val);
    }
    pp_test_pool_finish(p);
    pp_mdict_destroy(d);
    pp_manager_destroy(m);
}

/* Tasks wait on a condition (with its lock) for ready != 0; the parent
 * sets it under the lock and notifies all. */
static void do_cond(int method)
{
    pp_values *items[NPROCS];
    pp_manager *m = NULL;
    pp_lock *lock = NULL;
    pp_mcond *c = NULL;
    pp_mvalue *ready = NULL, *woken = NULL;
    pp_result *r = NULL;
    int64_t n = -1;
    pp_pool *p;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, lock, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &ready), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &woken), PP_OK);
    p = make_pool(method, NPROCS, NULL);
    for (i = 0; i < NPROCS; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_mcond(items[i], c), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_lock(items[i], lock), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(items[i], ready), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(items[i], woken), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, mv_cond, items, NPROCS, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, 300), PP_ETIMEDOUT); /* they wait */
    PP_ASSERT_STATUS(pp_lock_acquire(lock, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_mvalue_set_int(ready, 1), PP_OK);
    PP_ASSERT_STATUS(pp_mcond_notify_all(c), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < NPROCS; i++) {
        const pp_error *e = NULL;
        PP_ASSERT_MSG(pp_result_item(r, i, NULL, &e) == PP_OK, "task %u: %s", (unsigned)i,
                      e != NULL ? e->message : "?");
        pp_values_destroy(items[i]);
    }
    PP_ASSERT_STATUS(pp_mvalue_get_int(woken, &n), PP_OK);
    CU_ASSERT_EQUAL(n, NPROCS);
    pp_result_release(r);
    pp_test_pool_finish(p);
    pp_mvalue_destroy(woken);
    pp_mvalue_destroy(ready);
    pp_mcond_destroy(c);
    pp_lock_destroy(lock);
    pp_manager_destroy(m);
}

/* A queue given to the pool initializer, kept in a global by it. */
static void do_initializer(int method)
{
    pp_values *items[NTASKS], *ia = NULL;
    pp_manager *m = NULL;
    pp_mqueue *q = NULL;
    pp_pool *p;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&ia), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mqueue(ia, q), PP_OK);
    p = make_pool(method, NPROCS, ia);
    pp_values_destroy(ia);
    for (i = 0; i < NTASKS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&items[i], "l", (int64_t)i), PP_OK);
    run_all(p, mv_init_put, items, NTASKS, NULL);
    drain(q);
    pp_test_pool_finish(p);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

PP_TEST_PER_METHOD(queue)
PP_TEST_PER_METHOD(value)
PP_TEST_PER_METHOD(sem)
PP_TEST_PER_METHOD(event)
PP_TEST_PER_METHOD(barrier)
PP_TEST_PER_METHOD(dict)
PP_TEST_PER_METHOD(cond)
PP_TEST_PER_METHOD(initializer)

/* ------------------------------------------------------------ in process */

/* What this process resolved is kept until pp_shutdown(): close it as
 * that would (the leak check counts the connections). */
static void travel_reset(void)
{
    pp__manager_travel_shutdown();
    PP_ASSERT_STATUS(pp__manager_travel_init(), PP_OK);
}

/* Each getter takes its own kind only; the adding process gets its own
 * handle back; a round trip through the codec resolves to a handle of the
 * same object. */
static void t_kinds_and_getters(void)
{
    pp_values *v = NULL, *d = NULL;
    pp_manager *m = NULL;
    pp_lock *lock = NULL, *gl = NULL;
    pp_msem *s = NULL, *gs = NULL;
    pp_mcond *c = NULL, *gc = NULL;
    pp_mevent *e = NULL, *ge = NULL;
    pp_mbarrier *b = NULL, *gb = NULL;
    pp_mvalue *x = NULL, *gx = NULL;
    pp_mqueue *q = NULL, *gq = NULL;
    pp_mdict *dd = NULL, *gd = NULL;
    pp_status ast = -1;
    pp__buf buf;
    pp__rd r;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 1, 1, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, lock, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mevent_create(m, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mbarrier_create(m, 2, &b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_double(m, 1.5, &x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 4, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mdict_create(m, &dd), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_msem(v, s), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mcond(v, c), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mevent(v, e), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mbarrier(v, b), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mvalue(v, x), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mqueue(v, q), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mdict(v, dd), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_int(v, 5), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_mqueue(NULL, q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_mqueue(v, NULL), PP_EINVAL);
    CU_ASSERT_EQUAL_FATAL(pp_values_count(v), 8);
    for (i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(pp_values_type(v, i), PP_TYPE_PROXY);

    /* The adder's own handles. */
    PP_ASSERT_STATUS(pp_values_get_msem(v, 0, &gs), PP_OK);
    CU_ASSERT_PTR_EQUAL(gs, s);
    PP_ASSERT_STATUS(pp_values_get_mcond(v, 1, &gc), PP_OK);
    CU_ASSERT_PTR_EQUAL(gc, c);
    PP_ASSERT_STATUS(pp_values_get_mqueue(v, 5, &gq), PP_OK);
    CU_ASSERT_PTR_EQUAL(gq, q);
    /* Wrong kinds, not proxies, out of range, NULL. */
    gq = q;
    PP_ASSERT_STATUS(pp_values_get_mqueue(v, 6, &gq), PP_ETYPE);
    CU_ASSERT_PTR_NULL(gq);
    PP_ASSERT_STATUS(pp_values_get_mdict(v, 5, &gd), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_msem(v, 1, &gs), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_mcond(v, 0, &gc), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_mevent(v, 3, &ge), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_mbarrier(v, 2, &gb), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_mvalue(v, 7, &gx), PP_ETYPE); /* an int */
    PP_ASSERT_STATUS(pp_values_get_lock(v, 5, &gl), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_mvalue(v, 8, &gx), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_get_mvalue(NULL, 0, &gx), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_get_mvalue(v, 4, NULL), PP_EINVAL);
    /* Proxies can be put in a hosted queue (as their locators). */
    PP_ASSERT_STATUS(pp_mqueue_try_put(q, v), PP_OK);
    {
        pp_values *back = NULL;
        pp_mqueue *bq = NULL;
        PP_ASSERT_STATUS(pp_mqueue_try_get(q, &back), PP_OK);
        CU_ASSERT_FATAL(back != NULL);
        CU_ASSERT_EQUAL(pp_values_count(back), pp_values_count(v));
        PP_ASSERT_STATUS(pp_values_get_mqueue(back, 5, &bq), PP_OK);
        CU_ASSERT(bq != NULL && pp_mqueue_id(bq) == pp_mqueue_id(q));
        pp_values_destroy(back);
    }

    /* Through the codec: handles of this process's own connection. */
    pp__buf_init(&buf);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(v, &buf), PP_OK);
    CU_ASSERT_EQUAL(buf.len, pp__values_encoded_size(v));
    pp__rd_init(&r, buf.data, buf.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, NULL, 0), PP_OK);
    PP_ASSERT_STATUS(ast, PP_OK);
    CU_ASSERT_EQUAL(r.pos, buf.len);
    PP_ASSERT_STATUS(pp_values_get_msem(d, 0, &gs), PP_OK);
    CU_ASSERT(gs != s && pp_msem_id(gs) == pp_msem_id(s));
    PP_ASSERT_STATUS(pp_values_get_mcond(d, 1, &gc), PP_OK);
    CU_ASSERT(gc != c && pp_mcond_id(gc) == pp_mcond_id(c));
    PP_ASSERT_STATUS(pp_values_get_mevent(d, 2, &ge), PP_OK);
    CU_ASSERT_EQUAL(pp_mevent_id(ge), pp_mevent_id(e));
    PP_ASSERT_STATUS(pp_values_get_mbarrier(d, 3, &gb), PP_OK);
    CU_ASSERT_EQUAL(pp_mbarrier_id(gb), pp_mbarrier_id(b));
    PP_ASSERT_STATUS(pp_values_get_mvalue(d, 4, &gx), PP_OK);
    CU_ASSERT_EQUAL(pp_mvalue_id(gx), pp_mvalue_id(x));
    CU_ASSERT_EQUAL(pp_mvalue_type(gx), PP_TYPE_DOUBLE);
    PP_ASSERT_STATUS(pp_values_get_mqueue(d, 5, &gq), PP_OK);
    CU_ASSERT_EQUAL(pp_mqueue_id(gq), pp_mqueue_id(q));
    PP_ASSERT_STATUS(pp_values_get_mdict(d, 6, &gd), PP_OK);
    CU_ASSERT_EQUAL(pp_mdict_id(gd), pp_mdict_id(dd));
    /* They work: the same objects. */
    PP_ASSERT_STATUS(pp_msem_acquire(gs, 0), PP_OK);
    PP_ASSERT_STATUS(pp_msem_try_acquire(s), PP_EBUSY);
    PP_ASSERT_STATUS(pp_msem_release(gs), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_set(ge), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_wait(e, 0), PP_OK);
    pp_values_destroy(d);
    pp__buf_free(&buf);
    travel_reset();

    pp_values_destroy(v);
    pp_mdict_destroy(dd);
    pp_mqueue_destroy(q);
    pp_mvalue_destroy(x);
    pp_mbarrier_destroy(b);
    pp_mevent_destroy(e);
    pp_mcond_destroy(c);
    pp_msem_destroy(s);
    pp_lock_destroy(lock);
    pp_manager_destroy(m);
}

/* A task returns the queue it got: the parent resolves it with its own
 * connection, and it is the same queue. Two tasks in one worker get the
 * same handle (one per object and process). */
static void t_proxy_in_result(void)
{
    pp_values *a = NULL, *res1 = NULL, *res2 = NULL, *item = NULL;
    pp_manager *m = NULL;
    pp_mqueue *q = NULL, *got = NULL;
    int64_t h1 = 0, h2 = 1, x = 0;
    pp_pool *p;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mqueue(a, q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, mv_echo, a, &res1, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, mv_echo, a, &res2, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res1, 1, &h1), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res2, 1, &h2), PP_OK);
    CU_ASSERT_EQUAL(h1, h2);
    PP_ASSERT_STATUS(pp_values_get_mqueue(res1, 0, &got), PP_OK);
    CU_ASSERT_FATAL(got != NULL);
    CU_ASSERT(got != q && pp_mqueue_id(got) == pp_mqueue_id(q));
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&item, "l", (int64_t)42), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(got, item, WAIT_MS), PP_OK);
    pp_values_destroy(item);
    item = NULL;
    PP_ASSERT_STATUS(pp_mqueue_get(q, &item, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(item, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 42);
    pp_values_destroy(item);
    pp_values_destroy(res1);
    pp_values_destroy(res2);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    travel_reset();
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

/* (queue): take an item (lock, value) from the hosted queue, add 5 to the
 * value under the lock. The item's lock and value are locators the worker
 * opens itself. */
static int mv_from_queue(pp_task *t)
{
    pp_mqueue *q = NULL;
    pp_values *item = NULL;
    pp_lock *l = NULL;
    pp_mvalue *x = NULL;
    int64_t now = 0;
    pp_status st = pp_values_get_mqueue(pp_task_args(t), 0, &q);

    if (st == PP_OK)
        st = pp_mqueue_get(q, &item, 30000);
    if (st == PP_OK)
        st = pp_values_get_lock(item, 0, &l);
    if (st == PP_OK)
        st = pp_values_get_mvalue(item, 1, &x);
    if (st == PP_OK)
        st = pp_lock_acquire(l, 30000);
    if (st == PP_OK) {
        st = pp_mvalue_add_int(x, 5, &now);
        (void)pp_lock_release(l);
    }
    pp_values_destroy(item);
    if (st != PP_OK)
        return pp_task_fail(t, st, "from queue: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), now);
}
PP_TASK_REGISTER(mv_from_queue)

/* A manager lock and a proxy as items of a hosted queue, taken by a pool
 * worker that never got them as arguments: they work there. */
static void t_items_carry_proxies(void)
{
    pp_values *a = NULL, *item = NULL, *res = NULL;
    pp_manager *m = NULL;
    pp_mqueue *q = NULL;
    pp_mvalue *x = NULL;
    pp_lock *l = NULL;
    int64_t v = 0;
    pp_pool *p;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 10, &x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&item), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(item, l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(item, x), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(q, item, WAIT_MS), PP_OK);
    p = make_pool(PP_START_DEFAULT, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mqueue(a, q), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mv_from_queue, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_mvalue_get_int(x, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 15);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_values_destroy(item);
    pp_test_pool_finish(p);
    travel_reset();
    pp_lock_destroy(l);
    pp_mvalue_destroy(x);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

/* A destroyed object: the task is not run, it fails with PP_ENOENT and a
 * message naming the object; the worker goes on. */
static void t_destroyed_object(void)
{
    pp_values *a = NULL, *res = NULL;
    pp_manager *m = NULL;
    pp_mqueue *q = NULL;
    char name[64];
    pp_pool *p;
    pp_error e;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    snprintf(name, sizeof name, "manager queue %llu", (unsigned long long)pp_mqueue_id(q));
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mqueue(a, q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(a, 1), PP_OK);
    pp_mqueue_destroy(q); /* the creator's handle: the queue goes */
    p = make_pool(PP_START_SPAWN, 1, NULL);
    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, mv_put, a, NULL, &e), PP_ENOENT);
    PP_ASSERT_MSG(strstr(e.message, name) != NULL && strstr(e.message, "destroyed") != NULL &&
                      strstr(e.message, pp_manager_address(m)) != NULL,
                  "message: %s", e.message);
    PP_ASSERT_STATUS(pp_apply(p, mv_noop_pid, NULL, &res, NULL), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp_manager_destroy(m);
}

/* A manager with a key of its own started after the pool's worker: the
 * task fails with PP_EAUTH and a message naming the queue; a manager shut
 * down: PP_ECONNLOST in bounded time, never a hang. */
static void t_no_key_then_gone(void)
{
    static const uint8_t key[] = "a key of this test, not the program's";
    pp_values *a = NULL, *res = NULL;
    pp_manager_options o;
    pp_manager *m = NULL;
    pp_mvalue *x = NULL;
    int64_t t0;
    pp_pool *p;
    pp_error e;

    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS(pp_apply(p, mv_noop_pid, NULL, &res, NULL), PP_OK); /* it runs */
    pp_values_destroy(res);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mvalue_create_int(m, 0, &x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mvalue(a, x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(a, 1), PP_OK);
    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, mv_add, a, NULL, &e), PP_EAUTH);
    PP_ASSERT_MSG(strstr(e.message, "manager value") != NULL && strstr(e.message, "no key") != NULL,
                  "message: %s", e.message);
    pp_test_pool_finish(p);

    PP_ASSERT_STATUS(pp_manager_shutdown(m), PP_OK);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_apply(p, mv_add, a, NULL, &e), PP_ECONNLOST);
    PP_ASSERT_MSG(strstr(e.message, "manager value") != NULL &&
                      strstr(e.message, "cannot be used") != NULL,
                  "message: %s", e.message);
    CU_ASSERT(pp_test_now_ms() - t0 < WAIT_MS);
    pp_test_pool_finish(p);
    pp_values_destroy(a);
    pp_mvalue_destroy(x);
    pp_manager_destroy(m);
}

/* Offset of the object byte in the encoding of a one-item tuple:
 * u32 count, u8 tag, u8 backend, then the object. */
#define OBJ_AT 6u

/* Malformed locators of proxies are refused whole (PP_EPROTO, reader
 * unmoved), never crash; every well-formed one decodes. */
static void t_locator_malformed(void)
{
    pp_values *v = NULL, *d = NULL;
    pp_manager *m = NULL;
    pp_lock *lock = NULL;
    pp_mcond *c = NULL;
    pp__buf b;
    pp__rd r;
    size_t i, n, id_end;
    uint8_t *bad;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, lock, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_mcond(v, c), PP_OK);
    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(v, &b), PP_OK);
    n = b.len;
    CU_ASSERT_EQUAL_FATAL(b.data[4], PP__TAG_REMOTE);
    CU_ASSERT_EQUAL_FATAL(b.data[OBJ_AT], PP__OBJ_COND);
    id_end = OBJ_AT + 2 + b.data[OBJ_AT + 1] + 16; /* address, instance, id */
    CU_ASSERT_EQUAL_FATAL(n, id_end + 9);          /* the lock's kind and id */
    pp__rd_init(&r, b.data, n);
    PP_ASSERT_STATUS(pp__values_skip(&r), PP_OK);
    CU_ASSERT_EQUAL(r.pos, n);
    for (i = 4; i < n; i++) { /* every truncation */
        d = (pp_values *)&d;
        pp__rd_init(&r, b.data, i);
        PP_ASSERT_STATUS(pp__values_decode(&r, &d, NULL, NULL, 0), PP_EPROTO);
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_EQUAL(r.pos, 0);
    }
    bad = malloc(n);
    CU_ASSERT_FATAL(bad != NULL);
    /* object 0, past the last kind; the condition's lock of a bad kind (0,
     * a semaphore), or id 0; a queue that carries a lock */
    for (i = 0; i < 6; i++) {
        memcpy(bad, b.data, n);
        if (i == 0)
            bad[OBJ_AT] = 0;
        else if (i == 1)
            bad[OBJ_AT] = PP__OBJ_KINDS;
        else if (i == 2)
            bad[id_end] = 0;
        else if (i == 3)
            bad[id_end] = PP__OBJ_SEM;
        else if (i == 4)
            memset(bad + id_end + 1, 0, 8);
        else
            bad[OBJ_AT] = PP__OBJ_QUEUE; /* 9 bytes too many: not one item */
        d = (pp_values *)&d;
        pp__rd_init(&r, bad, n);
        if (i == 5) {
            /* the queue decodes (its id is another kind in the server),
             * but not the whole buffer: the lock bytes are left over */
            pp_status st = pp__values_decode(&r, &d, NULL, NULL, 0);
            if (st == PP_OK) {
                CU_ASSERT(r.pos < n);
                pp_values_destroy(d);
            } else
                PP_ASSERT_STATUS(st, PP_EPROTO);
            continue;
        }
        PP_ASSERT_MSG(pp__values_decode(&r, &d, NULL, NULL, 0) == PP_EPROTO, "case %u",
                      (unsigned)i);
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_EQUAL(r.pos, 0);
    }
    free(bad);
    pp__buf_free(&b);
    pp_values_destroy(v);
    travel_reset();
    pp_mcond_destroy(c);
    pp_lock_destroy(lock);
    pp_manager_destroy(m);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_METHODS(queue, 120),
    PP_TEST_METHODS(value, 120),
    PP_TEST_METHODS(sem, 120),
    PP_TEST_METHODS(event, 120),
    PP_TEST_METHODS(barrier, 120),
    PP_TEST_METHODS(dict, 120),
    PP_TEST_METHODS(cond, 120),
    PP_TEST_METHODS(initializer, 120),
    PP_TEST_TIMEOUT(t_kinds_and_getters, 60),
    PP_TEST_TIMEOUT(t_items_carry_proxies, 60),
    PP_TEST_TIMEOUT(t_proxy_in_result, 60),
    PP_TEST_TIMEOUT(t_destroyed_object, 60),
    PP_TEST_TIMEOUT(t_no_key_then_gone, 120),
    PP_TEST_TIMEOUT(t_locator_malformed, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_values)
{
    pp_test_add_suite("manager_values", g_cases);
}
