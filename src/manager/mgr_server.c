/*
 * mgr_server.c — the manager server: a listener (a Unix socket or TCP),
 * one thread per connection, requests handed to the table of hosted
 * objects (mgr_obj_table.c); and the role of a started manager
 * (PP__ROLE_MANAGER), one of the server's two front ends (the other: the
 * procpool-manager program, mgr_standalone.c).
 *
 * A connection owns what it holds and what it created: when it ends,
 * however it ends, the objects give back what it held (a lock's next
 * acquirer gets PP_EOWNERDEAD) and drop its waits, and the objects it
 * created are destroyed (pp__mgr_table_conn_end).
 *
 * A started server runs until its control channel ends (its parent
 * closed it or died); it then stops (pp__mgr_server_stop: the socket
 * file of a Unix socket goes) and exits without joining the threads of
 * connections that did not end in time: pp__plat_exit ends them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_network_io.h>
#include <apr_poll.h>
#include <apr_pools.h>
#include <sodium.h>

#include "procpool/log.h"
#include "procpool/manager.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "manager/manager.h"
#include "manager/mgr_addr.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"
#include "manager/mgr_server.h"

#define MAX_CONNS  256
#define ACCEPT_MS  1000  /* the acceptor reaps ended connections, sees a stop this often */
#define STOP_MS    3000  /* a started server's connections have this long to end */
#define KEEP_BYTES 65536 /* buffer room a connection keeps between requests */

typedef struct pp__mgr_conn conn;

static struct {
    pp__plat_mtx *mu;     /* the objects' table's mutex: also guards everything below */
    pp__plat_cond *ended; /* a connection ended */
    conn *conns;          /* running */
    conn *done;           /* ended, to be joined */
    size_t nconns;
    int stopping;
    uint8_t key[PP_MANAGER_KEY_MAX];
    size_t keylen;
    uint64_t instance; /* random, for this process's life (mgr_proto.h) */
    apr_pool_t *pool;
    apr_socket_t *listener;
    apr_pollset_t *pollset; /* the listener; woken by a stop */
    pp__plat_thread *acceptor;
} g;

/* ------------------------------------------------------------ requests */

/* One request, its reply (none for RELEASE_NR, CONFIRM_NR; reply: the connection's
 * buffer). PP_EPROTO: malformed (the connection ends). */
static pp_status serve_one(conn *c, const pp__mgr_frame *f, pp__buf *reply)
{
    uint8_t head[12] = {0};
    pp__mgr_req rq;
    pp__mctx cx;
    pp_status st;

    if (pp__mgr_parse_request(f, &rq) != PP_OK)
        return PP_EPROTO;
    pp__buf_reset(reply);
    if (pp__buf_put(reply, head, sizeof head) != PP_OK)
        return PP_ENOMEM;
    cx.conn = c;
    cx.rq = &rq;
    cx.value = 0;
    cx.data = reply;
    pp__plat_mtx_lock(g.mu);
    st = pp__mgr_table_request(&cx, &rq);
    pp__plat_mtx_unlock(g.mu);
    if (st == PP_EPROTO || st == PP_ECONNLOST) /* malformed; the peer is gone */
        return st;
    if (rq.type == PP__MGR_RELEASE_NR || rq.type == PP__MGR_CONFIRM_NR)
        return PP_OK; /* the client decided locally; nothing to say */
    if (st != PP_OK && st != PP_EOWNERDEAD)
        reply->len = sizeof head;           /* data only with a success */
    if (reply->len > PP__MGR_PAYLOAD_MAX) { /* a kind's bug: say it, never send it */
        reply->len = sizeof head;
        st = PP_ETOOBIG;
    }
    pp__st_le32(reply->data, (uint32_t)(int32_t)st);
    pp__st_le64(reply->data + 4, cx.value);
    return pp__mgr_send(&c->io, PP__MGR_REPLY, reply->data, reply->len);
}

