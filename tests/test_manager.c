/*
 * test_manager.c — the manager (manager.h): start / address / stop, the
 * manager lock as a pp_lock (exclusion between connections, try, release
 * by a non-holder, fencing tokens), a holder killed while holding, the
 * server killed under a blocked acquire, and the handshake against wrong
 * keys, garbage and a truncated exchange. Every wait is bounded.
 */
#include <apr_network_io.h>
#include <apr_pools.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/lock.h"
#include "procpool/manager.h"
#include "procpool/value.h"
#include "pp_test.h"
#include "pp_test_mgr.h"

#define CHILD_MS (30000 * pp_test_timeout_mult())
#define LINE_MS  (20000 * pp_test_timeout_mult())
/* A server that is gone is noticed within its reply slice (1 s) and a
 * grace of 5 s; EOF usually says it at once. */
#define LOST_MS (8000 * pp_test_timeout_mult())
#define KEYLEN  PP_TEST_MGR_KEYLEN
#define ROUNDS  200

static uint8_t g_key[KEYLEN];

/* A started manager with a key this test knows (g_key). */
static pp_manager *start_known_key(void)
{
    return pp_test_mgr_start_keyed(g_key);
}

static void key_hex(char *out)
{
    size_t i;

    for (i = 0; i < KEYLEN; i++)
        sprintf(out + 2 * i, "%02x", g_key[i]);
}

/* --------------------------------------------------------------- helper */

/* mgr-hold ADDRESS ID, key in hex on stdin: open the lock, acquire it,
 * print "HELD <token>", then wait for stdin's EOF (the test kills it
 * first). */
static int h_hold(int argc, char **argv)
{
    uint8_t key[KEYLEN];
    char line[2 * KEYLEN + 8];
    pp_manager *m = NULL;
    pp_lock *l = NULL;
    unsigned v;
    pp_status st;
    size_t i;

    if (argc != 3 || fgets(line, sizeof line, stdin) == NULL || strlen(line) < 2 * KEYLEN)
        return PP_TEST_EXIT_USAGE;
    for (i = 0; i < KEYLEN; i++) {
        if (sscanf(line + 2 * i, "%2x", &v) != 1)
            return PP_TEST_EXIT_USAGE;
        key[i] = (uint8_t)v;
    }
    st = pp_manager_connect(argv[1], key, sizeof key, &m);
    if (st == PP_OK)
        st = pp_manager_lock_open(m, strtoull(argv[2], NULL, 10), &l);
    if (st == PP_OK)
        st = pp_lock_acquire(l, 10000);
    if (st != PP_OK) {
        printf("ERR %s\n", pp_err_name(st));
        fflush(stdout);
        return pp_test_exit_from_status(st);
    }
    printf("HELD %llu\n", (unsigned long long)pp_lock_fencing_token(l));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL)
        ;
    pp_lock_destroy(l);
    pp_manager_destroy(m);
    return 0;
}

/* mgr-start: start a manager, print "ADDR <address>", wait for stdin's
 * EOF (the test kills it first). */
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

static const pp_test_helper g_helpers[] = {
    {"mgr-hold", h_hold}, {"mgr-start", h_start}, {NULL, NULL}};

/* ------------------------------------------------------------ lifecycle */

