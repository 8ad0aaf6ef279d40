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
#include "procpool/manager_objects.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "sync/keyring.h"
#include "sync/lock_backend.h"
#include "manager/manager.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

#define CONNECT_MS 5000
#define STOP_MS    5000 /* a stopped server has this long to exit */

struct pp_manager {
    apr_pool_t *pool;
    apr_socket_t *sock;
    pp__plat_mtx *mu; /* one request at a time; sock, broken */
    int broken;
    char addr[PP_MANAGER_ADDR_MAX];
    uint64_t instance; /* the server's (its WELCOME): what locators carry */
    int own_key;       /* started with a key option: the keyring forgets it at destroy */
    /* a started manager only */
    pp__plat_launcher *launcher;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
};

/* ---------------------------------------------------------- requests */

pp_status pp__mgr_call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                       int64_t wait_ms, pp_status *status, uint64_t *value, pp__buf *data)
{
    const uint8_t *rdata = NULL;
    size_t rlen = 0;
    pp__mgr_frame f;
    pp_status st;

    *status = PP_OK;
    pp__mgr_frame_init(&f);
    pp__plat_mtx_lock(m->mu);
    if (m->broken || m->sock == NULL) {
        pp__plat_mtx_unlock(m->mu);
        return PP_ECONNLOST;
    }
    st = pp__mgr_send(m->sock, type, payload, len);
    if (st == PP_OK)
        st = pp__mgr_recv(m->sock, wait_ms + PP__MGR_GRACE_MS, &f);
    if (st == PP_OK)
        st = pp__mgr_parse_reply(&f, status, value, &rdata, &rlen);
    if (st == PP_OK && rlen > 0 && data == NULL)
        st = PP_EPROTO; /* data this request never has */
    if (st == PP_ETIMEDOUT)
        st = PP_ECONNLOST; /* the server did not answer in time */
    if (st != PP_OK)
        m->broken = 1;
    pp__plat_mtx_unlock(m->mu);
    if (st == PP_OK && rlen > 0)
        st = pp__buf_put(data, rdata, rlen);
    pp__mgr_frame_free(&f);
    return st;
}

/* One request without reply data. */
static pp_status call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                      int64_t wait_ms, pp_status *status, uint64_t *value)
{
    return pp__mgr_call(m, type, payload, len, wait_ms, status, value, NULL);
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
    pp_lock base;    /* first: a pp_lock */
    pp__mgr_ref ref; /* kind LOCK or RLOCK, manager, id, creator */
    uint64_t token;  /* of the last acquire */
} mgr_lock;

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
        pp__st_le64(p, l->ref.id);
        pp__st_le64(p + 8, (uint64_t)slice);
        st = call(l->ref.mgr, PP__MGR_ACQUIRE, p, sizeof p, slice, &answer, &value);
        if (st != PP_OK)
            return st;
        if (answer == PP_ETIMEDOUT &&
            (timeout_ms == PP_INFINITE || deadline - pp__plat_now_ms() > 0))
            continue;
        if (answer == PP_OK || answer == PP_EOWNERDEAD)
            l->token = value;
        return answer;
    }
}

