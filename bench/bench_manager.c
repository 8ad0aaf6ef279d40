/*
 * bench_manager.c — throughput of a lock hosted by a procpool manager,
 * used from other processes (clients), as Python's Manager().Lock().
 *
 *   mgr_uncontended_pairs_per_s   one client process, --pairs
 *                                 acquire+release pairs, best of --runs
 *   mgr_contended_<N>p_incr_per_s N = 2 and 4 client processes each doing
 *                                 --incr increments of one shared 64-bit
 *                                 counter under the manager lock; total
 *                                 increments / wall time, best of --runs
 *
 * The manager is started with pp_manager_start() (its default endpoint:
 * a Unix socket on POSIX, TCP loopback on Windows; --tcp for TCP
 * loopback everywhere). Clients are fresh executions of this program
 * (--client); each reads the key (hex) on stdin — never argv — connects
 * by address, and opens the lock by id. Start-up and connecting are not
 * timed: the parent holds the lock until every client is ready, then
 * starts the clock and releases it. The final counter must be N * incr
 * (exit status 1 otherwise).
 *
 * bench/bench_manager.py is the Python twin; bench/run_bench.py runs both.
 * Output: "<metric> <integer>" lines, and "#" lines for information.
 * Internal platform functions (named shm, clock): procpool_internal_dep.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "platform.h"
#include "procpool/procpool.h"

#define MAX_PROCS 4
#define KEYLEN    32

typedef struct shared {
    int64_t counter; /* protected by the manager lock */
    volatile apr_uint32_t ready;
} shared;

typedef struct options {
    int64_t pairs;
    int64_t incr;
    int runs;
    int tcp;
} options;

static char g_shm_name[PP_NAME_MAX + 1];

static void die_pp(const char *what, pp_status st)
{
    if (g_shm_name[0] != '\0')
        (void)pp__plat_shm_unlink(g_shm_name);
    fprintf(stderr, "bench_manager: %s: %s (%s, os error %d)\n", what, pp_strerror(st),
            pp_err_name(st), pp_os_error());
    exit(1);
}

static void die_apr(const char *what, apr_status_t rv)
{
    char buf[256];
    if (g_shm_name[0] != '\0')
        (void)pp__plat_shm_unlink(g_shm_name);
    fprintf(stderr, "bench_manager: %s: %s\n", what, apr_strerror(rv, buf, sizeof buf));
    exit(1);
}

static int64_t parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 1) {
        fprintf(stderr, "bench_manager: %s must be an integer >= 1, not '%s'\n", what, s);
        exit(2);
    }
    return (int64_t)v;
}

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

/* --------------------------------------------------------------- client */

static void read_key(uint8_t *key)
{
    char line[2 * KEYLEN + 8];
    unsigned v;

    if (fgets(line, sizeof line, stdin) == NULL || strlen(line) < 2 * KEYLEN)
        die_pp("client: no key on stdin", PP_EINVAL);
    for (int i = 0; i < KEYLEN; i++) {
        if (sscanf(line + 2 * i, "%2x", &v) != 1)
            die_pp("client: bad key", PP_EINVAL);
        key[i] = (uint8_t)v;
    }
}

/* --client ADDRESS ID MODE N [SHM]: MODE "pairs": N timed pairs per run,
 * RUNS runs, prints the best time in ns; MODE "incr": N increments of the
 * counter in SHM after the gate. */
static int client_main(char **argv)
{
    uint8_t key[KEYLEN];
    pp_manager *m = NULL;
    pp_lock *lock = NULL;
    pp_status st;
    int64_t n = parse_count(argv[5], "count");

    read_key(key);
    if ((st = pp_manager_connect(argv[2], key, sizeof key, &m)) != PP_OK)
        die_pp("client: pp_manager_connect", st);
    if ((st = pp_manager_lock_open(m, strtoull(argv[3], NULL, 10), &lock)) != PP_OK)
        die_pp("client: pp_manager_lock_open", st);
    if (strcmp(argv[4], "pairs") == 0) {
        int runs = (int)parse_count(argv[6], "runs");
        int64_t best = INT64_MAX;
        for (int r = 0; r < runs; r++) {
            int64_t t0 = pp__plat_now_ns();
            for (int64_t i = 0; i < n; i++) {
                if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
                    die_pp("client: pp_lock_acquire", st);
                if ((st = pp_lock_release(lock)) != PP_OK)
                    die_pp("client: pp_lock_release", st);
            }
            int64_t dt = pp__plat_now_ns() - t0;
            if (dt < best)
                best = dt;
        }
        printf("%" PRId64 "\n", best);
        fflush(stdout);
    } else {
        pp__plat_shm *shm = NULL;
        if ((st = pp__plat_shm_open(argv[6], &shm)) != PP_OK)
            die_pp("client: shm open", st);
        shared *sh = pp__plat_shm_ptr(shm);
        apr_atomic_inc32(&sh->ready);
        for (int64_t i = 0; i < n; i++) {
            if ((st = pp_lock_acquire(lock, PP_INFINITE)) != PP_OK)
                die_pp("client: pp_lock_acquire", st);
            sh->counter++;
            if ((st = pp_lock_release(lock)) != PP_OK)
                die_pp("client: pp_lock_release", st);
        }
        pp__plat_shm_close(shm);
    }
    pp_lock_destroy(lock);
    pp_manager_destroy(m);
    return 0;
}

