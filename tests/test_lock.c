/*
 * test_lock.c — the named robust lock across processes and threads:
 * mutual exclusion, exclusion of an exec'd process that opened the lock by
 * name, owner death (PP_EOWNERDEAD), timeouts, ownership errors.
 *
 * Cross-process tests use helper children (this binary, "--helper lock-*")
 * started with apr_proc_create, so they run on POSIX and Windows alike.
 * Only t_exclusion_fork is POSIX-only (see pp_test_skip.c).
 */
#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_thread_proc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "procpool/lock.h"
#include "platform.h"
#include "pp_test.h"

#define NPROC      4
#define NITER      100000
#define NAME_BUF   (PP_NAME_MAX + 1)
#define LINE_MS    (10000 * pp_test_timeout_mult())
#define CHILD_MS   (30000 * pp_test_timeout_mult())
#define BARRIER_MS (60000 * pp_test_timeout_mult())

/* --------------------------------------------------- shared counter */

/* Lives in named shared memory; counter is updated non-atomically under
 * the lock, the other words are a start barrier. */
typedef struct counter_shm {
    volatile apr_uint32_t ready; /* participants at the barrier */
    volatile apr_uint32_t go;    /* set by the test: start */
    volatile apr_uint32_t errors;
    volatile apr_uint32_t pad;
    volatile int64_t counter;
} counter_shm;

static int barrier_wait(counter_shm *c)
{
    int64_t deadline = pp_test_now_ms() + BARRIER_MS;

    apr_atomic_inc32(&c->ready);
    while (apr_atomic_read32(&c->go) == 0) {
        if (pp_test_now_ms() > deadline)
            return 0;
        apr_thread_yield();
    }
    return 1;
}

/* NITER increments under lock; returns 0 or the first bad status. */
static pp_status increment_loop(pp_lock *lock, counter_shm *c, int niter)
{
    pp_status st;
    int i;

    for (i = 0; i < niter; i++) {
        st = pp_lock_acquire(lock, PP_INFINITE);
        if (st != PP_OK) {
            apr_atomic_inc32(&c->errors);
            return st;
        }
        pp_test_racy_increment(&c->counter, i);
        st = pp_lock_release(lock);
        if (st != PP_OK) {
            apr_atomic_inc32(&c->errors);
            return st;
        }
    }
    return PP_OK;
}

static pp__plat_shm *counter_create(char *name)
{
    pp__plat_shm *shm = NULL;

    pp_test_unique_name(name, NAME_BUF);
    PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(name, sizeof(counter_shm), &shm), PP_OK);
    return shm;
}

/* Remove the name, then detach (the creator's order: on Windows the
 * name of a mapping lives only as long as a handle is open). */
static void counter_destroy(pp__plat_shm *shm, const char *name)
{
    PP_ASSERT_STATUS(pp__plat_shm_unlink(name), PP_OK);
    pp__plat_shm_close(shm);
}

