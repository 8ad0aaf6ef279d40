/*
 * test_share.c — how a lock and the shared memory it protects reach pool
 * workers, on every start method the platform has (fork and forkserver
 * variants are in the skip list on Windows):
 *
 *  - task argument: the lock and the block are in the task's arguments;
 *  - initializer argument: the pool initializer stores them in globals
 *    that the worker's tasks use;
 *  - inherited global: created before the pool and stored in globals the
 *    tasks use without being given them. Works under fork; under spawn
 *    and forkserver the worker's global is NULL and the task must fail
 *    with a clear error, never run with another lock.
 *
 * Each strategy proves mutual exclusion inside the workers (4 tasks in 4
 * processes at once, 10,000 non-atomic increments each → exactly 40,000,
 * and no two critical sections overlap in a log of enter/exit times),
 * and that a worker killed while holding the lock hands PP_EOWNERDEAD to
 * the next acquirer while the pool replaces the worker. Further tests:
 * one attach per name and worker process (not per task), the creator's
 * destroy removes names that workers still use, and the public shm API.
 */
#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "platform.h"
#include "pp_test.h"
#include "sync/named_cache.h"
#include "procpool/procpool.h"

#define WAIT_MS    (60000 * pp_test_timeout_mult())
#define LOCK_MS    (30000 * pp_test_timeout_mult())
#define BARRIER_MS (30000 * pp_test_timeout_mult())
#define NTASKS     4
#define NITER      10000
#define NLOG       (NTASKS * NITER)
#define NAME_BUF   (PP_NAME_MAX + 1)

/* ------------------------------------------------------------ shared area */

/* One critical section: times taken right after acquiring and right
 * before releasing, and which task ran it. */
typedef struct log_entry {
    int64_t enter;
    int64_t exit;
    int64_t who;
} log_entry;

/* What the tests keep in the shared memory block. */
typedef struct share_area {
    volatile apr_uint32_t arrived; /* start barrier: tasks running */
    volatile apr_uint32_t nlog;    /* next free log slot */
    volatile int64_t counter;      /* incremented non-atomically, under the lock */
    volatile int64_t holder_pid;   /* owner-death tests: who holds the lock */
    volatile int64_t mark;         /* destroy test: written by a worker */
    log_entry log[NLOG];
} share_area;

/* ------------------------------------------------------------ task side */

/* What a task of each strategy does, selected by its "mode" argument. */
enum { MODE_INCREMENT = 0, MODE_HOLD = 1, MODE_PROBE = 2 };

/* The lock could not be acquired. A NULL lock means the strategy handed
 * this worker nothing: say so, it is the error the user must see. */
static int fail_acquire(pp_task *t, const char *how, const pp_lock *lock, pp_status st)
{
    if (lock == NULL)
        return pp_task_fail(t, st,
                            "%s: pp_lock_acquire(NULL): %s: the lock was not inherited by this "
                            "worker (not forked); pass it as an argument or to the initializer",
                            how, pp_err_name(st));
    return pp_task_fail(t, st, "%s: pp_lock_acquire: %s", how, pp_err_name(st));
}

/* Register at the start barrier (the first acquire is where a missing
 * lock shows) and wait until ntasks tasks run at once. */
static int arrive(pp_task *t, const char *how, pp_lock *lock, pp_shm *shm, int64_t ntasks)
{
    int64_t deadline = pp__plat_now_ms() + BARRIER_MS;
    share_area *a;
    pp_status st;

    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK)
        return fail_acquire(t, how, lock, st);
    a = pp_shm_ptr(shm);
    pp_lock_release(lock);
    if (a == NULL)
        return pp_task_fail(t, PP_EINVAL, "%s: no shared memory block in this worker", how);
    apr_atomic_inc32(&a->arrived);
    while (apr_atomic_read32(&a->arrived) < (apr_uint32_t)ntasks) {
        if (pp__plat_now_ms() > deadline)
            return pp_task_fail(t, PP_ETIMEDOUT, "%s: only %u of %d tasks ran at once", how,
                                (unsigned)apr_atomic_read32(&a->arrived), (int)ntasks);
        apr_thread_yield();
    }
    return 0;
}

