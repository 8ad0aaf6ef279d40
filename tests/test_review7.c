/*
 * test_review7.c — findings of the session 7 review of the performance
 * branches (perf7-async, perf7-str, perf7-fork): each test fails on the
 * trial merge and passes once its cause is fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "procpool/procpool.h"
#include "platform.h"
#include "pool/pool_internal.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

static int rv_square(pp_task *t)
{
    int64_t x;

    if (pp_values_unpack(pp_task_args(t), "l", &x) != PP_OK)
        return pp_task_fail(t, 2, "square expects one integer");
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(rv_square)

static int rv_sleep(pp_task *t)
{
    int64_t ms;

    if (pp_values_unpack(pp_task_args(t), "l", &ms) != PP_OK)
        return pp_task_fail(t, 2, "sleep expects milliseconds");
    pp__plat_sleep_ms(ms);
    return pp_values_add_int(pp_task_result(t), ms);
}
PP_TASK_REGISTER(rv_sleep)

#ifndef _WIN32
/* Wait at most ms for child pid: its exit code, or -1 (killed: it hung). */
static int wait_child_ms(pid_t pid, int64_t ms)
{
    int64_t t0 = pp_test_now_ms();
    int status = 0;
    pid_t got;

    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && pp_test_now_ms() - t0 < ms)
        pp_test_sleep_ms(5);
    if (got != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* In a fork child of the pool's creator: every submission form must say
 * PP_ESTATE at once, without the pool's mutex (pool_internal.h,
 * pp__pool_foreign: "Never takes the mutex"). */
static int child_submits(pp_pool *p)
{
    pp_values *args = NULL, *r = NULL;
    pp_result *res = NULL;

    if (pp_values_pack(&args, "l", (int64_t)3) != PP_OK)
        return 9;
    if (pp_apply(p, rv_square, args, &r, NULL) != PP_ESTATE)
        return 10;
    if (pp_apply_async(p, rv_square, args, NULL, &res) != PP_ESTATE || res != NULL)
        return 11;
    if (pp_map_async(p, rv_square, args, NULL, &res) != PP_ESTATE || res != NULL)
        return 12;
    return 0;
}

/* A fork child made while another thread of the creator holds the pool's
 * mutex (here held on purpose; in a program: any thread inside a pool call,
 * a reader thread handling a result, the supervisor) has a locked mutex
 * whose owner does not exist in the child. A submission there must report
 * PP_ESTATE without taking it. Fails (the child hangs in pp_apply) while
 * submit() locks the mutex to register as a feeder and only then looks at
 * pp__pool_foreign() (submit.c, submit(): mtx_lock before the check). */
static void t_fork_child_submit_mutex_held(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_FORK, 1);
    pp_values *args = NULL, *r = NULL;
    int64_t v = 0;
    pid_t pid;
    int code;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "l", (int64_t)7), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, rv_square, args, &r, NULL), PP_OK);
    pp_values_destroy(r);
    r = NULL;
    pp__plat_mtx_lock(p->core->mu);
    pid = fork();
    if (pid == 0)
        _exit(child_submits(p));
    pp__plat_mtx_unlock(p->core->mu);
    CU_ASSERT_FATAL(pid > 0);
    code = wait_child_ms(pid, 10000 * pp_test_timeout_mult());
    PP_ASSERT_MSG(code == 0,
                  "fork child with the pool's mutex held at fork: %s (exit %d: 10 + the first "
                  "submission that did not give PP_ESTATE)",
                  code == -1 ? "hung in a submission" : "wrong status", code);
    PP_ASSERT_STATUS(pp_apply(p, rv_square, args, &r, NULL), PP_OK);
    CU_ASSERT(r != NULL && pp_values_get_int(r, 0, &v) == PP_OK && v == 49);
    pp_values_destroy(r);
    pp_values_destroy(args);
    pp_test_pool_finish(p);
}

/* The same without white-box help: a thread submits pp_apply_async in a
 * loop while the main thread forks children that each submit once. A
 * child forked while the submitting thread (or a reader) held the mutex
 * hangs in its first submission. */
