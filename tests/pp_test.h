/*
 * pp_test.h — procpool's test framework: CUnit for assertions, a runner
 * that runs every test in its own process with a timeout, helper modes of
 * the test binary for child processes, and leak checks.
 *
 * One binary, pp_tests, has these modes (see pp_test_main.c):
 *   pp_tests [--suite NAME]      run every test (of one suite), each in a
 *                                child "pp_tests --run suite/test"
 *   pp_tests --run SUITE/TEST    run one test in this process (CUnit basic)
 *   pp_tests --helper NAME ARGS  a helper role for a test's child process
 *   pp_tests --list              list suites, tests and helpers
 *
 * A test file registers its suite and helpers in one function:
 *
 *   static const pp_test_case cases[] = { PP_TEST(t_foo), PP_TEST_END };
 *   static const pp_test_helper helpers[] = { {"foo-child", h_foo}, {NULL, NULL} };
 *   PP_TEST_SUITE(foo)
 *   {
 *       pp_test_add_suite("foo", cases);
 *       pp_test_add_helpers(helpers);
 *   }
 *
 * and is listed once in PP_TEST_SUITES in pp_test_main.c. Tests that
 * cannot run somewhere are listed, with the reason, in pp_test_skip.c.
 */
#ifndef PP_TEST_H
#define PP_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "procpool/clock.h"
#include "procpool/error.h"
#include "procpool/pool.h"

/* ------------------------------------------------------------ registry */

typedef void (*pp_test_fn)(void);

/* A helper mode: argv[0] is the helper's name, argv[1..argc-1] its
 * arguments. The return value is the process exit code. */
typedef int (*pp_helper_fn)(int argc, char **argv);

typedef struct pp_test_case {
    const char *name;
    pp_test_fn fn;
    int timeout_s; /* 0: PP_TEST_DEFAULT_TIMEOUT_S */
} pp_test_case;

typedef struct pp_test_helper {
    const char *name;
    pp_helper_fn fn;
} pp_test_helper;

#define PP_TEST_DEFAULT_TIMEOUT_S 60
#define PP_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn, 0                                                                                 \
    }
#define PP_TEST_TIMEOUT(fn, secs)                                                                  \
    {                                                                                              \
#fn, fn, (secs)                                                                            \
    }
#define PP_TEST_END                                                                                \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

/* Tests run once per start method. PP_TEST_PER_METHOD(foo) defines
 * t_foo_fork, t_foo_spawn and t_foo_forkserver, each calling do_foo(method)
 * (the PP_START_* values come from procpool/pool.h in the test file);
 * PP_TEST_METHODS(foo, secs) lists the three (secs 0: default timeout). */
#define PP_TEST_PER_METHOD(fn)                                                                     \
    static void t_##fn##_fork(void)                                                                \
    {                                                                                              \
        do_##fn(PP_START_FORK);                                                                    \
    }                                                                                              \
    static void t_##fn##_spawn(void)                                                               \
    {                                                                                              \
        do_##fn(PP_START_SPAWN);                                                                   \
    }                                                                                              \
    static void t_##fn##_forkserver(void)                                                          \
    {                                                                                              \
        do_##fn(PP_START_FORKSERVER);                                                              \
    }
