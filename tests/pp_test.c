/*
 * pp_test.c — registry, runner (one child process per test, with a
 * timeout), single-test mode, and the small utilities tests share.
 *
 * The runner re-executes this binary with "--run suite/test" through
 * apr_proc_create and polls apr_proc_wait(APR_NOWAIT), so it works the same
 * on POSIX and Windows (no fork). A crash, hang or leak fails one test,
 * not the run.
 */
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <CUnit/TestRun.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "procpool/common.h"
#include "procpool/pool.h"
#include "procpool/error.h"
#include "procpool/shm.h"
#include "pp_test.h"

#define MAX_SUITES        64
#define MAX_HELPER_TABLES 32

typedef struct suite_entry {
    const char *name;
    const pp_test_case *cases;
    int hidden;
} suite_entry;

static suite_entry g_suites[MAX_SUITES];
static int g_nsuites;
static const pp_test_helper *g_helpers[MAX_HELPER_TABLES];
static int g_nhelpers;
static apr_pool_t *g_test_pool;

/* ------------------------------------------------------------ registry */

static void add_suite(const char *suite, const pp_test_case *cases, int hidden)
{
    if (g_nsuites == MAX_SUITES) {
        fprintf(stderr, "pp_tests: too many suites (raise MAX_SUITES)\n");
        abort();
    }
    g_suites[g_nsuites].name = suite;
    g_suites[g_nsuites].cases = cases;
    g_suites[g_nsuites].hidden = hidden;
    g_nsuites++;
}

void pp_test_add_suite(const char *suite, const pp_test_case *cases)
{
    add_suite(suite, cases, 0);
}

void pp_test_add_hidden_suite(const char *suite, const pp_test_case *cases)
{
    add_suite(suite, cases, 1);
}

void pp_test_add_helpers(const pp_test_helper *helpers)
{
    if (g_nhelpers == MAX_HELPER_TABLES) {
        fprintf(stderr, "pp_tests: too many helper tables\n");
        abort();
    }
    g_helpers[g_nhelpers++] = helpers;
}

static const suite_entry *find_suite(const char *name, size_t len)
{
    int i;

    for (i = 0; i < g_nsuites; i++) {
        if (strlen(g_suites[i].name) == len && strncmp(g_suites[i].name, name, len) == 0)
            return &g_suites[i];
    }
    return NULL;
}

