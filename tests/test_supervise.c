/*
 * test_supervise.c — supervision under faults from outside the pool:
 * workers killed while starting, a pool that breaks while work is queued,
 * prefetched or re-queued, tasks sent to a worker that has just died,
 * work stuck behind a busy worker, the zygote / fork server killed (fork
 * and forkserver). Every wait is bounded: a hang fails
 * the test instead of stalling the suite.
 *
 * The tasks talk to the test through one shared memory block (struct
 * ctl): the initializer's mode, a gate that blocking tasks wait for, and
 * the pid of the worker that ran each item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <dirent.h>
#endif
#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#endif

#include "platform.h"
#include "pp_test.h"
#include "procpool/procpool.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define MAX_ITEM 2048

enum {
    INIT_OK = 0,   /* the initializer succeeds */
    INIT_FAIL = 1, /* it reports a failure */
    INIT_HOLD = 2, /* it records its pid in init_pid and waits for another mode */
    INIT_CRASH = 3 /* the worker exits (code 5) inside it */
};

typedef struct ctl {
    volatile int64_t init_mode;      /* INIT_* */
    volatile int64_t gate;           /* blocking tasks run while 0 */
    volatile int64_t pid[MAX_ITEM];  /* worker pid that started item i */
    volatile int64_t runs[MAX_ITEM]; /* times item i was started */
    volatile int64_t die_at;         /* sv_die_at: the item whose worker exits */
    volatile int64_t init_pid;       /* INIT_HOLD: the worker waiting in it */
    volatile int64_t hang_at;        /* sv_hang_at: the item that never ends */
    volatile int64_t slow_us;        /* sv_storm: how long each item takes */
    volatile int64_t moved_on;       /* sv_long: the worker has started it */
    volatile int64_t init_ppid;      /* INIT_HOLD: that worker's parent (POSIX) */
} ctl;

/* In a worker: the block named in the initializer's arguments. */
static ctl *g_ctl;

static int64_t self_pid(void)
{
    return (int64_t)pp__plat_getpid();
}

static int sv_init(pp_task *t)
{
    pp_shm *s = NULL;

    if (pp_values_unpack(pp_task_args(t), "m", &s) != PP_OK)
        return pp_task_fail(t, 2, "sv_init expects a shm block");
    g_ctl = pp_shm_ptr(s);
    if (g_ctl->init_mode == INIT_FAIL)
        return pp_task_fail(t, 7, "initializer told to fail");
    if (g_ctl->init_mode == INIT_CRASH)
        _Exit(5);
    if (g_ctl->init_mode == INIT_HOLD) {
#ifndef _WIN32
        g_ctl->init_ppid = (int64_t)getppid();
#endif
        g_ctl->init_pid = self_pid();
        while (g_ctl->init_mode == INIT_HOLD)
            pp_test_sleep_ms(1);
    }
    return 0;
}
PP_TASK_REGISTER(sv_init)

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

/* Returns its index without touching the control block (no initializer
 * needed). */
static int sv_echo_index(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK)
        return pp_task_fail(t, 2, "sv_echo_index expects an index");
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_echo_index)

/* Item i: the worker exits (code 3) at item die_at; any other returns i,
 * as an int (str_result 0), as the string "r<i>" (1), or as an int below
 * 3 and a string from 3 on (2: a scalar column that ends mid-chunk). */
static int die_at(pp_task *t, int str_result)
{
    const char *arg = NULL;
    char s[32];
    int64_t i = 0;

    /* str_result 3: the index comes as a string ("7"), the result is "r7"
     * (string columns both ways) */
    if (str_result == 3 && pp_values_unpack(pp_task_args(t), "s", &arg) == PP_OK)
        i = strtol(arg, NULL, 10);
    else if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK)
        i = -1;
    if (i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_die_at expects an index");
    g_ctl->runs[i]++;
    g_ctl->pid[i] = self_pid();
    if (i == g_ctl->die_at) {
        fflush(stdout);
        _Exit(3); /* no atexit handlers (nor a leak check) in a dying worker */
    }
    if (!str_result || (str_result == 2 && i < 3))
        return pp_values_add_int(pp_task_result(t), i);
    snprintf(s, sizeof s, "r%d", (int)i);
    return pp_values_add_str(pp_task_result(t), s);
}

static int sv_die_at(pp_task *t)
{
    return die_at(t, 0);
}
PP_TASK_REGISTER(sv_die_at)

static int sv_die_at_str(pp_task *t)
{
    return die_at(t, 1);
}
PP_TASK_REGISTER(sv_die_at_str)

static int sv_die_at_mixed(pp_task *t)
{
    return die_at(t, 2);
}
PP_TASK_REGISTER(sv_die_at_mixed)

static int sv_die_at_strs(pp_task *t)
{
    return die_at(t, 3);
}
PP_TASK_REGISTER(sv_die_at_strs)

/* sv_die_at over a byte buffer: the index as u32 LE, then byte j =
 * (i + j) & 0xff, checked to its end (code 9 if not); returns i. */
static int sv_die_at_blob(pp_task *t)
{
    const unsigned char *b;
    const void *p = NULL;
    size_t n = 0, j;
    int64_t i;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK || n < 4)
        return pp_task_fail(t, 2, "sv_die_at_blob expects a buffer");
    b = p;
    i = (int64_t)((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                  ((uint32_t)b[3] << 24));
    if (i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_die_at_blob expects an index");
    for (j = 4; j < n; j++) {
        if (b[j] != (unsigned char)((i + (int64_t)j) & 0xff))
            return pp_task_fail(t, 9, "item %d: byte %lu wrong", (int)i, (unsigned long)j);
    }
    g_ctl->runs[i]++;
    g_ctl->pid[i] = self_pid();
    if (i == g_ctl->die_at) {
        fflush(stdout);
        _Exit(3);
    }
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_die_at_blob)

/* Returns a buffer one byte over the limit: the add fails with
 * PP_ETOOBIG, which the task returns as it is. */
static int sv_too_big(pp_task *t)
{
    static const char byte = 0;
    (void)byte;
    return pp_values_add_bytes(pp_task_result(t), &byte, (size_t)PP_VALUE_MAX_BYTES + 1);
}
PP_TASK_REGISTER(sv_too_big)

/* Item i: never ends if i is hang_at (until its worker is killed), else
 * returns i at once. */
static int sv_hang_at(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK || i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_hang_at expects an index");
    g_ctl->runs[i]++;
    g_ctl->pid[i] = self_pid();
    while (i == g_ctl->hang_at)
        pp_test_sleep_ms(5);
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_hang_at)

/* The worker's parent: the zygote (fork) or the fork server. */
static int sv_ppid(pp_task *t)
{
#ifdef _WIN32
    return pp_values_add_int(pp_task_result(t), 0); /* no fork pools there */
#else
    return pp_values_add_int(pp_task_result(t), (int64_t)getppid());
#endif
}
PP_TASK_REGISTER(sv_ppid)

#ifndef _WIN32
/* The pid of the process whose own fork last ran the test's fork child
 * handler (t_fork_handlers_in_every_worker registers it). */
static volatile int64_t g_fork_handled;

static void sv_on_fork_child(void)
{
    g_fork_handled = (int64_t)getpid();
}
#endif

/* 1 if the fork that made this worker ran the program's fork child
 * handlers (pthread_atfork), else 0. */
static int sv_fork_handled(pp_task *t)
{
#ifdef _WIN32
    return pp_values_add_int(pp_task_result(t), 0); /* no fork pools there */
#else
    return pp_values_add_int(pp_task_result(t), g_fork_handled == self_pid());
#endif
}
PP_TASK_REGISTER(sv_fork_handled)

/* Item i: 30 MiB of bytes, each (i + 1); three of them do not fit in one
 * message. */
#define BIG_RESULT ((size_t)30 << 20)
static int sv_big(pp_task *t)
{
    int64_t i = 0;
    uint8_t *b;
    int rc;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK)
        return pp_task_fail(t, 2, "sv_big expects an index");
    b = malloc(BIG_RESULT);
    if (b == NULL)
        return pp_task_fail(t, 3, "no memory");
    memset(b, (int)(i + 1), BIG_RESULT);
    rc = pp_values_add_bytes(pp_task_result(t), b, BIG_RESULT);
    free(b);
    return rc;
}
PP_TASK_REGISTER(sv_big)

/* Returns this worker's pid and resident bytes; with "l" 1 it first
 * allocates and touches 96 MiB that it keeps (the worker grows). */
static int sv_rss(pp_task *t)
{
    static void *kept;
    int64_t grow = 0;

    (void)pp_values_unpack(pp_task_args(t), "l", &grow);
    if (grow && kept == NULL) {
        kept = malloc((size_t)96 << 20);
        if (kept == NULL)
            return pp_task_fail(t, 3, "no memory");
        memset(kept, 1, (size_t)96 << 20);
    }
    if (pp_values_add_int(pp_task_result(t), self_pid()) != PP_OK)
        return 1;
    return pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_self_rss());
}
PP_TASK_REGISTER(sv_rss)

/* Item i: counted, a little work, returns i * 3. */
static int sv_storm(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK || i < 0 || i >= MAX_ITEM)
        return pp_task_fail(t, 2, "sv_storm expects an index");
    g_ctl->runs[i]++;
    if (g_ctl->slow_us > 0)
        pp_test_sleep_ms(g_ctl->slow_us / 1000);
    return pp_values_add_int(pp_task_result(t), i * 3);
}
PP_TASK_REGISTER(sv_storm)

/* The first rand() value of this worker process (remembered), and its pid. */
static int sv_first_rand(pp_task *t)
{
    static int first = -1;

    if (first < 0)
        first = rand();
    if (pp_values_add_int(pp_task_result(t), first) != PP_OK)
        return 1;
    return pp_values_add_int(pp_task_result(t), self_pid());
}
PP_TASK_REGISTER(sv_first_rand)

/* 8 MiB of result after 50 ms: its RESULT takes the reader a while. */
static int sv_short_big(pp_task *t)
{
    static const char big[(size_t)8 << 20];

    pp_test_sleep_ms(50);
    return pp_values_add_bytes(pp_task_result(t), big, sizeof big);
}
PP_TASK_REGISTER(sv_short_big)

/* Says it has started (moved_on), then runs 200 ms. */
static int sv_long(pp_task *t)
{
    g_ctl->moved_on = 1;
    pp_test_sleep_ms(200);
    return pp_values_add_int(pp_task_result(t), 2);
}
PP_TASK_REGISTER(sv_long)

/* ------------------------------------------------------------- helpers */

typedef struct fixture {
    pp_shm *shm;
    ctl *c;
    pp_pool *pool;
} fixture;

/* Create the block and a pool of nworkers; start_timeout_ms as in
 * pp_pool_options. Returns pp_pool_create's status (fatal unless expect
 * says so). */
static pp_status fixture_open_ex(fixture *f, int method, int nworkers, int64_t start_timeout_ms,
                                 int init_mode, pp_status expect)
{
    pp_pool_options o;
    pp_values *initargs = NULL;
    pp_status st;

    memset(f, 0, sizeof *f);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(ctl), &f->shm), PP_OK);
    f->c = pp_shm_ptr(f->shm);
    f->c->init_mode = init_mode;
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&initargs, "m", f->shm), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = nworkers;
    o.start_method = (pp_start_method)method;
    o.initializer = sv_init;
    o.initargs = initargs;
    o.start_timeout_ms = start_timeout_ms;
    st = pp_pool_create(&f->pool, &o);
    pp_values_destroy(initargs);
    PP_ASSERT_STATUS_FATAL(st, expect);
    return st;
}

