/*
 * test_manager_net.c — the manager's transports and its standalone
 * server: the Unix socket endpoint of a started manager (private
 * directory, removal, the sweep of a dead one's leftovers), TCP by
 * option, an idle server that does not spin, and the procpool-manager
 * program (help, usage errors, key file checks, two client programs on
 * one server over TCP loopback, SIGTERM). Every wait is bounded.
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

/* ------------------------------------------------ procpool-manager */

/* The built program: meson passes its path (tests/meson.build). */
static const char *manager_exe(void)
{
    static char path[1024];
    const char *p = getenv("PP_MANAGER_EXE");

    if (p == NULL || p[0] == '\0')
        return NULL;
#ifdef _WIN32
    if (p[0] == '/') { /* the cross build runs under wine: its Z: drive is / */
        size_t i;
        snprintf(path, sizeof path, "Z:%s", p);
        for (i = 0; path[i] != '\0'; i++)
            if (path[i] == '/')
                path[i] = '\\';
        return path;
    }
#endif
    snprintf(path, sizeof path, "%s", p);
    return path;
}

typedef struct prog {
    apr_proc_t proc;
    apr_file_t *err; /* its stderr, a file */
    char err_path[512];
    int done;
    int code;
} prog;

/* Start procpool-manager with args (NULL-terminated, after argv[0]);
 * stdout is a pipe, stderr a file (its log). */
