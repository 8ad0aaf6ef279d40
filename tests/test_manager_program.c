/*
 * test_manager_program.c — the procpool-manager program, started as the
 * built executable (tests/meson.build passes its path as PP_MANAGER_EXE):
 * help and usage errors, key file checks and the key from the
 * environment, two client programs on one server over TCP loopback
 * (exclusion, rising tokens, a wrong key logged, SIGTERM), a Unix socket
 * path (a live server's refused, a dead one's replaced, removed at exit).
 * Every wait is bounded.
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

static int path_exists(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, pp_test_pool()) == APR_SUCCESS;
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
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_program_help_usage, 60),
    PP_TEST_TIMEOUT(t_program_key_checks, 60),
    PP_TEST_TIMEOUT(t_two_programs_one_server, 120),
    PP_TEST_TIMEOUT(t_program_unix_socket, 90),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_program)
{
    pp_test_add_suite("manager_program", g_cases);
    pp_test_add_helpers(g_client_helpers);
}