static void fixture_open(fixture *f, int method, int nworkers)
{
    fixture_open_ex(f, method, nworkers, 0, INIT_OK, PP_OK);
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

/*
 * A worker killed while idle, and work submitted at once: the work was
 * sent to a dead worker that never read it. It must run elsewhere and
 * succeed, not fail with PP_EWORKERDIED.
 */
static void do_sent_to_dead_worker_runs_elsewhere(int m)
{
    pp_values *one = indices(1), *res = NULL;
    pp_error e;
    fixture f;
    int round, died = 0;

    fixture_open(&f, m, 1);
    for (round = 0; round < 10; round++) {
        int64_t pid;
        f.c->pid[0] = 0;
        PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
        pp_values_destroy(res);
        pid = f.c->pid[0];
        CU_ASSERT_FATAL(pid != 0);
        pp_test_kill_pid(pid); /* idle, and nothing sent yet */
        memset(&e, 0, sizeof e);
        if (pp_apply(f.pool, sv_quick, one, &res, &e) != PP_OK) {
            died++;
            PP_ASSERT_MSG(0, "round %d: a task that never ran failed: %s (%s)", round,
                          pp_err_name(e.status), e.message);
        }
        pp_values_destroy(res);
        res = NULL;
    }
    CU_ASSERT_EQUAL(died, 0);
    pp_values_destroy(one);
    fixture_close(&f);
}

/*
 * Head-of-line: one worker runs a task that does not end until the test
 * says so; short tasks submitted after it must all run on the other
 * worker instead of waiting behind it.
 */
static void do_no_stall_behind_busy_worker(int m)
{
    pp_values *args = indices(1), *q = NULL;
    pp_result *blocker = NULL, *rs[8];
    int64_t bpid;
    fixture f;
    int i;

    fixture_open(&f, m, 2);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_gated, args, NULL, &blocker), PP_OK);
    bpid = started_pid(&f, 0);
    CU_ASSERT_FATAL(bpid != 0);
    for (i = 0; i < 8; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&q, "l", (int64_t)(10 + i)), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_quick, q, NULL, &rs[i]), PP_OK);
        pp_values_destroy(q);
    }
    for (i = 0; i < 8; i++) {
        PP_ASSERT_MSG(pp_result_wait(rs[i], 20000 * pp_test_timeout_mult()) == PP_OK,
                      "short task %d waited behind the blocked worker (never ran elsewhere)", i);
        CU_ASSERT(f.c->pid[10 + i] != bpid);
        pp_result_release(rs[i]);
    }
    f.c->gate = 1;
    PP_ASSERT_STATUS(pp_result_get(blocker, WAIT_MS, NULL), PP_OK);
    pp_result_release(blocker);
    pp_values_destroy(args);
    fixture_close(&f);
}

/*
 * A worker dies in the middle of a chunk: the items it finished keep
 * their results, the item it was running fails with PP_EWORKERDIED (its
 * exit code in the error), the items it never started run on another
 * worker. Nothing runs twice.
 */
static void check_partial_chunk(int m, pp_task_fn fn, int str_result)
{
    const int n = 10, dies = 5;
    pp_submit_options so;
    pp_values *items = indices(n);
    const pp_values *v;
    const pp_error *e;
    pp_result *r = NULL;
    fixture f;
    char num[16];
    int i;

    if (str_result == 3) { /* the indices as strings */
        pp_values_destroy(items);
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < n; i++) {
            snprintf(num, sizeof num, "%d", i);
            PP_ASSERT_STATUS_FATAL(pp_values_add_str(items, num), PP_OK);
        }
    }
    fixture_open(&f, m, 1);
    f.c->die_at = dies;
    memset(&so, 0, sizeof so);
    so.chunksize = (size_t)n; /* one chunk */
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, fn, items, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < n; i++) {
        pp_status st = pp_result_item(r, (size_t)i, &v, &e);
        PP_ASSERT_MSG(f.c->runs[i] == 1, "item %d ran %d times", i, (int)f.c->runs[i]);
        if (i == dies) {
            PP_ASSERT_MSG(st == PP_EWORKERDIED, "item %d: %s", i, pp_err_name(st));
            if (e != NULL) {
                CU_ASSERT_EQUAL(e->code, 3);
                PP_ASSERT_MSG(strstr(e->message, "exited with code 3") != NULL, "message: %s",
                              e->message);
            }
            continue;
        }
        PP_ASSERT_MSG(st == PP_OK, "item %d (%s): %s", i, i < dies ? "finished" : "never started",
                      pp_err_name(st));
        if (st == PP_OK && (!str_result || (str_result == 2 && i < 3))) {
            int64_t x = -1;
            PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
            CU_ASSERT_EQUAL(x, i);
        } else if (st == PP_OK) {
            const char *s = NULL;
            char want[32];
            snprintf(want, sizeof want, "r%d", i);
            PP_ASSERT_STATUS(pp_values_get_str(v, 0, &s), PP_OK);
            CU_ASSERT(s != NULL && strcmp(s, want) == 0);
        }
    }
    /* the items after the death ran in the replacement */
    CU_ASSERT(f.c->pid[dies + 1] != 0 && f.c->pid[dies + 1] != f.c->pid[dies - 1]);
    pp_result_release(r);
    pp_values_destroy(items);
    fixture_close(&f);
}

static void do_partial_chunk_keeps_results(int m)
{
    check_partial_chunk(m, sv_die_at, 0); /* int in, int out: scalar columns */
    check_partial_chunk(m, sv_die_at_str, 1);
    check_partial_chunk(m, sv_die_at_mixed, 2);
    check_partial_chunk(m, sv_die_at_strs, 3); /* string columns in and out */
}

/*
 * A sync map in one chunk whose arguments are copied from the caller's
 * items into the worker's inbox when sent (a lazy chunk,
 * pool_internal.h): byte items of a few KiB; or 2048 ints (a scalar
 * column, not lazy: the same outcomes).
 * The worker dies at item dies: the items it finished keep their results,
 * that item fails with PP_EWORKERDIED, the items it never started are
 * copied again from the caller's items for the replacement and run
 * there, once, with every byte right.
 */
static void check_lazy_death(int m, int scalar)
{
    const int n = scalar ? 2048 : 12, dies = scalar ? 1000 : 5;
    const size_t most = 3000 + 97 * 12;
    unsigned char *buf = malloc(most);
    int64_t *out = calloc((size_t)n, sizeof *out);
    pp_status *sts = calloc((size_t)n, sizeof *sts);
    pp_values *items = NULL;
    pp_submit_options so;
    pp_result *r = NULL;
    fixture f;
    size_t j, len;
    int i, bad = 0;

    CU_ASSERT_FATAL(buf != NULL && out != NULL && sts != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++) {
        if (scalar) {
            PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i), PP_OK);
            continue;
        }
        len = 3000 + 97 * (size_t)i; /* sizes differ: a wrong offset shows */
        for (j = 0; j < len; j++)
            buf[j] = (unsigned char)((i + (int)j) & 0xff);
        buf[0] = (unsigned char)i;
        buf[1] = buf[2] = buf[3] = 0;
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(items, buf, len), PP_OK);
    }
    fixture_open(&f, m, 1);
    f.c->die_at = dies;
    memset(&so, 0, sizeof so);
    so.chunksize = (size_t)n; /* one chunk */
    PP_ASSERT_STATUS(pp_map(f.pool, scalar ? sv_die_at : sv_die_at_blob, items, &so, &r),
                     PP_EWORKERDIED);
    pp_values_destroy(items); /* the caller's at once: nothing reads them now */
    CU_ASSERT_FATAL(r != NULL);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, (size_t)n, out, sts), PP_EWORKERDIED);
    for (i = 0; i < n && bad < 5; i++) {
        if (f.c->runs[i] != 1) {
            bad++;
            PP_ASSERT_MSG(0, "item %d ran %d times", i, (int)f.c->runs[i]);
        }
        if (i == dies) {
            PP_ASSERT_MSG(sts[i] == PP_EWORKERDIED, "item %d: %s", i, pp_err_name(sts[i]));
            continue;
        }
        if (sts[i] != PP_OK || out[i] != i) {
            bad++;
            PP_ASSERT_MSG(0, "item %d (%s): %s, %lld", i, i < dies ? "finished" : "never started",
                          pp_err_name(sts[i]), (long long)out[i]);
        }
    }
    /* the items after the death ran in the replacement */
    CU_ASSERT(f.c->pid[dies + 1] != 0 && f.c->pid[dies + 1] != f.c->pid[dies - 1]);
    pp_result_release(r);
    free(buf);
    free(out);
    free(sts);
    fixture_close(&f);
}

static void do_lazy_chunk_worker_dies(int m)
{
    check_lazy_death(m, 0); /* a byte column */
    check_lazy_death(m, 1); /* ints: an eager scalar column, the same outcomes */
}

/* Wait until the pool's health is h (or WAIT_MS passed); the last stats. */
static pp_pool_stats wait_health(pp_pool *p, pp_pool_health h)
{
    int64_t deadline = pp_test_now_ms() + WAIT_MS;
    pp_pool_stats s;

    for (;;) {
        PP_ASSERT_STATUS_FATAL(pp_pool_get_stats(p, &s), PP_OK);
        if (s.health == h || pp_test_now_ms() >= deadline)
            return s;
        pp_test_sleep_ms(5);
    }
}

/* Kill the worker waiting in its initializer (INIT_HOLD) once it is
 * there; 1 if one was found. */
