/*
 * test_manager_pool.c — a manager lock travels in task and initializer
 * arguments and works in pool workers, on every start method the
 * platform has (fork and forkserver variants are in the skip list on
 * Windows), with user code that does not know it is a manager's lock:
 *
 *  - the tutorial's Manager program: a manager, its lock passed to
 *    starmap_async of 10 tasks in a pool of 4; no two critical sections
 *    overlap (a detector in a shared memory block, independent of the
 *    manager, and the log of enter/exit times) and the fencing tokens
 *    strictly increase in the order the sections ran;
 *  - the same with the lock given to the pool initializer;
 *  - a worker killed while holding the lock: the parent's next acquire
 *    gets PP_EOWNERDEAD and a larger token;
 *  - a manager with a key of its own, started after the pool: the task
 *    fails with PP_EAUTH and says why; a pool created after it works;
 *  - a manager shut down: its lock's tasks fail with PP_ECONNLOST in
 *    bounded time, never hang;
 *  - locators: a server instance that is not the lock's is PP_ENOENT,
 *    malformed locator bytes are PP_EPROTO.
 */
#include <apr_atomic.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "pp_test.h"
#include "wire/buf.h"
#include "values/tuple.h"
#include "sync/keyring.h"
#include "manager/manager.h"
#include "procpool/procpool.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())
#define LOCK_MS (30000 * pp_test_timeout_mult())
/* A server that is gone is noticed within a reply slice (1 s) and a
 * grace of 5 s, or at once when the connection is refused. */
#define LOST_MS (15000 * pp_test_timeout_mult())
#define NTASKS  10
#define NPROCS  4

/* ------------------------------------------------------------ shared area */

typedef struct entry {
    int64_t enter, exit; /* ns, taken inside the critical section */
    uint64_t token;      /* the manager's fencing token of that hold */
    int64_t who;
} entry;

typedef struct area {
    volatile apr_uint32_t inside;   /* tasks inside the critical section */
    volatile apr_uint32_t overlaps; /* entries that found another inside */
    volatile apr_uint32_t nlog;
    volatile int64_t holder_pid;
    volatile uint64_t held_token;
    entry log[NTASKS];
} area;

/* ------------------------------------------------------------ task side */

static pp_lock *g_init_lock;
static pp_shm *g_init_shm;

/* The tutorial's task, with the overlap detector: acquire, note, sleep a
 * little inside, release. Result: the fencing token. */
static int critical(pp_task *t, pp_lock *lock, pp_shm *shm, int64_t who)
{
    area *a = pp_shm_ptr(shm);
    apr_uint32_t slot;
    uint64_t token;
    int64_t enter;
    pp_status st;

    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
    enter = pp__plat_now_ns();
    if (apr_atomic_inc32(&a->inside) != 0)
        apr_atomic_inc32(&a->overlaps);
    token = pp_lock_fencing_token(lock);
    pp__plat_sleep_ms(5 + rand() % 10);
    slot = apr_atomic_inc32(&a->nlog);
    if (slot < NTASKS) {
        a->log[slot].enter = enter;
        a->log[slot].token = token;
        a->log[slot].who = who;
        a->log[slot].exit = pp__plat_now_ns();
    }
    apr_atomic_dec32(&a->inside);
    st = pp_lock_release(lock);
    if (st != PP_OK)
        return pp_task_fail(t, st, "release: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), (int64_t)token);
}

/* (lock, shm, who) */
static int mp_task(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    int64_t who = 0;
    pp_status st = pp_values_unpack(pp_task_args(t), "kml", &lock, &shm, &who);

    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (lock, shm, who): %s", pp_err_name(st));
    return critical(t, lock, shm, who);
}
PP_TASK_REGISTER(mp_task)

static int mp_initializer(pp_task *t)
{
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &g_init_lock, &g_init_shm);

    return st == PP_OK ? 0 : pp_task_fail(t, st, "initializer: %s", pp_err_name(st));
}
PP_TASK_REGISTER(mp_initializer)

/* (who): the initializer's lock and block */
static int mp_init_task(pp_task *t)
{
    int64_t who = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &who) != PP_OK || g_init_lock == NULL)
        return pp_task_fail(t, PP_EINVAL, "no initializer lock");
    return critical(t, g_init_lock, g_init_shm, who);
}
PP_TASK_REGISTER(mp_init_task)

