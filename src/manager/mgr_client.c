/*
 * mgr_client.c — pp_manager_* (manager.h): a connection to a manager
 * server (started here, or reached by address) and its requests
 * (manager/mgr_proto.h); the handles of hosted objects use them
 * (mgr_client_lock.c, mgr_client_obj.c, mgr_client_data.c).
 *
 * A handle is one connection; one request is in flight at a time (a
 * mutex). Any failure of the connection (gone, silent past the deadline,
 * malformed) breaks the handle for good: later calls fail at once with
 * PP_ECONNLOST, never waiting on a connection that cannot answer.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_pools.h>
#include <sodium.h>

#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "sync/keyring.h"
#include "manager/manager.h"
#include "manager/mgr_addr.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

#define CONNECT_MS 5000
#define STOP_MS    5000 /* a stopped server has this long to exit */
/* A started server that has not said READY (listening) this long is
 * killed, and pp_manager_start() fails: it is hung (or stopped); its image
 * runs the program's main() up to pp_init() first, which may take a while
 * on a loaded machine. */
#define READY_MS 30000

struct pp_manager {
    apr_pool_t *pool;
    apr_socket_t *sock;
    pp__mgr_io io;    /* frames on sock: used by the thread whose turn it is */
    pp__plat_mtx *mu; /* the turns, sock, broken; the locks' held counts */
    /* One request at a time on the connection, in arrival order: a thread
     * waiting long (one request per PP__MGR_SLICE_MS) would otherwise win
     * the mutex back again and again against another thread's call. */
    pp__plat_cond *turn_cv;
    uint64_t turn_next, turn_now; /* tickets: next to give, now served */
    int broken;
    char addr[PP_MANAGER_ADDR_MAX];
    uint64_t instance; /* the server's (its WELCOME): what locators carry */
    int own_key;       /* started with a key option: the keyring forgets it at destroy */
    uint64_t pid;      /* the process that opened it: the only one that may use it */
    /* a started manager only */
    char local[PP_MANAGER_ADDR_MAX]; /* its private endpoint, removed after reaping */
    pp__plat_launcher *launcher;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
};

/* ---------------------------------------------------------- requests */

/* Wait for this thread's turn on the connection (each turn lasts one
 * request and its reply, at most PP__MGR_SLICE_MS + PP__MGR_GRACE_MS,
 * so the wait is bounded by the turns before it). Caller holds m->mu. */
static void turn_wait_locked(pp_manager *m)
{
    uint64_t t = m->turn_next++;

    while (t != m->turn_now)
        (void)pp__plat_cond_wait(m->turn_cv, m->mu, PP_INFINITE);
}

/* Take this thread's turn: 0 if the connection is broken or closed (the
 * turn is over already). */
static int turn_take(pp_manager *m)
{
    int ok;

    pp__plat_mtx_lock(m->mu);
    turn_wait_locked(m);
    ok = !m->broken && m->sock != NULL;
    if (!ok)
        m->turn_now++;
    pp__plat_cond_broadcast(m->turn_cv);
    pp__plat_mtx_unlock(m->mu);
    return ok;
}

static void turn_end(pp_manager *m, int broke)
{
    pp__plat_mtx_lock(m->mu);
    if (broke)
        m->broken = 1;
    m->turn_now++;
    pp__plat_cond_broadcast(m->turn_cv);
    pp__plat_mtx_unlock(m->mu);
}

pp_status pp__mgr_call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                       int64_t wait_ms, pp_status *status, uint64_t *value, pp__buf *data)
{
    const uint8_t *rdata = NULL;
    size_t rlen = 0;
    pp__mgr_frame f;
    pp_status st;

    *status = PP_OK;
    if (pp__mgr_check_process(m) != PP_OK)
        return PP_ESTATE; /* before the mutex: a fork may have copied it locked */
    if (!turn_take(m))
        return PP_ECONNLOST;
    pp__mgr_frame_init(&f);
    st = pp__mgr_send(&m->io, type, payload, len);
    if (st == PP_OK)
        st = pp__mgr_recv(&m->io, wait_ms + PP__MGR_GRACE_MS, &f);
    if (st == PP_OK)
        st = pp__mgr_parse_reply(&f, status, value, &rdata, &rlen);
    if (st == PP_OK && rlen > 0 && data == NULL)
        st = PP_EPROTO; /* data this request never has */
    if (st == PP_ETIMEDOUT)
        st = PP_ECONNLOST; /* the server did not answer in time */
    turn_end(m, st != PP_OK);
    if (st == PP_OK && rlen > 0)
        st = pp__buf_put(data, rdata, rlen);
    pp__mgr_frame_free(&f);
    return st;
}