static int kill_held_worker(fixture *f)
{
    int64_t deadline = pp_test_now_ms() + WAIT_MS, pid;

    while ((pid = f->c->init_pid) == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    if (pid == 0)
        return 0;
    f->c->init_pid = 0;
    pp_test_kill_pid(pid);
    return 1;
}

/*
 * Starts killed from outside are not the pool's fault: killed again and
 * again (more often than the crash-loop limit) the pool retries, reports
 * itself degraded meanwhile, and works once starts are left alone.
 */
static void do_killed_starts_are_retried(int m)
{
    pp_values *one = indices(1), *res = NULL;
    pp_pool_stats s;
    int64_t deadline;
    fixture f;
    int i;

    fixture_open(&f, m, 1);
    f.c->pid[0] = 0;
    PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
    pp_values_destroy(res);
    f.c->init_mode = INIT_HOLD;
    pp_test_kill_pid(f.c->pid[0]); /* its replacement waits in the initializer */
    for (i = 0; i < 8; i++)
        CU_ASSERT_FATAL(kill_held_worker(&f));
    /* a 9th start is waiting in its initializer: the 8th death was seen */
    deadline = pp_test_now_ms() + WAIT_MS;
    while (f.c->init_pid == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    s = wait_health(f.pool, PP_POOL_DEGRADED);
    PP_ASSERT_MSG(s.health == PP_POOL_DEGRADED, "health %d after killed starts (reason: %s)",
                  (int)s.health, s.reason);
    CU_ASSERT(s.start_failures >= 8);
    f.c->init_mode = INIT_OK;
    PP_ASSERT_MSG(pp_apply(f.pool, sv_quick, one, &res, NULL) == PP_OK,
                  "the pool did not recover after the kills stopped");
    pp_values_destroy(res);
    s = wait_health(f.pool, PP_POOL_HEALTHY);
    CU_ASSERT_EQUAL(s.health, PP_POOL_HEALTHY);
    CU_ASSERT_EQUAL(s.broken_status, PP_OK);
    pp_values_destroy(one);
    fixture_close(&f);
}

/*
 * Starts that fail on their own (the worker exits in its initializer) are
 * a crash loop: the pool breaks after a few, reports why, and fails what
 * is pending and what comes later at once.
 */
static void do_crash_loop_breaks_pool(int m)
{
    pp_values *one = indices(1), *res = NULL;
    pp_result *r = NULL;
    const pp_error *e;
    pp_pool_stats s;
    fixture f;

    fixture_open(&f, m, 1);
    PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
    pp_values_destroy(res);
    f.c->init_mode = INIT_CRASH;
    pp_test_kill_pid(f.c->pid[0]);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_quick, one, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_ESPAWN);
    e = pp_result_error(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    PP_ASSERT_MSG(strstr(e->message, "worker starts failed") != NULL, "message: %s", e->message);
    pp_result_release(r);
    s = wait_health(f.pool, PP_POOL_BROKEN);
    CU_ASSERT_EQUAL(s.health, PP_POOL_BROKEN);
    CU_ASSERT_EQUAL(s.broken_status, PP_ESPAWN);
    PP_ASSERT_MSG(strstr(s.reason, "exited with code 5") != NULL, "reason: %s", s.reason);
    PP_ASSERT_STATUS(pp_apply_async(f.pool, sv_quick, one, NULL, &r), PP_ESPAWN);
    pp_values_destroy(one);
    fixture_close(&f);
}

/*
 * A worker that never becomes ready: pp_pool_create fails after the start
 * timeout instead of waiting forever, and a replacement that hangs in its
 * initializer counts as a failed start.
 */
static void do_start_timeout(int m)
{
    pp_values *one = indices(1), *res = NULL;
    int64_t limit_ms = 1500; /* five of them break the pool within its 30 s window */
    pp_pool_stats s;
    char want[64];
    fixture f;
    int64_t t0 = pp_test_now_ms();

    fixture_open_ex(&f, m, 1, 300, INIT_HOLD, PP_ESPAWN);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < WAIT_MS, "pp_pool_create took %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    pp_shm_destroy(f.shm);

    /* a limit a loaded machine's start (wine's: hundreds of ms) stays under */
    fixture_open_ex(&f, m, 1, limit_ms, INIT_OK, PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
    pp_values_destroy(res);
    f.c->init_mode = INIT_HOLD;
    pp_test_kill_pid(f.c->pid[0]);
    s = wait_health(f.pool, PP_POOL_BROKEN);
    CU_ASSERT_EQUAL(s.health, PP_POOL_BROKEN);
    snprintf(want, sizeof want, "not ready within %lld ms", (long long)limit_ms);
    PP_ASSERT_MSG(strstr(s.reason, want) != NULL, "reason: %s", s.reason);
    f.c->init_mode = INIT_OK;
    pp_values_destroy(one);
    fixture_close(&f);
}

/* What a pool says about its workers: one busy with a named task, one idle. */
static void do_stats_and_workers(int m)
{
    pp_values *one = indices(1);
    pp_worker_info wi[3];
    pp_result *r = NULL;
    pp_pool_stats s;
    size_t n = 0;
    int busy = 0, idle = 0, i;
    fixture f;

    fixture_open(&f, m, 2);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_gated, one, NULL, &r), PP_OK);
    CU_ASSERT_FATAL(started_pid(&f, 0) != 0);
    PP_ASSERT_STATUS(pp_pool_workers(f.pool, wi, 3, &n), PP_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    for (i = 0; i < 2; i++) {
        CU_ASSERT(wi[i].pid != 0);
        if (wi[i].state == PP_WORKER_BUSY) {
            busy++;
            CU_ASSERT_EQUAL(wi[i].pid, (uint64_t)f.c->pid[0]);
            CU_ASSERT_STRING_EQUAL(wi[i].task, "sv_gated");
            CU_ASSERT(wi[i].busy_ms >= 0);
        } else if (wi[i].state == PP_WORKER_IDLE) {
            idle++;
            CU_ASSERT_EQUAL(wi[i].busy_ms, -1);
            CU_ASSERT_STRING_EQUAL(wi[i].task, "");
        }
    }
    CU_ASSERT(busy == 1 && idle == 1 && wi[0].pid != wi[1].pid);
    PP_ASSERT_STATUS(pp_pool_get_stats(f.pool, &s), PP_OK);
    CU_ASSERT_EQUAL(s.health, PP_POOL_HEALTHY);
    CU_ASSERT(s.workers == 2 && s.ready == 2 && s.busy == 1 && s.starting == 0);
    CU_ASSERT_EQUAL(s.workers_started, 2);
    PP_ASSERT_STATUS(pp_pool_workers(f.pool, NULL, 0, &n), PP_OK);
    PP_ASSERT_STATUS(pp_pool_workers(f.pool, NULL, 1, &n), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_workers(NULL, wi, 3, &n), PP_EINVAL);
    PP_ASSERT_STATUS(pp_pool_get_stats(f.pool, NULL), PP_EINVAL);
    f.c->gate = 1;
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    pp_result_release(r);
    pp_values_destroy(one);
    fixture_close(&f);
}

/* A chunk whose results together exceed one message: they come back in
 * several messages, every item succeeds. */
static void t_chunk_results_over_one_message(void)
{
    pp_values *items = indices(3);
    pp_submit_options so;
    pp_result *r = NULL;
    const pp_values *v;
    const uint8_t *p;
    const void *data;
    pp_pool *pool = NULL;
    pp_pool_options o;
    size_t len;
    int i;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&pool, &o), PP_OK);
    memset(&so, 0, sizeof so);
    so.chunksize = 3;
    PP_ASSERT_STATUS_FATAL(pp_map(pool, sv_big, items, &so, &r), PP_OK);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS_FATAL(pp_result_item(r, (size_t)i, &v, NULL), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_get_bytes(v, 0, &data, &len), PP_OK);
        p = data;
        CU_ASSERT_EQUAL(len, BIG_RESULT);
        CU_ASSERT(p[0] == i + 1 && p[len - 1] == i + 1);
    }
    pp_result_release(r);
    pp_values_destroy(items);
    pp_pool_destroy(pool);
}

/* Run sv_rss(grow) and return its pid and resident bytes. */
static void rss_of(pp_pool *p, int64_t grow, int64_t *pid, int64_t *rss)
{
    pp_values *a = NULL, *res = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&a, "l", grow), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, sv_rss, a, &res, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_unpack(res, "ll", pid, rss), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(a);
}

/* A worker that grows past max_worker_memory is replaced after its task;
 * one below it is kept. */
static void t_recycle_by_memory(void)
{
    int64_t pid0, pid1, pid2, pid3, rss;
    pp_pool_options o;
    pp_pool_stats s;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    rss_of(p, 0, &pid0, &rss); /* how big a worker is to begin with */
    pp_pool_destroy(p);
    if (rss == 0) {
        CU_PASS("the OS does not tell a process's resident size");
        return;
    }
    o.max_worker_memory = (uint64_t)rss + ((uint64_t)48 << 20);
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    rss_of(p, 0, &pid0, &rss);
    rss_of(p, 0, &pid1, &rss);
    CU_ASSERT_EQUAL(pid0, pid1); /* below the limit: kept */
    rss_of(p, 1, &pid2, &rss);   /* grows by 96 MiB in this task */
    CU_ASSERT_EQUAL(pid2, pid1);
    CU_ASSERT((uint64_t)rss > o.max_worker_memory);
    rss_of(p, 0, &pid3, &rss);
    PP_ASSERT_MSG(pid3 != pid2, "the worker that grew past the limit was kept");
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &s), PP_OK);
    CU_ASSERT_EQUAL(s.worker_deaths, 0);
    pp_pool_destroy(p);
}

/* Workers idle for idle_timeout_ms exit, and come back with work. */
static void t_idle_timeout(void)
{
    pp_values *one = indices(1), *res = NULL;
    int64_t deadline;
    pp_pool_options o;
    pp_pool_stats s;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.idle_timeout_ms = 200;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    deadline = pp_test_now_ms() + WAIT_MS;
    do {
        pp_test_sleep_ms(20);
        PP_ASSERT_STATUS_FATAL(pp_pool_get_stats(p, &s), PP_OK);
    } while ((s.ready > 0 || s.starting > 0) && pp_test_now_ms() < deadline);
    PP_ASSERT_MSG(s.ready == 0 && s.starting == 0, "%d workers still up after idling", s.ready);
    CU_ASSERT_EQUAL(s.worker_deaths, 0);
    CU_ASSERT_EQUAL(s.health, PP_POOL_HEALTHY);
    PP_ASSERT_STATUS(pp_apply(p, sv_echo_index, one, &res, NULL), PP_OK);
    pp_values_destroy(res);
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &s), PP_OK);
    CU_ASSERT(s.workers_started >= 3);
    pp_values_destroy(one);
    pp_pool_destroy(p);
}

/* Sleeps 150 ms, then returns its index (a task the supervisor sees
 * running). */
static int sv_nap(pp_task *t)
{
    int64_t i = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &i) != PP_OK)
        return pp_task_fail(t, 2, "sv_nap expects an index");
    pp__plat_sleep_ms(150);
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_nap)

/* The largest start, idle and task timeouts (INT64_MAX ms) are no limit:
 * nothing is killed, no worker idles out, and the supervisor's deadlines
 * (start + timeout) do not overflow (signed overflow is undefined: the
 * UBSan build of this test aborts on it). */
static void t_huge_timeouts(void)
{
    pp_values *items = indices(4);
    pp_submit_options so;
    pp_result *r = NULL;
    pp_pool_options o;
    pp_pool_stats s;
    pp_pool *p = NULL;
    int64_t out[4];

    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_timeout_ms = INT64_MAX;
    o.idle_timeout_ms = INT64_MAX;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    so.timeout_ms = INT64_MAX;
    PP_ASSERT_STATUS(pp_map(p, sv_nap, items, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, 0, 0, 4, out, NULL), PP_OK);
    CU_ASSERT(out[0] == 0 && out[3] == 3);
    pp_result_release(r);
    pp_test_sleep_ms(300); /* idle workers: the idle deadline is looked at */
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &s), PP_OK);
    CU_ASSERT_EQUAL(s.worker_deaths, 0);
    CU_ASSERT_EQUAL(s.ready, 2);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/* The unobserved-failure report names the item and the code; terminated
 * work the caller gave up on is not reported. */
typedef struct log_lines {
    pp__plat_mtx *mu;
    int unobserved;
    char first[512];
} log_lines;

static void capture_line(pp_log_level level, const char *msg, void *ud)
{
    log_lines *l = ud;

    pp__plat_mtx_lock(l->mu);
    if (level == PP_LOG_ERROR && strstr(msg, "unobserved") != NULL && l->unobserved++ == 0)
        snprintf(l->first, sizeof l->first, "%s", msg);
    pp__plat_mtx_unlock(l->mu);
}

static int sv_fail_at_3(pp_task *t)
{
    int64_t i = 0;

    (void)pp_values_unpack(pp_task_args(t), "l", &i);
    if (i == 3)
        return pp_task_fail(t, 42, "item three fails");
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(sv_fail_at_3)

static void t_unobserved_report(void)
{
    pp_values *items = indices(5);
    pp_result *r = NULL;
    log_lines lines;
    fixture f;

    memset(&lines, 0, sizeof lines);
    PP_ASSERT_STATUS_FATAL(pp__plat_mtx_create(&lines.mu), PP_OK);
    pp_set_log_hook(capture_line, &lines, PP_LOG_WARN);
    fixture_open(&f, PP_START_DEFAULT, 2);
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_fail_at_3, items, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    pp_result_release(r); /* unobserved */
    CU_ASSERT_EQUAL(lines.unobserved, 1);
    PP_ASSERT_MSG(strstr(lines.first, "'sv_fail_at_3' (item 3 of 5)") != NULL &&
                      strstr(lines.first, "code 42") != NULL &&
                      strstr(lines.first, "item three fails") != NULL,
                  "report: %s", lines.first);
    /* work given up by terminating: no report */
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_gated, items, NULL, &r), PP_OK);
    pp_result_release(r);
    fixture_close(&f); /* terminate + destroy with the map pending */
    pp_set_log_hook(NULL, NULL, PP_LOG_WARN);
    PP_ASSERT_MSG(lines.unobserved == 1, "%d reports; the first: %s", lines.unobserved,
                  lines.first);
    pp__plat_mtx_destroy(lines.mu);
    pp_values_destroy(items);
}

