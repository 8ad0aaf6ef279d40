/*
 * test_sync.c — local synchronization objects (sync.h): the semaphore's
 * semantics and timeouts, names and identity, the travel of sync objects
 * to pool workers on every start method (as task arguments, and
 * inherited under fork), many processes contending. Events, barriers and
 * conditions: test_sync_wait.c; death cases: test_sync_death.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "procpool/procpool.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* ------------------------------------------------------------ semaphore */

static void t_sem_semantics(void)
{
    pp_sem *s = NULL;
    int64_t v = -1;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 2, 0, &s), PP_OK);
    CU_ASSERT_PTR_NOT_NULL(pp_sem_name(s));
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 2);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    /* unbounded: a release beyond the initial value is fine */
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 3);
    /* bad arguments */
    PP_ASSERT_STATUS(pp_sem_acquire(s, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_acquire(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_try_acquire(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_release(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_value(s, NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(pp_sem_name(NULL));
    pp_sem_destroy(s);
    pp_sem_destroy(NULL);
    s = (pp_sem *)1;
    PP_ASSERT_STATUS(pp_sem_create(NULL, -1, 0, &s), PP_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    PP_ASSERT_STATUS(pp_sem_create(NULL, PP_SEM_MAX + 1, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_create("bad/name", 1, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_create(NULL, 1, 0, NULL), PP_EINVAL);
}

static void t_sem_bounded(void)
{
    pp_sem *s = NULL;
    int64_t v = -1;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 1, 1, &s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE); /* Python: ValueError */
    PP_ASSERT_STATUS(pp_sem_acquire(s, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 1);
    pp_sem_destroy(s);
}

static void t_sem_timeout(void)
{
    pp_sem *s = NULL;
    int64_t t0, dt;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 0, 0, &s), PP_OK);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_sem_acquire(s, 200), PP_ETIMEDOUT);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(dt >= 199 - pp_test_clock_slack_ms(), "returned after %lld ms", (long long)dt);
    PP_ASSERT_MSG(dt < 20000, "took %lld ms", (long long)dt);
    pp_sem_destroy(s);
}

typedef struct releaser {
    pp_sem *s;
    int64_t delay_ms;
} releaser;

static void release_later(void *arg)
{
    releaser *r = arg;

    pp_test_sleep_ms(r->delay_ms);
    PP_ASSERT_STATUS(pp_sem_release(r->s), PP_OK);
}

/* A waiter wakes when another thread releases. */
static void t_sem_wakes(void)
{
    pp_sem *s = NULL;
    pp_test_thread *th;
    releaser r;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 0, 0, &s), PP_OK);
    r.s = s;
    r.delay_ms = 100;
    th = pp_test_thread_start(release_later, &r);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_OK);
    pp_test_thread_join(th);
    pp_sem_destroy(s);
}

/* PP_SEM_UNOWNED: the same counting, bounded or not; unknown flags
 * refused; a waiter wakes on another thread's release. (Deaths:
 * test_sync_death.c.) */
static void t_sem_unowned(void)
{
    pp_sem *s = NULL;
    pp_test_thread *th;
    releaser r;
    int64_t v = -1;

    PP_ASSERT_STATUS(pp_sem_create(NULL, 1, 4, &s), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 2, PP_SEM_UNOWNED, &s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 20), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK); /* unbounded: a third unit */
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 3);
    pp_sem_destroy(s);

    s = NULL;
    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 1, PP_SEM_BOUNDED | PP_SEM_UNOWNED, &s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE);
    PP_ASSERT_STATUS(pp_sem_acquire(s, PP_INFINITE), PP_OK);
    r.s = s;
    r.delay_ms = 100;
    th = pp_test_thread_start(release_later, &r);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_OK);
    pp_test_thread_join(th);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 1);
    pp_sem_destroy(s);
}

