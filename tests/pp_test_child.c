/*
 * pp_test_child.c — child processes of tests: this same binary started
 * with apr_proc_create in a helper mode ("--helper NAME args...") or, for
 * the runner, in single-test mode ("--run suite/test").
 *
 * apr_proc_create + apr_proc_wait(APR_NOWAIT) + apr_proc_kill behave the
 * same on POSIX and Windows, so every cross-process test runs on both.
 * (apr_proc_create inherits every inheritable handle on Windows; that is
 * why the library does not use it for pool workers. Tests may.)
 */
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#elif defined(__APPLE__)
#include <mach-o/dyld.h>
#include <unistd.h>
#else
#include <unistd.h>
#endif

#include "pp_test.h"

#ifdef SIGKILL
#define PP_TEST_SIGKILL SIGKILL
#else
#define PP_TEST_SIGKILL 9 /* Windows: apr_proc_kill uses it as the exit code */
#endif

struct pp_test_child {
    apr_pool_t *pool;
    apr_proc_t proc;
    int running; /* started and not reaped yet */
    int stdin_open;
};

static const char *g_argv0;

void pp_test_set_argv0(const char *argv0)
{
    g_argv0 = argv0;
}

/* --------------------------------------------------------- own image */

/* Absolute path of the running executable, in pool. */
static const char *self_exe(apr_pool_t *pool)
{
#ifdef _WIN32
    wchar_t wbuf[4096];
    char buf[4 * 4096];
    DWORD n = GetModuleFileNameW(NULL, wbuf, (DWORD)(sizeof wbuf / sizeof wbuf[0]));

    if (n > 0 && n < sizeof wbuf / sizeof wbuf[0] &&
        WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, buf, (int)sizeof buf, NULL, NULL) > 0)
        return apr_pstrdup(pool, buf); /* APR takes UTF-8 paths */
#elif defined(__APPLE__)
    char buf[4096];
    uint32_t size = sizeof buf;

    if (_NSGetExecutablePath(buf, &size) == 0)
        return apr_pstrdup(pool, buf);
#else
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

    if (n > 0) {
        buf[n] = '\0';
        return apr_pstrdup(pool, buf);
    }
#endif
    return g_argv0;
}

/* ------------------------------------------------------- spawn, wait */

static apr_status_t spawn_self(apr_pool_t *pool, const char *mode, const char *name,
                               const char *const *args, int pipes, apr_proc_t *proc)
{
    const char *argv[64];
    apr_procattr_t *attr;
    apr_status_t rv;
    int n = 0;

    argv[n++] = self_exe(pool);
    argv[n++] = mode;
    if (name != NULL)
        argv[n++] = name;
    while (args != NULL && *args != NULL && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;
    if (argv[0] == NULL)
        return APR_ENOENT;

    rv = apr_procattr_create(&attr, pool);
    if (rv == APR_SUCCESS && pipes)
        rv = apr_procattr_io_set(attr, APR_CHILD_BLOCK, APR_CHILD_BLOCK, APR_NO_PIPE);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV); /* inherit the environment */
    if (rv == APR_SUCCESS)
        rv = apr_procattr_error_check_set(attr, 1);
    if (rv == APR_SUCCESS)
        rv = apr_proc_create(proc, argv[0], argv, NULL, attr, pool);
    return rv;
}

/* Poll for the end of proc; kill it at the deadline. */
static int wait_proc(apr_proc_t *proc, int64_t timeout_ms, int *code)
{
    int64_t deadline = pp_test_now_ms() + timeout_ms;
    apr_interval_time_t nap = 1000;
    apr_exit_why_e why;
    apr_status_t rv;
    int exitcode = 0;

    for (;;) {
        rv = apr_proc_wait(proc, &exitcode, &why, APR_NOWAIT);
        if (rv == APR_CHILD_DONE) {
            *code = exitcode;
            return APR_PROC_CHECK_EXIT(why) ? PP_TEST_CHILD_EXITED : PP_TEST_CHILD_CRASHED;
        }
        if (rv != APR_CHILD_NOTDONE) {
            char msg[128];

            fprintf(stderr, "pp_tests: apr_proc_wait on the test process: %s\n",
                    apr_strerror(rv, msg, sizeof msg));
            *code = (int)rv;
            return PP_TEST_CHILD_ERROR;
        }
        if (pp_test_now_ms() >= deadline) {
            apr_proc_kill(proc, PP_TEST_SIGKILL);
            apr_proc_wait(proc, &exitcode, &why, APR_WAIT);
            *code = -1;
            return PP_TEST_CHILD_TIMEOUT;
        }
        apr_sleep(nap);
        if (nap < 20000)
            nap *= 2;
    }
}

