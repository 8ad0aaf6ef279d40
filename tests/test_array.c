/*
 * test_array.c — pp_array (array.h): typed elements, ranges, records,
 * the robust lock (exclusion across processes, a holder killed while
 * holding it, the thread that holds it reading and writing), lock-free
 * atomic int64 elements across processes, bad input.
 * Pool workers using an array as a task argument: test_queue.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "pp_test.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define CHILD_MS (60000 * pp_test_timeout_mult())
#define LINE_MS  (30000 * pp_test_timeout_mult())

static void t_semantics(void)
{
    pp_array *a = NULL, *b = NULL, *d = NULL;
    int64_t x = -1, seen = 0, buf[4] = {1, 2, 3, 4}, out[4];
    double y = 0;
    int swapped = -1;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 4, &a), PP_OK);
    CU_ASSERT_EQUAL(pp_array_type_of(a), PP_ARRAY_INT64);
    CU_ASSERT_EQUAL(pp_array_length(a), 4);
    CU_ASSERT_EQUAL(pp_array_elem_size(a), 8);
    CU_ASSERT_EQUAL((uintptr_t)pp_array_ptr(a) % 64, 0);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 3, &x, 0), PP_OK);
    CU_ASSERT_EQUAL(x, 0); /* zero-filled */
    PP_ASSERT_STATUS(pp_array_write(a, 0, 4, buf, 0), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_array_open(pp_array_name(a), &b), PP_OK);
    PP_ASSERT_STATUS(pp_array_read(b, 1, 3, out, 0), PP_OK);
    CU_ASSERT(out[0] == 2 && out[1] == 3 && out[2] == 4);
    PP_ASSERT_STATUS(pp_array_set_int64(b, 0, -9, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, 0), PP_OK);
    CU_ASSERT_EQUAL(x, -9);
    /* atomics */
    PP_ASSERT_STATUS(pp_array_store_int64(a, 2, INT64_MAX), PP_OK);
    PP_ASSERT_STATUS(pp_array_add_int64(b, 2, 1, &x), PP_OK);
    CU_ASSERT_EQUAL(x, INT64_MIN);
    PP_ASSERT_STATUS(pp_array_cas_int64(a, 1, 2, 20, &swapped, &seen), PP_OK);
    CU_ASSERT(swapped == 1 && seen == 2);
    PP_ASSERT_STATUS(pp_array_cas_int64(a, 1, 2, 30, &swapped, &seen), PP_OK);
    CU_ASSERT(swapped == 0 && seen == 20);
    PP_ASSERT_STATUS(pp_array_load_int64(b, 1, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 20);
    /* bounds, types */
    PP_ASSERT_STATUS(pp_array_load_int64(a, 4, &x), PP_ERANGE);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 4, &x, 0), PP_ERANGE);
    PP_ASSERT_STATUS(pp_array_read(a, 2, 3, out, 0), PP_ERANGE);
    PP_ASSERT_STATUS(pp_array_read(a, (size_t)-1, 2, out, 0), PP_ERANGE);
    PP_ASSERT_STATUS(pp_array_read(a, 0, 0, out, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_get_double(a, 0, &y, 0), PP_ETYPE);
    /* double */
    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_DOUBLE, 2, &d), PP_OK);
    PP_ASSERT_STATUS(pp_array_set_double(d, 1, 2.5, 0), PP_OK);
    PP_ASSERT_STATUS(pp_array_get_double(d, 1, &y, 0), PP_OK);
    CU_ASSERT(y == 2.5);
    PP_ASSERT_STATUS(pp_array_add_int64(d, 0, 1, NULL), PP_ETYPE);
    PP_ASSERT_STATUS(pp_array_set_int64(d, 0, 1, 0), PP_ETYPE);
    pp_array_destroy(d);
    pp_array_destroy(b);
    pp_array_destroy(a);
}

typedef struct rec {
    int32_t id;
    char tag[12];
} rec;

