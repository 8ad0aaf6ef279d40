/*
 * pp_test_main.c — main() of pp_tests and the one list of test suites.
 *
 * pp_init() comes first: pool workers are spawned by re-executing this
 * binary, and in them pp_init() runs the worker and never returns.
 */
#include <apr_general.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "procpool/init.h"
#include "pp_test.h"

/* Every suite, listed once. X(name) calls pp_test_suite_<name>(), defined
 * with PP_TEST_SUITE(name) in a tests/test_*.c file. tests/meson.build
 * lists the same names (checked by the "suites" meson test). */
#define PP_TEST_SUITES(X)                                                                          \
    X(framework)                                                                                   \
    X(api)                                                                                         \
    X(bigmap)                                                                                      \
    X(bigmap_edge)                                                                                 \
    X(columns)                                                                                     \
    X(array)                                                                                       \
    X(error)                                                                                       \
    X(identity)                                                                                    \
    X(lock)                                                                                        \
    X(lock_api)                                                                                    \
    X(lock_support)                                                                                \
    X(manager)                                                                                     \
    X(manager_failures)                                                                            \
    X(manager_objects)                                                                             \
    X(manager_pool)                                                                                \
    X(manager_net)                                                                                 \
    X(manager_program)                                                                             \
    X(manager_values)                                                                              \
    X(platform)                                                                                    \
    X(pool)                                                                                        \
    X(queue)                                                                                       \
    X(results)                                                                                     \
    X(review7)                                                                                     \
    X(share)                                                                                       \
    X(shm_atomic)                                                                                  \
    X(shmresults)                                                                                  \
    X(spin)                                                                                        \
    X(supervise)                                                                                   \
    X(sync)                                                                                        \
    X(sync_death)                                                                                  \
    X(sync_wait)                                                                                   \
    X(tracker)                                                                                     \
    X(redis)                                                                                       \
    X(redis_pool)                                                                                  \
    X(values)                                                                                      \
    X(waitany)

#define PP_TEST_DECLARE(name) void pp_test_suite_##name(void);
PP_TEST_SUITES(PP_TEST_DECLARE)
#undef PP_TEST_DECLARE

#ifdef _WIN32
/* An unhandled exception ends the process at once with the exception code
 * as its exit code (the runner reports CRASH): no error dialog, no WER,
 * and under wine no winedbg, which SEM_NOGPFAULTERRORBOX alone does not
 * prevent there. */
static LONG WINAPI crash_filter(EXCEPTION_POINTERS *ep)
{
    DWORD code = ep->ExceptionRecord->ExceptionCode;

    fprintf(stderr, "pp_tests: unhandled exception 0x%08lx\n", (unsigned long)code);
    fflush(stderr);
    TerminateProcess(GetCurrentProcess(), code);
    return EXCEPTION_EXECUTE_HANDLER;
}
#endif

static pp_test_cmdline g_cmdline;

const pp_test_cmdline *pp_test_get_cmdline(void)
{
    return &g_cmdline;
}

int main(int argc, char **argv)
{
    pp_status st;
    int rc;

    /* The pointers are copied: pp_init() moves argv's pointers, never the
     * strings they point at. */
#ifndef _WIN32
    /* manager_failures/t_start_server_hung: a started manager server that
     * stops itself before pp_init() (hung: it never says READY). */
    if (argc > 1 && strncmp(argv[1], "--pp-role=manager", 17) == 0 &&
        getenv("PP_TEST_MANAGER_STOPS") != NULL)
        (void)raise(SIGSTOP);
#endif
    g_cmdline.raw_argc = argc;
    g_cmdline.raw_argv = calloc((size_t)argc + 1, sizeof *argv);
    if (g_cmdline.raw_argv != NULL)
        memcpy(g_cmdline.raw_argv, argv, (size_t)argc * sizeof *argv);
    st = pp_init(&argc, &argv);
    g_cmdline.argc = argc;
    g_cmdline.argv = argv;

    if (st != PP_OK) {
        fprintf(stderr, "pp_tests: pp_init: %s (%s)\n", pp_err_name(st), pp_strerror(st));
        return 2;
    }
    if (apr_initialize() != APR_SUCCESS) { /* refcounted: pp_init did it too */
        fprintf(stderr, "pp_tests: apr_initialize failed\n");
        return 2;
    }
#ifdef SIGPIPE
    signal(SIGPIPE, SIG_IGN); /* a dead helper's stdin must not kill the test */
#endif
#ifdef _WIN32
    /* A crash ends the process with its exception code (reported as CRASH)
     * instead of opening an error dialog or a debugger. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    SetUnhandledExceptionFilter(crash_filter);
#ifdef _MSC_VER /* not in mingw's msvcrt.dll; there abort() just exits 3 */
    _set_abort_behavior(0, _WRITE_ABORT_MSG | _CALL_REPORTFAULT);
#endif
#endif
    pp_test_set_argv0(argv[0]);
#define PP_TEST_REGISTER(name) pp_test_suite_##name();
    PP_TEST_SUITES(PP_TEST_REGISTER)
#undef PP_TEST_REGISTER
    rc = pp_test_main(argc, argv);
    apr_terminate();
    pp_shutdown();
    free(g_cmdline.raw_argv);
    return rc;
}