static void t_sem_names(void)
{
    char name[PP_NAME_MAX + 1];
    pp_sem *s = NULL, *o = NULL;
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    int64_t v = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_sem_open(name, &o), PP_ENOENT);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 0, &s), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_sem_name(s), name);
    PP_ASSERT_STATUS(pp_sem_create(name, 1, 0, &o), PP_EEXIST);
    PP_ASSERT_STATUS(pp_lock_create(name, &lock), PP_EEXIST); /* one namespace */
    PP_ASSERT_STATUS_FATAL(pp_sem_open(name, &o), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(o, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    PP_ASSERT_STATUS(pp_sem_release(o), PP_OK);
    pp_sem_destroy(o); /* only closes */
    PP_ASSERT_STATUS_FATAL(pp_sem_open(name, &o), PP_OK);
    pp_sem_destroy(s); /* removes the name; o still works */
    PP_ASSERT_STATUS(pp_sem_acquire(o, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(o), PP_OK);
    pp_sem_destroy(o);
    PP_ASSERT_STATUS(pp_sem_open(name, &o), PP_ENOENT);

    /* another procpool object under the name */
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS(pp_sem_open(name, &o), PP_EINVAL);
    pp_lock_destroy(lock);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(name, 64, &shm), PP_OK);
    PP_ASSERT_STATUS(pp_sem_open(name, &o), PP_EINVAL);
    pp_shm_destroy(shm);
    PP_ASSERT_STATUS(pp_sem_open("bad/name", &o), PP_EINVAL);
    PP_ASSERT_STATUS(pp_sem_open(name, NULL), PP_EINVAL);
}

/* ---------------------------------------------------------- as values */

static void t_sem_values(void)
{
    pp_values *v = NULL, *c = NULL;
    pp_sem *s = NULL, *got = NULL;
    pp_lock *lock = NULL;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, s, (int64_t)3), PP_OK);
    CU_ASSERT_EQUAL(pp_values_type(v, 0), PP_TYPE_SYNC);
    PP_ASSERT_STATUS(pp_values_get_sem(v, 0, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, s);
    PP_ASSERT_STATUS(pp_values_get_sem(v, 1, &got), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_lock(v, 0, &lock), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_sem(v, 2, &got), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_get_sem(v, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_copy(v, &c), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_sem(c, 0, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, s);
    PP_ASSERT_STATUS(pp_values_add_sem(v, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_sem(NULL, s), PP_EINVAL);
    pp_values_destroy(c);
    pp_values_destroy(v);
    pp_sem_destroy(s);
}

/* ------------------------------------------------------- pool workers */

/* (sem, shm, n): n times acquire, count the processes inside (slot 0)
 * and the most seen at once (slot 1), release. */
static int sem_section_task(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_sem *s = NULL;
    pp_shm *m = NULL;
    int64_t n = 0, i, inside, most;
    pp_status st;

    st = pp_values_get_sem(a, 0, &s);
    if (st == PP_OK)
        st = pp_values_get_shm(a, 1, &m);
    if (st == PP_OK)
        st = pp_values_get_int(a, 2, &n);
    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (sem, shm, n): %s", pp_err_name(st));
    for (i = 0; i < n; i++) {
        st = pp_sem_acquire(s, WAIT_MS);
        if (st != PP_OK)
            return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
        pp_shm_add_int64(m, 0, 1, &inside);
        pp_shm_load_int64(m, 8, &most);
        while (inside > most && pp_shm_cas_int64(m, 8, most, inside, NULL, &most) == PP_OK &&
               most < inside)
            ;
        pp_shm_add_int64(m, 0, -1, NULL);
        st = pp_sem_release(s);
        if (st != PP_OK)
            return pp_task_fail(t, st, "release: %s", pp_err_name(st));
    }
    return PP_OK;
}
PP_TASK_REGISTER(sem_section_task)

/* nprocs workers, ntasks tasks of n sections each, on a semaphore of
 * units: never more than units inside. */
static void run_sections(int method, int nprocs, int ntasks, int64_t n, int64_t units)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values **items;
    pp_result *r = NULL;
    pp_sem *s = NULL;
    pp_shm *m = NULL;
    int64_t most = -1, inside = -1, v = -1;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, units, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 16, &m), PP_OK);
    items = calloc((size_t)ntasks, sizeof *items);
    CU_ASSERT_PTR_NOT_NULL_FATAL(items);
    for (i = 0; i < ntasks; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_of(&items[i], s, m, n), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = nprocs;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, sem_section_task, items, (size_t)ntasks, NULL, &r),
                           PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(m, 8, &most), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(m, 0, &inside), PP_OK);
    PP_ASSERT_MSG(most >= 1 && most <= units, "%lld inside at once, %lld units", (long long)most,
                  (long long)units);
    CU_ASSERT_EQUAL(inside, 0);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, units);
    pp_result_release(r);
    for (i = 0; i < ntasks; i++)
        pp_values_destroy(items[i]);
    free(items);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_shm_destroy(m);
    pp_sem_destroy(s);
}