static void t_records(void)
{
    pp_array *a = NULL;
    rec in[3], out[3];
    int i;

    PP_ASSERT_STATUS_FATAL(pp_array_create_records(NULL, sizeof(rec), 3, &a), PP_OK);
    CU_ASSERT_EQUAL(pp_array_type_of(a), PP_ARRAY_RECORD);
    CU_ASSERT_EQUAL(pp_array_elem_size(a), sizeof(rec));
    memset(in, 0, sizeof in);
    for (i = 0; i < 3; i++) {
        in[i].id = i * 10;
        snprintf(in[i].tag, sizeof in[i].tag, "r%d", i);
    }
    PP_ASSERT_STATUS(pp_array_write(a, 0, 3, in, 0), PP_OK);
    PP_ASSERT_STATUS(pp_array_read(a, 0, 3, out, 0), PP_OK);
    CU_ASSERT(memcmp(in, out, sizeof in) == 0);
    PP_ASSERT_STATUS(pp_array_load_int64(a, 0, &(int64_t){0}), PP_ETYPE);
    pp_array_destroy(a);
}

static void t_bad_input(void)
{
    pp_array *a = NULL;
    pp_queue *q = NULL;
    char name[PP_NAME_MAX + 1];
    int64_t x;

    PP_ASSERT_STATUS(pp_array_create(NULL, PP_ARRAY_INT64, 1, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create(NULL, PP_ARRAY_INT64, 0, &a), PP_EINVAL);
    CU_ASSERT_PTR_NULL(a);
    PP_ASSERT_STATUS(pp_array_create(NULL, PP_ARRAY_RECORD, 1, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create(NULL, (pp_array_type)9, 1, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create(NULL, PP_ARRAY_INT64, PP_ARRAY_BYTES_MAX / 8 + 1, &a),
                     PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create(NULL, PP_ARRAY_INT64, (size_t)-1, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create_records(NULL, 0, 1, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create_records(NULL, PP_ARRAY_RECORD_MAX + 1, 1, &a), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_create("a/b", PP_ARRAY_INT64, 1, &a), PP_EINVAL);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_array_open(name, &a), PP_ENOENT);
    PP_ASSERT_STATUS_FATAL(pp_queue_create(name, 0, 0, &q), PP_OK);
    PP_ASSERT_STATUS(pp_array_open(name, &a), PP_ETYPE);
    PP_ASSERT_STATUS(pp_array_create(name, PP_ARRAY_INT64, 1, &a), PP_EEXIST);
    pp_queue_destroy(q);
    PP_ASSERT_STATUS(pp_array_lock(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_unlock(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_load_int64(NULL, 0, &x), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_array_create(name, PP_ARRAY_INT64, 1, &a), PP_OK);
    PP_ASSERT_STATUS(pp_array_load_int64(a, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_read(a, 0, 1, NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_lock(a, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_EPERM);
    CU_ASSERT_EQUAL(pp_array_length(NULL), 0);
    CU_ASSERT_PTR_NULL(pp_array_ptr(NULL));
    pp_array_destroy(NULL);
    pp_array_destroy(a);
    PP_ASSERT_STATUS(pp_array_open(name, &a), PP_ENOENT);
}

/* ----------------------------------------------------------------- lock */

typedef struct blocked {
    pp_array *a;
    pp_status st;
} blocked;

static void try_lock_thread(void *arg)
{
    blocked *b = arg;

    b->st = pp_array_lock(b->a, 50);
    if (b->st == PP_OK)
        pp_array_unlock(b->a);
}

static void read_thread(void *arg)
{
    blocked *b = arg;
    int64_t x;

    b->st = pp_array_get_int64(b->a, 0, &x, 50);
}

static void t_lock(void)
{
    pp_array *a = NULL;
    blocked b;
    int64_t x = 0;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 2, &a), PP_OK);
    PP_ASSERT_STATUS(pp_array_lock(a, 0), PP_OK);
    PP_ASSERT_STATUS(pp_array_lock(a, 0), PP_EDEADLK);
    /* the holder's element calls do not take it again */
    PP_ASSERT_STATUS(pp_array_set_int64(a, 0, 5, 0), PP_OK);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, 0), PP_OK);
    CU_ASSERT_EQUAL(x, 5);
    /* another thread waits for it */
    b.a = a;
    b.st = PP_OK;
    pp_test_run_in_thread(try_lock_thread, &b);
    PP_ASSERT_STATUS(b.st, PP_ETIMEDOUT);
    pp_test_run_in_thread(read_thread, &b);
    PP_ASSERT_STATUS(b.st, PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_OK);
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_EPERM);
    pp_test_run_in_thread(try_lock_thread, &b);
    PP_ASSERT_STATUS(b.st, PP_OK);
    pp_test_run_in_thread(read_thread, &b);
    PP_ASSERT_STATUS(b.st, PP_OK);
    pp_array_destroy(a);
}

static pp_array *helper_open(const char *helper, const char *name)
{
    pp_array *a = NULL;
    pp_status st = pp_array_open(name, &a);

    if (st != PP_OK) {
        fprintf(stderr, "%s: pp_array_open(%s): %s\n", helper, name, pp_err_name(st));
        exit(PP_TEST_EXIT_SETUP);
    }
    return a;
}

/* array-incr NAME N: N racy increments of element 0 under the lock, and
 * N atomic increments of element 1. */
static int h_incr(int argc, char **argv)
{
    pp_array *a;
    int64_t *p, n, i;
    pp_status st = PP_OK;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    a = helper_open(argv[0], argv[1]);
    n = atoll(argv[2]);
    p = pp_array_ptr(a);
    for (i = 0; i < n && st == PP_OK; i++) {
        st = pp_array_lock(a, 60000);
        if (st != PP_OK)
            break;
        pp_test_racy_increment(p, i);
        st = pp_array_unlock(a);
        if (st == PP_OK)
            st = pp_array_add_int64(a, 1, 1, NULL);
    }
    pp_array_destroy(a);
    return pp_test_exit_from_status(st);
}

static void t_exclusion_processes(void)
{
    enum { C = 3, N = 3000 };
    pp_test_child *c[C];
    pp_array *a = NULL;
    char ns[16];
    int64_t x = 0, *p;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 2, &a), PP_OK);
    snprintf(ns, sizeof ns, "%d", N);
    for (i = 0; i < C; i++) {
        const char *args[] = {pp_array_name(a), ns, NULL};
        c[i] = pp_test_spawn("array-incr", args);
        CU_ASSERT_FATAL(c[i] != NULL);
    }
    p = pp_array_ptr(a);
    for (i = 0; i < N; i++) {
        PP_ASSERT_STATUS_FATAL(pp_array_lock(a, WAIT_MS), PP_OK);
        pp_test_racy_increment(p, i);
        PP_ASSERT_STATUS_FATAL(pp_array_unlock(a), PP_OK);
        PP_ASSERT_STATUS(pp_array_add_int64(a, 1, 1, NULL), PP_OK);
    }
    for (i = 0; i < C; i++) {
        PP_ASSERT_STATUS(pp_test_status_from_exit(pp_test_child_exit_code(c[i], CHILD_MS)), PP_OK);
        pp_test_child_free(c[i]);
    }
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, 0), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)(C + 1) * N);
    PP_ASSERT_STATUS(pp_array_load_int64(a, 1, &x), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)(C + 1) * N);
    pp_array_destroy(a);
}

