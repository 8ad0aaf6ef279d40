/*
 * test_manager_failures.c — the hosted objects (manager_objects.h) when
 * things go wrong: a connection killed while it holds semaphore units or
 * a recursive lock, or waits at a barrier or on a condition; the server
 * killed under a blocked queue get and semaphore acquire; malformed and
 * oversized OBJ frames; limits hit; bad arguments. Every wait is bounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include "procpool/lock.h"
#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "procpool/value.h"
#include "pp_test.h"
#include "pp_test_mgr.h"

#define LINE_MS (20000 * pp_test_timeout_mult())
/* A server that is gone is noticed within its reply slice (1 s) and a
 * grace of 5 s; EOF usually says it at once. */
#define LOST_MS (8000 * pp_test_timeout_mult())
#define KEYLEN  PP_TEST_MGR_KEYLEN

static uint8_t g_key[KEYLEN];

/* A started manager with a key this test knows (g_key). */
static pp_manager *start_known_key(void)
{
    return pp_test_mgr_start_keyed(g_key);
}

/* --------------------------------------------------------------- helper */

static int read_key(uint8_t *key)
{
    char line[2 * KEYLEN + 8];
    unsigned v;
    size_t i;

    if (fgets(line, sizeof line, stdin) == NULL || strlen(line) < 2 * KEYLEN)
        return 0;
    for (i = 0; i < KEYLEN; i++) {
        if (sscanf(line + 2 * i, "%2x", &v) != 1)
            return 0;
        key[i] = (uint8_t)v;
    }
    return 1;
}

static void say(const char *what, pp_status st)
{
    if (st == PP_OK)
        printf("%s\n", what);
    else
        printf("ERR %s\n", pp_err_name(st));
    fflush(stdout);
}

/* mobj-hold ADDRESS WHAT ID [LOCKID], key in hex on stdin:
 *   sem: take a unit, say HELD;  rlock: acquire twice, say HELD;
 *   barrier: say WAITING, wait;  cond: acquire lock LOCKID, say WAITING,
 *   wait. Then wait for stdin's EOF (the test kills it first). */
static int h_hold(int argc, char **argv)
{
    uint64_t id = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    uint8_t key[KEYLEN];
    pp_manager *m = NULL;
    char line[16];
    pp_status st;

    if (argc < 4 || !read_key(key))
        return PP_TEST_EXIT_USAGE;
    st = pp_manager_connect(argv[1], key, sizeof key, &m);
    if (st == PP_OK && strcmp(argv[2], "sem") == 0) {
        pp_msem *s = NULL;
        st = pp_msem_open(m, id, &s);
        say("HELD", st == PP_OK ? pp_msem_acquire(s, 10000) : st);
    } else if (st == PP_OK && strcmp(argv[2], "rlock") == 0) {
        pp_lock *l = NULL;
        st = pp_manager_rlock_open(m, id, &l);
        if (st == PP_OK && (st = pp_lock_acquire(l, 10000)) == PP_OK)
            st = pp_lock_acquire(l, 10000);
        say("HELD", st);
    } else if (st == PP_OK && strcmp(argv[2], "barrier") == 0) {
        pp_mbarrier *b = NULL;
        st = pp_mbarrier_open(m, id, &b);
        say("WAITING", st);
        if (st == PP_OK)
            say("PASSED", pp_mbarrier_wait(b, PP_INFINITE, NULL));
    } else if (st == PP_OK && strcmp(argv[2], "cond") == 0 && argc == 5) {
        pp_lock *l = NULL;
        pp_mcond *c = NULL;
        st = pp_manager_lock_open(m, strtoull(argv[4], NULL, 10), &l);
        if (st == PP_OK)
            st = pp_mcond_open(m, id, l, &c);
        if (st == PP_OK)
            st = pp_lock_acquire(l, 10000);
        say("WAITING", st);
        if (st == PP_OK)
            say("WOKEN", pp_mcond_wait(c, PP_INFINITE));
    } else if (st == PP_OK) {
        return PP_TEST_EXIT_USAGE;
    } else {
        say("", st);
    }
    while (fgets(line, sizeof line, stdin) != NULL)
        ;
    return 0; /* the test kills it before: nothing to free */
}

static const pp_test_helper g_helpers[] = {{"mobj-hold", h_hold}, {NULL, NULL}};

/* The helper, on m, doing what to object id (lock: 0 or a lock id); it
 * said expect. */
