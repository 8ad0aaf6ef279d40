/**
 * @file redis.h
 * @brief Redis as a backend: locks whose exclusion lives in a Redis server
 *        (a lease), reachable from any machine that reaches the server.
 *
 * Needs Redis >= 6.0 (sub-second BLPOP timeouts). Not built with MSVC yet
 * (hiredis 1.x's headers leave struct timeval incomplete there).
 *
 * A pp_redis handle is one connection to a Redis server (plus one that
 * renews leases); its calls are serialized (a thread blocked in an
 * acquire on one of its locks delays other calls on the same handle for
 * at most about a second at a time). Use one handle per thread that must
 * block independently. Built only when hiredis was found (meson option
 * `redis`); otherwise every call here returns #PP_ENOTSUP.
 *
 * **Redis locks** (pp_redis_lock_create(), pp_redis_lock_open()) are
 * pp_lock handles: pp_lock_acquire(), pp_lock_try_acquire(),
 * pp_lock_release(), pp_lock_destroy() and pp_lock_fencing_token() work on
 * them. Semantics:
 *  - exclusion is a key set with NX and an expiry (the *lease*,
 *    pp_redis_options.lease_ms), renewed by this process every third of
 *    the lease while held; release is an atomic compare-and-delete, so a
 *    holder can only ever release its own hold;
 *  - a holder that dies (or loses its connection) stops renewing, the
 *    lease expires, and the next acquirer gets #PP_EOWNERDEAD: a "held"
 *    marker that only a clean release removes tells it;
 *  - every acquire gets a fencing token from a counter incremented in the
 *    same atomic script: strictly increasing across holders;
 *  - waiting does not poll busily: a release pushes a wake-up that one
 *    waiter receives (BLPOP); a lease that expires is noticed by a wait
 *    bounded by its remaining time;
 *  - the holder is the thread, as for every pp_lock (lock.h): threads
 *    sharing one lock handle exclude each other (a second thread waits,
 *    its try is #PP_EBUSY, its release #PP_EPERM; the holder's relock is
 *    #PP_EDEADLK);
 *  - if Redis is unreachable every call fails with #PP_ECONNLOST within
 *    about pp_redis_options.timeout_ms, never hangs; the call that meets
 *    a broken connection fails with #PP_ECONNLOST (whether it took effect
 *    is unknown: a hold it may have taken runs out with its lease), and
 *    the next call connects again (a restarted server, a network blip:
 *    the handle, a worker's for its life, is not useless for good).
 * **What this does not protect against** (the known critique of Redis
 * locks): a holder that is paused (GC, swap, a stopped VM) longer than its
 * lease loses the lock without noticing, and another process may then
 * hold it at the same time until the paused one resumes; it learns it at
 * release (#PP_EPERM). Redis replication is asynchronous: a failover can
 * lose a hold. Pass the fencing token to the resource you protect and have
 * it refuse tokens older than the newest it has seen: that is the
 * protection, not the lease.
 *
 * A pp_redis handle and its locks belong to the process that made them:
 * a child made by fork (the fork start method, or the program's own fork)
 * must not use the ones it inherited — their connection is the parent's,
 * and the thread that renews their leases exists only in the parent: its
 * calls on them fail with #PP_ESTATE. Pass the lock to the task as an
 * argument instead (below): the worker then connects by itself.
 *
 * Security: anybody who can reach the server with its credentials can
 * take, release (by deleting keys) or break any lock. Use a password or an
 * ACL user (options, or the environment: PROCPOOL_REDIS_USERNAME,
 * PROCPOOL_REDIS_PASSWORD — never argv), and a private network; TLS is the
 * operator's (a TLS-terminating proxy), hiredis here speaks plain TCP.
 *
 * A Redis lock travels in task and initializer arguments
 * (pp_values_add_lock(), 'k'): its locator — the server's address and the
 * lock's name — never a pointer or a password. A worker connects once per
 * server with its own credentials (PROCPOOL_REDIS_USERNAME /
 * PROCPOOL_REDIS_PASSWORD of the environment it inherited from the
 * program; the default lease and timeout) and keeps one handle per lock
 * for its life (never destroy it). A worker whose credentials are refused
 * fails the task with #PP_EAUTH, one that cannot reach the server with
 * #PP_ECONNLOST, a destroyed lock is #PP_ENOENT; each with a message
 * naming the lock. pp_lock_name() of a Redis lock is NULL.
 *
 * Keys used, for a lock named N: "pp:lock:N:exists" (created by
 * pp_redis_lock_create(), removed by the creator's pp_lock_destroy()),
 * ":owner" (the lease), ":held", ":fence", ":wake". A creator that dies
 * leaves them behind (the lock stays usable by openers; creating the
 * same name again is #PP_EEXIST).
 */
