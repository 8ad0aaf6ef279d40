/*
 * pp_test_mgr.c — raw manager protocol from the test side (pp_test_mgr.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pp_test.h"
#include "pp_test_mgr.h"

apr_socket_t *pp_test_mgr_connect(const char *addr)
{
    apr_sockaddr_t *sa = NULL;
    apr_socket_t *s = NULL;
    char host[128];
    const char *colon;
    int is_unix = strncmp(addr, "unix://", 7) == 0;

    if (is_unix) {
        CU_ASSERT_FATAL(apr_sockaddr_info_get(&sa, addr + 7, APR_UNIX, 0, 0, pp_test_pool()) ==
                        APR_SUCCESS);
    } else {
        CU_ASSERT_FATAL(strncmp(addr, "tcp://", 6) == 0);
        colon = strrchr(addr, ':');
        CU_ASSERT_FATAL(colon != NULL && (size_t)(colon - addr - 6) < sizeof host);
        memcpy(host, addr + 6, (size_t)(colon - addr - 6));
        host[colon - addr - 6] = '\0';
        CU_ASSERT_FATAL(apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)atoi(colon + 1), 0,
                                              pp_test_pool()) == APR_SUCCESS);
    }
    CU_ASSERT_FATAL(apr_socket_create(&s, sa->family, SOCK_STREAM, is_unix ? 0 : APR_PROTO_TCP,
                                      pp_test_pool()) == APR_SUCCESS);
    apr_socket_timeout_set(s, 5000000);
    CU_ASSERT_FATAL(apr_socket_connect(s, sa) == APR_SUCCESS);
    return s;
}

void pp_test_mgr_header(uint8_t *out, uint8_t type, uint32_t len)
{
    memcpy(out, "PPM\002", 4);
    out[4] = type;
    out[5] = 0;
    out[6] = (uint8_t)len;
    out[7] = (uint8_t)(len >> 8);
    out[8] = (uint8_t)(len >> 16);
    out[9] = (uint8_t)(len >> 24);
}

int pp_test_mgr_send_all(apr_socket_t *s, const void *p, size_t n)
{
    apr_size_t len = n;

    return apr_socket_send(s, p, &len) == APR_SUCCESS && len == n;
}

int pp_test_mgr_send_frame(apr_socket_t *s, uint8_t type, const void *payload, uint32_t len)
{
    uint8_t hdr[PP_TEST_MGR_HDR];

    pp_test_mgr_header(hdr, type, len);
    return pp_test_mgr_send_all(s, hdr, sizeof hdr) &&
           (len == 0 || pp_test_mgr_send_all(s, payload, len));
}

int pp_test_mgr_read_frame(apr_socket_t *s, uint8_t *payload, size_t cap, size_t *len)
{
    uint8_t hdr[PP_TEST_MGR_HDR];
    size_t got, want = sizeof hdr;
    uint8_t *dst = hdr;
    int phase;

    for (phase = 0; phase < 2; phase++) {
        got = 0;
        while (got < want) {
            apr_size_t n = want - got;
            apr_socket_timeout_set(s, 5000000);
            if (apr_socket_recv(s, (char *)dst + got, &n) != APR_SUCCESS && n == 0)
                return -1;
            got += n;
        }
        if (phase == 0) {
            if (memcmp(hdr, "PPM\002", 4) != 0)
                return -1;
            want = (size_t)hdr[6] | ((size_t)hdr[7] << 8) | ((size_t)hdr[8] << 16) |
                   ((size_t)hdr[9] << 24);
            if (want > cap)
                return -1;
            *len = want;
            dst = payload;
        }
    }
    return hdr[4];
}

int pp_test_mgr_handshake(apr_socket_t *s, const uint8_t *key, size_t keylen, uint8_t *proof_frame)
{
    static const char label[] = "procpool-manager-v1 client proof";
    crypto_auth_hmacsha256_state h;
    uint8_t buf[256], msg[64];
    size_t len = 0;

    CU_ASSERT_FATAL(sodium_init() >= 0);
    if (pp_test_mgr_read_frame(s, buf, sizeof buf, &len) != 1 || len != 32) /* CHALLENGE */
        return 0;
    randombytes_buf(msg, 32);
    crypto_auth_hmacsha256_init(&h, key, keylen);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha256_update(&h, buf, 32);
    crypto_auth_hmacsha256_update(&h, msg, 32);
    crypto_auth_hmacsha256_final(&h, msg + 32);
    if (!pp_test_mgr_send_frame(s, 2, msg, sizeof msg)) /* PROOF */
        return 0;
    if (proof_frame != NULL) {
        pp_test_mgr_header(proof_frame, 2, sizeof msg);
        memcpy(proof_frame + PP_TEST_MGR_HDR, msg, sizeof msg);
    }
    return pp_test_mgr_read_frame(s, buf, sizeof buf, &len) == 3 &&
           len == 32 + 8; /* WELCOME: MAC, instance */
}

int pp_test_mgr_closed_within(apr_socket_t *s, int64_t ms, size_t *total)
{
    int64_t end = pp_test_now_ms() + ms;
    char buf[256];

    *total = 0;
    while (pp_test_now_ms() < end) {
        apr_size_t n = sizeof buf;
        apr_status_t rv;

        apr_socket_timeout_set(s, 200000);
        rv = apr_socket_recv(s, buf, &n);
        *total += n;
        if (rv == APR_SUCCESS || APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv))
            continue;
        return 1; /* EOF or reset */
    }
    return 0;
}

pp_manager *pp_test_mgr_start_keyed(uint8_t key[PP_TEST_MGR_KEYLEN])
{
    pp_manager_options o;
    pp_manager *m = NULL;
    size_t i;

    for (i = 0; i < PP_TEST_MGR_KEYLEN; i++)
        key[i] = (uint8_t)(rand() & 0xff);
    memset(&o, 0, sizeof o);
    o.key = key;
    o.keylen = PP_TEST_MGR_KEYLEN;
    PP_ASSERT_STATUS_FATAL(pp_manager_start(&m, &o), PP_OK);
    return m;
}