static int increments(pp_task *t, const char *how, pp_lock *lock, pp_shm *shm, int64_t who,
                      int64_t niter, int64_t ntasks)
{
    share_area *a = pp_shm_ptr(shm);
    apr_uint32_t slot;
    int64_t i, enter;
    pp_status st;
    int rc;

    rc = arrive(t, how, lock, shm, ntasks);
    if (rc != 0)
        return rc;
    for (i = 0; i < niter; i++) {
        st = pp_lock_acquire(lock, LOCK_MS);
        if (st != PP_OK)
            return fail_acquire(t, how, lock, st);
        enter = pp__plat_now_ns();
        pp_test_racy_increment(&a->counter, i);
        /* Atomic slot: even a broken lock leaves a complete log. */
        slot = apr_atomic_inc32(&a->nlog);
        if (slot < NLOG) {
            a->log[slot].enter = enter;
            a->log[slot].who = who;
            a->log[slot].exit = pp__plat_now_ns();
        }
        st = pp_lock_release(lock);
        if (st != PP_OK)
            return pp_task_fail(t, st, "%s: pp_lock_release: %s", how, pp_err_name(st));
    }
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}

/* Take the lock, say who holds it, and wait to be killed. */
static int hold(pp_task *t, const char *how, pp_lock *lock, pp_shm *shm)
{
    share_area *a = pp_shm_ptr(shm);
    pp_status st;

    st = pp_lock_acquire(lock, LOCK_MS);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return fail_acquire(t, how, lock, st);
    a->holder_pid = (int64_t)pp__plat_getpid();
    pp__plat_sleep_ms(120000);
    return pp_task_fail(t, 1, "%s: the holder was not killed", how);
}

/* Acquire and release; the result is (acquire status, pid). */
static int probe(pp_task *t, const char *how, pp_lock *lock)
{
    pp_status st = pp_lock_acquire(lock, LOCK_MS);

    if (st != PP_OK && st != PP_EOWNERDEAD)
        return fail_acquire(t, how, lock, st);
    pp_lock_release(lock);
    pp_values_add_int(pp_task_result(t), st);
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}

/* The strategies' tasks share one body; args from `first`: mode, who,
 * niter, ntasks. */
static int run_mode(pp_task *t, const char *how, pp_lock *lock, pp_shm *shm, size_t first)
{
    const pp_values *v = pp_task_args(t);
    int64_t mode = -1, who = 0, niter = 0, ntasks = 1;

    if (pp_values_get_int(v, first, &mode) != PP_OK ||
        pp_values_get_int(v, first + 1, &who) != PP_OK ||
        pp_values_get_int(v, first + 2, &niter) != PP_OK ||
        pp_values_get_int(v, first + 3, &ntasks) != PP_OK)
        return pp_task_fail(t, 2, "%s: expects mode, who, niter, ntasks", how);
    if (mode == MODE_HOLD)
        return hold(t, how, lock, shm);
    if (mode == MODE_PROBE)
        return probe(t, how, lock);
    return increments(t, how, lock, shm, who, niter, ntasks);
}

/* Strategy 1: lock and block are the task's first two arguments. */
static int sh_task_arg(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &lock, &shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "task argument: expects a lock and a block: %s",
                            pp_err_name(st));
    return run_mode(t, "task argument", lock, shm, 2);
}
PP_TASK_REGISTER(sh_task_arg)

/* Strategy 2: the initializer keeps what it was given for the tasks. */
static pp_lock *g_init_lock;
static pp_shm *g_init_shm;

static int sh_initializer(pp_task *t)
{
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &g_init_lock, &g_init_shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "initializer expects a lock and a block: %s", pp_err_name(st));
    return 0;
}
PP_TASK_REGISTER(sh_initializer)

static int sh_init_user(pp_task *t)
{
    return run_mode(t, "initializer global", g_init_lock, g_init_shm, 0);
}
PP_TASK_REGISTER(sh_init_user)

/* Strategy 3: set by the test before the pool exists; a forked worker
 * inherits them, a spawned one starts with NULL. */
static pp_lock *g_inh_lock;
static pp_shm *g_inh_shm;

static int sh_global_user(pp_task *t)
{
    return run_mode(t, "inherited global", g_inh_lock, g_inh_shm, 0);
}
PP_TASK_REGISTER(sh_global_user)

/* How many mappings of /dev/shm/<name> this process has: one per name,
 * however many tasks used it. -1 where there is no /proc. */
static int64_t mappings_of(const char *name)
{
#ifdef __linux__
    char line[512], path[64];
    int64_t n = 0;
    size_t len;
    char *at;
    FILE *f;

    snprintf(path, sizeof path, "/dev/shm/%s", name);
    len = strlen(path);
    f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        at = strstr(line, path);
        if (at != NULL && (at[len] == '\n' || at[len] == ' ' || at[len] == '\0'))
            n++;
    }
    fclose(f);
    return n;
