/*
 * test_sync_death.c — local synchronization kinds (sync.h) when a
 * participant dies: killed (SIGKILL / TerminateProcess) while holding
 * units, while waiting, or in the middle of an operation (while it holds
 * a segment's state mutex), and the repair of a torn update (a redo
 * record left by a process that died inside its critical section).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pp_test.h"
#include "sync/sobj.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())
#define LINE_MS (30000 * pp_test_timeout_mult())

static void die_setup(const char *helper, const char *what, pp_status st)
{
    fprintf(stderr, "%s: %s: %s\n", helper, what, pp_err_name(st));
    exit(PP_TEST_EXIT_SETUP);
}

/* ------------------------------------------------------------ helpers */

/* sync-sem-hold NAME: acquire (forever), say the status, wait for EOF on
 * stdin (the test kills it first). */
static int h_sem_hold(int argc, char **argv)
{
    pp_sem *s = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_sem_open(argv[1], &s);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    st = pp_sem_acquire(s, PP_INFINITE);
    pp_test_say(pp_err_name(st));
    while (pp_test_stdin_byte() != -1)
        ;
    return 0;
}

/* sync-sem-loop NAME: say "ready", then acquire and release as fast as
 * it can until killed. */
static int h_sem_loop(int argc, char **argv)
{
    pp_sem *s = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_sem_open(argv[1], &s);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    pp_test_say("ready");
    for (;;) {
        st = pp_sem_acquire(s, PP_INFINITE);
        if (st != PP_OK && st != PP_EOWNERDEAD)
            return pp_test_exit_from_status(st);
        st = pp_sem_release(s);
        if (st != PP_OK)
            return pp_test_exit_from_status(st);
    }
}

/* sync-sem-flow NAME give|take: say "ready", then release (a process
 * that holds nothing: each release adds a unit, or fails PP_ESTATE at the
 * bound) or acquire (and never release) as fast as it can until killed. */
static int h_sem_flow(int argc, char **argv)
{
    pp_sem *s = NULL;
    pp_status st;
    int give;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    give = strcmp(argv[2], "give") == 0;
    st = pp_sem_open(argv[1], &s);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    pp_test_say("ready");
    for (;;) {
        st = give ? pp_sem_release(s) : pp_sem_acquire(s, PP_INFINITE);
        if (st != PP_OK && st != PP_ESTATE && st != PP_EOWNERDEAD)
            return pp_test_exit_from_status(st);
    }
}

/* sync-bar-wait NAME: say "ready", wait at the barrier NAME (the test
 * kills it meanwhile); exit with the status. */
static int h_bar_wait(int argc, char **argv)
{
    pp_barrier *b = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_barrier_open(argv[1], &b);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    pp_test_say("ready");
    return pp_test_exit_from_status(pp_barrier_wait(b, PP_INFINITE, NULL));
}

/* sync-cond-wait NAME: take the condition's lock, say "ready", wait on
 * the condition NAME (the test kills it meanwhile). */
static int h_cond_wait(int argc, char **argv)
{
    pp_lock *lock = NULL;
    pp_cond *c = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_cond_open(argv[1], &c);
    if (st == PP_OK)
        st = pp_cond_lock(c, &lock);
    if (st == PP_OK)
        st = pp_lock_acquire(lock, PP_INFINITE);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    pp_test_say("ready");
    st = pp_cond_wait(c, PP_INFINITE);
    pp_lock_release(lock);
    return pp_test_exit_from_status(st);
}

/* sync-sem-create NAME: create a semaphore NAME, say "ready", wait for
 * EOF on stdin (the test kills it first). */
static int h_sem_create(int argc, char **argv)
{
    pp_sem *s = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_sem_create(argv[1], 1, 0, &s);
    if (st != PP_OK)
        die_setup(argv[0], "create", st);
    pp_test_say("ready");
    while (pp_test_stdin_byte() != -1)
        ;
    pp_sem_destroy(s);
    return 0;
}

