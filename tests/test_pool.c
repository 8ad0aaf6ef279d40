/*
 * test_pool.c — the process pool: every submission form, results and
 * callbacks, task errors, worker deaths of every kind, maxtasksperchild,
 * terminate/close semantics, bad arguments, and parent death — on every
 * start method the platform has (fork and forkserver tests are in the
 * skip list on Windows).
 */
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <signal.h>
#ifdef __linux__
#include <dirent.h>
#endif
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
#include "procpool/procpool.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* ------------------------------------------------------------ task functions */

static int tk_square(pp_task *t)
{
    int64_t x;

    if (pp_values_unpack(pp_task_args(t), "l", &x) != PP_OK)
        return pp_task_fail(t, 2, "square expects one integer");
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(tk_square)

static int tk_add(pp_task *t)
{
    int64_t a, b;

    if (pp_values_unpack(pp_task_args(t), "ll", &a, &b) != PP_OK)
        return pp_task_fail(t, 2, "add expects two integers");
    return pp_values_add_int(pp_task_result(t), a + b);
}
PP_TASK_REGISTER(tk_add)

/* Square, except that items with index % 1000 == 7 fail. */
static int tk_square_or_fail(pp_task *t)
{
    int64_t x;

    if (pp_values_unpack(pp_task_args(t), "l", &x) != PP_OK)
        return pp_task_fail(t, 2, "expects one integer");
    if (pp_task_index(t) % 1000 == 7)
        return pp_task_fail(t, 3, "item %lld refused", (long long)x);
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(tk_square_or_fail)

/* Half of a number: a double for a double, for an odd int a double, for an
 * even int an int, and for an int divisible by 7 two values (x, x / 2). */
static int tk_half(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    int64_t x;
    double d;

    if (pp_values_get_double(a, 0, &d) == PP_OK)
        return pp_values_add_double(pp_task_result(t), d / 2);
    if (pp_values_get_int(a, 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "expects a number");
    if (x % 7 == 0 && x != 0) {
        pp_values_add_int(pp_task_result(t), x);
        return pp_values_add_int(pp_task_result(t), x / 2);
    }
    if (x % 2 != 0)
        return pp_values_add_double(pp_task_result(t), (double)x / 2);
    return pp_values_add_int(pp_task_result(t), x / 2);
}
PP_TASK_REGISTER(tk_half)

static int tk_fail(pp_task *t)
{
    int64_t x = 0;

    pp_values_unpack(pp_task_args(t), "l", &x);
    return pp_task_fail(t, 42, "boom %d", (int)x);
}
PP_TASK_REGISTER(tk_fail)

static int tk_pid(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(tk_pid)

static int tk_sleep(pp_task *t)
{
    int64_t ms = 0;

    pp_values_unpack(pp_task_args(t), "l", &ms);
    pp__plat_sleep_ms(ms);
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid());
}
PP_TASK_REGISTER(tk_sleep)

static int tk_echo(pp_task *t)
{
    pp_values *copy;
    pp_status st = pp_values_copy(pp_task_args(t), &copy);
    size_t i;

    if (st != PP_OK)
        return pp_task_fail(t, st, "copy failed");
    /* Re-add every value to the result (types preserved). */
    for (i = 0; i < pp_values_count(copy) && st == PP_OK; i++) {
        int64_t iv;
        double dv;
        const char *sv;
        const void *bv;
        size_t bn;
        switch (pp_values_type(copy, i)) {
        case PP_TYPE_INT:
            pp_values_get_int(copy, i, &iv);
            st = pp_values_add_int(pp_task_result(t), iv);
            break;
        case PP_TYPE_DOUBLE:
            pp_values_get_double(copy, i, &dv);
            st = pp_values_add_double(pp_task_result(t), dv);
            break;
        case PP_TYPE_STR:
            pp_values_get_str(copy, i, &sv);
            st = pp_values_add_str(pp_task_result(t), sv);
            break;
        case PP_TYPE_BYTES:
            pp_values_get_bytes(copy, i, &bv, &bn);
            st = pp_values_add_bytes(pp_task_result(t), bv, bn);
            break;
        default:
            st = PP_ETYPE;
        }
    }
    pp_values_destroy(copy);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "echo failed");
}
PP_TASK_REGISTER(tk_echo)

/* Publish our pid in the named shm block given as argument, then block. */
static int tk_block(pp_task *t)
{
    const char *name;
    pp__plat_shm *shm;

    if (pp_values_unpack(pp_task_args(t), "s", &name) != PP_OK)
        return pp_task_fail(t, 2, "block expects a shm name");
    if (pp__plat_shm_open(name, &shm) != PP_OK)
        return pp_task_fail(t, 3, "cannot open shm %s", name);
    *(volatile int64_t *)pp__plat_shm_ptr(shm) = (int64_t)pp__plat_getpid();
    pp__plat_shm_close(shm);
    pp__plat_sleep_ms(60000);
    return 0;
}
PP_TASK_REGISTER(tk_block)

static int tk_segv(pp_task *t)
{
    (void)t;
    raise(SIGSEGV);
    return 0;
}
PP_TASK_REGISTER(tk_segv)

static int tk_abort(pp_task *t)
{
    (void)t;
    abort();
}
PP_TASK_REGISTER(tk_abort)

static int tk_exit(pp_task *t)
{
    (void)t;
    _Exit(7);
}
PP_TASK_REGISTER(tk_exit)

#ifndef _WIN32
/* In a task: fork a child that keeps a copy of every fd of the worker
 * (its channel too) and sleeps ms before exiting. The child's pid, or -1. */
static pid_t fork_keeper(int64_t ms)
{
    pid_t pid = fork();

    if (pid == 0) {
        pp__plat_sleep_ms(ms);
        _exit(0);
    }
    return pid;
}
#endif

/*
 * Hand the worker's own channel end to a new process that outlives the
 * worker (it publishes its pid in the shm block named by the argument and
 * sleeps), then make the worker exit. The parent never sees EOF on the
 * channel while that process lives: the pool must notice the death anyway.
 * POSIX: a forked child keeps every fd. Windows: the channel handles, taken
 * from the worker's --pp-role marker, are made inheritable for a child
 * created with bInheritHandles.
 */
static int tk_leak_channel_exit(pp_task *t)
{
    const char *name;
    pp__plat_shm *shm;
    volatile int64_t *slot;

    if (pp_values_unpack(pp_task_args(t), "s", &name) != PP_OK)
        return pp_task_fail(t, 2, "expects a shm name");
    if (pp__plat_shm_open(name, &shm) != PP_OK)
        return pp_task_fail(t, 3, "cannot open shm %s", name);
    slot = pp__plat_shm_ptr(shm);
#ifdef _WIN32
    {
        wchar_t self[MAX_PATH + 1], line[2 * MAX_PATH];
        const wchar_t *m = wcsstr(GetCommandLineW(), L"--pp-role=worker:");
        unsigned long long rd = 0, wr = 0;
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;

        if (m == NULL || swscanf(m, L"--pp-role=worker:%llx:%llx", &rd, &wr) != 2)
            return pp_task_fail(t, 4, "no worker marker on the command line");
        SetHandleInformation((HANDLE)(uintptr_t)rd, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
        SetHandleInformation((HANDLE)(uintptr_t)wr, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
        GetModuleFileNameW(NULL, self, MAX_PATH);
        self[MAX_PATH] = L'\0';
        swprintf(line, sizeof line / sizeof line[0], L"\"%ls\" --helper pool-sleep 30000", self);
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        if (!CreateProcessW(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
            return pp_task_fail(t, 5, "CreateProcessW failed: %lu", GetLastError());
        *slot = (int64_t)pi.dwProcessId;
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
#else
    {
        pid_t pid = fork_keeper(30000);

        if (pid < 0)
            return pp_task_fail(t, 5, "fork failed");
        *slot = (int64_t)pid;
    }
#endif
    pp__plat_shm_close(shm);
    _Exit(3);
}
PP_TASK_REGISTER(tk_leak_channel_exit)

#ifndef _WIN32
/* Fork a keeper that holds a copy of the worker's channel for a while;
 * return (worker pid, keeper pid). */
static int tk_fork_keeper(pp_task *t)
{
    pid_t pid = fork_keeper(20000);

    if (pid < 0)
        return pp_task_fail(t, 5, "fork failed");
    pp_values_add_int(pp_task_result(t), (int64_t)getpid());
    return pp_values_add_int(pp_task_result(t), (int64_t)pid);
}
PP_TASK_REGISTER(tk_fork_keeper)
#endif

static int64_t g_init_value = -1;

static int tk_init(pp_task *t)
{
    int64_t v;

    if (pp_values_unpack(pp_task_args(t), "l", &v) != PP_OK)
        return pp_task_fail(t, 2, "init expects an integer");
    if (v < 0)
        return pp_task_fail(t, 9, "initializer refuses %d", (int)v);
    g_init_value = v;
    return 0;
}
PP_TASK_REGISTER(tk_init)

static int tk_get_init(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), g_init_value);
}
PP_TASK_REGISTER(tk_get_init)

/* Deliberately not registered: works under fork only. */
static int tk_unregistered(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), 5);
}

/* ------------------------------------------------------------ helpers */

static pp_pool *make_pool(int method, int n, int maxtasks)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)method;
    o.maxtasksperchild = maxtasks;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

static pp_values *ints1(int64_t x)
{
    pp_values *v = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "l", x), PP_OK);
    return v;
}