/* Release the participants once all n are at the barrier. */
static void barrier_release(counter_shm *c, unsigned n)
{
    int64_t deadline = pp_test_now_ms() + BARRIER_MS;

    while (apr_atomic_read32(&c->ready) < n && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(1);
    PP_ASSERT_MSG(apr_atomic_read32(&c->ready) == n, "%u of %u participants at the barrier",
                  apr_atomic_read32(&c->ready), n);
    apr_atomic_set32(&c->go, 1);
}

static pp_lock *lock_create_unique(char *name)
{
    pp_lock *lock = NULL;

    pp_test_unique_name(name, NAME_BUF);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    CU_ASSERT_FATAL(lock != NULL);
    return lock;
}

/* ------------------------------------------------------------ helpers */

static int acquired(pp_status st)
{
    return st == PP_OK || st == PP_EOWNERDEAD;
}

/* Open the lock named argv[1], or exit with PP_TEST_EXIT_SETUP. */
static pp_lock *helper_open(const char *helper, const char *name)
{
    pp_lock *lock = NULL;
    pp_status st = pp_lock_open(name, &lock);

    if (st != PP_OK) {
        fprintf(stderr, "%s: pp_lock_open(%s): %s\n", helper, name, pp_err_name(st));
        exit(PP_TEST_EXIT_SETUP);
    }
    return lock;
}

/* lock-incr LOCK SHM N: NITER racy increments under the lock after the
 * barrier. Exit 0, or the failing status. */
static int h_incr(int argc, char **argv)
{
    pp__plat_shm *shm = NULL;
    pp_lock *lock;
    counter_shm *c;
    pp_status st;

    if (argc != 4)
        return PP_TEST_EXIT_USAGE;
    lock = helper_open(argv[0], argv[1]);
    st = pp__plat_shm_open(argv[2], &shm);
    if (st != PP_OK) {
        fprintf(stderr, "lock-incr: pp__plat_shm_open(%s): %s\n", argv[2], pp_err_name(st));
        return PP_TEST_EXIT_SETUP;
    }
    c = pp__plat_shm_ptr(shm);
    if (!barrier_wait(c)) {
        fprintf(stderr, "lock-incr: no start signal\n");
        return PP_TEST_EXIT_SETUP;
    }
    st = increment_loop(lock, c, atoi(argv[3]));
    if (st != PP_OK)
        fprintf(stderr, "lock-incr: %s\n", pp_err_name(st));
    pp__plat_shm_close(shm);
    pp_lock_destroy(lock);
    return st == PP_OK ? 0 : pp_test_exit_from_status(st);
}

/* lock-try LOCK: exit with the status of pp_lock_try_acquire (released
 * again if acquired). */
static int h_try(int argc, char **argv)
{
    pp_lock *lock;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    lock = helper_open(argv[0], argv[1]);
    st = pp_lock_try_acquire(lock);
    if (acquired(st))
        pp_lock_release(lock);
    pp_lock_destroy(lock);
    return pp_test_exit_from_status(st);
}

/* lock-acquire LOCK MS: exit with the status of pp_lock_acquire(MS). */
static int h_acquire(int argc, char **argv)
{
    pp_lock *lock;
    pp_status st;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    lock = helper_open(argv[0], argv[1]);
    st = pp_lock_acquire(lock, atoll(argv[2]));
    if (acquired(st))
        pp_lock_release(lock);
    pp_lock_destroy(lock);
    return pp_test_exit_from_status(st);
}

/* lock-release LOCK: exit with the status of pp_lock_release (the helper
 * never acquired it). */
static int h_release(int argc, char **argv)
{
    pp_lock *lock;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    lock = helper_open(argv[0], argv[1]);
    st = pp_lock_release(lock);
    pp_lock_destroy(lock);
    return pp_test_exit_from_status(st);
}

/* lock-hold LOCK: acquire (forever), print the status name ("PP_OK"),
 * then obey stdin: 'r' release, 'a' acquire (each prints the status
 * name); 'f' (POSIX): fork a child that sleeps 60 s, print its pid; 'q': exit(0) at once, holding
 * or not (no cleanup, like a program that forgets to release); EOF: release if held, clean up, exit
 * 0. The test may also kill it at any time. */
static int h_hold(int argc, char **argv)
{
    pp_lock *lock;
    pp_status st;
    int ch, held;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    lock = helper_open(argv[0], argv[1]);
    st = pp_lock_acquire(lock, PP_INFINITE);
    held = acquired(st);
    pp_test_say(pp_err_name(st));
    while ((ch = pp_test_stdin_byte()) != -1) {
        if (ch == 'q') {
            fflush(NULL);
            _Exit(0); /* a normal exit status, but no atexit / LSan pass */
        } else if (ch == 'r') {
            st = pp_lock_release(lock);
            held = held && st != PP_OK;
            pp_test_say(pp_err_name(st));
        } else if (ch == 'a') {
            st = pp_lock_acquire(lock, PP_INFINITE);
            held = held || acquired(st);
            pp_test_say(pp_err_name(st));
        } else if (ch == 'f') {
#ifndef _WIN32
            /* fork a child that only sleeps (and inherits the open lock),
             * print its pid */
            char line[32];
            pid_t pid;
            fflush(NULL);
            pid = fork();
            if (pid == 0) {
                sleep(60);
                _exit(0);
            }
            snprintf(line, sizeof line, "%ld", (long)pid);
            pp_test_say(line);
#endif
        }
    }
    if (held)
        pp_lock_release(lock);
    pp_lock_destroy(lock);
    return 0;
}

static const pp_test_helper g_helpers[] = {{"lock-incr", h_incr},       {"lock-try", h_try},
                                           {"lock-acquire", h_acquire}, {"lock-release", h_release},
                                           {"lock-hold", h_hold},       {NULL, NULL}};

/* -------------------------------------------- test-side child helpers */

/* Run a one-shot helper and return the pp_status it reports. */
static int helper_status(const char *helper, const char *name, const char *arg)
{
    const char *args[] = {name, arg, NULL};
    int code = pp_test_run_helper(helper, args, CHILD_MS);

    return code == -1000 ? 1 : pp_test_status_from_exit(code);
}

/* Start lock-hold and wait until it holds the lock. */
static pp_test_child *spawn_holder(const char *name)
{
    const char *args[] = {name, NULL};
    pp_test_child *c = pp_test_spawn("lock-hold", args);

    CU_ASSERT_FATAL(c != NULL);
    if (!pp_test_child_expect(c, "PP_OK", LINE_MS)) {
        pp_test_child_free(c);
        CU_FAIL_FATAL("lock-hold did not acquire the lock");
    }
    return c;
}

/* Tell lock-hold to do cmd ('r', 'a') and check the status it prints. */
static void holder_do(pp_test_child *c, const char *cmd, const char *expect)
{
    CU_ASSERT(pp_test_child_write(c, cmd));
    pp_test_child_expect(c, expect, LINE_MS);
}

/* Let lock-hold exit normally ('q') and check it did. */
static void holder_quit(pp_test_child *c)
{
    CU_ASSERT(pp_test_child_write(c, "q"));
    CU_ASSERT_EQUAL(pp_test_child_exit_code(c, CHILD_MS), 0);
    pp_test_child_free(c);
}

/* ------------------------------------------ (a) mutual exclusion */

/* 4 exec'd processes x 100,000 racy increments under the lock. */
static void t_exclusion_spawn(void)
{
    char lname[NAME_BUF], sname[NAME_BUF], iters[32];
    const char *args[] = {lname, sname, iters, NULL};
    pp_test_child *kids[NPROC];
    pp_lock *lock = lock_create_unique(lname);
    pp__plat_shm *shm = counter_create(sname);
    counter_shm *c = pp__plat_shm_ptr(shm);
    int i;

    snprintf(iters, sizeof iters, "%d", NITER);
    for (i = 0; i < NPROC; i++)
        kids[i] = pp_test_spawn("lock-incr", args);
    barrier_release(c, NPROC);
    for (i = 0; i < NPROC; i++) {
        if (kids[i] != NULL)
            CU_ASSERT_EQUAL(pp_test_child_exit_code(kids[i], 10 * CHILD_MS), 0);
        pp_test_child_free(kids[i]);
    }
    PP_ASSERT_MSG(c->counter == (int64_t)NPROC * NITER, "counter = %lld, expected %lld",
                  (long long)c->counter, (long long)NPROC * NITER);
    CU_ASSERT_EQUAL(c->errors, 0);
    counter_destroy(shm, sname);
    pp_lock_destroy(lock);
}

#ifndef _WIN32
static void fork_child(pp_lock *lock, counter_shm *c)
{
    pp_status st = PP_ESYS;

    /* Inherited handle and mapping: the fork start method's path. */
    if (barrier_wait(c))
        st = increment_loop(lock, c, NITER);
    _exit(st == PP_OK ? 0 : pp_test_exit_from_status(st));
}

static int wait_forked(pid_t pid)
{
    int64_t deadline = pp_test_now_ms() + 10 * CHILD_MS;
    int status = 0;
    pid_t r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(5);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return (r == pid && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
}
#endif

/* Same with forked children using the inherited handle (POSIX only). */
static void t_exclusion_fork(void)
{
#ifndef _WIN32
    char lname[NAME_BUF], sname[NAME_BUF];
    pp_lock *lock = lock_create_unique(lname);
    pp__plat_shm *shm = counter_create(sname);
    counter_shm *c = pp__plat_shm_ptr(shm);
    pid_t pids[NPROC];
    int i;

    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < NPROC; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            fork_child(lock, c);
        CU_ASSERT(pids[i] > 0);
    }
    barrier_release(c, NPROC);
    for (i = 0; i < NPROC; i++) {
        if (pids[i] > 0)
            CU_ASSERT_EQUAL(wait_forked(pids[i]), 0);
    }
    PP_ASSERT_MSG(c->counter == (int64_t)NPROC * NITER, "counter = %lld, expected %lld",
                  (long long)c->counter, (long long)NPROC * NITER);
    counter_destroy(shm, sname);
    pp_lock_destroy(lock);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

typedef struct thread_incr {
    const char *name;
    counter_shm *c;
    pp_status st;
} thread_incr;

static void incr_thread(void *data)
{
    thread_incr *ti = data;
    pp_lock *lock = NULL;

    ti->st = pp_lock_open(ti->name, &lock); /* each thread its own handle */
    if (ti->st == PP_OK && barrier_wait(ti->c))
        ti->st = increment_loop(lock, ti->c, NITER);
    pp_lock_destroy(lock);
}

/* 4 threads of this process, each with its own handle to the same name. */
static void t_exclusion_threads(void)
{
    char lname[NAME_BUF];
    pp_lock *lock = lock_create_unique(lname);
    counter_shm c;
    thread_incr ti[NPROC];
    pp_test_thread *th[NPROC];
    int i;

    memset(&c, 0, sizeof c);
    for (i = 0; i < NPROC; i++) {
        ti[i].name = lname;
        ti[i].c = &c;
        ti[i].st = PP_ESYS;
        th[i] = pp_test_thread_start(incr_thread, &ti[i]);
    }
    barrier_release(&c, NPROC);
    for (i = 0; i < NPROC; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_STATUS(ti[i].st, PP_OK);
    }
    PP_ASSERT_MSG(c.counter == (int64_t)NPROC * NITER, "counter = %lld, expected %lld",
                  (long long)c.counter, (long long)NPROC * NITER);
    pp_lock_destroy(lock);
}

/* ------------------------- (b) an exec'd process opens it by name */

static void t_child_opens_by_name_and_is_excluded(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);

    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-try", name, NULL), PP_EBUSY);
    PP_ASSERT_STATUS(helper_status("lock-acquire", name, "100"), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(helper_status("lock-acquire", name, "0"), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-try", name, NULL), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-acquire", name, "5000"), PP_OK);
    pp_lock_destroy(lock);
}

/* The other direction: a child holds, the creator is excluded, and gets
 * the lock once the child releases it. */
static void t_parent_excluded_by_child(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);

    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 0), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 50), PP_ETIMEDOUT);
    holder_do(c, "r", "PP_OK");
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 5000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    holder_do(c, "a", "PP_OK"); /* and back again */
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EBUSY);
    holder_do(c, "r", "PP_OK");
    holder_quit(c);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

