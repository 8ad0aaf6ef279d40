/**
 * @file manager.h
 * @brief Manager: a server process hosting objects (locks here; the
 *        other kinds in manager_objects.h) that other processes use through
 *        proxies.
 *
 * A manager is either started by the program as a child process
 * (pp_manager_start(), the same executable in a manager role, like a
 * spawned pool worker), run as a program of its own (the installed
 * procpool-manager; see its --help), and reached by address
 * (pp_manager_connect()). Addresses:
 *  - "unix:///PATH": a Unix domain socket (POSIX only). A started
 *    manager listens on one by default, in a private directory (0700,
 *    socket 0600) under $XDG_RUNTIME_DIR or the temporary directory;
 *    the socket and its directory are removed when the manager stops,
 *    also when it was killed (its starter removes them after reaping it;
 *    if the starter was killed too, the next pp_manager_start() of the
 *    same user removes them). PATH: at most 107 bytes on Linux, 103 on
 *    the BSDs and macOS.
 *  - "tcp://HOST:PORT": TCP. HOST an IPv4 literal, an IPv6 literal in
 *    brackets ("[::1]") or a host name (resolved; the first address that
 *    answers is used). Windows uses TCP loopback by default: APR 1.7
 *    offers no Unix domain sockets there, and access to a socket file
 *    would rest on ACLs rather than a private directory. A started
 *    manager listens on 127.0.0.1 unless asked otherwise
 *    (pp_manager_options.listen); never on every interface unless asked
 *    for "tcp://0.0.0.0:PORT" explicitly.
 *
 * Security model: every connection proves knowledge of the manager's key
 * with a mutual HMAC-SHA256 challenge-response (fresh 32-byte random
 * nonces on both sides, libsodium) before any request is served; a wrong
 * key gets the connection closed and an auth failure logged through the
 * log hook (log.h) of the manager process. Anybody who holds the key can
 * create, acquire, release and destroy any object of the manager; nothing
 * a client sends is ever executed or used as a pointer. The key of a
 * started manager is the program key (below) unless one is given in the
 * options, and reaches the manager process through its private spawn
 * channel (never argv, never the environment). Traffic is authenticated at
 * connection time only, not encrypted: use a Unix socket, loopback or a
 * trusted network.
 *
 * Keys in pool workers, like Python's inherited authkey: the program key
 * is 32 random bytes a program makes once (when it first starts a manager
 * without a key option or a pool worker), and every pool worker inherits
 * it in its start message — on every start method, replacement workers
 * too — never in task arguments, argv or the environment; a worker that
 * starts a pool or a manager of its own passes on the same key. The
 * managers with a key of their own (a key option, or reached by
 * pp_manager_connect()) are recorded as address and key in a per-process
 * keyring (at most 64 addresses, the oldest goes first) that travels the
 * same way, so workers started *after* the pp_manager_start() or
 * pp_manager_connect() know them. A worker looks the manager's address
 * up there and falls back to the program key. Keys are wiped from memory
 * when dropped (pp_manager_destroy() of a started manager with its own
 * key, pp_shutdown()).
 *
 * A pp_manager handle and its objects belong to the process that opened
 * them: a fork child (the fork start method, or the program's own fork)
 * that calls through inherited ones gets #PP_ESTATE (the connection is
 * the parent's). Pass the objects to tasks as arguments instead: a worker
 * opens its own connection.
 *
 * A pp_manager handle is one connection. Its calls are serialized: a
 * thread blocked in pp_lock_acquire() on one of its locks delays other
 * calls on the same handle. Use one handle (pp_manager_connect()) per
 * thread that needs to block independently.
 *
 * Manager locks (pp_manager_lock()) are pp_lock handles: pp_lock_acquire(),
 * pp_lock_try_acquire(), pp_lock_release(), pp_lock_destroy() and
 * pp_lock_fencing_token() work on them. Their holder is the connection
 * (the pp_manager handle), not the thread. Differences from a local lock:
 *  - a connection that closes while holding the lock (its process was
 *    killed, say) has it released by the server, and the next acquirer
 *    gets #PP_EOWNERDEAD;
 *  - every acquire gets a fencing token, strictly increasing across
 *    holders of that lock;
 *  - if the server dies or stops answering, every call fails with
 *    #PP_ECONNLOST within a bounded time (a few seconds), including a
 *    call blocked in acquire; the handle stays broken afterwards;
 *  - the holder is also the handle: pp_lock_release() through a handle
 *    that did not acquire the lock is #PP_EPERM, decided locally (a
 *    recursive lock's handle counts its acquires: one release each);
 *  - pp_lock_release() does not wait for the server's answer (it has
 *    nothing to say: whether the handle holds the lock is known
 *    locally), which halves the round trips of an acquire + release
 *    pair. The release takes effect at the server in order with this
 *    connection's later calls, but another connection's
 *    pp_lock_try_acquire() right after it returns may still find the
 *    lock held for a moment (an acquire with a timeout just waits). A
 *    server that died shows as #PP_ECONNLOST from the release or from
 *    the next call (the lock is free then anyway);
 *  - a lock waited for is handed to its waiters first come, first
 *    served (a Condition's waiter taking its lock back after a notify
 *    takes it when nobody else waits for it).
 *
 * Manager locks travel in task and initializer arguments like local locks
 * (pp_values_add_lock(), pp_values_pack() 'k'; the task gets a working
 * pp_lock from pp_values_get_lock() / pp_values_unpack() and uses it
 * unchanged), on every start method. What travels is a locator —
 * the manager's address, its server's random instance nonce and the
 * lock's id — never a pointer or a key. A worker opens one connection per
 * manager for its whole life, and one handle per lock (the same for every
 * task that gets it; never destroy it); the connection ends with the
 * worker, so a worker killed while holding the lock is reported to the
 * next acquirer as #PP_EOWNERDEAD (with a larger fencing token). A task
 * whose lock cannot be had there fails without running, with a message
 * naming the lock and the reason:
 *  - #PP_EAUTH: the worker has no key the manager accepts (a manager with
 *    its own key started or connected after the worker started: start it
 *    before the pool, or without a key option);
 *  - #PP_ENOENT: the lock was destroyed, or the manager at that address
 *    was restarted since (another instance);
 *  - #PP_ECONNLOST: the manager is gone or does not answer (bounded: a few
 *    seconds).
 * A lock that was already opened in a worker reports a server that is gone
 * from its calls instead (#PP_ECONNLOST). pp_lock_name() of a manager lock
 * is NULL (it has an id, pp_manager_lock_id(); the value codec does not
 * need a name). Another program can still be handed the address, the key
 * and the id, and call pp_manager_connect() and pp_manager_lock_open().
 * Every other hosted object (manager_objects.h) travels the same way, with
 * the typed pp_values_add_m*() / pp_values_get_m*() pairs there.
 *
 * Errors of pp_lock_* on a manager lock, besides those of lock.h:
 * #PP_ECONNLOST (the server is gone, did not answer within
 * about 6 s, or the handle broke before),
 * #PP_ENOENT (the lock was destroyed), #PP_EPROTO (a malformed reply;
 * the handle is broken). pp_lock_try_acquire() of a held lock is
 * #PP_EBUSY.
 */
