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
 * The layer that can reach such servers (manager/, above values/)
 * registers its resolver at pp_init(); below it, the value codec only
 * calls pp__remote_resolve().
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

/* Turn a locator into a process-lifetime handle (a pp_lock * for
 * PP__OBJ_LOCK / RLOCK, the pp_m* handle of manager_objects.h for the
 * other kinds), never closed by the caller. Errors are the resolver's
 * (PP_EAUTH: no key for that server; PP_ENOENT: no such object, or the
 * server was restarted; PP_ECONNLOST: the server cannot be reached);
 * PP_ENOTSUP if no resolver is registered. Thread-safe. */
typedef pp_status (*pp__remote_resolver)(const pp__locator *loc, void **out);
pp_status pp__remote_resolve(const pp__locator *loc, void **out);

/* Register the resolver of one backend (PP__LOC_*) (pp_init, before any
 * thread runs; NULL unsets). */
void pp__remote_set_resolver(uint8_t backend, pp__remote_resolver fn);

#endif /* PROCPOOL_SYNC_REMOTE_H */