/* The documented limits: PP_MAX_CHUNKSIZE is accepted, one more is not;
 * "." and ".." are not names. */
static void t_documented_limits(void)
{
    pp_values *items = indices(3);
    pp_submit_options so;
    pp_result *r = NULL;
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_lock *l = NULL;
    pp_shm *s = NULL;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.chunksize = (size_t)PP_MAX_CHUNKSIZE + 1;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_EINVAL);
    o.chunksize = PP_MAX_CHUNKSIZE;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    memset(&so, 0, sizeof so);
    so.chunksize = (size_t)PP_MAX_CHUNKSIZE + 1;
    PP_ASSERT_STATUS(pp_map(p, sv_echo_index, items, &so, &r), PP_EINVAL);
    so.chunksize = PP_MAX_CHUNKSIZE;
    PP_ASSERT_STATUS(pp_map(p, sv_echo_index, items, &so, &r), PP_OK);
    pp_result_release(r);
    pp_pool_destroy(p);
    PP_ASSERT_STATUS(pp_shm_create(".", 16, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_create("..", 16, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_shm_open("..", &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_create(".", &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_open("..", &l), PP_EINVAL);
    pp_values_destroy(items);
}

/* starmap takes what users have, without a cast: an array of pp_values *
 * (and of const pp_values *). With -Werror a missing conversion fails the
 * build of this file. */
static void t_starmap_without_cast(void)
{
    pp_values *argv[3];
    const pp_values *cargv[3];
    pp_result *r = NULL;
    pp_pool_options o;
    pp_pool *p = NULL;
    int i;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&argv[i], "l", (int64_t)i), PP_OK);
        cargv[i] = argv[i];
    }
    PP_ASSERT_STATUS(pp_starmap(p, sv_echo_index, argv, 3, NULL, &r), PP_OK);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_starmap_async(p, sv_echo_index, cargv, 3, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_result_successful(r), PP_OK);
    pp_result_release(r);
    for (i = 0; i < 3; i++)
        pp_values_destroy(argv[i]);
    pp_pool_destroy(p);
}

/* A task that returns the status a library call gave it fails with that
 * status, named in the message. */
static void t_returned_status_named(void)
{
    pp_pool *p = NULL;
    pp_error e;
    pp_pool_options o;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    memset(&e, 0, sizeof e);
    PP_ASSERT_STATUS(pp_apply(p, sv_too_big, NULL, NULL, &e), PP_ETOOBIG);
    CU_ASSERT_EQUAL(e.status, PP_ETOOBIG);
    CU_ASSERT_EQUAL(e.code, PP_ETOOBIG);
    PP_ASSERT_MSG(strstr(e.message, "PP_ETOOBIG") != NULL, "message: %s", e.message);
    pp_pool_destroy(p);
}

/*
 * Per-task timeout: the item that runs too long fails with PP_ETIMEDOUT
 * (its worker killed and replaced), every other item succeeds, once each,
 * in chunks of one item and inside one chunk of all items.
 */
static void check_timeout(int m, size_t chunksize)
{
    const int n = 6, hangs = 2;
    pp_submit_options so;
    pp_values *items = indices(n), *res = NULL;
    const pp_error *e;
    pp_result *r = NULL;
    fixture f;
    int i;

    fixture_open(&f, m, 2);
    f.c->hang_at = hangs;
    memset(&so, 0, sizeof so);
    so.chunksize = chunksize;
    so.timeout_ms = 300;
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_hang_at, items, &so, &r), PP_OK);
    PP_ASSERT_MSG(pp_result_wait(r, WAIT_MS) == PP_OK, "the map never finished");
    for (i = 0; i < n; i++) {
        pp_status st = pp_result_item(r, (size_t)i, NULL, &e);
        PP_ASSERT_MSG(f.c->runs[i] == 1, "item %d ran %d times", i, (int)f.c->runs[i]);
        if (i != hangs) {
            PP_ASSERT_MSG(st == PP_OK, "item %d: %s", i, pp_err_name(st));
            continue;
        }
        PP_ASSERT_STATUS(st, PP_ETIMEDOUT);
        if (e != NULL)
            PP_ASSERT_MSG(strstr(e->message, "sv_hang_at") != NULL &&
                              strstr(e->message, "300 ms") != NULL,
                          "message: %s", e->message);
    }
    pp_result_release(r);
    f.c->hang_at = -1;
    PP_ASSERT_STATUS(pp_apply(f.pool, sv_quick, items, &res, NULL), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(items);
    fixture_close(&f);
}

static void do_task_timeout(int m)
{
    check_timeout(m, 1);
    check_timeout(m, 6);
}

/*
 * Cancel: items running are stopped (their workers killed), queued and
 * sent-ahead items never run, every unfinished item is PP_ECANCELED at
 * once, and the pool goes on.
 */
static void do_cancel(int m)
{
    const int n = 20;
    pp_submit_options so;
    pp_values *items = indices(n), *res = NULL;
    pp_result *r = NULL;
    pp_iter *it = NULL;
    const pp_error *e;
    pp_pool_stats stats;
    int64_t deadline;
    size_t idx;
    fixture f;
    int i, canceled = 0;

    fixture_open(&f, m, 2);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_gated, items, &so, &r), PP_OK);
    CU_ASSERT_FATAL(started_pid(&f, 0) != 0 && started_pid(&f, 1) != 0);
    PP_ASSERT_STATUS(pp_result_cancel(r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, 0, NULL), PP_ECANCELED);
    for (i = 0; i < n; i++) {
        PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, NULL, &e), PP_ECANCELED);
        if (i >= 2)
            PP_ASSERT_MSG(f.c->runs[i] == 0, "item %d ran after the cancel", i);
    }
    PP_ASSERT_STATUS(pp_result_cancel(r), PP_OK); /* idempotent */
    pp_result_release(r);
    /* the pool goes on (the gate is still closed: the killed items' workers
     * would still be blocked if they had not been killed) */
    PP_ASSERT_STATUS(pp_apply(f.pool, sv_quick, items, &res, NULL), PP_OK);
    pp_values_destroy(res);
    /* the two workers the cancel stopped were replaced, and were not
     * deaths: the pool stopped them (pool.h, pp_pool_stats) */
    deadline = pp_test_now_ms() + WAIT_MS;
    do {
        PP_ASSERT_STATUS_FATAL(pp_pool_get_stats(f.pool, &stats), PP_OK);
        if (stats.workers_started >= 4)
            break;
        pp_test_sleep_ms(5);
    } while (pp_test_now_ms() < deadline);
    CU_ASSERT(stats.workers_started >= 4);
    PP_ASSERT_MSG(stats.worker_deaths == 0, "%llu worker deaths counted for a cancel",
                  (unsigned long long)stats.worker_deaths);

    /* an iterator: what is not finished comes out canceled */
    for (i = 0; i < MAX_ITEM; i++)
        f.c->runs[i] = f.c->pid[i] = 0;
    PP_ASSERT_STATUS_FATAL(pp_imap(f.pool, sv_gated, items, NULL, &it), PP_OK);
    CU_ASSERT_FATAL(started_pid(&f, 0) != 0);
    PP_ASSERT_STATUS(pp_iter_cancel(it), PP_OK);
    for (i = 0; i < n; i++) {
        pp_status st = pp_iter_next(it, WAIT_MS, &idx, NULL, &e);
        canceled += st == PP_ECANCELED;
    }
    CU_ASSERT_EQUAL(canceled, n);
    PP_ASSERT_STATUS(pp_iter_next(it, 0, &idx, NULL, &e), PP_EOF);
    pp_iter_release(it);
    PP_ASSERT_STATUS(pp_result_cancel(NULL), PP_EINVAL);
    pp_values_destroy(items);
    fixture_close(&f);
}

/* ------------------------------------------------ helper (zygote) death */

#define SHORT_MS (20000 * pp_test_timeout_mult())
#define MAX_PIDS 64

#ifndef _WIN32
/* Add the live children of parent to pids from `ps` (POSIX: -A, -o), for
 * systems without /proc (macOS). Returns 0, or -1 if ps could not run. */
static int add_children_ps(int64_t parent, int64_t *pids, int *n)
{
    FILE *p = popen("ps -A -o pid= -o ppid= -o stat=", "r");
    char line[256], st[32];
    long pid, ppid;

    if (p == NULL)
        return -1;
    while (fgets(line, sizeof line, p) != NULL) {
        if (*n < MAX_PIDS && sscanf(line, "%ld %ld %31s", &pid, &ppid, st) == 3 &&
            ppid == (long)parent && st[0] != 'Z')
            pids[(*n)++] = pid;
    }
    return pclose(p) == 0 ? 0 : -1;
}
#endif

/* Add the live children of pid to pids (from /proc where there is one,
 * else from ps): the helper's spare zygote and its workers. */
static void add_children(int64_t parent, int64_t *pids, int *n)
{
#if defined(__linux__)
    DIR *d = opendir("/proc");
    struct dirent *de;
    char path[300], buf[512], *rp;
    long ppid;

    if (d == NULL) {
        CU_ASSERT(add_children_ps(parent, pids, n) == 0);
        return;
    }
    while ((de = readdir(d)) != NULL && *n < MAX_PIDS) {
        FILE *f;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        buf[0] = '\0';
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = '\0';
        fclose(f);
        rp = strrchr(buf, ')'); /* the name may contain spaces and parens */
        if (rp != NULL && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)parent &&
            rp[2] != 'Z')
            pids[(*n)++] = atol(de->d_name);
    }
    closedir(d);
#elif !defined(_WIN32)
    CU_ASSERT(add_children_ps(parent, pids, n) == 0);
#else
    (void)parent;
    (void)pids;
    (void)n;
#endif
}

/* The pid of the process that forked the pool's workers, from a task;
 * 0 (after failing the test) if no task completed within SHORT_MS. */
static int64_t helper_pid(fixture *f)
{
    pp_values *none = NULL;
    const pp_values *v;
    pp_result *r = NULL;
    int64_t pid = 0;
    pp_status st;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&none), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f->pool, sv_ppid, none, NULL, &r), PP_OK);
    st = pp_result_get(r, SHORT_MS, &v);
    PP_ASSERT_MSG(st == PP_OK, "a task (asking for its worker's parent) did not complete: %s",
                  pp_err_name(st));
    if (st == PP_OK)
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &pid), PP_OK);
    pp_result_release(r);
    pp_values_destroy(none);
    return pid;
}

/*
 * The zygote (fork) or the fork server (forkserver) is killed from
 * outside while both workers run a task, three times in a row (fork: the
 * spare made by the first zygote, then the spare of that one). Each time
 * the two running tasks fail with PP_EWORKERDIED within a bounded wait,
 * and a task submitted afterwards completes (the pool is not broken: the
 * helper was restarted and forks the replacements). After terminate /
 * join / destroy no helper, spare or worker process is left.
 */