/* sync-die-locked NAME: take the state mutex of the sync object NAME and
 * exit holding it (a process killed inside a critical section). */
static int h_die_locked(int argc, char **argv)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp__sobj_open(0, argv[1], &o);
    if (st != PP_OK)
        die_setup(argv[0], "open", st);
    st = pp__plat_sobj_lock(pp__sobj_plat(o), PP_INFINITE);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        die_setup(argv[0], "lock", st);
    fflush(NULL);
    pp__plat_exit(0); /* no unlock */
    return 0;
}

static pp_test_child *spawn_expect(const char *helper, const char *name, const char *line)
{
    const char *args[] = {name, NULL};
    pp_test_child *c = pp_test_spawn(helper, args);

    CU_ASSERT_FATAL(c != NULL);
    if (!pp_test_child_expect(c, line, LINE_MS)) {
        pp_test_child_free(c);
        CU_FAIL_FATAL("the helper did not start");
    }
    return c;
}

/* ------------------------------------------------------------ semaphore */

/* A holder killed: its unit comes back, the next acquirer is told once. */
static void t_sem_holder_killed(void)
{
    char name[PP_NAME_MAX + 1];
    pp_sem *s = NULL;
    pp_test_child *c;
    int64_t v = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 1, &s), PP_OK);
    c = spawn_expect("sync-sem-hold", name, "PP_OK");
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE);      /* bounded: 1 unit, not 2 */
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_OK); /* told once */
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    pp_sem_destroy(s);
}

/* PP_SEM_UNOWNED: no owner-death reporting. A holder killed keeps its
 * unit for good (nothing given back, nobody told); a process waiting at
 * 0 is woken by a release from another process. */
static void t_sem_unowned_holder_killed(void)
{
    char name[PP_NAME_MAX + 1];
    pp_sem *s = NULL;
    pp_test_child *c;
    int64_t v = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, PP_SEM_UNOWNED, &s), PP_OK);
    c = spawn_expect("sync-sem-hold", name, "PP_OK");
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    /* a few slices: a semaphore with holder records gives the unit back
     * within one (t_sem_waiter_gets_dead_units) */
    PP_ASSERT_STATUS(pp_sem_acquire(s, 300), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    /* a waiting process gets the unit another one releases */
    {
        const char *args[] = {name, NULL};
        c = pp_test_spawn("sync-sem-hold", args);
        CU_ASSERT_FATAL(c != NULL);
    }
    pp_test_sleep_ms(100);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    CU_ASSERT(pp_test_child_expect(c, "PP_OK", LINE_MS)); /* never PP_EOWNERDEAD */
    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_OK);
    pp_sem_destroy(s);
}

static void kill_later(void *arg)
{
    pp_test_sleep_ms(200);
    pp_test_child_kill(arg);
}

/* A waiter blocked on value 0 gets the dead holder's unit within a few
 * slices, without anyone releasing. */
static void t_sem_waiter_gets_dead_units(void)
{
    char name[PP_NAME_MAX + 1];
    pp_sem *s = NULL;
    pp_test_thread *th;
    pp_test_child *c;
    int64_t t0, dt;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 0, &s), PP_OK);
    c = spawn_expect("sync-sem-hold", name, "PP_OK");
    th = pp_test_thread_start(kill_later, c); /* killed and reaped while we wait */
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_EOWNERDEAD);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(dt < 10000 * pp_test_timeout_mult(), "took %lld ms", (long long)dt);
    pp_test_thread_join(th);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    pp_sem_destroy(s);
}

/* Processes killed at random points of a tight acquire/release loop —
 * also while they hold the state mutex or are in the middle of an update:
 * the state is repaired, nothing hangs, no unit is lost or made up. */