static void do_sem_workers(int method)
{
    run_sections(method, 3, 6, 200, 2);
}
PP_TEST_PER_METHOD(sem_workers)

/* 8 processes x 1000 sections on a semaphore of 2. */
static void t_sem_contention(void)
{
    run_sections(PP_START_SPAWN, 8, 8, 1000, 2);
}

/* Threads of one process share its holder record: they take turns on
 * the lock-free path (or take the slow one). 4 threads x 20000 pairs on a
 * semaphore of 2, and a gift in the middle: every call succeeds (no
 * holder died), and the value ends exactly where it should. */
typedef struct sem_pairs {
    pp_sem *s;
    int n;
    pp_status st;
} sem_pairs;

static void sem_pairs_thread(void *arg)
{
    sem_pairs *p = arg;
    pp_status st = PP_OK;
    int i;

    for (i = 0; i < p->n && st == PP_OK; i++) {
        st = pp_sem_acquire(p->s, WAIT_MS);
        if (st == PP_OK)
            st = pp_sem_release(p->s);
    }
    p->st = st;
}

static void t_sem_threads(void)
{
    enum { THREADS = 4 };
    pp_test_thread *th[THREADS];
    sem_pairs p[THREADS];
    pp_sem *s = NULL;
    int64_t v = -1;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 2, 1, &s), PP_OK);
    for (i = 0; i < THREADS; i++) {
        p[i].s = s;
        p[i].n = 20000;
        p[i].st = PP_ESYS;
        th[i] = pp_test_thread_start(sem_pairs_thread, &p[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_STATUS(p[i].st, PP_OK);
    }
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 2);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE); /* bounded: none extra */
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_OK);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    pp_sem_destroy(s);
}

/* The holder table is full: PP_SYNC_PROCS processes hold units, the next
 * process gets PP_ETOOBIG (and a unit once one of them is gone). */
static void t_sem_table_full(void)
{
#ifndef _WIN32
    enum { N = PP_SYNC_PROCS };
    pid_t pids[N];
    int up[2], hold[2], i, started = 0;
    pp_sem *s = NULL;
    char c;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, N + 10, 0, &s), PP_OK);
    CU_ASSERT_FATAL(pipe(up) == 0 && pipe(hold) == 0);
    fflush(NULL);
    for (i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char b = pp_sem_acquire(s, 10000) == PP_OK ? 'y' : 'n';
            close(hold[1]);
            if (write(up[1], &b, 1) != 1)
                _exit(1);
            (void)read(hold[0], &b, 1); /* until the test closes it */
            _exit(0);
        }
        if (pids[i] < 0)
            break;
        started++;
    }
    close(hold[0]);
    CU_ASSERT_EQUAL_FATAL(started, N);
    for (i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(read(up[0], &c, 1), 1);
        CU_ASSERT_EQUAL(c, 'y');
    }
    PP_ASSERT_STATUS(pp_sem_acquire(s, 0), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_ETOOBIG);
    close(hold[1]); /* the children end holding their units */
    for (i = 0; i < N; i++)
        CU_ASSERT_EQUAL(waitpid(pids[i], NULL, 0), pids[i]);
    close(up[0]);
    close(up[1]);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_EOWNERDEAD); /* theirs came back */
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    pp_sem_destroy(s);
#endif
}

/* A global semaphore created before the pool: fork workers use the
 * handle they inherited, without it being passed. */
static pp_sem *g_inherited;

