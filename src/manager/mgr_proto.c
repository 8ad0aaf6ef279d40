/*
 * mgr_proto.c — frames, deadlines and the handshake of the manager's
 * protocol (mgr_proto.h says what travels).
 */
#include <string.h>

#include <apr_network_io.h>
#include <sodium.h>

#include "platform.h"
#include "manager/mgr_proto.h"
#include "wire/buf.h"

static const char g_label_client[] = "procpool-manager-v1 client proof";
static const char g_label_server[] = "procpool-manager-v1 server proof";

pp_status pp__mgr_crypto_init(void)
{
    return sodium_init() < 0 ? PP_ESYS : PP_OK;
}

/* Milliseconds left until deadline (PP_INFINITE: none) as an APR socket
 * timeout; 0 if it has passed. No deadline is an hour at a time, never
 * APR's blocking mode: switching a socket between the two costs system
 * calls on every request. */
static apr_interval_time_t time_left(int64_t deadline)
{
    int64_t left;

    if (deadline == PP_INFINITE)
        return (apr_interval_time_t)3600 * 1000000;
    left = deadline - pp__plat_now_ms();
    return left > 0 ? (apr_interval_time_t)left * 1000 : 0;
}

static int64_t deadline_of(int64_t timeout_ms)
{
    return timeout_ms == PP_INFINITE ? PP_INFINITE : pp__plat_now_ms() + timeout_ms;
}

static pp_status recv_exact(apr_socket_t *s, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        apr_interval_time_t t = time_left(deadline);
        apr_size_t got = n;
        apr_status_t rv;

        if (t == 0)
            return PP_ETIMEDOUT;
        apr_socket_timeout_set(s, t);
        rv = apr_socket_recv(s, (char *)p, &got);
        p += got;
        n -= got;
        if (rv == APR_SUCCESS || APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv) ||
            APR_STATUS_IS_EINTR(rv))
            continue; /* the deadline decides */
        return PP_ECONNLOST;
    }
    return PP_OK;
}

static pp_status send_exact(apr_socket_t *s, const uint8_t *p, size_t n, int64_t deadline)
{
    pp_status st = PP_OK;
    int sig = pp__plat_sigpipe_suspend();

    while (n > 0) {
        apr_interval_time_t t = time_left(deadline);
        apr_size_t put = n;
        apr_status_t rv;

        if (t == 0) {
            st = PP_ECONNLOST; /* the peer does not read: as good as gone */
            break;
        }
        apr_socket_timeout_set(s, t);
        rv = apr_socket_send(s, (const char *)p, &put);
        p += put;
        n -= put;
        if (rv == APR_SUCCESS || APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv) ||
            APR_STATUS_IS_EINTR(rv))
            continue;
        st = PP_ECONNLOST;
        break;
    }
    pp__plat_sigpipe_resume(sig);
    return st;
}

pp_status pp__mgr_send(apr_socket_t *s, uint8_t type, const void *payload, size_t len)
{
    uint8_t frame[PP__MGR_HDR + PP__MGR_PAYLOAD_MAX];

    if (len > PP__MGR_PAYLOAD_MAX)
        return PP_ETOOBIG;
    memcpy(frame, "PPM", 3);
    frame[3] = (uint8_t)PP__MGR_VERSION;
    frame[4] = type;
    frame[5] = 0;
    pp__st_le16(frame + 6, (uint16_t)len);
    if (len > 0)
        memcpy(frame + PP__MGR_HDR, payload, len);
    return send_exact(s, frame, PP__MGR_HDR + len, deadline_of(PP__MGR_GRACE_MS));
}

pp_status pp__mgr_recv(apr_socket_t *s, int64_t timeout_ms, pp__mgr_frame *f)
{
    int64_t deadline = deadline_of(timeout_ms);
    uint8_t hdr[PP__MGR_HDR];
    pp_status st;

    st = recv_exact(s, hdr, sizeof hdr, deadline);
    if (st == PP_OK)
        st = pp__mgr_parse_hdr(hdr, &f->type, &f->len);
    if (st != PP_OK)
        return st;
    return recv_exact(s, f->payload, f->len, deadline);
}

/* HMAC-SHA256(key, label | a | b) */
static void proof(uint8_t out[PP__MGR_MAC], const uint8_t *key, size_t keylen, const char *label,
                  const uint8_t *a, const uint8_t *b)
{
    crypto_auth_hmacsha256_state h;

    crypto_auth_hmacsha256_init(&h, key, keylen);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha256_update(&h, a, PP__MGR_NONCE);
    crypto_auth_hmacsha256_update(&h, b, PP__MGR_NONCE);
    crypto_auth_hmacsha256_final(&h, out);
    sodium_memzero(&h, sizeof h);
}

