/*
 * remote.h — objects hosted by another process (a manager's lock, say)
 * as they travel in task arguments: a locator, never a pointer; and the
 * seam through which a process turns a locator back into a handle.
 *
 * A locator names one object of one server:
 *   u8 backend  PP__LOC_MANAGER or PP__LOC_REDIS
 *   u8 object   PP__OBJ_* (a Redis lock: PP__OBJ_LOCK only)
 *   u8 n + n bytes: the server's address (printable ASCII, no space,
 *               1..PP__LOC_ADDR_MAX - 1 bytes; "unix:///PATH",
 *               "tcp://HOST:PORT",
 *               "redis://host:port")
 * then, for PP__LOC_MANAGER:
 *   u64 instance: the server's random instance nonce (its WELCOME says
 *               it): a locator of a server that was restarted at the same
 *               address resolves to PP_ENOENT, never to an unrelated
 *               object that has the same id in the new server
 *   u64 id      the object's id in that server, never 0
 *   and for PP__OBJ_COND only, the condition's lock (same server):
 *   u8 lock_object  PP__OBJ_LOCK or PP__OBJ_RLOCK
 *   u64 lock_id     never 0
 * and for PP__LOC_REDIS:
 *   u8 n + n bytes: the lock's name (a valid procpool name; its keys
 *               carry the identity: a lock re-created under the name is
 *               the new one, as Redis has only one)
 * Decoding is bounds-checked and canonical: anything the encoder would
 * not produce is PP_EPROTO.
 *
 * The layer that can reach such servers (manager/, redis/, above
 * values/) registers its pp__remote_ops at pp_init() (below).
 */
#ifndef PROCPOOL_SYNC_REMOTE_H
#define PROCPOOL_SYNC_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "wire/buf.h"

#define PP__LOC_MANAGER  1u
#define PP__LOC_REDIS    2u
#define PP__LOC_BACKENDS 3u /* one past the last */
/* Object bytes: the manager's kind bytes (PP__MK_*, manager/mgr_obj.h);
 * they travel, never renumber. */
#define PP__OBJ_LOCK     1u
#define PP__OBJ_RLOCK    2u /* a manager's recursive lock */
#define PP__OBJ_SEM      3u
#define PP__OBJ_BSEM     4u /* bounded semaphore */
#define PP__OBJ_COND     5u /* carries its lock too */
#define PP__OBJ_EVENT    6u
#define PP__OBJ_BARRIER  7u
#define PP__OBJ_VALUE    8u
#define PP__OBJ_QUEUE    9u
#define PP__OBJ_DICT     10u
#define PP__OBJ_KINDS    11u  /* one past the last */
#define PP__LOC_ADDR_MAX 128u /* with the NUL: PP_MANAGER_ADDR_MAX (a u8 length: <= 256) */
/* A Redis lock's name, with the NUL (PP_NAME_MAX + 1). */
#define PP__LOC_NAME_MAX 31u
/* Longest text pp__locator_describe() writes, NUL included. */
#define PP__LOC_DESC_MAX 224u

typedef struct pp__locator {
    uint8_t backend;
    uint8_t object;
    char addr[PP__LOC_ADDR_MAX]; /* NUL-terminated */
    uint64_t instance;           /* PP__LOC_MANAGER */
    uint64_t id;                 /* PP__LOC_MANAGER */
    uint8_t lock_object;         /* PP__OBJ_COND: its lock's kind; else 0 */
    uint64_t lock_id;            /* PP__OBJ_COND: its lock's id; else 0 */
    char name[PP__LOC_NAME_MAX]; /* PP__LOC_REDIS: NUL-terminated */
} pp__locator;

/* PP_OK if loc is one the codec can carry (known kinds, a valid address,
 * id not 0, a condition's lock and nothing else's), else PP_EINVAL. */
pp_status pp__locator_check(const pp__locator *loc);

/* Bytes pp__locator_encode() appends for loc (a checked locator). */
size_t pp__locator_size(const pp__locator *loc);

pp_status pp__locator_encode(const pp__locator *loc, pp__buf *b);

/* PP_EPROTO (reader unmoved) for anything malformed. */
pp_status pp__locator_decode(pp__rd *r, pp__locator *loc);

/* "manager lock 7 at tcp://127.0.0.1:5000", "manager queue 9 at ..."
 * (error messages). */
void pp__locator_describe(const pp__locator *loc, char *buf, size_t cap);

/* How a backend reaches its servers (the layer that can: manager/,
 * redis/), registered at pp_init(). Below it, the value codec only calls
 * pp__remote_resolve(); remote_cache.c keeps, per process and for its
 * whole life, one connection per server (address and instance) and one
 * handle per object, so every task naming an object gets the same handle
 * and no request is made after the first. A forked child forgets what it
 * inherited (its parent's connections are the parent's: two processes on
 * one socket would interleave requests) and connects for itself. */
typedef struct pp__remote_ops {
    uint8_t backend;    /* PP__LOC_* */
    size_t max_servers; /* connections one process keeps: PP_ETOOBIG past */
    size_t max_objects; /* handles one process keeps: PP_ETOOBIG past */
    /* A new connection to addr; *instance: the server's instance nonce
     * (0 for a backend without one). */
    pp_status (*connect)(const char *addr, void **conn, uint64_t *instance);
    void (*disconnect)(void *conn);
    /* Open loc's object through conn: a pp_lock * for PP__OBJ_LOCK /
     * RLOCK, the kind's handle otherwise. May resolve another locator of
     * the same backend (a condition's lock) with
     * pp__remote_resolve_locked(). */
    pp_status (*open)(void *conn, const pp__locator *loc, void **h);
    void (*close)(const pp__locator *loc, void *h);
} pp__remote_ops;

/* Register a backend's ops (static storage; pp_init, before any thread
 * runs). PP_EINVAL for an unknown backend, PP_ENOMEM. */
pp_status pp__remote_register(const pp__remote_ops *ops);

/* Close every handle (newest first: a condition before its lock) and
 * connection of the backend, and unregister it. */
void pp__remote_unregister(uint8_t backend);

/* Turn a locator into a process-lifetime handle, never closed by the
 * caller. Errors are the backend's (PP_EAUTH: no key for that server;
 * PP_ENOENT: no such object, or the server was restarted: another
 * instance answers at the address; PP_ECONNLOST: unreachable),
 * PP_ETOOBIG (the limits above), PP_ENOTSUP if the backend is not
 * registered. Thread-safe. */
pp_status pp__remote_resolve(const pp__locator *loc, void **out);

/* The same, from a backend's open() (the cache's mutex is held). */
pp_status pp__remote_resolve_locked(const pp__locator *loc, void **out);

#endif /* PROCPOOL_SYNC_REMOTE_H */
