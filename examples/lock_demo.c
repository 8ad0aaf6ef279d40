/*
 * lock_demo.c — procpool's named, robust cross-process lock in action.
 *
 *   1. The parent creates a lock and a shared counter.
 *   2. It starts 4 copies of this program (workers). Each opens the lock by
 *      its name and increments the counter a few times, holding the lock
 *      around every read-modify-write.
 *   3. A fifth copy (the victim) takes the lock and is killed while holding
 *      it. The parent's next acquire returns PP_EOWNERDEAD: the lock is now
 *      the parent's, and procpool says the data it protects may be half
 *      updated. The parent repairs it.
 *   4. Everything is destroyed and the counter is checked.
 *
 * The copies are started with APR's apr_proc_create (an exec of this
 * program with a helper flag), which works the same on POSIX and Windows.
 * The counter lives in APR named shared memory. procpool's pools will do
 * all of this for you; here it is spelled out to show the lock alone.
 *
 * Every call is checked; a failure prints pp_strerror() and exits with 1.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include <procpool/procpool.h>

#define WORKERS    4
#define INCREMENTS 5

#ifdef SIGKILL
#define KILL_SIGNAL SIGKILL
#else
#define KILL_SIGNAL 9 /* Windows: apr_proc_kill() calls TerminateProcess */
#endif

/* What the lock protects. An update is two steps: a holder that dies
 * between them leaves `updating` set, and the next holder must repair. */
typedef struct counter {
    int value;
    int updating;
    volatile apr_uint32_t victim_holds_lock; /* atomic, outside the lock */
} counter;

/* ------------------------------------------------------------ helpers */

static char who[32] = "parent";

static void say(const char *fmt, ...) PP_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[%-8s] ", who);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout); /* several processes share this stdout */
}

static void check(pp_status st, const char *what)
{
    if (st != PP_OK) {
        fprintf(stderr, "[%-8s] %s failed: %s (%s)\n", who, what, pp_strerror(st), pp_err_name(st));
        exit(1);
    }
}

static void check_apr(apr_status_t rv, const char *what)
{
    if (rv != APR_SUCCESS) {
        char buf[256];
        fprintf(stderr, "[%-8s] %s failed: %s\n", who, what, apr_strerror(rv, buf, sizeof buf));
        exit(1);
    }
}

/* The program to start copies of: the running image where the OS tells
 * us, argv[0] otherwise. */
static const char *self_exe(const char *argv0)
{
#if defined(_WIN32)
    static char path[4096];
    DWORD n = GetModuleFileNameA(NULL, path, (DWORD)sizeof path);
    if (n > 0 && n < sizeof path)
        return path;
#elif defined(__linux__)
    return "/proc/self/exe";
#endif
    return argv0;
}

/* Start a copy of this program: <argv0> <role> <lock name> <shm path> <id>. */
static void start_copy(apr_proc_t *proc, const char *argv0, const char *role, const char *lock_name,
                       const char *shm_path, int id, apr_pool_t *pool)
{
    apr_procattr_t *attr;
    check_apr(apr_procattr_create(&attr, pool), "apr_procattr_create");
    check_apr(apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH), "apr_procattr_cmdtype_set");
    const char *args[] = {argv0, role, lock_name, shm_path, apr_itoa(pool, id), NULL};
    check_apr(apr_proc_create(proc, self_exe(argv0), args, NULL, attr, pool), "apr_proc_create");
}

/* Wait for a copy to end; returns its exit code, -1 if a signal killed it. */
static int wait_copy(apr_proc_t *proc)
{
    int code = 0;
    apr_exit_why_e why;
    apr_status_t rv = apr_proc_wait(proc, &code, &why, APR_WAIT);
    if (rv != APR_CHILD_DONE)
        check_apr(rv, "apr_proc_wait");
    return APR_PROC_CHECK_EXIT(why) ? code : -1;
}

/* ------------------------------------------------ the copies' roles */

static int worker_main(pp_lock *lock, counter *c)
{
    for (int i = 0; i < INCREMENTS; i++) {
        pp_status st = pp_lock_acquire(lock, PP_INFINITE);
        if (st == PP_EOWNERDEAD) {
            say("the previous holder died holding the lock: repairing");
            c->updating = 0;
        } else {
            check(st, "pp_lock_acquire");
        }
        c->updating = 1;
        say("holds the lock: counter %d -> %d", c->value, c->value + 1);
        c->value++;
        c->updating = 0;
        check(pp_lock_release(lock), "pp_lock_release");
        apr_sleep(apr_time_from_msec(2)); /* let the others in */
    }
    return 0;
}

static int victim_main(pp_lock *lock, counter *c)
{
    check(pp_lock_acquire(lock, PP_INFINITE), "pp_lock_acquire");
    c->updating = 1; /* ... and never finishes the update */
    say("holds the lock, started an update, now hangs");
    apr_atomic_set32(&c->victim_holds_lock, 1);
    apr_sleep(apr_time_from_sec(30)); /* the parent kills us long before */
    say("was not killed: giving up");
    return 3;
}