static pp_test_child *spawn_holder(pp_manager *m, const char *what, uint64_t id, uint64_t lock,
                                   const char *expect)
{
    char ids[32], locks[32], hex[2 * KEYLEN + 2], line[64];
    const char *args[5];
    pp_test_child *c;
    size_t i;

    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    snprintf(locks, sizeof locks, "%llu", (unsigned long long)lock);
    args[0] = pp_manager_address(m);
    args[1] = what;
    args[2] = ids;
    args[3] = lock != 0 ? locks : NULL;
    args[4] = NULL;
    c = pp_test_spawn("mobj-hold", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (i = 0; i < KEYLEN; i++)
        sprintf(hex + 2 * i, "%02x", g_key[i]);
    strcat(hex, "\n");
    CU_ASSERT_FATAL(pp_test_child_write(c, hex));
    CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, LINE_MS));
    PP_ASSERT_MSG_FATAL(strcmp(line, expect) == 0, "helper said '%s'", line);
    return c;
}

static void kill_child(pp_test_child *c)
{
    pp_test_child_kill(c);
    pp_test_child_free(c);
}

/* ---------------------------------------------------- connection death */

/* A connection killed while it holds the only unit: the unit comes back,
 * the next acquirer is told PP_EOWNERDEAD, once. */
static void t_sem_holder_killed(void)
{
    pp_manager *m = start_known_key();
    pp_msem *s = NULL;
    pp_test_child *c;

    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 1, 1, &s), PP_OK);
    c = spawn_holder(m, "sem", pp_msem_id(s), 0, "HELD");
    PP_ASSERT_STATUS(pp_msem_try_acquire(s), PP_EBUSY);
    kill_child(c);
    PP_ASSERT_STATUS(pp_msem_acquire(s, 10000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_msem_release(s), PP_OK);
    PP_ASSERT_STATUS(pp_msem_acquire(s, 1000), PP_OK); /* told once */
    pp_msem_destroy(s);
    pp_manager_destroy(m);
}

/* A recursive lock held twice by a killed connection is free again. */
static void t_rlock_holder_killed(void)
{
    pp_manager *m = start_known_key();
    pp_lock *l = NULL;
    pp_test_child *c;

    PP_ASSERT_STATUS_FATAL(pp_manager_rlock(m, &l), PP_OK);
    c = spawn_holder(m, "rlock", pp_manager_lock_id(l), 0, "HELD");
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY);
    kill_child(c);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 10000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_EPERM);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

/* A waiter killed at a barrier breaks it: a waiter blocked without
 * timeout is told PP_EBROKEN, never waits forever. */
static void t_barrier_waiter_killed(void)
{
    pp_manager *m = start_known_key();
    pp_mbarrier *b = NULL;
    int64_t waiting = 0, end;
    pp_test_child *c;

    PP_ASSERT_STATUS_FATAL(pp_mbarrier_create(m, 3, &b), PP_OK);
    c = spawn_holder(m, "barrier", pp_mbarrier_id(b), 0, "WAITING");
    end = pp_test_now_ms() + LINE_MS;
    while (pp_mbarrier_state(b, &waiting, NULL) == PP_OK && waiting < 1 && pp_test_now_ms() < end)
        pp_test_sleep_ms(20);
    CU_ASSERT_EQUAL_FATAL(waiting, 1);
    kill_child(c);
    PP_ASSERT_STATUS(pp_mbarrier_wait(b, PP_INFINITE, NULL), PP_EBROKEN);
    pp_mbarrier_destroy(b);
    pp_manager_destroy(m);
}

typedef struct cond_job {
    pp_lock *l;
    pp_mcond *c;
    volatile int holding;
    int64_t wait_ms; /* 0: 30 s */
    pp_status st;
} cond_job;

static void cond_waiter(void *arg)
{
    cond_job *w = arg;

    w->st = pp_lock_acquire(w->l, 20000);
    if (w->st != PP_OK)
        return;
    w->holding = 1;
    w->st = pp_mcond_wait(w->c, w->wait_ms != 0 ? w->wait_ms : 30000);
    if (w->st == PP_OK || w->st == PP_EOWNERDEAD || w->st == PP_ETIMEDOUT)
        (void)pp_lock_release(w->l); /* it holds the lock again in each case */
}

/* A condition waiter killed (first in line): notify(1) still wakes the
 * live waiter. */