static void do_helper_killed(int m)
{
    int64_t pids[MAX_PIDS], helper, prev = 0;
    const pp_error *e;
    pp_values *items;
    pp_result *r;
    pp_submit_options so;
    int64_t deadline;
    int n = 0, round, i, alive;
    fixture f;

    fixture_open(&f, m, 2);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    helper = helper_pid(&f);
    for (round = 0; round < 3; round++) {
        PP_ASSERT_MSG_FATAL(helper > 0 && helper != (int64_t)pp__plat_getpid() && helper != prev,
                            "round %d: helper pid %lld (previous %lld)", round, (long long)helper,
                            (long long)prev);
        pids[n++] = helper;
        /* both workers busy with a task that waits for the gate */
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, 2 * round), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, 2 * round + 1), PP_OK);
        r = NULL;
        PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_gated, items, &so, &r), PP_OK);
        for (i = 0; i < 2; i++) {
            int64_t w = started_pid(&f, 2 * round + i);
            CU_ASSERT_FATAL(w != 0);
            pids[n++] = w;
        }
        pp_test_kill_pid(helper);
        PP_ASSERT_MSG(pp_result_wait(r, SHORT_MS) == PP_OK,
                      "round %d: tasks running when the helper was killed did not end", round);
        for (i = 0; i < 2; i++) {
            pp_status st = pp_result_item(r, (size_t)i, NULL, &e);
            PP_ASSERT_MSG(st == PP_EWORKERDIED, "round %d: running item %d: %s (%s)", round, i,
                          pp_err_name(st), e != NULL ? e->message : "");
        }
        pp_result_release(r);
        pp_values_destroy(items);
        prev = helper;
        helper = helper_pid(&f); /* the pool works: a new helper forked the worker */
    }
    PP_ASSERT_MSG_FATAL(helper > 0 && helper != prev, "last helper pid %lld", (long long)helper);
    pids[n++] = helper;
    add_children(helper, pids, &n); /* its spare (fork) and workers */
    fixture_close(&f);
    deadline = pp_test_now_ms() + 5000 * pp_test_timeout_mult();
    do {
        alive = 0;
        for (i = 0; i < n; i++)
            alive += pp_test_pid_alive(pids[i]);
        if (alive == 0)
            break;
        pp_test_sleep_ms(20);
    } while (pp_test_now_ms() < deadline);
    for (i = 0; i < n; i++)
        PP_ASSERT_MSG(!pp_test_pid_alive(pids[i]), "process %lld outlived the pool's destruction",
                      (long long)pids[i]);
}

/* Kills the helper (zygote / fork server) of the first worker that waits
 * in its initializer, waits for that worker to be gone, then lets the
 * initializers finish. */
typedef struct creating_kill {
    ctl *c;
    int64_t helper, worker;
    int fork, worker_gone;
} creating_kill;

static void kill_helper_of_held(void *arg)
{
    creating_kill *k = arg;
    int64_t deadline = pp_test_now_ms() + SHORT_MS;

    while ((k->c->init_pid == 0 || k->c->init_ppid == 0) && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    k->helper = k->c->init_ppid;
    k->worker = k->c->init_pid;
    if (k->helper != 0) {
        if (k->fork) {
            /* a zygote's spare is forked after the first workers: the
             * zygote dies alone once it has one (2 workers and the spare) */
            int64_t kids[MAX_PIDS];
            int n = 0;
            while (n < 3 && pp_test_now_ms() < deadline) {
                n = 0;
                add_children(k->helper, kids, &n);
                pp_test_sleep_ms(1);
            }
            pp_test_sleep_ms(50); /* its control message (SPARE) has been read */
        }
        pp_test_kill_pid(k->helper);
        while (pp_test_pid_alive(k->worker) && pp_test_now_ms() < deadline)
            pp_test_sleep_ms(1);
        k->worker_gone = !pp_test_pid_alive(k->worker);
    }
    k->c->init_mode = INIT_OK;
}

/*
 * The fork server (or the zygote, once its spare exists) is killed while
 * pp_pool_create waits for the first workers, which are in their
 * initializer: they die with it, killed from outside, which is retried
 * like any start killed from outside (README: "Starts killed from outside
 * are retried without limit"), not a start that failed on its own:
 * pp_pool_create succeeds, with workers from a new helper, and they run
 * tasks.
 */
static void do_helper_killed_while_creating(int m)
{
    pp_values *initargs = NULL, *one = indices(1), *res = NULL;
    pp_pool_options o;
    pp_test_thread *th;
    creating_kill k;
    pp_status st;
    fixture f;

    memset(&f, 0, sizeof f);
    memset(&k, 0, sizeof k);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(ctl), &f.shm), PP_OK);
    f.c = pp_shm_ptr(f.shm);
    f.c->init_mode = INIT_HOLD;
    k.c = f.c;
    k.fork = m == PP_START_FORK;
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&initargs, "m", f.shm), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)m;
    o.initializer = sv_init;
    o.initargs = initargs;
    th = pp_test_thread_start(kill_helper_of_held, &k);
    st = pp_pool_create(&f.pool, &o);
    pp_test_thread_join(th);
    pp_values_destroy(initargs);
    PP_ASSERT_MSG(k.helper != 0 && k.worker_gone,
                  "no worker waited in its initializer, or it outlived its helper (%lld)",
                  (long long)k.helper);
    PP_ASSERT_MSG(st == PP_OK, "pp_pool_create: %s after its helper %lld was killed",
                  pp_err_name(st), (long long)k.helper);
    if (st == PP_OK) {
        PP_ASSERT_STATUS(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
        pp_values_destroy(res);
        fixture_close(&f);
    } else {
        pp_shm_destroy(f.shm);
    }
    pp_values_destroy(one);
}

static void t_helper_killed_while_creating_fork(void)
{
    do_helper_killed_while_creating(PP_START_FORK);
}

static void t_helper_killed_while_creating_forkserver(void)
{
    do_helper_killed_while_creating(PP_START_FORKSERVER);
}

/*
 * The zygote / fork server is stopped (SIGSTOP: hung, as far as the pool
 * can tell) and a worker is killed, so the pool asks the stopped helper
 * for a replacement that never comes. No call hangs on it: destroy
 * returns in bounded time (the helper is taken for hung and killed), and
 * no process of the pool is left afterwards.
 */
static void do_helper_stopped(int m)
{
    pp_values *one = indices(1), *res = NULL;
    int64_t pids[MAX_PIDS], helper, deadline, start;
    int n = 0, i, alive;
    pp_result *r = NULL;
    fixture f;

    fixture_open(&f, m, 2);
    helper = helper_pid(&f);
    PP_ASSERT_MSG_FATAL(helper > 0 && helper != self_pid(), "helper pid %lld", (long long)helper);
    PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_quick, one, &res, NULL), PP_OK);
    pp_values_destroy(res);
    pids[n++] = helper;
    add_children(helper, pids, &n); /* its workers (and the zygote's spare) */
#ifndef _WIN32
    CU_ASSERT_FATAL(kill((pid_t)helper, SIGSTOP) == 0);
#endif
    pp_test_kill_pid(f.c->pid[0]); /* its replacement is asked of the stopped helper */
    pp_test_sleep_ms(300);
    /* a task: it may go to the dead worker first (its end is reported by
     * the stopped helper, so its death takes a while to be settled) */
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_quick, one, NULL, &r), PP_OK);
    (void)pp_result_wait(r, 10000);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_close(f.pool), PP_OK);
    (void)pp_pool_join(f.pool, 10000);
    start = pp_test_now_ms();
    pp_pool_destroy(f.pool); /* hangs if the pool waits for the helper */
    PP_ASSERT_MSG(pp_test_now_ms() - start < WAIT_MS, "pp_pool_destroy took %lld ms",
                  (long long)(pp_test_now_ms() - start));
    pp_shm_destroy(f.shm);
    deadline = pp_test_now_ms() + 5000 * pp_test_timeout_mult();
    do {
        alive = 0;
        for (i = 0; i < n; i++)
            alive += pp_test_pid_alive(pids[i]);
        if (alive == 0)
            break;
        pp_test_sleep_ms(20);
    } while (pp_test_now_ms() < deadline);
    for (i = 0; i < n; i++)
        PP_ASSERT_MSG(!pp_test_pid_alive(pids[i]), "process %lld outlived the pool's destruction",
                      (long long)pids[i]);
#ifndef _WIN32
    (void)kill((pid_t)helper, SIGCONT);
#endif
    pp_values_destroy(one);
}

static void t_helper_stopped_fork(void)
{
    do_helper_stopped(PP_START_FORK);
}

static void t_helper_stopped_forkserver(void)
{
    do_helper_stopped(PP_START_FORKSERVER);
}

/* Kills each new child process of this one (a starting spawn worker, or
 * its fork-before-exec child) 0-3 ms after it shows, max_kills in all. */
typedef struct newborn_kill {
    int64_t seen[MAX_PIDS];
    int nseen, kills, max_kills;
    volatile int stop;
    unsigned seed;
} newborn_kill;

static void kill_newborns(void *arg)
{
    newborn_kill *k = arg;
    int64_t kids[MAX_PIDS];
    int n, i, j, known;

    while (!k->stop && k->kills < k->max_kills) {
        n = 0;
        add_children((int64_t)pp__plat_getpid(), kids, &n);
        for (i = 0; i < n && k->kills < k->max_kills; i++) {
            for (known = 0, j = 0; j < k->nseen && !known; j++)
                known = k->seen[j] == kids[i];
            if (known || k->nseen >= MAX_PIDS)
                continue;
            k->seen[k->nseen++] = kids[i];
            k->seed = k->seed * 1103515245u + 12345u;
            pp_test_sleep_ms((int64_t)((k->seed >> 16) % 4));
            pp_test_kill_pid(kids[i]);
            k->kills++;
        }
        pp_test_sleep_ms(0);
    }
}

/*
 * Spawned workers killed from outside while they start — before their
 * exec, before they took the HELLO, in their first steps — are starts
 * killed from outside, retried without limit (README): pp_pool_create
 * succeeds every time. A worker killed before the parent wrote its HELLO
 * used to count as a start that failed on its own (the write's EPIPE), and
 * broke the pool being created with PP_ESPAWN.
 */
static void t_spawn_starts_killed(void)
{
    pp_values *one = indices(1), *res = NULL;
    pp_pool_options o;
    pp_lock *warm = NULL;
    int it, bad = 0;

    /* the resource tracker is up before the children are watched */
    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &warm), PP_OK);
    for (it = 0; it < 20; it++) {
        newborn_kill k;
        pp_test_thread *th;
        pp_pool *p = NULL;
        pp_status st;

        memset(&k, 0, sizeof k);
        add_children((int64_t)pp__plat_getpid(), k.seen, &k.nseen);
        k.max_kills = 2;
        k.seed = (unsigned)it * 2654435761u;
        memset(&o, 0, sizeof o);
        o.processes = 2;
        o.start_method = PP_START_SPAWN;
        th = pp_test_thread_start(kill_newborns, &k);
        st = pp_pool_create(&p, &o);
        k.stop = 1;
        pp_test_thread_join(th);
        if (st != PP_OK) {
            bad++;
            PP_ASSERT_MSG(0, "round %d: pp_pool_create: %s after %d kills", it, pp_err_name(st),
                          k.kills);
            continue;
        }
        PP_ASSERT_STATUS(pp_apply(p, sv_echo_index, one, &res, NULL), PP_OK);
        pp_values_destroy(res);
        res = NULL;
        PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
        PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
        pp_pool_destroy(p);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_lock_destroy(warm);
    pp_values_destroy(one);
}

static void t_helper_killed_fork(void)
{
    do_helper_killed(PP_START_FORK);
}

static void t_helper_killed_forkserver(void)
{
    do_helper_killed(PP_START_FORKSERVER);
}

/* A live child of parent that is not in known[0..n), waiting up to
 * SHORT_MS for one to appear; 0 if none (or no /proc). */
static int64_t other_child(int64_t parent, const int64_t *known, int nknown)
{
    int64_t deadline = pp_test_now_ms() + SHORT_MS;
    int64_t kids[MAX_PIDS];
    int n, i, j;

    do {
        n = 0;
        add_children(parent, kids, &n);
        for (i = 0; i < n; i++) {
            for (j = 0; j < nknown && known[j] != kids[i]; j++) {
            }
            if (j == nknown)
                return kids[i];
        }
        pp_test_sleep_ms(5);
    } while (pp_test_now_ms() < deadline);
    return 0;
}

/* None of pids[0..n) may be alive now: no wait (join and destroy return
 * after every process of the pool has ended). */