typedef struct hammer {
    pp_pool *p;
    volatile int stop;
    long submitted;
} hammer;

static void hammer_main(void *arg)
{
    hammer *h = arg;
    pp_values *args = NULL;
    pp_result *r = NULL;

    if (pp_values_pack(&args, "l", (int64_t)5) != PP_OK)
        return;
    while (!h->stop) {
        if (pp_apply_async(h->p, rv_square, args, NULL, &r) != PP_OK)
            break;
        if (++h->submitted % 64 == 0)
            (void)pp_result_wait(r, WAIT_MS); /* keep the queue short */
        pp_result_release(r);
        r = NULL;
    }
    pp_values_destroy(args);
}

static void t_fork_child_submit_while_busy(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_FORK, 2);
    hammer h = {p, 0, 0};
    pp_test_thread *t;
    int i, hung = 0, wrong = 0, forks = 200;

    t = pp_test_thread_start(hammer_main, &h);
    pp_test_sleep_ms(50);
    for (i = 0; i < forks && hung == 0; i++) {
        pid_t pid = fork();
        int code;

        if (pid == 0)
            _exit(child_submits(p));
        CU_ASSERT_FATAL(pid > 0);
        code = wait_child_ms(pid, 3000 * pp_test_timeout_mult());
        if (code == -1)
            hung++;
        else if (code != 0)
            wrong++;
    }
    h.stop = 1;
    pp_test_thread_join(t);
    PP_ASSERT_MSG(hung == 0 && wrong == 0,
                  "fork children of a pool's creator while a thread submits: %d hung, %d wrong "
                  "status, after %d forks (%ld submissions)",
                  hung, wrong, i, h.submitted);
    pp_test_pool_finish(p);
}
/* The same for the creator's unfinished result read in the child
 * (pool/t_fork_child_is_not_the_owner asks PP_ESTATE of pp_result_get
 * there): with the mutex held at the fork, pp_result_get / pp_result_wait
 * hang, as they lock the mutex before foreign_pending() looks (result.c,
 * pp_result_wait / pp_result_get; as on main: not new in this session). */
static int child_reads(pp_result *slow)
{
    const pp_values *v = NULL;

    if (pp_result_wait(slow, PP_INFINITE) != PP_ESTATE)
        return 20;
    if (pp_result_get(slow, PP_INFINITE, &v) != PP_ESTATE)
        return 21;
    /* nor may the child cancel it (that would kill the creator's worker) */
    if (pp_result_cancel(slow) != PP_ESTATE)
        return 22;
    return 0;
}

static void t_fork_child_result_get_mutex_held(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_FORK, 1);
    pp_values *ms = NULL;
    pp_result *slow = NULL;
    const pp_values *v = NULL;
    pid_t pid;
    int code;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&ms, "l", (int64_t)1000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, rv_sleep, ms, NULL, &slow), PP_OK);
    pp__plat_mtx_lock(p->core->mu);
    pid = fork();
    if (pid == 0)
        _exit(child_reads(slow));
    pp__plat_mtx_unlock(p->core->mu);
    CU_ASSERT_FATAL(pid > 0);
    code = wait_child_ms(pid, 10000 * pp_test_timeout_mult());
    PP_ASSERT_MSG(
        code == 0,
        "fork child with the pool's mutex held at fork: %s (exit %d: 20 wait, 21 get, 22 cancel)",
        code == -1 ? "hung reading the creator's result" : "wrong status", code);
    PP_ASSERT_STATUS(pp_result_get(slow, WAIT_MS, &v), PP_OK);
    pp_result_release(slow);
    pp_values_destroy(ms);
    pp_test_pool_finish(p);
}
#else
static void t_fork_child_submit_mutex_held(void)
{
}

static void t_fork_child_submit_while_busy(void)
{
}

static void t_fork_child_result_get_mutex_held(void)
{
}
#endif

/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_fork_child_submit_mutex_held),
    PP_TEST_TIMEOUT(t_fork_child_submit_while_busy, 300),
    PP_TEST(t_fork_child_result_get_mutex_held),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(review7)
{
    pp_test_add_suite("review7", cases);
}