static int64_t result_int(pp_result *r, size_t i)
{
    const pp_values *v = NULL;
    int64_t x = -12345;

    PP_ASSERT_STATUS(pp_result_item(r, i, &v, NULL), PP_OK);
    if (v != NULL)
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
    return x;
}

/* Apply square n times and check every answer. */
static void check_pool_works(pp_pool *p, int n)
{
    pp_values *a, *r;
    int64_t x;
    int i;

    for (i = 0; i < n; i++) {
        a = ints1(i);
        r = NULL;
        PP_ASSERT_STATUS(pp_apply(p, tk_square, a, &r, NULL), PP_OK);
        x = -1;
        if (r != NULL)
            pp_values_get_int(r, 0, &x);
        PP_ASSERT_MSG(x == (int64_t)i * i, "square(%d) = %lld", i, (long long)x);
        pp_values_destroy(a);
        pp_values_destroy(r);
    }
}

/* ------------------------------------------------------------ per-method tests */

static void do_apply(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_values *a = ints1(7), *r = NULL;
    int64_t x = 0;

    PP_ASSERT_STATUS(pp_apply(p, tk_square, a, &r, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(r, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 49);
    pp_values_destroy(r);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
}

static void do_map_10000(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_values *items;
    pp_result *r = NULL;
    size_t i, bad = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < 10000; i++)
        pp_values_add_int(items, (int64_t)i);
    PP_ASSERT_STATUS(pp_map(p, tk_square, items, NULL, &r), PP_OK);
    CU_ASSERT_EQUAL(pp_result_count(r), 10000);
    for (i = 0; i < 10000; i++)
        bad += result_int(r, i) != (int64_t)(i * i);
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

static void do_starmap(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_values *argv[100];
    pp_result *r = NULL;
    size_t i;

    for (i = 0; i < 100; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[i], "ll", (int64_t)i, (int64_t)1000), PP_OK);
    PP_ASSERT_STATUS(pp_starmap(p, tk_add, (const pp_values *const *)argv, 100, NULL, &r), PP_OK);
    for (i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(result_int(r, i), (int64_t)i + 1000);
    pp_result_release(r);
    /* async form with a chunk size */
    {
        pp_submit_options o;
        memset(&o, 0, sizeof o);
        o.chunksize = 7;
        PP_ASSERT_STATUS(pp_starmap_async(p, tk_add, (const pp_values *const *)argv, 100, &o, &r),
                         PP_OK);
        PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
        for (i = 0; i < 100; i++)
            CU_ASSERT_EQUAL(result_int(r, i), (int64_t)i + 1000);
        pp_result_release(r);
    }
    for (i = 0; i < 100; i++)
        pp_values_destroy(argv[i]);
    pp_test_pool_finish(p);
}

static void do_imap(int m)
{
    pp_pool *p = make_pool(m, 3, 0);
    pp_values *items;
    pp_iter *it = NULL;
    const pp_values *v;
    size_t i, idx, n = 300;
    char *seen;
    int64_t x;
    pp_status st;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++)
        pp_values_add_int(items, (int64_t)i);
    /* ordered */
    PP_ASSERT_STATUS_FATAL(pp_imap(p, tk_square, items, NULL, &it), PP_OK);
    CU_ASSERT_EQUAL(pp_iter_count(it), n);
    for (i = 0; i < n; i++) {
        st = pp_iter_next(it, WAIT_MS, &idx, &v, NULL);
        PP_ASSERT_STATUS(st, PP_OK);
        CU_ASSERT_EQUAL(idx, i);
        x = -1;
        if (st == PP_OK)
            pp_values_get_int(v, 0, &x);
        CU_ASSERT_EQUAL(x, (int64_t)(i * i));
    }
    PP_ASSERT_STATUS(pp_iter_next(it, 0, NULL, NULL, NULL), PP_EOF);
    pp_iter_release(it);
    /* unordered: every index exactly once */
    seen = calloc(n, 1);
    PP_ASSERT_STATUS_FATAL(pp_imap_unordered(p, tk_square, items, NULL, &it), PP_OK);
    for (i = 0; i < n; i++) {
        st = pp_iter_next(it, WAIT_MS, &idx, &v, NULL);
        PP_ASSERT_STATUS(st, PP_OK);
        if (st == PP_OK && idx < n) {
            seen[idx]++;
            pp_values_get_int(v, 0, &x);
            CU_ASSERT_EQUAL(x, (int64_t)(idx * idx));
        }
    }
    PP_ASSERT_STATUS(pp_iter_next(it, 0, NULL, NULL, NULL), PP_EOF);
    for (i = 0; i < n; i++)
        PP_ASSERT_MSG(seen[i] == 1, "index %lu seen %d times", (unsigned long)i, seen[i]);
    free(seen);
    pp_iter_release(it);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

typedef struct cb_state {
    volatile apr_uint32_t ok;
    volatile apr_uint32_t err;
    volatile apr_uint32_t err_code_ok;
    pp_pool *pool;
    volatile apr_uint32_t reentered;
} cb_state;

static void on_ok(pp_result *r, void *ud)
{
    cb_state *s = ud;
    (void)r;
    apr_atomic_inc32(&s->ok);
}

static void on_err(pp_result *r, const pp_error *e, void *ud)
{
    cb_state *s = ud;
    (void)r;
    apr_atomic_inc32(&s->err);
    if (e != NULL && e->status == PP_ETASK && e->code == 42 && strstr(e->message, "boom"))
        apr_atomic_inc32(&s->err_code_ok);
}

static void do_callbacks(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_submit_options o;
    pp_result *rs[100];
    cb_state s;
    int i;

    memset(&s, 0, sizeof s);
    memset(&o, 0, sizeof o);
    o.callback = on_ok;
    o.error_callback = on_err;
    o.userdata = &s;
    for (i = 0; i < 100; i++) {
        pp_values *a = ints1(i);
        PP_ASSERT_STATUS(pp_apply_async(p, (i % 10 == 0) ? tk_fail : tk_square, a, &o, &rs[i]),
                         PP_OK);
        pp_values_destroy(a);
    }
    for (i = 0; i < 100; i++) {
        pp_status st = pp_result_get(rs[i], WAIT_MS, NULL);
        PP_ASSERT_STATUS(st, (i % 10 == 0) ? PP_ETASK : PP_OK);
        CU_ASSERT_EQUAL(pp_result_ready(rs[i]), 1);
        pp_result_release(rs[i]);
    }
    /* ready implies callbacks ran (as in Python) */
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.ok), 90);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.err), 10);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.err_code_ok), 10);
    pp_test_pool_finish(p);
    /* exactly once: nothing more arrives after the pool is gone */
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.ok), 90);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.err), 10);
}

static void do_task_error(int m)
{
    pp_pool *p = make_pool(m, 1, 0);
    pp_values *a = ints1(5), *r = NULL;
    pp_error e;
    pp_result *res;
    const pp_error *pe;

    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, tk_fail, a, &r, &e), PP_ETASK);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(e.status, PP_ETASK);
    CU_ASSERT_EQUAL(e.code, 42);
    CU_ASSERT_STRING_EQUAL(e.message, "boom 5");
    PP_ASSERT_STATUS(pp_apply_async(p, tk_fail, a, NULL, &res), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(res, WAIT_MS, NULL), PP_ETASK);
    PP_ASSERT_STATUS(pp_result_successful(res), PP_ETASK);
    pe = pp_result_error(res);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pe);
    CU_ASSERT_EQUAL(pe->code, 42);
    CU_ASSERT_STRING_EQUAL(pe->message, "boom 5");
    pp_result_release(res);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
}

/* A pid published by a task: a small shm block, and the task arguments
 * that name it ("s"). */
typedef struct pid_slot {
    char name[PP_NAME_MAX + 1];
    pp__plat_shm *shm;
    volatile int64_t *pid;
    pp_values *args;
} pid_slot;

static void pid_slot_open(pid_slot *ps)
{
    pp_test_unique_name(ps->name, sizeof ps->name);
    PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(ps->name, 64, &ps->shm), PP_OK);
    ps->pid = pp__plat_shm_ptr(ps->shm);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&ps->args, "s", ps->name), PP_OK);
}

static void pid_slot_close(pid_slot *ps)
{
    pp_values_destroy(ps->args);
    pp__plat_shm_close(ps->shm);
    pp__plat_shm_unlink(ps->name);
}

