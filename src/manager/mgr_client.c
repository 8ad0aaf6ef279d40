/*
 * mgr_client.c — pp_manager_* (manager.h) and the manager lock: a row of
 * sync/lock_backend.h whose operations are requests to the server
 * (manager/mgr_proto.h).
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
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "sync/lock_backend.h"
#include "manager/manager.h"
#include "manager/mgr_addr.h"
#include "manager/mgr_proto.h"

#define CONNECT_MS 5000
#define STOP_MS    5000 /* a stopped server has this long to exit */

struct pp_manager {
    apr_pool_t *pool;
    apr_socket_t *sock;
    pp__mgr_conn io;  /* frames on sock */
    pp__plat_mtx *mu; /* one request at a time; sock, io, broken */
    int broken;
    char addr[PP_MANAGER_ADDR_MAX];
    /* a started manager only */
    char local[PP_MANAGER_ADDR_MAX]; /* its private endpoint, removed after reaping */
    pp__plat_launcher *launcher;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
};

/* ---------------------------------------------------------- requests */

/* One request and its reply: *status is the server's answer. The
 * returned status is the transport's: PP_OK, PP_ECONNLOST, PP_EPROTO. */
static pp_status call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                      int64_t wait_ms, pp_status *status, uint64_t *value)
{
    pp__mgr_frame f;
    pp_status st;

    pp__plat_mtx_lock(m->mu);
    if (m->broken || m->sock == NULL) {
        pp__plat_mtx_unlock(m->mu);
        return PP_ECONNLOST;
    }
    st = pp__mgr_send(&m->io, type, payload, len);
    if (st == PP_OK)
        st = pp__mgr_recv(&m->io, wait_ms + PP__MGR_GRACE_MS, &f);
    *status = PP_OK;
    if (st == PP_OK)
        st = pp__mgr_parse_reply(&f, status, value);
    if (st == PP_ETIMEDOUT)
        st = PP_ECONNLOST; /* the server did not answer in time */
    if (st != PP_OK)
        m->broken = 1;
    pp__plat_mtx_unlock(m->mu);
    return st;
}

/* A request that gets no reply (RELEASE_NR): sent, not waited for. A
 * connection that broke meanwhile shows at the next call. */
static pp_status post(pp_manager *m, uint8_t type, uint64_t id)
{
    uint8_t p[8];
    pp_status st;

    pp__st_le64(p, id);
    pp__plat_mtx_lock(m->mu);
    if (m->broken || m->sock == NULL) {
        pp__plat_mtx_unlock(m->mu);
        return PP_ECONNLOST;
    }
    st = pp__mgr_send(&m->io, type, p, sizeof p);
    if (st != PP_OK)
        m->broken = 1;
    pp__plat_mtx_unlock(m->mu);
    return st;
}

static pp_status call_id(pp_manager *m, uint8_t type, uint64_t id, int64_t wait_ms, uint64_t *value)
{
    uint8_t p[8];
    pp_status st, answer;

    pp__st_le64(p, id);
    st = call(m, type, p, sizeof p, wait_ms, &answer, value);
    return st != PP_OK ? st : answer;
}

/* ------------------------------------------------------ the lock backend */

typedef struct mgr_lock {
    pp_lock base; /* first: a pp_lock */
    pp_manager *mgr;
    uint64_t id;
    uint64_t token; /* of the last acquire */
    int creator;    /* destroy removes the lock from the server */
    int held;       /* acquired through this handle and not released (mgr->mu) */
} mgr_lock;

/* An acquire through l succeeded: its token, and l holds the lock (under
 * the handle's mutex: another thread may release through l). */
static void set_held(mgr_lock *l, uint64_t token)
{
    pp__plat_mtx_lock(l->mgr->mu);
    l->token = token;
    l->held = 1;
    pp__plat_mtx_unlock(l->mgr->mu);
}

/* The server waits at most PP__MGR_SLICE_MS per request: a longer wait is
 * a loop here, and each round proves the server alive. */