static void check_none_alive(const int64_t *pids, int n, const char *when)
{
    int i;

    for (i = 0; i < n; i++)
        PP_ASSERT_MSG(!pp_test_pid_alive(pids[i]), "process %lld is still alive %s",
                      (long long)pids[i], when);
}

/* The pool's processes: its workers (from the items they ran) and, for
 * fork and forkserver, the helper that forked them and its children (the
 * spare zygote). */
static int pool_processes(fixture *f, int m, int64_t *pids)
{
    pp_values *items = indices(4);
    pp_result *r = NULL;
    int i, j, n = 0;

    PP_ASSERT_STATUS_FATAL(pp_map_async(f->pool, sv_quick, items, NULL, &r), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    pp_result_release(r);
    pp_values_destroy(items);
    for (i = 0; i < 4; i++) {
        for (j = 0; j < n && pids[j] != f->c->pid[i]; j++) {
        }
        if (j == n)
            pids[n++] = f->c->pid[i];
    }
    if (m != PP_START_SPAWN) {
        pids[n] = helper_pid(f);
        CU_ASSERT_FATAL(pids[n] > 0);
        n++;
        add_children(pids[n - 1], pids, &n);
    }
    return n;
}

/*
 * Join and destroy end every process of the pool before they return: the
 * workers, and for fork and forkserver the helper and its spare, whether
 * the pool was closed (the helper is retired while the last workers
 * quit) or destroyed at once, and for a pool destroyed right after its
 * creation. The leak check after the test sees no child process, fd or
 * shm block left.
 */
static void do_join_ends_every_process(int m)
{
    int64_t pids[MAX_PIDS];
    fixture f;
    int n, round;

    for (round = 0; round < 3; round++) {
        fixture_open(&f, m, 2);
        n = pool_processes(&f, m, pids);
        CU_ASSERT_FATAL(n >= 1);
        if (round == 0) {
            PP_ASSERT_STATUS(pp_pool_close(f.pool), PP_OK);
            PP_ASSERT_STATUS(pp_pool_join(f.pool, WAIT_MS), PP_OK);
            check_none_alive(pids, n, "after close and join");
        } else if (round == 1) {
            PP_ASSERT_STATUS(pp_pool_terminate(f.pool), PP_OK);
            PP_ASSERT_STATUS(pp_pool_join(f.pool, WAIT_MS), PP_OK);
            check_none_alive(pids, n, "after terminate and join");
        }
        pp_pool_destroy(f.pool);
        check_none_alive(pids, n, "after destroy");
        pp_shm_destroy(f.shm);
    }
    for (round = 0; round < 3; round++) {
        fixture_open(&f, m, 2); /* no task: destroyed while just created */
        pp_pool_destroy(f.pool);
        pp_shm_destroy(f.shm);
    }
}
PP_TEST_PER_METHOD(join_ends_every_process)

/* Fork pool of 2 whose workers both run a gated task (items 0 and 1):
 * pids[0] the zygote, pids[1..2] the workers, pids[3] its spare. */
static pp_result *busy_fork_pool(fixture *f, int64_t *pids)
{
    pp_submit_options so;
    pp_values *items = indices(2);
    pp_result *r = NULL;

    fixture_open(f, PP_START_FORK, 2);
    pids[0] = helper_pid(f);
    CU_ASSERT_FATAL(pids[0] > 0);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    PP_ASSERT_STATUS_FATAL(pp_map_async(f->pool, sv_gated, items, &so, &r), PP_OK);
    pids[1] = started_pid(f, 0);
    pids[2] = started_pid(f, 1);
    CU_ASSERT_FATAL(pids[1] != 0 && pids[2] != 0);
    pids[3] = other_child(pids[0], pids + 1, 2);
    PP_ASSERT_MSG_FATAL(pids[3] != 0, "the zygote %lld has no spare", (long long)pids[0]);
    pp_values_destroy(items);
    return r;
}

/* The running items of r failed with PP_EWORKERDIED within SHORT_MS. */
static void check_running_failed(pp_result *r)
{
    const pp_error *e;
    size_t i;

    PP_ASSERT_MSG(pp_result_wait(r, SHORT_MS) == PP_OK,
                  "tasks running when the zygote was killed did not end");
    for (i = 0; i < 2; i++) {
        pp_status st = pp_result_item(r, i, NULL, &e);
        PP_ASSERT_MSG(st == PP_EWORKERDIED, "running item %d: %s", (int)i, pp_err_name(st));
    }
    pp_result_release(r);
}

/* Close the pool; none of pids[0..n) may be alive after a bounded wait. */
static void close_and_check_gone(fixture *f, const int64_t *pids, int n)
{
    int64_t deadline;
    int i, alive;

    fixture_close(f);
    deadline = pp_test_now_ms() + 5000 * pp_test_timeout_mult();
    do {
        alive = 0;
        for (i = 0; i < n; i++)
            alive += pp_test_pid_alive(pids[i]);
        if (alive == 0)
            break;
        pp_test_sleep_ms(20);
    } while (pp_test_now_ms() < deadline);
    for (i = 0; i < n; i++)
        PP_ASSERT_MSG(!pp_test_pid_alive(pids[i]), "process %lld outlived the pool's destruction",
                      (long long)pids[i]);
}

/*
 * Fork (the spare is found among the zygote's children: /proc, or ps):
 * the zygote's spare is killed; the zygote forks a new one. Then the
 * zygote is killed: the running tasks fail, and the next task runs in a
 * worker of the new spare (it became the zygote). Nothing is left after
 * destroy.
 */
static void t_spare_killed_fork(void)
{
    int64_t pids[MAX_PIDS];
    pp_result *r;
    fixture f;
    int n = 4;

    r = busy_fork_pool(&f, pids);
    pp_test_kill_pid(pids[3]);
    pids[n] = other_child(pids[0], pids + 1, 3); /* not a worker, not the dead spare */
    PP_ASSERT_MSG_FATAL(pids[n] != 0, "the zygote did not replace its killed spare");
    n++;
    pp_test_kill_pid(pids[0]);
    check_running_failed(r);
    pids[n] = helper_pid(&f);
    PP_ASSERT_MSG(pids[n] == pids[n - 1], "new zygote %lld, expected the spare %lld",
                  (long long)pids[n], (long long)pids[n - 1]);
    n++;
    add_children(pids[n - 1], pids, &n);
    close_and_check_gone(&f, pids, n);
}

/*
 * Fork: the zygote and its spare die together (the zygote is stopped
 * first, so it cannot fork another spare in between). No process holds
 * the program's state of the pool's creation any more: the running tasks
 * fail, later work fails with PP_ESPAWN's reason instead of hanging, and
 * the pool is torn down cleanly.
 */
static void t_zygote_and_spare_killed_fork(void)
{
    int64_t pids[MAX_PIDS];
    pp_values *one = indices(1);
    const pp_error *e = NULL;
    pp_result *r;
    pp_status st;
    fixture f;

    r = busy_fork_pool(&f, pids);
#ifndef _WIN32
    CU_ASSERT_EQUAL_FATAL(kill((pid_t)pids[0], SIGSTOP), 0);
#endif
    pp_test_kill_pid(pids[3]);
    pp_test_kill_pid(pids[0]);
    check_running_failed(r);
    r = NULL;
    st = pp_apply_async(f.pool, sv_quick, one, NULL, &r);
    if (st == PP_OK) {
        st = pp_result_wait(r, SHORT_MS);
        PP_ASSERT_MSG(st == PP_OK, "a task with no zygote left never ended: %s", pp_err_name(st));
        st = pp_result_item(r, 0, NULL, &e);
        PP_ASSERT_MSG(st == PP_OK || (e != NULL && strstr(e->message, "spare") != NULL),
                      "the failure does not say why: %s", e != NULL ? e->message : "(none)");
        pp_result_release(r);
    }
    PP_ASSERT_MSG(st != PP_OK, "a task ran with neither zygote nor spare left");
    pp_values_destroy(one);
    close_and_check_gone(&f, pids, 4);
}

#ifndef _WIN32
/* Every item of a map of sv_fork_handled ran in a worker whose own fork
 * ran the program's fork child handlers. */
static void check_fork_handled(fixture *f, int round)
{
    pp_submit_options so;
    pp_values *items = indices(8);
    const pp_values *v;
    pp_result *r = NULL;
    int64_t x;
    size_t i;

    memset(&so, 0, sizeof so);
    so.chunksize = 1; /* both workers take items */
    PP_ASSERT_STATUS_FATAL(pp_map_async(f->pool, sv_fork_handled, items, &so, &r), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < 8; i++) {
        v = NULL;
        x = -1;
        PP_ASSERT_STATUS(pp_result_item(r, i, &v, NULL), PP_OK);
        if (v != NULL)
            PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
        PP_ASSERT_MSG(x == 1, "round %d, item %d: its worker's fork ran no fork child handler",
                      round, (int)i);
    }
    pp_result_release(r);
    pp_values_destroy(items);
}
#endif

/*
 * Fork: every worker's own fork runs the program's fork handlers
 * (pthread_atfork; e.g. a library that reseeds its random generator
 * there must not give two workers one stream), also in the workers of a
 * spare that became the zygote (the spare itself may be forked without
 * them: it runs no code of the program) and of that one's spare. Three
 * rounds: the first zygote, then twice the spare of the zygote killed
 * while both workers ran a task. Nothing is left after destroy.
 */
static void t_fork_handlers_in_every_worker(void)
{
#ifndef _WIN32
    int64_t pids[MAX_PIDS], helper, prev = 0;
    pp_submit_options so;
    pp_values *items;
    pp_result *r;
    int n = 0, round, i;
    fixture f;

    PP_ASSERT_MSG_FATAL(pthread_atfork(NULL, NULL, sv_on_fork_child) == 0, "pthread_atfork");
    fixture_open(&f, PP_START_FORK, 2);
    memset(&so, 0, sizeof so);
    so.chunksize = 1;
    helper = helper_pid(&f);
    for (round = 0; round < 3; round++) {
        PP_ASSERT_MSG_FATAL(helper > 0 && helper != prev,
                            "round %d: helper pid %lld (previous %lld)", round, (long long)helper,
                            (long long)prev);
        pids[n++] = helper;
        check_fork_handled(&f, round);
        if (round == 2)
            break;
        /* both workers busy (so no new task goes to a worker dying with
         * the zygote), then the zygote killed: its spare takes over */
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, 2 * round), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, 2 * round + 1), PP_OK);
        r = NULL;
        PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_gated, items, &so, &r), PP_OK);
        for (i = 0; i < 2; i++) {
            int64_t w = started_pid(&f, 2 * round + i);
            CU_ASSERT_FATAL(w != 0);
            pids[n++] = w;
        }
        pp_test_kill_pid(helper);
        PP_ASSERT_MSG(pp_result_wait(r, SHORT_MS) == PP_OK,
                      "round %d: tasks running when the zygote was killed did not end", round);
        for (i = 0; i < 2; i++)
            PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, NULL, NULL), PP_EWORKERDIED);
        pp_result_release(r);
        pp_values_destroy(items);
        prev = helper;
        helper = helper_pid(&f); /* a worker of the promoted spare */
    }
    add_children(helper, pids, &n); /* its spare and workers */
    close_and_check_gone(&f, pids, n);
#endif
}

/*
 * A kill storm: while a map runs, a worker is killed every 20 ms. The map
 * finishes; every item either succeeded with the right value or failed
 * with PP_EWORKERDIED; no item ran twice, a succeeded item ran exactly
 * once, and no more items failed than workers died.
 */