#else
    (void)name;
    return -1;
#endif
}

/* (pid, lock handle, block handle, block address, mappings of the lock,
 * mappings of the block, 1 if the handles are the initializer's). */
static int sh_handles(pp_task *t)
{
    pp_values *r = pp_task_result(t);
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &lock, &shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "handles: %s", pp_err_name(st));
    pp_values_add_int(r, (int64_t)pp__plat_getpid());
    pp_values_add_int(r, (int64_t)(intptr_t)lock);
    pp_values_add_int(r, (int64_t)(intptr_t)shm);
    pp_values_add_int(r, (int64_t)(intptr_t)pp_shm_ptr(shm));
    pp_values_add_int(r, mappings_of(pp_lock_name(lock)));
    pp_values_add_int(r, mappings_of(pp_shm_name(shm)));
    return pp_values_add_int(r, lock == g_init_lock && shm == g_init_shm);
}
PP_TASK_REGISTER(sh_handles)

/* Args (shm, lock, mark): write mark into the block, report whether the
 * lock is free right now, and the pid. Result: (try status, pid). */
static int sh_touch(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    int64_t mark = 0;
    pp_status st = pp_values_unpack(pp_task_args(t), "mkl", &shm, &lock, &mark);

    if (st != PP_OK)
        return pp_task_fail(t, st, "touch: %s", pp_err_name(st));
    ((share_area *)pp_shm_ptr(shm))->mark = mark;
    st = pp_lock_try_acquire(lock);
    if (st == PP_OK || st == PP_EOWNERDEAD)
        pp_lock_release(lock);
    pp_values_add_int(pp_task_result(t), st);
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(sh_touch)

/* ------------------------------------------------------------ test side */

typedef enum strategy { BY_ARG, BY_INITIALIZER, BY_INHERITANCE } strategy;

/* A lock and a block for one test; destroyed by fixture_free(). */
typedef struct fixture {
    pp_lock *lock;
    pp_shm *shm;
    share_area *area;
} fixture;

static void fixture_make(fixture *f)
{
    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &f->lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(share_area), &f->shm), PP_OK);
    f->area = pp_shm_ptr(f->shm);
    CU_ASSERT_FATAL(f->area != NULL && pp_shm_size(f->shm) == sizeof(share_area));
    CU_ASSERT_EQUAL(f->area->counter, 0); /* zero-filled */
}

static void fixture_free(fixture *f)
{
    pp_shm_destroy(f->shm);
    pp_lock_destroy(f->lock);
    g_inh_lock = NULL;
    g_inh_shm = NULL;
}

/*
 * maxtasks 1: a worker runs one task, so NTASKS tasks are in NTASKS
 * processes at once (the start barrier checks it) whatever the pool's
 * prefetch policy; replacements come from the same start method.
 */
static pp_pool *strategy_pool(int method, strategy s, const fixture *f, int n, int maxtasks)
{
    pp_pool_options o;
    pp_values *ia = NULL;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)method;
    o.maxtasksperchild = maxtasks;
    if (s == BY_INITIALIZER) {
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&ia, "km", f->lock, f->shm), PP_OK);
        o.initializer = sh_initializer;
        o.initargs = ia;
    }
    if (s == BY_INHERITANCE) {
        g_inh_lock = f->lock; /* before the pool: what fork copies */
        g_inh_shm = f->shm;
    }
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    pp_values_destroy(ia); /* copied by the pool */
    return p;
}

static pp_task_fn strategy_fn(strategy s)
{
    return s == BY_ARG ? sh_task_arg : s == BY_INITIALIZER ? sh_init_user : sh_global_user;
}

/* Arguments of one task of strategy s. */
static pp_values *task_args(strategy s, const fixture *f, int mode, int who, int niter, int ntasks)
{
    pp_values *v = NULL;

    if (s == BY_ARG)
        PP_ASSERT_STATUS_FATAL(
            pp_values_pack(&v, "kmiiii", f->lock, f->shm, mode, who, niter, ntasks), PP_OK);
    else
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "iiii", mode, who, niter, ntasks), PP_OK);
    return v;
}

static int by_enter(const void *a, const void *b)
{
    const log_entry *x = a, *y = b;

    return x->enter < y->enter ? -1 : x->enter > y->enter;
}

/* Sort the log by entry time: each section must end before the next
 * begins. Returns how often the holder changed (contention evidence). */