typedef struct waiter {
    pp_lock *lock;
    int64_t timeout_ms;
    pp_status st;
    pp_status release_st;
    int64_t elapsed_ms;
} waiter;

static void waiter_thread(void *arg)
{
    waiter *w = arg;
    int64_t start = pp_test_now_ms();

    w->st = pp_lock_acquire(w->lock, w->timeout_ms);
    w->elapsed_ms = pp_test_now_ms() - start;
    w->release_st = acquired(w->st) ? pp_lock_release(w->lock) : w->st;
}

/* An acquire with timeout_ms, blocked while another process holds the
 * lock, returns PP_OK once the holder releases. */
static void blocked_acquire_gets_lock(int64_t timeout_ms)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);
    waiter w = {lock, 0, PP_ESYS, PP_ESYS, 0};
    pp_test_thread *t;

    w.timeout_ms = timeout_ms;
    t = pp_test_thread_start(waiter_thread, &w);
    pp_test_sleep_ms(300); /* let it block (not required for correctness) */
    holder_do(c, "r", "PP_OK");
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_OK);
    PP_ASSERT_STATUS(w.release_st, PP_OK);
    holder_quit(c);
    pp_lock_destroy(lock);
}

/* A blocked acquire returns PP_OK as soon as the holder releases. */
static void t_blocked_acquire_gets_lock_on_release(void)
{
    blocked_acquire_gets_lock(20000 * pp_test_timeout_mult());
}