#ifndef PROCPOOL_REDIS_H
#define PROCPOOL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle: a connection to a Redis server. */
typedef struct pp_redis pp_redis;

/** Shortest lease accepted, ms. */
#define PP_REDIS_LEASE_MIN 100

/**
 * @brief Options of pp_redis_connect(). Zero-initialize for the defaults;
 *        NULL options are the defaults too.
 */
typedef struct pp_redis_options {
    /** ACL user name; NULL: the environment's PROCPOOL_REDIS_USERNAME, or
     *  the default user. */
    const char *username;
    /** Password; NULL: the environment's PROCPOOL_REDIS_PASSWORD, or the
     *  first line of the file named by PROCPOOL_REDIS_PASSWORD_FILE (POSIX:
     *  private to its owner, chmod 600), or none. */
    const char *password;
    /** Connect and reply deadline, ms; 0: 5000. A server that does not
     *  answer within it makes calls fail with #PP_ECONNLOST. */
    int64_t timeout_ms;
    /** Lease of this handle's locks, ms; 0: 10000; at least
     *  #PP_REDIS_LEASE_MIN. A dead holder is noticed after at most this. */
    int64_t lease_ms;
} pp_redis_options;

/**
 * @brief Connect to a Redis server and authenticate.
 *
 * @param address "redis://host:port" or "tcp://host:port" (a path after
 *        the port is ignored here). No credentials in it ("user:pw@" is
 *        #PP_EINVAL): the address travels in task arguments.
 * @param opts NULL or options.
 * @param[out] out the handle, owned by the caller (pp_redis_destroy()).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument, malformed address, timeout_ms < 0, a
 *    lease below #PP_REDIS_LEASE_MIN;
 *  - #PP_ECONNLOST: nobody answers there within the timeout;
 *  - #PP_EAUTH: the server refused the credentials, or wants some;
 *  - with PROCPOOL_REDIS_PASSWORD_FILE (each logged with the reason):
 *    #PP_EINVAL (PROCPOOL_REDIS_PASSWORD set too, an empty first line),
 *    #PP_EACCES (group or others may read it), #PP_ENOENT, #PP_ETOOBIG
 *    (above 512 bytes);
 *  - #PP_ENOTSUP: built without hiredis;
 *  - #PP_ENOTINIT, #PP_ENOMEM, #PP_ESYS.
 */
PP_API pp_status pp_redis_connect(const char *address, const pp_redis_options *opts,
                                  pp_redis **out);

/**
 * @brief Create the Redis lock named name (the caller owns the name:
 *        its pp_lock_destroy() removes the lock's keys).
 *
 * @param name as for pp_lock_create() (1..#PP_NAME_MAX characters of
 *        [A-Za-z0-9._-]).
 * @param[out] out a pp_lock owned by the caller (lock.h); destroy it before
 *        pp_redis_destroy() of r.
 *
 * Errors the caller must handle: #PP_EEXIST (a lock of that name exists),
 * #PP_EINVAL (NULL argument, bad name), #PP_ECONNLOST, #PP_ENOTSUP,
 * #PP_ENOMEM.
 */
PP_API pp_status pp_redis_lock_create(pp_redis *r, const char *name, pp_lock **out);

/**
 * @brief Open the existing Redis lock named name (its pp_lock_destroy()
 *        only frees this handle).
 *
 * Errors the caller must handle: #PP_ENOENT (no lock of that name),
 * #PP_EINVAL, #PP_ECONNLOST, #PP_ENOTSUP, #PP_ENOMEM. Later calls on a lock
 * whose creator destroyed it fail with #PP_ENOENT.
 */
PP_API pp_status pp_redis_lock_open(pp_redis *r, const char *name, pp_lock **out);

/**
 * @brief Disconnect and free the handle. NULL ok. Destroy its locks first
 *        (a lock still held then is not released: its lease expires and
 *        the next acquirer gets #PP_EOWNERDEAD).
 */
PP_API void pp_redis_destroy(pp_redis *r);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_REDIS_H */