static void t_sem_killed_in_loop(void)
{
    enum { LOOPERS = 2, ROUNDS = 12 };
    char name[PP_NAME_MAX + 1];
    pp_test_child *c[LOOPERS];
    pp_sem *s = NULL;
    int64_t v = -1;
    pp_status st;
    int i, r;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 2, 1, &s), PP_OK);
    for (i = 0; i < LOOPERS; i++)
        c[i] = spawn_expect("sync-sem-loop", name, "ready");
    for (r = 0; r < ROUNDS; r++) {
        i = r % LOOPERS;
        pp_test_sleep_ms(10 + (r * 7) % 40);
        pp_test_child_kill(c[i]);
        pp_test_child_free(c[i]);
        c[i] = spawn_expect("sync-sem-loop", name, "ready");
    }
    for (i = 0; i < LOOPERS; i++) {
        pp_test_child_kill(c[i]);
        pp_test_child_free(c[i]);
    }
    /* both units come back (killed holders), each acquire within bounds */
    for (i = 0; i < 2; i++) {
        st = pp_sem_acquire(s, WAIT_MS);
        PP_ASSERT_MSG(st == PP_OK || st == PP_EOWNERDEAD, "acquire %d: %s", i, pp_err_name(st));
    }
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY); /* not a third */
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_ESTATE);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 2);
    pp_sem_destroy(s);
}

/* Take all n units of s (each within a generous bound), then check that
 * there is no other: the value is 0 and a try finds none. */
static void take_all_exactly(pp_sem *s, int n, int round)
{
    int64_t v = -1;
    pp_status st;
    int i;

    for (i = 0; i < n; i++) {
        st = pp_sem_acquire(s, 20000 * pp_test_timeout_mult());
        PP_ASSERT_MSG(st == PP_OK || st == PP_EOWNERDEAD, "round %d, unit %d: %s", round, i,
                      pp_err_name(st));
    }
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY); /* no unit made up */
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    PP_ASSERT_MSG(v == 0, "round %d: value %lld with every unit held", round, (long long)v);
}

/* The lock-free fast path's windows: loopers killed at any instruction of
 * a tight acquire/release loop (between the count's CAS and the holder
 * record's update too) on an UNBOUNDED semaphore (a unit made up would
 * not be cut by a bound), with the units counted exactly after every
 * kill while the others keep looping: this process takes every unit
 * (none lost: each comes within the bound), finds no extra one, gives
 * them back; and at the end the value is exactly the initial one. */
static void t_sem_killed_in_loop_exact(void)
{
    enum { UNITS = 2, LOOPERS = 3, ROUNDS = 40 };
    char name[PP_NAME_MAX + 1];
    pp_test_child *c[LOOPERS];
    pp_sem *s = NULL;
    int64_t v = -1;
    int i, r;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, UNITS, 0, &s), PP_OK);
    for (i = 0; i < LOOPERS; i++)
        c[i] = spawn_expect("sync-sem-loop", name, "ready");
    for (r = 0; r < ROUNDS; r++) {
        i = r % LOOPERS;
        pp_test_sleep_ms(5 + (r * 7) % 23);
        pp_test_child_kill(c[i]);
        pp_test_child_free(c[i]);
        take_all_exactly(s, UNITS, r);
        for (i = 0; i < UNITS; i++)
            PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
        c[r % LOOPERS] = spawn_expect("sync-sem-loop", name, "ready");
    }
    for (i = 0; i < LOOPERS; i++) {
        pp_test_child_kill(c[i]);
        pp_test_child_free(c[i]);
    }
    take_all_exactly(s, UNITS, ROUNDS);
    for (i = 0; i < UNITS; i++)
        PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, UNITS);
    pp_sem_destroy(s);
}

static pp_test_child *spawn_flow(const char *name, const char *mode)
{
    const char *args[] = {name, mode, NULL};
    pp_test_child *c = pp_test_spawn("sync-sem-flow", args);

    CU_ASSERT_FATAL(c != NULL);
    if (!pp_test_child_expect(c, "ready", LINE_MS)) {
        pp_test_child_free(c);
        CU_FAIL_FATAL("the helper did not start");
    }
    return c;
}