static int prog_start(prog *p, const char *const *args)
{
    const char *argv[16];
    apr_procattr_t *attr = NULL;
    const char *exe = manager_exe();
    const char *tmp = NULL;
    size_t i;

    memset(p, 0, sizeof *p);
    PP_ASSERT_MSG_FATAL(exe != NULL, "PP_MANAGER_EXE is not set (tests/meson.build sets it)");
    argv[0] = exe;
    for (i = 0; args[i] != NULL && i < 14; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    CU_ASSERT_FATAL(apr_temp_dir_get(&tmp, pp_test_pool()) == APR_SUCCESS);
    snprintf(p->err_path, sizeof p->err_path, "%s/pp-mgr-log-%s-XXXXXX", tmp, pp_test_pid_token());
    CU_ASSERT_FATAL(
        apr_file_mktemp(&p->err, p->err_path,
                        APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                        pp_test_pool()) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_procattr_create(&attr, pp_test_pool()) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_procattr_io_set(attr, APR_NO_PIPE, APR_CHILD_BLOCK, APR_NO_PIPE) ==
                    APR_SUCCESS);
    CU_ASSERT_FATAL(apr_procattr_child_err_set(attr, p->err, NULL) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_procattr_error_check_set(attr, 1) == APR_SUCCESS);
    return PP_ASSERT_MSG(apr_proc_create(&p->proc, exe, argv, NULL, attr, pp_test_pool()) ==
                             APR_SUCCESS,
                         "cannot start %s", exe);
}

/* One line of its stdout within ms (no line end): 1, or 0. */
static int prog_line(prog *p, char *buf, size_t cap, int64_t ms)
{
    int64_t end = pp_test_now_ms() + ms;
    size_t n = 0;

    apr_file_pipe_timeout_set(p->proc.out, 200000);
    while (pp_test_now_ms() < end && n + 1 < cap) {
        char ch;
        apr_status_t rv = apr_file_getc(&ch, p->proc.out);
        if (rv == APR_SUCCESS) {
            if (ch == '\n')
                break;
            if (ch != '\r')
                buf[n++] = ch;
        } else if (!APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EAGAIN(rv)) {
            break;
        }
    }
    buf[n] = '\0';
    return n > 0;
}

/* Its exit code within ms, or -1 (still running). */
static int prog_wait(prog *p, int64_t ms)
{
    int64_t end = pp_test_now_ms() + ms;

    while (!p->done) {
        apr_exit_why_e why;
        int code = 0;
        if (apr_proc_wait(&p->proc, &code, &why, APR_NOWAIT) == APR_CHILD_DONE) {
            p->done = 1;
            p->code = APR_PROC_CHECK_EXIT(why) ? code : 128 + code;
        } else if (pp_test_now_ms() >= end) {
            return -1;
        } else {
            pp_test_sleep_ms(20);
        }
    }
    return p->code;
}

/* Its log (stderr) contains s. */
static int prog_logged(prog *p, const char *s)
{
    char buf[8192];
    apr_size_t n = sizeof buf - 1;
    apr_off_t off = 0;

    apr_file_seek(p->err, APR_SET, &off);
    if (apr_file_read(p->err, buf, &n) != APR_SUCCESS)
        return 0;
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

/* Kill it if it still runs, reap it, remove its log. */
static void prog_end(prog *p)
{
    if (prog_wait(p, 0) < 0) {
        apr_proc_kill(&p->proc, SIGKILL);
        (void)prog_wait(p, EXIT_MS);
    }
    if (p->proc.out != NULL)
        apr_file_close(p->proc.out);
    apr_file_close(p->err);
    apr_file_remove(p->err_path, pp_test_pool());
}

/* A key file with contents and permissions (POSIX; ignored on Windows). */
static void key_file(char *path, size_t cap, const char *contents, apr_fileperms_t perms)
{
    apr_file_t *f = NULL;
    const char *tmp = NULL;
    apr_size_t n = strlen(contents);

    CU_ASSERT_FATAL(apr_temp_dir_get(&tmp, pp_test_pool()) == APR_SUCCESS);
    snprintf(path, cap, "%s/pp-mgr-key-%s-XXXXXX", tmp, pp_test_pid_token());
    CU_ASSERT_FATAL(apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                                    pp_test_pool()) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_file_write_full(f, contents, n, NULL) == APR_SUCCESS);
    apr_file_close(f);
    (void)apr_file_perms_set(path, perms);
}

#define KEY_HEX "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"

static void key_bytes(uint8_t *key)
{
    size_t i;

    for (i = 0; i < KEYLEN; i++)
        key[i] = (uint8_t)i;
}

/* --help: exit 0, documents every option; unknown or missing arguments:
 * usage error 2; a key on the command line is refused. */
static void t_program_help_usage(void)
{
    static const char *const help[] = {"--help", NULL};
    static const char *const bogus[] = {"--bogus", NULL};
    static const char *const nolisten[] = {"--key-file", "/nonexistent", NULL};
    static const char *const keyarg[] = {"--listen", "tcp://127.0.0.1:0", "--key=secret", NULL};
    char line[256];
    prog p;

    prog_start(&p, help);
    CU_ASSERT(prog_line(&p, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG(strstr(line, "usage: procpool-manager") != NULL, "first line '%s'", line);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 0);
    prog_end(&p);
    prog_start(&p, bogus);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 2);
    CU_ASSERT(prog_logged(&p, "unknown argument '--bogus'"));
    prog_end(&p);
    prog_start(&p, nolisten);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 2);
    prog_end(&p);
    prog_start(&p, keyarg);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 2);
    CU_ASSERT(prog_logged(&p, "never taken from the command line"));
    prog_end(&p);
}

/* A key file group or others can read is refused (exit 3), as is a
 * missing key; a bad listen address is a usage error. */
