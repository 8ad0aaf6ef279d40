/*
 * test_supervise.c — supervision under faults from outside the pool:
 * workers killed while starting, a pool that breaks while work is queued,
 * prefetched or re-queued, tasks sent to a worker that has just died,
 * work stuck behind a busy worker. Every wait is bounded: a hang fails
 * the test instead of stalling the suite.
 *
 * The tasks talk to the test through one shared memory block (struct
 * ctl): the initializer's mode, a gate that blocking tasks wait for, and
 * the pid of the worker that ran each item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "pp_test.h"
#include "procpool/procpool.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define MAX_ITEM 256

enum { INIT_OK = 0, INIT_FAIL = 1 };

typedef struct ctl {
    volatile int64_t init_mode;      /* INIT_* */
    volatile int64_t gate;           /* blocking tasks run while 0 */
    volatile int64_t pid[MAX_ITEM];  /* worker pid that started item i */
    volatile int64_t runs[MAX_ITEM]; /* times item i was started */
} ctl;

/* In a worker: the block named in the initializer's arguments. */
static ctl *g_ctl;

static int sv_init(pp_task *t)
{
    pp_shm *s = NULL;

    if (pp_values_unpack(pp_task_args(t), "m", &s) != PP_OK)
        return pp_task_fail(t, 2, "sv_init expects a shm block");
    g_ctl = pp_shm_ptr(s);
    if (g_ctl->init_mode == INIT_FAIL)
        return pp_task_fail(t, 7, "initializer told to fail");
    return 0;
}
PP_TASK_REGISTER(sv_init)

static int64_t self_pid(void)
{
    return (int64_t)pp__plat_getpid();
}

/* Record that item i started here, wait for the gate, return i. */
static int sv_gated(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK || i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_gated expects an index");
    g_ctl->runs[i]++;
    g_ctl->pid[i] = self_pid();
    while (g_ctl->gate == 0)
        pp_test_sleep_ms(1);
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_gated)

/* Record that item i started here and return i at once. */
static int sv_quick(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK || i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_quick expects an index");
    g_ctl->runs[i]++;
    g_ctl->pid[i] = self_pid();
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_quick)

/* ------------------------------------------------------------- helpers */

typedef struct fixture {
    pp_shm *shm;
    ctl *c;
    pp_pool *pool;
} fixture;

static void fixture_open(fixture *f, int method, int nworkers)
{
    pp_pool_options o;
    pp_values *initargs = NULL;

    memset(f, 0, sizeof *f);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(ctl), &f->shm), PP_OK);
    f->c = pp_shm_ptr(f->shm);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&initargs, "m", f->shm), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = nworkers;
    o.start_method = (pp_start_method)method;
    o.initializer = sv_init;
    o.initargs = initargs;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&f->pool, &o), PP_OK);
    pp_values_destroy(initargs);
}

static void fixture_close(fixture *f)
{
    f->c->gate = 1;
    pp_pool_terminate(f->pool);
    PP_ASSERT_STATUS(pp_pool_join(f->pool, WAIT_MS), PP_OK);
    pp_pool_destroy(f->pool);
    pp_shm_destroy(f->shm);
}

/* Wait until item i has started; its worker's pid, or 0 after WAIT_MS. */
static int64_t started_pid(const fixture *f, int i)
{
    int64_t deadline = pp_test_now_ms() + WAIT_MS;

    while (f->c->pid[i] == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    return f->c->pid[i];
}

static pp_values *indices(int n)
{
    pp_values *v = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(v, i), PP_OK);
    return v;
}

/* ------------------------------------------------------------------ tests */

/*
 * The pool breaks (replacements' initializer fails) while work is queued,
 * running, and prefetched to a worker that dies afterwards: every item
 * must reach a final state; none may wait for a worker that will never
 * come.
 */
static void do_broken_pool_fails_everything(int m)
{
    const int n = 20;
    pp_submit_options so;
    pp_values *items = indices(n);
    pp_result *r = NULL;
    const pp_error *e;
    int64_t pid0, pid1;
    fixture f;
    int i;

    fixture_open(&f, m, 2);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_gated, items, &so, &r), PP_OK);
    pid0 = started_pid(&f, 0);
    pid1 = started_pid(&f, 1);
    CU_ASSERT_FATAL(pid0 != 0 && pid1 != 0 && pid0 != pid1);
    f.c->init_mode = INIT_FAIL; /* every replacement fails to start */
    pp_test_kill_pid(pid1);
    pp_test_sleep_ms(200); /* the pool breaks meanwhile */
    pp_test_kill_pid(pid0);
    PP_ASSERT_MSG(pp_result_wait(r, WAIT_MS) == PP_OK,
                  "the map never became ready after the pool broke (items left pending)");
    for (i = 0; i < n; i++) {
        pp_status st = pp_result_item(r, (size_t)i, NULL, &e);
        PP_ASSERT_MSG(st != PP_ENOTREADY, "item %d has no final state", i);
        PP_ASSERT_MSG(st != PP_OK, "item %d succeeded, but its worker was killed or it never ran",
                      i);
    }
    pp_result_release(r);
    /* later work is refused at once, with the reason */
    PP_ASSERT_STATUS(pp_apply_async(f.pool, sv_quick, items, NULL, &r), PP_ETASK);
    pp_values_destroy(items);
    fixture_close(&f);
}

PP_TEST_PER_METHOD(broken_pool_fails_everything)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(broken_pool_fails_everything, 180),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(supervise)
{
    pp_test_add_suite("supervise", cases);
}
