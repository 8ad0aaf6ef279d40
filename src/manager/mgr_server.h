/*
 * mgr_server.h — inside the manager server: one server per process,
 * started and stopped by its two front ends, the started child's role
 * (pp__manager_main, mgr_server.c) and the standalone procpool-manager
 * program (mgr_standalone.c); the table of hosted objects
 * (mgr_obj_table.c, mgr_obj.h) is what its connections' requests act on.
 */
#ifndef PROCPOOL_MANAGER_MGR_SERVER_H
#define PROCPOOL_MANAGER_MGR_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <apr_network_io.h>
#include <apr_pools.h>

#include "procpool/error.h"
#include "platform.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

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

/* ------------------------------------- a connection, the objects' table */

/* A server connection: what the hosted objects know as their holders,
 * waiters and creators (mgr_obj.h names it for them), and its I/O. */
struct pp__mgr_conn {
    apr_pool_t *pool;
    apr_socket_t *sock; /* NULL once closed (under the table's mutex) */
    pp__mgr_io io;      /* frames on sock */
    pp__plat_cond *cv;  /* signalled when a lock is handed to it (only its thread waits) */
    pp__plat_thread *thread;
    size_t nobjects; /* created and not destroyed */
    char peer[80];
    struct pp__mgr_conn *next; /* the server's running or ended list */
};

/* The table of hosted objects (mgr_obj_table.c): set up once; its
 * mutex, which every call below and every kind's code runs under (the
 * server's connection lists share it). */
pp_status pp__mgr_table_init(void);
pp__plat_mtx *pp__mgr_table_mutex(void);

/* One request of c (mutex held): its reply's status; cx->value and
 * cx->data (the reply's) filled. PP_EPROTO: malformed (the connection
 * ends); PP_ECONNLOST: the peer is gone. */
pp_status pp__mgr_table_request(pp__mctx *cx, pp__mgr_req *rq);

/* Connection c ended (mutex held): what it holds is given back (a lock's
 * next acquirer gets PP_EOWNERDEAD), its waits dropped, what it created
 * destroyed. */
void pp__mgr_table_conn_end(pp__mgr_conn *c);

#endif /* PROCPOOL_MANAGER_MGR_SERVER_H */
