/*
 * pp_test_mgr.h — raw manager protocol from the test side (mgr_proto.h):
 * connect to a manager's port, run the handshake by hand, send any frame,
 * see whether the server closed. For tests of what a hostile or broken
 * client can send.
 */
#ifndef PP_TEST_MGR_H
#define PP_TEST_MGR_H

#include <stddef.h>
#include <stdint.h>

#include <apr_network_io.h>

#include "procpool/manager.h"

#define PP_TEST_MGR_HDR 10 /* frame header bytes */

/* A raw connection to the manager at addr ("unix:///PATH" or
 * "tcp://HOST:PORT", an IPv4 literal or a name). */
apr_socket_t *pp_test_mgr_connect(const char *addr);

/* Write a frame header (type, payload length) at out. */
void pp_test_mgr_header(uint8_t *out, uint8_t type, uint32_t len);

int pp_test_mgr_send_all(apr_socket_t *s, const void *p, size_t n);

/* Send one frame (header + payload). 1 on success. */
int pp_test_mgr_send_frame(apr_socket_t *s, uint8_t type, const void *payload, uint32_t len);

/* Read one frame within 5 s: its type and payload (at most cap bytes,
 * *len), or -1 (closed, timed out, not a frame). */
int pp_test_mgr_read_frame(apr_socket_t *s, uint8_t *payload, size_t cap, size_t *len);

/* The handshake with key: 1 if the server answered WELCOME. The PROOF
 * frame sent is copied to proof_frame (10 + 64 bytes) unless it is NULL
 * (to replay it on another connection). */
int pp_test_mgr_handshake(apr_socket_t *s, const uint8_t *key, size_t keylen, uint8_t *proof_frame);

/* Read until EOF within ms: 1 if the peer closed, 0 if not; *total: the
 * bytes that came before. */
int pp_test_mgr_closed_within(apr_socket_t *s, int64_t ms, size_t *total);

/* Start a manager (default options) with a fresh random key of
 * PP_TEST_MGR_KEYLEN bytes, written to key; fails the test if it cannot. */
#define PP_TEST_MGR_KEYLEN 32
pp_manager *pp_test_mgr_start_keyed(uint8_t key[PP_TEST_MGR_KEYLEN]);

#endif
