/*
 * test_identity.c — a lock or shm block is more than its name.
 *
 * A program that destroys a lock (or block) and creates a new one under
 * the same name while its pool lives must reach the NEW object in its
 * workers, never the old one a worker attached (or inherited under fork)
 * for that name: a worker that kept the old lock would "hold" a lock the
 * parent holds too — the silent loss of exclusion these tests catch.
 * And a task whose arguments name an object that no longer exists (it
 * was re-created after the arguments were built) fails with PP_ENOENT
 * instead of running with the new, unrelated object.
 *
 * Every test runs on every start method (fork and forkserver are in the
 * skip list on Windows).
 */
#include <stdio.h>
#include <string.h>

#include "pp_test.h"
#include "procpool/procpool.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define NAME_BUF (PP_NAME_MAX + 1)

/* args (lock): try to take the lock; the result is the status (the lock
 * is released again if it was taken). */
static int id_trylock(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "k", &lock);

    if (st != PP_OK)
        return pp_task_fail(t, st, "id_trylock: %s", pp_err_name(st));
    st = pp_lock_try_acquire(lock);
    if (st == PP_OK || st == PP_EOWNERDEAD)
        pp_lock_release(lock);
    return pp_values_add_int(pp_task_result(t), st) == PP_OK ? 0 : -1;
}
PP_TASK_REGISTER(id_trylock)

/* args (shm, x): store x in the block's first 8 bytes. */
static int id_write(pp_task *t)
{
    pp_shm *shm = NULL;
    int64_t x = 0;
    pp_status st = pp_values_unpack(pp_task_args(t), "ml", &shm, &x);

    if (st != PP_OK)
        return pp_task_fail(t, st, "id_write: %s", pp_err_name(st));
    memcpy(pp_shm_ptr(shm), &x, sizeof x);
    return 0;
}
PP_TASK_REGISTER(id_write)

/* One worker: both tasks of a test run in the same process, so the
 * second one meets whatever the first one attached. */
static pp_pool *one_worker(int method)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

static void finish(pp_pool *p)
{
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

/* The status the worker's try_acquire of lock gave. */
static pp_status worker_trylock(pp_pool *p, pp_lock *lock)
{
    pp_values *args = NULL, *res = NULL;
    pp_error err;
    int64_t st = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "k", lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, id_trylock, args, &res, &err), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(res, "l", &st), PP_OK);
    pp_values_destroy(args);
    pp_values_destroy(res);
    return (pp_status)st;
}

/* Lock "x" is created before the pool (a fork worker inherits it) and
 * used by the worker; then destroyed and created again while the parent
 * holds the new one: the worker must see it held. */
static void do_relock(int method)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL;
    pp_pool *p;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    p = one_worker(method);
    PP_ASSERT_STATUS(worker_trylock(p, lock), PP_OK);

    pp_lock_destroy(lock);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, 0), PP_OK);
    PP_ASSERT_MSG(worker_trylock(p, lock) == PP_EBUSY,
                  "the worker took the re-created lock the parent holds: it used the old one");
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    /* and the worker can take the new one once it is free */
    PP_ASSERT_STATUS(worker_trylock(p, lock), PP_OK);
    finish(p);
    pp_lock_destroy(lock);
}
PP_TEST_PER_METHOD(relock)

static void worker_write(pp_pool *p, pp_shm *shm, int64_t x)
{
    pp_values *args = NULL;
    pp_error err;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "ml", shm, x), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, id_write, args, NULL, &err), PP_OK);
    pp_values_destroy(args);
}

static int64_t first_word(pp_shm *shm)
{
    int64_t x;

    memcpy(&x, pp_shm_ptr(shm), sizeof x);
    return x;
}