static void do_worker_killed(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pid_slot ps;
    pp_result *r;
    const pp_error *e;
    int64_t deadline;

    pid_slot_open(&ps);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_block, ps.args, NULL, &r), PP_OK);
    deadline = pp_test_now_ms() + WAIT_MS;
    while (*ps.pid == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(5);
    CU_ASSERT_FATAL(*ps.pid != 0);
    pp_test_kill_pid(*ps.pid);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_EWORKERDIED);
    e = pp_result_error(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->status, PP_EWORKERDIED);
    PP_ASSERT_MSG(strstr(e->message, "worker process") != NULL, "message: %s", e->message);
    pp_result_release(r);
    check_pool_works(p, 100);
    pid_slot_close(&ps);
    pp_test_pool_finish(p);
}

static void do_crash(int m, pp_task_fn fn)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_error e;

    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, fn, NULL, NULL, &e), PP_EWORKERDIED);
    CU_ASSERT_EQUAL(e.status, PP_EWORKERDIED);
    check_pool_works(p, 100);
    pp_test_pool_finish(p);
}

/* The worker's channel end outlives the worker in another process: the
 * task still fails with PP_EWORKERDIED (exit code 3), promptly. */
static void do_channel_outlives_worker(int m)
{
    pp_pool *p = make_pool(m, 1, 0);
    pid_slot ps;
    pp_error e;
    int64_t t0;

    pid_slot_open(&ps);
    memset(&e, 0, sizeof e);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_apply(p, tk_leak_channel_exit, ps.args, NULL, &e), PP_EWORKERDIED);
    /* the keeper sleeps 30 s: an answer before it is gone is the point */
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < 20000,
                  "the death was seen only after %lld ms (when the keeper exited?)",
                  (long long)(pp_test_now_ms() - t0));
    CU_ASSERT_EQUAL(e.code, 3);
    CU_ASSERT(*ps.pid != 0);
    if (*ps.pid != 0)
        pp_test_kill_pid(*ps.pid);
    check_pool_works(p, 20);
    pid_slot_close(&ps);
    pp_test_pool_finish(p);
}

static void do_crashes(int m)
{
    do_crash(m, tk_segv);
    do_crash(m, tk_abort);
    do_crash(m, tk_exit);
}

static int count_distinct(const int64_t *v, int n)
{
    int i, j, distinct = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i && v[j] != v[i]; j++)
            ;
        distinct += j == i;
    }
    return distinct;
}

/* Wait for each of n one-int results (asserting success), store the ints
 * (-1 where there is none) and release the results. */
static void get_ints(pp_result **rs, int64_t *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const pp_values *v = NULL;
        out[i] = -1;
        PP_ASSERT_STATUS(pp_result_get(rs[i], WAIT_MS, &v), PP_OK);
        if (v)
            pp_values_get_int(v, 0, &out[i]);
        pp_result_release(rs[i]);
    }
}

static void do_maxtasks(int m)
{
    pp_pool *p = make_pool(m, 2, 1);
    pp_result *rs[500];
    int64_t pids[500];
    size_t i;
    int distinct;

    for (i = 0; i < 500; i++)
        PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_pid, NULL, NULL, &rs[i]), PP_OK);
    get_ints(rs, pids, 500);
    distinct = count_distinct(pids, 500);
    /* one task per worker: every task on a fresh process (pids may only
     * repeat if the OS recycles them) */
    PP_ASSERT_MSG(distinct >= 250, "only %d distinct worker pids over 500 tasks", distinct);
    pp_test_pool_finish(p);
}

/* Long tasks spread over every worker: nobody works ahead while another
 * worker is idle (regression: all short-queue tasks went to worker 0). */
static void do_balance(int m)
{
    pp_pool *p = make_pool(m, 4, 0);
    pp_result *rs[4];
    int64_t pids[4];
    int i, distinct;

    for (i = 0; i < 4; i++) {
        pp_values *a = ints1(300);
        PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_sleep, a, NULL, &rs[i]), PP_OK);
        pp_values_destroy(a);
    }
    get_ints(rs, pids, 4);
    distinct = count_distinct(pids, 4);
    PP_ASSERT_MSG(distinct == 4, "4 long tasks ran in %d of 4 workers", distinct);
    pp_test_pool_finish(p);
}

static void do_terminate(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_result *rs[20];
    int i, terminated = 0;

    for (i = 0; i < 20; i++) {
        pp_values *a = ints1(2000);
        PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_sleep, a, NULL, &rs[i]), PP_OK);
        pp_values_destroy(a);
    }
    pp_test_sleep_ms(200);
    PP_ASSERT_STATUS(pp_pool_terminate(p), PP_OK);
    for (i = 0; i < 20; i++) {
        pp_status st = pp_result_get(rs[i], WAIT_MS, NULL);
        PP_ASSERT_MSG(st == PP_ETERMINATED || st == PP_OK, "task %d: %s", i, pp_err_name(st));
        terminated += st == PP_ETERMINATED;
        pp_result_release(rs[i]);
    }
    CU_ASSERT(terminated >= 16);
    PP_ASSERT_STATUS(pp_apply_async(p, tk_pid, NULL, NULL, &rs[0]), PP_ECLOSED);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

static void do_close(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_result *rs[50], *r;
    int i;

    PP_ASSERT_STATUS(pp_pool_join(p, 0), PP_ESTATE);
    for (i = 0; i < 50; i++) {
        pp_values *a = ints1(i);
        PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_square, a, NULL, &rs[i]), PP_OK);
        pp_values_destroy(a);
    }
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_apply_async(p, tk_pid, NULL, NULL, &r), PP_ECLOSED);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    /* close + join finished the queued work */
    for (i = 0; i < 50; i++) {
        PP_ASSERT_STATUS(pp_result_get(rs[i], 0, NULL), PP_OK);
        pp_result_release(rs[i]);
    }
    pp_pool_destroy(p);
}

static void do_initializer(int m)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *ia = ints1(77), *r = NULL;
    int64_t x = 0;

    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)m;
    o.initializer = tk_init;
    o.initargs = ia;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_get_init, NULL, &r, NULL), PP_OK);
    pp_values_get_int(r, 0, &x);
    CU_ASSERT_EQUAL(x, 77);
    pp_values_destroy(r);
    pp_test_pool_finish(p);
    pp_values_destroy(ia);

    /* a failing initializer fails creation, it does not loop */
    ia = ints1(-1);
    o.initargs = ia;
    p = NULL;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ETASK);
    CU_ASSERT_PTR_NULL(p);
    pp_values_destroy(ia);
}

static void do_unregistered(int m)
{
    pp_pool *p = make_pool(m, 1, 0);
    pp_values *r = NULL;
    pp_status st = pp_apply(p, tk_unregistered, NULL, &r, NULL);

    if (m == PP_START_FORK) {
        PP_ASSERT_STATUS(st, PP_OK);
    } else {
        PP_ASSERT_STATUS(st, PP_ENOTREGISTERED);
    }
    pp_values_destroy(r);
    pp_test_pool_finish(p);
}

static void do_progress_cb(size_t done, size_t total, void *ud)
{
    size_t *last = ud;

    CU_ASSERT(done >= last[0]);
    CU_ASSERT_EQUAL(total, 1000);
    last[0] = done;
    last[1]++;
}

