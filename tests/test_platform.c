/*
 * test_platform.c — the "threads" section of the platform contract
 * (platform/platform.h): threads run their function, mutexes exclude,
 * condition variables time out no sooner than asked and wake waiters,
 * and a mutex a fork caught held can be reset in the child; and the
 * worker entry the core registers is what a forked worker runs.
 *
 * Timing checks assert lower bounds only (a loaded machine makes every
 * wait longer, never shorter). The fork tests are POSIX-only (see
 * pp_test_skip.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "procpool/clock.h"
#include "platform.h"
#include "pp_test.h"

#define NINCR   100000
#define NWAIT   3
#define WAIT_MS (10000 * pp_test_timeout_mult())

/* ------------------------------------------------------------ helpers */

static pp__plat_thread *thread_start(void (*fn)(void *), void *arg)
{
    pp__plat_thread *t = NULL;
    PP_ASSERT_STATUS_FATAL(pp__plat_thread_create(&t, fn, arg), PP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

static pp__plat_mtx *mtx_new(void)
{
    pp__plat_mtx *m = NULL;
    PP_ASSERT_STATUS_FATAL(pp__plat_mtx_create(&m), PP_OK);
    return m;
}

static pp__plat_cond *cond_new(void)
{
    pp__plat_cond *c = NULL;
    PP_ASSERT_STATUS_FATAL(pp__plat_cond_create(&c), PP_OK);
    return c;
}

/* State shared by the condition variable tests. Every field is read and
 * written with mu held. */
typedef struct waitstate {
    pp__plat_mtx *mu;
    pp__plat_cond *cv;
    int64_t timeout_ms; /* what the waiters pass to pp__plat_cond_wait */
    int go;             /* the predicate the waiters wait for */
    int waiting;        /* waiters inside their wait loop */
    int woken;          /* waiters that saw go */
    int timeouts;       /* PP_ETIMEDOUT results the waiters got */
} waitstate;

static void waitstate_init(waitstate *w, int64_t timeout_ms)
{
    memset(w, 0, sizeof *w);
    w->mu = mtx_new();
    w->cv = cond_new();
    w->timeout_ms = timeout_ms;
}

static void waitstate_free(waitstate *w)
{
    pp__plat_cond_destroy(w->cv);
    pp__plat_mtx_destroy(w->mu);
}

/* Waits for go; counts its timeouts and gives up after the first, so a
 * wait that wrongly times out cannot hang the test. */
static void waiter(void *arg)
{
    waitstate *w = arg;

    pp__plat_mtx_lock(w->mu);
    w->waiting++;
    while (!w->go) {
        if (pp__plat_cond_wait(w->cv, w->mu, w->timeout_ms) == PP_ETIMEDOUT) {
            w->timeouts++;
            break;
        }
    }
    if (w->go)
        w->woken++;
    pp__plat_mtx_unlock(w->mu);
}

/* Poll (mu held between looks) until *field == want, at most WAIT_MS.
 * Returns 1 if it got there. */
static int poll_field(waitstate *w, const int *field, int want)
{
    int64_t deadline = pp__plat_now_ms() + WAIT_MS;
    int v;

    for (;;) {
        pp__plat_mtx_lock(w->mu);
        v = *field;
        pp__plat_mtx_unlock(w->mu);
        if (v == want || pp__plat_now_ms() >= deadline)
            return v == want;
        pp__plat_sleep_ms(1);
    }
}

/* ----------------------------------------------------------- threads */

typedef struct runarg {
    int value;
    int seen;
    uint64_t tid;
} runarg;

static void record_arg(void *p)
{
    runarg *r = p;
    r->seen = r->value;
    r->tid = pp__plat_thread_id();
}

/* The new thread runs fn with arg, on a thread of its own; join waits for
 * it to have returned. */
static void t_thread_runs_fn(void)
{
    runarg r;
    pp__plat_thread *t;

    memset(&r, 0, sizeof r);
    r.value = 4242;
    t = thread_start(record_arg, &r);
    pp__plat_thread_join(t);
    CU_ASSERT_EQUAL(r.seen, 4242);
    CU_ASSERT(r.tid != 0);
    CU_ASSERT(r.tid != pp__plat_thread_id());
    pp__plat_thread_join(NULL);
}

/* ----------------------------------------------------------- mutexes */

typedef struct incr {
    pp__plat_mtx *mu;
    volatile int64_t counter;
} incr;

static void increment_loop(void *p)
{
    incr *in = p;
    int64_t i;

    for (i = 0; i < NINCR; i++) {
        pp__plat_mtx_lock(in->mu);
        pp_test_racy_increment(&in->counter, i);
        pp__plat_mtx_unlock(in->mu);
    }
}

/* Two threads add NINCR each with a read-spin-write under the mutex: any
 * overlap of their critical sections loses an increment. */
static void t_mutex_excludes(void)
{
    pp__plat_thread *a, *b;
    incr in;

    in.mu = mtx_new();
    in.counter = 0;
    a = thread_start(increment_loop, &in);
    b = thread_start(increment_loop, &in);
    pp__plat_thread_join(a);
    pp__plat_thread_join(b);
    PP_ASSERT_MSG(in.counter == 2 * NINCR, "counter = %lld, expected %lld", (long long)in.counter,
                  (long long)(2 * NINCR));
    pp__plat_mtx_destroy(in.mu);
    pp__plat_mtx_destroy(NULL);
}

/* ------------------------------------------------ condition variables */

/* With nobody to signal, a wait of timeout_ms returns PP_ETIMEDOUT, and
 * not before timeout_ms have passed on pp__plat_now_ms(). PP_OK is a
 * spurious wake-up the contract allows: measured again. */
static void check_timeout(int64_t timeout_ms)
{
    pp__plat_mtx *mu = mtx_new();
    pp__plat_cond *cv = cond_new();
    int tries, timed_out = 0;

    pp__plat_mtx_lock(mu);
    for (tries = 0; tries < 10 && !timed_out; tries++) {
        int64_t t0 = pp__plat_now_ms(), elapsed;
        pp_status st = pp__plat_cond_wait(cv, mu, timeout_ms);

        elapsed = pp__plat_now_ms() - t0;
        if (st == PP_OK)
            continue;
        PP_ASSERT_STATUS(st, PP_ETIMEDOUT);
        PP_ASSERT_MSG(elapsed >= timeout_ms - 1, "timed out after %lld ms of %lld",
                      (long long)elapsed, (long long)timeout_ms);
        timed_out = 1;
    }
    pp__plat_mtx_unlock(mu);
    PP_ASSERT_MSG(timed_out, "10 waits of %lld ms all returned PP_OK", (long long)timeout_ms);
    pp__plat_cond_destroy(cv);
    pp__plat_mtx_destroy(mu);
}

static void t_cond_timeout_zero(void)
{
    check_timeout(0);
}

static void t_cond_timeout_50ms(void)
{
    check_timeout(50);
}

/* A waiter blocked with PP_INFINITE is woken by one signal. The waiter
 * announces itself before its first wait; since it only releases mu by
 * waiting, holding mu after seeing the announcement means it waits. */
static void t_cond_signal_wakes(void)
{
    pp__plat_thread *t;
    waitstate w;
    int ok;

    waitstate_init(&w, PP_INFINITE);
    t = thread_start(waiter, &w);
    CU_ASSERT_FATAL(poll_field(&w, &w.waiting, 1));
    pp__plat_mtx_lock(w.mu);
    w.go = 1;
    pp__plat_cond_signal(w.cv);
    pp__plat_mtx_unlock(w.mu);
    ok = poll_field(&w, &w.woken, 1);
    /* Not woken: fail without joining (the thread would never return). */
    PP_ASSERT_MSG_FATAL(ok, "the waiter was not woken within %d ms", WAIT_MS);
    pp__plat_thread_join(t);
    CU_ASSERT_EQUAL(w.timeouts, 0);
    waitstate_free(&w);
}

/* One broadcast wakes all NWAIT waiters (a signal would wake one). */
static void t_cond_broadcast_wakes_all(void)
{
    pp__plat_thread *t[NWAIT];
    waitstate w;
    int i, ok;

    waitstate_init(&w, PP_INFINITE);
    for (i = 0; i < NWAIT; i++)
        t[i] = thread_start(waiter, &w);
    CU_ASSERT_FATAL(poll_field(&w, &w.waiting, NWAIT));
    pp__plat_mtx_lock(w.mu);
    w.go = 1;
    pp__plat_cond_broadcast(w.cv);
    pp__plat_mtx_unlock(w.mu);
    ok = poll_field(&w, &w.woken, NWAIT);
    PP_ASSERT_MSG_FATAL(ok, "%d of %d waiters woken within %d ms", w.woken, NWAIT, WAIT_MS);
    for (i = 0; i < NWAIT; i++)
        pp__plat_thread_join(t[i]);
    CU_ASSERT_EQUAL(w.timeouts, 0);
    waitstate_free(&w);
}

/* A timeout too large for a timespec / DWORD deadline must still wait
 * (not wrap into the past and time out at once) and still be woken. */
static void t_cond_huge_timeout(void)
{
    pp__plat_thread *t;
    waitstate w;
    int ok, timeouts;

    waitstate_init(&w, INT64_MAX);
    t = thread_start(waiter, &w);
    CU_ASSERT_FATAL(poll_field(&w, &w.waiting, 1));
    pp__plat_sleep_ms(100);
    pp__plat_mtx_lock(w.mu);
    timeouts = w.timeouts;
    w.go = 1;
    pp__plat_cond_signal(w.cv);
    pp__plat_mtx_unlock(w.mu);
    CU_ASSERT_EQUAL(timeouts, 0);
    if (timeouts == 0) { /* else the waiter has given up already */
        ok = poll_field(&w, &w.woken, 1);
        PP_ASSERT_MSG_FATAL(ok, "the waiter was not woken within %d ms", WAIT_MS);
    }
    pp__plat_thread_join(t);
    waitstate_free(&w);
}

/* ---------------------------------------------------- reset after fork */

#ifndef _WIN32
/* A thread that holds victim until told to let go (w.go); w.waiting is 1
 * once it holds it. */
typedef struct holder {
    pp__plat_mtx *victim; /* the mutex the fork catches held */
    waitstate w;          /* go: let go; waiting: victim is held */
} holder;

static void hold_victim(void *p)
{
    holder *h = p;

    pp__plat_mtx_lock(h->victim);
    pp__plat_mtx_lock(h->w.mu);
    h->w.waiting = 1;
    while (!h->w.go)
        (void)pp__plat_cond_wait(h->w.cv, h->w.mu, PP_INFINITE);
    pp__plat_mtx_unlock(h->w.mu);
    pp__plat_mtx_unlock(h->victim);
}

/* Fork; the child resets victim, locks and unlocks it twice and exits 0.
 * Returns the child's exit code, or -1 if it crashed or still ran after
 * WAIT_MS (then it is killed). */
static int fork_and_reset(pp__plat_mtx *victim)
{
    int64_t deadline;
    int status = 0;
    pid_t pid, r;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        pp__plat_mtx_reset_after_fork(victim);
        pp__plat_mtx_lock(victim);
        pp__plat_mtx_unlock(victim);
        pp__plat_mtx_lock(victim);
        pp__plat_mtx_unlock(victim);
        _exit(0);
    }
    CU_ASSERT_FATAL(pid > 0);
    deadline = pp__plat_now_ms() + WAIT_MS;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && pp__plat_now_ms() < deadline)
        pp__plat_sleep_ms(5);
    if (r == 0) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        PP_ASSERT_MSG(0, "the child still ran after %d ms (deadlocked on the mutex?)", WAIT_MS);
        return -1;
    }
    CU_ASSERT_EQUAL(r, pid);
    return r == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