static void t_program_key_checks(void)
{
    char path[512], line[256];
    const char *args[6];
    prog p;

    key_file(path, sizeof path, KEY_HEX, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD);
    args[0] = "--listen";
    args[1] = "tcp://127.0.0.1:0";
    args[2] = "--key-file";
    args[3] = path;
    args[4] = NULL;
    prog_start(&p, args);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 3);
    CU_ASSERT(prog_logged(&p, "refused"));
    prog_end(&p);
    args[3] = "/nonexistent/key";
    prog_start(&p, args);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 3);
    prog_end(&p);
    (void)apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    args[1] = "udp://127.0.0.1:0";
    args[3] = path;
    prog_start(&p, args);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 2);
    prog_end(&p);
    /* the key from the environment, hex */
    CU_ASSERT_FATAL(apr_env_set("PROCPOOL_MANAGER_KEY", KEY_HEX, pp_test_pool()) == APR_SUCCESS);
    args[1] = "tcp://127.0.0.1:0";
    args[2] = NULL;
    prog_start(&p, args);
    CU_ASSERT(prog_line(&p, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG(strncmp(line, "listening on tcp://127.0.0.1:", 29) == 0, "said '%s'", line);
    prog_end(&p);
    apr_file_remove(path, pp_test_pool());
}

/* The critical section of the two programs: a read-modify-write of a
 * number in a file, which loses updates unless the lock excludes. */
static int bump_file(const char *path)
{
    long v = 0;
    FILE *f = fopen(path, "r+");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1000000;
    rewind(f);
    fprintf(f, "%ld\n", v + 1);
    return fclose(f) == 0;
}

static long read_file_number(const char *path)
{
    long v = -1;
    FILE *f = fopen(path, "r");

    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int wait_line(const char *want)
{
    char line[64];

    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, want) == 0)
            return 1;
    }
    return 0;
}

/* mgrnet-client ADDRESS create|ID FILE: a client program of a
 * procpool-manager (its key: bytes 0..31, as KEY_HEX). Connects, creates
 * the lock ("ID <id>") or opens it ("READY"); on "go" does ROUNDS
 * acquire / bump FILE / release, checking its tokens rise ("RACED
 * <errors>"); then on "hold" acquires ("HELD") and on "probe" makes a
 * call ("RESULT <status>"), or on "block" waits in acquire forever
 * ("WAITING", then "RESULT <status>"). */
static int h_client(int argc, char **argv)
{
    uint8_t key[KEYLEN];
    pp_manager *m = NULL;
    pp_lock *l = NULL, *probe = NULL;
    uint64_t id = 0, last = 0;
    char cmd[64];
    pp_status st;
    int i, errors = 0;

    if (argc != 4)
        return PP_TEST_EXIT_USAGE;
    key_bytes(key);
    st = pp_manager_connect(argv[1], key, sizeof key, &m);
    if (st == PP_OK && strcmp(argv[2], "create") == 0) {
        st = pp_manager_lock(m, &l);
        if (st == PP_OK)
            printf("ID %llu\n", (unsigned long long)(id = pp_manager_lock_id(l)));
    } else if (st == PP_OK) {
        id = strtoull(argv[2], NULL, 10);
        st = pp_manager_lock_open(m, id, &l);
        if (st == PP_OK)
            printf("READY\n");
    }
    fflush(stdout);
    if (st != PP_OK) {
        printf("ERR %s\n", pp_err_name(st));
        fflush(stdout);
        return pp_test_exit_from_status(st);
    }
    if (!wait_line("go"))
        return PP_TEST_EXIT_USAGE;
    for (i = 0; i < ROUNDS; i++) {
        if (pp_lock_acquire(l, 10000) != PP_OK) {
            errors++;
            continue;
        }
        if (pp_lock_fencing_token(l) <= last)
            errors++;
        last = pp_lock_fencing_token(l);
        if (!bump_file(argv[3]))
            errors++;
        if (pp_lock_release(l) != PP_OK)
            errors++;
    }
    printf("RACED %d\n", errors);
    fflush(stdout);
    while (fgets(cmd, sizeof cmd, stdin) != NULL) {
        cmd[strcspn(cmd, "\r\n")] = '\0';
        if (strcmp(cmd, "hold") == 0) {
            st = pp_lock_acquire(l, 10000);
            printf(st == PP_OK ? "HELD\n" : "RESULT %s\n", pp_err_name(st));
        } else if (strcmp(cmd, "probe") == 0) {
            st = pp_manager_lock_open(m, id, &probe);
            pp_lock_destroy(probe);
            printf("RESULT %s\n", pp_err_name(st));
        } else if (strcmp(cmd, "block") == 0) {
            printf("WAITING\n");
            fflush(stdout);
            printf("RESULT %s\n", pp_err_name(pp_lock_acquire(l, PP_INFINITE)));
        }
        fflush(stdout);
    }
    pp_lock_destroy(l);
    pp_manager_destroy(m);
    return 0;
}

