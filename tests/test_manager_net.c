/*
 * test_manager_net.c — the manager's transports: the Unix socket endpoint
 * of a started manager (private directory, removal, the sweep of a dead
 * one's leftovers), TCP by option (IPv4, a name, IPv6), address errors,
 * an idle server that does not spin, a server that stops answering; the
 * locks' release without a reply (counted per handle for a recursive
 * lock), their FIFO hand-off (and a lock destroyed under its queue), a
 * locator of a long Unix socket address.
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
#include "procpool/manager_objects.h"
#include "procpool/value.h"
#include "pp_test.h"
#include "wire/buf.h"
#include "values/tuple.h"
#include "sync/remote.h"
#include "manager/manager.h"

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

/* A recursive lock's release is decided by its handle's own count of
 * acquires (and sent without a reply): as many releases as acquires,
 * then PP_EPERM; another handle on the same connection counts its own. */
static void t_rlock_release_counts(void)
{
    pp_manager *m = NULL, *c = NULL;
    pp_manager_options o;
    pp_lock *a = NULL, *a2 = NULL, *b = NULL;
    uint8_t key[KEYLEN];

    memset(key, 7, sizeof key);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), key, sizeof key, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock_open(m, pp_manager_lock_id(a), &a2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock_open(c, pp_manager_lock_id(a), &b), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_EPERM); /* never acquired */
    PP_ASSERT_STATUS(pp_lock_acquire(a, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(a, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a2), PP_EPERM); /* not this handle's */
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY); /* one hold left */
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_EPERM); /* no more */
    /* the releases went before b's acquire on the server's side */
    PP_ASSERT_STATUS(pp_lock_acquire(b, 5000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    /* two handles of one connection: the server's count is their sum */
    PP_ASSERT_STATUS(pp_lock_acquire(a, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(a2, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY); /* a2 holds */
    PP_ASSERT_STATUS(pp_lock_release(a2), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(b, 5000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    pp_lock_destroy(b);
    pp_lock_destroy(a2);
    pp_lock_destroy(a);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

typedef struct fifo_waiter {
    pp_manager *m;
    pp_lock *l;
    int *order; /* the next place to take (under the lock itself) */
    int place;
    pp_status st;
} fifo_waiter;

static void fifo_wait(void *arg)
{
    fifo_waiter *w = arg;

    w->st = pp_lock_acquire(w->l, LOST_MS);
    if (w->st == PP_OK) {
        w->place = (*w->order)++;
        (void)pp_lock_release(w->l);
    }
}

/* Waiters get a held lock in the order they asked for it: the release
 * hands it to the first (queued well before the second). */
static void t_lock_fifo_handoff(void)
{
    pp_manager *m = NULL;
    pp_manager_options o;
    fifo_waiter w[3];
    pp_test_thread *t[3];
    pp_lock *h = NULL;
    uint8_t key[KEYLEN];
    int order = 0, i;

    memset(key, 9, sizeof key);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &h), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(h, 1000), PP_OK);
    for (i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].order = &order;
        w[i].place = -1;
        PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), key, sizeof key, &w[i].m),
                               PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(w[i].m, pp_manager_lock_id(h), &w[i].l), PP_OK);
    }
    for (i = 0; i < 3; i++) {
        t[i] = pp_test_thread_start(fifo_wait, &w[i]);
        pp_test_sleep_ms(300); /* queued in this order */
    }
    PP_ASSERT_STATUS(pp_lock_release(h), PP_OK);
    for (i = 0; i < 3; i++) {
        pp_test_thread_join(t[i]);
        PP_ASSERT_STATUS(w[i].st, PP_OK);
        CU_ASSERT_EQUAL(w[i].place, i);
        pp_lock_destroy(w[i].l);
        pp_manager_destroy(w[i].m);
    }
    pp_lock_destroy(h);
    pp_manager_destroy(m);
}

/* A lock destroyed while connections queue for it: each waiter learns it
 * at once (PP_ENOENT), none waits out its timeout; a recursive lock's
 * queued waiter is handed the lock with one hold. */