static void t_cond_waiter_killed(void)
{
    pp_manager *m = start_known_key(), *x = NULL;
    pp_lock *l = NULL;
    pp_mcond *cv = NULL;
    pp_test_child *c;
    pp_test_thread *t;
    cond_job w;

    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, l, &cv), PP_OK);
    c = spawn_holder(m, "cond", pp_mcond_id(cv), pp_manager_lock_id(l), "WAITING");
    /* it holds the lock until it waits: then it is first in line */
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 20000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_release(l), PP_OK);
    memset(&w, 0, sizeof w);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(x, pp_manager_lock_id(l), &w.l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_open(x, pp_mcond_id(cv), w.l, &w.c), PP_OK);
    t = pp_test_thread_start(cond_waiter, &w);
    /* both wait once we hold the lock after the live waiter held it */
    for (;;) {
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 20000), PP_OK);
        if (w.holding)
            break;
        PP_ASSERT_STATUS_FATAL(pp_lock_release(l), PP_OK);
        pp_test_sleep_ms(20);
    }
    kill_child(c);
    /* Even if the server has not seen the killed waiter's end yet (under
     * wine a terminated process's socket closes a little after it is
     * reaped) and hands it the notify, it never confirms it: the notify
     * passes on when its end shows (t_cond_notify_unconfirmed). */
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(w.st, PP_OK);
    pp_mcond_destroy(w.c);
    pp_lock_destroy(w.l);
    pp_manager_destroy(x);
    pp_mcond_destroy(cv);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

/* A raw OBJ request: id, kind, op, flags, ticket, timeout_ms, a, b, no
 * key, no data (mgr_proto.h). */
static size_t raw_obj(uint8_t *p, uint64_t id, uint8_t kind, uint8_t op, uint64_t ticket,
                      int64_t timeout_ms)
{
    uint64_t f[4];
    size_t n = 0;
    int i, j;

    f[0] = ticket;
    f[1] = (uint64_t)timeout_ms;
    f[2] = f[3] = 0;
    for (i = 0; i < 8; i++)
        p[n++] = (uint8_t)(id >> (8 * i));
    p[n++] = kind;
    p[n++] = op;
    p[n++] = 0;
    for (j = 0; j < 4; j++)
        for (i = 0; i < 8; i++)
            p[n++] = (uint8_t)(f[j] >> (8 * i));
    memset(p + n, 0, 8); /* key and data: empty */
    return n + 8;
}

/* A reply's status and value (mgr_proto.h), or PP_EPROTO. */
static pp_status raw_reply(apr_socket_t *s, uint64_t *value)
{
    uint8_t p[256];
    size_t len = 0;
    int i;

    *value = 0;
    if (pp_test_mgr_read_frame(s, p, sizeof p, &len) != 32 || len < 12)
        return PP_EPROTO;
    for (i = 0; i < 8; i++)
        *value |= (uint64_t)p[4 + i] << (8 * i);
    return (pp_status)(int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                (uint32_t)p[3] << 24);
}

/* A waiter that got the notify in its reply but never came back (killed
 * before it read it: its process never saw the wake-up, and never ran
 * under the lock) does not take the notify with it: the next waiter gets
 * it and the lock with PP_OK. One that confirms (every client does, on
 * reading the reply) took both: the next acquirer is told PP_EOWNERDEAD.
 * The first waiter here is a raw connection, which can stop at exactly
 * that point. */