/* Releases by a process that holds nothing (they take the state mutex
 * and freeze the count) and acquires by another, both killed at random
 * points: nothing hangs, and once both are gone no unit is lost. (Not
 * "no more": the giver's releases are units for good, so the dead taker
 * may give back more than the bound; the bound caps the VALUE only, as
 * Python's BoundedSemaphore does — this process can take up to twice the
 * bound: the value, then what the taker's death gives back.) */
static void t_sem_flow_killed(void)
{
    enum { UNITS = 2, ROUNDS = 24 };
    char name[PP_NAME_MAX + 1];
    pp_test_child *give, *take;
    pp_sem *s = NULL;
    int64_t v = -1;
    pp_status st;
    int r, i, held;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, UNITS, 1, &s), PP_OK);
    give = spawn_flow(name, "give");
    take = spawn_flow(name, "take");
    for (r = 0; r < ROUNDS; r++) {
        pp_test_sleep_ms(5 + (r * 7) % 23);
        if (r % 2 == 0) {
            pp_test_child_kill(give);
            pp_test_child_free(give);
            give = spawn_flow(name, "give");
        } else {
            pp_test_child_kill(take);
            pp_test_child_free(take);
            take = spawn_flow(name, "take");
        }
    }
    pp_test_child_kill(give);
    pp_test_child_free(give);
    pp_test_child_kill(take);
    pp_test_child_free(take);
    for (held = 0; held <= 4 * UNITS; held++) {
        st = held < UNITS ? pp_sem_acquire(s, 20000 * pp_test_timeout_mult())
                          : pp_sem_try_acquire(s); /* a try reaps the dead */
        if (st == PP_EBUSY)
            break;
        PP_ASSERT_MSG(st == PP_OK || st == PP_EOWNERDEAD, "unit %d: %s", held, pp_err_name(st));
    }
    PP_ASSERT_MSG(held >= UNITS && held <= 2 * UNITS, "took %d units, bound %d", held, UNITS);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 0);
    for (i = 0; i < held; i++)
        PP_ASSERT_STATUS(pp_sem_release(s), i < UNITS ? PP_OK : PP_ESTATE);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, UNITS);
    pp_sem_destroy(s);
}

/* -------------------------------------------------------------- barrier */

/* A waiter killed before the last party arrives: the last arrival must
 * not pass (PP_OK) as if the dead one had made the rendezvous; it breaks
 * the barrier (PP_EBROKEN), as the other waiters would have. */