#ifndef PROCPOOL_MANAGER_H
#define PROCPOOL_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque manager handle: one authenticated connection to a manager, and
 *  for a started manager also its process. */
typedef struct pp_manager pp_manager;

/** Length of the program key (a started manager's key by default), in
 *  bytes. */
#define PP_MANAGER_KEY_LEN 32
/** Longest key accepted, in bytes. */
#define PP_MANAGER_KEY_MAX 256
/** Most objects one connection may have created and not destroyed at
 *  once (a server hosts at most 65536 in all). */
#define PP_MANAGER_OBJECTS_MAX 4096
/** Longest address string, terminator included. */
#define PP_MANAGER_ADDR_MAX 128

/**
 * @brief Options of pp_manager_start(). Zero-initialize
 *        (`pp_manager_options o = {0};`) for the defaults; NULL options
 *        are the defaults too.
 */
typedef struct pp_manager_options {
    /** TCP port on 127.0.0.1 to listen on (shorthand for listen =
     *  "tcp://127.0.0.1:PORT"; listen wins if both are set); 0 (default):
     *  see listen. */
    uint16_t port;
    /** The key clients must prove; NULL (default): the program key, which
     *  every pool worker inherits (see the file comment). A key given here
     *  is copied to the process's keyring (so that pool workers started
     *  from now on know it) until pp_manager_destroy(). */
    const uint8_t *key;
    /** Length of key: 1..#PP_MANAGER_KEY_MAX when key is set. */
    size_t keylen;
    /** Where to listen. NULL (default, with port 0): the local endpoint
     *  of the platform: POSIX a Unix domain socket in a private
     *  directory ("unix:///DIR/sock"); Windows TCP loopback on an
     *  ephemeral port. "tcp://HOST:PORT" to be reachable over TCP:
     *  HOST an IPv4 or bracketed IPv6 literal or a name (127.0.0.1 for
     *  this machine only; "0.0.0.0" listens on every interface, only
     *  when asked for, and only wise on a trusted network), PORT 0 for
     *  an ephemeral one. "unix:///PATH" (POSIX) for a socket at a path
     *  of your choice. Not retained. */
    const char *listen;
} pp_manager_options;