/* --------------------------------------------------------------- parent */

typedef struct bench {
    const char *exe, *argv0;
    pp_manager *m;
    pp_lock *lock;
    char id[24];
    char keyhex[2 * KEYLEN + 2];
} bench;

static void start_client(bench *b, apr_proc_t *proc, const char *mode, const char *n,
                         const char *extra, apr_pool_t *pool)
{
    apr_procattr_t *attr;
    apr_status_t rv;
    apr_size_t len = strlen(b->keyhex);

    if ((rv = apr_procattr_create(&attr, pool)) != APR_SUCCESS ||
        (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH)) != APR_SUCCESS ||
        (rv = apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_FULL_BLOCK, APR_NO_PIPE)) !=
            APR_SUCCESS ||
        (rv = apr_procattr_error_check_set(attr, 1)) != APR_SUCCESS)
        die_apr("apr_procattr", rv);
    const char *args[] = {b->argv0, "--client", pp_manager_address(b->m), b->id, mode, n,
                          extra,    NULL};
    if ((rv = apr_proc_create(proc, b->exe, args, NULL, attr, pool)) != APR_SUCCESS)
        die_apr("apr_proc_create", rv);
    if ((rv = apr_file_write_full(proc->in, b->keyhex, len, NULL)) != APR_SUCCESS)
        die_apr("key to client", rv);
    apr_file_close(proc->in);
}

static void wait_client(apr_proc_t *proc)
{
    int code = 0;
    apr_exit_why_e why;
    apr_status_t rv = apr_proc_wait(proc, &code, &why, APR_WAIT);

    if (rv != APR_CHILD_DONE)
        die_apr("apr_proc_wait", rv);
    if (!APR_PROC_CHECK_EXIT(why) || code != 0)
        die_pp("a client failed", PP_ESPAWN);
}

static double uncontended_pairs_per_s(bench *b, const options *o)
{
    apr_pool_t *pool;
    apr_proc_t proc;
    char pairs[24], runs[24], out[64] = "";
    apr_size_t len = sizeof out - 1;

    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        die_pp("apr_pool_create", PP_ENOMEM);
    snprintf(pairs, sizeof pairs, "%" PRId64, o->pairs);
    snprintf(runs, sizeof runs, "%d", o->runs);
    start_client(b, &proc, "pairs", pairs, runs, pool);
    (void)apr_file_read_full(proc.out, out, len, &len);
    out[len] = '\0';
    wait_client(&proc);
    apr_pool_destroy(pool);
    int64_t ns = strtoll(out, NULL, 10);
    return (double)o->pairs * 1e9 / (double)(ns > 0 ? ns : 1);
}