static pp_status mgr_try_acquire(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    uint64_t value = 0;
    pp_status st = call_id(l->ref.mgr, PP__MGR_TRY, l->ref.id, 0, &value);

    if (st == PP_OK || st == PP_EOWNERDEAD)
        l->token = value;
    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

static pp_status mgr_release(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    uint64_t value;

    return call_id(l->ref.mgr, PP__MGR_RELEASE, l->ref.id, 0, &value);
}

static const char *mgr_name(const pp_lock *lock)
{
    (void)lock;
    return NULL; /* it has an id; it travels by locator (mgr_locator) */
}

static uint64_t mgr_token(const pp_lock *lock)
{
    return ((const mgr_lock *)lock)->token;
}

static void mgr_destroy(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;

    pp__mgr_obj_drop(&l->ref);
    free(l);
}

/* What travels in task arguments (sync/remote.h). */
static void mgr_locator(const pp_lock *lock, pp__locator *out)
{
    const mgr_lock *l = (const mgr_lock *)lock;

    memset(out, 0, sizeof *out);
    out->backend = PP__LOC_MANAGER;
    out->object = l->ref.kind == PP__MK_RLOCK ? PP__OBJ_RLOCK : PP__OBJ_LOCK;
    pp__strlcpy(out->addr, l->ref.mgr->addr, sizeof out->addr);
    out->instance = l->ref.mgr->instance;
    out->id = l->ref.id;
}

static const pp__lock_backend g_manager_lock = {"manager",   mgr_acquire, mgr_try_acquire,
                                                mgr_release, mgr_name,    mgr_token,
                                                mgr_destroy, mgr_locator};
/* The recursive lock: the same requests; the server counts the holds. */
static const pp__lock_backend g_manager_rlock = {"manager-rlock", mgr_acquire, mgr_try_acquire,
                                                 mgr_release,     mgr_name,    mgr_token,
                                                 mgr_destroy,     mgr_locator};

static pp_status lock_handle(const pp__mgr_ref *ref, pp_lock **out)
{
    mgr_lock *l = calloc(1, sizeof *l);

    if (l == NULL)
        return PP_ENOMEM;
    l->base.backend = ref->kind == PP__MK_RLOCK ? &g_manager_rlock : &g_manager_lock;
    l->ref = *ref;
    *out = &l->base;
    return PP_OK;
}

const pp__mgr_ref *pp__mgr_lock_ref(const pp_lock *lock)
{
    if (lock == NULL || (lock->backend != &g_manager_lock && lock->backend != &g_manager_rlock))
        return NULL;
    return &((const mgr_lock *)lock)->ref;
}

uint64_t pp_manager_lock_id(const pp_lock *lock)
{
    const pp__mgr_ref *ref = pp__mgr_lock_ref(lock);

    return ref != NULL ? ref->id : 0;
}

pp_status pp_manager_lock_open(pp_manager *mgr, uint64_t id, pp_lock **out)
{
    pp__mgr_ref ref = {PP__MK_LOCK, NULL, 0, 0};
    uint64_t value;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = call_id(mgr, PP__MGR_OPEN, id, 0, &value);
    ref.mgr = mgr;
    ref.id = id;
    return st != PP_OK ? st : lock_handle(&ref, out);
}

pp_status pp_manager_lock(pp_manager *mgr, pp_lock **out)
{
    pp__mgr_ref ref = {PP__MK_LOCK, NULL, 0, 1};
    pp_status st, answer;
    uint64_t id = 0;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = call(mgr, PP__MGR_CREATE_LOCK, NULL, 0, 0, &answer, &id);
    if (st != PP_OK)
        return st;
    if (answer != PP_OK)
        return answer;
    ref.mgr = mgr;
    ref.id = id;
    st = lock_handle(&ref, out);
    if (st != PP_OK)
        pp__mgr_obj_drop(&ref);
    return st;
}

pp_status pp_manager_rlock(pp_manager *mgr, pp_lock **out)
{
    pp__mgr_ref ref;
    pp_status st;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_create(mgr, PP__MK_RLOCK, 0, 0, &ref);
    if (st == PP_OK && (st = lock_handle(&ref, out)) != PP_OK)
        pp__mgr_obj_drop(&ref);
    return st;
}

pp_status pp_manager_rlock_open(pp_manager *mgr, uint64_t id, pp_lock **out)
{
    pp__mgr_ref ref;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = pp__mgr_obj_open(mgr, PP__MK_RLOCK, id, 0, &ref, NULL);
    return st != PP_OK ? st : lock_handle(&ref, out);
}

/* ------------------------------------------------------------ connect */

/* "tcp://HOST:PORT" -> host (in buf) and port. */
static pp_status parse_address(const char *address, char *host, size_t cap, uint16_t *port)
{
    const char *h, *colon;
    char *end;
    long v;

    if (strncmp(address, "tcp://", 6) != 0)
        return PP_EINVAL;
    h = address + 6;
    colon = strrchr(h, ':');
    if (colon == NULL || colon == h || (size_t)(colon - h) >= cap)
        return PP_EINVAL;
    if (colon[1] < '0' || colon[1] > '9')
        return PP_EINVAL;
    v = strtol(colon + 1, &end, 10);
    if (*end != '\0' || v < 1 || v > 65535)
        return PP_EINVAL;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    *port = (uint16_t)v;
    return PP_OK;
}

static pp_status open_socket(pp_manager *m, const char *host, uint16_t port)
{
    apr_sockaddr_t *sa = NULL;
    apr_status_t rv;

    rv = apr_sockaddr_info_get(&sa, host, APR_INET, port, 0, m->pool);
    if (rv != APR_SUCCESS)
        return PP_EINVAL;
    rv = apr_socket_create(&m->sock, APR_INET, SOCK_STREAM, APR_PROTO_TCP, m->pool);
    if (rv != APR_SUCCESS)
        return pp__from_apr(rv);
    (void)apr_socket_timeout_set(m->sock, (apr_interval_time_t)CONNECT_MS * 1000);
    rv = apr_socket_connect(m->sock, sa);
    if (rv != APR_SUCCESS) {
        apr_socket_close(m->sock);
        m->sock = NULL;
        return PP_ECONNLOST;
    }
    (void)apr_socket_opt_set(m->sock, APR_TCP_NODELAY, 1);
    return PP_OK;
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
    char host[40]; /* fits m->addr with "tcp://" and ":65535" */
    uint16_t port = 0;
    pp_status st;

    st = parse_address(address, host, sizeof host, &port);
    if (st != PP_OK)
        return st;
    snprintf(m->addr, sizeof m->addr, "tcp://%s:%u", host, (unsigned)port);
    st = pp__mgr_crypto_init();
    if (st == PP_OK)
        st = open_socket(m, host, port);
    if (st == PP_OK)
        st = pp__mgr_handshake_client(m->sock, key, keylen, &m->instance);
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
    pp_status st;

    if (address == NULL || key == NULL || out == NULL || keylen == 0 ||
        keylen > PP_MANAGER_KEY_MAX || strlen(address) >= PP_MANAGER_ADDR_MAX)
        return PP_EINVAL;
    *out = NULL;
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

/* The server process, given its key and port over its private channel;
 * *port: where it listens. */
static pp_status spawn_server(pp_manager *m, uint16_t want, const uint8_t *key, size_t keylen,
                              uint16_t *port)
{
    uint8_t start[PP__MGR_START_HDR + PP_MANAGER_KEY_MAX], ready[PP__MGR_READY_LEN];
    pp_status st;
    int32_t answer;

    st = pp__plat_launcher_create(PP__START_SPAWN, &m->launcher);
    if (st == PP_OK)
        st = pp__plat_launcher_set_role(m->launcher, PP__ROLE_MANAGER);
    if (st == PP_OK)
        st = pp__plat_launcher_start(m->launcher, &m->proc, &m->chan);
    if (st != PP_OK)
        return st;
    pp__st_le16(start, want);
    pp__st_le16(start + 2, (uint16_t)keylen);
    memcpy(start + PP__MGR_START_HDR, key, keylen);
    st = pp__plat_chan_write(m->chan, start, PP__MGR_START_HDR + keylen);
    sodium_memzero(start, sizeof start);
    if (st == PP_OK)
        st = pp__mgr_chan_read_exact(m->chan, ready, sizeof ready);
    if (st != PP_OK)
        return PP_ESPAWN; /* it died before it was listening */
    answer = (int32_t)pp__ld_le32(ready);
    *port = pp__ld_le16(ready + 4);
    if (answer != PP_OK)
        return answer < 0 && answer > -100 ? (pp_status)answer : PP_ESPAWN;
    return PP_OK;
}

pp_status pp_manager_start(pp_manager **out, const pp_manager_options *opts)
{
    uint8_t key[PP__PROGRAM_KEY_LEN];
    const uint8_t *k = key;
    size_t keylen = sizeof key;
    char address[PP_MANAGER_ADDR_MAX];
    uint16_t port = 0;
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
    st = spawn_server(m, opts != NULL ? opts->port : 0, k, keylen, &port);
    if (st == PP_OK) {
        snprintf(address, sizeof address, "tcp://127.0.0.1:%u", (unsigned)port);
        st = connect_to(m, address, k, keylen);
    }
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
}

pp_status pp_manager_shutdown(pp_manager *mgr)
{
    if (mgr == NULL)
        return PP_EINVAL;
    if (mgr->own_key && mgr->proc != NULL)
        pp__keyring_forget(mgr->addr); /* the server goes */
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