static void do_progress(int m)
{
    pp_pool *p = make_pool(m, 2, 0);
    pp_submit_options o;
    pp_values *items;
    pp_result *r;
    size_t last[2] = {0, 0};
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < 1000; i++)
        pp_values_add_int(items, (int64_t)i);
    memset(&o, 0, sizeof o);
    o.chunksize = 10;
    o.progress = do_progress_cb;
    o.progress_userdata = last;
    PP_ASSERT_STATUS(pp_map(p, tk_square, items, &o, &r), PP_OK);
    CU_ASSERT_EQUAL(last[0], 1000);
    CU_ASSERT(last[1] >= 1);
    pp_result_release(r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

static void do_values_roundtrip(int m)
{
    pp_pool *p = make_pool(m, 1, 0);
    static const unsigned char bytes[5] = {0, 1, 0, 255, 7};
    pp_values *a, *r = NULL;
    const char *s;
    const void *b;
    size_t bn;
    double d;
    int64_t i;

    PP_ASSERT_STATUS_FATAL(
        pp_values_pack(&a, "ldsb", (int64_t)-9, 2.5, "héllo", bytes, sizeof bytes), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, tk_echo, a, &r, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(r, "ldsb", &i, &d, &s, &b, &bn), PP_OK);
    CU_ASSERT_EQUAL(i, -9);
    CU_ASSERT_DOUBLE_EQUAL(d, 2.5, 0.0);
    CU_ASSERT_STRING_EQUAL(s, "héllo");
    CU_ASSERT_EQUAL(bn, sizeof bytes);
    CU_ASSERT(memcmp(b, bytes, sizeof bytes) == 0);
    pp_values_destroy(a);
    pp_values_destroy(r);
    pp_test_pool_finish(p);
}

PP_TEST_PER_METHOD(apply)

/*
 * A sync apply waits in a short spin when the pool's recent tasks came
 * back quickly, looking at its worker's channel for a one-scalar result
 * it takes itself (syncwait.c): every kind of result, taken there or
 * left to the reader thread, arrives whole and right (int, double, two
 * values, a string, a task failure with its message), interleaved with
 * quick ones; one whose task outlasts the spin still returns (the caller
 * sleeps and is woken); one whose worker dies fails with PP_EWORKERDIED;
 * quick ones work again after all of them.
 */
static void check_kinds(pp_pool *p, int k)
{
    pp_values *a = NULL, *r = NULL;
    pp_error e;
    const char *s = NULL;
    int64_t x = 0, y = 0;
    double d = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "d", (double)(2 * k + 1)), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_half, a, &r, NULL), PP_OK); /* a double */
    PP_ASSERT_STATUS(pp_values_get_double(r, 0, &d), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(r), 1);
    CU_ASSERT(d == (double)(2 * k + 1) / 2);
    pp_values_destroy(r);
    pp_values_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "l", (int64_t)(14 * (k + 1))), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_half, a, &r, NULL), PP_OK); /* two ints */
    CU_ASSERT_EQUAL(pp_values_count(r), 2);
    PP_ASSERT_STATUS(pp_values_get_int(r, 0, &x), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(r, 1, &y), PP_OK);
    CU_ASSERT(x == 14 * (k + 1) && y == 7 * (k + 1));
    pp_values_destroy(r);
    pp_values_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "s", "spin"), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_echo, a, &r, NULL), PP_OK); /* a string */
    PP_ASSERT_STATUS(pp_values_get_str(r, 0, &s), PP_OK);
    CU_ASSERT(s != NULL && strcmp(s, "spin") == 0);
    pp_values_destroy(r);
    pp_values_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "l", (int64_t)k), PP_OK);
    r = NULL;
    PP_ASSERT_STATUS(pp_apply(p, tk_fail, a, &r, &e), PP_ETASK); /* a failure */
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(e.code, 42);
    PP_ASSERT_MSG(strstr(e.message, "boom") != NULL, "message: %s", e.message);
    pp_values_destroy(a);
}

static void t_apply_spin_then_wait(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 1, 0);
    pp_values *a = ints1(3), *slow = ints1(150), *r = NULL;
    int64_t x = 0;
    int round, i;

    for (round = 0; round < 2; round++) {
        for (i = 0; i < 200; i++) {
            PP_ASSERT_STATUS_FATAL(pp_apply(p, tk_square, a, &r, NULL), PP_OK);
            PP_ASSERT_STATUS(pp_values_get_int(r, 0, &x), PP_OK);
            CU_ASSERT_EQUAL_FATAL(x, 9);
            pp_values_destroy(r);
            r = NULL;
            if (i % 20 == 0)
                check_kinds(p, i);
        }
        if (round == 0) {
            PP_ASSERT_STATUS(pp_apply(p, tk_sleep, slow, &r, NULL), PP_OK);
            pp_values_destroy(r);
            r = NULL;
        } else {
            PP_ASSERT_STATUS(pp_apply(p, tk_exit, a, &r, NULL), PP_EWORKERDIED);
            CU_ASSERT_PTR_NULL(r);
        }
    }
    PP_ASSERT_STATUS(pp_apply(p, tk_square, a, &r, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(r, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 9);
    pp_values_destroy(r);
    pp_values_destroy(slow);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
}
PP_TEST_PER_METHOD(map_10000)
PP_TEST_PER_METHOD(starmap)
PP_TEST_PER_METHOD(imap)
PP_TEST_PER_METHOD(callbacks)
PP_TEST_PER_METHOD(task_error)
PP_TEST_PER_METHOD(worker_killed)
PP_TEST_PER_METHOD(crashes)
PP_TEST_PER_METHOD(maxtasks)
PP_TEST_PER_METHOD(channel_outlives_worker)
PP_TEST_PER_METHOD(terminate)
PP_TEST_PER_METHOD(balance)
PP_TEST_PER_METHOD(close)
PP_TEST_PER_METHOD(initializer)
PP_TEST_PER_METHOD(unregistered)
PP_TEST_PER_METHOD(progress)
PP_TEST_PER_METHOD(values_roundtrip)

/* ------------------------------------------------------------ method-free tests */

static void t_bad_arguments(void)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_result *r = NULL;
    pp_values *big;
    char *s;
    int i;

    memset(&o, 0, sizeof o);
    PP_ASSERT_STATUS(pp_pool_create(NULL, NULL), PP_EINVAL);
    o.processes = -1;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    o.processes = PP_POOL_MAX_PROCESSES + 1;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    o.processes = 1;
    o.maxtasksperchild = -1;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    o.maxtasksperchild = 0;
    o.start_method = (pp_start_method)99;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    CU_ASSERT_PTR_NULL(p);

    PP_ASSERT_STATUS(pp_apply_async(NULL, tk_pid, NULL, NULL, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_apply(NULL, tk_pid, NULL, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_close(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_terminate(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_join(NULL, 0), PP_EINVAL);
    pp_pool_destroy(NULL);
    PP_ASSERT_STATUS(pp_result_get(NULL, 0, NULL), PP_EINVAL);
    pp_result_release(NULL);
    pp_iter_release(NULL);

    p = make_pool(PP_START_DEFAULT, 1, 0);
    PP_ASSERT_STATUS(pp_apply_async(p, NULL, NULL, NULL, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_map(p, tk_square, NULL, NULL, NULL), PP_EINVAL);
    {
        pp_values *argv[1] = {NULL};
        PP_ASSERT_STATUS(pp_starmap(p, tk_add, (const pp_values *const *)argv, 1, NULL, &r),
                         PP_EINVAL);
    }
    /* oversized: a tuple is limited at creation, an item's arguments at
     * submission; three 30 MiB argument tuples asked for in one chunk are
     * split into chunks that fit a message and run */
    s = malloc(30u << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memset(s, 'x', 30u << 20);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&big), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(big, s, 30u << 20), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(big, s, 30u << 20), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(big, s, 30u << 20), PP_ETOOBIG);
    CU_ASSERT_EQUAL(pp_values_count(big), 2);
    pp_values_destroy(big);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&big), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(big, s, 30u << 20), PP_OK);
    {
        const pp_values *argv[3] = {big, big, big};
        pp_submit_options so;
        memset(&so, 0, sizeof so);
        so.chunksize = 3;
        PP_ASSERT_STATUS(pp_starmap_async(p, tk_echo, argv, 3, &so, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
        for (i = 0; i < 3; i++) {
            const pp_values *v = NULL;
            const void *b = NULL;
            size_t len = 0;
            PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, &v, NULL), PP_OK);
            PP_ASSERT_STATUS(pp_values_get_bytes(v, 0, &b, &len), PP_OK);
            CU_ASSERT(len == (30u << 20) && b != NULL && memcmp(b, s, len) == 0);
        }
        pp_result_release(r);
        r = NULL;
    }
    pp_values_destroy(big);
    free(s);
    /* the pool is unharmed */
    check_pool_works(p, 3);
    pp_test_pool_finish(p);
}

static void t_timeout_and_ready(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 1, 0);
    pp_values *a = ints1(500);
    pp_result *r;

    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_sleep, a, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, 10, NULL), PP_ETIMEDOUT);
    CU_ASSERT_EQUAL(pp_result_ready(r), 0);
    PP_ASSERT_STATUS(pp_result_successful(r), PP_ENOTREADY);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    CU_ASSERT_EQUAL(pp_result_ready(r), 1);
    PP_ASSERT_STATUS(pp_result_successful(r), PP_OK);
    pp_result_release(r);
    pp_values_destroy(a);
    pp_test_pool_finish(p);
}

typedef struct log_capture {
    apr_thread_mutex_t *mu;
    int unobserved;
    char last[512];
} log_capture;

static void capture_log(pp_log_level level, const char *msg, void *ud)
{
    log_capture *c = ud;

    apr_thread_mutex_lock(c->mu);
    if (level == PP_LOG_ERROR && strstr(msg, "unobserved") != NULL && strstr(msg, "boom 3"))
        c->unobserved++;
    snprintf(c->last, sizeof c->last, "%s", msg);
    apr_thread_mutex_unlock(c->mu);
}