/* A request that gets no reply (RELEASE_NR): sent, not waited for. A
 * connection that broke meanwhile shows at the next call. */
pp_status pp__mgr_post(pp_manager *m, uint8_t type, uint64_t id)
{
    uint8_t p[8];
    pp_status st;

    if (pp__mgr_check_process(m) != PP_OK)
        return PP_ESTATE;
    pp__st_le64(p, id);
    if (!turn_take(m))
        return PP_ECONNLOST;
    st = pp__mgr_send(&m->io, type, p, sizeof p);
    turn_end(m, st != PP_OK);
    return st;
}

/* A fork child holds a copy of its parent's handle: the connection (and
 * the server's idea of who holds what) is the parent's, and the mutex may
 * have been copied locked. Its calls are refused, never interleaved with
 * the parent's on one socket. */
pp_status pp__mgr_check_process(const pp_manager *m)
{
    return pp__plat_getpid() == m->pid ? PP_OK : PP_ESTATE;
}

pp__plat_mtx *pp__mgr_mutex(pp_manager *m)
{
    return m->mu;
}

/* ------------------------------------------------------------ connect */

/* One connect to sa, within the connect's bound (m->sock set on PP_OK);
 * PP_ECONNLOST if nobody accepted, another status if the socket could not
 * be made. A Unix socket whose backlog is full refuses at once (EAGAIN):
 * its server is busy (many clients connecting at once), not gone, so that
 * is tried again within the bound, as a TCP connect retries its SYN. */
static pp_status connect_one(pp_manager *m, apr_sockaddr_t *sa)
{
    int64_t deadline = pp__plat_now_ms() + CONNECT_MS, pause = 1;
    apr_status_t rv;

    for (;;) {
        rv = apr_socket_create(&m->sock, sa->family, SOCK_STREAM,
                               sa->family == APR_UNIX ? 0 : APR_PROTO_TCP, m->pool);
        if (rv != APR_SUCCESS) {
            m->sock = NULL;
            return pp__from_apr(rv);
        }
        (void)apr_socket_timeout_set(m->sock, (apr_interval_time_t)CONNECT_MS * 1000);
        rv = apr_socket_connect(m->sock, sa);
        if (rv == APR_SUCCESS)
            return PP_OK;
        apr_socket_close(m->sock);
        m->sock = NULL;
        if (!APR_STATUS_IS_EAGAIN(rv) || pp__plat_now_ms() + pause >= deadline)
            return PP_ECONNLOST;
        pp__plat_sleep_ms(pause);
        pause = pause * 2 > 50 ? 50 : pause * 2;
    }
}

/* Connect to the first address of the list that answers (a host name may
 * resolve to an IPv6 and an IPv4 address, the server listens on one). */
static pp_status open_socket(pp_manager *m, const pp__mgr_addr *a)
{
    apr_sockaddr_t *sa = NULL;
    pp_status st;

    st = pp__mgr_addr_resolve(a, m->pool, &sa);
    if (st != PP_OK)
        return st;
    for (; sa != NULL; sa = sa->next) {
        st = connect_one(m, sa);
        if (st == PP_OK) {
            if (sa->family != APR_UNIX)
                (void)apr_socket_opt_set(m->sock, APR_TCP_NODELAY, 1);
            return PP_OK;
        }
    }
    return st;
}

static pp_status manager_alloc(pp_manager **out)
{
    pp_manager *m = calloc(1, sizeof *m);

    if (m == NULL)
        return PP_ENOMEM;
    m->pid = pp__plat_getpid();
    if (apr_pool_create(&m->pool, NULL) != APR_SUCCESS || pp__plat_mtx_create(&m->mu) != PP_OK ||
        pp__plat_cond_create(&m->turn_cv) != PP_OK) {
        if (m->mu != NULL)
            pp__plat_mtx_destroy(m->mu);
        if (m->pool != NULL)
            apr_pool_destroy(m->pool);
        free(m);
        return PP_ENOMEM;
    }
    *out = m;
    return PP_OK;
}

