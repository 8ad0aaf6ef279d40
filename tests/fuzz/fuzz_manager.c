/*
 * fuzz_manager.c — libFuzzer target for the manager's frame decoders
 * (src/manager/mgr_proto.c): what any client can send to a manager
 * server before and after the handshake, and what a server can send back.
 *
 * The input is an 8-byte header and a payload. Inputs shorter than a
 * header are decoded as a request and a reply payload of every type, so
 * the payload decoders are reached without the magic. Beyond "no crash,
 * no out-of-bounds read" (ASan/UBSan), the contract is checked: a header
 * is accepted only with the magic, the version, zero flags and a length
 * within PP__MGR_PAYLOAD_MAX; an accepted request or reply has exactly
 * the length its type says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/mgr_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void decode_payload(uint8_t type, const uint8_t *p, size_t n)
{
    pp__mgr_frame f;
    uint64_t id, value;
    int64_t timeout;
    pp_status st;

    if (n > PP__MGR_PAYLOAD_MAX)
        return;
    f.type = type;
    f.len = n;
    memcpy(f.payload, p, n);
    if (pp__mgr_parse_request(&f, &id, &timeout) == PP_OK) {
        check(n == (type == PP__MGR_CREATE_LOCK ? 0u : type == PP__MGR_ACQUIRE ? 16u : 8u));
        check(type != PP__MGR_CREATE_LOCK || id == 0);
    }
    if (pp__mgr_parse_reply(&f, &st, &value) == PP_OK)
        check(type == PP__MGR_REPLY && n == 12 && st <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t type;
    size_t len;

    if (size < PP__MGR_HDR) {
        static const uint8_t types[] = {PP__MGR_CREATE_LOCK,
                                        PP__MGR_ACQUIRE,
                                        PP__MGR_TRY,
                                        PP__MGR_RELEASE,
                                        PP__MGR_RELEASE_NR,
                                        PP__MGR_DESTROY,
                                        PP__MGR_OPEN,
                                        PP__MGR_REPLY,
                                        0,
                                        255};
        size_t i;
        for (i = 0; i < sizeof types; i++)
            decode_payload(types[i], data, size);
        return 0;
    }
    if (pp__mgr_parse_hdr(data, &type, &len) != PP_OK)
        return 0;
    check(memcmp(data, "PPM", 3) == 0 && data[3] == PP__MGR_VERSION && data[5] == 0);
    check(len <= PP__MGR_PAYLOAD_MAX);
    if (len <= size - PP__MGR_HDR)
        decode_payload(type, data + PP__MGR_HDR, len);
    return 0;
}