static void conn_thread(void *arg)
{
    conn *c = arg;
    pp__mgr_frame f;
    pp__buf reply;
    pp_status st;

    pp__mgr_frame_init(&f);
    pp__buf_init(&reply);
    st = pp__mgr_handshake_server(&c->io, g.key, g.keylen, g.instance);
    if (st != PP_OK) {
        pp__log(PP_LOG_WARN, "manager: connection from %s rejected: %s (%s)", c->peer,
                pp_err_name(st), st == PP_EAUTH ? "wrong key" : pp_strerror(st));
    } else {
        pp__log(PP_LOG_INFO, "manager: client %s authenticated", c->peer);
        while ((st = pp__mgr_recv(&c->io, PP_INFINITE, &f)) == PP_OK &&
               (st = serve_one(c, &f, &reply)) == PP_OK) {
            if (f.heap_cap > KEEP_BYTES) /* a large item passed: do not keep its room */
                pp__mgr_frame_free(&f);
            if (reply.cap > KEEP_BYTES)
                pp__buf_free(&reply);
        }
        if (st == PP_EPROTO)
            pp__log(PP_LOG_WARN, "manager: malformed request from %s: connection closed", c->peer);
        else
            pp__log(PP_LOG_INFO, "manager: client %s disconnected", c->peer);
    }
    pp__mgr_frame_free(&f);
    pp__buf_free(&reply);
    pp__plat_mtx_lock(g.mu);
    apr_socket_close(c->sock); /* under g.mu: a stop shuts down only open sockets */
    c->sock = NULL;
    pp__mgr_table_conn_end(c);
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
    pp__plat_cond_broadcast(g.ended);
    pp__plat_mtx_unlock(g.mu);
}

static void conn_free(conn *c)
{
    if (c->pool != NULL)
        apr_pool_destroy(c->pool);
    pp__plat_cond_destroy(c->cv);
    free(c);
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
        conn_free(c);
    }
}

static void refuse(apr_pool_t *pool, apr_socket_t *sock, conn *c, const char *why)
{
    pp__log(PP_LOG_WARN, "manager: connection from %s refused: %s", c != NULL ? c->peer : "?", why);
    apr_socket_close(sock);
    if (c != NULL)
        conn_free(c); /* destroys pool */
    else
        apr_pool_destroy(pool);
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
    if (apr_socket_addr_get(&sa, APR_REMOTE, sock) == APR_SUCCESS && sa->family == APR_UNIX)
        snprintf(c->peer, sizeof c->peer, "local socket");
    else if (sa != NULL && apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS)
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)sa->port);
    else
        snprintf(c->peer, sizeof c->peer, "?");
    (void)apr_socket_opt_set(sock, APR_TCP_NODELAY, 1); /* fails on a unix socket: fine */
    if (pp__mgr_io_init(&c->io, sock) != PP_OK || pp__plat_cond_create(&c->cv) != PP_OK) {
        refuse(pool, sock, c, "out of memory");
        return;
    }
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

static int stopping(void)
{
    int s;

    pp__plat_mtx_lock(g.mu);
    s = g.stopping;
    pp__plat_mtx_unlock(g.mu);
    return s;
}

/* Wait up to ACCEPT_MS for a connection to accept, or a stop (which
 * wakes the pollset): APR's accept does not honour the socket's timeout
 * on POSIX (EAGAIN at once on the non-blocking listener), so a loop of
 * accepts alone would spin. */
static int connection_waiting(void)
{
    const apr_pollfd_t *out = NULL;
    apr_int32_t n = 0;

    return apr_pollset_poll(g.pollset, (apr_interval_time_t)ACCEPT_MS * 1000, &n, &out) ==
               APR_SUCCESS &&
           n > 0;
}

static void accept_thread(void *arg)
{
    (void)arg;
    while (!stopping()) {
        apr_pool_t *pool = NULL;
        apr_socket_t *sock = NULL;
        apr_status_t rv;

        reap_done();
        if (!connection_waiting())
            continue;
        if (apr_pool_create(&pool, NULL) != APR_SUCCESS) {
            pp__plat_sleep_ms(10);
            continue;
        }
        rv = apr_socket_accept(&sock, g.listener, pool);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(pool);
            if (!APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EAGAIN(rv) &&
                !APR_STATUS_IS_EINTR(rv) && !APR_STATUS_IS_ECONNABORTED(rv))
                pp__plat_sleep_ms(10); /* out of fds: do not spin */
            continue;
        }
        if (stopping()) {
            apr_socket_close(sock);
            apr_pool_destroy(pool);
            break;
        }
        start_conn(pool, sock);
    }
}

/* ---------------------------------------------------------- listening */