static pp_status connect_to(pp_manager *m, const char *address, const void *key, size_t keylen)
{
    pp__mgr_addr a;
    pp_status st;

    st = pp__mgr_addr_parse(address, 0, &a);
    if (st != PP_OK)
        return st;
    pp__mgr_addr_format(&a, 0, m->addr);
    st = pp__mgr_crypto_init();
    if (st == PP_OK)
        st = open_socket(m, &a);
    if (st == PP_OK)
        st = pp__mgr_io_init(&m->io, m->sock);
    if (st == PP_OK)
        st = pp__mgr_handshake_client(&m->io, key, keylen, &m->instance);
    if (st == PP_OK)
        pp__mgr_io_blocking(&m->io);
    if (st != PP_OK && m->sock != NULL) {
        apr_socket_close(m->sock);
        m->sock = NULL;
    }
    return st;
}

/* pp_manager_connect() without the keyring (the resolver of mgr_travel.c
 * connects with keys it found there). */
pp_status pp__manager_open(const char *address, const void *key, size_t keylen, pp_manager **out)
{
    pp_manager *m;
    pp_status st;

    st = pp__check_init();
    if (st == PP_OK)
        st = manager_alloc(&m);
    if (st != PP_OK)
        return st;
    st = connect_to(m, address, key, keylen);
    if (st != PP_OK) {
        pp_manager_destroy(m);
        return st;
    }
    *out = m;
    return PP_OK;
}

pp_status pp_manager_connect(const char *address, const void *key, size_t keylen, pp_manager **out)
{
    uint8_t known[PP__KEY_MAX];
    size_t knownlen = 0;
    int is_program = 0;
    pp_status st;

    if (out != NULL)
        *out = NULL;
    if (address == NULL || out == NULL || (key == NULL) != (keylen == 0) ||
        keylen > PP_MANAGER_KEY_MAX || strlen(address) >= PP_MANAGER_ADDR_MAX)
        return PP_EINVAL;
    if (key == NULL) {
        /* Python's authkey=None: the key this process knows for it (its
         * own, or the program key a pool worker inherited). */
        st = pp__check_init();
        if (st == PP_OK)
            st = pp__keyring_find(address, known, &knownlen, &is_program);
        if (st == PP_ENOENT)
            st = PP_EAUTH; /* no key to try */
        if (st == PP_OK)
            st = pp__manager_open(address, known, knownlen, out);
        pp__keyring_wipe(known, sizeof known);
        return st;
    }
    st = pp__manager_open(address, key, keylen, out);
    /* Workers started from now on know this manager's key (keyring.h). */
    if (st == PP_OK)
        st = pp__keyring_put((*out)->addr, key, keylen);
    if (st != PP_OK && *out != NULL) {
        pp_manager_destroy(*out);
        *out = NULL;
    }
    return st;
}

uint64_t pp__manager_instance(const pp_manager *mgr)
{
    return mgr->instance;
}

/* -------------------------------------------------------------- start */

/* Kills a starting server that has not said READY within READY_MS, so
 * that the blocking read of its answer ends (the channel read watches the
 * peer's process). */
typedef struct ready_watch {
    pp__plat_mtx *mu;
    pp__plat_cond *cv;
    pp__plat_proc *proc;
    int done;
} ready_watch;

static void ready_watch_main(void *arg)
{
    ready_watch *w = arg;
    int64_t deadline = pp__plat_now_ms() + READY_MS, left;

    pp__plat_mtx_lock(w->mu);
    while (!w->done) {
        left = deadline - pp__plat_now_ms();
        if (left <= 0) {
            (void)pp__plat_proc_kill(w->proc);
            break;
        }
        (void)pp__plat_cond_wait(w->cv, w->mu, left);
    }
    pp__plat_mtx_unlock(w->mu);
}

/* Read the server's READY and the address it listens on (bound), within
 * READY_MS (watched by a thread where one can be made). */