/* array-hold NAME: take the lock, write 1 into element 0, say "held",
 * wait to be killed. */
static int h_hold(int argc, char **argv)
{
    pp_array *a;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    a = helper_open(argv[0], argv[1]);
    if (pp_array_lock(a, 10000) != PP_OK)
        return PP_TEST_EXIT_SETUP;
    ((int64_t *)pp_array_ptr(a))[0] = 1;
    pp_test_say("held");
    for (;;)
        pp_test_sleep_ms(1000);
}

static void t_holder_killed(void)
{
    pp_array *a = NULL;
    pp_test_child *c;
    const char *args[2];
    int64_t t0, x = 0;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1, &a), PP_OK);
    args[0] = pp_array_name(a);
    args[1] = NULL;
    c = pp_test_spawn("array-hold", args);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(pp_test_child_expect(c, "held", LINE_MS));
    PP_ASSERT_STATUS(pp_array_lock(a, 50), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, 0), PP_ETIMEDOUT);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    t0 = pp_test_now_ms();
    /* the element call is told too: it took over a dead holder's lock */
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, WAIT_MS), PP_EOWNERDEAD);
    CU_ASSERT_EQUAL(x, 1);
    CU_ASSERT(pp_test_now_ms() - t0 < 10000 * pp_test_timeout_mult());
    PP_ASSERT_STATUS(pp_array_lock(a, 0), PP_OK); /* told once */
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_OK);
    pp_array_destroy(a);
}

