/*
 * mgr_server.c — the manager server (PP__ROLE_MANAGER): a listener on
 * TCP loopback, one thread per connection, and the hosted locks.
 *
 * Every hosted object lives in one table under one mutex; a lock waiter
 * waits on one condition variable that every release broadcasts (simple
 * before fast: the table is a list, searched by id). A connection owns
 * what it holds and what it created: when it ends, however it ends, the
 * locks it holds are released with their owner marked dead (the next
 * acquirer gets PP_EOWNERDEAD) and the locks it created are destroyed.
 *
 * The process ends when its control channel ends (its parent closed it
 * or died); its threads are not joined then: pp__plat_exit ends them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_pools.h>
#include <sodium.h>

#include "procpool/log.h"
#include "procpool/manager.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "manager/manager.h"
#include "manager/mgr_proto.h"

#define MAX_CONNS    256
#define MAX_OBJECTS  65536 /* in the whole server */
#define MAX_PER_CONN 4096  /* created by one connection (PP_MANAGER_OBJECTS_MAX) */
#define ACCEPT_MS    1000  /* the acceptor reaps ended connections this often */

typedef struct conn conn;

typedef struct mlock {
    uint64_t id;
    conn *holder; /* NULL: free */
    conn *creator;
    int owner_died; /* released by a connection's end: tell the next one */
    uint64_t fence; /* last fencing token handed out */
    struct mlock *next;
} mlock;

struct conn {
    apr_pool_t *pool;
    apr_socket_t *sock;
    pp__plat_thread *thread;
    char peer[64];
    size_t nobjects; /* created and not destroyed */
    conn *next;      /* g.conns or g.done */
};

static struct {
    pp__plat_mtx *mu;  /* everything below */
    pp__plat_cond *cv; /* a lock was released or destroyed */
    mlock *locks;
    size_t nlocks;
    uint64_t next_id;
    conn *conns; /* running */
    conn *done;  /* ended, to be joined */
    size_t nconns;
    uint8_t key[PP_MANAGER_KEY_MAX];
    size_t keylen;
    uint64_t instance; /* random, for this process's life (mgr_proto.h) */
    apr_socket_t *listener;
} g;

/* ------------------------------------------------------------- objects */

static mlock *find_lock(uint64_t id)
{
    mlock *l;

    for (l = g.locks; l != NULL; l = l->next) {
        if (l->id == id)
            return l;
    }
    return NULL;
}

static pp_status op_create(conn *c, uint64_t *value)
{
    mlock *l;

    if (g.nlocks >= MAX_OBJECTS || c->nobjects >= MAX_PER_CONN)
        return PP_ETOOBIG;
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return PP_ENOMEM;
    l->id = ++g.next_id;
    l->creator = c;
    l->next = g.locks;
    g.locks = l;
    g.nlocks++;
    c->nobjects++;
    *value = l->id;
    return PP_OK;
}

static void unlink_lock(mlock *l)
{
    mlock **pp;

    for (pp = &g.locks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            g.nlocks--;
            l->creator->nobjects--;
            free(l);
            return;
        }
    }
}

/* The server waits at most PP__MGR_SLICE_MS; the client loops. A waiter
 * looks its lock up again after every wake-up: it may have been
 * destroyed meanwhile. */
static pp_status op_acquire(conn *c, uint64_t id, int64_t timeout_ms, uint64_t *value)
{
    int64_t deadline;
    mlock *l = find_lock(id);
    pp_status st;

    if (l == NULL)
        return PP_ENOENT;
    if (l->holder == c)
        return PP_EDEADLK;
    if (timeout_ms < 0 || timeout_ms > PP__MGR_SLICE_MS)
        timeout_ms = PP__MGR_SLICE_MS;
    deadline = pp__plat_now_ms() + timeout_ms;
    while (l->holder != NULL) {
        int64_t left = deadline - pp__plat_now_ms();
        if (left <= 0)
            return PP_ETIMEDOUT;
        (void)pp__plat_cond_wait(g.cv, g.mu, left);
        l = find_lock(id);
        if (l == NULL)
            return PP_ENOENT;
    }
    l->holder = c;
    *value = ++l->fence;
    st = l->owner_died ? PP_EOWNERDEAD : PP_OK;
    l->owner_died = 0;
    return st;
}

static pp_status op_release(conn *c, uint64_t id)
{
    mlock *l = find_lock(id);

    if (l == NULL)
        return PP_ENOENT;
    if (l->holder != c)
        return PP_EPERM;
    l->holder = NULL;
    pp__plat_cond_broadcast(g.cv);
    return PP_OK;
}