static void t_start_address_stop(void)
{
    pp_manager *m = NULL, *c = NULL;
    const char *addr;
    pp_lock *l = NULL;
    char saved[PP_MANAGER_ADDR_MAX];

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    addr = pp_manager_address(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(addr);
    /* the local endpoint: a Unix socket (POSIX), TCP loopback (Windows) */
    PP_ASSERT_MSG((strncmp(addr, "tcp://127.0.0.1:", 16) == 0 && atoi(addr + 16) > 0) ||
                      strncmp(addr, "unix:///", 8) == 0,
                  "address %s", addr);
    CU_ASSERT(pp_manager_pid(m) != 0);
    PP_ASSERT_STATUS(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    CU_ASSERT(pp_lock_fencing_token(l) > 0);
    CU_ASSERT_PTR_NULL(pp_lock_name(l));
    CU_ASSERT(pp_manager_lock_id(l) > 0);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_lock_destroy(l);
    snprintf(saved, sizeof saved, "%s", addr);
    PP_ASSERT_STATUS(pp_manager_shutdown(m), PP_OK);
    pp_manager_destroy(m);
    /* Gone: nobody listens there any more (random key: anything). */
    PP_ASSERT_STATUS(pp_manager_connect(saved, "k", 1, &c), PP_ECONNLOST);
    CU_ASSERT_PTR_NULL(c);
}

/* opts.port: a port in use is refused (and the failed server reaped). */
static void t_port_in_use(void)
{
    pp_manager *a = NULL, *b = NULL;
    pp_manager_options o;

    memset(&o, 0, sizeof o);
    o.listen = "tcp://127.0.0.1:0";
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&a, &o), PP_OK);
    o.listen = NULL;
    o.port = (uint16_t)atoi(pp_manager_address(a) + 16);
    PP_ASSERT_STATUS(pp_manager_start(&b, &o), PP_ESYS);
    CU_ASSERT_PTR_NULL(b);
    pp_manager_destroy(a);
}

/* A started manager dies with the program that started it, killed
 * without a chance to clean up: its address stops answering in bounded
 * time (a wrong key is PP_EAUTH while it lives). */
static void t_dies_with_parent(void)
{
    pp_test_child *c = pp_test_spawn("mgr-start", NULL);
    pp_manager *x = NULL;
    char line[PP_MANAGER_ADDR_MAX], addr[PP_MANAGER_ADDR_MAX];
    int64_t end;
    pp_status st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG_FATAL(strncmp(line, "ADDR ", 5) == 0, "helper said '%s'", line);
    memcpy(addr, line + 5, strlen(line + 5) + 1);
    PP_ASSERT_STATUS(pp_manager_connect(addr, "wrong", 5, &x), PP_EAUTH);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    end = pp_test_now_ms() + LOST_MS;
    do {
        st = pp_manager_connect(addr, "wrong", 5, &x);
        if (st != PP_ECONNLOST)
            pp_test_sleep_ms(50);
    } while (st != PP_ECONNLOST && pp_test_now_ms() < end);
    PP_ASSERT_STATUS(st, PP_ECONNLOST);
}

