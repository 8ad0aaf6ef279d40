/*
 * mgr_proto.h — the manager's protocol: frames on a stream connection
 * (TCP or a Unix socket), the authentication handshake, buffered socket
 * reads and writes with deadlines.
 *
 * A frame is a 10-byte header and a payload of at most
 * PP__MGR_PAYLOAD_MAX bytes (a hosted object's item and a little more):
 *   offset size field
 *        0    3 magic   "PPM"
 *        3    1 version PP__MGR_VERSION
 *        4    1 type    PP__MGR_*
 *        5    1 flags   0 (anything else is malformed)
 *        6    4 length  payload bytes (LE), <= PP__MGR_PAYLOAD_MAX
 * A payload beyond PP__MGR_INLINE bytes is read into a heap buffer of
 * the frame (pp__mgr_frame_free()); the length is checked before any
 * allocation.
 * Payloads are read with the bounds-checked reader of wire/buf.h and
 * must be consumed exactly; nothing in them is executed or used as a
 * pointer (objects are named by 64-bit ids the server checks).
 *
 * Handshake (before any request; both sides prove the key):
 *   server -> CHALLENGE: ns (32 random bytes)
 *   client -> PROOF:     nc (32 random bytes), HMAC(key, "C" label|ns|nc)
 *   server -> WELCOME:   HMAC(key, "S" label|nc|ns), u64 instance
 * HMAC-SHA256 by libsodium, compared in constant time. The labels differ
 * so that neither proof can be reflected as the other; fresh nonces on
 * both sides so that no recorded exchange can be replayed. instance is
 * the server's random nonce, fixed for its life: a lock's locator
 * (sync/remote.h) carries it, so a locator of a server restarted at the
 * same address is told apart (PP_ENOENT).
 *
 * Requests (client -> server; each gets one REPLY, in order):
 *   CREATE_LOCK  (empty)                      value: the new lock's id
 *   ACQUIRE      id u64, timeout_ms i64       value: fencing token
 *   TRY          id u64                       value: fencing token
 *   RELEASE      id u64
 *   RELEASE_NR   id u64                       no REPLY at all (below)
 *   CONFIRM_NR   id u64 (a condition's)       no REPLY at all (below)
 *   DESTROY      id u64                       (its creator only)
 *   OPEN         id u64                       (PP_OK if it is a lock)
 *   OBJ          id u64, kind u8, op u8, flags u8, ticket u64,
 *                timeout_ms i64, a i64, b i64,
 *                key: u32 n + n bytes (n <= PP__MGR_KEY_MAX),
 *                data: u32 n + n bytes (n <= PP_MANAGER_ITEM_MAX)
 *                a request to a hosted object of any kind (mgr_obj.h
 *                says the kinds, their ops and what a, b, key, data and
 *                the reply's value and data mean for each)
 *   REPLY        status i32 (pp_status), value u64, then data: the rest
 *                of the payload (empty for every request but OBJ)
 * RELEASE_NR is the release of a lock or recursive lock that a client
 * sends without waiting: the client knows locally whether its handle
 * holds the lock (and how many times, for a recursive one; PP_EPERM
 * otherwise, decided there), so the server's answer would carry nothing;
 * a release the server cannot do (the lock was destroyed meanwhile) is
 * ignored, and the next request of that client finds out (PP_ENOENT).
 * CONFIRM_NR is what a client sends on reading the reply that ends its
 * wait on a condition with the lock taken back (PP_OK, PP_EOWNERDEAD,
 * PP_ETIMEDOUT): until it comes, the server counts that waiter as not
 * woken yet, so if its connection ends first (it was killed before it
 * read the reply: it never ran under the lock) the notify it was handed
 * passes to the next waiter and the lock is freed as if it had never been
 * taken. At most one such wait per connection and condition is
 * unconfirmed (it holds the lock), so the id says which.
 * The server waits at most PP__MGR_SLICE_MS in one ACQUIRE (a longer
 * wait is the client's loop of ACQUIREs), so a server that is gone or
 * stopped is noticed by a client within PP__MGR_SLICE_MS +
 * PP__MGR_GRACE_MS. An OBJ wait that must stay registered in the server
 * between two slices (a condition or barrier waiter, an event waiter)
 * answers PP_ENOTREADY with a ticket in value; the client's next request
 * carries the ticket (and PP__MGR_FLAG_GIVE_UP once its own deadline has
 * passed), so no notify falls between two slices.
 */