static pp_status mgr_acquire(pp_lock *lock, int64_t timeout_ms)
{
    mgr_lock *l = (mgr_lock *)lock;
    int64_t deadline = timeout_ms == PP_INFINITE ? 0 : pp__plat_now_ms() + timeout_ms;
    uint8_t p[16];
    pp_status st, answer;
    uint64_t value = 0;

    for (;;) {
        int64_t slice = PP__MGR_SLICE_MS;
        if (timeout_ms != PP_INFINITE) {
            int64_t left = deadline - pp__plat_now_ms();
            slice = left < 0 ? 0 : (left < slice ? left : slice);
        }
        pp__st_le64(p, l->id);
        pp__st_le64(p + 8, (uint64_t)slice);
        st = call(l->mgr, PP__MGR_ACQUIRE, p, sizeof p, slice, &answer, &value);
        if (st != PP_OK)
            return st;
        if (answer == PP_ETIMEDOUT &&
            (timeout_ms == PP_INFINITE || deadline - pp__plat_now_ms() > 0))
            continue;
        if (answer == PP_OK || answer == PP_EOWNERDEAD)
            set_held(l, value);
        return answer;
    }
}

static pp_status mgr_try_acquire(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    uint64_t value = 0;
    pp_status st = call_id(l->mgr, PP__MGR_TRY, l->id, 0, &value);

    if (st == PP_OK || st == PP_EOWNERDEAD)
        set_held(l, value);
    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

/* Whether this handle holds the lock is known here: a release by a
 * non-holder is PP_EPERM without asking, and the server's answer to a
 * holder's release would carry nothing, so it is not waited for (half
 * the round trips of an acquire+release pair). */
static pp_status mgr_release(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    int held;

    pp__plat_mtx_lock(l->mgr->mu);
    held = l->held;
    l->held = 0;
    pp__plat_mtx_unlock(l->mgr->mu);
    return held ? post(l->mgr, PP__MGR_RELEASE_NR, l->id) : PP_EPERM;
}

static const char *mgr_name(const pp_lock *lock)
{
    (void)lock;
    return NULL; /* cannot travel in task arguments yet */
}

static uint64_t mgr_token(const pp_lock *lock)
{
    return ((const mgr_lock *)lock)->token;
}

static void mgr_destroy(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    uint64_t value;

    if (l->creator)
        (void)call_id(l->mgr, PP__MGR_DESTROY, l->id, 0, &value);
    free(l);
}

static const pp__lock_backend g_manager_lock = {
    "manager", mgr_acquire, mgr_try_acquire, mgr_release, mgr_name, mgr_token, mgr_destroy};

static pp_status lock_handle(pp_manager *mgr, uint64_t id, int creator, pp_lock **out)
{
    mgr_lock *l = calloc(1, sizeof *l);

    if (l == NULL)
        return PP_ENOMEM;
    l->base.backend = &g_manager_lock;
    l->mgr = mgr;
    l->id = id;
    l->creator = creator;
    *out = &l->base;
    return PP_OK;
}

uint64_t pp_manager_lock_id(const pp_lock *lock)
{
    return lock != NULL && lock->backend == &g_manager_lock ? ((const mgr_lock *)lock)->id : 0;
}

pp_status pp_manager_lock_open(pp_manager *mgr, uint64_t id, pp_lock **out)
{
    uint64_t value;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = call_id(mgr, PP__MGR_OPEN, id, 0, &value);
    return st != PP_OK ? st : lock_handle(mgr, id, 0, out);
}

pp_status pp_manager_lock(pp_manager *mgr, pp_lock **out)
{
    pp_status st, answer;
    uint64_t id = 0;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = call(mgr, PP__MGR_CREATE_LOCK, NULL, 0, 0, &answer, &id);
    if (st != PP_OK)
        return st;
    if (answer != PP_OK)
        return answer;
    st = lock_handle(mgr, id, 1, out);
    if (st != PP_OK) {
        uint64_t v;
        (void)call_id(mgr, PP__MGR_DESTROY, id, 0, &v);
    }
    return st;
}

/* ------------------------------------------------------------ connect */

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
        apr_status_t rv = apr_socket_create(&m->sock, sa->family, SOCK_STREAM,
                                            sa->family == APR_UNIX ? 0 : APR_PROTO_TCP, m->pool);
        if (rv != APR_SUCCESS) {
            m->sock = NULL;
            st = pp__from_apr(rv);
            continue;
        }
        (void)apr_socket_timeout_set(m->sock, (apr_interval_time_t)CONNECT_MS * 1000);
        rv = apr_socket_connect(m->sock, sa);
        if (rv == APR_SUCCESS) {
            if (sa->family != APR_UNIX)
                (void)apr_socket_opt_set(m->sock, APR_TCP_NODELAY, 1);
            return PP_OK;
        }
        apr_socket_close(m->sock);
        m->sock = NULL;
        st = PP_ECONNLOST;
    }
    return st;
}

