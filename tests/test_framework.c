/*
 * test_framework.c — the test framework tests itself: the runner must
 * report a pass, a failure, a crash, a hang and each kind of leak it can
 * see on this platform, and print the summary line CI parses.
 *
 * The targets are a hidden suite ("fw_targets"): the runner only runs it
 * when asked by name, so the intentional failures never count in a
 * normal run.
 */
#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_general.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "procpool/common.h"
#include "platform.h"
#include "pp_test.h"

#define LINE_MS  (60000 * pp_test_timeout_mult())
#define CHILD_MS (120000 * pp_test_timeout_mult())

/* ------------------------------------------------ targets (hidden) */

static void tg_passes(void)
{
    CU_PASS("passes");
}

static void tg_fails(void)
{
    CU_FAIL("intentional failure (framework self-test)");
}

static void tg_crashes(void)
{
    char name[PP_NAME_MAX + 1];

    /* Left behind by the crash: the runner must remove it (Linux). Made
     * with shm_open itself on POSIX: a name created through procpool
     * would be removed by the port's resource tracker (posix_tracker.c)
     * at about the same time, and the runner's cleanup is the safety net
     * for what the tracker never saw. */
    pp_test_unique_name(name, sizeof name);
#ifdef _WIN32
    {
        pp__plat_shm *shm = NULL;
        PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(name, 64, &shm), PP_OK);
    }
#else
    {
        char path[PP_NAME_MAX + 2];
        int fd;

        snprintf(path, sizeof path, "/%s", name);
        fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        CU_ASSERT_FATAL(fd >= 0);
    }
#endif
    fprintf(stderr, "fw_targets/tg_crashes: intentional crash (framework self-test)\n");
    pp_test_crash();
}

static void tg_hangs(void)
{
    for (;;)
        pp_test_sleep_ms(1000);
}

static void tg_leaks_fd(void)
{
#ifndef _WIN32
    int fd = open("/dev/null", O_RDONLY);

    CU_ASSERT(fd >= 0); /* and never closed */
#endif
}

static char g_leaked_shm[PP_NAME_MAX + 1];

/* Runs at exit, after the leak check has seen the object. */
static void unlink_leaked_shm(void)
{
    pp__plat_shm_unlink(g_leaked_shm);
}

static void tg_leaks_shm(void)
{
    pp__plat_shm *shm = NULL;

    pp_test_unique_name(g_leaked_shm, sizeof g_leaked_shm);
    PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(g_leaked_shm, 64, &shm), PP_OK);
    atexit(unlink_leaked_shm);
    pp__plat_shm_close(shm); /* closed, but the name is never removed */
}

static void tg_leaks_child(void)
{
    /* never freed: the child outlives the test; it exits when this
     * process does (EOF on its stdin) */
    CU_ASSERT(pp_test_spawn("fw-sleeper", NULL) != NULL);
}