static void t_barrier_last_arrival_after_death(void)
{
    char name[PP_NAME_MAX + 1];
    pp_barrier *b = NULL;
    pp_test_child *c;
    int64_t waiting = 0, t0;
    int broken = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_barrier_create(name, 2, &b), PP_OK);
    c = spawn_expect("sync-bar-wait", name, "ready");
    t0 = pp_test_now_ms();
    do {
        pp_test_sleep_ms(5);
        PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, NULL), PP_OK);
    } while (waiting < 1 && pp_test_now_ms() - t0 < WAIT_MS);
    CU_ASSERT_EQUAL_FATAL(waiting, 1);
    pp_test_child_kill(c); /* and reaped */
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, NULL), PP_EBROKEN);
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT_EQUAL(broken, 1);
    PP_ASSERT_STATUS(pp_barrier_reset(b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT_EQUAL(waiting, 0);
    CU_ASSERT_EQUAL(broken, 0);
    pp_barrier_destroy(b);
}

/* A waiting process killed: the barrier breaks, a waiter in another
 * process gets PP_EBROKEN within a few slices, and so does every wait
 * until a reset. */
static void t_barrier_waiter_killed(void)
{
    char name[PP_NAME_MAX + 1];
    pp_barrier *b = NULL;
    pp_test_thread *th;
    pp_test_child *c;
    int64_t waiting = 0, t0, dt;
    int broken = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_barrier_create(name, 3, &b), PP_OK);
    c = spawn_expect("sync-bar-wait", name, "ready");
    t0 = pp_test_now_ms();
    do {
        pp_test_sleep_ms(5);
        PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, NULL), PP_OK);
    } while (waiting < 1 && pp_test_now_ms() - t0 < WAIT_MS);
    CU_ASSERT_EQUAL_FATAL(waiting, 1);
    th = pp_test_thread_start(kill_later, c);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_barrier_wait(b, WAIT_MS, NULL), PP_EBROKEN);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(dt < 10000 * pp_test_timeout_mult(), "took %lld ms", (long long)dt);
    pp_test_thread_join(th);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT_EQUAL(broken, 1);
    PP_ASSERT_STATUS(pp_barrier_wait(b, 0, NULL), PP_EBROKEN);
    PP_ASSERT_STATUS(pp_barrier_reset(b), PP_OK);
    PP_ASSERT_STATUS(pp_barrier_state(b, &waiting, &broken), PP_OK);
    CU_ASSERT(broken == 0 && waiting == 0);
    pp_barrier_destroy(b);
}

/* ------------------------------------------------------------ condition */

typedef struct cwait {
    pp_cond *c;
    pp_lock *lock;
    volatile int waiting;
    pp_status st;
} cwait;

static void cond_wait_thread(void *arg)
{
    cwait *w = arg;

    if (pp_lock_acquire(w->lock, WAIT_MS) != PP_OK) {
        w->st = PP_ESYS;
        return;
    }
    w->waiting = 1;
    w->st = pp_cond_wait(w->c, WAIT_MS);
    pp_lock_release(w->lock);
}

/* The oldest waiter is killed: a notify(1) goes to the next, live one,
 * at once; the dead one never takes it. */
static void t_cond_waiter_killed(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *lock = NULL;
    pp_test_thread *th;
    pp_test_child *c;
    cwait w;
    int64_t t0, dt;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &lock), PP_OK);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(name, lock, &w.c), PP_OK);
    c = spawn_expect("sync-cond-wait", name, "ready");
    /* the helper released the lock inside its wait: it is recorded */
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    w.lock = lock;
    w.waiting = 0;
    w.st = PP_ESYS;
    th = pp_test_thread_start(cond_wait_thread, &w);
    for (;;) {
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(lock, WAIT_MS), PP_OK);
        if (w.waiting)
            break; /* held: the thread waits */
        PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
        pp_test_sleep_ms(5);
    }
    pp_test_child_kill(c); /* the older waiter dies */
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_cond_notify(w.c, 1), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_test_thread_join(th);
    dt = pp_test_now_ms() - t0;
    PP_ASSERT_STATUS(w.st, PP_OK);
    PP_ASSERT_MSG(dt < 10000 * pp_test_timeout_mult(), "took %lld ms", (long long)dt);
    pp_test_child_free(c);
    pp_cond_destroy(w.c);
    pp_lock_destroy(lock);
}

/* ------------------------------------------------------------- names */

/* A creator killed without destroying leaves no name behind (POSIX: the
 * resource tracker removes it; Windows: it goes with the last handle). */
static void t_killed_creator_name_removed(void)
{
    char name[PP_NAME_MAX + 1];
    pp_test_child *c;
    pp_sem *s = NULL;
    int64_t t0;
    pp_status st;

    pp_test_unique_name(name, sizeof name);
    c = spawn_expect("sync-sem-create", name, "ready");
    PP_ASSERT_STATUS_FATAL(pp_sem_open(name, &s), PP_OK);
    pp_sem_destroy(s); /* only closes: this process keeps nothing open */
    pp_test_child_kill(c);
    pp_test_child_free(c);
    t0 = pp_test_now_ms();
    do {
        s = NULL;
        st = pp_sem_open(name, &s);
        pp_sem_destroy(s);
        if (st != PP_ENOENT)
            pp_test_sleep_ms(20);
    } while (st != PP_ENOENT && pp_test_now_ms() - t0 < 20000 * pp_test_timeout_mult());
    PP_ASSERT_STATUS(st, PP_ENOENT);
}