static const pp_test_helper g_client_helpers[] = {{"mgrnet-client", h_client}, {NULL, NULL}};

/* Two programs on one procpool-manager over TCP loopback: one creates a
 * lock, the other opens it by id; their critical sections exclude each
 * other and each one's fencing tokens rise; a wrong key is refused and
 * logged. SIGTERM: the server exits 0, a client blocked in acquire and
 * one holding the lock get PP_ECONNLOST in bounded time. */
static void t_two_programs_one_server(void)
{
    char keypath[512], counter[512], line[256], addr[PP_MANAGER_ADDR_MAX], id[32];
    uint8_t wrong[KEYLEN];
    const char *args[6], *cargs[4];
    pp_test_child *a, *b;
    pp_manager *x = NULL;
    prog p;

    key_file(keypath, sizeof keypath, KEY_HEX, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    key_file(counter, sizeof counter, "0\n", APR_FPROT_UREAD | APR_FPROT_UWRITE);
    args[0] = "--listen";
    args[1] = "tcp://127.0.0.1:0";
    args[2] = "--key-file";
    args[3] = keypath;
    args[4] = NULL;
    prog_start(&p, args);
    CU_ASSERT_FATAL(prog_line(&p, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG_FATAL(strncmp(line, "listening on tcp://127.0.0.1:", 29) == 0, "said '%s'", line);
    CU_ASSERT_FATAL((size_t)snprintf(addr, sizeof addr, "%s", line + 13) < sizeof addr);

    key_bytes(wrong);
    wrong[0] ^= 1;
    PP_ASSERT_STATUS(pp_manager_connect(addr, wrong, KEYLEN, &x), PP_EAUTH);

    cargs[0] = addr;
    cargs[1] = "create";
    cargs[2] = counter;
    cargs[3] = NULL;
    a = pp_test_spawn("mgrnet-client", cargs);
    CU_ASSERT_FATAL(a != NULL && pp_test_child_read_line(a, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG_FATAL(strncmp(line, "ID ", 3) == 0, "client a said '%s'", line);
    CU_ASSERT_FATAL((size_t)snprintf(id, sizeof id, "%s", line + 3) < sizeof id);
    cargs[1] = id;
    b = pp_test_spawn("mgrnet-client", cargs);
    CU_ASSERT_FATAL(b != NULL && pp_test_child_expect(b, "READY", LINE_MS));
    CU_ASSERT(pp_test_child_write(a, "go\n") && pp_test_child_write(b, "go\n"));
    CU_ASSERT(pp_test_child_expect(a, "RACED 0", 3 * LINE_MS));
    CU_ASSERT(pp_test_child_expect(b, "RACED 0", 3 * LINE_MS));
    CU_ASSERT_EQUAL(read_file_number(counter), 2 * ROUNDS);

    CU_ASSERT(pp_test_child_write(a, "hold\n") && pp_test_child_expect(a, "HELD", LINE_MS));
    CU_ASSERT(pp_test_child_write(b, "block\n") && pp_test_child_expect(b, "WAITING", LINE_MS));
    pp_test_sleep_ms(300); /* b is in its acquire */
#ifdef _WIN32
    apr_proc_kill(&p.proc, SIGTERM); /* TerminateProcess: no Ctrl-C to another console */
    CU_ASSERT(prog_wait(&p, EXIT_MS) >= 0);
#else
    CU_ASSERT_FATAL(apr_proc_kill(&p.proc, SIGTERM) == APR_SUCCESS);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 0);
    CU_ASSERT(prog_logged(&p, "SIGTERM: stopping"));
#endif
    CU_ASSERT(pp_test_child_expect(b, "RESULT PP_ECONNLOST", LOST_MS));
    CU_ASSERT(pp_test_child_write(a, "probe\n"));
    CU_ASSERT(pp_test_child_expect(a, "RESULT PP_ECONNLOST", LOST_MS));
    pp_test_child_close_stdin(a);
    pp_test_child_close_stdin(b);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(a, EXIT_MS), 0);
    CU_ASSERT_EQUAL(pp_test_child_exit_code(b, EXIT_MS), 0);
    pp_test_child_free(a);
    pp_test_child_free(b);
    CU_ASSERT(prog_logged(&p, "authenticated"));
    CU_ASSERT(prog_logged(&p, "wrong key"));
    prog_end(&p);
    apr_file_remove(keypath, pp_test_pool());
    apr_file_remove(counter, pp_test_pool());
}

/* procpool-manager on a Unix socket path: a second server on the path of
 * a live one is refused (exit 1), the file a SIGKILLed one left is
 * replaced, and SIGTERM removes it. */
static void t_program_unix_socket(void)
{
    char keypath[512], sock[256], listen[300], line[400], want[320];
    const char *args[6];
    const char *tmp = NULL;
    prog p, q;

    key_file(keypath, sizeof keypath, KEY_HEX, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    CU_ASSERT_FATAL(apr_temp_dir_get(&tmp, pp_test_pool()) == APR_SUCCESS);
    snprintf(sock, sizeof sock, "%s/pp-mgr-sock-%s", tmp, pp_test_pid_token());
    snprintf(listen, sizeof listen, "unix://%s", sock);
    snprintf(want, sizeof want, "listening on %s", listen);
    args[0] = "--listen";
    args[1] = listen;
    args[2] = "--key-file";
    args[3] = keypath;
    args[4] = NULL;
    prog_start(&p, args);
    CU_ASSERT_FATAL(prog_line(&p, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG(strcmp(line, want) == 0, "said '%s'", line);
    prog_start(&q, args); /* the path of a live server */
    CU_ASSERT_EQUAL(prog_wait(&q, EXIT_MS), 1);
    prog_end(&q);
    apr_proc_kill(&p.proc, SIGKILL);
    CU_ASSERT(prog_wait(&p, EXIT_MS) >= 0);
    prog_end(&p);
    CU_ASSERT_FATAL(path_exists(sock)); /* left by the killed one */
    prog_start(&p, args);
    CU_ASSERT(prog_line(&p, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG(strcmp(line, want) == 0, "said '%s'", line);
    {
        uint8_t key[KEYLEN];
        pp_manager *m = NULL;
        key_bytes(key);
        PP_ASSERT_STATUS(pp_manager_connect(listen, key, KEYLEN, &m), PP_OK);
        pp_manager_destroy(m);
    }
    CU_ASSERT_FATAL(apr_proc_kill(&p.proc, SIGTERM) == APR_SUCCESS);
    CU_ASSERT_EQUAL(prog_wait(&p, EXIT_MS), 0);
    CU_ASSERT(prog_logged(&p, "removing the stale socket"));
    prog_end(&p);
    CU_ASSERT(!path_exists(sock));
    apr_file_remove(sock, pp_test_pool());
    apr_file_remove(keypath, pp_test_pool());
}

/* A server that stops answering (SIGSTOP, not dead: its connections
 * stay open): a call fails with PP_ECONNLOST within its bound (a slice
 * and the grace, about 6 s), a blocked acquire too; the handle stays
 * broken. */
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
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_idle_server_sleeps, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_private, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_server_killed, 60),
    PP_TEST_TIMEOUT(t_local_endpoint_swept, 90),
    PP_TEST_TIMEOUT(t_tcp_option, 60),
    PP_TEST_TIMEOUT(t_address_errors, 60),
    PP_TEST_TIMEOUT(t_program_help_usage, 60),
    PP_TEST_TIMEOUT(t_program_key_checks, 60),
    PP_TEST_TIMEOUT(t_two_programs_one_server, 120),
    PP_TEST_TIMEOUT(t_program_unix_socket, 90),
    PP_TEST_TIMEOUT(t_server_stopped_answering, 60),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_net)
{
    pp_test_add_suite("manager_net", g_cases);
    pp_test_add_helpers(g_helpers);
    pp_test_add_helpers(g_client_helpers);
}
