/*
 * mgr_server.h — inside the manager server: one server per process,
 * started and stopped by its two front ends, the started child's role
 * (pp__manager_main, mgr_server.c) and the standalone procpool-manager
 * program (mgr_standalone.c); the hosted locks (mgr_locks.c) are what
 * its connections' requests act on.
 */
#ifndef PROCPOOL_MANAGER_MGR_SERVER_H
#define PROCPOOL_MANAGER_MGR_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "platform.h"

/* Listen on address ("tcp://HOST:PORT", port 0: ephemeral; or
 * "unix:///path": socket file 0600, a stale socket there — nobody
 * accepts on it — is replaced) and serve clients that prove key, each
 * on a thread of its own, until pp__mgr_server_stop(). bound (size
 * PP_MANAGER_ADDR_MAX) gets the address listened on (the real port).
 * Errors: PP_EINVAL / PP_ETOOBIG / PP_ENOTSUP (address, see mgr_addr.h),
 * PP_EACCES, PP_EEXIST (a unix path in use by a live server, or another
 * file), PP_ESYS (port in use, ...), PP_ENOMEM. */
pp_status pp__mgr_server_start(const char *address, const uint8_t *key, size_t keylen, char *bound);

/* Stop: no new connections (a unix socket file is removed), every
 * connection is shut down (its client sees PP_ECONNLOST) and, within
 * about wait_ms, ended. The process should exit afterwards. */
void pp__mgr_server_stop(int64_t wait_ms);

/* ------------------------------------------------ hosted locks (mgr_locks.c) */

typedef struct pp__mgr_owner pp__mgr_owner;

/* A connection as the locks see it: the lock table's mutex is g_mu of
 * mgr_server.c, held by every call below; cv is the connection's own
 * condition variable (only its thread waits on it). */
struct pp__mgr_owner {
    pp__plat_cond *cv;
    size_t nobjects; /* created and not destroyed */
};

/* Set up / the mutex every call below must hold. */
pp_status pp__mgr_locks_init(void);
pp__plat_mtx *pp__mgr_locks_mutex(void);

/* One request of owner o: PP__MGR_* type, its id and timeout; *value
 * gets the id of a new lock or a fencing token. Returns the pp_status to
 * reply. */
pp_status pp__mgr_locks_request(pp__mgr_owner *o, uint8_t type, uint64_t id, int64_t timeout_ms,
                                uint64_t *value);

/* Owner o ended: what it holds is released (the next acquirer gets
 * PP_EOWNERDEAD), what it created is destroyed. */
void pp__mgr_locks_drop(pp__mgr_owner *o);

#endif /* PROCPOOL_MANAGER_MGR_SERVER_H */
