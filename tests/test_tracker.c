/*
 * test_tracker.c — the POSIX resource tracker (platform/posix/
 * posix_tracker.c): names a process created and did not remove are
 * removed once it has exited, however it ended.
 *
 * A helper child (this binary, "--helper tracker-victim LOCK SHM MODE")
 * creates a lock and a shm block under the names the test gives it,
 * says "ready", and then is SIGKILLed (hold), destroys both on request
 * (destroy), or exits without destroying them (leave). The test checks
 * the names in /dev/shm (elsewhere: pp_shm_open() says PP_ENOENT or not)
 * and, on Linux, finds the helper's tracker in /proc by its role marker
 * and the helper's unique names on its command line (the tracker is the
 * program's image with the helper's argv), to check that it ignores the
 * signals a terminal sends to the whole process group and that it is
 * gone after its client. Another helper ("tracker-pool METHOD TOKEN")
 * runs a pool, to check that workers and fork servers start no tracker
 * merely by existing.
 *
 * Every wait is bounded (TRACKER_MS): a missing tracker fails the test,
 * it never hangs it. POSIX only (see pp_test_skip.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <dirent.h>
#endif

#include "platform.h"
#include "pp_test.h"
#include "procpool/procpool.h"

#define TRACKER_MS (10000 * pp_test_timeout_mult()) /* names gone, tracker gone */
#define CHILD_MS   (30000 * pp_test_timeout_mult()) /* a helper starts, answers */
#define NAME_BUF   (PP_NAME_MAX + 1)
#define MAX_PIDS   16

/* ------------------------------------------------------------- probes */

/* Does the named object exist (any kind)? */
static int name_exists(const char *name)
{
#ifdef __linux__
    char path[64];

    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return access(path, F_OK) == 0;
#else
    pp_shm *shm = NULL;
    pp_status st = pp_shm_open(name, &shm);

    pp_shm_destroy(shm); /* an opened handle: only detaches */
    return st != PP_ENOENT;
#endif
}

/* Wait up to TRACKER_MS for name to disappear. Returns 1 if it did. */
static int wait_gone(const char *name)
{
    int64_t deadline = pp_test_now_ms() + TRACKER_MS;

    while (name_exists(name)) {
        if (pp_test_now_ms() > deadline)
            return 0;
        pp_test_sleep_ms(10);
    }
    return 1;
}

/* A failed test must not leave its names behind either. */
static void remove_name(const char *name)
{
#ifdef __linux__
    char path[64];

    snprintf(path, sizeof path, "/dev/shm/%s", name);
    (void)unlink(path);
#else
    (void)name;
#endif
}

#ifdef __linux__
#define HAVE_PROC 1

/* Fill pids with the live processes whose command line has the tracker
 * role marker and the argument token; returns how many. A zombie's
 * command line is empty: an exited tracker that nobody reaped yet is not
 * counted. */
static int find_trackers(const char *token, long *pids, int cap)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[4096];
        int marker = 0, has_token = 0;
        size_t len, at;
        FILE *f;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        f = fopen(path, "rb");
        if (f == NULL)
            continue;
        len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (at = 0; at < len; at += strlen(buf + at) + 1) {
            marker |= strncmp(buf + at, "--pp-role=tracker:", 18) == 0;
            has_token |= strcmp(buf + at, token) == 0;
        }
        if (marker && has_token && n < cap)
            pids[n++] = atol(e->d_name);
    }
    closedir(d);
    return n;
}

/* Wait up to TRACKER_MS until no tracker with token is left. */
static int wait_no_tracker(const char *token)
{
    int64_t deadline = pp_test_now_ms() + TRACKER_MS;
    long pids[MAX_PIDS];

    while (find_trackers(token, pids, MAX_PIDS) > 0) {
        if (pp_test_now_ms() > deadline)
            return 0;
        pp_test_sleep_ms(10);
    }
    return 1;
}
#endif

/* ------------------------------------------------------------ helpers */

/* tracker-victim LOCK SHM MODE: create both, say "ready", then
 *  hold:    wait (to be killed; stdin EOF ends it cleanly);
 *  destroy: on a byte from stdin destroy both, say "destroyed", wait;
 *  leave:   on stdin EOF exit at once, without destroying anything. */