/* Entry point of every copy: open the lock and the counter by name. */
static int copy_main(int argc, char **argv)
{
    const char *role = argv[1], *lock_name = argv[2], *shm_path = argv[3];
    snprintf(who, sizeof who, "%s %s", strcmp(role, "--worker") == 0 ? "worker" : "victim",
             argc > 4 ? argv[4] : "?");

    apr_pool_t *pool;
    check_apr(apr_pool_create(&pool, NULL), "apr_pool_create");
    pp_lock *lock;
    check(pp_lock_open(lock_name, &lock), "pp_lock_open");
    say("opened lock \"%s\" by name", lock_name);
    apr_shm_t *shm;
    check_apr(apr_shm_attach_ex(&shm, shm_path, pool, APR_SHM_NS_LOCAL), "apr_shm_attach");
    counter *c = apr_shm_baseaddr_get(shm);

    int code = strcmp(role, "--worker") == 0 ? worker_main(lock, c) : victim_main(lock, c);

    check_apr(apr_shm_detach(shm), "apr_shm_detach");
    pp_lock_destroy(lock); /* an opened handle: only detaches */
    apr_pool_destroy(pool);
    return code;
}

/* -------------------------------------------------------- the parent */

int main(int argc, char **argv)
{
    /* First thing in main: in processes procpool starts, this runs their
     * role and never returns. */
    check(pp_init(&argc, &argv), "pp_init");
    check_apr(apr_initialize(), "apr_initialize");

    if (argc == 5 && (strcmp(argv[1], "--worker") == 0 || strcmp(argv[1], "--victim") == 0))
        return copy_main(argc, argv);

    apr_pool_t *pool;
    check_apr(apr_pool_create(&pool, NULL), "apr_pool_create");

    /* 1. A lock with a fresh unpredictable name, and the counter. */
    pp_lock *lock;
    check(pp_lock_create(NULL, &lock), "pp_lock_create");
    const char *name = apr_pstrdup(pool, pp_lock_name(lock));
    say("created lock \"%s\"", name);

    const char *tmp;
    char *shm_path;
    check_apr(apr_temp_dir_get(&tmp, pool), "apr_temp_dir_get");
    check_apr(apr_filepath_merge(&shm_path, tmp, apr_pstrcat(pool, name, ".shm", NULL),
                                 APR_FILEPATH_NATIVE, pool),
              "apr_filepath_merge");
    apr_shm_t *shm;
    check_apr(apr_shm_create_ex(&shm, sizeof(counter), shm_path, pool, APR_SHM_NS_LOCAL),
              "apr_shm_create");
    counter *c = apr_shm_baseaddr_get(shm);
    memset(c, 0, sizeof *c);

    /* 2. Four workers share the counter through the lock. */
    apr_proc_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        start_copy(&workers[i], argv[0], "--worker", name, shm_path, i + 1, pool);
        say("started worker %d (pid %d)", i + 1, (int)workers[i].pid);
    }
    int failed = 0;
    for (int i = 0; i < WORKERS; i++) {
        int code = wait_copy(&workers[i]);
        if (code != 0) {
            say("worker %d failed (exit code %d)", i + 1, code);
            failed = 1;
        }
    }
    say("all workers done: counter = %d (expected %d)", c->value, WORKERS * INCREMENTS);

    /* 3. A holder dies while holding the lock. */
    apr_proc_t victim;
    start_copy(&victim, argv[0], "--victim", name, shm_path, 1, pool);
    say("started victim (pid %d)", (int)victim.pid);
    for (int waited = 0; !apr_atomic_read32(&c->victim_holds_lock); waited += 10) {
        if (waited > 10000) {
            say("the victim never took the lock");
            exit(1);
        }
        apr_sleep(apr_time_from_msec(10));
    }
    pp_status st = pp_lock_try_acquire(lock);
    say("try_acquire -> %s: the victim holds the lock", pp_err_name(st));
    if (st != PP_EBUSY)
        exit(1);

    say("killing the victim (pid %d) while it holds the lock", (int)victim.pid);
    check_apr(apr_proc_kill(&victim, KILL_SIGNAL), "apr_proc_kill");
    wait_copy(&victim);

    st = pp_lock_acquire(lock, 5000);
    say("acquire -> %s: \"%s\"", pp_err_name(st), pp_strerror(st));
    if (st != PP_EOWNERDEAD) {
        say("expected PP_EOWNERDEAD");
        exit(1);
    }
    if (c->updating) {
        say("the victim died mid-update: %d is the last complete value, repairing", c->value);
        c->updating = 0;
    }
    check(pp_lock_release(lock), "pp_lock_release");
    say("released: the lock works normally again");

    /* 4. Clean up: destroying the creator's handle removes the name. */
    int final = c->value, consistent = !c->updating;
    check_apr(apr_shm_destroy(shm), "apr_shm_destroy");
    pp_lock_destroy(lock);
    pp_lock *again = NULL;
    st = pp_lock_open(name, &again);
    say("lock destroyed; opening \"%s\" again -> %s", name, pp_err_name(st));
    pp_lock_destroy(again);

    apr_pool_destroy(pool);
    apr_terminate();
    pp_shutdown();

    if (failed || !consistent || final != WORKERS * INCREMENTS || st != PP_ENOENT) {
        printf("FAILED: counter = %d, expected %d\n", final, WORKERS * INCREMENTS);
        return 1;
    }
    printf("OK: counter = %d = %d workers x %d increments, and the dead holder was reported\n",
           final, WORKERS, INCREMENTS);
    return 0;
}