static void t_unobserved_failure_reported(void)
{
    log_capture cap;
    pp_pool *p;
    pp_values *a = ints1(3);
    pp_result *kept, *released;

    memset(&cap, 0, sizeof cap);
    apr_thread_mutex_create(&cap.mu, APR_THREAD_MUTEX_DEFAULT, pp_test_pool());
    pp_set_log_hook(capture_log, &cap, PP_LOG_WARN);
    p = make_pool(PP_START_DEFAULT, 1, 0);
    /* fire and forget, released unobserved, and kept unobserved */
    PP_ASSERT_STATUS(pp_apply_async(p, tk_fail, a, NULL, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_apply_async(p, tk_fail, a, NULL, &released), PP_OK);
    PP_ASSERT_STATUS(pp_apply_async(p, tk_fail, a, NULL, &kept), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(kept, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(released, WAIT_MS), PP_OK);
    pp_result_release(released);
    pp_test_pool_finish(p);
    pp_set_log_hook(NULL, NULL, PP_LOG_WARN);
    PP_ASSERT_MSG(cap.unobserved == 3, "%d unobserved reports (last: %s)", cap.unobserved,
                  cap.last);
    /* an observed failure is not reported again */
    PP_ASSERT_STATUS(pp_result_get(kept, 0, NULL), PP_ETASK);
    pp_result_release(kept);
    CU_ASSERT_EQUAL(cap.unobserved, 3);
    pp_values_destroy(a);
}

static void reenter_cb(pp_result *r, void *ud)
{
    cb_state *s = ud;
    pp_values *a = ints1(6), *out = NULL;
    pp_result *r2 = NULL;
    int64_t x = 0;

    (void)r;
    /* sync and async submissions from the result thread must not deadlock */
    if (pp_apply(s->pool, tk_square, a, &out, NULL) == PP_OK && out != NULL &&
        pp_values_get_int(out, 0, &x) == PP_OK && x == 36 &&
        pp_apply_async(s->pool, tk_square, a, NULL, &r2) == PP_OK &&
        pp_result_get(r2, WAIT_MS, NULL) == PP_OK)
        apr_atomic_inc32(&s->reentered);
    /* joining from here would deadlock: refused */
    if (pp_pool_join(s->pool, 0) == PP_EDEADLK)
        apr_atomic_inc32(&s->ok);
    pp_result_release(r2);
    pp_values_destroy(out);
    pp_values_destroy(a);
}

static void t_callback_reenters_pool(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 2, 0);
    pp_submit_options o;
    cb_state s;
    pp_result *r;

    memset(&s, 0, sizeof s);
    s.pool = p;
    memset(&o, 0, sizeof o);
    o.callback = reenter_cb;
    o.userdata = &s;
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_pid, NULL, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.reentered), 1);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.ok), 1);
    pp_result_release(r);
    pp_test_pool_finish(p);
}

/* The result thread is started by the first submission with a callback
 * (pool/supervisor.c: pp__resthread_ensure_locked), here after sync work only
 * and by four threads at once: every callback runs, each once, all on one
 * thread (one result thread, not one per racing submission), before its
 * result is ready; a join from a callback is refused there too. */
typedef struct first_cb {
    pp_pool *pool;
    apr_thread_mutex_t *mu;
    uint64_t tid[4 * 25];
    int n, deadlk;
    pp_result *r[4 * 25];
} first_cb;

static void first_cb_ok(pp_result *r, void *ud)
{
    first_cb *f = ud;

    (void)r;
    apr_thread_mutex_lock(f->mu);
    if (f->n < 4 * 25)
        f->tid[f->n] = pp__plat_thread_id();
    f->n++;
    if (pp_pool_join(f->pool, 0) == PP_EDEADLK)
        f->deadlk++;
    apr_thread_mutex_unlock(f->mu);
}

static first_cb *g_first_cb;

static void first_cb_submit(void *arg)
{
    pp_submit_options o;
    int k = (int)(intptr_t)arg, i;

    memset(&o, 0, sizeof o);
    o.callback = first_cb_ok;
    o.userdata = g_first_cb;
    for (i = 0; i < 25; i++) {
        pp_values *a = ints1(k * 25 + i);
        PP_ASSERT_STATUS(
            pp_apply_async(g_first_cb->pool, tk_square, a, &o, &g_first_cb->r[k * 25 + i]), PP_OK);
        pp_values_destroy(a);
    }
}

static void t_first_callbacks_from_threads(void)
{
    pp_test_thread *th[4];
    pp_values *a = ints1(3), *out = NULL;
    first_cb f;
    int i;

    memset(&f, 0, sizeof f);
    f.pool = make_pool(PP_START_DEFAULT, 2, 0);
    CU_ASSERT_FATAL(apr_thread_mutex_create(&f.mu, APR_THREAD_MUTEX_DEFAULT, pp_test_pool()) ==
                    APR_SUCCESS);
    PP_ASSERT_STATUS(pp_apply(f.pool, tk_square, a, &out, NULL), PP_OK); /* no callback yet */
    g_first_cb = &f;
    for (i = 0; i < 4; i++)
        th[i] = pp_test_thread_start(first_cb_submit, (void *)(intptr_t)i);
    for (i = 0; i < 4; i++)
        pp_test_thread_join(th[i]);
    for (i = 0; i < 4 * 25; i++) {
        PP_ASSERT_STATUS(pp_result_get(f.r[i], WAIT_MS, NULL), PP_OK);
        CU_ASSERT_EQUAL(pp_result_ready(f.r[i]), 1);
    }
    pp_test_pool_finish(f.pool);
    CU_ASSERT_EQUAL(f.n, 4 * 25);
    CU_ASSERT_EQUAL(f.deadlk, 4 * 25);
    for (i = 1; i < 4 * 25 && i < f.n; i++)
        PP_ASSERT_MSG(f.tid[i] == f.tid[0], "callback %d ran on another thread than the first", i);
    CU_ASSERT(f.tid[0] != pp__plat_thread_id());
    for (i = 0; i < 4 * 25; i++)
        pp_result_release(f.r[i]);
    pp_values_destroy(out);
    pp_values_destroy(a);
    apr_thread_mutex_destroy(f.mu);
}

/* The threads of this process (Linux: /proc/self/task), or -1. */
static int thread_count(void)
{
#ifdef __linux__
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
#else
    return -1;
#endif
}

/* A pool's threads in this process: the supervisor and one reader per
 * worker, no more (no thread reads a zygote's or fork server's control
 * socket: platform/posix/posix_helper.c; the result thread comes with the
 * first callback: pool/supervisor.c); after destroy, none. */
static void do_pool_threads(int m)
{
    int before = thread_count(), during, after = -1;
    pp_submit_options o;
    pp_values *a = ints1(4);
    pp_result *r = NULL;
    cb_state s;
    int64_t deadline;
    pp_pool *p;

    if (before < 0) {
        pp_values_destroy(a);
        return; /* no /proc to count them with */
    }
    p = make_pool(m, 2, 0);
    during = thread_count();
    PP_ASSERT_MSG(during == before + 3, "a pool of 2 runs %d threads, expected 3", during - before);
    memset(&s, 0, sizeof s);
    memset(&o, 0, sizeof o);
    o.callback = on_ok;
    o.userdata = &s;
    PP_ASSERT_STATUS(pp_apply_async(p, tk_square, a, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    CU_ASSERT_EQUAL(apr_atomic_read32(&s.ok), 1);
    during = thread_count();
    PP_ASSERT_MSG(during == before + 4, "with a callback: %d threads, expected 4", during - before);
    pp_result_release(r);
    pp_test_pool_finish(p);
    /* a joined thread may be listed for an instant more */
    deadline = pp_test_now_ms() + 5000;
    while ((after = thread_count()) != before && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    PP_ASSERT_MSG(after == before, "%d threads left after destroy", after - before);
    pp_values_destroy(a);
}

PP_TEST_PER_METHOD(pool_threads)

/* Each apply's outcome in a run of many, over a pool whose freed chunks
 * are reused by the next submissions (job.c): a worker killed by a task
 * every 500 submissions, every 7th submission canceled at once, then a
 * terminate while work is in flight. An outcome is only ever the item's
 * own: its square, or the failure its own fate explains. */
#define REUSE_N 3000

static int64_t reuse_check(pp_result **rs, int n, int terminated)
{
    const pp_values *v;
    int64_t x, wrong = 0;
    pp_status st;
    int i;

    for (i = 0; i < n; i++) {
        v = NULL;
        x = -1;
        st = pp_result_get(rs[i], WAIT_MS, &v);
        if (st == PP_OK && i % 500 != 250) {
            if (v == NULL || pp_values_get_int(v, 0, &x) != PP_OK || x != (int64_t)i * i) {
                PP_ASSERT_MSG(0, "item %d: %lld, not its square", i, (long long)x);
                wrong++;
            }
        } else if (!(i % 500 == 250 && st == PP_EWORKERDIED) &&
                   !(i % 7 == 3 && st == PP_ECANCELED) && !(terminated && st == PP_ETERMINATED)) {
            PP_ASSERT_MSG(0, "item %d: %s", i, pp_err_name(st));
            wrong++;
        }
        pp_result_release(rs[i]);
    }
    return wrong;
}

static void reuse_submit(pp_pool *p, pp_result **rs, int n, int cancel)
{
    pp_values *a = NULL;
    int i;

    for (i = 0; i < n; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "l", (int64_t)i), PP_OK);
        PP_ASSERT_STATUS_FATAL(
            pp_apply_async(p, i % 500 == 250 ? tk_exit : tk_square, a, NULL, &rs[i]), PP_OK);
        pp_values_destroy(a);
        if (cancel && i % 7 == 3)
            PP_ASSERT_STATUS(pp_result_cancel(rs[i]), PP_OK);
    }
}

static void t_apply_reused_chunks_exact(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_result **rs = calloc(REUSE_N, sizeof *rs);
    int round;

    CU_ASSERT_FATAL(rs != NULL);
    for (round = 0; round < 2; round++) {
        reuse_submit(p, rs, REUSE_N, round == 1);
        CU_ASSERT(reuse_check(rs, REUSE_N, 0) == 0);
    }
    reuse_submit(p, rs, REUSE_N, 1);
    PP_ASSERT_STATUS(pp_pool_terminate(p), PP_OK);
    CU_ASSERT(reuse_check(rs, REUSE_N, 1) == 0);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(rs);
}

static void t_result_outlives_pool(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 1, 0);
    pp_values *a = ints1(9);
    pp_result *done, *pending;
    const pp_values *v = NULL;
    int64_t x = 0;

    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_square, a, NULL, &done), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(done, WAIT_MS), PP_OK);
    pp_values_destroy(a);
    a = ints1(5000);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_sleep, a, NULL, &pending), PP_OK);
    pp_pool_destroy(p); /* = terminate: pending fails, both stay readable */
    PP_ASSERT_STATUS(pp_result_get(done, 0, &v), PP_OK);
    pp_values_get_int(v, 0, &x);
    CU_ASSERT_EQUAL(x, 81);
    PP_ASSERT_STATUS(pp_result_get(pending, 0, NULL), PP_ETERMINATED);
    pp_result_release(done);
    pp_result_release(pending);
    pp_values_destroy(a);
}