int pp_test_spawn_self_wait(const char *mode, const char *const *args, int64_t timeout_ms,
                            int *code, int64_t *pid)
{
    apr_pool_t *pool;
    apr_proc_t proc;
    apr_status_t rv;
    char msg[128];
    int attempt, r;

    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return PP_TEST_CHILD_ERROR;
    /* The test process itself could not be started: nothing of the test
     * ran yet. Wine's CreateProcess fails now and then ("Internal error",
     * the new process died inside wine's own start-up; seen once in ~400
     * starts under CI load), so the runner tries twice more, saying so,
     * before it reports the test as not run. */
    for (attempt = 1;; attempt++) {
        rv = spawn_self(pool, mode, NULL, args, 0, &proc);
        if (rv == APR_SUCCESS)
            break;
        fprintf(stderr, "pp_tests: starting %s %s (attempt %d of 3): apr_proc_create: %s\n", mode,
                args != NULL && args[0] != NULL ? args[0] : "", attempt,
                apr_strerror(rv, msg, sizeof msg));
        if (attempt == 3) {
            apr_pool_destroy(pool);
            *code = (int)rv;
            return PP_TEST_CHILD_ERROR;
        }
        apr_sleep(apr_time_from_msec(200));
    }
    if (pid != NULL)
        *pid = (int64_t)proc.pid;
    r = wait_proc(&proc, timeout_ms, code);
    apr_pool_destroy(pool);
    return r;
}

/* ------------------------------------------------------ helper child */

pp_test_child *pp_test_spawn(const char *helper, const char *const *args)
{
    return pp_test_spawn_mode("--helper", helper, args);
}

pp_test_child *pp_test_spawn_method(const char *helper, int method)
{
    char arg[16];
    const char *args[2];

    snprintf(arg, sizeof arg, "%d", method);
    args[0] = arg;
    args[1] = NULL;
    return pp_test_spawn(helper, args);
}

pp_test_child *pp_test_spawn_mode(const char *mode, const char *name, const char *const *args)
{
    pp_test_child *c;
    apr_pool_t *pool;
    apr_status_t rv;
    char msg[128];

    if (apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        CU_FAIL("apr_pool_create failed");
        return NULL;
    }
    c = apr_pcalloc(pool, sizeof *c);
    c->pool = pool;
    rv = spawn_self(pool, mode, name, args, 1, &c->proc);
    if (rv != APR_SUCCESS) {
        PP_ASSERT_MSG(0, "spawning %s %s: %s", mode, name ? name : "",
                      apr_strerror(rv, msg, sizeof msg));
        apr_pool_destroy(pool);
        return NULL;
    }
    c->running = 1;
    c->stdin_open = 1;
    return c;
}

int pp_test_child_read_line(pp_test_child *c, char *buf, size_t cap, int64_t timeout_ms)
{
    int64_t deadline = pp_test_now_ms() + timeout_ms;
    int64_t left;
    apr_size_t len;
    apr_status_t rv;
    size_t n = 0;
    char ch;

    for (;;) {
        left = deadline - pp_test_now_ms();
        if (left <= 0)
            break;
        apr_file_pipe_timeout_set(c->proc.out, (apr_interval_time_t)left * 1000);
        len = 1;
        rv = apr_file_read(c->proc.out, &ch, &len);
        if (rv != APR_SUCCESS || len != 1)
            break;
        if (ch == '\n') {
            if (n > 0 && buf[n - 1] == '\r') /* Windows text-mode stdout */
                n--;
            buf[n] = '\0';
            return 1;
        }
        if (n + 1 < cap)
            buf[n++] = ch;
    }
    buf[n < cap ? n : cap - 1] = '\0';
    return 0;
}

int pp_test_child_expect(pp_test_child *c, const char *expect, int64_t timeout_ms)
{
    char line[256];
    int ok = pp_test_child_read_line(c, line, sizeof line, timeout_ms);

    if (!ok) {
        PP_ASSERT_MSG(0, "helper pid %lld: no line '%s' within %lld ms (got '%s')",
                      (long long)c->proc.pid, expect, (long long)timeout_ms, line);
        return 0;
    }
    return PP_ASSERT_MSG(strcmp(line, expect) == 0, "helper pid %lld said '%s', expected '%s'",
                         (long long)c->proc.pid, line, expect);
}