/* (lock, shm): take the lock, say who holds it, wait to be killed. */
static int mp_hold(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &lock, &shm);
    area *a;

    if (st != PP_OK)
        return pp_task_fail(t, st, "hold: %s", pp_err_name(st));
    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "hold: acquire: %s", pp_err_name(st));
    a = pp_shm_ptr(shm);
    a->held_token = pp_lock_fencing_token(lock);
    a->holder_pid = (int64_t)pp__plat_getpid();
    pp__plat_sleep_ms(120000);
    return pp_task_fail(t, 1, "the holder was not killed");
}
PP_TASK_REGISTER(mp_hold)

/* (lock): acquire and release; the result is the acquire's status. */
static int mp_probe(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "k", &lock);

    if (st != PP_OK)
        return pp_task_fail(t, st, "probe: %s", pp_err_name(st));
    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "probe: acquire: %s", pp_err_name(st));
    pp_lock_release(lock);
    return pp_values_add_int(pp_task_result(t), st);
}
PP_TASK_REGISTER(mp_probe)

/* (lock): return it. */
static int mp_echo(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_status st = pp_values_get_lock(pp_task_args(t), 0, &lock);

    if (st != PP_OK)
        return pp_task_fail(t, st, "echo: %s", pp_err_name(st));
    return pp_values_add_lock(pp_task_result(t), lock);
}
PP_TASK_REGISTER(mp_echo)

/* (rlock): acquire it twice (recursively), release twice; a third
 * release is PP_EPERM. Result: the status of the first acquire. */
static int mp_rlock_twice(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "k", &lock), st2;

    if (st != PP_OK)
        return pp_task_fail(t, st, "rlock: %s", pp_err_name(st));
    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "rlock: acquire: %s", pp_err_name(st));
    st2 = pp_lock_acquire(lock, 0);
    if (st2 != PP_OK)
        return pp_task_fail(t, st2, "rlock: second acquire: %s", pp_err_name(st2));
    if ((st2 = pp_lock_release(lock)) != PP_OK || (st2 = pp_lock_release(lock)) != PP_OK)
        return pp_task_fail(t, st2, "rlock: release: %s", pp_err_name(st2));
    if ((st2 = pp_lock_release(lock)) != PP_EPERM)
        return pp_task_fail(t, 1, "rlock: a third release gave %s", pp_err_name(st2));
    return pp_values_add_int(pp_task_result(t), st);
}
PP_TASK_REGISTER(mp_rlock_twice)

static int mp_noop(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(mp_noop)

/* ------------------------------------------------------------ test side */

typedef struct fixture {
    pp_manager *m;
    pp_lock *lock;
    pp_shm *shm;
    area *a;
} fixture;

static void fixture_make(fixture *f)
{
    memset(f, 0, sizeof *f);
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&f->m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(f->m, &f->lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(area), &f->shm), PP_OK);
    f->a = pp_shm_ptr(f->shm);
}

static void fixture_free(fixture *f)
{
    pp_shm_destroy(f->shm);
    pp_lock_destroy(f->lock);
    pp_manager_destroy(f->m);
}

static pp_pool *make_pool(int method, int n, const pp_values *initargs)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)method;
    if (initargs != NULL) {
        o.initializer = mp_initializer;
        o.initargs = initargs;
    }
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

static int by_enter(const void *x, const void *y)
{
    const entry *a = x, *b = y;

    return a->enter < b->enter ? -1 : a->enter > b->enter;
}

/* Every task ran once, alone in the critical section, and the tokens
 * rise in the order the sections ran. */
static void check_area(area *a)
{
    unsigned i;

    CU_ASSERT_EQUAL_FATAL(apr_atomic_read32(&a->nlog), NTASKS);
    CU_ASSERT_EQUAL(apr_atomic_read32(&a->overlaps), 0);
    qsort(a->log, NTASKS, sizeof a->log[0], by_enter);
    for (i = 0; i + 1 < NTASKS; i++) {
        PP_ASSERT_MSG(a->log[i + 1].enter >= a->log[i].exit, "sections of tasks %d and %d overlap",
                      (int)a->log[i].who, (int)a->log[i + 1].who);
        PP_ASSERT_MSG(a->log[i + 1].token > a->log[i].token, "token %llu after %llu",
                      (unsigned long long)a->log[i + 1].token, (unsigned long long)a->log[i].token);
    }
}