static void cond_unconfirmed(int confirm)
{
    pp_manager *m = start_known_key(), *x = NULL;
    pp_lock *l = NULL;
    pp_mcond *cv = NULL;
    apr_socket_t *s;
    pp_test_thread *t;
    uint8_t p[128];
    uint64_t ticket = 0, lock_id;
    cond_job w;
    size_t n;
    pp_status st;

    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_create(m, l, &cv), PP_OK);
    lock_id = pp_manager_lock_id(l);
    s = pp_test_mgr_connect(pp_manager_address(m));
    CU_ASSERT_FATAL(pp_test_mgr_handshake(s, g_key, KEYLEN, NULL));
    for (n = 0; n < 8; n++)
        p[n] = (uint8_t)(lock_id >> (8 * n));
    memset(p + 8, 0, 8); /* ACQUIRE id, timeout 0 */
    CU_ASSERT_FATAL(pp_test_mgr_send_frame(s, 17, p, 16));
    PP_ASSERT_STATUS_FATAL(raw_reply(s, &ticket), PP_OK);
    /* the raw waiter is first in line once it has released the lock */
    n = raw_obj(p, pp_mcond_id(cv), 5, 8, 0, 30000); /* COND WAIT */
    CU_ASSERT_FATAL(pp_test_mgr_send_frame(s, 24, p, (uint32_t)n));
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 20000), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_release(l), PP_OK);
    memset(&w, 0, sizeof w);
    w.wait_ms = confirm ? 3000 : 10000 * pp_test_timeout_mult();
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &x), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(x, lock_id, &w.l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mcond_open(x, pp_mcond_id(cv), w.l, &w.c), PP_OK);
    t = pp_test_thread_start(cond_waiter, &w);
    for (;;) { /* both wait once we hold the lock after the live waiter held it */
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(l, 20000), PP_OK);
        if (w.holding)
            break;
        PP_ASSERT_STATUS_FATAL(pp_lock_release(l), PP_OK);
        pp_test_sleep_ms(20);
    }
    PP_ASSERT_STATUS(pp_mcond_notify(cv, 1), PP_OK); /* the oldest: the raw waiter */
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    /* its reply: the wait's slices end with PP_ENOTREADY and a ticket
     * until the notify and the lock are its */
    while ((st = raw_reply(s, &ticket)) == PP_ENOTREADY) {
        n = raw_obj(p, pp_mcond_id(cv), 5, 8, ticket, 30000);
        CU_ASSERT_FATAL(pp_test_mgr_send_frame(s, 24, p, (uint32_t)n));
    }
    PP_ASSERT_STATUS(st, PP_OK);
    if (confirm) {
        for (n = 0; n < 8; n++)
            p[n] = (uint8_t)(pp_mcond_id(cv) >> (8 * n));
        CU_ASSERT(pp_test_mgr_send_frame(s, 23, p, 8)); /* CONFIRM_NR */
    }
    apr_socket_close(s);
    pp_test_thread_join(t);
    if (confirm) {
        /* the notify was used: the live waiter's wait runs out, and it
         * takes the lock back from a dead holder */
        PP_ASSERT_STATUS(w.st, PP_EOWNERDEAD);
    } else {
        PP_ASSERT_STATUS(w.st, PP_OK);
    }
    PP_ASSERT_STATUS(pp_lock_acquire(l, 20000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_mcond_destroy(w.c);
    pp_lock_destroy(w.l);
    pp_manager_destroy(x);
    pp_mcond_destroy(cv);
    pp_lock_destroy(l);
    pp_manager_destroy(m);
}

static void t_cond_notify_unconfirmed(void)
{
    cond_unconfirmed(0);
}

static void t_cond_notify_confirmed(void)
{
    cond_unconfirmed(1);
}

/* ---------------------------------------------------------- server death */

typedef struct blocked {
    pp_mqueue *q;
    pp_msem *s;
    pp_status st;
} blocked;

static void get_forever(void *arg)
{
    blocked *b = arg;
    pp_values *v = NULL;

    b->st = pp_mqueue_get(b->q, &v, PP_INFINITE);
    pp_values_destroy(v);
}

static void acquire_forever(void *arg)
{
    blocked *b = arg;

    b->st = pp_msem_acquire(b->s, PP_INFINITE);
}

/* The server killed while one client waits in a queue get and another in
 * a semaphore acquire, both without timeout: both fail with
 * PP_ECONNLOST in bounded time. */
static void t_server_killed_while_waiting(void)
{
    pp_manager *m = start_known_key(), *c1 = NULL, *c2 = NULL;
    pp_mqueue *q = NULL;
    pp_msem *s = NULL;
    pp_test_thread *t1, *t2;
    blocked b1, b2;
    int64_t t0;

    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c1), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(c1, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_msem_create(c2, 0, 0, &s), PP_OK);
    memset(&b1, 0, sizeof b1);
    memset(&b2, 0, sizeof b2);
    b1.q = q;
    b2.s = s;
    t1 = pp_test_thread_start(get_forever, &b1);
    t2 = pp_test_thread_start(acquire_forever, &b2);
    pp_test_sleep_ms(1500); /* in their second slices */
    t0 = pp_test_now_ms();
    pp_test_kill_pid((int64_t)pp_manager_pid(m));
    pp_test_thread_join(t1);
    pp_test_thread_join(t2);
    PP_ASSERT_STATUS(b1.st, PP_ECONNLOST);
    PP_ASSERT_STATUS(b2.st, PP_ECONNLOST);
    PP_ASSERT_MSG(pp_test_now_ms() - t0 < LOST_MS, "noticed after %lld ms",
                  (long long)(pp_test_now_ms() - t0));
    PP_ASSERT_STATUS(pp_msem_release(s), PP_ECONNLOST); /* broken for good */
    pp_msem_destroy(s);
    pp_mqueue_destroy(q);
    pp_manager_destroy(c2);
    pp_manager_destroy(c1);
    pp_manager_destroy(m);
}

/* ------------------------------------------------------- hostile frames */