/* Is somebody accepting on the unix socket at sa? */
static int unix_socket_live(apr_sockaddr_t *sa)
{
    apr_socket_t *s = NULL;
    apr_pool_t *pool = NULL;
    int live = 1;

    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return 1;
    if (apr_socket_create(&s, APR_UNIX, SOCK_STREAM, 0, pool) == APR_SUCCESS) {
        (void)apr_socket_timeout_set(s, (apr_interval_time_t)2000 * 1000);
        live = apr_socket_connect(s, sa) == APR_SUCCESS;
        apr_socket_close(s);
    }
    apr_pool_destroy(pool);
    return live;
}

static apr_status_t bind_listen(apr_sockaddr_t *sa)
{
    apr_status_t rv;

    rv = apr_socket_create(&g.listener, sa->family, SOCK_STREAM,
                           sa->family == APR_UNIX ? 0 : APR_PROTO_TCP, g.pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_bind(g.listener, sa);
    if (rv != APR_SUCCESS && g.listener != NULL) {
        apr_socket_close(g.listener);
        g.listener = NULL;
    }
    return rv;
}

/* No SO_REUSEADDR: on Windows it would let another process bind the same
 * port and steal connections. (A fixed port may then be refused for a
 * while after a restart on POSIX: TIME_WAIT of closed connections.)
 * A unix socket file is made 0600 before it listens (its directory is
 * the first line of defence: a started manager's is 0700); a file left
 * by a dead server is replaced, a live server's is not. */
static pp_status listen_on(const pp__mgr_addr *a, char *bound)
{
    apr_sockaddr_t *sa = NULL;
    apr_status_t rv;
    pp_status st;

    st = pp__mgr_addr_resolve(a, g.pool, &sa);
    if (st != PP_OK)
        return st;
    rv = bind_listen(sa);
    if (a->is_unix && rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv) && !APR_STATUS_IS_EACCES(rv)) {
        apr_finfo_t fi;
        if (apr_stat(&fi, a->path, APR_FINFO_TYPE | APR_FINFO_LINK, g.pool) != APR_SUCCESS)
            return pp__from_apr(rv);
        if (fi.filetype != APR_SOCK)
            return PP_EEXIST; /* not a socket: never removed */
        if (unix_socket_live(sa))
            return PP_EEXIST;
        pp__log(PP_LOG_INFO, "manager: removing the stale socket %s", a->path);
        (void)apr_file_remove(a->path, g.pool);
        rv = bind_listen(sa);
    }
    if (rv != APR_SUCCESS)
        return pp__from_apr(rv);
    if (a->is_unix &&
        (rv = apr_file_perms_set(a->path, APR_FPROT_UREAD | APR_FPROT_UWRITE)) != APR_SUCCESS)
        return pp__from_apr(rv);
    rv = apr_socket_listen(g.listener, 64);
    if (rv == APR_SUCCESS)
        rv = apr_socket_addr_get(&sa, APR_LOCAL, g.listener);
    if (rv != APR_SUCCESS)
        return pp__from_apr(rv);
    pp__mgr_addr_format(a, a->is_unix ? 0 : (uint16_t)sa->port, bound);
    rv = apr_socket_timeout_set(g.listener, 0); /* non-blocking: accept after a poll */
    if (rv == APR_SUCCESS)
        rv = apr_pollset_create(&g.pollset, 1, g.pool, APR_POLLSET_WAKEABLE);
    if (rv == APR_SUCCESS) {
        apr_pollfd_t pfd;
        memset(&pfd, 0, sizeof pfd);
        pfd.p = g.pool;
        pfd.desc_type = APR_POLL_SOCKET;
        pfd.reqevents = APR_POLLIN;
        pfd.desc.s = g.listener;
        rv = apr_pollset_add(g.pollset, &pfd);
    }
    return rv == APR_SUCCESS ? PP_OK : pp__from_apr(rv);
}