/**
 * @brief Start a manager server as a child process and connect to it.
 *
 * The child is a fresh execution of the program's own image (pp_init()
 * in it runs the server and never returns to main()), so pp_init() must
 * have been given argc/argv. The child ends with pp_manager_destroy(), and
 * also when this process ends: killed at once where the OS offers it
 * (Linux parent-death signal, Windows job object), otherwise when it sees
 * its control channel close. On Linux the parent-death signal follows
 * the *thread* that called pp_manager_start(): call it from the main
 * thread or one that outlives the manager.
 *
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_manager_destroy().
 * @param opts NULL or options (see pp_manager_options).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out NULL, a key with keylen 0 or above
 *    #PP_MANAGER_KEY_MAX, or a malformed opts->listen.
 *  - #PP_ETOOBIG: a unix path in opts->listen longer than the system
 *    allows for a socket; #PP_ENOTSUP: a unix address on Windows.
 *  - #PP_EEXIST: opts->listen is a unix path where a live server listens
 *    or a file that is not a socket.
 *  - #PP_ENOTINIT: pp_init() has not been called.
 *  - #PP_ESPAWN: the server process could not be started (pp_init() had
 *    no argv, exec failed), or it died before it was listening.
 *  - #PP_EACCES, #PP_ESYS: the server could not listen there
 *    (#PP_EACCES: not allowed, a privileged port or a directory not
 *    ours; #PP_ESYS: a port in use, or another OS failure; the OS code
 *    stays in the server process).
 *  - #PP_ECONNLOST, #PP_EAUTH, #PP_EPROTO: see pp_manager_connect().
 *  - #PP_ENOMEM.
 */
PP_API pp_status pp_manager_start(pp_manager **out, const pp_manager_options *opts);

/**
 * @brief Connect to a running manager and authenticate.
 *
 * @param address "unix:///PATH" or "tcp://HOST:PORT" (see the file
 *        comment; as returned by pp_manager_address() or printed by
 *        procpool-manager).
 * @param key the manager's key, keylen bytes (1..#PP_MANAGER_KEY_MAX);
 *        copied with the address to the process's keyring, so that pool
 *        workers started from now on can use this manager's locks (see
 *        the file comment); kept there for the process's life (replaced
 *        by a later connect to the same address). NULL with keylen 0
 *        (Python's authkey=None): the key this process already knows for
 *        that address — a pool worker connecting to its program's manager
 *        (the program key, or the manager's own key it inherited); then
 *        #PP_EAUTH if it knows none.
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_manager_destroy() (which only disconnects).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL address or out, malformed address, a host name that
 *    does not resolve, bad keylen (a key with keylen 0, or keylen with a
 *    NULL key).
 *  - #PP_ETOOBIG: a unix path longer than the system allows;
 *    #PP_ENOTSUP: a unix address on Windows.
 *  - #PP_ENOTINIT: pp_init() has not been called.
 *  - #PP_ECONNLOST: nobody listens there, or the connection broke or did
 *    not answer within a few seconds during the handshake.
 *  - #PP_EAUTH: the server did not prove the key, or rejected ours (the
 *    server closes without telling why; a rejected key shows as
 *    #PP_EAUTH or #PP_ECONNLOST).
 *  - #PP_EPROTO: the peer does not speak this protocol (version).
 *  - #PP_ENOMEM, #PP_ESYS.
 */