static pp_status op_destroy(conn *c, uint64_t id)
{
    mlock *l = find_lock(id);

    if (l == NULL)
        return PP_ENOENT;
    if (l->creator != c)
        return PP_EPERM;
    unlink_lock(l);
    pp__plat_cond_broadcast(g.cv);
    return PP_OK;
}

/* A connection ended: what it held is released (owner dead), what it
 * created is gone. */
static void drop_conn_objects(conn *c)
{
    mlock *l, *next;

    for (l = g.locks; l != NULL; l = next) {
        next = l->next;
        if (l->holder == c) {
            l->holder = NULL;
            l->owner_died = 1;
        }
        if (l->creator == c)
            unlink_lock(l);
    }
    pp__plat_cond_broadcast(g.cv);
}

/* ------------------------------------------------------------ requests */

/* One request, its reply. PP_EPROTO: malformed (the connection ends). */
static pp_status serve_one(conn *c, const pp__mgr_frame *f)
{
    uint8_t reply[12];
    uint64_t id = 0, value = 0;
    int64_t timeout = 0;
    pp_status st;

    if (pp__mgr_parse_request(f, &id, &timeout) != PP_OK)
        return PP_EPROTO;
    pp__plat_mtx_lock(g.mu);
    switch (f->type) {
    case PP__MGR_CREATE_LOCK:
        st = op_create(c, &value);
        break;
    case PP__MGR_ACQUIRE:
        st = op_acquire(c, id, timeout, &value);
        break;
    case PP__MGR_TRY:
        st = op_acquire(c, id, 0, &value);
        break;
    case PP__MGR_RELEASE:
        st = op_release(c, id);
        break;
    case PP__MGR_DESTROY:
        st = op_destroy(c, id);
        break;
    case PP__MGR_OPEN:
        st = find_lock(id) != NULL ? PP_OK : PP_ENOENT;
        break;
    default:
        pp__plat_mtx_unlock(g.mu);
        return PP_EPROTO;
    }
    pp__plat_mtx_unlock(g.mu);
    pp__st_le32(reply, (uint32_t)(int32_t)st);
    pp__st_le64(reply + 4, value);
    return pp__mgr_send(c->sock, PP__MGR_REPLY, reply, sizeof reply);
}

static void conn_thread(void *arg)
{
    conn *c = arg;
    pp__mgr_frame f;
    pp_status st;

    st = pp__mgr_handshake_server(c->sock, g.key, g.keylen, g.instance);
    if (st != PP_OK) {
        pp__log(PP_LOG_WARN, "manager: connection from %s rejected: %s (%s)", c->peer,
                pp_err_name(st), st == PP_EAUTH ? "wrong key" : pp_strerror(st));
    } else {
        pp__log(PP_LOG_INFO, "manager: client %s authenticated", c->peer);
        while ((st = pp__mgr_recv(c->sock, PP_INFINITE, &f)) == PP_OK &&
               (st = serve_one(c, &f)) == PP_OK)
            ;
        if (st == PP_EPROTO)
            pp__log(PP_LOG_WARN, "manager: malformed request from %s: connection closed", c->peer);
    }
    apr_socket_close(c->sock);
    pp__plat_mtx_lock(g.mu);
    drop_conn_objects(c);
    {
        conn **pp;
        for (pp = &g.conns; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
    }
    g.nconns--;
    c->next = g.done;
    g.done = c;
    pp__plat_mtx_unlock(g.mu);
}

/* Join and free the connections that ended. */
static void reap_done(void)
{
    conn *c;

    for (;;) {
        pp__plat_mtx_lock(g.mu);
        c = g.done;
        if (c != NULL)
            g.done = c->next;
        pp__plat_mtx_unlock(g.mu);
        if (c == NULL)
            return;
        pp__plat_thread_join(c->thread);
        apr_pool_destroy(c->pool);
        free(c);
    }
}

static void refuse(apr_pool_t *pool, apr_socket_t *sock, conn *c, const char *why)
{
    pp__log(PP_LOG_WARN, "manager: connection from %s refused: %s", c != NULL ? c->peer : "?", why);
    apr_socket_close(sock);
    apr_pool_destroy(pool);
    free(c);
}

static void start_conn(apr_pool_t *pool, apr_socket_t *sock)
{
    conn *c = calloc(1, sizeof *c);
    apr_sockaddr_t *sa = NULL;
    const char *why = NULL;
    char *ip = NULL;

    if (c == NULL) {
        refuse(pool, sock, NULL, "out of memory");
        return;
    }
    c->pool = pool;
    c->sock = sock;
    if (apr_socket_addr_get(&sa, APR_REMOTE, sock) == APR_SUCCESS &&
        apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS)
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)sa->port);
    (void)apr_socket_opt_set(sock, APR_TCP_NODELAY, 1);
    pp__plat_mtx_lock(g.mu);
    if (g.nconns >= MAX_CONNS) {
        why = "too many connections";
    } else {
        /* Linked before the thread starts: it unlinks itself at its end. */
        c->next = g.conns;
        g.conns = c;
        g.nconns++;
        if (pp__plat_thread_create(&c->thread, conn_thread, c) != PP_OK) {
            g.conns = c->next;
            g.nconns--;
            why = "no thread for it";
        }
    }
    pp__plat_mtx_unlock(g.mu);
    if (why != NULL)
        refuse(pool, sock, c, why);
}