/* starmap_async of NTASKS (lock, shm, i) in a pool of NPROCS, then get. */
static void do_starmap(int method)
{
    pp_values *items[NTASKS];
    pp_result *r = NULL;
    fixture f;
    pp_pool *p;
    size_t i;

    fixture_make(&f);
    p = make_pool(method, NPROCS, NULL);
    for (i = 0; i < NTASKS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&items[i], "kml", f.lock, f.shm, (int64_t)i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, mp_task, items, NTASKS, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < NTASKS; i++) {
        const pp_error *e = NULL;
        PP_ASSERT_MSG(pp_result_item(r, i, NULL, &e) == PP_OK, "task %u: %s", (unsigned)i,
                      e != NULL ? e->message : "?");
    }
    check_area(f.a);
    /* The parent still takes it, with a token above all of theirs. */
    PP_ASSERT_STATUS(pp_lock_acquire(f.lock, LOCK_MS), PP_OK);
    CU_ASSERT(pp_lock_fencing_token(f.lock) > f.a->log[NTASKS - 1].token);
    PP_ASSERT_STATUS(pp_lock_release(f.lock), PP_OK);
    pp_result_release(r);
    for (i = 0; i < NTASKS; i++)
        pp_values_destroy(items[i]);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* The lock given to the pool initializer, kept in a global by it. */
static void do_initializer(int method)
{
    pp_values *items[NTASKS], *ia = NULL;
    pp_result *r = NULL;
    fixture f;
    pp_pool *p;
    size_t i;

    fixture_make(&f);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&ia, "km", f.lock, f.shm), PP_OK);
    p = make_pool(method, NPROCS, ia);
    pp_values_destroy(ia);
    for (i = 0; i < NTASKS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&items[i], "l", (int64_t)i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, mp_init_task, items, NTASKS, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < NTASKS; i++) {
        const pp_error *e = NULL;
        PP_ASSERT_MSG(pp_result_item(r, i, NULL, &e) == PP_OK, "task %u: %s", (unsigned)i,
                      e != NULL ? e->message : "?");
    }
    check_area(f.a);
    pp_result_release(r);
    for (i = 0; i < NTASKS; i++)
        pp_values_destroy(items[i]);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* A worker killed while holding: the server releases the lock when the
 * worker's connection ends; the parent's next acquire is told. */