#define PP_TEST_METHODS(fn, secs)                                                                  \
    PP_TEST_TIMEOUT(t_##fn##_fork, secs), PP_TEST_TIMEOUT(t_##fn##_spawn, secs),                   \
        PP_TEST_TIMEOUT(t_##fn##_forkserver, secs)

/* Defines the registration function of a suite (with its prototype, so
 * -Wmissing-prototypes stays quiet). */
#define PP_TEST_SUITE(name)                                                                        \
    void pp_test_suite_##name(void);                                                               \
    void pp_test_suite_##name(void)

/* cases: array ending with PP_TEST_END; must outlive the program. */
void pp_test_add_suite(const char *suite, const pp_test_case *cases);
/* A suite that only runs when named (--suite NAME / --run NAME/TEST):
 * targets for the framework's own tests (tests that must fail). */
void pp_test_add_hidden_suite(const char *suite, const pp_test_case *cases);
/* helpers: array ending with {NULL, NULL}; must outlive the program. */
void pp_test_add_helpers(const pp_test_helper *helpers);

/* Dispatch on the command line (after pp_init()). Returns the exit code. */
int pp_test_main(int argc, char **argv);

/* ----------------------------------------------------------- skip list */

/* Where the test binary runs, for the skip list. */
enum {
    PP_TEST_ON_POSIX = 1,
    PP_TEST_ON_WINDOWS = 2, /* any Windows, wine included */
    PP_TEST_ON_WINE = 4,    /* Windows binary under wine */
    PP_TEST_ON_MACOS = 8
};

/* The reason "suite/test" is skipped here, or NULL if it runs. */
const char *pp_test_skip_reason(const char *suite, const char *test);

/* PP_TEST_ON_* bits of the current environment. */
unsigned pp_test_platform(void);

/* -------------------------------------------------------- assertions */

/* Assert that a pp_status expression has the expected value; on failure
 * the message names both statuses ("PP_EBUSY, expected PP_OK"). */
#define PP_ASSERT_STATUS(expr, expected)                                                           \
    pp_test_check_status((int)(expr), (int)(expected), #expr, __FILE__, __LINE__, CU_FALSE)
#define PP_ASSERT_STATUS_FATAL(expr, expected)                                                     \
    pp_test_check_status((int)(expr), (int)(expected), #expr, __FILE__, __LINE__, CU_TRUE)

/* Assert with a formatted failure message. */
#define PP_ASSERT_MSG(cond, ...)                                                                   \
    pp_test_check_msg((cond) ? 1 : 0, __FILE__, __LINE__, CU_FALSE, __VA_ARGS__)
#define PP_ASSERT_MSG_FATAL(cond, ...)                                                             \
    pp_test_check_msg((cond) ? 1 : 0, __FILE__, __LINE__, CU_TRUE, __VA_ARGS__)

/* Run expr, a wait of ms milliseconds that must time out, 20 times: each
 * returns PP_ETIMEDOUT and lasts at least ms on the library's own
 * monotonic clock, measured in nanoseconds (a wait that ends up to a
 * millisecond early hides behind a millisecond clock). */
#define PP_ASSERT_WAITS_FULL(expr, ms)                                                             \
    do {                                                                                           \
        int i_;                                                                                    \
        for (i_ = 0; i_ < 20; i_++) {                                                              \
            int64_t t0_ = pp_monotonic_ns(), dt_;                                                  \
            PP_ASSERT_STATUS(expr, PP_ETIMEDOUT);                                                  \
            dt_ = pp_monotonic_ns() - t0_;                                                         \
            PP_ASSERT_MSG(dt_ >= (int64_t)(ms)*1000000, "%s ended after %lld us, timeout %d ms",   \
                          #expr, (long long)(dt_ / 1000), (int)(ms));                              \
        }                                                                                          \
    } while (0)

/* Returns 1 if got == expected. */
int pp_test_check_status(int got, int expected, const char *expr, const char *file, int line,
                         CU_BOOL fatal);
int pp_test_check_msg(int ok, const char *file, int line, CU_BOOL fatal, const char *fmt, ...)
    PP_PRINTF(5, 6);

/* ---------------------------------------------------------- utilities */

/* A name valid for procpool objects, unique across processes and runs:
 * "ppt-<pid>-<seq>-<random hex>", at most PP_NAME_MAX chars. buf must
 * hold PP_NAME_MAX + 1 bytes. */
void pp_test_unique_name(char *buf, size_t cap);

/* The token every object name made by this process contains ("-<pid>-"),
 * used by the /dev/shm leak check. */
const char *pp_test_pid_token(void);

/* Wall-clock milliseconds from apr_time_now(). */
int64_t pp_test_now_ms(void);

/* Granularity of pp_test_now_ms() to allow for in lower-bound checks:
 * 0 on POSIX, one system timer tick on Windows (GetSystemTimeAsFileTime). */
int64_t pp_test_clock_slack_ms(void);

void pp_test_sleep_ms(int64_t ms);

/* Crash this process as a bad memory access would (SIGSEGV on POSIX, an
 * access violation on Windows): the runner reports CRASH. Flushes every
 * stdio stream first; never returns. */
void pp_test_crash(void);

/* The exclusion probe of the lock tests: read *counter, let time pass (a
 * short spin; every 1024th call i gives up the CPU), write it plus one.
 * Any overlap of two callers' critical sections loses an increment. */
void pp_test_racy_increment(volatile int64_t *counter, int64_t i);

/* An APR pool for the running test (created on first use, destroyed by
 * the framework after the test). */
struct apr_pool_t *pp_test_pool(void);

/* Run fn(arg) in another thread (apr_thread_create) and wait for it. */
void pp_test_run_in_thread(void (*fn)(void *), void *arg);

/* Start fn(arg) in another thread; join it later (exactly once). Fails
 * the test (fatally) if the thread cannot be created. */
typedef struct pp_test_thread pp_test_thread;
pp_test_thread *pp_test_thread_start(void (*fn)(void *), void *arg);
void pp_test_thread_join(pp_test_thread *t);

/* Multiplier for timeouts, from PP_TEST_TIMEOUT_MULT (default 1). */
int pp_test_timeout_mult(void);

/* A pool of n workers with that start method (pp_start_method), the
 * defaults otherwise; its creation failing ends the test. */
pp_pool *pp_test_pool_make(int method, int n);

/* Close, join (60 s x the timeout multiplier, asserted) and destroy. */
void pp_test_pool_finish(pp_pool *p);

/* ------------------------------------------------------ child helpers */

/* Helpers report a pp_status through their exit code. */
#define PP_TEST_EXIT_STATUS_BASE 64
#define PP_TEST_EXIT_USAGE       2 /* bad helper arguments */
#define PP_TEST_EXIT_SETUP       3 /* helper could not set itself up */
int pp_test_exit_from_status(pp_status st);
/* The status behind a helper exit code, or 1 (not a status) if the code
 * does not carry one. */
int pp_test_status_from_exit(int code);

/* A helper child: "pp_tests --helper NAME args..." with its stdin and
 * stdout connected to the test through pipes (stderr is shared). */
typedef struct pp_test_child pp_test_child;

enum {
    PP_TEST_CHILD_EXITED = 0,   /* normal exit; *code is the exit code */
    PP_TEST_CHILD_CRASHED = -1, /* signal / exception; *code: signal or NTSTATUS */
    PP_TEST_CHILD_TIMEOUT = -2, /* still running after the timeout (killed) */
    PP_TEST_CHILD_ERROR = -3    /* wait failed */
};

/* args: NULL-terminated, may be NULL. Returns NULL (and fails the test)
 * if the child cannot be started. */
pp_test_child *pp_test_spawn(const char *helper, const char *const *args);
/* pp_test_spawn(helper) with one argument: a start method's number, for a
 * helper that makes a pool of that method. */
pp_test_child *pp_test_spawn_method(const char *helper, int method);

/* The same for any mode of this binary: "pp_tests MODE [NAME] ARGS...". */
pp_test_child *pp_test_spawn_mode(const char *mode, const char *name, const char *const *args);

/* Read one line from the child's stdout (without the newline) within
 * timeout_ms. Returns 1 on success, 0 on EOF/timeout/error. */
int pp_test_child_read_line(pp_test_child *c, char *buf, size_t cap, int64_t timeout_ms);

/* Read a line and assert it equals expect. Returns 1 if it did. */
int pp_test_child_expect(pp_test_child *c, const char *expect, int64_t timeout_ms);

/* Write bytes to the child's stdin. Returns 1 on success. */
int pp_test_child_write(pp_test_child *c, const char *s);

/* Close the child's stdin (it sees EOF). */
void pp_test_child_close_stdin(pp_test_child *c);

/* Wait up to timeout_ms for the child to end; on timeout it is killed and
 * reaped. Returns PP_TEST_CHILD_*; *code gets the exit code or signal. */
int pp_test_child_wait(pp_test_child *c, int64_t timeout_ms, int *code);

/* Wait and assert a normal exit; returns the exit code, or -1000 (after
 * failing the test) if the child crashed or timed out. */
int pp_test_child_exit_code(pp_test_child *c, int64_t timeout_ms);

/* Kill the child now (SIGKILL / TerminateProcess) and reap it. */
void pp_test_child_kill(pp_test_child *c);

/* Kill any process by pid (SIGKILL / TerminateProcess, exit code 9), not
 * necessarily a child of the test (a pool worker, a task's child);
 * asserts that the OS accepted. Does not wait for it. */
void pp_test_kill_pid(int64_t pid);

/* Is pid a live process? A zombie counts as dead (it only waits for its
 * parent to reap it; orphans here are not always reaped by pid 1). Where
 * there is no /proc, kill(pid, 0): a zombie counts as alive. */
int pp_test_pid_alive(int64_t pid);

/* OS pid of the child. */
int64_t pp_test_child_pid(const pp_test_child *c);

/* Kill (if still running), reap and free. NULL ok. */
void pp_test_child_free(pp_test_child *c);

/* Spawn a helper with no pipes, wait for it and return its exit code
 * (-1000 after failing the test if it crashed or timed out). */
int pp_test_run_helper(const char *helper, const char *const *args, int64_t timeout_ms);

/* Framework internal: run this binary with argv {mode, args...}, no
 * pipes, wait up to timeout_ms (killed after). Returns PP_TEST_CHILD_*;
 * *pid (if not NULL) gets the child's pid. */
int pp_test_spawn_self_wait(const char *mode, const char *const *args, int64_t timeout_ms,
                            int *code, int64_t *pid);
/* Framework internal: argv[0], the fallback path of this executable. */
void pp_test_set_argv0(const char *argv0);

/* The command line as main() saw it before pp_init() (raw) and after it
 * (what pp_init() left), recorded by pp_test_main.c; in a spawned worker
 * the raw one carries procpool's role marker (init.h). */
typedef struct pp_test_cmdline {
    int raw_argc;
    char **raw_argv; /* a copy of the pointers main() got (NULL if none) */
    int argc;
    char **argv;
} pp_test_cmdline;
const pp_test_cmdline *pp_test_get_cmdline(void);

/* In a helper: print a line to stdout and flush. */
void pp_test_say(const char *line);

/* In a helper: read one byte from stdin; -1 on EOF. */
int pp_test_stdin_byte(void);

/* --------------------------------------------------------- leak check */

/* Snapshot of process resources taken before a test (see pp_test.c for
 * what is checked on which platform). */
typedef struct pp_test_snapshot pp_test_snapshot;

pp_test_snapshot *pp_test_snapshot_take(void);
/* Compare with the current state; prints each leak to stdout and returns
 * their number. Frees the snapshot. */
int pp_test_snapshot_check(pp_test_snapshot *before);

/* After a test process crashed or was killed (its own check never ran):
 * remove the named shm objects it left (Linux: /dev/shm entries whose name
 * has "-<pid>-"), print each, return how many. 0 elsewhere. */
int pp_test_shm_cleanup_pid(int64_t pid);

#endif /* PP_TEST_H */