static void accept_thread(void *arg)
{
    (void)arg;
    for (;;) {
        apr_pool_t *pool = NULL;
        apr_socket_t *sock = NULL;
        apr_status_t rv;

        reap_done();
        if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
            return;
        rv = apr_socket_accept(&sock, g.listener, pool);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(pool);
            if (!APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EAGAIN(rv) &&
                !APR_STATUS_IS_EINTR(rv) && !APR_STATUS_IS_ECONNABORTED(rv))
                pp__plat_sleep_ms(10); /* out of fds: do not spin */
            continue;
        }
        start_conn(pool, sock);
    }
}

/* ------------------------------------------------------------- startup */

/* No SO_REUSEADDR: on Windows it would let another process bind the same
 * port and steal connections. (A fixed port may then be refused for a
 * while after a restart on POSIX: TIME_WAIT of closed connections.) */
static pp_status listen_on(apr_pool_t *pool, uint16_t port, uint16_t *bound)
{
    apr_sockaddr_t *sa = NULL;
    apr_status_t rv;

    rv = apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, port, 0, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_create(&g.listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_bind(g.listener, sa);
    if (rv == APR_SUCCESS)
        rv = apr_socket_listen(g.listener, 64);
    if (rv == APR_SUCCESS)
        rv = apr_socket_addr_get(&sa, APR_LOCAL, g.listener);
    if (rv != APR_SUCCESS)
        return pp__from_apr(rv);
    *bound = (uint16_t)sa->port;
    return apr_socket_timeout_set(g.listener, (apr_interval_time_t)ACCEPT_MS * 1000) == APR_SUCCESS
               ? PP_OK
               : PP_ESYS;
}

/* The start message, then the listener. */
static pp_status setup(pp__plat_chan *chan, apr_pool_t *pool, uint16_t *bound)
{
    uint8_t hdr[PP__MGR_START_HDR];
    pp_status st;

    st = pp__mgr_chan_read_exact(chan, hdr, sizeof hdr);
    if (st != PP_OK)
        return st;
    g.keylen = pp__ld_le16(hdr + 2);
    if (g.keylen == 0 || g.keylen > sizeof g.key)
        return PP_EPROTO;
    st = pp__mgr_chan_read_exact(chan, g.key, g.keylen);
    if (st == PP_OK)
        st = pp__mgr_crypto_init();
    if (st == PP_OK) {
        do
            randombytes_buf(&g.instance, sizeof g.instance);
        while (g.instance == 0);
    }
    if (st == PP_OK)
        st = pp__plat_mtx_create(&g.mu);
    if (st == PP_OK)
        st = pp__plat_cond_create(&g.cv);
    if (st == PP_OK)
        st = listen_on(pool, pp__ld_le16(hdr), bound);
    return st;
}

int pp__manager_main(pp__plat_chan *chan)
{
    uint8_t ready[PP__MGR_READY_LEN], sink[64];
    pp__plat_thread *acceptor = NULL;
    apr_pool_t *pool = NULL;
    uint16_t port = 0;
    size_t got;
    pp_status st;

    st = apr_pool_create(&pool, NULL) == APR_SUCCESS ? PP_OK : PP_ENOMEM;
    if (st == PP_OK)
        st = setup(chan, pool, &port);
    if (st == PP_OK)
        st = pp__plat_thread_create(&acceptor, accept_thread, NULL);
    pp__st_le32(ready, (uint32_t)(int32_t)st);
    pp__st_le16(ready + 4, port);
    if (pp__plat_chan_write(chan, ready, sizeof ready) != PP_OK || st != PP_OK)
        return 1;
    /* Serve until the parent closes the channel or dies. */
    while (pp__plat_chan_read(chan, sink, sizeof sink, &got) == PP_OK)
        ;
    sodium_memzero(g.key, sizeof g.key);
    return 0;
}
