/*
 * test_manager_net.c — the manager's transports: the Unix socket endpoint
 * of a started manager (private directory, removal, the sweep of a dead
 * one's leftovers), TCP by option (IPv4, a name, IPv6), address errors,
 * an idle server that does not spin, a server that stops answering.
 * The procpool-manager program: test_manager_program.c. Every wait is
 * bounded.
 */
#include <apr_file_info.h>
#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <signal.h>
#ifndef _WIN32
#include <sys/types.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/lock.h"
#include "procpool/manager.h"
#include "pp_test.h"

#ifndef SIGKILL
#define SIGKILL 9 /* Windows: apr_proc_kill terminates whatever the number */
#endif

#define LINE_MS (20000 * pp_test_timeout_mult())
#define LOST_MS (8000 * pp_test_timeout_mult())
#define EXIT_MS (15000 * pp_test_timeout_mult())
#define KEYLEN  32
#define ROUNDS  200

/* ------------------------------------------------------------ helpers */

static int path_exists(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, pp_test_pool()) == APR_SUCCESS;
}

/* "unix:///DIR/sock" -> DIR */
static void local_dir(const char *addr, char *dir, size_t cap)
{
    char *slash;

    snprintf(dir, cap, "%s", addr + 7);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
}

/* CPU time (user + system, clock ticks) of a process: Linux only. */
static long cpu_ticks(uint64_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the name may hold spaces */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

#ifndef _WIN32
/* The state letter of a process (Linux /proc: 'T' stopped), 0 if it
 * cannot be read. */
static char proc_state(uint64_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' ? p[2] : 0;
}
#endif

/* ---------------------------------------------------- started manager */

/* An idle server sleeps: its acceptor waits for a connection, it does
 * not poll in a loop (it did: APR's accept ignores the socket timeout on
 * POSIX and returned EAGAIN at once). Bound: a quarter of the wall time;
 * a spinning acceptor takes a whole CPU. */
static void t_idle_server_sleeps(void)
{
    pp_manager *m = NULL;
    long before, after;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    pp_test_sleep_ms(200);
    before = cpu_ticks(pp_manager_pid(m));
    pp_test_sleep_ms(2000);
    after = cpu_ticks(pp_manager_pid(m));
    CU_ASSERT_FATAL(before >= 0 && after >= 0);
    PP_ASSERT_MSG(after - before < 50, "idle server used %ld ticks in 2 s", after - before);
    pp_manager_destroy(m);
}

/* Permission bits of a path (APR_FPROT_*), or -1. */
static int path_prot(const char *path)
{
    apr_finfo_t fi;

    if (apr_stat(&fi, path, APR_FINFO_PROT, pp_test_pool()) != APR_SUCCESS)
        return -1;
    return (int)fi.protection;
}

#define GROUP_OTHER                                                                                \
    (APR_FPROT_GREAD | APR_FPROT_GWRITE | APR_FPROT_GEXECUTE | APR_FPROT_WREAD |                   \
     APR_FPROT_WWRITE | APR_FPROT_WEXECUTE)

/* One connection's lock works and a second connection is excluded. */
static void lock_works(pp_manager *m, const char *addr, const uint8_t *key, size_t keylen)
{
    pp_manager *c = NULL;
    pp_lock *a = NULL, *b = NULL;

    PP_ASSERT_STATUS_FATAL(pp_manager_connect(addr, key, keylen, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(a), &b), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(a, 5000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(b, 5000), PP_OK); /* waits out the posted release */
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    pp_lock_destroy(b);
    pp_lock_destroy(a);
    pp_manager_destroy(c);
}

/* The default endpoint on POSIX: a socket 0600 in a directory 0700 of
 * its own; both gone after the manager is. */
static void t_local_endpoint_private(void)
{
    static const uint8_t key[] = "0123456789abcdef";
    pp_manager_options o;
    pp_manager *m = NULL;
    char addr[PP_MANAGER_ADDR_MAX], dir[PP_MANAGER_ADDR_MAX];
    int prot;

    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = 16;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    snprintf(addr, sizeof addr, "%s", pp_manager_address(m));
    PP_ASSERT_MSG_FATAL(strncmp(addr, "unix:///", 8) == 0, "address %s", addr);
    local_dir(addr, dir, sizeof dir);
    prot = path_prot(dir);
    PP_ASSERT_MSG(prot >= 0 && (prot & GROUP_OTHER) == 0, "directory %s: protection %x", dir, prot);
    prot = path_prot(addr + 7);
    PP_ASSERT_MSG(prot >= 0 && (prot & GROUP_OTHER) == 0 && (prot & APR_FPROT_UWRITE),
                  "socket %s: protection %x", addr + 7, prot);
    lock_works(m, addr, key, 16);
    pp_manager_destroy(m);
    CU_ASSERT(!path_exists(addr + 7));
    CU_ASSERT(!path_exists(dir));
}

/* A server SIGKILLed leaves nothing: its starter removes the socket
 * and the directory after reaping it. */
static void t_local_endpoint_server_killed(void)
{
    pp_manager *m = NULL;
    char addr[PP_MANAGER_ADDR_MAX], dir[PP_MANAGER_ADDR_MAX];

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    snprintf(addr, sizeof addr, "%s", pp_manager_address(m));
    local_dir(addr, dir, sizeof dir);
    CU_ASSERT_FATAL(path_exists(addr + 7));
    pp_test_kill_pid((int64_t)pp_manager_pid(m));
    pp_manager_destroy(m);
    CU_ASSERT(!path_exists(addr + 7));
    CU_ASSERT(!path_exists(dir));
}

/* mgrnet-start: start a manager, print "ADDR <address>", wait for
 * stdin's EOF (the test kills it first). */
static int h_start(int argc, char **argv)
{
    pp_manager *m = NULL;
    char line[16];
    pp_status st;

    (void)argc;
    (void)argv;
    st = pp_manager_start(&m, NULL);
    if (st != PP_OK)
        return pp_test_exit_from_status(st);
    printf("ADDR %s\n", pp_manager_address(m));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL)
        ;
    pp_manager_destroy(m);
    return 0;
}

static const pp_test_helper g_helpers[] = {{"mgrnet-start", h_start}, {NULL, NULL}};

/* The program that started a manager SIGKILLed (the server dies with
 * it): its directory is left, and the next pp_manager_start() of the
 * same user removes it. */
static void t_local_endpoint_swept(void)
{
    pp_test_child *c = pp_test_spawn("mgrnet-start", NULL);
    pp_manager *m = NULL, *x = NULL;
    char line[PP_MANAGER_ADDR_MAX + 8], dir[PP_MANAGER_ADDR_MAX];
    int64_t end;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG_FATAL(strncmp(line, "ADDR unix:///", 13) == 0, "helper said '%s'", line);
    local_dir(line + 5, dir, sizeof dir);
    CU_ASSERT_FATAL(path_exists(dir));
    pp_test_child_kill(c);
    pp_test_child_free(c);
    /* the server is gone too (within its parent-death time) */
    end = pp_test_now_ms() + LOST_MS;
    while (pp_manager_connect(line + 5, "k", 1, &x) != PP_ECONNLOST && pp_test_now_ms() < end)
        pp_test_sleep_ms(50);
    CU_ASSERT_FATAL(path_exists(dir)); /* left behind */
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    CU_ASSERT(!path_exists(dir)); /* swept */
    pp_manager_destroy(m);
}

/* TCP by option: loopback on an ephemeral port; reached by IP and by a
 * name that resolves to it; IPv6 loopback in brackets. */
static void t_tcp_option(void)
{
    static const uint8_t key[] = "another key";
    pp_manager_options o;
    pp_manager *m = NULL;
    char byname[PP_MANAGER_ADDR_MAX];
    const char *addr;
    pp_status st;

    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = 11;
    o.listen = "tcp://127.0.0.1:0";
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    addr = pp_manager_address(m);
    PP_ASSERT_MSG_FATAL(strncmp(addr, "tcp://127.0.0.1:", 16) == 0 && atoi(addr + 16) > 0,
                        "address %s", addr);
    lock_works(m, addr, key, 11);
    snprintf(byname, sizeof byname, "tcp://localhost:%d", atoi(addr + 16));
    lock_works(m, byname, key, 11);
    pp_manager_destroy(m);
    m = NULL;
    /* IPv6 loopback, where the machine has it (else the listen fails
     * cleanly: no address to bind) */
    o.listen = "tcp://[::1]:0";
    st = pp_manager_start(&m, &o);
    if (st == PP_OK) {
        addr = pp_manager_address(m);
        PP_ASSERT_MSG(strncmp(addr, "tcp://[::1]:", 12) == 0 && atoi(addr + 12) > 0, "address %s",
                      addr);
        lock_works(m, addr, key, 11);
        pp_manager_destroy(m);
    } else {
        PP_ASSERT_MSG(st == PP_ESYS || st == PP_EINVAL || st == PP_ENOTSUP,
                      "IPv6 listen: %s (expected PP_OK, or a clean refusal without IPv6)",
                      pp_err_name(st));
        CU_ASSERT_PTR_NULL(m);
    }
}

/* Addresses refused with a clear error, never truncated. */
static void t_address_errors(void)
{
    pp_manager_options o;
    pp_manager *m = NULL;
    char path[PP_MANAGER_ADDR_MAX];
    pp_status want = pp_test_platform() & PP_TEST_ON_WINDOWS ? PP_ENOTSUP : PP_ETOOBIG;

    /* 120 bytes of path: fits the address, not a socket's sun_path */
    memset(path, 'a', sizeof path);
    memcpy(path, "unix:///", 8);
    path[127] = '\0';
    PP_ASSERT_STATUS(pp_manager_connect(path, "k", 1, &m), want);
    memset(&o, 0, sizeof o);
    o.listen = path;
    PP_ASSERT_STATUS(pp_manager_start(&m, &o), want);
    o.listen = "tcp://127.0.0.1";
    PP_ASSERT_STATUS(pp_manager_start(&m, &o), PP_EINVAL);
    o.listen = "http://127.0.0.1:80";
    PP_ASSERT_STATUS(pp_manager_start(&m, &o), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://[::1:5", "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://no-such-host.invalid:5", "k", 1, &m), PP_EINVAL);
    CU_ASSERT_PTR_NULL(m);
}

static void t_server_stopped_answering(void)
{
#ifndef _WIN32
    static const uint8_t key[] = "stopped server";
    pp_manager_options o;
    pp_manager *m = NULL;
    pp_lock *a = NULL;
    int64_t t0, took;

    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key - 1;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a), PP_OK);
    CU_ASSERT_FATAL(kill((pid_t)pp_manager_pid(m), SIGSTOP) == 0);
    /* kill() returns before every thread of it has stopped: a request
     * sent at once may still be served. Wait for the stop (Linux: its
     * state in /proc), or a while where that cannot be read. */
    t0 = pp_test_now_ms();
    while (proc_state(pp_manager_pid(m)) != 'T' && pp_test_now_ms() - t0 < LOST_MS)
        pp_test_sleep_ms(proc_state(pp_manager_pid(m)) == 0 ? 500 : 10);
    pp_test_sleep_ms(100); /* the leader shows 'T'; its other threads follow */
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(a, PP_INFINITE), PP_ECONNLOST);
    took = pp_test_now_ms() - t0;
    PP_ASSERT_MSG(took < LOST_MS, "noticed after %lld ms", (long long)took);
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_ECONNLOST); /* broken for good, at once */
    (void)kill((pid_t)pp_manager_pid(m), SIGCONT);
    pp_lock_destroy(a);
    pp_manager_destroy(m);
#endif
}

/* clang-format off */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_idle_server_sleeps, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_private, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_server_killed, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_swept, 90),
    PP_TEST_TIMEOUT(t_tcp_option, 60),
    PP_TEST_TIMEOUT(t_address_errors, 60),
    PP_TEST_TIMEOUT(t_server_stopped_answering, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_net)
{
    pp_test_add_suite("manager_net", g_cases);
    pp_test_add_helpers(g_helpers);
}