static void do_kill_storm(int m)
{
    const int n = 1500;
    pp_submit_options so;
    pp_values *items = indices(n);
    pp_worker_info wi[2];
    pp_pool_stats stats;
    const pp_values *v;
    pp_result *r = NULL;
    size_t nw, k;
    int64_t x, deadline;
    fixture f;
    int i, ok = 0, died = 0, kills = 0;

    fixture_open(&f, m, 2);
    f.c->slow_us = 2000;
    memset(&so, 0, sizeof so);
    so.chunksize = 7;
    PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_storm, items, &so, &r), PP_OK);
    deadline = pp_test_now_ms() + WAIT_MS;
    while (pp_result_wait(r, 20) == PP_ETIMEDOUT && pp_test_now_ms() < deadline) {
        if (pp_pool_workers(f.pool, wi, 2, &nw) != PP_OK)
            break;
        k = (size_t)(kills % 2);
        if (wi[k].state == PP_WORKER_BUSY && wi[k].pid != 0) {
#ifndef _WIN32
            /* it may have ended since it was listed: ESRCH is fine */
            (void)kill((pid_t)wi[k].pid, SIGKILL);
#endif
            kills++;
        }
    }
    PP_ASSERT_STATUS_FATAL(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < n; i++) {
        pp_status st = pp_result_item(r, (size_t)i, &v, NULL);
        PP_ASSERT_MSG(f.c->runs[i] <= 1, "item %d ran %d times", i, (int)f.c->runs[i]);
        if (st == PP_OK) {
            ok++;
            CU_ASSERT(pp_values_get_int(v, 0, &x) == PP_OK && x == (int64_t)i * 3);
            PP_ASSERT_MSG(f.c->runs[i] == 1, "item %d succeeded without running", i);
        } else {
            PP_ASSERT_MSG(st == PP_EWORKERDIED, "item %d: %s", i, pp_err_name(st));
            died++;
        }
    }
    /* each worker death fails at most the one item it was running */
    PP_ASSERT_STATUS(pp_pool_get_stats(f.pool, &stats), PP_OK);
    PP_ASSERT_MSG((uint64_t)died <= stats.worker_deaths,
                  "%d items failed for %llu deaths (%d kills)", died,
                  (unsigned long long)stats.worker_deaths, kills);
    CU_ASSERT(kills > 0 && ok + died == n);
    pp_result_release(r);
    f.c->slow_us = 0;
    pp_values_destroy(items);
    fixture_close(&f);
}

/* Workers do not share a rand() sequence (Python reseeds after fork). */
static void do_workers_seeded(int m)
{
    int64_t first[2] = {0, 0}, pids[2] = {0, 0}, v, pid;
    pp_values *res = NULL;
    int64_t deadline = pp_test_now_ms() + WAIT_MS;
    pp_result *block = NULL;
    pp_values *one = indices(1);
    fixture f;

    srand(12345); /* the parent's own sequence: forked workers would copy it */
    fixture_open(&f, m, 2);
    /* one worker busy, so the other runs sv_first_rand; then the reverse */
    PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_gated, one, NULL, &block), PP_OK);
    CU_ASSERT_FATAL(started_pid(&f, 0) != 0);
    PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_first_rand, NULL, &res, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_unpack(res, "ll", &first[0], &pids[0]), PP_OK);
    pp_values_destroy(res);
    f.c->gate = 1;
    PP_ASSERT_STATUS(pp_result_get(block, WAIT_MS, NULL), PP_OK);
    pp_result_release(block);
    /* now run it until the other worker answers */
    while (pids[1] == 0 && pp_test_now_ms() < deadline) {
        PP_ASSERT_STATUS_FATAL(pp_apply(f.pool, sv_first_rand, NULL, &res, NULL), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_unpack(res, "ll", &v, &pid), PP_OK);
        pp_values_destroy(res);
        if (pid != pids[0]) {
            pids[1] = pid;
            first[1] = v;
        }
    }
    CU_ASSERT_FATAL(pids[1] != 0);
    PP_ASSERT_MSG(first[0] != first[1], "both workers' first rand() was %lld", (long long)first[0]);
    pp_values_destroy(one);
    fixture_close(&f);
}

/*
 * Cancelling job j must not kill a worker that has finished j's chunk and
 * runs another job's (j's result still on its way to the parent): the
 * other job's item succeeds. (It failed with PP_EWORKERDIED in most of 30
 * rounds when cancel judged "running" by the oldest chunk in flight.)
 */
static void do_cancel_spares_other_jobs(int m)
{
    pp_values *one = indices(1), *none = NULL;
    pp_result *j = NULL, *k = NULL;
    const pp_error *e;
    int64_t deadline;
    fixture f;
    int round, bad = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&none), PP_OK);
    fixture_open(&f, m, 1);
    for (round = 0; round < 30; round++) {
        f.c->moved_on = 0;
        PP_ASSERT_STATUS_FATAL(pp_apply_async(f.pool, sv_short_big, none, NULL, &j), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_map_async(f.pool, sv_long, one, NULL, &k), PP_OK);
        deadline = pp_test_now_ms() + WAIT_MS;
        while (!f.c->moved_on && pp_test_now_ms() < deadline)
            ; /* spin: the window is the reader's time on j's 8 MiB result */
        PP_ASSERT_STATUS(pp_result_cancel(j), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait(k, WAIT_MS), PP_OK);
        if (pp_result_item(k, 0, NULL, &e) != PP_OK) {
            bad++;
            PP_ASSERT_MSG(0, "round %d: the other job's item failed: %s", round,
                          e != NULL ? e->message : "?");
        }
        (void)pp_result_successful(j); /* observed: canceled or done */
        pp_result_release(j);
        pp_result_release(k);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_values_destroy(none);
    pp_values_destroy(one);
    fixture_close(&f);
}

PP_TEST_PER_METHOD(cancel_spares_other_jobs)
PP_TEST_PER_METHOD(workers_seeded)
PP_TEST_PER_METHOD(kill_storm)
PP_TEST_PER_METHOD(task_timeout)
PP_TEST_PER_METHOD(cancel)
PP_TEST_PER_METHOD(killed_starts_are_retried)
PP_TEST_PER_METHOD(crash_loop_breaks_pool)
PP_TEST_PER_METHOD(start_timeout)
PP_TEST_PER_METHOD(stats_and_workers)
/* The task's worker exits at once. */
static int sv_exit_now(pp_task *t)
{
    (void)t;
    fflush(stdout);
    _Exit(3);
}
PP_TASK_REGISTER(sv_exit_now)

/* A worker dies and the program closes, joins and destroys the pool at
 * once, while the supervisor may be starting the replacement: join must
 * wait for that start, and the replacement be reaped with the pool. The
 * test's leak check (no /dev/shm entry, fd or child process left) fails
 * otherwise; it used to, about one round in six. */
static void do_close_while_replacing(int m)
{
    int round;

    for (round = 0; round < 12; round++) {
        pp_pool_options o;
        pp_values *args = NULL;
        pp_pool *p = NULL;

        memset(&o, 0, sizeof o);
        o.processes = 1;
        o.start_method = (pp_start_method)m;
        PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
        PP_ASSERT_STATUS(pp_apply(p, sv_exit_now, args, NULL, NULL), PP_EWORKERDIED);
        pp_values_destroy(args);
        PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
        PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
        pp_pool_destroy(p);
    }
}

PP_TEST_PER_METHOD(broken_pool_fails_everything)
PP_TEST_PER_METHOD(partial_chunk_keeps_results)
PP_TEST_PER_METHOD(lazy_chunk_worker_dies)
PP_TEST_PER_METHOD(sent_to_dead_worker_runs_elsewhere)
PP_TEST_PER_METHOD(no_stall_behind_busy_worker)
PP_TEST_PER_METHOD(close_while_replacing)

/* One test per line. */
#if defined(__linux__)
/*
 * A fork pool's first workers get their HELLO from the zygote, with an
 * unnamed control block each, made before the zygote (supervisor.c,
 * pp__first_launcher_create). Fork handlers of the program make the first
 * worker the zygote forks die inside its fork (before the pool can take
 * it), or kill the zygote as it forks its second worker (after the first,
 * before the spare: a spare is forked after the first workers, without
 * fork handlers). g_first_kill: a shared page (every process must see
 * it): the test's pid, how many workers ran the child handler, the mode,
 * the first worker's pid and the zygote's.
 */
static volatile int64_t *g_first_kill;
enum { FK_PARENT, FK_COUNT, FK_MODE, FK_VICTIM, FK_ZYGOTE, FK_SLOTS };
enum { FK_WORKER = 1, FK_ZYGOTE_DIES = 2 };

static void sv_first_kill_child(void)
{
    if (g_first_kill == NULL || (int64_t)getppid() == g_first_kill[FK_PARENT])
        return; /* not a worker: a zygote (or another child of the test) */
    if (__atomic_fetch_add(&g_first_kill[FK_COUNT], 1, __ATOMIC_SEQ_CST) != 0)
        return; /* not the first worker */
    g_first_kill[FK_VICTIM] = (int64_t)getpid();
    if (g_first_kill[FK_MODE] == FK_WORKER)
        (void)kill(getpid(), SIGKILL);
}

/* Before a fork in a zygote (the test's own forks are left alone): note
 * the zygote; FK_ZYGOTE_DIES: its second fork is not done. */
static void sv_first_kill_prepare(void)
{
    static int forks; /* this process's */

    if (g_first_kill == NULL || (int64_t)getpid() == g_first_kill[FK_PARENT])
        return;
    if (g_first_kill[FK_ZYGOTE] == 0)
        g_first_kill[FK_ZYGOTE] = (int64_t)getpid(); /* the first zygote */
    if (++forks == 2 && g_first_kill[FK_MODE] == FK_ZYGOTE_DIES)
        (void)kill(getpid(), SIGKILL);
}

/* Shared anonymous mappings in this process (/dev/zero (deleted)): the
 * unnamed control blocks among them. -1 if /proc cannot be read. */
static int unnamed_blocks(void)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, " rw-s ") != NULL && strstr(line, "/dev/zero") != NULL)
            n++;
    }
    fclose(f);
    return n;
}

static void first_kill_setup(int mode)
{
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    PP_ASSERT_MSG_FATAL(page != MAP_FAILED, "mmap of the shared page");
    g_first_kill = page;
    g_first_kill[FK_PARENT] = (int64_t)getpid();
    g_first_kill[FK_MODE] = mode;
    PP_ASSERT_MSG_FATAL(pthread_atfork(sv_first_kill_prepare, NULL, sv_first_kill_child) == 0,
                        "pthread_atfork");
}

static void first_kill_gone(void)
{
    int64_t pids[2];

    pids[0] = g_first_kill[FK_VICTIM];
    pids[1] = g_first_kill[FK_ZYGOTE];
    PP_ASSERT_MSG(pids[0] > 0 && pids[1] > 0, "the fork child handler did not run in a worker");
    if (pids[0] > 0 && pids[1] > 0) {
        int64_t deadline = pp_test_now_ms() + 5000 * pp_test_timeout_mult();
        while ((pp_test_pid_alive(pids[0]) ||
                (g_first_kill[FK_MODE] == FK_ZYGOTE_DIES && pp_test_pid_alive(pids[1]))) &&
               pp_test_now_ms() < deadline)
            pp_test_sleep_ms(20);
        PP_ASSERT_MSG(!pp_test_pid_alive(pids[0]), "the killed worker %lld is still there",
                      (long long)pids[0]);
        if (g_first_kill[FK_MODE] == FK_ZYGOTE_DIES)
            PP_ASSERT_MSG(!pp_test_pid_alive(pids[1]), "the killed zygote %lld is still there",
                          (long long)pids[1]);
    }
}
#endif

/* The first worker dies inside its fork, before the pool takes it (its
 * HELLO and unnamed control block unused): the pool starts anyway, with a
 * replacement, every item runs, and after destroy no control block is
 * left mapped here (nor a process, descriptor or name: the leak check). */