static int sem_inherited_task(pp_task *t)
{
    pp_status st;

    if (g_inherited == NULL)
        return pp_task_fail(t, PP_EINVAL, "no inherited semaphore");
    st = pp_sem_try_acquire(g_inherited);
    if (st != PP_OK)
        return pp_task_fail(t, st, "try_acquire: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(sem_inherited_task)

static void t_sem_inherited_fork(void)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *res = NULL;
    int64_t v = -1;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 3, 0, &g_inherited), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = PP_START_FORK;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS(pp_apply(p, sem_inherited_task, NULL, &res, NULL), PP_OK);
        pp_values_destroy(res);
        res = NULL;
    }
    PP_ASSERT_STATUS(pp_sem_value(g_inherited, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0); /* the workers took the units (and still live) */
    /* a fourth finds none */
    PP_ASSERT_STATUS(pp_apply(p, sem_inherited_task, NULL, &res, NULL), PP_ETASK);
    pp_values_destroy(res);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    /* the workers ended holding their units: given back */
    PP_ASSERT_STATUS(pp_sem_acquire(g_inherited, WAIT_MS), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_sem_value(g_inherited, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 2);
    pp_sem_destroy(g_inherited);
    g_inherited = NULL;
}

/* The fork pitfall: a child of fork() shares the parent's objects but is
 * another participant. Its units are its own (it cannot release the
 * parent's record), and die with it. */
static void t_sem_fork_child(void)
{
#ifndef _WIN32
    pp_sem *s = NULL;
    int64_t v = -1;
    int status = 0;
    pid_t pid;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_sem_acquire(s, 0), PP_OK); /* the parent holds the unit */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        int code = 0;
        if (pp_sem_try_acquire(s) != PP_EBUSY) /* the inherited handle works */
            code |= 1;
        if (pp_sem_release(s) != PP_OK) /* adds a unit (no record of its own) */
            code |= 2;
        if (pp_sem_acquire(s, 1000) != PP_OK) /* takes it: now the child's */
            code |= 4;
        _exit(code); /* ends holding it */
    }
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the child's unit is back, and this acquire is told of its death;
     * the parent's own unit is still recorded against the parent */
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 2);
    pp_sem_destroy(s);
#endif
}

/* ------------------------------------------------------ manager items */

/* Local sync objects are one machine's: a manager's queue cannot hold
 * them (said before anything is sent), as for local locks. */
static void t_not_in_manager_items(void)
{
    pp_manager_options mo;
    pp_manager *m = NULL;
    pp_mqueue *q = NULL;
    pp_values *v = NULL;
    pp_event *e = NULL;

    memset(&mo, 0, sizeof mo);
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &mo), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_event_create(NULL, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, (int64_t)1, e), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(q, v, 0), PP_ENOTSUP);
    pp_values_destroy(v);
    pp_event_destroy(e);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------------ identity */

static int sem_touch_task(pp_task *t)
{
    pp_sem *s = NULL;
    pp_status st = pp_values_get_sem(pp_task_args(t), 0, &s);

    if (st == PP_OK)
        st = pp_sem_try_acquire(s);
    if (st == PP_OK)
        st = pp_sem_release(s);
    return st == PP_OK ? PP_OK : pp_task_fail(t, st, "%s", pp_err_name(st));
}
PP_TASK_REGISTER(sem_touch_task)

/* A semaphore destroyed and created again under its name is another
 * object: arguments built for the first one fail with PP_ENOENT in a
 * worker that never had it (lock.h: handles already held keep working),
 * and say why; the new one works. */
static void do_recreated(int method)
{
    char name[PP_NAME_MAX + 1];
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *a1 = NULL, *a2 = NULL;
    pp_sem *s = NULL;
    pp_error e;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&a1, s), PP_OK);
    pp_sem_destroy(s);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&a2, s), PP_OK);
    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, sem_touch_task, a1, NULL, &e), PP_ENOENT);
    PP_ASSERT_MSG(strstr(e.message, "sync object") != NULL && strstr(e.message, name) != NULL &&
                      strstr(e.message, "re-created") != NULL,
                  "message: %s", e.message);
    PP_ASSERT_MSG(pp_apply(p, sem_touch_task, a2, NULL, &e) == PP_OK, "%s", e.message);
    pp_values_destroy(a1);
    pp_values_destroy(a2);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_sem_destroy(s);
}
PP_TEST_PER_METHOD(recreated)