/* fw-sleeper: wait for EOF on stdin. */
static int h_sleeper(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    while (pp_test_stdin_byte() != -1)
        ;
    return 0;
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_targets[] = {
    PP_TEST(tg_passes),
    PP_TEST(tg_fails),
    PP_TEST(tg_crashes),
    PP_TEST_TIMEOUT(tg_hangs, 1),
    PP_TEST(tg_leaks_fd),
    PP_TEST(tg_leaks_shm),
    PP_TEST(tg_leaks_child),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper g_helpers[] = {{"fw-sleeper", h_sleeper}, {NULL, NULL}};

/* --------------------------------------------------------- tests */

typedef struct expected {
    const char *test;
    const char *outcome;
} expected;

/* What the runner must say for each target here (leak checks that are
 * no-ops on a platform let the leaking target pass: see pp_test_leak.c). */
static void expected_outcomes(expected *e)
{
    unsigned on = pp_test_platform();
    int linux_like = 0;

#if defined(__linux__)
    linux_like = 1;
#endif
    e[0] = (expected){"tg_passes", "PASS"};
    e[1] = (expected){"tg_fails", "FAIL"};
    e[2] = (expected){"tg_crashes", "CRASH"};
    e[3] = (expected){"tg_hangs", "TIMEOUT"};
    e[4] = (expected){"tg_leaks_fd", (on & PP_TEST_ON_POSIX) ? "FAIL" : "PASS"};
    e[5] = (expected){"tg_leaks_shm", linux_like ? "FAIL" : "PASS"};
    e[6] =
        (expected){"tg_leaks_child", (linux_like || (on & PP_TEST_ON_WINDOWS)) ? "FAIL" : "PASS"};
}

#define NTARGETS 7

static void say_intentional(const char *what)
{
    fprintf(stderr,
            "framework/%s: the pp_tests errors below are intentional "
            "(negative tests of the test runner)\n",
            what);
    fflush(stderr);
}

/* "PASS     fw_targets/tg_passes   0.012 s" -> outcome, test */
static int parse_result_line(const char *line, char *outcome, char *test)
{
    char id[128];

    if (sscanf(line, "%15s %127s", outcome, id) != 2 || strncmp(id, "fw_targets/", 11) != 0)
        return 0;
    strcpy(test, id + 11);
    return 1;
}

static void t_runner_reports_every_outcome(void)
{
    const char *args[] = {"fw_targets", NULL};
    pp_test_child *c = pp_test_spawn_mode("--suite", NULL, args);
    char line[512], last[512] = "", outcome[16], test[128], want_summary[64];
    expected e[NTARGETS];
    int i, seen[NTARGETS] = {0}, passes = 0, cleaned = 0, want_cleaned = 0;

#if defined(__linux__)
    want_cleaned = 1;
#endif
    CU_ASSERT_FATAL(c != NULL);
    say_intentional("t_runner_reports_every_outcome");
    expected_outcomes(e);
    while (pp_test_child_read_line(c, line, sizeof line, LINE_MS)) {
        strcpy(last, line);
        cleaned += strncmp(line, "  cleanup: removed /dev/shm/ppt-", 32) == 0;
        if (!parse_result_line(line, outcome, test))
            continue;
        for (i = 0; i < NTARGETS; i++) {
            if (strcmp(test, e[i].test) == 0) {
                seen[i] = 1;
                PP_ASSERT_MSG(strcmp(outcome, e[i].outcome) == 0,
                              "runner said %s for %s, expected %s", outcome, test, e[i].outcome);
            }
        }
    }
    for (i = 0; i < NTARGETS; i++) {
        PP_ASSERT_MSG(seen[i], "no result line for fw_targets/%s", e[i].test);
        passes += strcmp(e[i].outcome, "PASS") == 0;
    }
    /* The runner removes a crashed test's names where it can list them
     * (/dev/shm, Linux); elsewhere it cannot (pp_test_leak.c) and must not
     * claim to. */
    PP_ASSERT_MSG(cleaned == want_cleaned,
                  "%d cleanup lines for the crashed test's shm, expected %d", cleaned,
                  want_cleaned);
    snprintf(want_summary, sizeof want_summary, "%d passed, %d failed", passes, NTARGETS - passes);
    PP_ASSERT_MSG(strcmp(last, want_summary) == 0, "last line '%s', expected '%s'", last,
                  want_summary);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(c, CHILD_MS), 1);
    pp_test_child_free(c);
}

/* Run "pp_tests MODE ARG" and return its exit code. Its stdout is read
 * and dropped: a nested "N passed, N failed" line must not reach the log
 * that CI parses. */
static int run_mode(const char *mode, const char *arg)
{
    const char *args[] = {arg, NULL};
    pp_test_child *c = pp_test_spawn_mode(mode, NULL, args);
    char line[512];
    int code;

    if (c == NULL)
        return -1000;
    while (pp_test_child_read_line(c, line, sizeof line, LINE_MS))
        ;
    code = pp_test_child_exit_code(c, CHILD_MS);
    pp_test_child_free(c);
    return code;
}

static void t_single_test_mode_exit_codes(void)
{
    say_intentional("t_single_test_mode_exit_codes");
    CU_ASSERT_EQUAL(run_mode("--run", "fw_targets/tg_passes"), 0);
    CU_ASSERT_EQUAL(run_mode("--run", "fw_targets/tg_fails"), 1);
    CU_ASSERT_EQUAL(run_mode("--run", "fw_targets/no_such_test"), 2);
    CU_ASSERT_EQUAL(run_mode("--run", "no_such_suite/t"), 2);
    CU_ASSERT_EQUAL(run_mode("--helper", "no-such-helper"), PP_TEST_EXIT_USAGE);
    CU_ASSERT_EQUAL(run_mode("--suite", "no_such_suite"), 1);
    CU_ASSERT_EQUAL(run_mode("--expect-suites", "error,no_such_suite"), 1);
}

static void t_status_exit_codes(void)
{
    int st;

    for (st = 0; st >= PP__STATUS_MIN; st--) {
        int code = pp_test_exit_from_status((pp_status)st);

        PP_ASSERT_MSG(code > PP_TEST_EXIT_SETUP && code < 126, "status %d -> exit %d", st, code);
        CU_ASSERT_EQUAL(pp_test_status_from_exit(code), st);
    }
    CU_ASSERT_EQUAL(pp_test_status_from_exit(0), 1);
    CU_ASSERT_EQUAL(pp_test_status_from_exit(PP_TEST_EXIT_SETUP), 1);
    CU_ASSERT_EQUAL(pp_test_status_from_exit(255), 1);
}

static int name_ok(const char *s)
{
    size_t i, n = strlen(s);

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= PP_NAME_MAX;
}

static void t_unique_names(void)
{
    static char names[1000][PP_NAME_MAX + 1];
    int i, j, bad = 0;

    for (i = 0; i < 1000; i++) {
        pp_test_unique_name(names[i], sizeof names[i]);
        bad += !name_ok(names[i]) || strstr(names[i], pp_test_pid_token()) == NULL;
        for (j = 0; j < i; j++)
            bad += strcmp(names[i], names[j]) == 0;
    }
    PP_ASSERT_MSG(bad == 0, "%d bad or duplicate names (e.g. '%s')", bad, names[0]);
}

/* Targets of t_runner_restarts_startup_deaths: one test of each outcome
 * that a restart could hide. */
/* clang-format off */
static const pp_test_case g_startup_targets[] = {
    PP_TEST(tg_passes),
    PP_TEST(tg_fails),
    PP_TEST(tg_crashes),
    PP_TEST_END,
};
/* clang-format on */

/* Run the hidden suite fw_startup with `deaths` start-up deaths to come
 * (startup_fault() in pp_test.c); the outcome of its three tests into
 * out[] (first letter: P, F, C, '?' if none), the start count into
 * *starts, the deaths left into *left. */
static void run_startup_suite(long deaths, char out[3], long *starts, long *left)
{
    const char *args[] = {"fw_startup", NULL};
    static const char *const names[] = {"tg_passes", "tg_fails", "tg_crashes"};
    char path[1024], line[512], outcome[16], test[128], id[160];
    const char *dir = NULL;
    pp_test_child *c;
    FILE *f;
    int i;

    out[0] = out[1] = out[2] = '?';
    *starts = *left = -1;
    CU_ASSERT_FATAL(apr_temp_dir_get(&dir, pp_test_pool()) == APR_SUCCESS);
    snprintf(path, sizeof path, "%s/%s.startup", dir, pp_test_pid_token() + 1);
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "%ld 0\n", deaths);
    fclose(f);
    CU_ASSERT_FATAL(apr_env_set("PP_TEST_FW_STARTUP", path, pp_test_pool()) == APR_SUCCESS);
    c = pp_test_spawn_mode("--suite", NULL, args);
    (void)apr_env_delete("PP_TEST_FW_STARTUP", pp_test_pool());
    if (c != NULL) {
        while (pp_test_child_read_line(c, line, sizeof line, LINE_MS)) {
            if (sscanf(line, "%15s %159s", outcome, id) != 2 || strncmp(id, "fw_startup/", 11) != 0)
                continue;
            strcpy(test, id + 11);
            for (i = 0; i < 3; i++) {
                if (strcmp(test, names[i]) == 0)
                    out[i] = outcome[0];
            }
            /* a test given up after three start-up deaths says so */
            if (strstr(line, "never ran") != NULL)
                out[0] = out[0] == 'C' ? 'N' : out[0];
        }
        CU_ASSERT_EQUAL(pp_test_child_exit_code(c, CHILD_MS), 1);
        pp_test_child_free(c);
    }
    f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fscanf(f, "%ld %ld", left, starts) == 2);
    fclose(f);
    remove(path);
}

