/*
 * mgr_addr.h — the manager's addresses: "tcp://HOST:PORT" and
 * "unix:///absolute/path", parsed and turned into APR socket addresses,
 * and the private local endpoint of a started manager (POSIX).
 *
 * The local endpoint is a Unix domain socket "sock" in a directory of its
 * own, "procpool-mgr-<pid>-<random>" (pid: the process that created it),
 * 0700, made with mkdtemp's care (a fresh random name, created
 * exclusively, retried on a clash) under $XDG_RUNTIME_DIR when set and
 * short enough, else APR's temporary directory ($TMPDIR, /tmp). The
 * socket file is 0600. Who removes it:
 *  - the server, when it stops (APR unlinks a bound Unix socket when it
 *    closes it); the program that started it removes the socket and the
 *    directory after it has reaped the server, however the server ended
 *    (a SIGKILLed server too);
 *  - if that program was killed as well (the server then dies with it:
 *    Linux parent-death signal), the next pp_manager_start() of any
 *    program of the same user sweeps the base directory: a
 *    "procpool-mgr-<pid>-*" directory of ours whose pid is gone is
 *    removed with its socket. The pid names the creator, not the
 *    server; a reused pid only delays the sweep.
 * Why a sweep and not the resource tracker (posix_tracker.c): the
 * tracker removes POSIX shm names of at most 30 characters in fixed
 * 32-byte records; a socket path is up to 107 bytes and a file to
 * unlink plus a directory to remove. A sweep at the next start needs no
 * extra process and no protocol change, and covers the case where the
 * tracker itself was killed with the program's process group.
 */
#ifndef PROCPOOL_MANAGER_MGR_ADDR_H
#define PROCPOOL_MANAGER_MGR_ADDR_H

#include <stdint.h>

#include <apr_network_io.h>
#include <apr_pools.h>

#include "procpool/error.h"
#include "procpool/manager.h"

typedef struct pp__mgr_addr {
    int is_unix;
    char host[PP_MANAGER_ADDR_MAX]; /* tcp: without the brackets of an IPv6 literal */
    int bracketed;                  /* tcp: host was "[...]" */
    uint16_t port;                  /* tcp */
    char path[PP_MANAGER_ADDR_MAX]; /* unix: absolute */
} pp__mgr_addr;

/* Parse an address. for_listen: port 0 allowed (an ephemeral port).
 * PP_EINVAL: malformed (no scheme, no port, port out of range, a relative
 * unix path, longer than PP_MANAGER_ADDR_MAX); PP_ETOOBIG: a unix path
 * longer than the OS allows for a socket; PP_ENOTSUP: a unix address
 * where the manager does not use Unix domain sockets (Windows). */
pp_status pp__mgr_addr_parse(const char *s, int for_listen, pp__mgr_addr *a);

/* The canonical string of a (with port instead of a->port if nonzero)
 * into out[PP_MANAGER_ADDR_MAX]. */
void pp__mgr_addr_format(const pp__mgr_addr *a, uint16_t port, char *out);

/* The APR socket address of a (host names resolved by APR; an IPv6
 * literal as such). PP_EINVAL if the host does not resolve. */
pp_status pp__mgr_addr_resolve(const pp__mgr_addr *a, apr_pool_t *pool, apr_sockaddr_t **sa);

/* Create a private local endpoint: out (PP_MANAGER_ADDR_MAX) gets
 * "unix:///DIR/sock" (the directory exists, the socket not yet); sweeps
 * stale ones first. PP_ENOTSUP where there are no Unix sockets (the
 * caller uses TCP loopback). */
pp_status pp__mgr_local_create(char *out);

/* Remove a local endpoint's socket file and directory (either may be
 * gone already). address: what pp__mgr_local_create gave. */
void pp__mgr_local_remove(const char *address);

#endif /* PROCPOOL_MANAGER_MGR_ADDR_H */