/* The largest timeout really waits (no overflow into "already expired"
 * or an invalid deadline) and returns PP_OK once the lock is free. */
static void t_huge_timeout_waits(void)
{
    blocked_acquire_gets_lock(INT64_MAX);
}

/* ------------------------------------------ (c) owner death */

/* The holder is killed (SIGKILL / TerminateProcess) while holding: the
 * next acquire gets PP_EOWNERDEAD promptly, the lock works afterwards. */
static void t_owner_killed_then_acquire(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);

    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EBUSY);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

static void t_owner_killed_then_try_acquire(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);

    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* The owner dies while this process is already blocked in acquire: the
 * waiter is woken with PP_EOWNERDEAD (not left to its timeout). */
static void t_owner_killed_while_waiting(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);
    waiter w = {lock, 0, PP_ESYS, PP_ESYS, 0};
    pp_test_thread *t;

    w.timeout_ms = 20000 * pp_test_timeout_mult();
    t = pp_test_thread_start(waiter_thread, &w);
    pp_test_sleep_ms(300); /* let it block */
    pp_test_child_kill(c);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_EOWNERDEAD);
    PP_ASSERT_STATUS(w.release_st, PP_OK);
    PP_ASSERT_MSG(w.elapsed_ms < w.timeout_ms, "woken after %lld ms", (long long)w.elapsed_ms);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* The holder exits normally (returns from main) without releasing. */