static void huge_release(void *arg)
{
    pp_test_sleep_ms(100);
    PP_ASSERT_STATUS(pp_sem_release(arg), PP_OK);
}

static void huge_get(void *arg)
{
    pp_values *v = NULL;

    pp_test_sleep_ms(100);
    PP_ASSERT_STATUS(pp_queue_get(arg, &v, 0), PP_OK);
    pp_values_destroy(v);
}

/* The largest timeouts a caller can pass: a deadline computed as now +
 * timeout overflowed (signed overflow: undefined, caught by UBSan) on
 * every kind. Each call here completes at once, so nothing waits. */
static void t_huge_timeouts(void)
{
    const int64_t big = INT64_MAX;
    pp_sem *s = NULL;
    pp_event *e = NULL;
    pp_barrier *b = NULL;
    pp_lock *l = NULL;
    pp_cond *c = NULL;
    pp_queue *q = NULL;
    pp_array *a = NULL;
    pp_values *v = NULL;
    pp_test_thread *t;
    int64_t i = -1;

    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, big), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, big - 1), PP_OK);
    /* value 0: this one waits (its deadline is used) until a release */
    t = pp_test_thread_start(huge_release, s);
    PP_ASSERT_STATUS(pp_sem_acquire(s, big), PP_OK);
    pp_test_thread_join(t);
    pp_sem_destroy(s);

    PP_ASSERT_STATUS_FATAL(pp_event_create(NULL, &e), PP_OK);
    PP_ASSERT_STATUS(pp_event_set(e), PP_OK);
    PP_ASSERT_STATUS(pp_event_wait(e, big), PP_OK);
    pp_event_destroy(e);

    PP_ASSERT_STATUS_FATAL(pp_barrier_create(NULL, 1, &b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_wait(b, big, &i), PP_OK);
    CU_ASSERT_EQUAL(i, 0);
    pp_barrier_destroy(b);

    /* a cond wait with a huge timeout is notified by no one: only the
     * notify side and the lock are exercised */
    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(NULL, l, &c), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, big), PP_OK);
    PP_ASSERT_STATUS(pp_cond_notify_all(c), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_cond_destroy(c);
    pp_lock_destroy(l);

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 1, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_int(v, 7), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q, v, big), PP_OK);
    /* full (maxsize 1): this put waits until a get */
    t = pp_test_thread_start(huge_get, q);
    PP_ASSERT_STATUS(pp_queue_put(q, v, big), PP_OK);
    pp_test_thread_join(t);
    pp_values_destroy(v);
    v = NULL;
    PP_ASSERT_STATUS(pp_queue_get(q, &v, big), PP_OK);
    pp_values_destroy(v);
    pp_queue_destroy(q);

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 2, &a), PP_OK);
    PP_ASSERT_STATUS(pp_array_set_int64(a, 1, 5, big), PP_OK);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 1, &i, big), PP_OK);
    CU_ASSERT_EQUAL(i, 5);
    PP_ASSERT_STATUS(pp_array_lock(a, big), PP_OK);
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_OK);
    pp_array_destroy(a);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_sem_semantics),
    PP_TEST(t_sem_bounded),
    PP_TEST(t_sem_unowned),
    PP_TEST(t_sem_timeout),
    PP_TEST(t_sem_wakes),
    PP_TEST(t_sem_names),
    PP_TEST(t_sem_values),
    PP_TEST_METHODS(sem_workers, 120),
    PP_TEST_TIMEOUT(t_sem_contention, 300),
    PP_TEST_TIMEOUT(t_sem_inherited_fork, 120),
    PP_TEST(t_sem_fork_child),
    PP_TEST(t_sem_threads),
    PP_TEST(t_sem_table_full),
    PP_TEST(t_not_in_manager_items),
    PP_TEST_METHODS(recreated, 120),
    PP_TEST(t_huge_timeouts),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(sync)
{
    pp_test_add_suite("sync", cases);
}