static unsigned check_log(share_area *a)
{
    log_entry *log = a->log;
    unsigned i, overlaps = 0, switches = 0, first = 0;

    CU_ASSERT_EQUAL_FATAL(apr_atomic_read32(&a->nlog), NLOG);
    qsort(log, NLOG, sizeof log[0], by_enter);
    for (i = 0; i + 1 < NLOG; i++) {
        if (log[i + 1].enter < log[i].exit && overlaps++ == 0)
            first = i;
        switches += log[i + 1].who != log[i].who;
    }
    PP_ASSERT_MSG(overlaps == 0,
                  "%u overlapping critical sections; first: task %d [%lld, %lld] and task %d "
                  "enters at %lld",
                  overlaps, (int)log[first].who, (long long)log[first].enter,
                  (long long)log[first].exit, (int)log[first + 1].who,
                  (long long)log[first + 1].enter);
    return switches;
}

/* NTASKS tasks in NTASKS workers, NITER increments each. */
static void exclusion(int method, strategy s)
{
    pp_values *argv[NTASKS];
    pp_submit_options so;
    pp_result *r = NULL;
    int64_t pids[NTASKS];
    unsigned switches;
    fixture f;
    pp_pool *p;
    size_t i;

    fixture_make(&f);
    p = strategy_pool(method, s, &f, NTASKS, 1);
    for (i = 0; i < NTASKS; i++)
        argv[i] = task_args(s, &f, MODE_INCREMENT, (int)i, NITER, NTASKS);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS(pp_starmap(p, strategy_fn(s), (const pp_values *const *)argv, NTASKS, &so, &r),
                     PP_OK);
    for (i = 0; i < NTASKS; i++) {
        const pp_values *v = NULL;
        const pp_error *e = NULL;

        pids[i] = -(int64_t)i - 1;
        if (pp_result_item(r, i, &v, &e) == PP_OK)
            pp_values_get_int(v, 0, &pids[i]);
        else
            PP_ASSERT_MSG(0, "task %u: %s", (unsigned)i, e ? e->message : "?");
    }
    CU_ASSERT(pids[0] != pids[1] && pids[0] != pids[2] && pids[0] != pids[3] &&
              pids[1] != pids[2] && pids[1] != pids[3] && pids[2] != pids[3]);
    PP_ASSERT_MSG(f.area->counter == NLOG, "counter %lld, expected %d", (long long)f.area->counter,
                  NLOG);
    switches = check_log(f.area);
    /* Sequential tasks would change holder NTASKS - 1 times: more means
     * the sections of different workers really alternated. */
    PP_ASSERT_MSG(switches > NTASKS - 1, "holder changed only %u times", switches);
    pp_result_release(r);
    for (i = 0; i < NTASKS; i++)
        pp_values_destroy(argv[i]);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* Run a probe through the strategy; returns its acquire status and pid. */
static pp_status probe_once(pp_pool *p, strategy s, const fixture *f, int64_t *pid)
{
    pp_values *a = task_args(s, f, MODE_PROBE, 0, 0, 1), *r = NULL;
    pp_error e;
    int64_t st = 1;

    memset(&e, 0, sizeof e);
    PP_ASSERT_MSG(pp_apply(p, strategy_fn(s), a, &r, &e) == PP_OK, "probe: %s", e.message);
    if (r != NULL) {
        pp_values_get_int(r, 0, &st);
        pp_values_get_int(r, 1, pid);
    }
    pp_values_destroy(r);
    pp_values_destroy(a);
    return (pp_status)st;
}

/* A worker dies holding the lock: the next acquirer (a task of the same
 * strategy) gets PP_EOWNERDEAD, the lock works normally after, and the
 * pool replaces the worker and keeps working. */
static void owner_death(int method, strategy s)
{
    int64_t deadline, victim, pid = 0;
    pp_values *a;
    pp_result *r;
    fixture f;
    pp_pool *p;
    int i;

    fixture_make(&f);
    p = strategy_pool(method, s, &f, 2, 0);
    a = task_args(s, &f, MODE_HOLD, 0, 0, 1);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, strategy_fn(s), a, NULL, &r), PP_OK);
    deadline = pp_test_now_ms() + WAIT_MS;
    while (f.area->holder_pid == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(5);
    victim = f.area->holder_pid;
    CU_ASSERT_FATAL(victim != 0);
    pp_test_kill_pid(victim);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_EWORKERDIED);
    pp_result_release(r);
    pp_values_destroy(a);

    PP_ASSERT_STATUS(probe_once(p, s, &f, &pid), PP_EOWNERDEAD);
    CU_ASSERT(pid != victim);
    PP_ASSERT_STATUS(probe_once(p, s, &f, &pid), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(f.lock, LOCK_MS), PP_OK); /* the parent too */
    PP_ASSERT_STATUS(pp_lock_release(f.lock), PP_OK);
    for (i = 0; i < 10; i++) {
        PP_ASSERT_STATUS(probe_once(p, s, &f, &pid), PP_OK);
        CU_ASSERT(pid != victim && pid > 0);
    }
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* Under spawn and forkserver the inherited globals are NULL in the worker:
 * every task fails with the clear error, and nothing touched the block. */