static pp_status read_ready(pp_manager *m, uint8_t *ready, char *bound)
{
    ready_watch w;
    pp__plat_thread *th = NULL;
    size_t blen;
    pp_status st;

    memset(&w, 0, sizeof w);
    w.proc = m->proc;
    if (pp__plat_mtx_create(&w.mu) == PP_OK && pp__plat_cond_create(&w.cv) == PP_OK)
        (void)pp__plat_thread_create(&th, ready_watch_main, &w);
    st = pp__mgr_chan_read_exact(m->chan, ready, PP__MGR_READY_HDR);
    blen = pp__ld_le16(ready + 4);
    if (st == PP_OK && blen >= PP_MANAGER_ADDR_MAX)
        st = PP_EPROTO;
    if (st == PP_OK)
        st = pp__mgr_chan_read_exact(m->chan, (uint8_t *)bound, blen);
    if (st == PP_OK)
        bound[blen] = '\0';
    if (th != NULL) {
        pp__plat_mtx_lock(w.mu);
        w.done = 1;
        pp__plat_cond_signal(w.cv);
        pp__plat_mtx_unlock(w.mu);
        pp__plat_thread_join(th);
    }
    if (w.cv != NULL)
        pp__plat_cond_destroy(w.cv);
    if (w.mu != NULL)
        pp__plat_mtx_destroy(w.mu);
    return st;
}

/* The server process, given its key and the address to listen on over
 * its private channel; bound: where it listens. */
static pp_status spawn_server(pp_manager *m, const char *listen, const uint8_t *key, size_t keylen,
                              char *bound)
{
    uint8_t start[PP__MGR_START_HDR + PP_MANAGER_ADDR_MAX + PP_MANAGER_KEY_MAX];
    uint8_t ready[PP__MGR_READY_HDR];
    size_t alen = strlen(listen);
    pp_status st;
    int32_t answer;

    st = pp__plat_launcher_create(PP__START_SPAWN, &m->launcher);
    if (st == PP_OK)
        st = pp__plat_launcher_set_role(m->launcher, PP__ROLE_MANAGER);
    if (st == PP_OK)
        st = pp__plat_launcher_start(m->launcher, &m->proc, &m->chan);
    if (st != PP_OK)
        return st;
    pp__st_le16(start, (uint16_t)alen);
    pp__st_le16(start + 2, (uint16_t)keylen);
    memcpy(start + PP__MGR_START_HDR, listen, alen);
    memcpy(start + PP__MGR_START_HDR + alen, key, keylen);
    st = pp__plat_chan_write(m->chan, start, PP__MGR_START_HDR + alen + keylen);
    sodium_memzero(start, sizeof start);
    if (st == PP_OK)
        st = read_ready(m, ready, bound);
    if (st != PP_OK)
        return PP_ESPAWN; /* it died (or was killed, hung) before it was listening */
    answer = (int32_t)pp__ld_le32(ready);
    if (answer != PP_OK)
        return answer < 0 && answer > -100 ? (pp_status)answer : PP_ESPAWN;
    return PP_OK;
}

/* Where a started manager listens: opts->listen, or TCP loopback on
 * opts->port, or (neither) the private local endpoint where there is one
 * (a Unix socket, POSIX), TCP loopback on an ephemeral port elsewhere. */
static pp_status listen_address(pp_manager *m, const pp_manager_options *opts, char *out)
{
    pp__mgr_addr a;
    pp_status st;

    if (opts != NULL && opts->listen != NULL) {
        st = pp__mgr_addr_parse(opts->listen, 1, &a);
        if (st == PP_OK)
            pp__mgr_addr_format(&a, 0, out);
        return st;
    }
    if (opts != NULL && opts->port != 0) {
        snprintf(out, PP_MANAGER_ADDR_MAX, "tcp://127.0.0.1:%u", (unsigned)opts->port);
        return PP_OK;
    }
    st = pp__mgr_local_create(out);
    if (st == PP_ENOTSUP) {
        snprintf(out, PP_MANAGER_ADDR_MAX, "tcp://127.0.0.1:0");
        return PP_OK;
    }
    if (st == PP_OK)
        snprintf(m->local, sizeof m->local, "%s", out);
    return st;
}