/* The same for a shm block: the worker's writes land in the new block. */
static void do_reshm(int method)
{
    char name[NAME_BUF];
    pp_shm *shm = NULL;
    pp_status st;
    pp_pool *p;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(name, 64, &shm), PP_OK);
    p = one_worker(method);
    worker_write(p, shm, 1);
    CU_ASSERT_EQUAL(first_word(shm), 1);

    pp_shm_destroy(shm);
    st = pp_shm_create(name, 64, &shm);
    if (st == PP_EEXIST && (pp_test_platform() & PP_TEST_ON_WINDOWS)) {
        /* shm.h: on Windows the name stays taken while the worker has
         * the old block open; nothing can be confused then. */
        finish(p);
        return;
    }
    PP_ASSERT_STATUS_FATAL(st, PP_OK);
    worker_write(p, shm, 2);
    PP_ASSERT_MSG(first_word(shm) == 2,
                  "the worker's write did not reach the re-created block (it holds %lld)",
                  (long long)first_word(shm));
    finish(p);
    pp_shm_destroy(shm);
}
PP_TEST_PER_METHOD(reshm)

/* Arguments built for the first lock "x", sent after "x" was re-created:
 * the task fails with PP_ENOENT (that lock is gone), it does not run with
 * the new one. The pool exists before either lock, so no worker has the
 * first one: it can only open the name. */
static void do_stale_item(int method)
{
    char name[NAME_BUF];
    pp_values *args = NULL, *res = NULL;
    pp_lock *lock = NULL;
    pp_error err;
    pp_pool *p;
    pp_status st;

    pp_test_unique_name(name, sizeof name);
    p = one_worker(method);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "k", lock), PP_OK);
    pp_lock_destroy(lock);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, 0), PP_OK);

    memset(&err, 0, sizeof err);
    st = pp_apply(p, id_trylock, args, &res, &err);
    PP_ASSERT_STATUS(st, PP_ENOENT);
    PP_ASSERT_MSG(strstr(err.message, "re-created") != NULL, "message: %s", err.message);
    pp_values_destroy(res);
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    finish(p);
    pp_lock_destroy(lock);
}
PP_TEST_PER_METHOD(stale_item)

/* args (name): open the lock by name, try to take it; the result is the
 * status (released again if taken). */
static int id_open_trylock(pp_task *t)
{
    const char *name = NULL;
    pp_lock *lock = NULL;
    pp_status st = pp_values_unpack(pp_task_args(t), "s", &name);

    if (st == PP_OK)
        st = pp_lock_open(name, &lock);
    if (st != PP_OK)
        return pp_task_fail(t, st, "id_open_trylock: %s", pp_err_name(st));
    st = pp_lock_try_acquire(lock);
    if (st == PP_OK || st == PP_EOWNERDEAD)
        pp_lock_release(lock);
    pp_lock_destroy(lock);
    return pp_values_add_int(pp_task_result(t), st) == PP_OK ? 0 : -1;
}
PP_TASK_REGISTER(id_open_trylock)

/* pp_lock_open() by name in a worker, after the parent re-created the
 * lock: the new lock, also under fork where the worker inherited the
 * parent's handle of the old one. */
static void do_open_recreated(int method)
{
    char name[NAME_BUF];
    pp_values *args = NULL, *res = NULL;
    pp_lock *lock = NULL;
    int64_t got = 0;
    pp_error err;
    pp_pool *p;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    p = one_worker(method);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&args, name), PP_OK);
    pp_lock_destroy(lock);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, 0), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, id_open_trylock, args, &res, &err), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(res, "l", &got), PP_OK);
    PP_ASSERT_MSG(got == PP_EBUSY, "the worker's pp_lock_open gave a lock it could take (%s)",
                  pp_err_name((pp_status)got));
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(args);
    finish(p);
    pp_lock_destroy(lock);
}
PP_TEST_PER_METHOD(open_recreated)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(relock, 60),
    PP_TEST_METHODS(reshm, 60),
    PP_TEST_METHODS(stale_item, 60),
    PP_TEST_METHODS(open_recreated, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(identity)
{
    pp_test_add_suite("identity", cases);
}