#ifndef PROCPOOL_MANAGER_MGR_PROTO_H
#define PROCPOOL_MANAGER_MGR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <apr_network_io.h>

#include "procpool/error.h"
#include "procpool/manager_objects.h"
#include "platform.h"

#define PP__MGR_VERSION 2u
#define PP__MGR_HDR     10u
/* Longest dict key (bytes, no NUL); the fixed part of an OBJ request. */
#define PP__MGR_KEY_MAX     PP_MANAGER_DICT_KEY_MAX
#define PP__MGR_OBJ_FIXED   51u
#define PP__MGR_PAYLOAD_MAX (PP_MANAGER_ITEM_MAX + PP__MGR_OBJ_FIXED + PP__MGR_KEY_MAX)
#define PP__MGR_INLINE      256u /* payloads up to this size need no heap */
#define PP__MGR_NONCE       32u
#define PP__MGR_MAC         32u

/* Longest wait of one ACQUIRE in the server; the reply grace on top. */
#define PP__MGR_SLICE_MS     1000
#define PP__MGR_GRACE_MS     5000
#define PP__MGR_HANDSHAKE_MS 5000

enum {
    PP__MGR_CHALLENGE = 1,
    PP__MGR_PROOF = 2,
    PP__MGR_WELCOME = 3,
    PP__MGR_CREATE_LOCK = 16,
    PP__MGR_ACQUIRE = 17,
    PP__MGR_TRY = 18,
    PP__MGR_RELEASE = 19,
    PP__MGR_DESTROY = 20,
    PP__MGR_OPEN = 21,
    PP__MGR_RELEASE_NR = 22,
    PP__MGR_CONFIRM_NR = 23,
    PP__MGR_OBJ = 24,
    PP__MGR_REPLY = 32
};

/* OBJ flags */
#define PP__MGR_FLAG_GIVE_UP 1u /* the client's deadline passed: finish */

/* A received frame. payload points into inline_buf or heap (owned). */
typedef struct pp__mgr_frame {
    uint8_t type;
    size_t len;
    uint8_t *payload;
    uint8_t *heap;
    size_t heap_cap;
    uint8_t inline_buf[PP__MGR_INLINE];
} pp__mgr_frame;

/* One end of a connection: the APR socket (connect, accept, close) and
 * the frames' I/O on its OS socket (platform.h pp__plat_sock_*: no
 * signal-mask calls per send, a poll and one read per wait). Reads are
 * buffered: one read takes whatever has arrived, often a whole small
 * frame or two (a client's RELEASE_NR and its next ACQUIRE); a payload
 * larger than the buffer is read into its frame directly. (The server's
 * connection, struct pp__mgr_conn of mgr_server.h, has one of these.) */
#define PP__MGR_RBUF 4096u
typedef struct pp__mgr_io {
    apr_socket_t *sock;
    intptr_t os;         /* its OS socket */
    size_t rpos;         /* next unread byte of rbuf */
    size_t rlen;         /* bytes in rbuf */
    int64_t blocking_ms; /* > 0: a blocking socket, receive timeout this long */
    uint8_t rbuf[PP__MGR_RBUF];
} pp__mgr_io;

/* Wrap a connected APR socket (not owned). PP_ESYS if APR has no OS
 * socket for it. */
pp_status pp__mgr_io_init(pp__mgr_io *c, apr_socket_t *s);