static const pp_test_case *find_case(const suite_entry *s, const char *name)
{
    const pp_test_case *c;

    for (c = s->cases; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static pp_helper_fn find_helper(const char *name)
{
    const pp_test_helper *h;
    int i;

    for (i = 0; i < g_nhelpers; i++) {
        for (h = g_helpers[i]; h->name != NULL; h++) {
            if (strcmp(h->name, name) == 0)
                return h->fn;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------- assertions */

int pp_test_check_status(int got, int expected, const char *expr, const char *file, int line,
                         CU_BOOL fatal)
{
    char msg[512];

    if (got == expected) {
        CU_assertImplementation(CU_TRUE, (unsigned)line, expr, file, "", CU_FALSE);
        return 1;
    }
    snprintf(msg, sizeof msg, "%s returned %s (%d), expected %s (%d)", expr, pp_err_name(got), got,
             pp_err_name(expected), expected);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "", fatal);
    return 0;
}

int pp_test_check_msg(int ok, const char *file, int line, CU_BOOL fatal, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, "", fatal);
    return ok;
}

/* ----------------------------------------------------------- utilities */

static uint64_t self_pid(void)
{
#ifdef _WIN32
    return (uint64_t)GetCurrentProcessId();
#else
    return (uint64_t)getpid();
#endif
}

const char *pp_test_pid_token(void)
{
    static char token[32];

    snprintf(token, sizeof token, "-%llu-", (unsigned long long)self_pid());
    return token;
}

/* One random word per process (a fresh one per call is slow on Windows,
 * where APR opens a crypto provider each time); names stay unique through
 * pid + sequence, and the random part keeps a recycled pid from meeting a
 * stale object of an earlier run. */
static unsigned long random_base(void)
{
    static unsigned long base;
    static int have;
    unsigned char rnd[4] = {0, 0, 0, 0};

    if (!have) {
        if (apr_generate_random_bytes(rnd, sizeof rnd) == APR_SUCCESS)
            base = (unsigned long)rnd[0] | (unsigned long)rnd[1] << 8 |
                   (unsigned long)rnd[2] << 16 | (unsigned long)rnd[3] << 24;
        else
            base = (unsigned long)apr_time_now() ^ (unsigned long)self_pid();
        have = 1;
    }
    return base;
}

void pp_test_unique_name(char *buf, size_t cap)
{
    static unsigned seq;
    unsigned long r;

    seq++;
    r = (random_base() ^ (seq * 2654435761UL)) & 0xffffffffUL;
    snprintf(buf, cap, "ppt-%llu-%u-%08lx", (unsigned long long)self_pid(), seq % 100000u, r);
}

int64_t pp_test_now_ms(void)
{
    return (int64_t)(apr_time_now() / 1000);
}

int64_t pp_test_clock_slack_ms(void)
{
#ifdef _WIN32
    /* apr_time_now() is GetSystemTimeAsFileTime(): it advances in timer
     * ticks of up to 15.6 ms on real Windows. */
    return 16;
#else
    return 0;
#endif
}

void pp_test_sleep_ms(int64_t ms)
{
    apr_sleep((apr_interval_time_t)ms * 1000);
}

void pp_test_crash(void)
{
    fflush(NULL);
#ifdef _WIN32
    RaiseException(EXCEPTION_ACCESS_VIOLATION, EXCEPTION_NONCONTINUABLE, 0, NULL);
#else
    raise(SIGSEGV);
#endif
    abort(); /* only if a handler caught the signal and returned: still no return */
}

static volatile unsigned g_spin_sink;

void pp_test_racy_increment(volatile int64_t *counter, int64_t i)
{
    int64_t v = *counter;
    int k;

    for (k = 0; k < 16; k++)
        g_spin_sink++;
    if ((i & 1023) == 0)
        apr_thread_yield();
    *counter = v + 1;
}

int pp_test_timeout_mult(void)
{
    const char *s = getenv("PP_TEST_TIMEOUT_MULT");
    int m = s ? atoi(s) : 1;

    return m >= 1 ? m : 1;
}

apr_pool_t *pp_test_pool(void)
{
    if (g_test_pool == NULL && apr_pool_create(&g_test_pool, NULL) != APR_SUCCESS) {
        fprintf(stderr, "pp_tests: apr_pool_create failed\n");
        abort();
    }
    return g_test_pool;
}

static void test_pool_destroy(void)
{
    if (g_test_pool != NULL) {
        apr_pool_destroy(g_test_pool);
        g_test_pool = NULL;
    }
}

struct pp_test_thread {
    void (*fn)(void *);
    void *arg;
    apr_pool_t *pool;
    apr_thread_t *thread;
};

static void *APR_THREAD_FUNC thread_trampoline(apr_thread_t *t, void *data)
{
    pp_test_thread *pt = data;

    (void)t;
    pt->fn(pt->arg);
    return NULL;
}

pp_test_thread *pp_test_thread_start(void (*fn)(void *), void *arg)
{
    pp_test_thread *pt;
    apr_pool_t *pool;
    apr_status_t rv;

    CU_ASSERT_FATAL(apr_pool_create(&pool, pp_test_pool()) == APR_SUCCESS);
    pt = apr_pcalloc(pool, sizeof *pt);
    pt->fn = fn;
    pt->arg = arg;
    pt->pool = pool;
    rv = apr_thread_create(&pt->thread, NULL, thread_trampoline, pt, pool);
    PP_ASSERT_MSG_FATAL(rv == APR_SUCCESS, "apr_thread_create failed: %d", (int)rv);
    return pt;
}

void pp_test_thread_join(pp_test_thread *t)
{
    apr_status_t rv;

    apr_thread_join(&rv, t->thread);
    apr_pool_destroy(t->pool);
}

void pp_test_run_in_thread(void (*fn)(void *), void *arg)
{
    pp_test_thread_join(pp_test_thread_start(fn, arg));
}

unsigned pp_test_platform(void)
{
#ifdef _WIN32
    unsigned bits = PP_TEST_ON_WINDOWS;
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");

    /* wine's ntdll exports wine_get_version; Windows' never does. */
    if (ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL)
        bits |= PP_TEST_ON_WINE;
    return bits;
#elif defined(__APPLE__)
    return PP_TEST_ON_POSIX | PP_TEST_ON_MACOS;
#else
    return PP_TEST_ON_POSIX;
#endif
}

/* ------------------------------------------------------ single test run */

static void print_failures(const char *suite, const char *test)
{
    CU_pFailureRecord f;

    for (f = CU_get_failure_list(); f != NULL; f = f->pNext) {
        fprintf(stdout, "  %s/%s: %s:%u: %s\n", suite, test, f->strFileName ? f->strFileName : "?",
                f->uiLineNumber, f->strCondition ? f->strCondition : "(no condition)");
    }
}

/* The POSIX port starts a resource tracker (platform/posix/posix_tracker.c)
 * the first time a process creates a named object, and keeps its socket
 * open until the process exits: start it here, before the snapshot, so
 * that socket is not counted as the first test's leaked fd. (The
 * tracker is not a child of the test process, so the child check does
 * not see it; tests/test_tracker.c checks the tracker itself, in helper
 * processes.) On Windows this only creates and destroys a block. */
static void start_resource_tracker(void)
{
    char name[PP_NAME_MAX + 1];
    pp_shm *shm = NULL;

    pp_test_unique_name(name, sizeof name);
    if (pp_shm_create(name, 1, &shm) == PP_OK)
        pp_shm_destroy(shm);
}

/* Run one test in this process through CUnit, then the leak check.
 * Failures and leaks go to stdout, so that under the runner they come
 * right above the test's FAIL line (meson logs stdout and stderr apart). Returns the exit code: 0
 * iff the test passed. */
static int run_one(const suite_entry *s, const pp_test_case *c)
{
    pp_test_snapshot *snap;
    CU_pSuite cs;
    unsigned failed;
    int leaks;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "pp_tests: CU_initialize_registry: %s\n", CU_get_error_msg());
        return 2;
    }
    cs = CU_add_suite(s->name, NULL, NULL);
    if (cs == NULL || CU_add_test(cs, c->name, c->fn) == NULL) {
        fprintf(stderr, "pp_tests: registering %s/%s: %s\n", s->name, c->name, CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    start_resource_tracker();
    snap = pp_test_snapshot_take();
    /* CUnit's core runner: CU_basic_run_tests() would print its run
     * summary table even in CU_BRM_SILENT mode; we print the failures. */
    CU_run_all_tests();
    failed = CU_get_number_of_tests_failed();
    print_failures(s->name, c->name);
    CU_cleanup_registry();
    test_pool_destroy();
    leaks = pp_test_snapshot_check(snap);
    if (leaks > 0)
        printf("  %s/%s: %d leak(s) (see above)\n", s->name, c->name, leaks);
    fflush(stdout);
    return (failed > 0 || leaks > 0) ? 1 : 0;
}

/* The framework's own test (framework/t_runner_restarts_startup_deaths)
 * makes test processes die where wine's start-up failures do, before
 * the test started: PP_TEST_FW_STARTUP names a file holding "DEATHS
 * STARTS"; each test process counts itself in STARTS and, while DEATHS
 * > 0, takes one off and crashes. Unset (always, outside that test):
 * nothing. */
static void startup_fault(void)
{
    const char *path = getenv("PP_TEST_FW_STARTUP");
    long deaths = 0, starts = 0;
    FILE *f;

    if (path == NULL || (f = fopen(path, "r")) == NULL)
        return;
    if (fscanf(f, "%ld %ld", &deaths, &starts) != 2)
        deaths = starts = 0;
    fclose(f);
    f = fopen(path, "w");
    if (f == NULL)
        return;
    fprintf(f, "%ld %ld\n", deaths > 0 ? deaths - 1 : 0, starts + 1);
    fclose(f);
    if (deaths > 0)
        pp_test_crash();
}

/* started_file (NULL: none): created before anything of the test runs,
 * so the runner can tell a test process that died in its own start-up
 * (before main, e.g. wine's 0xc0000142) from a test that failed. */
static int run_by_id(const char *id, const char *started_file)
{
    const char *slash = strchr(id, '/');
    const suite_entry *s;
    const pp_test_case *c;
    const char *skip;
    FILE *f;

    s = slash ? find_suite(id, (size_t)(slash - id)) : NULL;
    c = s ? find_case(s, slash + 1) : NULL;
    if (c == NULL) {
        fprintf(stderr, "pp_tests: no test '%s' (try --list)\n", id);
        return 2;
    }
    startup_fault();
    if (started_file != NULL) {
        f = fopen(started_file, "w");
        if (f == NULL || fclose(f) != 0) {
            fprintf(stderr, "pp_tests: cannot create %s\n", started_file);
            return 2;
        }
    }
    skip = pp_test_skip_reason(s->name, c->name);
    if (skip != NULL)
        fprintf(stderr, "note: %s is on the skip list here (%s); running it anyway\n", id, skip);
    return run_one(s, c);
}

/* -------------------------------------------------------------- runner */

typedef enum outcome { OUT_PASS, OUT_FAIL, OUT_TIMEOUT, OUT_CRASH } outcome;

static const char *outcome_word(outcome o)
{
    static const char *const words[] = {"PASS", "FAIL", "TIMEOUT", "CRASH"};

    return words[o];
}

static outcome classify(int r, int code, int64_t timeout_ms, char *detail, size_t cap)
{
    detail[0] = '\0';
    switch (r) {
    case PP_TEST_CHILD_EXITED:
        if (code == 0)
            return OUT_PASS;
        snprintf(detail, cap, "exit code %d", code);
        return OUT_FAIL;
    case PP_TEST_CHILD_CRASHED:
        if (code > 255 || code < 0) /* a Windows exception code */
            snprintf(detail, cap, "exception 0x%08x", (unsigned)code);
        else
            snprintf(detail, cap, "signal %d", code);
        return OUT_CRASH;
    case PP_TEST_CHILD_TIMEOUT:
        snprintf(detail, cap, "killed after %lld s", (long long)(timeout_ms / 1000));
        return OUT_TIMEOUT;
    default:
        /* code: the APR status of the start or the wait that failed
         * (pp_tests printed which on stderr) */
        snprintf(detail, cap, "could not run the test process (APR status %d)", code);
        return OUT_FAIL;
    }
}

/* Path of the runner's "test started" marker file, in the temp dir. */
static const char *started_file_path(void)
{
    static char path[1024];
    const char *dir = NULL;

    if (path[0] == '\0') {
        if (apr_temp_dir_get(&dir, pp_test_pool()) != APR_SUCCESS)
            dir = ".";
        snprintf(path, sizeof path, "%s/pp-tests-started-%llu", dir,
                 (unsigned long long)self_pid());
    }
    return path;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return 0;
    fclose(f);
    return 1;
}

/* Spawn "--run suite/test --started-file F", wait with the test's
 * timeout. detail gets the exit code / signal for the report line.
 *
 * A test process that crashed or failed before it created F never ran
 * anything of the test: it died in its own start-up. Under wine that
 * happens now and then under load (exception 0xc0000142, "DLL
 * initialization failed", in a process that had not reached main; CI
 * of session 7 failed on one). The runner then starts it again, at most
 * twice more, saying so on stderr; a process that reached the test is
 * never started again, and a start-up failure that repeats is reported
 * like any failure. */
static outcome run_in_child(const suite_entry *s, const pp_test_case *c, char *detail, size_t cap)
{
    char id[256];
    const char *marker = started_file_path();
    const char *args[] = {NULL, "--started-file", NULL, NULL};
    int64_t timeout_ms, pid;
    int attempt, code, r, started;
    outcome o;

    snprintf(id, sizeof id, "%s/%s", s->name, c->name);
    args[0] = id;
    args[2] = marker;
    timeout_ms = (int64_t)(c->timeout_s > 0 ? c->timeout_s : PP_TEST_DEFAULT_TIMEOUT_S) * 1000 *
                 pp_test_timeout_mult();
    for (attempt = 1;; attempt++) {
        (void)remove(marker);
        fflush(stdout);
        fflush(stderr);
        pid = 0;
        code = 0;
        r = pp_test_spawn_self_wait("--run", args, timeout_ms, &code, &pid);
        o = classify(r, code, timeout_ms, detail, cap);
        started = file_exists(marker);
        (void)remove(marker);
        /* A crashed or killed test never ran its own leak check: remove
         * what it left, so the next tests and runs start clean. */
        if ((o == OUT_CRASH || o == OUT_TIMEOUT) && pid > 0)
            pp_test_shm_cleanup_pid(pid);
        if (o == OUT_PASS || started || r == PP_TEST_CHILD_ERROR || o == OUT_TIMEOUT)
            break;
        if (attempt == 3) {
            snprintf(detail + strlen(detail), cap - strlen(detail),
                     " (in start-up, 3 times: the test never ran)");
            break;
        }
        fprintf(stderr,
                "pp_tests: the test process of %s ended (%s %s) before the test started "
                "(attempt %d of 3): starting it again\n",
                id, outcome_word(o), detail, attempt);
    }
    return o;
}

typedef struct tally {
    int passed;
    int failed;
    int skipped;
} tally;

static void run_case(const suite_entry *s, const pp_test_case *c, tally *t)
{
    const char *skip = pp_test_skip_reason(s->name, c->name);
    char id[256];
    char detail[128];
    int64_t start;
    outcome o;

    snprintf(id, sizeof id, "%s/%s", s->name, c->name);
    if (skip != NULL) {
        printf("SKIP     %-48s (%s)\n", id, skip);
        t->skipped++;
        return;
    }
    start = pp_test_now_ms();
    o = run_in_child(s, c, detail, sizeof detail);
    printf("%-8s %-48s %7.3f s%s%s\n", outcome_word(o), id,
           (double)(pp_test_now_ms() - start) / 1000.0, detail[0] ? "  " : "", detail);
    fflush(stdout);
    if (o == OUT_PASS)
        t->passed++;
    else
        t->failed++;
}

static int run_all(const char *only_suite)
{
    tally t = {0, 0, 0};
    const pp_test_case *c;
    int i, matched = 0;

    for (i = 0; i < g_nsuites; i++) {
        if (only_suite != NULL ? strcmp(only_suite, g_suites[i].name) != 0 : g_suites[i].hidden)
            continue;
        matched++;
        for (c = g_suites[i].cases; c->name != NULL; c++)
            run_case(&g_suites[i], c, &t);
    }
    if (only_suite != NULL && matched == 0) {
        fprintf(stderr, "pp_tests: no suite '%s' (try --list)\n", only_suite);
        t.failed++;
    }
    if (t.skipped > 0)
        printf("%d skipped (reasons above; the list is tests/pp_test_skip.c)\n", t.skipped);
    /* The last line is parsed by .ci/run: keep its form. */
    printf("%d passed, %d failed\n", t.passed, t.failed);
    fflush(stdout);
    return t.failed > 0 ? 1 : 0;
}

/* ------------------------------------------------------------- modes */

static int list_all(void)
{
    const pp_test_case *c;
    const pp_test_helper *h;
    const char *skip;
    int i;

    for (i = 0; i < g_nsuites; i++) {
        for (c = g_suites[i].cases; c->name != NULL; c++) {
            skip = pp_test_skip_reason(g_suites[i].name, c->name);
            printf("%s/%s%s%s%s%s\n", g_suites[i].name, c->name,
                   g_suites[i].hidden ? "  [hidden: run only by name]" : "",
                   skip ? "  [skip: " : "", skip ? skip : "", skip ? "]" : "");
        }
    }
    for (i = 0; i < g_nhelpers; i++) {
        for (h = g_helpers[i]; h->name != NULL; h++)
            printf("helper %s\n", h->name);
    }
    return 0;
}

/* Is name (len bytes) an element of the comma-separated list? */
static int list_has(const char *list, const char *name, size_t len)
{
    const char *p = list;
    size_t n;

    for (;;) {
        n = strcspn(p, ",");
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

/* --expect-suites a,b,c: fail if the registered suites differ from the
 * list meson runs, so a new suite cannot be silently left out of CI. */
static int expect_suites(const char *list)
{
    int i, bad = 0, n = 0;
    const char *p = list;
    size_t len;

    for (;;) {
        len = strcspn(p, ",");
        n++;
        if (find_suite(p, len) == NULL) {
            fprintf(stderr, "meson lists suite '%.*s' that no test file registers\n", (int)len, p);
            bad++;
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    for (i = 0; i < g_nsuites; i++) {
        if (!g_suites[i].hidden && !list_has(list, g_suites[i].name, strlen(g_suites[i].name))) {
            fprintf(stderr, "suite '%s' is not run by meson: add it to tests/meson.build\n",
                    g_suites[i].name);
            bad++;
        }
    }
    printf("%-8s %d suites listed in tests/meson.build, all registered and vice versa\n",
           bad ? "FAIL" : "PASS", n);
    printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
    return bad ? 1 : 0;
}

static int run_helper(int argc, char **argv)
{
    pp_helper_fn fn;

    if (argc < 1) {
        fprintf(stderr, "pp_tests: --helper needs a name\n");
        return PP_TEST_EXIT_USAGE;
    }
    fn = find_helper(argv[0]);
    if (fn == NULL) {
        fprintf(stderr, "pp_tests: no helper '%s'\n", argv[0]);
        return PP_TEST_EXIT_USAGE;
    }
    return fn(argc, argv);
}

static int usage(void)
{
    fprintf(stderr, "usage: pp_tests [--suite NAME] | --run SUITE/TEST | --list\n"
                    "                | --helper NAME [ARGS...] | --expect-suites A,B,...\n");
    return 2;
}

int pp_test_main(int argc, char **argv)
{
    if (argc == 1)
        return run_all(NULL);
    if (strcmp(argv[1], "--suite") == 0 && argc == 3)
        return run_all(argv[2]);
    if (strcmp(argv[1], "--run") == 0 && argc == 3)
        return run_by_id(argv[2], NULL);
    if (strcmp(argv[1], "--run") == 0 && argc == 5 && strcmp(argv[3], "--started-file") == 0)
        return run_by_id(argv[2], argv[4]);
    if (strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    if (strcmp(argv[1], "--list") == 0)
        return list_all();
    if (strcmp(argv[1], "--expect-suites") == 0 && argc == 3)
        return expect_suites(argv[2]);
    return usage();
}

pp_pool *pp_test_pool_make(int method, int n)
{
    pp_pool_options o;
    pp_pool *p = NULL;

    memset(&o, 0, sizeof o);
    o.processes = n;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    return p;
}

void pp_test_pool_finish(pp_pool *p)
{
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, 60000 * pp_test_timeout_mult()), PP_OK);
    pp_pool_destroy(p);
}