/* Another thread holds the mutex when the main thread forks: in the
 * child that thread does not exist, and only the reset frees the mutex. */
static void t_mtx_reset_after_fork(void)
{
#ifndef _WIN32
    pp__plat_thread *t;
    holder h;

    h.victim = mtx_new();
    waitstate_init(&h.w, PP_INFINITE);
    t = thread_start(hold_victim, &h);
    CU_ASSERT_FATAL(poll_field(&h.w, &h.w.waiting, 1));
    CU_ASSERT_EQUAL(fork_and_reset(h.victim), 0);
    pp__plat_mtx_lock(h.w.mu);
    h.w.go = 1;
    pp__plat_cond_broadcast(h.w.cv);
    pp__plat_mtx_unlock(h.w.mu);
    pp__plat_thread_join(t);
    waitstate_free(&h.w);
    pp__plat_mtx_destroy(h.victim);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* The forking thread itself holds the mutex: the child's only thread is
 * a new thread to pthreads, not the holder. */
static void t_mtx_reset_after_fork_own(void)
{
#ifndef _WIN32
    pp__plat_mtx *m = mtx_new();

    pp__plat_mtx_lock(m);
    CU_ASSERT_EQUAL(fork_and_reset(m), 0);
    pp__plat_mtx_unlock(m);
    pp__plat_mtx_destroy(m);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* ------------------------------------------------------ worker entry */

#ifndef _WIN32
#define ENTRY_EXIT 7

/* A worker entry other than the pool's: says hello, exits ENTRY_EXIT. */
static int hello_entry(pp__plat_chan *chan)
{
    return pp__plat_chan_write(chan, "hi", 2) == PP_OK ? ENTRY_EXIT : 1;
}

/* Start one worker of a fork launcher with the current entry; return how
 * it ended (fails the test if it did not end within WAIT_MS). If hello,
 * first expect "hi" on the channel. */
static pp__exit_info run_forked_worker(int hello)
{
    pp__plat_launcher *l = NULL;
    pp__plat_proc *proc = NULL;
    pp__plat_chan *chan = NULL;
    pp__exit_info info;

    memset(&info, 0, sizeof info);
    PP_ASSERT_STATUS_FATAL(pp__plat_launcher_create(PP__START_FORK, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__plat_launcher_start(l, &proc, &chan), PP_OK);
    if (hello) {
        char buf[2] = {0, 0};
        size_t got = 0, n;

        while (got < sizeof buf &&
               pp__plat_chan_read(chan, buf + got, sizeof buf - got, &n) == PP_OK)
            got += n;
        CU_ASSERT(got == 2 && memcmp(buf, "hi", 2) == 0);
    }
    PP_ASSERT_STATUS(pp__plat_proc_wait(proc, WAIT_MS, &info), PP_OK);
    pp__plat_proc_release(proc);
    pp__plat_chan_close(chan);
    pp__plat_launcher_destroy(l);
    return info;
}
#endif

/* A worker forked by a zygote runs the registered entry with its channel
 * and exits with the entry's return value. */
static void t_worker_entry_fork(void)
{
#ifndef _WIN32
    pp__exit_info info;

    pp__plat_set_worker_entry(hello_entry); /* this test process only */
    info = run_forked_worker(1);
    CU_ASSERT_EQUAL(info.exited, 1);
    CU_ASSERT_EQUAL(info.code, ENTRY_EXIT);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

#ifndef _WIN32
#define QUICK_EXIT 9

/* A worker entry that ends at once. */
static int quick_exit_entry(pp__plat_chan *chan)
{
    (void)chan;
    return QUICK_EXIT;
}
#endif

/*
 * A fork launcher created for 3 workers forks them unasked, and here each
 * ends at once, before or after it is taken: every start still yields a
 * worker whose end is reported with its real status (one that ended
 * before it was taken is not handed out; one taken just before its end
 * is reported). Taken at once, then again after a pause in which the
 * workers forked ahead have ended.
 */
static void t_prefork_ends_reported(void)
{
#ifndef _WIN32
    pp__plat_launcher *l = NULL;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
    pp__exit_info info;
    int round, i;

    pp__plat_set_worker_entry(quick_exit_entry); /* this test process only */
    for (round = 0; round < 2; round++) {
        PP_ASSERT_STATUS_FATAL(pp__plat_launcher_create_for(PP__START_FORK, 3, &l), PP_OK);
        if (round == 1)
            pp_test_sleep_ms(200); /* the workers forked ahead end meanwhile */
        for (i = 0; i < 4; i++) {
            proc = NULL;
            chan = NULL;
            PP_ASSERT_STATUS_FATAL(pp__plat_launcher_start(l, &proc, &chan), PP_OK);
            memset(&info, 0, sizeof info);
            PP_ASSERT_STATUS(pp__plat_proc_wait(proc, WAIT_MS, &info), PP_OK);
            PP_ASSERT_MSG(info.exited && info.code == QUICK_EXIT,
                          "round %d, worker %d: %s instead of exit code %d", round, i, info.what,
                          QUICK_EXIT);
            pp__plat_chan_close(chan);
            pp__plat_proc_release(proc);
        }
        pp__plat_launcher_destroy(l);
    }
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

#ifndef _WIN32
/* Descriptors of the program at the launcher's creation (fd_check_entry):
 * without close-on-exec, a worker inherits them; with it, it does not
 * (the zygote closes them: other pools' channels are such). High numbers
 * and gaps between them, so no range of closed descriptors is skipped. */
static const int fd_keep[] = {41, 150, 153};
static const int fd_drop[] = {40, 42, 151, 152, 400};
#define FD_CHECK_OK 11

static int fd_open_as(int fd, int cloexec)
{
    int t = open("/dev/null", O_RDONLY);

    if (t < 0)
        return -1;
    if (dup2(t, fd) < 0) {
        close(t);
        return -1;
    }
    close(t);
    return fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
}

/* Exits FD_CHECK_OK if the worker has exactly what it should, else 20 +
 * the index of the first wrong descriptor (keep first, then drop). */
static int fd_check_entry(pp__plat_chan *chan)
{
    size_t i;

    (void)chan;
    for (i = 0; i < sizeof fd_keep / sizeof *fd_keep; i++) {
        int fl = fcntl(fd_keep[i], F_GETFD);
        if (fl < 0 || (fl & FD_CLOEXEC))
            return 20 + (int)i;
    }
    for (i = 0; i < sizeof fd_drop / sizeof *fd_drop; i++) {
        if (fcntl(fd_drop[i], F_GETFD) >= 0)
            return 30 + (int)i;
    }
    return FD_CHECK_OK;
}
#endif

/* A forked worker inherits the program's descriptors that have no
 * close-on-exec and none of those that have it (as after an exec), also
 * above gaps in the numbers; the worker forked unasked (the first ones)
 * as well as one asked for later. */
static void t_fork_worker_fds(void)
{
#ifndef _WIN32
    pp__plat_launcher *l = NULL;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
    pp__exit_info info;
    size_t i;
    int k;

    for (i = 0; i < sizeof fd_keep / sizeof *fd_keep; i++)
        CU_ASSERT_EQUAL_FATAL(fd_open_as(fd_keep[i], 0), 0);
    for (i = 0; i < sizeof fd_drop / sizeof *fd_drop; i++)
        CU_ASSERT_EQUAL_FATAL(fd_open_as(fd_drop[i], 1), 0);
    pp__plat_set_worker_entry(fd_check_entry); /* this test process only */
    PP_ASSERT_STATUS_FATAL(pp__plat_launcher_create_for(PP__START_FORK, 1, &l), PP_OK);
    for (k = 0; k < 2; k++) {
        proc = NULL;
        chan = NULL;
        PP_ASSERT_STATUS_FATAL(pp__plat_launcher_start(l, &proc, &chan), PP_OK);
        memset(&info, 0, sizeof info);
        PP_ASSERT_STATUS(pp__plat_proc_wait(proc, WAIT_MS, &info), PP_OK);
        PP_ASSERT_MSG(info.exited && info.code == FD_CHECK_OK,
                      "worker %d: %s (expected exit code %d: 2x is a descriptor lost, 3x "
                      "one inherited)",
                      k, info.what, FD_CHECK_OK);
        pp__plat_chan_close(chan);
        pp__plat_proc_release(proc);
    }
    pp__plat_launcher_destroy(l);
    for (i = 0; i < sizeof fd_keep / sizeof *fd_keep; i++)
        close(fd_keep[i]);
    for (i = 0; i < sizeof fd_drop / sizeof *fd_drop; i++)
        close(fd_drop[i]);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* With no entry registered, a forked worker exits at once, non-zero. */
static void t_worker_entry_unset(void)
{
#ifndef _WIN32
    pp__exit_info info;

    pp__plat_set_worker_entry(NULL);
    info = run_forked_worker(0);
    CU_ASSERT_EQUAL(info.exited, 1);
    CU_ASSERT(info.code != 0);
#else
    CU_FAIL("no fork() on Windows (this test is on the skip list there)");
#endif
}

/* A spawned process's role marker is "<role>:<fd>" with an optional
 * ":<parent pid>" (POSIX, for the parent watchdog): anything else after
 * the fd is refused before the process becomes anything. */
static void t_role_marker_parent_checked(void)
{
#ifndef _WIN32
    static const char *const bad[] = {"--pp-role=worker:2:",    "--pp-role=worker:2:x",
                                      "--pp-role=worker:2:0",   "--pp-role=worker:2:-5",
                                      "--pp-role=worker:2:12x", "--pp-role=worker:2:1:2"};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[3];
        char **av = argv;
        int argc = 2, role = -9;
        pp__plat_chan *chan = NULL;

        argv[0] = (char *)"prog";
        argv[1] = (char *)bad[i];
        argv[2] = NULL;
        PP_ASSERT_MSG(pp__plat_role_detect(&argc, &av, &role, &chan) == PP_EINVAL,
                      "marker %s accepted", bad[i]);
        CU_ASSERT_EQUAL(argc, 2);
        CU_ASSERT_PTR_NULL(chan);
    }
#else
    CU_FAIL("POSIX marker (on the skip list for Windows)");
#endif
}

/* clock.h: monotonic, ms and ns agree, a sleep lasts at least its time
 * (upper bounds are not asserted), a non-positive sleep returns. */
static void t_public_clock(void)
{
    int64_t a = pp_monotonic_ms(), n0 = pp_monotonic_ns(), b, n1, i;

    for (i = 0; i < 1000; i++) {
        b = pp_monotonic_ms();
        CU_ASSERT(b >= a);
        a = b;
    }
    pp_sleep_ms(0);
    pp_sleep_ms(-5);
    a = pp_monotonic_ms();
    pp_sleep_ms(50);
    b = pp_monotonic_ms();
    n1 = pp_monotonic_ns();
    CU_ASSERT(b - a >= 50 - pp_test_clock_slack_ms());
    CU_ASSERT(n1 > n0);
    CU_ASSERT(n1 / 1000000 >= b - 1 && n1 / 1000000 <= b + 1000);
}

/* The wake word of a sync segment: waits that time out, or that find the
 * word moved already, leave no wake-up behind. On Windows each such wait
 * left its count in the waiter word, the next wake released a semaphore
 * unit for it, and nothing ever took those units back: every later wait
 * of every process returned at once (a busy loop growing with the time
 * waiters had slept before). */
static void t_sobj_wait_leaves_no_wakes(void)
{
    pp__plat_sobj *s = NULL;
    char name[64];
    uint32_t seq;
    int i, early = 0;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp__plat_sobj_create(name, 1, 64, NULL, &s), PP_OK);
    seq = pp__plat_sobj_seq(s);
    for (i = 0; i < 20; i++)
        PP_ASSERT_STATUS(pp__plat_sobj_wait(s, seq, 1), PP_ETIMEDOUT);
    pp__plat_sobj_wake(s);
    for (i = 0; i < 20; i++) /* the word moved: at once */
        PP_ASSERT_STATUS(pp__plat_sobj_wait(s, seq, 1000), PP_OK);
    pp__plat_sobj_wake(s);
    seq = pp__plat_sobj_seq(s);
    for (i = 0; i < 5; i++)
        if (pp__plat_sobj_wait(s, seq, 20) != PP_ETIMEDOUT)
            early++;
    CU_ASSERT_EQUAL(early, 0);
    /* a wake still wakes a waiter that counted itself */
    pp__plat_sobj_wake(s);
    PP_ASSERT_STATUS(pp__plat_sobj_wait(s, seq, 1000), PP_OK);
    pp__plat_sobj_close(s);
    PP_ASSERT_STATUS(pp__plat_sobj_unlink(name), PP_OK);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_thread_runs_fn),
    PP_TEST(t_public_clock),
    PP_TEST(t_mutex_excludes),
    PP_TEST(t_cond_timeout_zero),
    PP_TEST(t_cond_timeout_50ms),
    PP_TEST(t_cond_signal_wakes),
    PP_TEST(t_cond_broadcast_wakes_all),
    PP_TEST(t_cond_huge_timeout),
    PP_TEST(t_mtx_reset_after_fork),
    PP_TEST(t_mtx_reset_after_fork_own),
    PP_TEST(t_worker_entry_fork),
    PP_TEST(t_worker_entry_unset),
    PP_TEST(t_prefork_ends_reported),
    PP_TEST(t_fork_worker_fds),
    PP_TEST(t_role_marker_parent_checked),
    PP_TEST(t_sobj_wait_leaves_no_wakes),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(platform)
{
    pp_test_add_suite("platform", cases);
}