/* An OBJ request (mgr_proto.h) with the given key and data lengths as
 * declared (the bytes that follow are zeros, as many as sent). */
static size_t obj_frame(uint8_t *p, uint64_t id, uint8_t kind, uint8_t op, uint8_t flags,
                        uint32_t keylen, uint32_t datalen, size_t data_sent)
{
    size_t n = 0;
    int i;

    for (i = 0; i < 8; i++)
        p[n++] = (uint8_t)(id >> (8 * i));
    p[n++] = kind;
    p[n++] = op;
    p[n++] = flags;
    memset(p + n, 0, 32); /* ticket, timeout, a, b */
    n += 32;
    for (i = 0; i < 4; i++)
        p[n++] = (uint8_t)(keylen >> (8 * i));
    memset(p + n, 'k', keylen <= 300 ? keylen : 0);
    n += keylen <= 300 ? keylen : 0;
    for (i = 0; i < 4; i++)
        p[n++] = (uint8_t)(datalen >> (8 * i));
    memset(p + n, 0, data_sent);
    return n + data_sent;
}

/* After a good handshake, frame (type 24: OBJ) p of n bytes closes the
 * connection without a reply. */
static void closes_on(pp_manager *m, const uint8_t *p, size_t n, const char *what)
{
    apr_socket_t *s = pp_test_mgr_connect(pp_manager_address(m));
    size_t got = 99;

    CU_ASSERT_FATAL(pp_test_mgr_handshake(s, g_key, KEYLEN, NULL));
    CU_ASSERT(pp_test_mgr_send_frame(s, 24, p, (uint32_t)n));
    PP_ASSERT_MSG(pp_test_mgr_closed_within(s, LOST_MS, &got) && got == 0,
                  "%s: not closed, or answered %u bytes", what, (unsigned)got);
    apr_socket_close(s);
}