/* A waiter blocked on the lock notices the holder's death within a slice. */
typedef struct waiter {
    pp_array *a;
    pp_status st;
    int64_t done_ms;
} waiter;

static void wait_lock_thread(void *arg)
{
    waiter *w = arg;

    w->st = pp_array_lock(w->a, PP_INFINITE);
    w->done_ms = pp_test_now_ms();
}

static void t_waiter_sees_death(void)
{
    pp_array *a = NULL;
    pp_test_child *c;
    pp_test_thread *t;
    const char *args[2];
    waiter w;
    int64_t t0;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1, &a), PP_OK);
    args[0] = pp_array_name(a);
    args[1] = NULL;
    c = pp_test_spawn("array-hold", args);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(pp_test_child_expect(c, "held", LINE_MS));
    w.a = a;
    w.st = PP_EINVAL;
    w.done_ms = 0;
    t = pp_test_thread_start(wait_lock_thread, &w);
    pp_test_sleep_ms(200); /* the thread waits by now (if not, it still must get it) */
    t0 = pp_test_now_ms();
    /* killed and reaped: where the OS gives no start times (the fallback
     * port), a zombie's pid still answers as alive */
    pp_test_child_kill(c);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_EOWNERDEAD);
    CU_ASSERT(w.done_ms - t0 < 10000 * pp_test_timeout_mult());
    PP_ASSERT_STATUS(pp_array_unlock(a), PP_EPERM); /* the thread holds it, not this one */
    pp_test_child_free(c);
    pp_array_destroy(a);
}

/* (array, n): n racy increments of element 0 under the array's lock and
 * n atomic increments of element 1. */
static int aw_task(pp_task *t)
{
    pp_array *a = NULL;
    int64_t n = 0, i, *p;
    pp_status st = pp_values_get_array(pp_task_args(t), 0, &a);

    if (st == PP_OK)
        st = pp_values_get_int(pp_task_args(t), 1, &n);
    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (array, n): %s", pp_err_name(st));
    p = pp_array_ptr(a);
    for (i = 0; i < n && st == PP_OK; i++) {
        st = pp_array_lock(a, 60000);
        if (st != PP_OK)
            break;
        pp_test_racy_increment(p, i);
        st = pp_array_unlock(a);
        if (st == PP_OK)
            st = pp_array_add_int64(a, 1, 1, NULL);
    }
    return st == PP_OK ? 0 : pp_task_fail(t, st, "%s", pp_err_name(st));
}
PP_TASK_REGISTER(aw_task)

static void do_workers(int method)
{
    enum { TASKS = 6, N = 2000 };
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *items[TASKS];
    pp_result *r = NULL;
    pp_array *a = NULL;
    int64_t x = 0;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 2, &a), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < TASKS; i++) {
        items[i] = NULL;
        PP_ASSERT_STATUS_FATAL(pp_values_of(&items[i], a, N), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, aw_task, items, TASKS, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_array_get_int64(a, 0, &x, WAIT_MS), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)TASKS * N);
    PP_ASSERT_STATUS(pp_array_load_int64(a, 1, &x), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)TASKS * N);
    pp_result_release(r);
    for (i = 0; i < TASKS; i++)
        pp_values_destroy(items[i]);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_array_destroy(a);
}

PP_TEST_PER_METHOD(workers)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_semantics),
    PP_TEST(t_records),
    PP_TEST(t_bad_input),
    PP_TEST(t_lock),
    PP_TEST_TIMEOUT(t_exclusion_processes, 120),
    PP_TEST(t_holder_killed),
    PP_TEST(t_waiter_sees_death),
    PP_TEST_METHODS(workers, 120),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {
    {"array-incr", h_incr},
    {"array-hold", h_hold},
    {NULL, NULL},
};

PP_TEST_SUITE(array)
{
    pp_test_add_suite("array", cases);
    pp_test_add_helpers(helpers);
}
