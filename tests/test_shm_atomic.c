/*
 * test_shm_atomic.c — atomic int64 slots of a shared memory block
 * (shm.h: pp_shm_load/store/add/cas_int64), in one process, between
 * threads, and between pool workers on every start method.
 */
#include <string.h>

#include "procpool/procpool.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())
#define ADDS    20000

static void t_semantics(void)
{
    pp_shm *s = NULL;
    int64_t x = -1, seen = -1;
    int swapped = -1;

    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 64, &s), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 0); /* a new block is zeroed */
    PP_ASSERT_STATUS(pp_shm_store_int64(s, 8, INT64_MAX), PP_OK);
    PP_ASSERT_STATUS(pp_shm_add_int64(s, 8, 1, &x), PP_OK);
    CU_ASSERT_EQUAL(x, INT64_MIN); /* wraps, two's complement */
    PP_ASSERT_STATUS(pp_shm_add_int64(s, 16, -5, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 16, &x), PP_OK);
    CU_ASSERT_EQUAL(x, -5);
    PP_ASSERT_STATUS(pp_shm_cas_int64(s, 16, -5, 7, &swapped, &seen), PP_OK);
    CU_ASSERT(swapped == 1 && seen == -5);
    PP_ASSERT_STATUS(pp_shm_cas_int64(s, 16, -5, 9, &swapped, &seen), PP_OK);
    CU_ASSERT(swapped == 0 && seen == 7);
    PP_ASSERT_STATUS(pp_shm_cas_int64(s, 16, 7, 8, NULL, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 16, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 8);
    /* the slots are the block's memory */
    CU_ASSERT_EQUAL(((int64_t *)pp_shm_ptr(s))[2], 8);
    /* bounds and alignment */
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 56, &x), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 64, &x), PP_ERANGE);
    PP_ASSERT_STATUS(pp_shm_store_int64(s, (size_t)-8, 1), PP_ERANGE);
    PP_ASSERT_STATUS(pp_shm_add_int64(s, 4, 1, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_cas_int64(s, 12, 0, 1, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_load_int64(NULL, 0, &x), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 0, NULL), PP_EINVAL);
    pp_shm_destroy(s);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 7, &s), PP_OK); /* no whole slot */
    PP_ASSERT_STATUS(pp_shm_store_int64(s, 0, 1), PP_ERANGE);
    pp_shm_destroy(s);
}

typedef struct adder {
    pp_shm *s;
    int errors;
} adder;

static void add_many(void *arg)
{
    adder *a = arg;
    int i;

    for (i = 0; i < ADDS; i++) {
        if (pp_shm_add_int64(a->s, 0, 1, NULL) != PP_OK)
            a->errors++;
        if (pp_shm_add_int64(a->s, 8, -1, NULL) != PP_OK)
            a->errors++;
    }
}

static void t_threads(void)
{
    pp_shm *s = NULL;
    adder a, b;
    pp_test_thread *ta, *tb;
    int64_t x = 0, y = 0;

    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 16, &s), PP_OK);
    a.s = b.s = s;
    a.errors = b.errors = 0;
    ta = pp_test_thread_start(add_many, &a);
    tb = pp_test_thread_start(add_many, &b);
    pp_test_thread_join(ta);
    pp_test_thread_join(tb);
    CU_ASSERT_EQUAL(a.errors + b.errors, 0);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 0, &x), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 8, &y), PP_OK);
    CU_ASSERT_EQUAL(x, 2 * ADDS);
    CU_ASSERT_EQUAL(y, -2 * ADDS);
    pp_shm_destroy(s);
}

/* (shm, n): add 1 to slot 0 n times; slot 1 counts the tasks. */
static int sa_task(pp_task *t)
{
    pp_shm *s = NULL;
    int64_t n = 0, i;
    pp_status st = pp_values_unpack(pp_task_args(t), "ml", &s, &n);

    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (shm, n)");
    for (i = 0; i < n; i++) {
        st = pp_shm_add_int64(s, 0, 1, NULL);
        if (st != PP_OK)
            return pp_task_fail(t, st, "add: %s", pp_err_name(st));
    }
    return pp_shm_add_int64(s, 8, 1, NULL);
}
PP_TASK_REGISTER(sa_task)

static void do_workers(int method)
{
    enum { TASKS = 8 };
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *items[TASKS];
    pp_result *r = NULL;
    pp_shm *s = NULL;
    int64_t x = 0, tasks = 0;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 16, &s), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < TASKS; i++) {
        items[i] = NULL;
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&items[i], "ml", s, (int64_t)ADDS), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, sa_task, items, TASKS, NULL, &r), PP_OK);
    /* the parent adds too, at the same time */
    for (i = 0; i < ADDS; i++)
        PP_ASSERT_STATUS(pp_shm_add_int64(s, 0, 1, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 0, &x), PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(s, 8, &tasks), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)(TASKS + 1) * ADDS);
    CU_ASSERT_EQUAL(tasks, TASKS);
    pp_result_release(r);
    for (i = 0; i < TASKS; i++)
        pp_values_destroy(items[i]);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_shm_destroy(s);
}

PP_TEST_PER_METHOD(workers)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_semantics),
    PP_TEST(t_threads),
    PP_TEST_METHODS(workers, 120),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(shm_atomic)
{
    pp_test_add_suite("shm_atomic", cases);
}