static void t_owner_exits_holding(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);

    holder_quit(c);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* After the owner's death, another *process* is the one that recovers. */
static void t_owner_killed_other_process_recovers(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);

    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(helper_status("lock-acquire", name, "2000"), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* The holder had forked a child (which inherited the open lock, and in
 * the lock-file fallback its open file description) when it is killed:
 * the child must not keep the lock held, the next acquirer gets
 * PP_EOWNERDEAD. (POSIX only: fork.) */
static void t_owner_killed_forked_child_lives(void)
{
#ifndef _WIN32
    char name[NAME_BUF], line[64];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);
    long kid = 0;

    CU_ASSERT(pp_test_child_write(c, "f"));
    if (pp_test_child_read_line(c, line, sizeof line, LINE_MS))
        kid = atol(line);
    CU_ASSERT(kid > 0);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    if (kid > 0)
        (void)kill((pid_t)kid, SIGKILL); /* not our child: reparented, reaped by init */
    pp_lock_destroy(lock);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* A child forked while this process holds the lock does not hold it: its
 * try finds it busy, its release is refused, and it can wait for it. */
static void t_forked_child_of_holder_excluded(void)
{
#ifndef _WIN32
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pid_t pid;

    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        int code = 0;
        if (pp_lock_try_acquire(lock) != PP_EBUSY)
            code |= 1;
        if (pp_lock_release(lock) != PP_EPERM)
            code |= 2;
        if (pp_lock_acquire(lock, 100) != PP_ETIMEDOUT)
            code |= 4;
        /* the parent releases once it has seen these three */
        if (pp_lock_acquire(lock, 20000) != PP_OK || pp_lock_release(lock) != PP_OK)
            code |= 8;
        _exit(code);
    }
    CU_ASSERT_FATAL(pid > 0);
    pp_test_sleep_ms(300); /* the child's three checks, while we hold it */
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    CU_ASSERT_EQUAL(wait_forked(pid), 0);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

static void hold_and_exit_thread(void *arg)
{
    pp_lock *lock = arg;

    PP_ASSERT_STATUS(pp_lock_acquire(lock, PP_INFINITE), PP_OK); /* and never release */
}

/* A thread that ends holding the lock is a dead owner too. */
static void t_owner_thread_exits_holding(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);

    pp_test_run_in_thread(hold_and_exit_thread, lock);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 2000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* ------------------------------------------------- (d) timeouts */

static void t_timeout_honoured(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    pp_test_child *c = spawn_holder(name);
    int64_t start, elapsed;

    start = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 100), PP_ETIMEDOUT);
    elapsed = pp_test_now_ms() - start;
    PP_ASSERT_MSG(elapsed >= 100 - pp_test_clock_slack_ms(), "acquire(100) gave up after %lld ms",
                  (long long)elapsed);
    PP_ASSERT_MSG(elapsed < 10000, "acquire(100) took %lld ms", (long long)elapsed);

    start = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 0), PP_ETIMEDOUT);
    elapsed = pp_test_now_ms() - start;
    PP_ASSERT_MSG(elapsed < 5000, "acquire(0) took %lld ms", (long long)elapsed);

    holder_do(c, "r", "PP_OK");
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 100), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    holder_quit(c);
    pp_lock_destroy(lock);
}