static void inheritance_refused(int method)
{
    pp_values *argv[NTASKS];
    pp_result *r = NULL;
    const pp_error *e;
    fixture f;
    pp_pool *p;
    size_t i;

    fixture_make(&f);
    p = strategy_pool(method, BY_INHERITANCE, &f, NTASKS, 1);
    for (i = 0; i < NTASKS; i++)
        argv[i] = task_args(BY_INHERITANCE, &f, MODE_INCREMENT, (int)i, NITER, NTASKS);
    PP_ASSERT_STATUS(
        pp_starmap(p, sh_global_user, (const pp_values *const *)argv, NTASKS, NULL, &r), PP_ETASK);
    for (i = 0; i < NTASKS; i++) {
        e = NULL;
        PP_ASSERT_STATUS(pp_result_item(r, i, NULL, &e), PP_ETASK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(e->code, PP_EINVAL); /* from pp_lock_acquire(NULL) */
        PP_ASSERT_MSG(strstr(e->message, "not inherited") != NULL, "message: %s", e->message);
    }
    CU_ASSERT_EQUAL(f.area->counter, 0);
    CU_ASSERT_EQUAL(apr_atomic_read32(&f.area->arrived), 0);
    pp_result_release(r);
    for (i = 0; i < NTASKS; i++)
        pp_values_destroy(argv[i]);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

static void do_task_arg(int m)
{
    exclusion(m, BY_ARG);
    owner_death(m, BY_ARG);
}

static void do_initializer(int m)
{
    exclusion(m, BY_INITIALIZER);
    owner_death(m, BY_INITIALIZER);
}

static void do_inherited(int m)
{
    if (m != PP_START_FORK) {
        inheritance_refused(m);
        return;
    }
    exclusion(m, BY_INHERITANCE);
    owner_death(m, BY_INHERITANCE);
}

/* Handles that arrive in arguments are attached once per worker process:
 * the same handle (and mapping) for every task the worker runs, and the
 * same one the initializer was given. */
static void do_attach_cached(int m)
{
    int64_t row[7][40];
    pp_values *ia = NULL, *a = NULL, *r;
    pp_pool_options o;
    pp_pool *p = NULL;
    int i, j, k, k2, repeats = 0;
    fixture f;

    fixture_make(&f);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&ia, "km", f.lock, f.shm), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)m;
    o.initializer = sh_initializer;
    o.initargs = ia;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "km", f.lock, f.shm), PP_OK);
    for (i = 0; i < 40; i++) {
        r = NULL;
        PP_ASSERT_STATUS_FATAL(pp_apply(p, sh_handles, a, &r, NULL), PP_OK);
        for (k = 0; k < 7; k++)
            PP_ASSERT_STATUS(pp_values_get_int(r, (size_t)k, &row[k][i]), PP_OK);
        pp_values_destroy(r);
    }
    for (i = 0; i < 40; i++) {
        CU_ASSERT_EQUAL(row[6][i], 1); /* the initializer's handles */
        /* Linux: one mapping each, never more (-1: no /proc to count) */
        if (row[4][i] >= 0) {
            CU_ASSERT_EQUAL(row[4][i], 1);
            CU_ASSERT_EQUAL(row[5][i], 1);
        }
        for (j = 0; j < i; j++) {
            if (row[0][j] != row[0][i])
                continue;
            repeats++;
            for (k2 = 1; k2 <= 3; k2++)
                PP_ASSERT_MSG(row[k2][j] == row[k2][i], "pid %lld: field %d changed between tasks",
                              (long long)row[0][i], k2);
        }
    }
    CU_ASSERT(repeats > 0); /* some worker ran several tasks */
    pp_values_destroy(a);
    pp_values_destroy(ia);
    pp_test_pool_finish(p);
    fixture_free(&f);
}

/* ---------------------------------------------- destroy while held */

static int shm_name_exists(const char *name)
{
#ifdef __linux__
    char path[64];

    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return access(path, F_OK) == 0;
#else
    (void)name;
    return 0; /* no file-system presence: pp_*_open() checks below */
#endif
}