/* Results of every kind read back exactly, in map order, and the tuples a
 * result hands out are read-only: one int and one double (kept unencoded
 * in the pool's items), a string, several values (kept encoded). */
static void t_result_kinds(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 2, 0);
    pp_values *argv[4];
    pp_result *r;
    const pp_values *v = NULL;
    pp_values *copy = NULL;
    double d = 0.0, neg_zero = -0.0;
    const char *str = NULL;
    int64_t x = 0, y = 0;
    uint64_t want_bits, got_bits;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[0], "l", (int64_t)-7), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[1], "d", neg_zero), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[2], "s", "text"), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[3], "ll", (int64_t)1, (int64_t)2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_starmap(p, tk_echo, (const pp_values *const *)argv, 4, NULL, &r),
                           PP_OK);
    PP_ASSERT_STATUS(pp_result_item(r, 0, &v, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "l", &x), PP_OK);
    CU_ASSERT_EQUAL(x, -7);
    /* read-only: a const-cast add is refused, the tuple is unchanged */
    PP_ASSERT_STATUS(pp_values_add_int((pp_values *)v, 1), PP_EINVAL);
    CU_ASSERT_EQUAL(pp_values_count(v), 1);
    PP_ASSERT_STATUS(pp_values_copy(v, &copy), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_int(copy, 1), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(copy), 2);
    pp_values_destroy(copy);
    PP_ASSERT_STATUS(pp_result_item(r, 1, &v, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "d", &d), PP_OK);
    memcpy(&want_bits, &neg_zero, sizeof want_bits);
    memcpy(&got_bits, &d, sizeof got_bits);
    CU_ASSERT_EQUAL(got_bits, want_bits); /* -0.0 exactly */
    PP_ASSERT_STATUS(pp_result_item(r, 2, &v, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "s", &str), PP_OK);
    CU_ASSERT_STRING_EQUAL(str, "text");
    PP_ASSERT_STATUS(pp_result_item(r, 3, &v, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "ll", &x, &y), PP_OK);
    CU_ASSERT(x == 1 && y == 2);
    /* the same pointer on a second read: decoded once */
    {
        const pp_values *again = NULL;
        PP_ASSERT_STATUS(pp_result_item(r, 3, &again, NULL), PP_OK);
        CU_ASSERT_PTR_EQUAL(again, v);
    }
    pp_result_release(r);
    for (x = 0; x < 4; x++)
        pp_values_destroy(argv[x]);
    pp_test_pool_finish(p);
}

/* Large maps one after the other: the second gets the first one's freed
 * (cached) buffers back and must not see anything of its results. Items
 * that fail are in the mix, as are results read twice. */
static void t_big_maps_reuse_memory(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 2, 0);
    const size_t n = 300000; /* items, frames and slabs of several MiB */
    pp_values *items;
    pp_result *r;
    const pp_values *v;
    const pp_error *e;
    size_t i, bad;
    int round;
    int64_t x;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, (int64_t)i), PP_OK);
    for (round = 0; round < 3; round++) {
        pp_task_fn fn = round == 1 ? tk_square_or_fail : tk_square;
        pp_status st = pp_map(p, fn, items, NULL, &r);
        PP_ASSERT_STATUS(st, round == 1 ? PP_ETASK : PP_OK);
        CU_ASSERT_FATAL(r != NULL);
        bad = 0;
        for (i = 0; i < n; i++) {
            v = NULL;
            e = NULL;
            x = -1;
            st = pp_result_item(r, i, &v, &e);
            if (round == 1 && i % 1000 == 7) {
                bad += st != PP_ETASK || e == NULL || v != NULL;
                continue;
            }
            if (st != PP_OK || v == NULL || pp_values_get_int(v, 0, &x) != PP_OK ||
                x != (int64_t)(i * i))
                bad++;
        }
        PP_ASSERT_MSG(bad == 0, "round %d: %lu wrong items", round, (unsigned long)bad);
        pp_result_release(r);
    }
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/* Maps of different sizes one after the other: every buffer size class
 * the pool uses gets reused by a different kind of buffer. */
static void t_map_sizes_mixed(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 2, 0);
    static const size_t sizes[][2] = {{20000, 0}, {30000, 30000}, {17000, 1000}, {40000, 0}};
    pp_submit_options o;
    pp_values *items;
    pp_result *r;
    size_t k, i, bad;

    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < sizes[k][0]; i++)
            pp_values_add_int(items, (int64_t)i);
        memset(&o, 0, sizeof o);
        o.chunksize = sizes[k][1];
        PP_ASSERT_STATUS_FATAL(pp_map(p, tk_square, items, &o, &r), PP_OK);
        for (i = 0, bad = 0; i < sizes[k][0]; i++)
            bad += result_int(r, i) != (int64_t)(i * i);
        PP_ASSERT_MSG(bad == 0, "map %lu: %lu wrong items", (unsigned long)k, (unsigned long)bad);
        pp_result_release(r);
        pp_values_destroy(items);
    }
    pp_test_pool_finish(p);
}

/* An item too large for one message is refused by the submitting call
 * (PP_ETOOBIG, nothing queued), also when it would only be encoded in a
 * later batch: here the last item, after 8195 small ones. (A chunk of
 * items that are each small enough is split to fit instead.) */
static void t_too_big_in_later_batch(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 1, 0);
    /* two values that reach the tuple limit together: the tuple can be
     * built, its task's frame cannot */
    const size_t n = 8196, big = (PP_MESSAGE_MAX - 4 - 10) / 2;
    const pp_values **argv = calloc(n, sizeof *argv);
    pp_values *small = ints1(1), *large = NULL;
    void *blob = calloc(1, big);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i;

    CU_ASSERT_FATAL(argv != NULL && blob != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&large), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(large, blob, big), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(large, blob, big), PP_OK);
    for (i = 0; i < n; i++)
        argv[i] = i + 1 >= n ? large : small; /* the last item */
    memset(&o, 0, sizeof o);
    o.chunksize = 3;
    PP_ASSERT_STATUS(pp_starmap_async(p, tk_square, argv, n, &o, &r), PP_ETOOBIG);
    CU_ASSERT_PTR_NULL(r);
    pp_result_release(r);
    /* the pool is fine, and nothing of the refused call ran */
    check_pool_works(p, 10);
    pp_values_destroy(large);
    pp_values_destroy(small);
    free(blob);
    free(argv);
    pp_test_pool_finish(p);
}

#ifndef _WIN32
/* What a fork child of the pool's creator gets from the pool: PP_ESTATE
 * everywhere, and a pp_pool_destroy() that returns at once (it hung
 * joining threads the child does not have, after killing the creator's
 * workers). The child exits 0 if so, else 10 + the first wrong step. */
static int own_child_checks(pp_pool *p, pp_result *slow)
{
    pp_values *args = NULL, *r = NULL;
    const pp_values *v = NULL;
    pp_result *res = NULL;

    /* the creator's unfinished result: nothing here can finish it */
    if (pp_result_get(slow, PP_INFINITE, &v) != PP_ESTATE)
        return 8;
    if (pp_values_pack(&args, "l", (int64_t)3) != PP_OK)
        return 9;
    if (pp_apply(p, tk_square, args, &r, NULL) != PP_ESTATE)
        return 10;
    if (pp_map_async(p, tk_square, args, NULL, &res) != PP_ESTATE || res != NULL)
        return 11;
    if (pp_pool_close(p) != PP_ESTATE)
        return 12;
    if (pp_pool_terminate(p) != PP_ESTATE)
        return 13;
    if (pp_pool_join(p, PP_INFINITE) != PP_ESTATE)
        return 14;
    {
        pp_pool_stats stats;
        pp_worker_info info[2];
        size_t count = 0;

        if (pp_pool_get_stats(p, &stats) != PP_ESTATE)
            return 15;
        if (pp_pool_workers(p, info, 2, &count) != PP_ESTATE)
            return 16;
        if (pp_result_cancel(slow) != PP_ESTATE)
            return 17;
    }
    pp_pool_destroy(p); /* returns; the creator's pool stays whole */
    pp_values_destroy(args);
    return 0;
}
#endif