static int64_t contended_run(bench *b, int nproc, const options *o)
{
    static unsigned seq;
    pp__plat_shm *shm = NULL;
    apr_proc_t procs[MAX_PROCS];
    apr_pool_t *pool;
    char incr[24];
    pp_status st;

    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        die_pp("apr_pool_create", PP_ENOMEM);
    snprintf(g_shm_name, sizeof g_shm_name, "ppbm-%" PRIu64 "-%u", pp__plat_getpid(), ++seq);
    if ((st = pp__plat_shm_create(g_shm_name, sizeof(shared), &shm)) != PP_OK) {
        g_shm_name[0] = '\0';
        die_pp("shm create", st);
    }
    shared *sh = pp__plat_shm_ptr(shm);
    if ((st = pp_lock_acquire(b->lock, PP_INFINITE)) != PP_OK) /* the gate */
        die_pp("pp_lock_acquire (gate)", st);
    snprintf(incr, sizeof incr, "%" PRId64, o->incr);
    for (int i = 0; i < nproc; i++)
        start_client(b, &procs[i], "incr", incr, g_shm_name, pool);
    for (int64_t waited = 0; apr_atomic_read32(&sh->ready) < (apr_uint32_t)nproc; waited++) {
        if (waited > 60000)
            die_pp("clients not ready after 60 s", PP_ETIMEDOUT);
        pp__plat_sleep_ms(1);
    }
    pp__plat_sleep_ms(20); /* each is in its first acquire */
    int64_t t0 = pp__plat_now_ns();
    if ((st = pp_lock_release(b->lock)) != PP_OK)
        die_pp("pp_lock_release (gate)", st);
    for (int i = 0; i < nproc; i++)
        wait_client(&procs[i]);
    int64_t dt = pp__plat_now_ns() - t0;
    int64_t expected = (int64_t)nproc * o->incr;
    if (sh->counter != expected) {
        fprintf(stderr,
                "bench_manager: FAILED: %d-process counter is %" PRId64 ", expected %" PRId64
                ": the lock did not exclude\n",
                nproc, sh->counter, expected);
        (void)pp__plat_shm_unlink(g_shm_name);
        exit(1);
    }
    pp__plat_shm_close(shm);
    (void)pp__plat_shm_unlink(g_shm_name);
    g_shm_name[0] = '\0';
    apr_pool_destroy(pool);
    return dt > 0 ? dt : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_manager [--pairs N] [--incr K] [--runs R] [--tcp]\n"
                    "  --pairs N  uncontended acquire+release pairs per run (20000)\n"
                    "  --incr K   increments per process in the contended runs (5000)\n"
                    "  --runs R   runs per metric, best kept (3)\n"
                    "  --tcp      the manager listens on TCP loopback (default: the\n"
                    "             platform's local endpoint, a Unix socket on POSIX)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    pp_status st = pp_init(&argc, &argv);
    if (st != PP_OK)
        die_pp("pp_init", st);
    apr_status_t rv = apr_initialize();
    if (rv != APR_SUCCESS)
        die_apr("apr_initialize", rv);
    if (argc >= 7 && strcmp(argv[1], "--client") == 0)
        return client_main(argv);

    options o = {20000, 5000, 3, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tcp") == 0) {
            o.tcp = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--pairs") == 0)
            o.pairs = parse_count(argv[++i], "--pairs");
        else if (strcmp(argv[i], "--incr") == 0)
            o.incr = parse_count(argv[++i], "--incr");
        else if (strcmp(argv[i], "--runs") == 0)
            o.runs = (int)parse_count(argv[++i], "--runs");
        else
            usage();
    }

    bench b;
    uint8_t key[KEYLEN];
    pp_manager_options mo;
    memset(&b, 0, sizeof b);
    memset(&mo, 0, sizeof mo);
    b.exe = self_exe(argv[0]);
    b.argv0 = argv[0];
    if ((st = pp__plat_random(key, sizeof key)) != PP_OK)
        die_pp("random key", st);
    for (int i = 0; i < KEYLEN; i++)
        snprintf(b.keyhex + 2 * i, 3, "%02x", key[i]);
    strcat(b.keyhex, "\n");
    mo.key = key;
    mo.keylen = sizeof key;
    mo.listen = o.tcp ? "tcp://127.0.0.1:0" : NULL;
    if ((st = pp_manager_start(&b.m, &mo)) != PP_OK)
        die_pp("pp_manager_start", st);
    if ((st = pp_manager_lock(b.m, &b.lock)) != PP_OK)
        die_pp("pp_manager_lock", st);
    snprintf(b.id, sizeof b.id, "%" PRIu64, pp_manager_lock_id(b.lock));

    printf("# procpool bench_manager, %s, pairs %" PRId64 ", incr %" PRId64 ", runs %d\n",
           pp_manager_address(b.m), o.pairs, o.incr, o.runs);
    fflush(stdout);
    printf("mgr_uncontended_pairs_per_s %.0f\n", uncontended_pairs_per_s(&b, &o));
    fflush(stdout);
    for (int nproc = 2; nproc <= MAX_PROCS; nproc *= 2) {
        int64_t best = INT64_MAX;
        for (int r = 0; r < o.runs; r++) {
            int64_t dt = contended_run(&b, nproc, &o);
            if (dt < best)
                best = dt;
        }
        printf("mgr_contended_%dp_incr_per_s %.0f\n", nproc,
               (double)nproc * (double)o.incr * 1e9 / (double)best);
        fflush(stdout);
    }
    pp_lock_destroy(b.lock);
    pp_manager_destroy(b.m);
    apr_terminate();
    pp_shutdown();
    return 0;
}