static void do_holder_killed(int method)
{
    pp_values *a = NULL, *pa = NULL, *res = NULL;
    int64_t deadline, victim, st = 0;
    pp_result *r = NULL;
    fixture f;
    pp_pool *p;

    fixture_make(&f);
    p = make_pool(method, 2, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "km", f.lock, f.shm), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, mp_hold, a, NULL, &r), PP_OK);
    deadline = pp_test_now_ms() + WAIT_MS;
    while (f.a->holder_pid == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(5);
    victim = f.a->holder_pid;
    CU_ASSERT_FATAL(victim != 0);
    PP_ASSERT_STATUS(pp_lock_try_acquire(f.lock), PP_EBUSY);
    pp_test_kill_pid(victim);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_EWORKERDIED);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_lock_acquire(f.lock, LOCK_MS), PP_EOWNERDEAD);
    CU_ASSERT(pp_lock_fencing_token(f.lock) > f.a->held_token);
    PP_ASSERT_STATUS(pp_lock_release(f.lock), PP_OK);
    /* Told once; the pool's other workers use the lock normally. */
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&pa, "k", f.lock), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, pa, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &st), PP_OK);
    PP_ASSERT_STATUS((pp_status)st, PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(pa);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

PP_TEST_PER_METHOD(starmap)
PP_TEST_PER_METHOD(initializer)
PP_TEST_PER_METHOD(holder_killed)

/* ------------------------------------------------------------ keys */

/* The pid of the worker that runs the next task of a pool of one. */
static int64_t worker_pid(pp_pool *p)
{
    pp_values *res = NULL;
    int64_t pid = 0;

    if (pp_apply(p, mp_noop, NULL, &res, NULL) == PP_OK)
        pp_values_get_int(res, 0, &pid);
    pp_values_destroy(res);
    return pid;
}

/* A manager started without a key after the pool: its lock works in the
 * pool's workers, which inherited the program key when they started. */
static void t_program_key_pool_first(void)
{
    pp_values *a = NULL, *res = NULL;
    int64_t st = -1;
    pp_pool *p;
    fixture f;

    p = make_pool(PP_START_SPAWN, 1, NULL);
    CU_ASSERT(worker_pid(p) > 0);
    fixture_make(&f);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "k", f.lock), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &st), PP_OK);
    PP_ASSERT_STATUS((pp_status)st, PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* A manager with its own key, started after the pool's worker: that
 * worker does not know the key; the task fails at once with PP_EAUTH and
 * says why and what to do. A replacement worker started afterwards, and a
 * pool created afterwards, know it. */
static void t_custom_key_after_pool(void)
{
    static const uint8_t key[] = "a key of this test, not the program's";
    pp_values *a = NULL, *res = NULL;
    pp_manager_options o;
    pp_manager *m = NULL;
    pp_lock *l = NULL;
    pp_pool *p, *q;
    int64_t t0, victim, pid;
    pp_error e;

    p = make_pool(PP_START_SPAWN, 1, NULL);
    victim = worker_pid(p); /* it runs */
    CU_ASSERT_FATAL(victim > 0);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "k", l), PP_OK);
    memset(&e, 0, sizeof e);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, a, NULL, &e), PP_EAUTH);
    CU_ASSERT(pp_test_now_ms() - t0 < LOST_MS);
    PP_ASSERT_MSG(strstr(e.message, "manager lock") != NULL &&
                      strstr(e.message, pp_manager_address(m)) != NULL &&
                      strstr(e.message, "no key") != NULL &&
                      strstr(e.message, "before the pool") != NULL,
                  "message: %s", e.message);
    /* Its replacement starts after the manager: it knows the key. */
    pp_test_kill_pid(victim);
    t0 = pp_test_now_ms();
    while ((pid = worker_pid(p)) == victim || pid <= 0) {
        CU_ASSERT_FATAL(pp_test_now_ms() - t0 < WAIT_MS);
        pp_test_sleep_ms(10);
    }
    res = NULL;
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, a, &res, &e), PP_OK);
    pp_values_destroy(res);
    pp_test_pool_finish(p);

    q = make_pool(PP_START_SPAWN, 1, NULL);
    res = NULL;
    PP_ASSERT_STATUS(pp_apply(q, mp_probe, a, &res, &e), PP_OK);
    pp_values_destroy(res);
    pp_test_pool_finish(q);
    pp_values_destroy(a);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------------ failures */

/* The manager shut down: a worker that had the lock (its cached
 * connection breaks) and one that never had it (nobody answers at the
 * address) both fail the task in bounded time. */
static void t_manager_shut_down(void)
{
    pp_values *a = NULL, *res = NULL;
    pp_pool *p, *q;
    pp_error e;
    fixture f;
    int64_t t0;

    fixture_make(&f);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "k", f.lock), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, a, &res, NULL), PP_OK);
    pp_values_destroy(res);
    PP_ASSERT_STATUS(pp_manager_shutdown(f.m), PP_OK);

    memset(&e, 0, sizeof e);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_apply(p, mp_probe, a, NULL, &e), PP_ETASK);
    CU_ASSERT_EQUAL(e.code, PP_ECONNLOST);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < LOST_MS, "took %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    pp_test_pool_finish(p);

    q = make_pool(PP_START_SPAWN, 1, NULL);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_apply(q, mp_probe, a, NULL, &e), PP_ECONNLOST);
    PP_ASSERT_MSG(strstr(e.message, "cannot be used") != NULL, "message: %s", e.message);
    CU_ASSERT(pp_test_now_ms() - t0 < LOST_MS);
    pp_test_pool_finish(q);
    pp_values_destroy(a);
    fixture_free(&f);
}

/* ------------------------------------------------------------ locators */

/* A task returns the lock it was given: the caller gets a working handle
 * to the same lock (resolved in this process), not a pointer of the
 * worker's. */