static void t_malformed_obj_frames(void)
{
    static uint8_t p[1024];
    pp_manager *m = start_known_key();
    pp_mqueue *q = NULL;
    pp_mevent *e = NULL;
    apr_socket_t *s;
    uint8_t hdr[PP_TEST_MGR_HDR];
    size_t n, got = 0, qn = 9;

    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    /* a good event create, by hand: a reply of 12 bytes */
    s = pp_test_mgr_connect(pp_manager_address(m));
    CU_ASSERT_FATAL(pp_test_mgr_handshake(s, g_key, KEYLEN, NULL));
    n = obj_frame(p, 0, 6, 1, 0, 0, 0, 0);
    CU_ASSERT(pp_test_mgr_send_frame(s, 24, p, (uint32_t)n));
    CU_ASSERT_EQUAL(pp_test_mgr_read_frame(s, p, sizeof p, &got), 32);
    CU_ASSERT_EQUAL(got, 12);
    apr_socket_close(s);
    /* the data blob says more than the frame holds */
    n = obj_frame(p, pp_mqueue_id(q), 9, 12, 0, 0, 100, 10);
    closes_on(m, p, n, "short data");
    /* bytes after the last field */
    n = obj_frame(p, pp_mqueue_id(q), 9, 12, 0, 0, 4, 4);
    closes_on(m, p, n + 1, "trailing byte");
    /* a key longer than any key */
    n = obj_frame(p, pp_mqueue_id(q), 10, 5, 0, 300, 0, 0);
    closes_on(m, p, n, "long key");
    /* an unknown flag */
    n = obj_frame(p, pp_mqueue_id(q), 9, 16, 0x80, 0, 0, 0);
    closes_on(m, p, n, "flags");
    /* a queue item that is no tuple (count 1, unknown type tag) */
    n = obj_frame(p, pp_mqueue_id(q), 9, 12, 0, 0, 5, 5);
    p[n - 5] = 1;
    p[n - 1] = 99;
    closes_on(m, p, n, "not a tuple");
    /* a header announcing 16 MiB: closed before any of it is read */
    s = pp_test_mgr_connect(pp_manager_address(m));
    CU_ASSERT_FATAL(pp_test_mgr_handshake(s, g_key, KEYLEN, NULL));
    pp_test_mgr_header(hdr, 24, (uint32_t)16 << 20);
    CU_ASSERT(pp_test_mgr_send_all(s, hdr, sizeof hdr));
    CU_ASSERT(pp_test_mgr_closed_within(s, LOST_MS, &got));
    CU_ASSERT_EQUAL(got, 0);
    apr_socket_close(s);
    /* unknown kinds and ops are answered, not fatal: PP_EINVAL */
    s = pp_test_mgr_connect(pp_manager_address(m));
    CU_ASSERT_FATAL(pp_test_mgr_handshake(s, g_key, KEYLEN, NULL));
    n = obj_frame(p, 0, 200, 1, 0, 0, 0, 0);
    CU_ASSERT(pp_test_mgr_send_frame(s, 24, p, (uint32_t)n));
    CU_ASSERT_EQUAL(pp_test_mgr_read_frame(s, p, sizeof p, &got), 32);
    CU_ASSERT(got == 12 && p[0] == (uint8_t)PP_EINVAL);
    apr_socket_close(s);
    /* the manager still serves, and still holds what it held */
    PP_ASSERT_STATUS(pp_mevent_create(m, &e), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_set(e), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_wait(e, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_qsize(q, &qn), PP_OK);
    CU_ASSERT_EQUAL(qn, 0);
    pp_mevent_destroy(e);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

/* --------------------------------------------------------------- limits */

static void t_limits_and_kinds(void)
{
    static char key[PP_MANAGER_DICT_KEY_MAX + 2];
    pp_manager *m = start_known_key();
    pp_values *big = NULL, *lockv = NULL, *small = NULL;
    char name[PP_NAME_MAX + 1];
    pp_mqueue *q = NULL, *q2 = NULL;
    pp_mdict *d = NULL;
    pp_mevent *e = NULL;
    pp_msem *s = NULL;
    pp_lock *l = NULL;
    size_t i, fill = PP_MANAGER_ITEM_MAX - 64;
    uint8_t *bytes = calloc(1, PP_MANAGER_ITEM_MAX);
    pp_status st = PP_OK;
    int made = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&small, "l", (int64_t)1), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_mdict_create(m, &d), PP_OK);
    /* one item too big */
    PP_ASSERT_STATUS_FATAL(pp_values_create(&big), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(big, bytes, PP_MANAGER_ITEM_MAX), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(q, big, 0), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_mdict_set(d, "k", big), PP_ETOOBIG);
    pp_values_destroy(big);
    /* a queue's bytes: at most 16 items of almost 1 MiB */
    PP_ASSERT_STATUS_FATAL(pp_values_create(&big), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(big, bytes, fill), PP_OK);
    for (i = 0; i < 32 && st == PP_OK; i++) {
        st = pp_mqueue_put(q, big, 0);
        made += st == PP_OK;
    }
    PP_ASSERT_STATUS(st, PP_ETOOBIG);
    CU_ASSERT(made >= 15 && made <= 16);
    pp_values_destroy(big);
    /* a dict's keys */
    memset(key, 'k', sizeof key - 1);
    PP_ASSERT_STATUS(pp_mdict_set(d, key, small), PP_EINVAL); /* 256 bytes */
    key[PP_MANAGER_DICT_KEY_MAX] = '\0';
    PP_ASSERT_STATUS(pp_mdict_set(d, key, small), PP_OK); /* 255 */
    for (i = 1, st = PP_OK; i < PP_MANAGER_DICT_KEYS_MAX && st == PP_OK; i++) {
        char k[32];
        snprintf(k, sizeof k, "key%u", (unsigned)i);
        st = pp_mdict_set(d, k, small);
    }
    PP_ASSERT_STATUS(st, PP_OK);
    PP_ASSERT_STATUS(pp_mdict_set(d, "one-too-many", small), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_mdict_set(d, key, small), PP_OK); /* replacing is fine */
    /* a (local, named) lock in a tuple cannot be hosted yet: said before
     * anything is sent */
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&lockv), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_str(lockv, "x"), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_lock(lockv, l), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_put(q, lockv, 0), PP_ENOTSUP);
    PP_ASSERT_STATUS(pp_mdict_set(d, "l", lockv), PP_ENOTSUP);
    pp_values_destroy(lockv);
    /* kinds: an id of another kind, an id that is gone */
    PP_ASSERT_STATUS_FATAL(pp_msem_create(m, 1, 0, &s), PP_OK);
    PP_ASSERT_STATUS(pp_mevent_open(m, pp_msem_id(s), &e), PP_ETYPE);
    PP_ASSERT_STATUS(pp_mqueue_open(m, pp_msem_id(s) + 100, &q2), PP_ENOENT);
    CU_ASSERT_PTR_NULL(q2);
    pp_msem_destroy(s);
    pp_lock_destroy(l);
    pp_values_destroy(small);
    pp_mdict_destroy(d);
    pp_mqueue_destroy(q);
    free(bytes);
    pp_manager_destroy(m);
}

/* NULL handles and out-parameters, bad timeouts: PP_EINVAL, never a
 * crash; destroy(NULL) is fine. */