pp_status pp__mgr_server_start(const char *address, const uint8_t *key, size_t keylen, char *bound)
{
    pp__mgr_addr a;
    pp_status st;

    if (keylen == 0 || keylen > sizeof g.key)
        return PP_EINVAL;
    st = pp__mgr_addr_parse(address, 1, &a);
    if (st != PP_OK)
        return st;
    memcpy(g.key, key, keylen);
    g.keylen = keylen;
    st = pp__mgr_crypto_init();
    if (st == PP_OK)
        st = apr_pool_create(&g.pool, NULL) == APR_SUCCESS ? PP_OK : PP_ENOMEM;
    if (st == PP_OK) {
        do
            randombytes_buf(&g.instance, sizeof g.instance);
        while (g.instance == 0);
        st = pp__mgr_table_init();
    }
    if (st == PP_OK) {
        g.mu = pp__mgr_table_mutex();
        st = pp__plat_cond_create(&g.ended);
    }
    if (st == PP_OK)
        st = listen_on(&a, bound);
    if (st == PP_OK)
        st = pp__plat_thread_create(&g.acceptor, accept_thread, NULL);
    return st;
}

void pp__mgr_server_stop(int64_t wait_ms)
{
    int64_t deadline = pp__plat_now_ms() + wait_ms;
    conn *c;

    if (g.mu == NULL)
        return;
    pp__plat_mtx_lock(g.mu);
    g.stopping = 1;
    pp__plat_mtx_unlock(g.mu);
    if (g.acceptor != NULL) {
        (void)apr_pollset_wakeup(g.pollset);
        pp__plat_thread_join(g.acceptor); /* at once, or within ACCEPT_MS */
        g.acceptor = NULL;
    }
    if (g.listener != NULL) {
        apr_socket_close(g.listener); /* APR unlinks a unix socket's file */
        g.listener = NULL;
    }
    pp__plat_mtx_lock(g.mu);
    for (c = g.conns; c != NULL; c = c->next) {
        if (c->sock != NULL)
            (void)apr_socket_shutdown(c->sock, APR_SHUTDOWN_READWRITE);
    }
    while (g.nconns > 0) {
        int64_t left = deadline - pp__plat_now_ms();
        if (left <= 0)
            break;
        (void)pp__plat_cond_wait(g.ended, g.mu, left);
    }
    pp__plat_mtx_unlock(g.mu);
    reap_done();
    sodium_memzero(g.key, sizeof g.key);
}

/* ------------------------------------------------------ a started one */

/* The start message: u16 address length, u16 key length, the address,
 * the key. */
static pp_status read_start(pp__plat_chan *chan, char *address, uint8_t *key, size_t *keylen)
{
    uint8_t hdr[PP__MGR_START_HDR];
    size_t alen;
    pp_status st;

    st = pp__mgr_chan_read_exact(chan, hdr, sizeof hdr);
    if (st != PP_OK)
        return st;
    alen = pp__ld_le16(hdr);
    *keylen = pp__ld_le16(hdr + 2);
    if (alen == 0 || alen >= PP_MANAGER_ADDR_MAX || *keylen == 0 || *keylen > PP_MANAGER_KEY_MAX)
        return PP_EPROTO;
    st = pp__mgr_chan_read_exact(chan, (uint8_t *)address, alen);
    address[alen] = '\0';
    if (st == PP_OK)
        st = pp__mgr_chan_read_exact(chan, key, *keylen);
    return st;
}

int pp__manager_main(pp__plat_chan *chan)
{
    uint8_t ready[PP__MGR_READY_HDR + PP_MANAGER_ADDR_MAX], sink[64], key[PP_MANAGER_KEY_MAX];
    char address[PP_MANAGER_ADDR_MAX], bound[PP_MANAGER_ADDR_MAX] = "";
    size_t got, keylen = 0, blen;
    pp_status st;

    st = read_start(chan, address, key, &keylen);
    if (st == PP_OK)
        st = pp__mgr_server_start(address, key, keylen, bound);
    sodium_memzero(key, sizeof key);
    blen = strlen(bound);
    pp__st_le32(ready, (uint32_t)(int32_t)st);
    pp__st_le16(ready + 4, (uint16_t)blen);
    memcpy(ready + PP__MGR_READY_HDR, bound, blen);
    if (pp__plat_chan_write(chan, ready, PP__MGR_READY_HDR + blen) != PP_OK || st != PP_OK) {
        pp__mgr_server_stop(0);
        return 1;
    }
    /* Serve until the parent closes the channel or dies. */
    while (pp__plat_chan_read(chan, sink, sizeof sink, &got) == PP_OK)
        ;
    pp__mgr_server_stop(STOP_MS);
    return 0;
}
