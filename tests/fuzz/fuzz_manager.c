/*
 * fuzz_manager.c — libFuzzer target for the manager's frame decoders
 * (src/manager/mgr_proto.c): what any client can send to a manager
 * server before and after the handshake, and what a server can send back.
 *
 * The input is a 10-byte header and a payload. Inputs without a valid
 * header are decoded as a request and a reply payload of every type, so
 * the payload decoders are reached without the magic; every input is
 * also checked as a hosted item (pp__mgr_tuple_check()). Beyond "no
 * crash, no out-of-bounds read" (ASan/UBSan), the contract is checked: a
 * header is accepted only with the magic, the version, zero flags and a
 * length within PP__MGR_PAYLOAD_MAX; an accepted request has exactly the
 * length its type and its declared key and data lengths say, within
 * their limits; an accepted item is one well-formed tuple, nothing after.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"
#include "values/tuple.h"
#include "manager/mgr_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_request(uint8_t type, size_t n, const pp__mgr_req *rq)
{
    check(rq->type == type);
    switch (type) {
    case PP__MGR_CREATE_LOCK:
        check(n == 0 && rq->id == 0);
        break;
    case PP__MGR_ACQUIRE:
        check(n == 16);
        break;
    case PP__MGR_OBJ:
        check(rq->keylen <= PP__MGR_KEY_MAX && rq->datalen <= PP_MANAGER_ITEM_MAX);
        check(n == PP__MGR_OBJ_FIXED + rq->keylen + rq->datalen);
        check((rq->flags & ~PP__MGR_FLAG_GIVE_UP) == 0);
        break;
    default:
        check(n == 8);
        break;
    }
}

static void decode_payload(uint8_t type, const uint8_t *p, size_t n)
{
    const uint8_t *data = NULL;
    pp__mgr_frame f;
    pp__mgr_req rq;
    uint64_t value;
    size_t dlen = 0;
    pp_status st;

    if (n > PP__MGR_PAYLOAD_MAX)
        return;
    pp__mgr_frame_init(&f);
    f.type = type;
    f.len = n;
    if (n > PP__MGR_INLINE) {
        f.heap = malloc(n);
        if (f.heap == NULL)
            return;
        f.payload = f.heap;
    }
    if (n > 0)
        memcpy(f.payload, p, n);
    if (pp__mgr_parse_request(&f, &rq) == PP_OK)
        check_request(type, n, &rq);
    if (pp__mgr_parse_reply(&f, &st, &value, &data, &dlen) == PP_OK)
        check(type == PP__MGR_REPLY && n == 12 + dlen && st <= 0 && data == f.payload + 12);
    pp__mgr_frame_free(&f);
}

/* An item a queue or dict would accept is one tuple, consumed exactly. */
static void check_item(const uint8_t *p, size_t n)
{
    pp__rd r;

    if (pp__mgr_tuple_check(p, n) != PP_OK)
        return;
    pp__rd_init(&r, p, n);
    check(pp__values_skip(&r) == PP_OK && pp__rd_end(&r) == PP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t type;
    size_t len;

    check_item(data, size);
    if (size < PP__MGR_HDR || pp__mgr_parse_hdr(data, &type, &len) != PP_OK) {
        static const uint8_t types[] = {PP__MGR_CREATE_LOCK,
                                        PP__MGR_ACQUIRE,
                                        PP__MGR_TRY,
                                        PP__MGR_RELEASE,
                                        PP__MGR_RELEASE_NR,
                                        PP__MGR_CONFIRM_NR,
                                        PP__MGR_DESTROY,
                                        PP__MGR_OPEN,
                                        PP__MGR_OBJ,
                                        PP__MGR_REPLY,
                                        0,
                                        255};
        size_t i;
        for (i = 0; i < sizeof types; i++)
            decode_payload(types[i], data, size);
        return 0;
    }
    check(memcmp(data, "PPM", 3) == 0 && data[3] == PP__MGR_VERSION && data[5] == 0);
    check(len <= PP__MGR_PAYLOAD_MAX);
    if (len <= size - PP__MGR_HDR)
        decode_payload(type, data + PP__MGR_HDR, len);
    return 0;
}