/* --------------------------------------------- (e) ownership */

static void t_reacquire_by_owner_is_edeadlk(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);

    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, PP_INFINITE), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 0), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, 100), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_EDEADLK);
    /* not recursive: one release frees it, a second is an error */
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_EPERM);
    PP_ASSERT_STATUS(helper_status("lock-try", name, NULL), PP_OK);
    pp_lock_destroy(lock);
}

static void t_release_unheld_is_eperm(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);

    PP_ASSERT_STATUS(pp_lock_release(lock), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

typedef struct other_thread {
    pp_lock *lock;
    pp_status release_st;
    pp_status try_st;
    pp_status acquire_st;
} other_thread;

static void other_thread_fn(void *arg)
{
    other_thread *o = arg;

    o->release_st = pp_lock_release(o->lock);
    o->try_st = pp_lock_try_acquire(o->lock);
    o->acquire_st = pp_lock_acquire(o->lock, 50);
}

static void t_other_thread_cannot_release_or_take(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);
    other_thread o = {lock, PP_ESYS, PP_ESYS, PP_ESYS};

    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    pp_test_run_in_thread(other_thread_fn, &o);
    PP_ASSERT_STATUS(o.release_st, PP_EPERM);
    PP_ASSERT_STATUS(o.try_st, PP_EBUSY);
    PP_ASSERT_STATUS(o.acquire_st, PP_ETIMEDOUT);
    /* still ours */
    PP_ASSERT_STATUS(helper_status("lock-try", name, NULL), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

static void t_other_process_cannot_release(void)
{
    char name[NAME_BUF];
    pp_lock *lock = lock_create_unique(name);

    PP_ASSERT_STATUS(helper_status("lock-release", name, NULL), PP_EPERM); /* free */
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-release", name, NULL), PP_EPERM); /* held by us */
    PP_ASSERT_STATUS(helper_status("lock-try", name, NULL), PP_EBUSY);     /* still held */
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* Ownership is per thread, not per handle: two handles of one process
 * are the same lock. */
static void t_two_handles_one_lock(void)
{
    char name[NAME_BUF];
    pp_lock *a = lock_create_unique(name);
    pp_lock *b = NULL;
    other_thread o = {NULL, PP_ESYS, PP_ESYS, PP_ESYS};

    PP_ASSERT_STATUS_FATAL(pp_lock_open(name, &b), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_lock_name(b), name);
    PP_ASSERT_STATUS(pp_lock_acquire(a, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EDEADLK);
    o.lock = b;
    pp_test_run_in_thread(other_thread_fn, &o);
    PP_ASSERT_STATUS(o.try_st, PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_OK);
    pp_lock_destroy(a); /* removes the name; b still works */
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(b, 0), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    pp_lock_destroy(b);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_exclusion_spawn, 300),
    PP_TEST_TIMEOUT(t_exclusion_fork, 300),
    PP_TEST_TIMEOUT(t_exclusion_threads, 300),
    PP_TEST(t_child_opens_by_name_and_is_excluded),
    PP_TEST(t_parent_excluded_by_child),
    PP_TEST(t_blocked_acquire_gets_lock_on_release),
    PP_TEST(t_huge_timeout_waits),
    PP_TEST(t_owner_killed_then_acquire),
    PP_TEST(t_owner_killed_then_try_acquire),
    PP_TEST(t_owner_killed_while_waiting),
    PP_TEST(t_owner_exits_holding),
    PP_TEST(t_owner_killed_other_process_recovers),
    PP_TEST(t_owner_killed_forked_child_lives),
    PP_TEST(t_forked_child_of_holder_excluded),
    PP_TEST(t_owner_thread_exits_holding),
    PP_TEST(t_timeout_honoured),
    PP_TEST(t_reacquire_by_owner_is_edeadlk),
    PP_TEST(t_release_unheld_is_eperm),
    PP_TEST(t_other_thread_cannot_release_or_take),
    PP_TEST(t_other_process_cannot_release),
    PP_TEST(t_two_handles_one_lock),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(lock)
{
    pp_test_add_suite("lock", g_cases);
    pp_test_add_helpers(g_helpers);
}