/* A test process that dies before its test started (wine's start-up
 * failures) is started again, at most twice; one that reached its test
 * is never started again, whatever its outcome. */
static void t_runner_restarts_startup_deaths(void)
{
    char out[3];
    long starts, left;

    say_intentional("t_runner_restarts_startup_deaths");
    /* no deaths: each test once */
    run_startup_suite(0, out, &starts, &left);
    PP_ASSERT_MSG(out[0] == 'P' && out[1] == 'F' && out[2] == 'C', "outcomes %.3s", out);
    CU_ASSERT_EQUAL(starts, 3);
    /* one: the first test is started twice and passes */
    run_startup_suite(1, out, &starts, &left);
    PP_ASSERT_MSG(out[0] == 'P' && out[1] == 'F' && out[2] == 'C', "outcomes %.3s", out);
    CU_ASSERT_EQUAL(starts, 4);
    CU_ASSERT_EQUAL(left, 0);
    /* four: the first dies three times and is reported as never run
     * (N), the second dies once and then fails */
    run_startup_suite(4, out, &starts, &left);
    PP_ASSERT_MSG(out[0] == 'N' && out[1] == 'F' && out[2] == 'C', "outcomes %.3s", out);
    CU_ASSERT_EQUAL(starts, 6);
    CU_ASSERT_EQUAL(left, 0);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_runner_reports_every_outcome, 240),
    PP_TEST_TIMEOUT(t_single_test_mode_exit_codes, 120),
    PP_TEST_TIMEOUT(t_runner_restarts_startup_deaths, 240),
    PP_TEST(t_status_exit_codes),
    PP_TEST(t_unique_names),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(framework)
{
    pp_test_add_suite("framework", g_cases);
    pp_test_add_hidden_suite("fw_targets", g_targets);
    pp_test_add_hidden_suite("fw_startup", g_startup_targets);
    pp_test_add_helpers(g_helpers);
}