pp_status pp__mgr_handshake_server(apr_socket_t *s, const uint8_t *key, size_t keylen)
{
    int64_t deadline = pp__plat_now_ms() + PP__MGR_HANDSHAKE_MS;
    uint8_t ns[PP__MGR_NONCE], mac[PP__MGR_MAC];
    pp__mgr_frame f;
    pp_status st;

    randombytes_buf(ns, sizeof ns);
    st = pp__mgr_send(s, PP__MGR_CHALLENGE, ns, sizeof ns);
    if (st != PP_OK)
        return st;
    st = pp__mgr_recv(s, deadline - pp__plat_now_ms() > 0 ? deadline - pp__plat_now_ms() : 0, &f);
    if (st != PP_OK)
        return st;
    if (f.type != PP__MGR_PROOF || f.len != PP__MGR_NONCE + PP__MGR_MAC)
        return PP_EPROTO;
    proof(mac, key, keylen, g_label_client, ns, f.payload);
    if (sodium_memcmp(mac, f.payload + PP__MGR_NONCE, PP__MGR_MAC) != 0)
        return PP_EAUTH;
    proof(mac, key, keylen, g_label_server, f.payload, ns);
    return pp__mgr_send(s, PP__MGR_WELCOME, mac, sizeof mac);
}

pp_status pp__mgr_handshake_client(apr_socket_t *s, const uint8_t *key, size_t keylen)
{
    uint8_t msg[PP__MGR_NONCE + PP__MGR_MAC], ns[PP__MGR_NONCE], mac[PP__MGR_MAC];
    pp__mgr_frame f;
    pp_status st;

    st = pp__mgr_recv(s, PP__MGR_HANDSHAKE_MS, &f);
    if (st != PP_OK)
        return st == PP_ETIMEDOUT ? PP_ECONNLOST : st;
    if (f.type != PP__MGR_CHALLENGE || f.len != PP__MGR_NONCE)
        return PP_EPROTO;
    memcpy(ns, f.payload, sizeof ns);
    randombytes_buf(msg, PP__MGR_NONCE);
    proof(msg + PP__MGR_NONCE, key, keylen, g_label_client, ns, msg);
    st = pp__mgr_send(s, PP__MGR_PROOF, msg, sizeof msg);
    if (st != PP_OK)
        return st;
    st = pp__mgr_recv(s, PP__MGR_HANDSHAKE_MS, &f);
    if (st == PP_ECONNLOST)
        return PP_EAUTH; /* the server closes on a proof it rejects */
    if (st != PP_OK)
        return st == PP_ETIMEDOUT ? PP_ECONNLOST : st;
    if (f.type != PP__MGR_WELCOME || f.len != PP__MGR_MAC)
        return PP_EPROTO;
    proof(mac, key, keylen, g_label_server, msg, ns);
    return sodium_memcmp(mac, f.payload, PP__MGR_MAC) == 0 ? PP_OK : PP_EAUTH;
}

pp_status pp__mgr_parse_hdr(const uint8_t *p, uint8_t *type, size_t *len)
{
    if (memcmp(p, "PPM", 3) != 0 || p[3] != PP__MGR_VERSION || p[5] != 0)
        return PP_EPROTO;
    *type = p[4];
    *len = pp__ld_le16(p + 6);
    return *len <= PP__MGR_PAYLOAD_MAX ? PP_OK : PP_EPROTO;
}

pp_status pp__mgr_parse_request(const pp__mgr_frame *f, uint64_t *id, int64_t *timeout_ms)
{
    pp__rd r;

    *id = 0;
    *timeout_ms = 0;
    if (f->len > PP__MGR_PAYLOAD_MAX)
        return PP_EPROTO;
    pp__rd_init(&r, f->payload, f->len);
    switch (f->type) {
    case PP__MGR_CREATE_LOCK:
        break;
    case PP__MGR_ACQUIRE:
        if (pp__rd_u64(&r, id) != PP_OK || pp__rd_i64(&r, timeout_ms) != PP_OK)
            return PP_EPROTO;
        break;
    case PP__MGR_TRY:
    case PP__MGR_RELEASE:
    case PP__MGR_RELEASE_NR:
    case PP__MGR_DESTROY:
    case PP__MGR_OPEN:
        if (pp__rd_u64(&r, id) != PP_OK)
            return PP_EPROTO;
        break;
    default:
        return PP_EPROTO;
    }
    return pp__rd_end(&r);
}

static int status_valid(int32_t st);

pp_status pp__mgr_parse_reply(const pp__mgr_frame *f, pp_status *status, uint64_t *value)
{
    uint32_t s32 = 0;
    pp__rd r;

    if (f->type != PP__MGR_REPLY || f->len > PP__MGR_PAYLOAD_MAX)
        return PP_EPROTO;
    pp__rd_init(&r, f->payload, f->len);
    if (pp__rd_u32(&r, &s32) != PP_OK || pp__rd_u64(&r, value) != PP_OK ||
        pp__rd_end(&r) != PP_OK || !status_valid((int32_t)s32))
        return PP_EPROTO;
    *status = (pp_status)(int32_t)s32;
    return PP_OK;
}

/* A pp_status that may travel in a REPLY (else the reply is malformed). */
static int status_valid(int32_t st)
{
    switch (st) {
    case PP_OK:
    case PP_EOWNERDEAD:
    case PP_ETIMEDOUT:
    case PP_EDEADLK:
    case PP_EPERM:
    case PP_ENOENT:
    case PP_EINVAL:
    case PP_ETOOBIG:
    case PP_ENOMEM:
        return 1;
    default:
        return 0;
    }
}

pp_status pp__mgr_chan_read_exact(pp__plat_chan *chan, uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t got = 0;
        pp_status st = pp__plat_chan_read(chan, p, n, &got);
        if (st != PP_OK)
            return st;
        p += got;
        n -= got;
    }
    return PP_OK;
}