static void t_lock_destroyed_while_queued(void)
{
    pp_manager *m = NULL;
    pp_manager_options o;
    fifo_waiter w[2];
    pp_test_thread *t[2];
    pp_lock *h = NULL, *r = NULL;
    uint8_t key[KEYLEN];
    int order = 0, i;
    int64_t t0;

    memset(key, 5, sizeof key);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = sizeof key;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &h), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(h, 1000), PP_OK);
    for (i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].order = &order;
        PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), key, sizeof key, &w[i].m),
                               PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(w[i].m, pp_manager_lock_id(h), &w[i].l), PP_OK);
        t[i] = pp_test_thread_start(fifo_wait, &w[i]);
    }
    pp_test_sleep_ms(300); /* both queued */
    t0 = pp_test_now_ms();
    pp_lock_destroy(h); /* the creator's handle: the lock goes */
    for (i = 0; i < 2; i++) {
        pp_test_thread_join(t[i]);
        PP_ASSERT_STATUS(w[i].st, PP_ENOENT);
        pp_lock_destroy(w[i].l);
    }
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < LOST_MS / 2, "waiters told after %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    /* a recursive lock: the queued waiter holds it once */
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &r), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(r, 1000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(r, 1000), PP_OK);
    w[0].place = -1;
    PP_ASSERT_STATUS_FATAL(pp_manager_rlock_open(w[0].m, pp_manager_lock_id(r), &w[0].l), PP_OK);
    t[0] = pp_test_thread_start(fifo_wait, &w[0]); /* acquires, counts, releases once */
    pp_test_sleep_ms(300);
    PP_ASSERT_STATUS(pp_lock_release(r), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(r), PP_OK);
    pp_test_thread_join(t[0]);
    PP_ASSERT_STATUS(w[0].st, PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(r, 5000), PP_OK); /* its one hold was released */
    PP_ASSERT_STATUS(pp_lock_release(r), PP_OK);
    pp_lock_destroy(w[0].l);
    pp_lock_destroy(r);
    for (i = 0; i < 2; i++)
        pp_manager_destroy(w[i].m);
    pp_manager_destroy(m);
}

/* A manager lock on a Unix socket with a long path (beyond the 64 bytes
 * the first locators allowed) travels whole and resolves back to the
 * same lock; an address past PP_MANAGER_ADDR_MAX - 1 is refused by the
 * locator's checks. */
static void t_long_address_locator(void)
{
    char dir[PP_MANAGER_ADDR_MAX], listen[PP_MANAGER_ADDR_MAX], name[PP__LOC_DESC_MAX];
    pp_values *v = NULL, *d = NULL;
    pp_manager *m = NULL;
    pp_manager_options o;
    pp_lock *l = NULL, *got = NULL;
    pp__locator loc;
    pp_status ast;
    pp__buf b;
    pp__rd r;
    size_t n;

    const char *tmp = NULL;

    CU_ASSERT_FATAL(apr_temp_dir_get(&tmp, pp_test_pool()) == APR_SUCCESS);
    snprintf(dir, sizeof dir, "%s/pp-long-address-%s-xxxxxxxxxxxxxxxxxxxx", tmp,
             pp_test_pid_token());
    n = strlen(dir);
    if (n + 14 >= 104) { /* the socket path limit of the BSDs */
        CU_PASS("temporary directory too long for this test");
        return;
    }
    CU_ASSERT_FATAL(apr_dir_make(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE,
                                 pp_test_pool()) == APR_SUCCESS);
    snprintf(listen, sizeof listen, "unix://%s/%.*s", dir, (int)(103 - n - 1),
             "sockxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    memset(&o, 0, sizeof o);
    o.listen = listen;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    PP_ASSERT_MSG(strlen(pp_manager_address(m)) > 64, "address %s", pp_manager_address(m));
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "k", l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(v, &b), PP_OK);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, name, sizeof name), PP_OK);
    PP_ASSERT_STATUS(ast, PP_OK);
    PP_ASSERT_STATUS(pp_values_get_lock(d, 0, &got), PP_OK);
    CU_ASSERT_FATAL(got != NULL && got != l);
    CU_ASSERT_EQUAL(pp_manager_lock_id(got), pp_manager_lock_id(l));
    PP_ASSERT_STATUS(pp_lock_acquire(got, 5000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY); /* the same lock */
    PP_ASSERT_STATUS(pp_lock_release(got), PP_OK);
    pp_values_destroy(d);
    pp_values_destroy(v);
    pp__buf_free(&b);
    /* the locator's own limit: PP_MANAGER_ADDR_MAX - 1 bytes */
    memset(&loc, 0, sizeof loc);
    loc.backend = PP__LOC_MANAGER;
    loc.object = PP__OBJ_LOCK;
    loc.id = 1;
    memset(loc.addr, 'a', sizeof loc.addr - 1);
    PP_ASSERT_STATUS(pp__locator_check(&loc), PP_OK);
    loc.addr[sizeof loc.addr - 1] = 'a'; /* no terminator */
    PP_ASSERT_STATUS(pp__locator_check(&loc), PP_EINVAL);
    CU_ASSERT_EQUAL(sizeof loc.addr, PP_MANAGER_ADDR_MAX);
    /* What this process resolved is kept until pp_shutdown(): close it as
     * that would (the leak check counts the connection). */
    pp__manager_travel_shutdown();
    PP_ASSERT_STATUS(pp__manager_travel_init(), PP_OK);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
    CU_ASSERT(apr_dir_remove(dir, pp_test_pool()) == APR_SUCCESS);
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
    PP_TEST_TIMEOUT(t_rlock_release_counts, 60),
    PP_TEST_TIMEOUT(t_lock_fifo_handoff, 90),
    PP_TEST_TIMEOUT(t_lock_destroyed_while_queued, 90),
    PP_TEST_TIMEOUT(t_long_address_locator, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_net)
{
    pp_test_add_suite("manager_net", g_cases);
    pp_test_add_helpers(g_helpers);
}