PP_API pp_status pp_manager_connect(const char *address, const void *key, size_t keylen,
                                    pp_manager **out);

/**
 * @brief The address of the manager: "unix:///PATH" or
 *        "tcp://HOST:PORT" (the port the server really listens on).
 *
 * @return a string owned by mgr, valid until pp_manager_destroy(); NULL if
 *         mgr is NULL. Hand it and the key to other programs so they can
 *         pp_manager_connect().
 */
PP_API const char *pp_manager_address(const pp_manager *mgr);

/**
 * @brief Process id of a started manager's server, 0 for a connected one
 *        (or NULL). For monitoring and tests.
 */
PP_API uint64_t pp_manager_pid(const pp_manager *mgr);

/**
 * @brief Create a lock hosted by the manager.
 *
 * The lock exists in the server until pp_lock_destroy() on this handle or
 * until this connection closes (pp_manager_destroy(), or the process
 * ends); then calls through other handles to it (pp_manager_lock_open())
 * get #PP_ENOENT. Calls through handles of this connection are
 * serialized (see the file comment).
 *
 * @param[out] out receives a pp_lock owned by the caller (see the file
 *        comment for its semantics); free it with pp_lock_destroy()
 *        before pp_manager_destroy() of mgr. pp_lock_name() of it is NULL;
 *        it can be passed to pool tasks (see the file comment).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument.
 *  - #PP_ETOOBIG: this connection has #PP_MANAGER_OBJECTS_MAX objects
 *    already, or the server its maximum in all.
 *  - #PP_ECONNLOST: the server is gone or does not answer.
 *  - #PP_EPROTO: the server sent something malformed (connection closed).
 *  - #PP_ENOMEM.
 */
PP_API pp_status pp_manager_lock(pp_manager *mgr, pp_lock **out);

/**
 * @brief The id of a manager lock in its manager (with the manager's
 *        address, what another process needs to pp_manager_lock_open()
 *        it); 0 for a local lock or NULL.
 */
PP_API uint64_t pp_manager_lock_id(const pp_lock *lock);

/**
 * @brief Open a lock that the manager hosts, by its id, through this
 *        connection (another process's, say).
 *
 * @param[out] out receives a pp_lock owned by the caller; pp_lock_destroy()
 *        only frees this handle (the lock lives on until its creator
 *        destroys it or disconnects).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument or id 0.
 *  - #PP_ENOENT: the manager hosts no lock with this id (any more).
 *  - #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM: see pp_manager_lock().
 */
PP_API pp_status pp_manager_lock_open(pp_manager *mgr, uint64_t id, pp_lock **out);

/**
 * @brief Stop a started manager now: its process is asked to exit,
 *        waited for a bounded time, killed if it did not, and reaped.
 *
 * Every connection to it (from any process) then fails with
 * #PP_ECONNLOST. For a connected handle it only disconnects. A call in
 * progress on this handle in another thread (a blocked acquire) is let
 * finish first, which takes at most about 6 s. The handle must still be
 * freed with pp_manager_destroy(); its locks with pp_lock_destroy()
 * (calls through them then fail with #PP_ECONNLOST).
 *
 * @return #PP_OK, #PP_EINVAL if mgr is NULL, #PP_ESTATE in a fork child of
 *         the process that made mgr (it does not stop its parent's server;
 *         pp_manager_destroy() there frees nothing of the parent's).
 */
PP_API pp_status pp_manager_shutdown(pp_manager *mgr);

/**
 * @brief Disconnect, stop a started manager (pp_manager_shutdown()) and
 *        free the handle. NULL ok. Destroy the locks of this handle
 *        (pp_manager_lock(), pp_manager_lock_open()) and its other object
 *        handles (manager_objects.h) first: they point to it.
 */
PP_API void pp_manager_destroy(pp_manager *mgr);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_MANAGER_H */