/* apply sh_touch(shm, lock, mark) on p; returns the try status, the pid. */
static pp_status touch(pp_pool *p, pp_shm *shm, pp_lock *lock, int64_t mark, int64_t *pid)
{
    pp_values *a = NULL, *r = NULL;
    pp_error e;
    int64_t st = 1;

    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "mkl", shm, lock, mark), PP_OK);
    PP_ASSERT_MSG(pp_apply(p, sh_touch, a, &r, &e) == PP_OK, "touch: %s", e.message);
    if (r != NULL) {
        pp_values_get_int(r, 0, &st);
        pp_values_get_int(r, 1, pid);
    }
    pp_values_destroy(r);
    pp_values_destroy(a);
    return (pp_status)st;
}

/* Keeps the last log line (single-threaded use: pool creation reports an
 * initializer failure before it returns). */
static void keep_log(pp_log_level level, const char *msg, void *ud)
{
    (void)level;
    snprintf(ud, 256, "%s", msg);
}

/* A worker that never had the names cannot attach them any more: its task
 * (or initializer) fails with PP_ENOENT and says what could not be opened. */
static void check_join_refused(int m, pp_shm *shm, pp_lock *lock, pp_lock *fresh)
{
    char log[256];
    pp_values *a = NULL;
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_error e;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = (pp_start_method)m;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "mkl", shm, lock, (int64_t)3), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, sh_touch, a, NULL, &e), PP_ENOENT);
    PP_ASSERT_MSG(strstr(e.message, "shared memory block '") != NULL &&
                      strstr(e.message, pp_shm_name(shm)) != NULL &&
                      strstr(e.message, "cannot be opened") != NULL,
                  "message: %s", e.message);
    pp_values_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "klk", lock, (int64_t)3, fresh), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, sh_touch, a, NULL, &e), PP_ENOENT);
    PP_ASSERT_MSG(strncmp(e.message, "lock '", 6) == 0 && strstr(e.message, pp_lock_name(lock)),
                  "message: %s", e.message);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
    /* The same for an initializer: the pool cannot start. */
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "km", fresh, shm), PP_OK);
    o.initializer = sh_initializer;
    o.initargs = a;
    p = NULL;
    log[0] = '\0';
    pp_set_log_hook(keep_log, log, PP_LOG_WARN);
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ETASK);
    pp_set_log_hook(NULL, NULL, PP_LOG_WARN);
    CU_ASSERT_PTR_NULL(p);
    PP_ASSERT_MSG(strstr(log, "shared memory block '") != NULL &&
                      strstr(log, "in the initializer arguments cannot be opened") != NULL,
                  "log: %s", log);
    pp_values_destroy(a);
}

/*
 * The creator's destroy removes both names at once although a worker
 * still holds handles: nobody can open them any more (no /dev/shm entry
 * on Linux), while the handles already held keep working among
 * themselves — the worker's block is still the parent's (through a second
 * handle the parent kept), and its lock still excludes the parent.
 */
static void do_destroy_while_held(int m)
{
    char lname[NAME_BUF], sname[NAME_BUF];
    pp_lock *l2 = NULL, *fresh = NULL, *other = NULL;
    pp_shm *s2 = NULL, *sother = NULL;
    int64_t pid1 = 0, pid2 = 0;
    pp_pool *p;
    fixture f;

    fixture_make(&f);
    snprintf(lname, sizeof lname, "%s", pp_lock_name(f.lock));
    snprintf(sname, sizeof sname, "%s", pp_shm_name(f.shm));
    PP_ASSERT_STATUS_FATAL(pp_lock_open(lname, &l2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_open(sname, &s2), PP_OK);
    CU_ASSERT_PTR_EQUAL(pp_shm_ptr(s2), pp_shm_ptr(f.shm)); /* one mapping per process */
    p = strategy_pool(m, BY_ARG, &f, 1, 0);
    PP_ASSERT_STATUS(touch(p, f.shm, f.lock, 1, &pid1), PP_OK); /* the worker attaches */
    CU_ASSERT_EQUAL(f.area->mark, 1);

    pp_shm_destroy(f.shm);
    pp_lock_destroy(f.lock);
    f.shm = NULL;
    f.lock = NULL;
    CU_ASSERT(!shm_name_exists(lname) && !shm_name_exists(sname));
    PP_ASSERT_STATUS(pp_lock_open(lname, &other), PP_ENOENT);
    PP_ASSERT_STATUS(pp_shm_open(sname, &sother), PP_ENOENT);

    /* The worker's handles: same block, same lock (held by the parent). */
    PP_ASSERT_STATUS(pp_lock_acquire(l2, LOCK_MS), PP_OK);
    PP_ASSERT_STATUS(touch(p, s2, l2, 2, &pid2), PP_EBUSY);
    CU_ASSERT_EQUAL(pid2, pid1);
    CU_ASSERT_EQUAL(((share_area *)pp_shm_ptr(s2))->mark, 2);
    PP_ASSERT_STATUS(pp_lock_release(l2), PP_OK);
    PP_ASSERT_STATUS(touch(p, s2, l2, 3, &pid2), PP_OK);
    pp_test_pool_finish(p);

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &fresh), PP_OK);
    check_join_refused(m, s2, l2, fresh);
    pp_lock_destroy(fresh);
    pp_shm_destroy(s2);
    pp_lock_destroy(l2);
}