static void t_lock_in_result(void)
{
    pp_values *a = NULL, *res = NULL;
    pp_lock *got = NULL;
    pp_pool *p;
    fixture f;

    fixture_make(&f);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "k", f.lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, mp_echo, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_lock(res, 0, &got), PP_OK);
    CU_ASSERT_FATAL(got != NULL);
    CU_ASSERT_EQUAL(pp_manager_lock_id(got), pp_manager_lock_id(f.lock));
    PP_ASSERT_STATUS(pp_lock_acquire(got, LOCK_MS), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(f.lock), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(got), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp__manager_travel_shutdown(); /* what this process resolved (as pp_shutdown) */
    PP_ASSERT_STATUS(pp__manager_travel_init(), PP_OK);
    fixture_free(&f);
}

/* A manager RLock travels too, and stays recursive in the worker; while
 * the worker holds it, the parent cannot take it. */
static void t_rlock_in_task(void)
{
    pp_values *a = NULL, *res = NULL;
    pp_lock *rl = NULL;
    int64_t first = -1;
    pp_pool *p;
    fixture f;

    fixture_make(&f);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(f.m, &rl), PP_OK);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "k", rl), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_rlock_twice, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &first), PP_OK);
    CU_ASSERT_EQUAL(first, PP_OK);
    /* Released in the worker: the parent takes it. */
    PP_ASSERT_STATUS(pp_lock_acquire(rl, LOCK_MS), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(rl), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp_lock_destroy(rl);
    fixture_free(&f);
}

/* A fork worker that uses the parent's manager lock handle (inherited,
 * not passed): PP_ESTATE, never requests interleaved on the parent's
 * connection; the parent's handle still works. */
static pp_lock *g_inherited;

static int mp_inherited(pp_task *t)
{
    pp_status a = pp_lock_try_acquire(g_inherited), r = pp_lock_release(g_inherited);
    pp_status st = pp_values_add_int(pp_task_result(t), a);

    return st != PP_OK ? st : pp_values_add_int(pp_task_result(t), r);
}
PP_TASK_REGISTER(mp_inherited)

static void t_inherited_handle_refused(void)
{
    pp_values *a = NULL, *res = NULL;
    int64_t got_try = 0, got_rel = 0;
    pp_pool *p;
    fixture f;

    fixture_make(&f);
    g_inherited = f.lock;
    p = make_pool(PP_START_FORK, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_inherited, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &got_try), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 1, &got_rel), PP_OK);
    PP_ASSERT_STATUS((pp_status)got_try, PP_ESTATE);
    PP_ASSERT_STATUS((pp_status)got_rel, PP_ESTATE);
    PP_ASSERT_STATUS(pp_lock_acquire(f.lock, LOCK_MS), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(f.lock), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* (address): connect with the key this worker knows (Python's
 * authkey=None), make a lock there, use it. Result: the connect's status. */
static int mp_connect_inherited(pp_task *t)
{
    const char *addr = NULL;
    pp_manager *m = NULL;
    pp_lock *l = NULL;
    pp_status st = pp_values_get_str(pp_task_args(t), 0, &addr);

    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (address)");
    st = pp_manager_connect(addr, NULL, 0, &m);
    if (st == PP_OK) {
        pp_status s2 = pp_manager_lock(m, &l);
        if (s2 == PP_OK)
            s2 = pp_lock_acquire(l, LOCK_MS);
        if (s2 == PP_OK)
            s2 = pp_lock_release(l);
        pp_lock_destroy(l);
        pp_manager_destroy(m);
        if (s2 != PP_OK)
            return pp_task_fail(t, s2, "using the connection: %s", pp_err_name(s2));
    }
    return pp_values_add_int(pp_task_result(t), st);
}
PP_TASK_REGISTER(mp_connect_inherited)

/* A worker connects by itself with the key it inherited (key NULL): the
 * program key for a default manager; a manager with its own key started
 * after the worker is PP_EAUTH there (the worker never learnt it). */
static void t_connect_with_inherited_key(void)
{
    static const uint8_t key[] = "another key of this test";
    pp_values *a = NULL, *res = NULL;
    pp_manager_options o;
    pp_manager *other = NULL;
    int64_t got = -1;
    pp_pool *p;
    fixture f;

    fixture_make(&f);
    p = make_pool(PP_START_SPAWN, 1, NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "s", pp_manager_address(f.m)), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_connect_inherited, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &got), PP_OK);
    PP_ASSERT_STATUS((pp_status)got, PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
    a = res = NULL;
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&other, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "s", pp_manager_address(other)), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, mp_connect_inherited, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &got), PP_OK);
    PP_ASSERT_STATUS((pp_status)got, PP_EAUTH);
    /* The program itself knows both (its own keyring). */
    {
        pp_manager *c = NULL;
        PP_ASSERT_STATUS(pp_manager_connect(pp_manager_address(other), NULL, 0, &c), PP_OK);
        pp_manager_destroy(c);
        PP_ASSERT_STATUS(pp_manager_connect(pp_manager_address(other), NULL, 1, &c), PP_EINVAL);
    }
    pp_values_destroy(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    pp_manager_destroy(other);
    fixture_free(&f);
}