static void t_bad_arguments(void)
{
    pp_manager *m = NULL;
    pp_manager_options o;
    pp_lock *l = NULL;

    memset(&o, 0, sizeof o);
    o.key = (const uint8_t *)"k";
    o.keylen = 0;
    PP_ASSERT_STATUS(pp_manager_start(NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_start(&m, &o), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://127.0.0.1", "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("unix://tmp/x", "k", 1, &m), PP_EINVAL); /* relative */
    PP_ASSERT_STATUS(pp_manager_connect("udp://127.0.0.1:5", "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://::1:5", "k", 1, &m), PP_EINVAL); /* no [] */
    PP_ASSERT_STATUS(pp_manager_connect("tcp://127.0.0.1:0", "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://127.0.0.1:70000", "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect("tcp://127.0.0.1:1", "k", 0, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_connect(NULL, "k", 1, &m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_lock(NULL, &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_shutdown(NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(pp_manager_address(NULL));
    CU_ASSERT_EQUAL(pp_manager_lock_id(NULL), 0);
    CU_ASSERT_EQUAL(pp_lock_fencing_token(NULL), 0);
    pp_manager_destroy(NULL);
    CU_ASSERT_PTR_NULL(m);
}

/* --------------------------------------------------------- the lock */

typedef struct racer {
    pp_manager *m;
    pp_lock *l;
    volatile int64_t *counter;
    int errors;
    int token_errors;
} racer;

static void race(void *arg)
{
    racer *r = arg;
    uint64_t last = 0;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        pp_status st = pp_lock_acquire(r->l, 10000);
        if (st != PP_OK) {
            r->errors++;
            continue;
        }
        if (pp_lock_fencing_token(r->l) <= last)
            r->token_errors++;
        last = pp_lock_fencing_token(r->l);
        pp_test_racy_increment(r->counter, i);
        if (pp_lock_release(r->l) != PP_OK)
            r->errors++;
    }
}

/* Two connections, two threads: the critical sections never overlap
 * (the racy increment loses no update) and each one's tokens rise. */
static void t_exclusion_two_connections(void)
{
    pp_manager *m = start_known_key(), *c = NULL;
    volatile int64_t counter = 0;
    racer a, b;
    pp_test_thread *t;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a.l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(a.l), &b.l), PP_OK);
    a.counter = b.counter = &counter;
    t = pp_test_thread_start(race, &b);
    race(&a);
    pp_test_thread_join(t);
    CU_ASSERT_EQUAL(a.errors + b.errors, 0);
    CU_ASSERT_EQUAL(a.token_errors + b.token_errors, 0);
    CU_ASSERT_EQUAL(counter, 2 * ROUNDS);
    pp_lock_destroy(b.l);
    pp_lock_destroy(a.l);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

static void t_try_busy_eperm_deadlk(void)
{
    pp_manager *m = start_known_key(), *c = NULL;
    pp_lock *a = NULL, *b = NULL, *b2 = NULL;
    uint64_t ta;
    int64_t t0;

    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(a), &b), PP_OK);
    PP_ASSERT_STATUS(pp_manager_lock_open(c, pp_manager_lock_id(a) + 1000, &b), PP_ENOENT);
    CU_ASSERT_EQUAL(pp_lock_fencing_token(b), 0);   /* never acquired */
    PP_ASSERT_STATUS(pp_lock_release(b), PP_EPERM); /* nobody holds it */
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_OK);
    ta = pp_lock_fencing_token(a);
    PP_ASSERT_STATUS(pp_lock_acquire(a, 0), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_acquire(b, 0), PP_ETIMEDOUT);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(b, 300), PP_ETIMEDOUT);
    CU_ASSERT(pp_test_now_ms() - t0 >= 300 - pp_test_clock_slack_ms());
    PP_ASSERT_STATUS(pp_lock_release(b), PP_EPERM); /* not the holder */
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_EPERM); /* not any more */
    /* A release is not waited for: a request on a's connection after it
     * is served after it, so the server has let go when it answers. */
    PP_ASSERT_STATUS(pp_manager_lock_open(m, pp_manager_lock_id(a), &b2), PP_OK);
    pp_lock_destroy(b2);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_OK);
    CU_ASSERT(pp_lock_fencing_token(b) > ta);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    /* Only the creator destroys; then the other handle finds nothing. */
    pp_lock_destroy(a);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_ENOENT);
    pp_lock_destroy(b);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
}

/* A manager lock is a value (it travels by locator: suite manager_pool
 * has the workers' side): in the tuple, the caller's own handle. */
static void t_lock_is_a_value(void)
{
    pp_manager *m = NULL;
    pp_values *v = NULL;
    pp_lock *l = NULL, *got = NULL;
    int one = 0;

    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "ik", 1, l), PP_OK);
    CU_ASSERT_EQUAL(pp_values_type(v, 1), PP_TYPE_LOCK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "ik", &one, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, l);
    CU_ASSERT_PTR_NULL(pp_lock_name(l));
    pp_values_destroy(v);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

/* A connection has at most PP_MANAGER_OBJECTS_MAX objects: a clear
 * error past it, room again after a destroy. */
static void t_objects_limit(void)
{
    pp_manager *m = NULL;
    pp_lock **locks = calloc(PP_MANAGER_OBJECTS_MAX, sizeof *locks);
    pp_lock *extra = NULL;
    int i, made = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(locks);
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, NULL), PP_OK);
    for (i = 0; i < PP_MANAGER_OBJECTS_MAX; i++)
        made += pp_manager_lock(m, &locks[i]) == PP_OK;
    CU_ASSERT_EQUAL(made, PP_MANAGER_OBJECTS_MAX);
    PP_ASSERT_STATUS(pp_manager_lock(m, &extra), PP_ETOOBIG);
    pp_lock_destroy(locks[0]);
    locks[0] = NULL;
    PP_ASSERT_STATUS(pp_manager_lock(m, &extra), PP_OK);
    pp_lock_destroy(extra);
    for (i = 0; i < PP_MANAGER_OBJECTS_MAX; i++)
        pp_lock_destroy(locks[i]);
    free(locks);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------------ failures */