#ifndef _WIN32
/* Wait (bounded) for child pid: its exit code, or -1 (killed: it hung). */
static int wait_child_bounded(pid_t pid)
{
    int64_t t0 = pp_test_now_ms();
    int status = 0;
    pid_t got;

    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && pp_test_now_ms() - t0 < WAIT_MS)
        pp_test_sleep_ms(10);
    if (got != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* In a fork child of a pool's creator: the creator's pool p is not its
 * own, a pool it makes itself is, and in its own fork child neither is.
 * Returns 0, or which check failed. */
static int child_own_pool_checks(pp_pool *p)
{
    pp_pool_options o;
    pp_values *args = NULL, *r = NULL;
    pp_pool *q = NULL;
    int64_t v = 0;
    pid_t pid;
    int rc;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_FORK;
    if (pp_values_pack(&args, "l", (int64_t)5) != PP_OK)
        return 20;
    if (pp_apply(p, tk_square, args, &r, NULL) != PP_ESTATE)
        return 21;
    if (pp_pool_create(&q, &o) != PP_OK)
        return 22;
    if (pp_apply(q, tk_square, args, &r, NULL) != PP_OK || pp_values_get_int(r, 0, &v) != PP_OK ||
        v != 25)
        return 23;
    pp_values_destroy(r);
    r = NULL;
    pid = fork();
    if (pid < 0)
        return 24;
    if (pid == 0) {
        /* the grandchild: neither pool is its own */
        if (pp_apply(q, tk_square, args, &r, NULL) != PP_ESTATE)
            _exit(25);
        if (pp_apply(p, tk_square, args, &r, NULL) != PP_ESTATE)
            _exit(26);
        _exit(0);
    }
    rc = wait_child_bounded(pid);
    if (rc != 0)
        return rc < 0 ? 27 : rc;
    /* and q still works here */
    if (pp_apply(q, tk_square, args, &r, NULL) != PP_OK)
        return 28;
    pp_values_destroy(r);
    if (pp_pool_close(q) != PP_OK || pp_pool_join(q, WAIT_MS) != PP_OK)
        return 29;
    pp_pool_destroy(q);
    pp_values_destroy(args);
    return 0;
}
#endif

/* The pool's check of who calls it (a cached process id) follows forks:
 * a fork child of a pool's creator may make and use a pool of its own,
 * and that pool is not its own fork child's either. POSIX only. */
static void t_fork_child_makes_its_own_pool(void)
{
#ifndef _WIN32
    pp_pool *p = pp_test_pool_make(PP_START_FORK, 1);
    pp_values *args = NULL, *r = NULL;
    pid_t pid;
    int rc;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "l", (int64_t)7), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_square, args, &r, NULL), PP_OK);
    pp_values_destroy(r);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(child_own_pool_checks(p));
    rc = wait_child_bounded(pid);
    PP_ASSERT_MSG(rc == 0, "fork child: %d (-1: it hung or crashed; 20+: the check that failed)",
                  rc);
    r = NULL;
    PP_ASSERT_STATUS(pp_apply(p, tk_square, args, &r, NULL), PP_OK);
    pp_values_destroy(r);
    pp_values_destroy(args);
    pp_test_pool_finish(p);
#endif
}

/* A pool belongs to the process that made it: in a fork child (the
 * program's own fork()) every call is PP_ESTATE and destroy does nothing,
 * and the creator's pool keeps working. POSIX only (fork()). */
static void t_fork_child_is_not_the_owner(void)
{
#ifndef _WIN32
    pp_pool *p = pp_test_pool_make(PP_START_FORK, 2);
    pp_values *args = NULL, *r = NULL, *ms = NULL;
    pp_result *slow = NULL;
    int64_t v = 0, t0;
    int status = 0;
    pid_t pid, got = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "l", (int64_t)7), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, tk_square, args, &r, NULL), PP_OK);
    pp_values_destroy(r);
    r = NULL;
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&ms, "l", (int64_t)1500), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, tk_sleep, ms, NULL, &slow), PP_OK);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(own_child_checks(p, slow));
    t0 = pp_test_now_ms();
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && pp_test_now_ms() - t0 < WAIT_MS)
        pp_test_sleep_ms(10);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    PP_ASSERT_MSG(got == pid, "the fork child hung in a pool call");
    PP_ASSERT_MSG(got != pid || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "fork child: exit %d (10 + the first pool call that did not give PP_ESTATE)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    /* the creator's workers were not killed: its pool works */
    {
        const pp_values *sv = NULL;
        PP_ASSERT_STATUS(pp_result_get(slow, WAIT_MS, &sv), PP_OK);
    }
    pp_result_release(slow);
    pp_values_destroy(ms);
    PP_ASSERT_STATUS(pp_apply(p, tk_square, args, &r, NULL), PP_OK);
    CU_ASSERT(r != NULL && pp_values_get_int(r, 0, &v) == PP_OK && v == 49);
    pp_values_destroy(r);
    pp_values_destroy(args);
    pp_test_pool_finish(p);
#endif
}

#ifndef _WIN32
typedef struct big_writer {
    pp_pool *p;
    pp_values *big;
    pp_status st;
} big_writer;

static void *APR_THREAD_FUNC big_writer_main(apr_thread_t *thd, void *arg)
{
    big_writer *bw = arg;
    pp_result *r = NULL;

    bw->st = pp_apply_async(bw->p, tk_square, bw->big, NULL, &r);
    pp_result_release(r);
    (void)thd;
    return NULL;
}
#endif

/* A thread blocked writing a large task to a worker that cannot read it
 * (stopped, and its channel kept open by a process it forked), then the
 * pool is terminated: the worker is killed, its death is seen through the
 * process watch, the writer is woken, and join returns without anyone
 * using the freed channel. POSIX only (SIGSTOP, fork in a task). */
static void t_blocked_writer_on_dead_worker(void)
{
#ifndef _WIN32
    pp_pool_options o;
    big_writer bw;
    pp_values *r = NULL;
    int64_t worker = 0, keeper = 0, t0;
    void *blob = calloc(1, (size_t)30 << 20);
    apr_thread_t *th;
    apr_status_t rv;

    CU_ASSERT_FATAL(blob != NULL);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_SPAWN;
    memset(&bw, 0, sizeof bw);
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&bw.p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(bw.p, tk_fork_keeper, NULL, &r, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_unpack(r, "ll", &worker, &keeper), PP_OK);
    pp_values_destroy(r);
    CU_ASSERT_FATAL(kill((pid_t)worker, SIGSTOP) == 0);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&bw.big), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(bw.big, blob, (size_t)30 << 20), PP_OK);
    CU_ASSERT_FATAL(apr_thread_create(&th, NULL, big_writer_main, &bw, pp_test_pool()) ==
                    APR_SUCCESS);
    pp_test_sleep_ms(300); /* the write is under way and blocks */
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_pool_terminate(bw.p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(bw.p, WAIT_MS), PP_OK);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < 10000, "join took %lld ms (the keeper lives 20 s)",
                  (long long)(pp_test_now_ms() - t0));
    apr_thread_join(&rv, th);
    pp_pool_destroy(bw.p);
    kill((pid_t)keeper, SIGKILL);
    pp_values_destroy(bw.big);
    free(blob);
#endif
}

typedef struct racing_submit {
    pp_pool *p;
    const pp_values **argv;
    size_t n;
    volatile int started;
    pp_status st;
} racing_submit;

static void *APR_THREAD_FUNC racing_submitter(apr_thread_t *thd, void *arg)
{
    racing_submit *rs = arg;
    pp_submit_options o;
    pp_result *r = NULL;

    memset(&o, 0, sizeof o);
    o.chunksize = 2000;
    rs->started = 1;
    rs->st = pp_starmap_async(rs->p, tk_square, rs->argv, rs->n, &o, &r);
    pp_result_release(r);
    (void)thd;
    return NULL;
}

/* terminate + join + destroy while another thread is inside a large
 * submitting call: join waits for that call (which gets PP_ECLOSED, or
 * PP_OK with its items failing), destroy does not pull the pool from under
 * it. (A use-after-free here shows under the sanitizer build.) */