/* Offset of the locator's instance in the encoding of the one-item tuple
 * (lock): u32 count, u8 tag, u8 backend, u8 object, u8 n, n address bytes. */
static size_t instance_at(const pp__buf *b)
{
    return 4 + 1 + 3 + (size_t)b->data[7];
}

/* A locator is resolved in this process too (a result can carry a lock):
 * its own instance gives a working handle, another instance (a server
 * restarted at the same address) PP_ENOENT. */
static void t_locator_instance(void)
{
    char name[128];
    pp_values *v = NULL, *d = NULL;
    pp_lock *got = NULL;
    pp_status ast;
    pp__buf b;
    pp__rd r;
    fixture f;

    fixture_make(&f);
    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "k", f.lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(v, &b), PP_OK);
    CU_ASSERT_EQUAL_FATAL(b.data[4], PP__TAG_REMOTE);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, name, sizeof name), PP_OK);
    PP_ASSERT_STATUS(ast, PP_OK);
    PP_ASSERT_STATUS(pp_values_get_lock(d, 0, &got), PP_OK);
    CU_ASSERT(got != NULL && got != f.lock);
    CU_ASSERT_EQUAL(pp_manager_lock_id(got), pp_manager_lock_id(f.lock));
    PP_ASSERT_STATUS(pp_lock_acquire(got, LOCK_MS), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(f.lock), PP_EBUSY); /* the same lock */
    PP_ASSERT_STATUS(pp_lock_release(got), PP_OK);
    pp_values_destroy(d);

    b.data[instance_at(&b)] ^= 0x5a; /* another instance */
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, name, sizeof name), PP_OK);
    PP_ASSERT_STATUS(ast, PP_ENOENT);
    PP_ASSERT_MSG(strstr(name, "manager lock") != NULL, "name: %s", name);
    PP_ASSERT_STATUS(pp_values_get_lock(d, 0, &got), PP_ENOENT);
    CU_ASSERT_PTR_NULL(got);
    pp_values_destroy(d);
    pp_values_destroy(v);
    pp__buf_free(&b);
    /* What this process resolved is kept until pp_shutdown(): close it as
     * that would (the leak check counts the connection). */
    pp__manager_travel_shutdown();
    PP_ASSERT_STATUS(pp__manager_travel_init(), PP_OK);
    fixture_free(&f);
}

/* Malformed locators are refused whole (PP_EPROTO), never crash. */
static void t_locator_malformed(void)
{
    static const char addr[] = "tcp://127.0.0.1:9";
    uint8_t good[64], bad[64];
    pp_values *d = (pp_values *)&d;
    size_t n = 0, i;
    pp__rd r;

    good[n++] = 1; /* count 1 */
    good[n++] = 0;
    good[n++] = 0;
    good[n++] = 0;
    good[n++] = PP__TAG_REMOTE;
    good[n++] = 1; /* manager */
    good[n++] = 1; /* lock */
    good[n++] = (uint8_t)(sizeof addr - 1);
    memcpy(good + n, addr, sizeof addr - 1);
    n += sizeof addr - 1;
    memset(good + n, 7, 16); /* instance, id */
    n += 16;
    pp__rd_init(&r, good, n);
    PP_ASSERT_STATUS(pp__values_skip(&r), PP_OK); /* well formed */
    CU_ASSERT_EQUAL(r.pos, n);
    for (i = 4; i < n; i++) { /* every truncation */
        pp__rd_init(&r, good, i);
        PP_ASSERT_STATUS(pp__values_decode(&r, &d, NULL, NULL, 0), PP_EPROTO);
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_EQUAL(r.pos, 0);
    }
    /* unknown backend, unknown object, empty address, a space in it,
     * id 0 */
    for (i = 0; i < 5; i++) {
        memcpy(bad, good, n);
        if (i == 0)
            bad[5] = 9;
        else if (i == 1)
            bad[6] = 11; /* past the last kind */
        else if (i == 2)
            bad[7] = 0;
        else if (i == 3)
            bad[10] = ' ';
        else
            memset(bad + n - 8, 0, 8);
        pp__rd_init(&r, bad, n);
        PP_ASSERT_MSG(pp__values_decode(&r, &d, NULL, NULL, 0) == PP_EPROTO, "case %u",
                      (unsigned)i);
    }
}