/* A client's connection after its handshake: every later wait is for an
 * answer within PP__MGR_SLICE_MS + PP__MGR_GRACE_MS, so it can be one
 * blocking recv with that receive timeout (no poll first). A wait whose
 * deadline is nearer than that by up to PP__MGR_SLICE_MS may then last
 * up to the full timeout. Ignored (poll and read) where it fails. */
void pp__mgr_io_blocking(pp__mgr_io *c);

/* A decoded request (every type; fields a type lacks are 0). key and
 * data point into the frame. */
typedef struct pp__mgr_req {
    uint8_t type;
    uint8_t kind; /* OBJ only */
    uint8_t op;
    uint8_t flags;
    uint64_t id;
    uint64_t ticket;
    int64_t timeout_ms;
    int64_t a, b;
    const uint8_t *key;
    size_t keylen;
    const uint8_t *data;
    size_t datalen;
} pp__mgr_req;

/* A frame ready to receive into (payload: its inline buffer); free it
 * with pp__mgr_frame_free() (idempotent). */
void pp__mgr_frame_init(pp__mgr_frame *f);
void pp__mgr_frame_free(pp__mgr_frame *f);

/* libsodium ready (idempotent, thread-safe). PP_ESYS if it cannot be. */
pp_status pp__mgr_crypto_init(void);

/* Send one frame (all of it, within PP__MGR_GRACE_MS). PP_ECONNLOST if
 * the peer is gone; never raises SIGPIPE. */
pp_status pp__mgr_send(pp__mgr_io *c, uint8_t type, const void *payload, size_t len);

/* Receive one frame within timeout_ms (PP_INFINITE: no limit) into an
 * initialized frame (pp__mgr_frame_init(); reusable across calls).
 * PP_ETIMEDOUT if it did not all arrive in time, PP_ECONNLOST on EOF or
 * a broken connection, PP_EPROTO for a malformed header, PP_ENOMEM. */
pp_status pp__mgr_recv(pp__mgr_io *c, int64_t timeout_ms, pp__mgr_frame *f);

/* The handshake, each side. PP_EAUTH: the peer did not prove the key;
 * PP_EPROTO: not our protocol; PP_ECONNLOST / PP_ETIMEDOUT: as recv.
 * The server says its instance nonce; the client learns it. */
pp_status pp__mgr_handshake_server(pp__mgr_io *c, const uint8_t *key, size_t keylen,
                                   uint64_t instance);
pp_status pp__mgr_handshake_client(pp__mgr_io *c, const uint8_t *key, size_t keylen,
                                   uint64_t *instance);

/* The pure decoders (what the fuzzer runs: tests/fuzz/fuzz_manager.c).
 * Header: exactly PP__MGR_HDR bytes. Request: *rq filled (id 0 for
 * CREATE_LOCK, timeout_ms for ACQUIRE and OBJ, the rest for OBJ only);
 * PP_EPROTO for an unknown type or a payload of the wrong length or
 * with trailing bytes. Reply: a REPLY frame whose status is one a
 * server may send; *data (into the frame) and *datalen: what follows. */
pp_status pp__mgr_parse_hdr(const uint8_t *p, uint8_t *type, size_t *len);
pp_status pp__mgr_parse_request(const pp__mgr_frame *f, pp__mgr_req *rq);
pp_status pp__mgr_parse_reply(const pp__mgr_frame *f, pp_status *status, uint64_t *value,
                              const uint8_t **data, size_t *datalen);

/* An encoded value tuple (values/tuple.h) that a hosted queue or dict
 * accepts: well formed, consumed exactly, no lock or shm item (they
 * cannot be hosted yet). PP_OK, PP_ENOTSUP (a lock or shm item) or
 * PP_EPROTO. Pure: no allocation, nothing attached. */
pp_status pp__mgr_tuple_check(const uint8_t *p, size_t n);

/* Read exactly n bytes from a channel (the start-up exchange between a
 * program and the manager it started): PP_OK, or the channel's error. */
pp_status pp__mgr_chan_read_exact(pp__plat_chan *chan, uint8_t *p, size_t n);

#endif /* PROCPOOL_MANAGER_MGR_PROTO_H */