static void t_bad_arguments(void)
{
    pp_manager *m = start_known_key();
    pp_mqueue *q = NULL;
    pp_values *v = NULL;
    pp_lock *l = NULL;
    pp_msem *s = NULL;
    int flag = 0;
    size_t n = 0;

    PP_ASSERT_STATUS(pp_manager_rlock(NULL, &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_manager_rlock(m, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_create(NULL, 1, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_create(m, 1, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_open(m, 0, &s), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_acquire(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_msem_release(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mcond_create(m, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mcond_wait(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mcond_notify_all(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mevent_create(m, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mevent_wait(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mbarrier_create(m, PP_MANAGER_BARRIER_MAX + 1, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mbarrier_wait(NULL, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mvalue_create_int(m, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mqueue_create(m, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS_FATAL(pp_mqueue_create(m, 0, &q), PP_OK);
    PP_ASSERT_STATUS(pp_mqueue_get(q, NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mqueue_get(q, &v, -7), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mqueue_put(q, NULL, -7), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mqueue_qsize(q, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mqueue_full(NULL, &flag), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mdict_create(NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mdict_len(NULL, &n), PP_EINVAL);
    PP_ASSERT_STATUS(pp_mdict_get(NULL, "k", &v), PP_EINVAL);
    CU_ASSERT_EQUAL(pp_msem_id(NULL) + pp_mqueue_id(NULL) + pp_mdict_id(NULL), 0);
    CU_ASSERT_EQUAL(pp_mvalue_type(NULL), PP_TYPE_NONE);
    pp_msem_destroy(NULL);
    pp_mcond_destroy(NULL);
    pp_mevent_destroy(NULL);
    pp_mbarrier_destroy(NULL);
    pp_mvalue_destroy(NULL);
    pp_mqueue_destroy(NULL);
    pp_mdict_destroy(NULL);
    pp_mqueue_destroy(q);
    pp_manager_destroy(m);
}

#ifndef _WIN32
/* Resumes the stopped server (arg: its pid) after a moment. */
static void resume_later(void *arg)
{
    pp_test_sleep_ms(300);
    (void)kill((pid_t)(intptr_t)arg, SIGCONT);
}
#endif

/*
 * A server that does not accept for a moment (busy, or here stopped) with
 * its listen backlog full — what a pool of many workers connecting at once
 * makes — is waited for, within the connect's bound: pp_manager_connect()
 * succeeds once the server accepts again instead of failing at once with
 * PP_ECONNLOST ("nobody listens there"). POSIX: a Unix socket, SIGSTOP.
 */
static void t_connect_waits_for_full_backlog(void)
{
#ifndef _WIN32
    pp_manager *m = start_known_key(), *c = NULL;
    const char *addr = pp_manager_address(m);
    pid_t server = (pid_t)pp_manager_pid(m);
    struct sockaddr_un sa;
    pp_test_thread *th;
    int fds[1024], n = 0, full = 0;
    pp_status st;

    CU_ASSERT_FATAL(addr != NULL && strncmp(addr, "unix://", 7) == 0 && server > 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", addr + 7);
    CU_ASSERT_FATAL(kill(server, SIGSTOP) == 0);
    /* fill the backlog: connects nobody accepts, until the kernel refuses */
    while (n < 1024 && !full) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        CU_ASSERT_FATAL(fd >= 0);
        (void)fcntl(fd, F_SETFL, O_NONBLOCK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            fds[n++] = fd;
        } else {
            full = errno == EAGAIN || errno == EWOULDBLOCK;
            close(fd);
            CU_ASSERT_FATAL(full);
        }
    }
    CU_ASSERT_FATAL(full);
    th = pp_test_thread_start(resume_later, (void *)(intptr_t)server);
    st = pp_manager_connect(addr, g_key, sizeof g_key, &c);
    pp_test_thread_join(th);
    PP_ASSERT_MSG(st == PP_OK, "connect to a server whose backlog was full for 300 ms: %s",
                  pp_err_name(st));
    while (n > 0)
        close(fds[--n]);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
#endif
}

/*
 * A started server that never says it listens (it stops itself before
 * pp_init(): hung, as far as its starter can tell) makes
 * pp_manager_start() fail with PP_ESPAWN in bounded time — never wait
 * for it forever — and is not left behind. POSIX (SIGSTOP, setenv).
 */
static void t_start_server_hung(void)
{
#ifndef _WIN32
    pp_manager *m = NULL;
    int64_t start, took;
    pp_status st;

    CU_ASSERT_FATAL(setenv("PP_TEST_MANAGER_STOPS", "1", 1) == 0);
    start = pp_test_now_ms();
    st = pp_manager_start(&m, NULL);
    took = pp_test_now_ms() - start;
    (void)unsetenv("PP_TEST_MANAGER_STOPS");
    PP_ASSERT_STATUS(st, PP_ESPAWN);
    CU_ASSERT_PTR_NULL(m);
    PP_ASSERT_MSG(took < 45000 * pp_test_timeout_mult(), "pp_manager_start took %lld ms",
                  (long long)took);
    pp_manager_destroy(m);
#endif
}

#ifndef _WIN32
/* Wait until a process sent SIGSTOP has stopped (the signal is delivered
 * asynchronously): its state in /proc, else a moment. */
static void until_stopped(pid_t pid)
{
    char path[64], line[256], *close_paren;
    int64_t end = pp_test_now_ms() + 10000;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    while (pp_test_now_ms() < end) {
        f = fopen(path, "r");
        if (f == NULL) {
            pp_test_sleep_ms(500);
            return;
        }
        close_paren = fgets(line, sizeof line, f) != NULL ? strrchr(line, ')') : NULL;
        fclose(f);
        if (close_paren != NULL && (close_paren[2] == 'T' || close_paren[2] == 't'))
            return;
        pp_test_sleep_ms(5);
    }
}
#endif

/*
 * pp_manager_shutdown() of a connected handle whose connection broke (a
 * reply that did not come in time: the server was stopped) still closes
 * it, as documented ("it only disconnects"): the server then releases
 * what the connection held. It was left open until pp_manager_destroy()
 * (shutdown took its turn only on a connection that was not broken), so
 * a lock held through it stayed held. POSIX (SIGSTOP).
 */
static void t_shutdown_closes_broken_connection(void)
{
#ifndef _WIN32
    pp_manager *m = start_known_key(), *c = NULL;
    pid_t server = (pid_t)pp_manager_pid(m);
    pp_lock *held = NULL, *mine = NULL, *other = NULL, *probe = NULL;
    pp_status st;

    CU_ASSERT_FATAL(server > 0);
    PP_ASSERT_STATUS_FATAL(pp_manager_connect(pp_manager_address(m), g_key, KEYLEN, &c), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &held), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock(m, &other), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(held), &mine), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_manager_lock_open(c, pp_manager_lock_id(other), &probe), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_acquire(mine, 5000), PP_OK);
    CU_ASSERT_FATAL(kill(server, SIGSTOP) == 0);
    until_stopped(server);
    /* no reply within its grace: the connection is broken */
    PP_ASSERT_STATUS(pp_lock_try_acquire(probe), PP_ECONNLOST);
    CU_ASSERT_FATAL(kill(server, SIGCONT) == 0);
    PP_ASSERT_STATUS(pp_manager_shutdown(c), PP_OK);
    /* the connection is closed: the server released what it held */
    st = pp_lock_acquire(held, LOST_MS);
    PP_ASSERT_MSG(st == PP_OK || st == PP_EOWNERDEAD, "acquire: %s", pp_err_name(st));
    PP_ASSERT_STATUS(pp_lock_release(held), PP_OK);
    pp_lock_destroy(probe);
    pp_lock_destroy(mine);
    pp_lock_destroy(other);
    pp_lock_destroy(held);
    pp_manager_destroy(c);
    pp_manager_destroy(m);
#endif
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST_TIMEOUT(t_sem_holder_killed, 90),
    PP_TEST_TIMEOUT(t_rlock_holder_killed, 90),
    PP_TEST_TIMEOUT(t_barrier_waiter_killed, 90),
    PP_TEST_TIMEOUT(t_cond_waiter_killed, 90),
    PP_TEST_TIMEOUT(t_cond_notify_unconfirmed, 90),
    PP_TEST_TIMEOUT(t_cond_notify_confirmed, 120),
    PP_TEST_TIMEOUT(t_server_killed_while_waiting, 90),
    PP_TEST_TIMEOUT(t_malformed_obj_frames, 120),
    PP_TEST_TIMEOUT(t_limits_and_kinds, 120),
    PP_TEST_TIMEOUT(t_bad_arguments, 60),
    PP_TEST_TIMEOUT(t_connect_waits_for_full_backlog, 60),
    PP_TEST_TIMEOUT(t_start_server_hung, 120),
    PP_TEST_TIMEOUT(t_shutdown_closes_broken_connection, 90),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(manager_failures)
{
    pp_test_add_suite("manager_failures", g_cases);
    pp_test_add_helpers(g_helpers);
}