/* ------------------------------------------------------- the primitive */

/* A process that dies holding the state mutex: the next one gets it
 * (no hang) and is told. */
static void t_state_mutex_holder_died(void)
{
    char name[PP_NAME_MAX + 1];
    const char *args[2];
    pp_sem *s = NULL;
    int64_t v = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(name, 1, 0, &s), PP_OK);
    args[0] = name;
    args[1] = NULL;
    CU_ASSERT_EQUAL(pp_test_run_helper("sync-die-locked", args, WAIT_MS), 0);
    PP_ASSERT_STATUS(pp__plat_sobj_lock(pp__sobj_plat((pp__sobj *)s), WAIT_MS), PP_EOWNERDEAD);
    pp__plat_sobj_unlock(pp__sobj_plat((pp__sobj *)s));
    PP_ASSERT_STATUS(pp__plat_sobj_lock(pp__sobj_plat((pp__sobj *)s), WAIT_MS), PP_OK);
    pp__plat_sobj_unlock(pp__sobj_plat((pp__sobj *)s));
    /* and through the kind */
    CU_ASSERT_EQUAL(pp_test_run_helper("sync-die-locked", args, WAIT_MS), 0);
    PP_ASSERT_STATUS(pp_sem_value(s, &v), PP_OK);
    CU_ASSERT_EQUAL(v, 1);
    PP_ASSERT_STATUS(pp_sem_acquire(s, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_sem_release(s), PP_OK);
    pp_sem_destroy(s);
}

/* A live process that stops inside a critical section (SIGSTOP, a
 * debugger): a wait with a timeout still ends by its timeout. Here a
 * thread of this process holds the event's state mutex; pp_event_wait()
 * took the mutex without a bound and hung until it was released. */
typedef struct stuck_wait {
    pp_event *e;
    volatile int done;
    pp_status st;
} stuck_wait;

static void stuck_event_wait(void *arg)
{
    stuck_wait *w = arg;

    w->st = pp_event_wait(w->e, 100);
    w->done = 1;
}

static void t_wait_bounded_by_stopped_holder(void)
{
    pp_event *e = NULL;
    pp_sem *s = NULL;
    stuck_wait w;
    pp_test_thread *t;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_event_create(NULL, &e), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_sem_create(NULL, 0, 0, &s), PP_OK);
    memset(&w, 0, sizeof w);
    w.e = e;
    w.st = PP_OK;
    PP_ASSERT_STATUS_FATAL(pp__plat_sobj_lock(pp__sobj_plat((pp__sobj *)e), WAIT_MS), PP_OK);
    t = pp_test_thread_start(stuck_event_wait, &w);
    for (i = 0; i < 100 && !w.done; i++)
        pp_test_sleep_ms(50 * pp_test_timeout_mult());
    CU_ASSERT(w.done); /* ended while the mutex was still held */
    pp__plat_sobj_unlock(pp__sobj_plat((pp__sobj *)e));
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_ETIMEDOUT);
    /* the semaphore already bounds its wait by the deadline */
    PP_ASSERT_STATUS_FATAL(pp__plat_sobj_lock(pp__sobj_plat((pp__sobj *)s), WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_sem_acquire(s, 100), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_sem_try_acquire(s), PP_EBUSY);
    pp__plat_sobj_unlock(pp__sobj_plat((pp__sobj *)s));
    pp_sem_destroy(s);
    pp_event_destroy(e);
}

