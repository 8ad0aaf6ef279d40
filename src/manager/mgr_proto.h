/*
 * mgr_proto.h — the manager's protocol: frames on a stream connection (TCP or a Unix socket), the
 * authentication handshake, socket reads and writes with deadlines.
 *
 * A frame is an 8-byte header and a payload of at most
 * PP__MGR_PAYLOAD_MAX bytes:
 *   offset size field
 *        0    3 magic   "PPM"
 *        3    1 version PP__MGR_VERSION
 *        4    1 type    PP__MGR_*
 *        5    1 flags   0 (anything else is malformed)
 *        6    2 length  payload bytes (LE), <= PP__MGR_PAYLOAD_MAX
 * Payloads are read with the bounds-checked reader of wire/buf.h and
 * must be consumed exactly; nothing in them is executed or used as a
 * pointer (objects are named by 64-bit ids the server checks).
 *
 * Handshake (before any request; both sides prove the key):
 *   server -> CHALLENGE: ns (32 random bytes)
 *   client -> PROOF:     nc (32 random bytes), HMAC(key, "C" label|ns|nc)
 *   server -> WELCOME:   HMAC(key, "S" label|nc|ns)
 * HMAC-SHA256 by libsodium, compared in constant time. The labels differ
 * so that neither proof can be reflected as the other; fresh nonces on
 * both sides so that no recorded exchange can be replayed.
 *
 * Requests (client -> server; each gets one REPLY, in order):
 *   CREATE_LOCK  (empty)                      value: the new lock's id
 *   ACQUIRE      id u64, timeout_ms i64       value: fencing token
 *   TRY          id u64                       value: fencing token
 *   RELEASE      id u64
 *   RELEASE_NR   id u64                       no REPLY at all (below)
 *   DESTROY      id u64                       (its creator only)
 *   OPEN         id u64                       (PP_OK if it exists)
 *   REPLY        status i32 (pp_status), value u64
 * RELEASE_NR is the release a client sends without waiting: the client
 * knows locally whether its handle holds the lock (PP_EPERM otherwise,
 * decided there), so the server's answer carries nothing; a release the
 * server cannot do (the lock was destroyed meanwhile) is ignored, and the
 * next request of that client finds out (PP_ENOENT).
 * The server waits at most PP__MGR_SLICE_MS in one ACQUIRE (a longer
 * wait is the client's loop of ACQUIREs), so a server that is gone or
 * stopped is noticed by a client within PP__MGR_SLICE_MS +
 * PP__MGR_GRACE_MS.
 */
#ifndef PROCPOOL_MANAGER_MGR_PROTO_H
#define PROCPOOL_MANAGER_MGR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <apr_network_io.h>

#include "procpool/error.h"
#include "platform.h"

#define PP__MGR_VERSION     1u
#define PP__MGR_HDR         8u
#define PP__MGR_PAYLOAD_MAX 256u
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
    PP__MGR_REPLY = 32
};

typedef struct pp__mgr_frame {
    uint8_t type;
    size_t len;
    uint8_t payload[PP__MGR_PAYLOAD_MAX];
} pp__mgr_frame;

/* One end of a connection: the APR socket (connect, accept, close) and
 * the frames' I/O on its OS socket (platform.h pp__plat_sock_*: no
 * signal-mask calls per send, a poll and one read per wait). Reads are
 * buffered: one read takes whatever has arrived, often a whole frame or
 * two (a client's RELEASE_NR and its next ACQUIRE). */
typedef struct pp__mgr_conn {
    apr_socket_t *sock;
    intptr_t os;         /* its OS socket */
    size_t rpos;         /* next unread byte of rbuf */
    size_t rlen;         /* bytes in rbuf */
    int64_t blocking_ms; /* > 0: a blocking socket, receive timeout this long */
    uint8_t rbuf[2 * (PP__MGR_HDR + PP__MGR_PAYLOAD_MAX)];
} pp__mgr_conn;

/* Wrap a connected APR socket (not owned). PP_ESYS if APR has no OS
 * socket for it. */
pp_status pp__mgr_conn_init(pp__mgr_conn *c, apr_socket_t *s);

/* A client's connection after its handshake: every later wait is for an
 * answer within PP__MGR_SLICE_MS + PP__MGR_GRACE_MS, so it can be one
 * blocking recv with that receive timeout (no poll first). A wait whose
 * deadline is nearer than that by up to PP__MGR_SLICE_MS may then last
 * up to the full timeout. Ignored (poll and read) where it fails. */
void pp__mgr_conn_blocking(pp__mgr_conn *c);

/* libsodium ready (idempotent, thread-safe). PP_ESYS if it cannot be. */
pp_status pp__mgr_crypto_init(void);

/* Send one frame (all of it, within PP__MGR_GRACE_MS). PP_ECONNLOST if
 * the peer is gone; never raises SIGPIPE. */
pp_status pp__mgr_send(pp__mgr_conn *c, uint8_t type, const void *payload, size_t len);

/* Receive one frame within timeout_ms (PP_INFINITE: no limit).
 * PP_ETIMEDOUT if it did not all arrive in time, PP_ECONNLOST on EOF or
 * a broken connection, PP_EPROTO for a malformed header. */
pp_status pp__mgr_recv(pp__mgr_conn *c, int64_t timeout_ms, pp__mgr_frame *f);

/* The handshake, each side. PP_EAUTH: the peer did not prove the key;
 * PP_EPROTO: not our protocol; PP_ECONNLOST / PP_ETIMEDOUT: as recv. */
pp_status pp__mgr_handshake_server(pp__mgr_conn *c, const uint8_t *key, size_t keylen);
pp_status pp__mgr_handshake_client(pp__mgr_conn *c, const uint8_t *key, size_t keylen);

/* The pure decoders (what the fuzzer runs: tests/fuzz/fuzz_manager.c).
 * Header: exactly PP__MGR_HDR bytes. Request: *id (0 for CREATE_LOCK)
 * and *timeout_ms (ACQUIRE; else 0); PP_EPROTO for an unknown type or a
 * payload of the wrong length. Reply: a REPLY frame whose status is one
 * a server may send. */
pp_status pp__mgr_parse_hdr(const uint8_t *p, uint8_t *type, size_t *len);
pp_status pp__mgr_parse_request(const pp__mgr_frame *f, uint64_t *id, int64_t *timeout_ms);
pp_status pp__mgr_parse_reply(const pp__mgr_frame *f, pp_status *status, uint64_t *value);

/* Read exactly n bytes from a channel (the start-up exchange between a
 * program and the manager it started): PP_OK, or the channel's error. */
pp_status pp__mgr_chan_read_exact(pp__plat_chan *chan, uint8_t *p, size_t n);

#endif /* PROCPOOL_MANAGER_MGR_PROTO_H */