int pp_test_child_write(pp_test_child *c, const char *s)
{
    apr_size_t written;
    apr_status_t rv;

    if (!c->stdin_open)
        return 0;
    apr_file_pipe_timeout_set(c->proc.in, (apr_interval_time_t)10 * APR_USEC_PER_SEC);
    rv = apr_file_write_full(c->proc.in, s, strlen(s), &written);
    return rv == APR_SUCCESS;
}

void pp_test_child_close_stdin(pp_test_child *c)
{
    if (c->stdin_open) {
        apr_file_close(c->proc.in);
        c->stdin_open = 0;
    }
}

int pp_test_child_wait(pp_test_child *c, int64_t timeout_ms, int *code)
{
    int r;

    if (!c->running) {
        *code = -1;
        return PP_TEST_CHILD_ERROR;
    }
    r = wait_proc(&c->proc, timeout_ms, code);
    if (r != PP_TEST_CHILD_ERROR)
        c->running = 0;
    return r;
}

int pp_test_child_exit_code(pp_test_child *c, int64_t timeout_ms)
{
    int code = 0;
    int r = pp_test_child_wait(c, timeout_ms, &code);

    if (r == PP_TEST_CHILD_EXITED)
        return code;
    PP_ASSERT_MSG(0, "helper pid %lld: %s (code %d)", (long long)c->proc.pid,
                  r == PP_TEST_CHILD_CRASHED   ? "crashed"
                  : r == PP_TEST_CHILD_TIMEOUT ? "timed out and was killed"
                                               : "wait failed",
                  code);
    return -1000;
}

void pp_test_kill_pid(int64_t pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT(TerminateProcess(h, 9));
    CloseHandle(h);
#else
    CU_ASSERT_EQUAL(kill((pid_t)pid, SIGKILL), 0);
#endif
}

int pp_test_pid_alive(int64_t pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    DWORD r;
    if (h == NULL)
        return 0;
    r = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return r == WAIT_TIMEOUT;
#else
    char path[64], buf[512], *rp;
    FILE *f;
    int ok;

    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return kill((pid_t)pid, 0) == 0; /* no /proc: a zombie counts as alive */
    ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    rp = ok ? strrchr(buf, ')') : NULL;
    /* a zombie is dead: it only waits for its parent to reap it */
    return rp != NULL && rp[1] == ' ' && rp[2] != 'Z';
#endif
}

void pp_test_child_kill(pp_test_child *c)
{
    apr_exit_why_e why;
    int code;

    if (!c->running)
        return;
    apr_proc_kill(&c->proc, PP_TEST_SIGKILL);
    apr_proc_wait(&c->proc, &code, &why, APR_WAIT);
    c->running = 0;
}

int64_t pp_test_child_pid(const pp_test_child *c)
{
    return (int64_t)c->proc.pid;
}

void pp_test_child_free(pp_test_child *c)
{
    if (c == NULL)
        return;
    pp_test_child_close_stdin(c);
    pp_test_child_kill(c);
    apr_pool_destroy(c->pool); /* closes the stdout pipe */
}

int pp_test_run_helper(const char *helper, const char *const *args, int64_t timeout_ms)
{
    const char *argv[64];
    int n = 0, code = 0, r;

    argv[n++] = helper;
    while (args != NULL && *args != NULL && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;
    r = pp_test_spawn_self_wait("--helper", argv, timeout_ms, &code, NULL);
    if (r == PP_TEST_CHILD_EXITED)
        return code;
    PP_ASSERT_MSG(0, "helper %s: %s (code %d)", helper,
                  r == PP_TEST_CHILD_CRASHED   ? "crashed"
                  : r == PP_TEST_CHILD_TIMEOUT ? "timed out and was killed"
                                               : "could not be run",
                  code);
    return -1000;
}

/* ---------------------------------------------------- in the helper */

int pp_test_exit_from_status(pp_status st)
{
    return PP_TEST_EXIT_STATUS_BASE - (int)st;
}

int pp_test_status_from_exit(int code)
{
    if (code < PP_TEST_EXIT_STATUS_BASE || code > PP_TEST_EXIT_STATUS_BASE - PP__STATUS_MIN)
        return 1;
    return PP_TEST_EXIT_STATUS_BASE - code;
}

void pp_test_say(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

int pp_test_stdin_byte(void)
{
    int ch = fgetc(stdin);

    return ch == EOF ? -1 : ch;
}