PP_TEST_PER_METHOD(task_arg)
PP_TEST_PER_METHOD(initializer)
PP_TEST_PER_METHOD(inherited)
PP_TEST_PER_METHOD(attach_cached)
PP_TEST_PER_METHOD(destroy_while_held)

/* ------------------------------------------------------------ shm API */

static void t_shm_api(void)
{
    char name[NAME_BUF], too_long[PP_NAME_MAX + 2];
    pp_shm *a = NULL, *b = (pp_shm *)&b;
    pp_lock *l = NULL;
    unsigned char *p;
    size_t i;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(name, 1000, &a), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_shm_name(a), name);
    CU_ASSERT_EQUAL(pp_shm_size(a), 1000);
    p = pp_shm_ptr(a);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_EQUAL((uintptr_t)p % 64, 0);
    for (i = 0; i < 1000 && p[i] == 0; i++)
        ;
    CU_ASSERT_EQUAL(i, 1000); /* zero-filled */
    memset(p, 0xab, 1000);
    PP_ASSERT_STATUS(pp_shm_create(name, 10, &b), PP_EEXIST);
    CU_ASSERT_PTR_NULL(b);
    PP_ASSERT_STATUS_FATAL(pp_shm_open(name, &b), PP_OK);
    CU_ASSERT_PTR_EQUAL(pp_shm_ptr(b), p); /* one mapping per process */
    CU_ASSERT_EQUAL(pp_shm_size(b), 1000);
    pp_shm_destroy(b); /* an opened handle only detaches */
    PP_ASSERT_STATUS_FATAL(pp_shm_open(name, &b), PP_OK);
    pp_shm_destroy(b);
    CU_ASSERT_EQUAL(p[999], 0xab);
    pp_shm_destroy(a); /* the creator removes the name */
    CU_ASSERT(!shm_name_exists(name));
    PP_ASSERT_STATUS(pp_shm_open(name, &b), PP_ENOENT);

    /* Names: the lock rules. A lock is not a block. */
    PP_ASSERT_STATUS(pp_shm_create("a/b", 10, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_create("", 10, &a), PP_EINVAL);
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[PP_NAME_MAX + 1] = '\0';
    PP_ASSERT_STATUS(pp_shm_create(too_long, 10, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_open(too_long, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_open(NULL, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_create(NULL, 0, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_create(NULL, 10, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_open(name, NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(a);
    /* One namespace for locks and blocks, with the same answers on every
     * platform: the name is taken, and it is not a block / not a lock. */
    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &l), PP_OK);
    PP_ASSERT_STATUS(pp_shm_open(pp_lock_name(l), &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_create(pp_lock_name(l), 10, &a), PP_EEXIST);
    pp_lock_destroy(l);
    l = NULL;
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 10, &a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_open(pp_shm_name(a), &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_create(pp_shm_name(a), &l), PP_EEXIST);
    CU_ASSERT_PTR_NULL(l);
    pp_shm_destroy(a);
    a = NULL;
    CU_ASSERT_PTR_NULL(pp_shm_ptr(NULL));
    CU_ASSERT_EQUAL(pp_shm_size(NULL), 0);
    CU_ASSERT_PTR_NULL(pp_shm_name(NULL));
    pp_shm_destroy(NULL);
}

static void t_shm_generated_names(void)
{
    pp_shm *a = NULL, *b = NULL;
    char token[32];

    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 1, &a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 1, &b), PP_OK);
    CU_ASSERT_STRING_NOT_EQUAL(pp_shm_name(a), pp_shm_name(b));
    snprintf(token, sizeof token, "pp-%lu-", (unsigned long)(pp__plat_getpid() % 100000000u));
    CU_ASSERT_EQUAL(strncmp(pp_shm_name(a), token, strlen(token)), 0);
    pp_shm_destroy(a);
    pp_shm_destroy(b);
}

/* ------------------------------------------- named cache across fork */

#ifndef _WIN32
/* A kind whose create blocks (holding the cache's mutex, as a real create
 * does while it maps the object) until the test lets it go. */
static struct {
    pp__plat_mtx *mu;
    pp__plat_cond *cv;
    int inside, go;
} g_gate;

static int g_obj; /* what the slow kind's objects point at */

static pp_status slow_create(const char *name, const void *arg, void **obj)
{
    (void)name;
    (void)arg;
    pp__plat_mtx_lock(g_gate.mu);
    g_gate.inside = 1;
    pp__plat_cond_broadcast(g_gate.cv);
    while (!g_gate.go)
        (void)pp__plat_cond_wait(g_gate.cv, g_gate.mu, PP_INFINITE);
    pp__plat_mtx_unlock(g_gate.mu);
    *obj = &g_obj;
    return PP_OK;
}

static pp_status quick_open(const char *name, void **obj)
{
    (void)name;
    *obj = &g_obj;
    return PP_OK;
}

static void quick_close(void *obj)
{
    (void)obj;
}

static pp_status quick_unlink(const char *name)
{
    (void)name;
    return PP_OK;
}

static uint64_t quick_id(const void *obj)
{
    (void)obj;
    return 1;
}

static const pp__named_kind slow_kind = {
    sizeof(pp__named_handle), slow_create, quick_open, quick_close, quick_unlink, quick_id};

typedef struct creator {
    pp__named_cache *cache;
    pp__named_handle *h;
    pp_status st;
} creator;

static void create_slowly(void *arg)
{
    creator *c = arg;

    c->st = pp__named_create(c->cache, "pp-test-slow", NULL, &c->h);
}
#endif

/* A fork (a fork pool's zygote) while another thread is inside a named
 * cache (creating a lock, say): the child must be able to use the cache,
 * not wait forever on a mutex whose holder does not exist there. */
static void t_named_cache_fork_while_held(void)
{
#ifndef _WIN32
    pp__named_handle *h = NULL;
    pp__plat_thread *t = NULL;
    int64_t deadline;
    int status = 0;
    creator cr;
    pid_t pid, r;

    memset(&cr, 0, sizeof cr);
    PP_ASSERT_STATUS_FATAL(pp__plat_mtx_create(&g_gate.mu), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__plat_cond_create(&g_gate.cv), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__named_cache_create(&slow_kind, &cr.cache), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__plat_thread_create(&t, create_slowly, &cr), PP_OK);
    pp__plat_mtx_lock(g_gate.mu);
    while (!g_gate.inside)
        (void)pp__plat_cond_wait(g_gate.cv, g_gate.mu, PP_INFINITE);
    pp__plat_mtx_unlock(g_gate.mu);

    fflush(stdout);
    fflush(stderr);
    pid = fork(); /* the creating thread is inside the cache now */
    if (pid == 0) {
        pp_status st = pp__named_open(cr.cache, "pp-test-other", &h);
        pp__named_destroy(cr.cache, h);
        _exit(st == PP_OK ? 0 : 2);
    }
    CU_ASSERT_FATAL(pid > 0);
    deadline = pp__plat_now_ms() + 5000;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && pp__plat_now_ms() < deadline)
        pp__plat_sleep_ms(5);
    if (r == 0) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        PP_ASSERT_MSG(0, "the child still ran after 5 s: blocked on the cache's mutex");
    } else {
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    pp__plat_mtx_lock(g_gate.mu);
    g_gate.go = 1;
    pp__plat_cond_broadcast(g_gate.cv);
    pp__plat_mtx_unlock(g_gate.mu);
    pp__plat_thread_join(t);
    PP_ASSERT_STATUS(cr.st, PP_OK);
    pp__named_destroy(cr.cache, cr.h);
    pp__named_cache_shutdown(cr.cache);
    pp__plat_cond_destroy(g_gate.cv);
    pp__plat_mtx_destroy(g_gate.mu);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(task_arg, 180),
    PP_TEST_METHODS(initializer, 180),
    PP_TEST_METHODS(inherited, 180),
    PP_TEST_METHODS(attach_cached, 60),
    PP_TEST_METHODS(destroy_while_held, 60),
    PP_TEST(t_shm_api),
    PP_TEST(t_shm_generated_names),
    PP_TEST(t_named_cache_fork_while_held),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(share)
{
    pp_test_add_suite("share", cases);
}