static pp_status manager_alloc(pp_manager **out)
{
    pp_manager *m = calloc(1, sizeof *m);

    if (m == NULL)
        return PP_ENOMEM;
    if (apr_pool_create(&m->pool, NULL) != APR_SUCCESS || pp__plat_mtx_create(&m->mu) != PP_OK) {
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
        st = pp__mgr_conn_init(&m->io, m->sock);
    if (st == PP_OK)
        st = pp__mgr_handshake_client(&m->io, key, keylen);
    if (st == PP_OK)
        pp__mgr_conn_blocking(&m->io);
    if (st != PP_OK && m->sock != NULL) {
        apr_socket_close(m->sock);
        m->sock = NULL;
    }
    return st;
}

pp_status pp_manager_connect(const char *address, const void *key, size_t keylen, pp_manager **out)
{
    pp_manager *m;
    pp_status st;

    if (address == NULL || key == NULL || out == NULL || keylen == 0 ||
        keylen > PP_MANAGER_KEY_MAX || strlen(address) >= PP_MANAGER_ADDR_MAX)
        return PP_EINVAL;
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

/* -------------------------------------------------------------- start */

/* The server process, given its key and the address to listen on over
 * its private channel; bound: where it listens. */
static pp_status spawn_server(pp_manager *m, const char *listen, const uint8_t *key, size_t keylen,
                              char *bound)
{
    uint8_t start[PP__MGR_START_HDR + PP_MANAGER_ADDR_MAX + PP_MANAGER_KEY_MAX];
    uint8_t ready[PP__MGR_READY_HDR];
    size_t alen = strlen(listen), blen;
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
        st = pp__mgr_chan_read_exact(m->chan, ready, sizeof ready);
    blen = pp__ld_le16(ready + 4);
    if (st == PP_OK && blen >= PP_MANAGER_ADDR_MAX)
        st = PP_EPROTO;
    if (st == PP_OK)
        st = pp__mgr_chan_read_exact(m->chan, (uint8_t *)bound, blen);
    if (st != PP_OK)
        return PP_ESPAWN; /* it died before it was listening */
    bound[blen] = '\0';
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
    uint8_t key[PP_MANAGER_KEY_LEN];
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
        randombytes_buf(key, sizeof key);
    st = manager_alloc(&m);
    if (st != PP_OK)
        return st;
    st = listen_address(m, opts, listen);
    if (st == PP_OK)
        st = spawn_server(m, listen, k, keylen, bound);
    if (st == PP_OK)
        st = connect_to(m, bound, k, keylen);
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
    pp__plat_mtx_lock(mgr->mu);
    if (mgr->sock != NULL) {
        apr_socket_close(mgr->sock);
        mgr->sock = NULL;
    }
    mgr->broken = 1;
    pp__plat_mtx_unlock(mgr->mu);
    stop_server(mgr);
    return PP_OK;
}

void pp_manager_destroy(pp_manager *mgr)
{
    if (mgr == NULL)
        return;
    (void)pp_manager_shutdown(mgr);
    pp__plat_mtx_destroy(mgr->mu);
    apr_pool_destroy(mgr->pool);
    free(mgr);
}