/* A segment of a sync kind with less state than the kind's struct
 * (another build's layout, or damage): open refuses it (PP_EINVAL)
 * instead of handing out a handle that reads and writes past the state
 * (the queue and the array checked theirs already). */
static void t_short_state_refused(void)
{
    static const uint32_t kinds[] = {PP__SOBJ_SEM, PP__SOBJ_EVENT, PP__SOBJ_BARRIER, PP__SOBJ_COND};
    char name[PP_NAME_MAX + 1];
    pp__plat_sobj *p;
    void *h;
    size_t i;

    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        pp_test_unique_name(name, sizeof name);
        p = NULL;
        PP_ASSERT_STATUS_FATAL(pp__plat_sobj_create(name, kinds[i], 8, NULL, &p), PP_OK);
        h = NULL;
        switch (kinds[i]) {
        case PP__SOBJ_SEM:
            PP_ASSERT_STATUS(pp_sem_open(name, (pp_sem **)&h), PP_EINVAL);
            break;
        case PP__SOBJ_EVENT:
            PP_ASSERT_STATUS(pp_event_open(name, (pp_event **)&h), PP_EINVAL);
            break;
        case PP__SOBJ_BARRIER:
            PP_ASSERT_STATUS(pp_barrier_open(name, (pp_barrier **)&h), PP_EINVAL);
            break;
        default:
            PP_ASSERT_STATUS(pp_cond_open(name, (pp_cond **)&h), PP_EINVAL);
            break;
        }
        CU_ASSERT_PTR_NULL(h);
        pp__plat_sobj_close(p);
        PP_ASSERT_STATUS(pp__plat_sobj_unlink(name), PP_OK);
    }
}

/* A torn update: a process died after committing its redo record and
 * before (or while) applying it. The next holder of the state mutex
 * rolls it forward; an uncommitted record (n = 0) is dropped. */
static void t_redo_rolled_forward(void)
{
    char name[PP_NAME_MAX + 1];
    const char *args[2];
    pp__sobj *o = NULL;
    pp__sobj_redo *r;
    uint64_t *w;
    int repaired = 0;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp__sobj_create(PP__SOBJ_EVENT, name, 256, NULL, &o), PP_OK);
    w = pp__sobj_state(o);
    r = (pp__sobj_redo *)w;
    /* committed: two stores, the first of them applied already */
    r->off[0] = 30;
    r->val[0] = 7;
    r->off[1] = 31;
    r->val[1] = 8;
    r->n = 2;
    w[30] = 7;
    args[0] = name;
    args[1] = NULL;
    CU_ASSERT_EQUAL(pp_test_run_helper("sync-die-locked", args, WAIT_MS), 0);
    PP_ASSERT_STATUS(pp__sobj_enter(o, pp__sobj_deadline(WAIT_MS), &repaired), PP_OK);
    CU_ASSERT_EQUAL(repaired, 1);
    CU_ASSERT_EQUAL(w[30], 7);
    CU_ASSERT_EQUAL(w[31], 8);
    CU_ASSERT_EQUAL(r->n, 0);
    pp__sobj_leave(o);
    /* not committed: nothing applied */
    r->off[0] = 30;
    r->val[0] = 70;
    r->n = 0;
    CU_ASSERT_EQUAL(pp_test_run_helper("sync-die-locked", args, WAIT_MS), 0);
    PP_ASSERT_STATUS(pp__sobj_enter(o, pp__sobj_deadline(WAIT_MS), &repaired), PP_OK);
    CU_ASSERT_EQUAL(repaired, 1);
    CU_ASSERT_EQUAL(w[30], 7);
    pp__sobj_leave(o);
    /* a clean section: nothing to repair */
    PP_ASSERT_STATUS(pp__sobj_enter(o, pp__sobj_deadline(WAIT_MS), &repaired), PP_OK);
    CU_ASSERT_EQUAL(repaired, 0);
    pp__sobj_leave(o);
    pp__sobj_destroy(o);
}