static int h_victim(int argc, char **argv)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_status st;

    if (argc != 4)
        return PP_TEST_EXIT_USAGE;
    st = pp_lock_create(argv[1], &lock);
    if (st == PP_OK)
        st = pp_shm_create(argv[2], 4096, &shm);
    if (st != PP_OK) {
        fprintf(stderr, "%s: create: %s\n", argv[0], pp_err_name(st));
        pp_shm_destroy(shm);
        pp_lock_destroy(lock);
        return pp_test_exit_from_status(st);
    }
    pp_test_say("ready");
    if (strcmp(argv[3], "destroy") == 0 && pp_test_stdin_byte() >= 0) {
        pp_shm_destroy(shm);
        pp_lock_destroy(lock);
        shm = NULL;
        lock = NULL;
        pp_test_say("destroyed");
    }
    while (pp_test_stdin_byte() >= 0) {
    }
    if (strcmp(argv[3], "leave") == 0)
        pp__plat_exit(0); /* no destroy, no pp_shutdown */
    pp_shm_destroy(shm);
    pp_lock_destroy(lock);
    return 0;
}

static int tk_trk_noop(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(tk_trk_noop)

/* Create a block under a fresh name in the worker, and remove it. */
static int tk_trk_create(pp_task *t)
{
    pp_shm *shm = NULL;
    pp_status st = pp_shm_create(NULL, 64, &shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "pp_shm_create: %s", pp_err_name(st));
    pp_shm_destroy(shm);
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(tk_trk_create)

/* tracker-pool METHOD TOKEN: a pool of 2 (its control blocks are the
 * helper's names), one task: "pool"; on a byte from stdin a task that
 * creates a name in a worker: "created"; then on stdin EOF exit. TOKEN
 * only marks the command line of every process of this helper. */
static int h_pool(int argc, char **argv)
{
    pp_pool_options o;
    pp_pool *pool = NULL;
    pp_status st;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)atoi(argv[1]);
    st = pp_pool_create(&pool, &o);
    if (st == PP_OK)
        st = pp_apply(pool, tk_trk_noop, NULL, NULL, NULL);
    if (st == PP_OK)
        pp_test_say("pool");
    if (st == PP_OK && pp_test_stdin_byte() >= 0) {
        st = pp_apply(pool, tk_trk_create, NULL, NULL, NULL);
        if (st == PP_OK)
            pp_test_say("created");
    }
    if (st != PP_OK)
        fprintf(stderr, "%s: %s\n", argv[0], pp_err_name(st));
    while (st == PP_OK && pp_test_stdin_byte() >= 0) {
    }
    pp_pool_destroy(pool);
    return st == PP_OK ? 0 : pp_test_exit_from_status(st);
}

/* -------------------------------------------------------------- tests */

typedef struct victim {
    char lock[NAME_BUF];
    char shm[NAME_BUF];
    pp_test_child *child;
} victim;

/* Start a tracker-victim in mode and wait for "ready"; both names must
 * exist then. Returns 1 if all went so. */
static int victim_start(victim *v, const char *mode)
{
    const char *args[4];

    pp_test_unique_name(v->lock, sizeof v->lock);
    pp_test_unique_name(v->shm, sizeof v->shm);
    args[0] = v->lock;
    args[1] = v->shm;
    args[2] = mode;
    args[3] = NULL;
    v->child = pp_test_spawn("tracker-victim", args);
    if (v->child == NULL || !pp_test_child_expect(v->child, "ready", CHILD_MS))
        return 0;
    PP_ASSERT_MSG(name_exists(v->lock), "/dev/shm/%s: the helper's lock is not there", v->lock);
    PP_ASSERT_MSG(name_exists(v->shm), "/dev/shm/%s: the helper's block is not there", v->shm);
    return name_exists(v->lock) && name_exists(v->shm);
}

static void victim_end(victim *v)
{
    pp_test_child_free(v->child);
    remove_name(v->lock);
    remove_name(v->shm);
}

/* Does the lock file of lock name exist? Only where the system has no
 * robust mutexes (or a build forces the fallback) is there one
 * (platform/posix/posix_flock.c): the tracker removes it with the name. */
static int lock_file_exists(const char *name)
{
#ifndef _WIN32
    char path[128];

    snprintf(path, sizeof path, "/tmp/procpool-%lu/%s.lock", (unsigned long)geteuid(), name);
    return access(path, F_OK) == 0;
#else
    (void)name;
    return 0;
#endif
}

/* Both names disappear within TRACKER_MS (what is left is removed), and
 * the lock's file with them (removed before its name). */
static void assert_removed(const victim *v, const char *after)
{
    PP_ASSERT_MSG(wait_gone(v->lock), "/dev/shm/%s (lock) still there %d ms after %s", v->lock,
                  TRACKER_MS, after);
    PP_ASSERT_MSG(wait_gone(v->shm), "/dev/shm/%s (shm) still there %d ms after %s", v->shm,
                  TRACKER_MS, after);
    PP_ASSERT_MSG(!lock_file_exists(v->lock), "the lock file of %s still there after %s", v->lock,
                  after);
}

/* The creator is SIGKILLed holding both names: the tracker removes them
 * and exits. On Linux also: there is exactly one tracker for the helper,
 * it shrugs off SIGINT, SIGTERM, SIGHUP (what Ctrl-C, a process group
 * kill or a hangup would send it with its client), and it is gone after
 * the names. */
static void t_killed_creator_names_removed(void)
{
    victim v;

    memset(&v, 0, sizeof v);
    if (victim_start(&v, "hold")) {
#ifdef HAVE_PROC
        long pids[MAX_PIDS];
        int n = find_trackers(v.lock, pids, MAX_PIDS);

        PP_ASSERT_MSG(n == 1, "%d tracker processes for the helper, expected 1", n);
        if (n == 1) {
            CU_ASSERT_EQUAL(kill((pid_t)pids[0], SIGINT), 0);
            CU_ASSERT_EQUAL(kill((pid_t)pids[0], SIGTERM), 0);
            CU_ASSERT_EQUAL(kill((pid_t)pids[0], SIGHUP), 0);
            pp_test_sleep_ms(100);
            PP_ASSERT_MSG(find_trackers(v.lock, pids, MAX_PIDS) == 1,
                          "the tracker died of SIGINT/SIGTERM/SIGHUP");
        }
#endif
        pp_test_kill_pid(pp_test_child_pid(v.child));
        assert_removed(&v, "the creator was SIGKILLed");
#ifdef HAVE_PROC
        PP_ASSERT_MSG(wait_no_tracker(v.lock), "the tracker still runs %d ms after its client died",
                      TRACKER_MS);
#endif
    }
    victim_end(&v);
}

/* A clean destroy removes the names at once (no waiting for a tracker),
 * and the helper's normal exit afterwards leaves nothing running. */
static void t_clean_destroy_removes_at_once(void)
{
    victim v;

    memset(&v, 0, sizeof v);
    if (victim_start(&v, "destroy")) {
        CU_ASSERT(pp_test_child_write(v.child, "x"));
        if (pp_test_child_expect(v.child, "destroyed", CHILD_MS)) {
            PP_ASSERT_MSG(!name_exists(v.lock), "/dev/shm/%s still there after destroy", v.lock);
            PP_ASSERT_MSG(!name_exists(v.shm), "/dev/shm/%s still there after destroy", v.shm);
        }
        pp_test_child_close_stdin(v.child);
        CU_ASSERT_EQUAL(pp_test_child_exit_code(v.child, CHILD_MS), 0);
#ifdef HAVE_PROC
        PP_ASSERT_MSG(wait_no_tracker(v.lock),
                      "the tracker still runs %d ms after its client exited", TRACKER_MS);
#endif
    }
    victim_end(&v);
}

/* The creator exits normally without destroying (no pp_shutdown either):
 * the names go as well. */
static void t_exit_without_destroy_names_removed(void)
{
    victim v;

    memset(&v, 0, sizeof v);
    if (victim_start(&v, "leave")) {
        pp_test_child_close_stdin(v.child);
        CU_ASSERT_EQUAL(pp_test_child_exit_code(v.child, CHILD_MS), 0);
        assert_removed(&v, "the creator exited without destroying them");
#ifdef HAVE_PROC
        PP_ASSERT_MSG(wait_no_tracker(v.lock),
                      "the tracker still runs %d ms after its client exited", TRACKER_MS);
#endif
    }
    victim_end(&v);
}

/* Workers and fork servers start no tracker by merely existing: with a
 * pool running, the helper's processes have exactly one tracker (the
 * helper's own: it created the workers' control blocks), or none (fork:
 * the first workers' control blocks are unnamed, made before the zygote,
 * so the helper has created no name). A worker that creates a name gets
 * one more (spawn, forkserver: a fresh image; fork: the zygote was forked
 * before the helper had a tracker), and every tracker is gone after the
 * helper. Needs /proc. */
static void do_workers_start_no_tracker(int method)
{
#ifdef HAVE_PROC
    char token[NAME_BUF], m[8];
    const char *args[3];
    pp_test_child *c;
    long pids[MAX_PIDS];
    int n, helper_own = method == PP_START_FORK ? 0 : 1;

    pp_test_unique_name(token, sizeof token);
    snprintf(m, sizeof m, "%d", method);
    args[0] = m;
    args[1] = token;
    args[2] = NULL;
    c = pp_test_spawn("tracker-pool", args);
    if (c != NULL && pp_test_child_expect(c, "pool", CHILD_MS)) {
        n = find_trackers(token, pids, MAX_PIDS);
        PP_ASSERT_MSG(n == helper_own, "%d trackers with a pool of 2 running, expected %d", n,
                      helper_own);
        CU_ASSERT(pp_test_child_write(c, "x"));
        if (pp_test_child_expect(c, "created", CHILD_MS)) {
            n = find_trackers(token, pids, MAX_PIDS);
            PP_ASSERT_MSG(n == helper_own + 1,
                          "%d trackers after a worker created a name, expected %d", n,
                          helper_own + 1);
        }
        pp_test_child_close_stdin(c);
        CU_ASSERT_EQUAL(pp_test_child_exit_code(c, CHILD_MS), 0);
        PP_ASSERT_MSG(wait_no_tracker(token), "a tracker still runs %d ms after the pool's parent",
                      TRACKER_MS);
    }
    pp_test_child_free(c);
#else
    (void)method;
    printf("  (no /proc here: nothing checked)\n");
#endif
}
PP_TEST_PER_METHOD(workers_start_no_tracker)

/* The test process's own tracker is stopped (SIGSTOP: hung, as far as
 * its client can tell, or just not reading): creating and removing names
 * goes on without waiting for it, also past what its socket can hold
 * (each create and each remove sends it a record); it is not waited for
 * forever. Linux (finds the tracker in /proc). */
static void t_stopped_tracker_no_hang(void)
{
#ifdef HAVE_PROC
    int64_t start, took;
    long pids[MAX_PIDS];
    pp_lock *l = NULL;
    int n, i;

    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &l), PP_OK); /* the tracker starts */
    pp_lock_destroy(l);
    n = find_trackers("tracker/t_stopped_tracker_no_hang", pids, MAX_PIDS);
    PP_ASSERT_MSG_FATAL(n == 1, "%d tracker processes for this test, expected 1", n);
    CU_ASSERT_FATAL(kill((pid_t)pids[0], SIGSTOP) == 0);
    start = pp_test_now_ms();
    for (i = 0; i < 20000 && pp_test_now_ms() - start < 40000; i++) {
        pp_status st = pp_lock_create(NULL, &l);
        if (st != PP_OK) {
            PP_ASSERT_STATUS(st, PP_OK);
            break;
        }
        pp_lock_destroy(l);
    }
    took = pp_test_now_ms() - start;
    (void)kill((pid_t)pids[0], SIGCONT);
    PP_ASSERT_MSG(i == 20000, "%d lock create + destroy in %lld ms with the tracker stopped", i,
                  (long long)took);
#endif
}

/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST(t_killed_creator_names_removed),
    PP_TEST(t_clean_destroy_removes_at_once),
    PP_TEST(t_exit_without_destroy_names_removed),
    PP_TEST_TIMEOUT(t_stopped_tracker_no_hang, 90),
    PP_TEST_METHODS(workers_start_no_tracker, 0),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper g_helpers[] = {
    {"tracker-victim", h_victim}, {"tracker-pool", h_pool}, {NULL, NULL}};

PP_TEST_SUITE(tracker)
{
    pp_test_add_suite("tracker", g_cases);
    pp_test_add_helpers(g_helpers);
}
