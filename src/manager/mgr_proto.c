/*
 * mgr_proto.c — frames, deadlines and the handshake of the manager's
 * protocol (mgr_proto.h says what travels).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_portable.h>
#include <sodium.h>

#include "platform.h"
#include "manager/mgr_proto.h"
#include "wire/buf.h"
#include "sync/remote.h"
#include "values/tuple.h"

static const char g_label_client[] = "procpool-manager-v1 client proof";
static const char g_label_server[] = "procpool-manager-v1 server proof";

pp_status pp__mgr_crypto_init(void)
{
    return sodium_init() < 0 ? PP_ESYS : PP_OK;
}

static int64_t deadline_of(int64_t timeout_ms)
{
    return timeout_ms == PP_INFINITE ? PP_INFINITE : pp__plat_deadline_ms(timeout_ms);
}

pp_status pp__mgr_io_init(pp__mgr_io *c, apr_socket_t *s)
{
    apr_os_sock_t os;

    c->sock = s;
    c->rpos = c->rlen = 0;
    c->blocking_ms = 0;
    if (apr_os_sock_get(&os, s) != APR_SUCCESS)
        return PP_ESYS;
    c->os = (intptr_t)os;
    return PP_OK;
}

void pp__mgr_io_blocking(pp__mgr_io *c)
{
    int64_t ms = PP__MGR_SLICE_MS + PP__MGR_GRACE_MS;

    if (pp__plat_sock_set_recv_timeout(c->os, ms) == PP_OK)
        c->blocking_ms = ms;
}

/* Read what has arrived (1..cap bytes) into p: one blocking recv where
 * the socket's receive timeout matches the deadline
 * (pp__mgr_io_blocking), else a poll and a read. */
static pp_status fill(pp__mgr_io *c, uint8_t *p, size_t cap, int64_t deadline, size_t *got)
{
    if (c->blocking_ms > 0 && deadline != PP_INFINITE &&
        deadline - pp__plat_now_ms() >= c->blocking_ms - PP__MGR_SLICE_MS)
        return pp__plat_sock_recv_blocking(c->os, p, cap, got);
    return pp__plat_sock_recv(c->os, p, cap, got, deadline);
}

/* Exactly n bytes: from the buffer, then from the socket (a read takes
 * what has arrived, up to the buffer's size; a rest at least as large as
 * the buffer is read in place). */
static pp_status recv_exact(pp__mgr_io *c, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        size_t have = c->rlen - c->rpos, take, got = 0;
        pp_status st;

        if (have == 0 && n >= sizeof c->rbuf) {
            st = fill(c, p, n, deadline, &got);
            if (st != PP_OK)
                return st;
            p += got;
            n -= got;
            continue;
        }
        if (have == 0) {
            c->rpos = c->rlen = 0;
            st = fill(c, c->rbuf, sizeof c->rbuf, deadline, &got);
            if (st != PP_OK)
                return st;
            c->rlen = got;
            continue;
        }
        take = have < n ? have : n;
        memcpy(p, c->rbuf + c->rpos, take);
        c->rpos += take;
        p += take;
        n -= take;
    }
    return PP_OK;
}

/* One send for header and payload. */
pp_status pp__mgr_send(pp__mgr_io *c, uint8_t type, const void *payload, size_t len)
{
    uint8_t small[PP__MGR_HDR + PP__MGR_INLINE];
    uint8_t *frame = small;
    pp_status st;

    if (len > PP__MGR_PAYLOAD_MAX)
        return PP_ETOOBIG;
    if (len > PP__MGR_INLINE) {
        frame = malloc(PP__MGR_HDR + len);
        if (frame == NULL)
            return PP_ENOMEM;
    }
    memcpy(frame, "PPM", 3);
    frame[3] = (uint8_t)PP__MGR_VERSION;
    frame[4] = type;
    frame[5] = 0;
    pp__st_le32(frame + 6, (uint32_t)len);
    if (len > 0)
        memcpy(frame + PP__MGR_HDR, payload, len);
    st = pp__plat_sock_send(c->os, frame, PP__MGR_HDR + len, deadline_of(PP__MGR_GRACE_MS));
    if (frame != small)
        free(frame);
    /* a peer that does not read within the grace is as good as gone */
    return st == PP_ETIMEDOUT ? PP_ECONNLOST : st;
}

void pp__mgr_frame_init(pp__mgr_frame *f)
{
    f->type = 0;
    f->len = 0;
    f->payload = f->inline_buf;
    f->heap = NULL;
    f->heap_cap = 0;
}

void pp__mgr_frame_free(pp__mgr_frame *f)
{
    free(f->heap);
    pp__mgr_frame_init(f);
}

/* Room for a payload of len bytes (len checked against the limit by the
 * header's parser before this). */
static pp_status frame_room(pp__mgr_frame *f, size_t len)
{
    if (len <= PP__MGR_INLINE) {
        f->payload = f->inline_buf;
        return PP_OK;
    }
    if (len > f->heap_cap) {
        uint8_t *p = realloc(f->heap, len);
        if (p == NULL)
            return PP_ENOMEM;
        f->heap = p;
        f->heap_cap = len;
    }
    f->payload = f->heap;
    return PP_OK;
}