/* Liveness: this process is alive, a killed one is not, a pid with
 * another stamp (reused) is not. */
static void t_proc_alive(void)
{
    uint64_t pid = 0, stamp = 0;
    pp_test_child *c;

    pp__plat_proc_self_stamp(&pid, &stamp);
    CU_ASSERT_EQUAL(pid, pp__plat_getpid());
    CU_ASSERT_EQUAL(pp__plat_proc_alive(pid, stamp), 1);
    CU_ASSERT_EQUAL(pp__plat_proc_alive(pid, 0), 1);
    if (stamp != 0)
        CU_ASSERT_EQUAL(pp__plat_proc_alive(pid, stamp + 1), 0);
    CU_ASSERT_EQUAL(pp__plat_proc_alive(0, 0), 0);
    c = pp_test_spawn("sync-sem-hold", (const char *[]){"no-such-sem-x", NULL});
    CU_ASSERT_FATAL(c != NULL);
    pid = (uint64_t)pp_test_child_pid(c);
    pp_test_child_kill(c); /* and reaped */
    pp_test_child_free(c);
    CU_ASSERT_EQUAL(pp__plat_proc_alive(pid, 0), 0);
}

/* The lock of a condition whose holder was killed: a notify or a wait by
 * a thread that does not hold the lock (PP_EPERM) must not use up the
 * lock's "a holder died" notice. The held check tried to take the lock
 * to find out, got PP_EOWNERDEAD, released it: the next real acquirer
 * got PP_OK, never told that the data may need repair. */
static void t_cond_misuse_keeps_owner_dead(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *l = NULL;
    pp_cond *c = NULL;
    pp_test_child *ch;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_cond_create(NULL, l, &c), PP_OK);
    ch = spawn_expect("lock-hold", name, "PP_OK");
    pp_test_child_kill(ch);
    pp_test_child_free(ch);
    PP_ASSERT_STATUS(pp_cond_notify(c, 1), PP_EPERM);
    PP_ASSERT_STATUS(pp_cond_notify_all(c), PP_EPERM);
    PP_ASSERT_STATUS(pp_cond_wait(c, 0), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_acquire(l, WAIT_MS), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_cond_notify(c, 1), PP_OK); /* held now */
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_cond_destroy(c);
    pp_lock_destroy(l);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_sem_holder_killed),
    PP_TEST(t_sem_waiter_gets_dead_units),
    PP_TEST(t_sem_unowned_holder_killed),
    PP_TEST_TIMEOUT(t_sem_killed_in_loop, 180),
    PP_TEST_TIMEOUT(t_sem_killed_in_loop_exact, 300),
    PP_TEST_TIMEOUT(t_sem_flow_killed, 180),
    PP_TEST(t_barrier_waiter_killed),
    PP_TEST(t_barrier_last_arrival_after_death),
    PP_TEST(t_cond_waiter_killed),
    PP_TEST(t_cond_misuse_keeps_owner_dead),
    PP_TEST(t_killed_creator_name_removed),
    PP_TEST(t_state_mutex_holder_died),
    PP_TEST(t_redo_rolled_forward),
    PP_TEST(t_short_state_refused),
    PP_TEST(t_wait_bounded_by_stopped_holder),
    PP_TEST(t_proc_alive),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {
    {"sync-sem-hold", h_sem_hold},     {"sync-sem-loop", h_sem_loop},
    {"sync-sem-flow", h_sem_flow},     {"sync-bar-wait", h_bar_wait},
    {"sync-cond-wait", h_cond_wait},   {"sync-sem-create", h_sem_create},
    {"sync-die-locked", h_die_locked}, {NULL, NULL}};

PP_TEST_SUITE(sync_death)
{
    pp_test_add_suite("sync_death", cases);
    pp_test_add_helpers(helpers);
}