/* A holder SIGKILLed while holding: released by the server, the next
 * acquirer gets PP_EOWNERDEAD and a larger token; after that, PP_OK. */
static void t_holder_killed(void)
{
    pp_manager *m = start_known_key();
    pp_lock *l = NULL;
    char id[32], hex[2 * KEYLEN + 2], line[64];
    const char *args[3];
    pp_test_child *c;
    unsigned long long held = 0;

    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    snprintf(id, sizeof id, "%llu", (unsigned long long)pp_manager_lock_id(l));
    args[0] = pp_manager_address(m);
    args[1] = id;
    args[2] = NULL;
    c = pp_test_spawn("mgr-hold", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    key_hex(hex);
    strcat(hex, "\n");
    CU_ASSERT(pp_test_child_write(c, hex));
    CU_ASSERT(pp_test_child_read_line(c, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG(sscanf(line, "HELD %llu", &held) == 1, "helper said '%s'", line);
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY);
    pp_test_child_kill(c);
    pp_test_child_free(c);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 10000), PP_EOWNERDEAD);
    CU_ASSERT(pp_lock_fencing_token(l) > held);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK); /* told once */
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

typedef struct blocked {
    pp_lock *l;
    pp_status st;
    int64_t took;
} blocked;

static void acquire_forever(void *arg)
{
    blocked *b = arg;
    int64_t t0 = pp_test_now_ms();

    b->st = pp_lock_acquire(b->l, PP_INFINITE);
    b->took = pp_test_now_ms() - t0;
}

/* The server SIGKILLed while a client waits in acquire(PP_INFINITE):
 * that call, and every later one, fails with PP_ECONNLOST in bounded
 * time. */
static void t_server_killed_while_blocked(void)
{
    pp_manager *m = start_known_key(), *c = NULL;
    pp_lock *a = NULL, *b = NULL;
    pp_test_thread *t;
    blocked bl;
    int64_t t0;
    pp_status st;

    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(a), &b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(a, 1000), PP_OK);
    memset(&bl, 0, sizeof bl);
    bl.l = b;
    t = pp_test_thread_start(acquire_forever, &bl);
    pp_test_sleep_ms(1500); /* in its second slice */
    t0 = pp_test_now_ms();
    pp_test_kill_pid((int64_t)pp_manager_pid(m));
    pp_test_thread_join(t); /* bounded: the thread's acquire is */
    PP_ASSERT_STATUS(bl.st, PP_ECONNLOST);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < LOST_MS, "noticed after %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    /* A release is sent, not waited for: a dead server shows at once or
     * at the next call. */
    st = pp_lock_release(a);
    PP_ASSERT_MSG(st == PP_OK || st == PP_ECONNLOST, "release: %s", pp_err_name(st));
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_ECONNLOST);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_ECONNLOST); /* broken for good */
    pp_lock_destroy(b);
    pp_lock_destroy(a);
    pp_manager_destroy(c);
    pp_manager_destroy(m); /* reaps the killed server */
}

/* ------------------------------------------------------------- the door */

static void good_client_works(pp_manager *m)
{
    pp_manager *c = NULL;
    pp_lock *l = NULL;

    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c), PP_OK);
    PP_ASSERT_STATUS(pp_manager_lock(c, &l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_lock_destroy(l);
    pp_manager_destroy(c);
}

static void t_wrong_key_rejected(void)
{
    pp_manager *m = start_known_key(), *c = NULL;
    uint8_t bad[KEYLEN];

    memcpy(bad, g_key, KEYLEN);
    bad[KEYLEN - 1] ^= 1;
    PP_ASSERT_STATUS(pp_manager_connect(pp_manager_address(m), bad, KEYLEN, &c), PP_EAUTH);
    CU_ASSERT_PTR_NULL(c);
    PP_ASSERT_STATUS(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN - 1, &c), PP_EAUTH);
    good_client_works(m);
    pp_manager_destroy(m);
}