/* The keyring: its own key first, then the program key; what HELLO
 * carries decodes to the same keys, and any cut or bad count is refused
 * whole. */
static void t_keyring(void)
{
    static const char addr[] = "tcp://127.0.0.1:7";
    uint8_t key[PP__KEY_MAX], prog[PP__PROGRAM_KEY_LEN];
    size_t keylen = 0, i;
    int is_program = -1;
    pp__buf b;
    pp__rd r;

    PP_ASSERT_STATUS_FATAL(pp__keyring_program_key(prog), PP_OK);
    PP_ASSERT_STATUS(pp__keyring_put(addr, "secret", 6), PP_OK);
    PP_ASSERT_STATUS(pp__keyring_find(addr, key, &keylen, &is_program), PP_OK);
    CU_ASSERT(keylen == 6 && memcmp(key, "secret", 6) == 0 && is_program == 0);
    PP_ASSERT_STATUS(pp__keyring_put("", "k", 1), PP_EINVAL);
    PP_ASSERT_STATUS(pp__keyring_put(addr, "k", 0), PP_EINVAL);

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__keyring_encode(&b), PP_OK);
    CU_ASSERT_EQUAL(b.len, pp__keyring_encoded_size());
    for (i = 0; i < b.len; i++) { /* every cut */
        pp__rd_init(&r, b.data, i);
        PP_ASSERT_STATUS(pp__keyring_decode(&r), PP_EPROTO);
        CU_ASSERT_EQUAL(r.pos, 0);
    }
    b.data[0] = 3; /* an unknown flag */
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS(pp__keyring_decode(&r), PP_EPROTO);
    b.data[0] = 1;
    b.data[1 + PP__PROGRAM_KEY_LEN] = PP__KEYRING_MAX + 1; /* too many pairs */
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS(pp__keyring_decode(&r), PP_EPROTO);
    b.data[1 + PP__PROGRAM_KEY_LEN] = 1;

    /* Forgotten: the program key; learnt again from the encoding. */
    pp__keyring_forget(addr);
    PP_ASSERT_STATUS(pp__keyring_find(addr, key, &keylen, &is_program), PP_OK);
    CU_ASSERT(is_program == 1 && keylen == PP__PROGRAM_KEY_LEN &&
              memcmp(key, prog, sizeof prog) == 0);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS(pp__keyring_decode(&r), PP_OK);
    CU_ASSERT_EQUAL(r.pos, b.len);
    PP_ASSERT_STATUS(pp__keyring_find(addr, key, &keylen, &is_program), PP_OK);
    CU_ASSERT(keylen == 6 && memcmp(key, "secret", 6) == 0 && is_program == 0);
    pp__keyring_forget(addr);
    pp__keyring_wipe(b.data, b.len);
    pp__buf_free(&b);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_METHODS(starmap, 120),
    PP_TEST_METHODS(initializer, 120),
    PP_TEST_METHODS(holder_killed, 120),
    PP_TEST_TIMEOUT(t_program_key_pool_first, 120),
    PP_TEST_TIMEOUT(t_custom_key_after_pool, 120),
    PP_TEST_TIMEOUT(t_manager_shut_down, 120),
    PP_TEST_TIMEOUT(t_lock_in_result, 60),
    PP_TEST_TIMEOUT(t_rlock_in_task, 60),
    PP_TEST_TIMEOUT(t_inherited_handle_refused, 60),
    PP_TEST_TIMEOUT(t_connect_with_inherited_key, 120),
    PP_TEST_TIMEOUT(t_locator_instance, 60),
    PP_TEST(t_locator_malformed),
    PP_TEST(t_keyring),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_pool)
{
    pp_test_add_suite("manager_pool", g_cases);
}