pp_status pp_manager_start(pp_manager **out, const pp_manager_options *opts)
{
    uint8_t key[PP__PROGRAM_KEY_LEN];
    const uint8_t *k = key;
    size_t keylen = sizeof key;
    char listen[PP_MANAGER_ADDR_MAX], bound[PP_MANAGER_ADDR_MAX];
    pp_manager *m;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    if (opts != NULL && opts->key != NULL) {
        if (opts->keylen == 0 || opts->keylen > PP_MANAGER_KEY_MAX)
            return PP_EINVAL;
        k = opts->key;
        keylen = opts->keylen;
    }
    st = pp__check_init();
    if (st == PP_OK)
        st = pp__mgr_crypto_init();
    if (st != PP_OK)
        return st;
    if (k == key)
        st = pp__keyring_program_key(key); /* every worker inherits it */
    if (st == PP_OK)
        st = manager_alloc(&m);
    if (st != PP_OK) {
        sodium_memzero(key, sizeof key);
        return st;
    }
    st = listen_address(m, opts, listen);
    if (st == PP_OK)
        st = spawn_server(m, listen, k, keylen, bound);
    if (st == PP_OK)
        st = connect_to(m, bound, k, keylen);
    /* Workers find its key: the program key, or this pair (keyring.h). */
    m->own_key = k != key;
    if (st == PP_OK && m->own_key)
        st = pp__keyring_put(m->addr, k, keylen);
    else if (st == PP_OK)
        pp__keyring_forget(m->addr);
    sodium_memzero(key, sizeof key);
    if (st != PP_OK) {
        pp_manager_destroy(m);
        return st;
    }
    *out = m;
    return PP_OK;
}

/* ------------------------------------------------------------ the rest */

const char *pp_manager_address(const pp_manager *mgr)
{
    return mgr != NULL ? mgr->addr : NULL;
}

uint64_t pp_manager_pid(const pp_manager *mgr)
{
    return mgr != NULL && mgr->proc != NULL ? pp__plat_proc_pid(mgr->proc) : 0;
}

/* Ask the server to end (its control channel closes), wait a bounded
 * time, kill it if it is still there, reap it. */
static void stop_server(pp_manager *m)
{
    pp__exit_info info;

    if (m->chan != NULL) {
        pp__plat_chan_shutdown(m->chan);
        pp__plat_chan_close(m->chan);
        m->chan = NULL;
    }
    if (m->proc != NULL) {
        if (pp__plat_proc_wait(m->proc, STOP_MS, &info) != PP_OK) {
            (void)pp__plat_proc_kill(m->proc);
            (void)pp__plat_proc_wait(m->proc, STOP_MS, &info);
        }
        pp__plat_proc_release(m->proc);
        m->proc = NULL;
    }
    pp__plat_launcher_destroy(m->launcher);
    m->launcher = NULL;
    /* The server is gone (or never started): its socket file and
     * directory with it, even if it was killed before it could. */
    if (m->local[0] != '\0') {
        pp__mgr_local_remove(m->local);
        m->local[0] = '\0';
    }
}

pp_status pp_manager_shutdown(pp_manager *mgr)
{
    if (mgr == NULL)
        return PP_EINVAL;
    if (pp__mgr_check_process(mgr) != PP_OK)
        return PP_ESTATE; /* a fork child must not stop its parent's server */
    if (mgr->own_key && mgr->proc != NULL)
        pp__keyring_forget(mgr->addr); /* the server goes */
    /* In turn: a call under way on the socket ends first (bounded). A
     * broken connection is closed too: the server then lets go of what
     * it held. */
    pp__plat_mtx_lock(mgr->mu);
    turn_wait_locked(mgr);
    if (mgr->sock != NULL)
        apr_socket_close(mgr->sock);
    mgr->sock = NULL;
    mgr->broken = 1;
    mgr->turn_now++;
    pp__plat_cond_broadcast(mgr->turn_cv);
    pp__plat_mtx_unlock(mgr->mu);
    stop_server(mgr);
    return PP_OK;
}

void pp_manager_destroy(pp_manager *mgr)
{
    if (mgr == NULL)
        return;
    /* A fork child's copy: the connection, the server process and the
     * mutex (perhaps copied locked) are its parent's; left alone (the
     * child's copies of the descriptors close when it exits). */
    if (pp__mgr_check_process(mgr) != PP_OK)
        return;
    (void)pp_manager_shutdown(mgr);
    pp__plat_cond_destroy(mgr->turn_cv);
    pp__plat_mtx_destroy(mgr->mu);
    apr_pool_destroy(mgr->pool);
    free(mgr);
}