/* Garbage instead of a proof, and a proof cut short: the server answers
 * with nothing but its challenge, closes, and still serves a good client. */
static void t_garbage_and_truncated_handshake(void)
{
    static const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    static const char partial[] = "PPM\002\002"; /* a PROOF header cut short */
    pp_manager *m = start_known_key();
    apr_socket_t *s;
    apr_size_t n;
    size_t got;

    s = pp_test_mgr_connect(pp_manager_address(m));
    n = sizeof garbage - 1;
    CU_ASSERT(apr_socket_send(s, garbage, &n) == APR_SUCCESS);
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got));
    CU_ASSERT_EQUAL(got, 10 + 32); /* the challenge frame, nothing more */
    apr_socket_close(s);

    s = pp_test_mgr_connect(pp_manager_address(m));
    n = sizeof partial - 1;
    CU_ASSERT(apr_socket_send(s, partial, &n) == APR_SUCCESS);
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got)); /* after the 5 s handshake limit */
    CU_ASSERT_EQUAL(got, 10 + 32);
    apr_socket_close(s);

    good_client_works(m);
    pp_manager_destroy(m);
}

/* A proof recorded from a good handshake is worthless on a new
 * connection (fresh server nonce); an oversized frame and a malformed
 * request after a good handshake close that connection; a good client is
 * served throughout. */
static void t_replay_oversize_malformed(void)
{
    pp_manager *m = start_known_key();
    uint8_t proof[PP_TEST_MGR_HDR + 64], bad[PP_TEST_MGR_HDR], buf[256];
    apr_socket_t *s;
    size_t got, len;

    s = pp_test_mgr_connect(pp_manager_address(m));
    CU_ASSERT(pp_test_mgr_handshake(s, g_key, KEYLEN, proof)); /* our hand-made proof is right */
    /* after the handshake: a TRY with a 9-byte payload (8 expected) */
    memset(buf, 0, 9);
    CU_ASSERT(pp_test_mgr_send_frame(s, 18, buf, 9));
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got));
    CU_ASSERT_EQUAL(got, 0); /* no reply to it */
    apr_socket_close(s);

    s = pp_test_mgr_connect(pp_manager_address(m)); /* the replay */
    CU_ASSERT_EQUAL(pp_test_mgr_read_frame(s, buf, sizeof buf, &len), 1);
    CU_ASSERT(pp_test_mgr_send_all(s, proof, sizeof proof));
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got));
    CU_ASSERT_EQUAL(got, 0); /* no WELCOME */
    apr_socket_close(s);

    s = pp_test_mgr_connect(pp_manager_address(m)); /* oversized, after a good handshake */
    CU_ASSERT(pp_test_mgr_handshake(s, g_key, KEYLEN, proof));
    memcpy(bad, "PPM\002\022\000\000\000\000\001", 10); /* TRY, length 16 MiB */
    CU_ASSERT(pp_test_mgr_send_all(s, bad, 10));
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got));
    CU_ASSERT_EQUAL(got, 0);
    apr_socket_close(s);

    good_client_works(m);
    pp_manager_destroy(m);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_start_address_stop, 60),
    PP_TEST_TIMEOUT(t_port_in_use, 60),
    PP_TEST_TIMEOUT(t_dies_with_parent, 60),
    PP_TEST_TIMEOUT(t_bad_arguments, 30),
    PP_TEST_TIMEOUT(t_exclusion_two_connections, 120),
    PP_TEST_TIMEOUT(t_try_busy_eperm_deadlk, 60),
    PP_TEST_TIMEOUT(t_lock_is_a_value, 60),
    PP_TEST_TIMEOUT(t_objects_limit, 120),
    PP_TEST_TIMEOUT(t_holder_killed, 90),
    PP_TEST_TIMEOUT(t_server_killed_while_blocked, 90),
    PP_TEST_TIMEOUT(t_wrong_key_rejected, 60),
    PP_TEST_TIMEOUT(t_garbage_and_truncated_handshake, 90),
    PP_TEST_TIMEOUT(t_replay_oversize_malformed, 90),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager)
{
    pp_test_add_suite("manager", g_cases);
    pp_test_add_helpers(g_helpers);
}