pp_status pp__mgr_recv(pp__mgr_io *c, int64_t timeout_ms, pp__mgr_frame *f)
{
    int64_t deadline = deadline_of(timeout_ms);
    uint8_t hdr[PP__MGR_HDR];
    pp_status st;

    st = recv_exact(c, hdr, sizeof hdr, deadline);
    if (st == PP_OK)
        st = pp__mgr_parse_hdr(hdr, &f->type, &f->len);
    if (st == PP_OK)
        st = frame_room(f, f->len);
    if (st != PP_OK)
        return st;
    return recv_exact(c, f->payload, f->len, deadline);
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

pp_status pp__mgr_handshake_server(pp__mgr_io *s, const uint8_t *key, size_t keylen,
                                   uint64_t instance)
{
    uint8_t welcome[PP__MGR_MAC + 8];
    int64_t deadline = pp__plat_now_ms() + PP__MGR_HANDSHAKE_MS;
    uint8_t ns[PP__MGR_NONCE], mac[PP__MGR_MAC];
    pp__mgr_frame f;
    pp_status st;

    randombytes_buf(ns, sizeof ns);
    st = pp__mgr_send(s, PP__MGR_CHALLENGE, ns, sizeof ns);
    if (st != PP_OK)
        return st;
    pp__mgr_frame_init(&f);
    st = pp__mgr_recv(s, deadline - pp__plat_now_ms() > 0 ? deadline - pp__plat_now_ms() : 0, &f);
    if (st == PP_OK && (f.type != PP__MGR_PROOF || f.len != PP__MGR_NONCE + PP__MGR_MAC))
        st = PP_EPROTO;
    if (st == PP_OK) {
        proof(mac, key, keylen, g_label_client, ns, f.payload);
        if (sodium_memcmp(mac, f.payload + PP__MGR_NONCE, PP__MGR_MAC) != 0)
            st = PP_EAUTH;
    }
    if (st == PP_OK) {
        proof(welcome, key, keylen, g_label_server, f.payload, ns);
        pp__st_le64(welcome + PP__MGR_MAC, instance);
        st = pp__mgr_send(s, PP__MGR_WELCOME, welcome, sizeof welcome);
    }
    pp__mgr_frame_free(&f);
    return st;
}

static pp_status handshake_client(pp__mgr_io *s, const uint8_t *key, size_t keylen,
                                  pp__mgr_frame *f, uint64_t *instance)
{
    uint8_t msg[PP__MGR_NONCE + PP__MGR_MAC], ns[PP__MGR_NONCE], mac[PP__MGR_MAC];
    pp_status st;

    st = pp__mgr_recv(s, PP__MGR_HANDSHAKE_MS, f);
    if (st != PP_OK)
        return st == PP_ETIMEDOUT ? PP_ECONNLOST : st;
    if (f->type != PP__MGR_CHALLENGE || f->len != PP__MGR_NONCE)
        return PP_EPROTO;
    memcpy(ns, f->payload, sizeof ns);
    randombytes_buf(msg, PP__MGR_NONCE);
    proof(msg + PP__MGR_NONCE, key, keylen, g_label_client, ns, msg);
    st = pp__mgr_send(s, PP__MGR_PROOF, msg, sizeof msg);
    if (st != PP_OK)
        return st;
    st = pp__mgr_recv(s, PP__MGR_HANDSHAKE_MS, f);
    if (st == PP_ECONNLOST)
        return PP_EAUTH; /* the server closes on a proof it rejects */
    if (st != PP_OK)
        return st == PP_ETIMEDOUT ? PP_ECONNLOST : st;
    if (f->type != PP__MGR_WELCOME || f->len != PP__MGR_MAC + 8)
        return PP_EPROTO;
    proof(mac, key, keylen, g_label_server, msg, ns);
    if (sodium_memcmp(mac, f->payload, PP__MGR_MAC) != 0)
        return PP_EAUTH;
    *instance = pp__ld_le64(f->payload + PP__MGR_MAC);
    return PP_OK;
}

pp_status pp__mgr_handshake_client(pp__mgr_io *s, const uint8_t *key, size_t keylen,
                                   uint64_t *instance)
{
    pp__mgr_frame f;
    pp_status st;

    pp__mgr_frame_init(&f);
    st = handshake_client(s, key, keylen, &f, instance);
    pp__mgr_frame_free(&f);
    return st;
}

pp_status pp__mgr_parse_hdr(const uint8_t *p, uint8_t *type, size_t *len)
{
    if (memcmp(p, "PPM", 3) != 0 || p[3] != PP__MGR_VERSION || p[5] != 0)
        return PP_EPROTO;
    *type = p[4];
    *len = pp__ld_le32(p + 6);
    return *len <= PP__MGR_PAYLOAD_MAX ? PP_OK : PP_EPROTO;
}

static pp_status parse_obj(pp__rd *r, pp__mgr_req *rq)
{
    uint64_t ticket = 0;

    if (pp__rd_u64(r, &rq->id) != PP_OK || pp__rd_u8(r, &rq->kind) != PP_OK ||
        pp__rd_u8(r, &rq->op) != PP_OK || pp__rd_u8(r, &rq->flags) != PP_OK ||
        pp__rd_u64(r, &ticket) != PP_OK || pp__rd_i64(r, &rq->timeout_ms) != PP_OK ||
        pp__rd_i64(r, &rq->a) != PP_OK || pp__rd_i64(r, &rq->b) != PP_OK ||
        pp__rd_blob(r, PP__MGR_KEY_MAX, &rq->key, &rq->keylen) != PP_OK ||
        pp__rd_blob(r, PP_MANAGER_ITEM_MAX, &rq->data, &rq->datalen) != PP_OK)
        return PP_EPROTO;
    rq->ticket = ticket;
    return (rq->flags & ~PP__MGR_FLAG_GIVE_UP) == 0 ? PP_OK : PP_EPROTO;
}

pp_status pp__mgr_parse_request(const pp__mgr_frame *f, pp__mgr_req *rq)
{
    pp__rd r;

    memset(rq, 0, sizeof *rq);
    rq->type = f->type;
    if (f->len > PP__MGR_PAYLOAD_MAX)
        return PP_EPROTO;
    pp__rd_init(&r, f->payload, f->len);
    switch (f->type) {
    case PP__MGR_CREATE_LOCK:
        break;
    case PP__MGR_ACQUIRE:
        if (pp__rd_u64(&r, &rq->id) != PP_OK || pp__rd_i64(&r, &rq->timeout_ms) != PP_OK)
            return PP_EPROTO;
        break;
    case PP__MGR_TRY:
    case PP__MGR_RELEASE:
    case PP__MGR_RELEASE_NR:
    case PP__MGR_CONFIRM_NR:
    case PP__MGR_DESTROY:
    case PP__MGR_OPEN:
        if (pp__rd_u64(&r, &rq->id) != PP_OK)
            return PP_EPROTO;
        break;
    case PP__MGR_OBJ:
        if (parse_obj(&r, rq) != PP_OK)
            return PP_EPROTO;
        break;
    default:
        return PP_EPROTO;
    }
    return pp__rd_end(&r);
}

static int status_valid(int32_t st);

pp_status pp__mgr_parse_reply(const pp__mgr_frame *f, pp_status *status, uint64_t *value,
                              const uint8_t **data, size_t *datalen)
{
    uint32_t s32 = 0;
    pp__rd r;

    if (f->type != PP__MGR_REPLY || f->len > PP__MGR_PAYLOAD_MAX)
        return PP_EPROTO;
    pp__rd_init(&r, f->payload, f->len);
    if (pp__rd_u32(&r, &s32) != PP_OK || pp__rd_u64(&r, value) != PP_OK ||
        !status_valid((int32_t)s32))
        return PP_EPROTO;
    *datalen = pp__rd_left(&r);
    *data = f->payload + (f->len - *datalen);
    *status = (pp_status)(int32_t)s32;
    return PP_OK;
}

/* Tuple tags (values/tuple.h): what a hosted item may hold. */
pp_status pp__mgr_tuple_check(const uint8_t *p, size_t n)
{
    pp__rd r, walk;
    uint32_t count = 0, i;

    pp__rd_init(&r, p, n);
    if (pp__values_skip(&r) != PP_OK || pp__rd_end(&r) != PP_OK)
        return PP_EPROTO;
    /* Well formed: walk the tags (INT/DOUBLE 8 bytes, STR/BYTES a blob). */
    pp__rd_init(&walk, p, n);
    if (pp__rd_u32(&walk, &count) != PP_OK)
        return PP_EPROTO;
    for (i = 0; i < count; i++) {
        const uint8_t *q;
        size_t len;
        uint8_t tag = 0;
        uint64_t bits;

        if (pp__rd_u8(&walk, &tag) != PP_OK)
            return PP_EPROTO;
        if (tag == PP_TYPE_INT || tag == PP_TYPE_DOUBLE) {
            if (pp__rd_u64(&walk, &bits) != PP_OK)
                return PP_EPROTO;
        } else if (tag == PP_TYPE_STR || tag == PP_TYPE_BYTES) {
            if (pp__rd_blob(&walk, PP_VALUE_MAX_BYTES, &q, &len) != PP_OK)
                return PP_EPROTO;
        } else if (tag == PP__TAG_REMOTE) {
            /* a hosted lock or proxy: its locator (bounds-checked,
             * canonical), which the getter resolves with its own keys */
            pp__locator loc;
            if (pp__locator_decode(&walk, &loc) != PP_OK)
                return PP_EPROTO;
        } else {
            return PP_ENOTSUP; /* a lock or shm item by name: local to one machine */
        }
    }
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
    case PP_EBUSY:
    case PP_ESTATE:
    case PP_ETYPE:
    case PP_ERANGE:
    case PP_EBROKEN:
    case PP_ENOTREADY:
    case PP_ENOTSUP:
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