static void t_first_worker_killed_at_fork(void)
{
#if defined(__linux__)
    pp_pool_options o;
    pp_values *items;
    const pp_values *v;
    pp_result *r = NULL;
    pp_pool *pool = NULL;
    int before, i;
    int64_t x;
    pp_status st;

    first_kill_setup(FK_WORKER); /* its page is one too */
    before = unnamed_blocks();
    PP_ASSERT_MSG_FATAL(before >= 1, "/proc/self/maps");
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = PP_START_FORK;
    st = pp_pool_create(&pool, &o);
    PP_ASSERT_STATUS_FATAL(st, PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < 6; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i), PP_OK);
    PP_ASSERT_STATUS(pp_map(pool, sv_echo_index, items, NULL, &r), PP_OK);
    for (i = 0; r != NULL && i < 6; i++) {
        x = -1;
        v = NULL;
        PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, &v, NULL), PP_OK);
        if (v != NULL)
            PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
        CU_ASSERT_EQUAL(x, i);
    }
    pp_result_release(r);
    pp_values_destroy(items);
    pp_pool_close(pool);
    PP_ASSERT_STATUS(pp_pool_join(pool, WAIT_MS), PP_OK);
    pp_pool_destroy(pool);
    first_kill_gone();
    PP_ASSERT_MSG(unnamed_blocks() == before, "%d unnamed blocks mapped after destroy, %d before",
                  unnamed_blocks(), before);
#endif
}

/* The zygote is killed as it forks its second worker, before it has
 * forked its spare: no process holds the program's state any more, so
 * pp_pool_create fails cleanly (PP_ESPAWN), in bounded time, leaving
 * nothing behind (the first worker died with its zygote). */
static void t_zygote_killed_at_first_fork(void)
{
#if defined(__linux__)
    pp_pool_options o;
    pp_pool *pool = NULL;
    int before;
    int64_t t0;
    pp_status st;

    first_kill_setup(FK_ZYGOTE_DIES); /* its page is one too */
    before = unnamed_blocks();
    PP_ASSERT_MSG_FATAL(before >= 1, "/proc/self/maps");
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = PP_START_FORK;
    t0 = pp_test_now_ms();
    st = pp_pool_create(&pool, &o);
    PP_ASSERT_STATUS(st, PP_ESPAWN);
    CU_ASSERT(pool == NULL);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < WAIT_MS, "pp_pool_create took %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    if (st == PP_OK) {
        pp_pool_terminate(pool);
        (void)pp_pool_join(pool, WAIT_MS);
        pp_pool_destroy(pool);
    }
    first_kill_gone();
    PP_ASSERT_MSG(unnamed_blocks() == before,
                  "%d unnamed blocks mapped after a failed create, "
                  "%d before",
                  unnamed_blocks(), before);
#endif
}

#if defined(__linux__)
/* In a worker: its pid, its zygote's and how many unnamed blocks it has
 * mapped (a short sleep lets the other workers take items too). */
static int sv_blocks_here(pp_task *t)
{
    pp_values *r = pp_task_result(t);
    pp_status st;

    pp_test_sleep_ms(20);
    st = pp_values_add_int(r, (int64_t)getpid());
    if (st == PP_OK)
        st = pp_values_add_int(r, (int64_t)getppid());
    if (st == PP_OK)
        st = pp_values_add_int(r, unnamed_blocks());
    return st;
}
PP_TASK_REGISTER(sv_blocks_here)

/* Shared anonymous mappings of another process; -1 if unreadable. */
static int unnamed_blocks_of(int64_t pid)
{
    char path[64], line[512];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "/proc/%lld/maps", (long long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, " rw-s ") != NULL && strstr(line, "/dev/zero") != NULL)
            n++;
    }
    fclose(f);
    return n;
}
#endif

/* A fork pool's first workers' unnamed control blocks are each mapped in
 * its own worker only: a worker has the test's blocks (inherited) and its
 * own, the zygote and the other children it forks (the spare) none of
 * them; after destroy none is left here. */
static void t_first_blocks_only_own(void)
{
#if defined(__linux__)
    pp_pool_options o;
    pp_values *items;
    pp_result *r = NULL;
    pp_pool *pool = NULL;
    int64_t zygote = 0;
    int before, i, seen = 0;

    before = unnamed_blocks();
    PP_ASSERT_MSG_FATAL(before >= 0, "/proc/self/maps");
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = PP_START_FORK;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&pool, &o), PP_OK);
    PP_ASSERT_MSG(unnamed_blocks() == before + 3,
                  "%d unnamed blocks here with 3 workers, %d before", unnamed_blocks(), before);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < 12; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i), PP_OK);
    PP_ASSERT_STATUS(pp_map(pool, sv_blocks_here, items, &(pp_submit_options){.chunksize = 1}, &r),
                     PP_OK);
    for (i = 0; r != NULL && i < 12; i++) {
        const pp_values *v = NULL;
        int64_t pid = 0, ppid = 0, n = -1;
        PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, &v, NULL), PP_OK);
        if (v == NULL)
            continue;
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &pid), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(v, 1, &ppid), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(v, 2, &n), PP_OK);
        PP_ASSERT_MSG(n == before + 1, "worker %lld has %lld unnamed blocks, expected %d",
                      (long long)pid, (long long)n, before + 1);
        zygote = ppid;
        seen++;
    }
    CU_ASSERT(seen == 12);
    pp_result_release(r);
    pp_values_destroy(items);
    if (zygote > 0) {
        char path[64];
        FILE *f;
        int64_t child;
        int zn = unnamed_blocks_of(zygote);
        PP_ASSERT_MSG(zn == before, "the zygote has %d unnamed blocks, expected %d", zn, before);
        /* its children: the workers (checked above) and the spare */
        snprintf(path, sizeof path, "/proc/%lld/task/%lld/children", (long long)zygote,
                 (long long)zygote);
        f = fopen(path, "r");
        while (f != NULL && fscanf(f, "%lld", (long long *)&child) == 1) {
            int cn = unnamed_blocks_of(child);
            PP_ASSERT_MSG(cn == -1 || cn == before || cn == before + 1,
                          "the zygote's child %lld has %d unnamed blocks", (long long)child, cn);
        }
        if (f != NULL)
            fclose(f);
    }
    pp_pool_close(pool);
    PP_ASSERT_STATUS(pp_pool_join(pool, WAIT_MS), PP_OK);
    pp_pool_destroy(pool);
    PP_ASSERT_MSG(unnamed_blocks() == before, "%d unnamed blocks mapped after destroy, %d before",
                  unnamed_blocks(), before);
#endif
}

/* The initializer's argument, as the worker saw it: its length if every
 * byte is 0x5a, -2 if not, -1 before the initializer ran. */
static int64_t g_init_len = -1;

static int sv_init_bytes(pp_task *t)
{
    const unsigned char *b = NULL;
    size_t n = 0, i;

    if (pp_values_get_bytes(pp_task_args(t), 0, (const void **)&b, &n) != PP_OK)
        return pp_task_fail(t, 2, "sv_init_bytes expects bytes");
    g_init_len = (int64_t)n;
    for (i = 0; i < n; i++) {
        if (b[i] != 0x5a)
            g_init_len = -2;
    }
    return 0;
}
PP_TASK_REGISTER(sv_init_bytes)

static int sv_get_init_len(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), g_init_len);
}
PP_TASK_REGISTER(sv_get_init_len)

/* Fork: a HELLO too long to be put in a first worker's channel by the
 * zygote (initializer arguments of 64 KiB, over PP__PLAT_FIRST_MAX) is
 * sent by the supervisor as for any later worker; a short one by the
 * zygote (the first pool). Either way the workers get it whole. */
static void do_initargs_sizes(int m)
{
    static const size_t sizes[] = {100, (size_t)64 << 10};
    pp_pool_options o;
    pp_pool *p;
    pp_values *ia, *none, *r;
    unsigned char *buf;
    size_t k;
    int i;
    int64_t x;

    buf = malloc(sizes[1]);
    PP_ASSERT_MSG_FATAL(buf != NULL, "malloc");
    memset(buf, 0x5a, sizes[1]);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&none), PP_OK);
    for (k = 0; k < 2; k++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&ia), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(ia, buf, sizes[k]), PP_OK);
        memset(&o, 0, sizeof o);
        o.processes = 3;
        o.start_method = (pp_start_method)m;
        o.initializer = sv_init_bytes;
        o.initargs = ia;
        p = NULL;
        PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
        for (i = 0; i < 6; i++) {
            r = NULL;
            x = -3;
            PP_ASSERT_STATUS(pp_apply(p, sv_get_init_len, none, &r, NULL), PP_OK);
            if (r != NULL)
                PP_ASSERT_STATUS(pp_values_get_int(r, 0, &x), PP_OK);
            PP_ASSERT_MSG(x == (int64_t)sizes[k], "a worker saw %lld bytes, %lld given",
                          (long long)x, (long long)sizes[k]);
            pp_values_destroy(r);
        }
        pp_pool_close(p);
        PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
        pp_pool_destroy(p);
        pp_values_destroy(ia);
    }
    pp_values_destroy(none);
    free(buf);
}
PP_TEST_PER_METHOD(initargs_sizes)

/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(broken_pool_fails_everything, 180),
    PP_TEST_METHODS(close_while_replacing, 180),
    PP_TEST_METHODS(partial_chunk_keeps_results, 120),
    PP_TEST_METHODS(lazy_chunk_worker_dies, 120),
    PP_TEST_METHODS(sent_to_dead_worker_runs_elsewhere, 180),
    PP_TEST_METHODS(no_stall_behind_busy_worker, 120),
    PP_TEST_METHODS(killed_starts_are_retried, 180),
    PP_TEST_METHODS(crash_loop_breaks_pool, 180),
    PP_TEST_METHODS(start_timeout, 180),
    PP_TEST_METHODS(stats_and_workers, 120),
    PP_TEST_METHODS(task_timeout, 120),
    PP_TEST_METHODS(kill_storm, 300),
    PP_TEST_METHODS(workers_seeded, 120),
    PP_TEST_METHODS(cancel_spares_other_jobs, 180),
    PP_TEST_METHODS(cancel, 120),
    PP_TEST_METHODS(join_ends_every_process, 120),
    PP_TEST_METHODS(initargs_sizes, 120),
    PP_TEST(t_returned_status_named),
    PP_TEST(t_unobserved_report),
    PP_TEST(t_documented_limits),
    PP_TEST(t_starmap_without_cast),
    PP_TEST_TIMEOUT(t_chunk_results_over_one_message, 300),
    PP_TEST_TIMEOUT(t_recycle_by_memory, 120),
    PP_TEST_TIMEOUT(t_idle_timeout, 120),
    PP_TEST_TIMEOUT(t_huge_timeouts, 120),
    PP_TEST_TIMEOUT(t_helper_killed_fork, 120),
    PP_TEST_TIMEOUT(t_helper_killed_forkserver, 120),
    PP_TEST_TIMEOUT(t_spare_killed_fork, 120),
    PP_TEST_TIMEOUT(t_zygote_and_spare_killed_fork, 120),
    PP_TEST_TIMEOUT(t_fork_handlers_in_every_worker, 120),
    PP_TEST_TIMEOUT(t_first_worker_killed_at_fork, 120),
    PP_TEST_TIMEOUT(t_zygote_killed_at_first_fork, 120),
    PP_TEST_TIMEOUT(t_first_blocks_only_own, 120),
    PP_TEST_TIMEOUT(t_helper_killed_while_creating_fork, 120),
    PP_TEST_TIMEOUT(t_helper_killed_while_creating_forkserver, 120),
    PP_TEST_TIMEOUT(t_helper_stopped_fork, 150),
    PP_TEST_TIMEOUT(t_helper_stopped_forkserver, 150),
    PP_TEST_TIMEOUT(t_spawn_starts_killed, 240),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(supervise)
{
    pp_test_add_suite("supervise", cases);
}