static void t_join_waits_for_submitting_call(void)
{
    racing_submit rs;
    pp_values *one = NULL;
    static unsigned char blob[2048];
    apr_thread_t *th;
    apr_status_t rv;
    size_t i;

    memset(&rs, 0, sizeof rs);
    rs.p = make_pool(PP_START_DEFAULT, 1, 0);
    rs.n = 20000;
    rs.argv = calloc(rs.n, sizeof *rs.argv);
    CU_ASSERT_FATAL(rs.argv != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&one), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(one, blob, sizeof blob), PP_OK);
    for (i = 0; i < rs.n; i++)
        rs.argv[i] = one; /* tk_square refuses bytes: items fail if run */
    CU_ASSERT_FATAL(apr_thread_create(&th, NULL, racing_submitter, &rs, pp_test_pool()) ==
                    APR_SUCCESS);
    while (!rs.started)
        pp_test_sleep_ms(1);
    pp_test_sleep_ms(2);
    PP_ASSERT_STATUS(pp_pool_terminate(rs.p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(rs.p, WAIT_MS), PP_OK);
    pp_pool_destroy(rs.p);
    apr_thread_join(&rv, th);
    CU_ASSERT(rs.st == PP_ECLOSED || rs.st == PP_OK);
    pp_values_destroy(one);
    free(rs.argv);
}

/* Check item i of a tk_half map over `in` against the rule above. */
static int half_ok(pp_result *r, const pp_values *in, size_t i)
{
    const pp_values *v = NULL;
    int64_t x, a, b;
    double d, got;

    if (pp_result_item(r, i, &v, NULL) != PP_OK)
        return 0;
    if (pp_values_get_double(in, i, &d) == PP_OK)
        return pp_values_unpack(v, "d", &got) == PP_OK && got == d / 2;
    pp_values_get_int(in, i, &x);
    if (x % 7 == 0 && x != 0)
        return pp_values_unpack(v, "ll", &a, &b) == PP_OK && a == x && b == x / 2;
    if (x % 2 != 0)
        return pp_values_unpack(v, "d", &got) == PP_OK && got == (double)x / 2;
    return pp_values_unpack(v, "l", &a) == PP_OK && a == x / 2;
}

/* Map chunks in every shape the pool encodes: int and double columns in
 * and out, mixed argument types, results that change type or size within
 * a chunk. */
static void t_map_columns(void)
{
    pp_pool *p = make_pool(PP_START_DEFAULT, 2, 0);
    pp_values *ints, *doubles, *mixed;
    pp_submit_options o;
    pp_values *sets[3];
    pp_result *r;
    size_t i, k, bad;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&ints), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&doubles), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&mixed), PP_OK);
    for (i = 0; i < 3000; i++) {
        /* ints: 2, 4, 6, ... in the first 1000 (int column out), then any */
        pp_values_add_int(ints, i < 1000 ? (int64_t)(2 * i + 2) : (int64_t)i);
        pp_values_add_double(doubles, (double)i + 0.25);
        if (i % 500 == 3)
            pp_values_add_double(mixed, (double)i);
        else
            pp_values_add_int(mixed, (int64_t)(2 * i + 2) * 4);
    }
    sets[0] = ints;
    sets[1] = doubles;
    sets[2] = mixed;
    memset(&o, 0, sizeof o);
    o.chunksize = 100;
    for (k = 0; k < 3; k++) {
        PP_ASSERT_STATUS_FATAL(pp_map(p, tk_half, sets[k], &o, &r), PP_OK);
        for (i = 0, bad = 0; i < 3000; i++)
            bad += !half_ok(r, sets[k], i);
        PP_ASSERT_MSG(bad == 0, "set %lu: %lu wrong items", (unsigned long)k, (unsigned long)bad);
        pp_result_release(r);
    }
    pp_values_destroy(ints);
    pp_values_destroy(doubles);
    pp_values_destroy(mixed);
    pp_test_pool_finish(p);
}

static void t_fork_not_on_windows(void)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_FORK;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ENOTSUP);
    o.start_method = PP_START_FORKSERVER;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(p);
}

/* ------------------------------------------------------------ parent death */

/* Helper: create a pool, print its worker pids, then wait to be killed. */
static int h_pool_parent(int argc, char **argv)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_result *rs[8];
    char line[64];
    int i, n = 2;

    if (argc < 2)
        return PP_TEST_EXIT_USAGE;
    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)atoi(argv[1]);
    if (pp_pool_create(&p, &o) != PP_OK)
        return PP_TEST_EXIT_SETUP;
    /* slow tasks so that every worker takes one and reports its pid */
    for (i = 0; i < n; i++) {
        pp_values *a = NULL;
        pp_values_pack(&a, "l", (int64_t)300);
        pp_apply_async(p, tk_sleep, a, NULL, &rs[i]);
        pp_values_destroy(a);
    }
    for (i = 0; i < n; i++) {
        const pp_values *v = NULL;
        int64_t pid = 0;
        pp_result_get(rs[i], 30000, &v);
        pp_values_get_int(v, 0, &pid);
        snprintf(line, sizeof line, "%lld", (long long)pid);
        pp_test_say(line);
    }
    /* keep them busy: the parent is killed while workers run tasks */
    for (i = 0; i < n; i++) {
        pp_values *a = NULL;
        pp_values_pack(&a, "l", (int64_t)60000);
        pp_apply_async(p, tk_sleep, a, NULL, NULL);
        pp_values_destroy(a);
    }
    pp_test_say("ready");
    pp_test_sleep_ms(120000);
    return 0;
}

static void do_parent_killed(int m)
{
    char line[64];
    pp_test_child *c;
    int64_t pids[2], deadline;
    int i, alive;

    c = pp_test_spawn_method("pool-parent", m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (i = 0; i < 2; i++) {
        CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, WAIT_MS));
        pids[i] = atoll(line);
        CU_ASSERT(pids[i] > 0);
    }
    CU_ASSERT_FATAL(pp_test_child_expect(c, "ready", WAIT_MS));
    pp_test_child_kill(c);
    deadline = pp_test_now_ms() + 2000 * pp_test_timeout_mult();
    do {
        alive = pp_test_pid_alive(pids[0]) + pp_test_pid_alive(pids[1]);
        if (alive == 0)
            break;
        pp_test_sleep_ms(20);
    } while (pp_test_now_ms() < deadline);
    PP_ASSERT_MSG(alive == 0, "%d worker(s) outlived their killed parent by 2 s", alive);
    pp_test_child_free(c);
}

PP_TEST_PER_METHOD(parent_killed)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(apply, 0),
    PP_TEST_TIMEOUT(t_fork_child_is_not_the_owner, 0),
    PP_TEST_TIMEOUT(t_fork_child_makes_its_own_pool, 0),
    PP_TEST_METHODS(map_10000, 0),
    PP_TEST_METHODS(starmap, 0),
    PP_TEST_METHODS(imap, 0),
    PP_TEST_METHODS(callbacks, 0),
    PP_TEST_METHODS(task_error, 0),
    PP_TEST_METHODS(worker_killed, 0),
    PP_TEST_METHODS(crashes, 120),
    PP_TEST_METHODS(maxtasks, 300),
    PP_TEST_METHODS(channel_outlives_worker, 60),
    PP_TEST_METHODS(terminate, 0),
    PP_TEST_METHODS(balance, 0),
    PP_TEST_METHODS(close, 0),
    PP_TEST_METHODS(initializer, 0),
    PP_TEST_METHODS(unregistered, 0),
    PP_TEST_METHODS(progress, 0),
    PP_TEST_METHODS(values_roundtrip, 0),
    PP_TEST_METHODS(parent_killed, 0),
    PP_TEST(t_bad_arguments),
    PP_TEST(t_apply_spin_then_wait),
    PP_TEST(t_timeout_and_ready),
    PP_TEST(t_unobserved_failure_reported),
    PP_TEST(t_callback_reenters_pool),
    PP_TEST(t_first_callbacks_from_threads),
    PP_TEST_METHODS(pool_threads, 0),
    PP_TEST(t_result_outlives_pool),
    PP_TEST_TIMEOUT(t_apply_reused_chunks_exact, 120),
    PP_TEST(t_result_kinds),
    PP_TEST_TIMEOUT(t_big_maps_reuse_memory, 120),
    PP_TEST_TIMEOUT(t_map_sizes_mixed, 120),
    PP_TEST(t_map_columns),
    PP_TEST_TIMEOUT(t_too_big_in_later_batch, 120),
    PP_TEST(t_join_waits_for_submitting_call),
    PP_TEST(t_blocked_writer_on_dead_worker),
    PP_TEST(t_fork_not_on_windows),
    PP_TEST_END,
};
/* clang-format on */

/* "pool-sleep MS": a process that just lives for a while. */
static int h_pool_sleep(int argc, char **argv)
{
    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    pp__plat_sleep_ms(atoi(argv[1]));
    return 0;
}

static const pp_test_helper helpers[] = {
    {"pool-parent", h_pool_parent}, {"pool-sleep", h_pool_sleep}, {NULL, NULL}};

PP_TEST_SUITE(pool)
{
    pp_test_add_suite("pool", cases);
    pp_test_add_helpers(helpers);
}
