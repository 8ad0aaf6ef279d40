/*
 * fuzz_frame.c — libFuzzer target for the wire decoder (src/codec.c).
 *
 * The input is what a peer could send: a 24-byte frame header and a
 * payload of value tuples. Inputs shorter than a header are decoded as a
 * payload alone, so the fuzzer reaches the tuple decoder without first
 * having to learn the magic. Beyond "no crash, no out-of-bounds read"
 * (ASan/UBSan), every outcome is checked against the contract:
 *
 *  - a refused header or tuple returns PP_EPROTO (or PP_ENOMEM), hands out
 *    nothing and leaves the reader where it was;
 *  - the encoding is canonical: re-encoding a decoded tuple or header
 *    gives back exactly the bytes that were consumed, so anything the
 *    decoder accepts is something the encoder produces, and a round trip
 *    through encode/decode (and pp_values_copy) changes nothing.
 *
 * Lock and shm items resolve through the real pp__lock_resolve() /
 * pp__shm_resolve() (pp_init() runs once); names that do not exist simply
 * come back unresolved.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/init.h"
#include "procpool/value.h"
#include "procpool/array.h"
#include "procpool/queue.h"
#include "procpool/sync.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "values/column.h"
#include "values/tuple.h"
#include "values/value_internal.h"
#include "sync/remote.h"
#include "sync/sync.h"

/* A TASK frame carries up to 65535 tuples; a few are enough to reach the
 * code paths between tuples. */
#define MAX_TUPLES 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_frame: contract violated: %s\n", what);
    abort();
}

static void check(int ok, const char *what)
{
    if (!ok)
        fail(what);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pp_status st = pp_init(NULL, NULL);

    (void)argc;
    (void)argv;
    if (st != PP_OK) {
        fprintf(stderr, "fuzz_frame: pp_init: %s\n", pp_strerror(st));
        abort();
    }
    return 0;
}

/* A valid header re-encodes to the same 24 bytes. */
static void check_header(const uint8_t *p)
{
    pp__frame_hdr h;
    pp__buf b;
    size_t at;
    pp_status st;

    memset(&h, 0xa5, sizeof h);
    st = pp__frame_parse_hdr(p, &h);
    if (st != PP_OK) {
        check(st == PP_EPROTO, "header refused with a status other than PP_EPROTO");
        return;
    }
    check(h.length <= PP__FRAME_MAX && h.type >= 1 && h.type <= PP__MSG_MAX_ &&
              (h.flags == 0 ||
               (h.type == PP__MSG_TASK && (h.flags & ~(PP__FLAG_SCALARS | PP__FLAG_TIMED |
                                                       PP__FLAG_INBOX | PP__FLAG_WAITED)) == 0) ||
               (h.type == PP__MSG_RESULT &&
                (h.flags & ~(PP__FLAG_SCALARS | PP__FLAG_PARTIAL | PP__FLAG_INBOX)) == 0)),
          "accepted header violates the limits");
    pp__buf_init(&b);
    check(pp__frame_begin(&b, h.type, h.count, h.id, &at) == PP_OK, "frame_begin");
    pp__frame_set_flags(&b, at, h.flags);
    /* Patch the length by hand: materialising up to 64 MiB of payload per
     * input would only slow the fuzzer down. */
    check(pp__frame_end(&b, at) == PP_OK, "frame_end");
    b.data[4] = (uint8_t)h.length;
    b.data[5] = (uint8_t)(h.length >> 8);
    b.data[6] = (uint8_t)(h.length >> 16);
    b.data[7] = (uint8_t)(h.length >> 24);
    check(b.len == PP__FRAME_HDR && memcmp(b.data, p, PP__FRAME_HDR) == 0,
          "header does not re-encode to the same bytes");
    pp__buf_free(&b);
}

/* encode(v) must be exactly the bytes it was decoded from. */
static void check_reencode(const pp_values *v, const uint8_t *src, size_t n)
{
    pp_values *d = NULL, *c = NULL;
    pp__buf b, b2;
    pp__rd r;

    pp__buf_init(&b);
    pp__buf_init(&b2);
    check(pp__values_encode(v, &b) == PP_OK, "encode of a decoded tuple failed");
    check(b.len == pp__values_encoded_size(v), "encoded size differs from the prediction");
    check(b.len == n && memcmp(b.data, src, n) == 0, "re-encoding differs from the input");

    pp__rd_init(&r, b.data, b.len);
    check(pp__values_decode(&r, &d, NULL, NULL, 0) == PP_OK, "decode(encode(x)) failed");
    check(pp__rd_left(&r) == 0, "decode(encode(x)) left bytes over");
    check(pp_values_copy(d, &c) == PP_OK, "copy failed");
    check(pp__values_encode(c, &b2) == PP_OK, "encode of the copy failed");
    check(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0, "round trip changed the tuple");

    pp_values_destroy(c);
    pp_values_destroy(d);
    pp__buf_free(&b2);
    pp__buf_free(&b);
}

/* Getters agree with the types the tuple reports. */
static void check_getters(const pp_values *v)
{
    size_t i, n, count = pp_values_count(v);
    const void *p;
    const char *s;
    const pp__locator *loc;
    pp_status why;
    pp_lock *l;
    pp_shm *m;
    void *h;
    int64_t x;
    double d;

    for (i = 0; i < count; i++) {
        switch (pp_values_type(v, i)) {
        case PP_TYPE_INT:
            check(pp_values_get_int(v, i, &x) == PP_OK, "get_int");
            break;
        case PP_TYPE_DOUBLE:
            check(pp_values_get_double(v, i, &d) == PP_OK, "get_double");
            break;
        case PP_TYPE_STR:
            check(pp_values_get_str(v, i, &s) == PP_OK && strlen(s) <= PP_VALUE_MAX_BYTES,
                  "get_str");
            break;
        case PP_TYPE_BYTES:
            check(pp_values_get_bytes(v, i, &p, &n) == PP_OK && p != NULL, "get_bytes");
            break;
        case PP_TYPE_LOCK:
            /* Resolved or not, a lock item answers with a handle or why not. */
            check((pp_values_get_lock(v, i, &l) == PP_OK) == (l != NULL), "get_lock");
            break;
        case PP_TYPE_SHM:
            check((pp_values_get_shm(v, i, &m) == PP_OK) == (m != NULL), "get_shm");
            break;
        case PP_TYPE_PROXY:
            /* A hosted object of a kind other than a lock, by a valid
             * locator; a handle or why not. */
            check(pp__values_get_proxy(v, i, &loc, &h, &why) == PP_OK &&
                      pp__locator_check(loc) == PP_OK && loc->object != PP__OBJ_LOCK &&
                      loc->object != PP__OBJ_RLOCK && (why == PP_OK) == (h != NULL),
                  "get_proxy");
            break;
        case PP_TYPE_SYNC: {
            /* A local sync object of a known kind (sync/sobj.h: 1..6); its
             * kind's getter answers with a handle or why not, the others
             * with PP_ETYPE. */
            uint8_t kind = pp__values_sync_kind(v, i);
            pp_sem *se = NULL;
            pp_event *ev = NULL;
            pp_barrier *ba = NULL;
            pp_cond *co = NULL;
            pp_queue *qu = NULL;
            pp_array *ar = NULL;
            check(kind >= 1 && kind <= 6, "sync kind");
            check((pp_values_get_sem(v, i, &se) == PP_OK) == (se != NULL), "get_sem");
            check((pp_values_get_event(v, i, &ev) == PP_OK) == (ev != NULL), "get_event");
            check((pp_values_get_barrier(v, i, &ba) == PP_OK) == (ba != NULL), "get_barrier");
            check((pp_values_get_cond(v, i, &co) == PP_OK) == (co != NULL), "get_cond");
            check((pp_values_get_queue(v, i, &qu) == PP_OK) == (qu != NULL), "get_queue");
            check((pp_values_get_array(v, i, &ar) == PP_OK) == (ar != NULL), "get_array");
            check((kind == 1 || se == NULL) && (kind == 2 || ev == NULL) &&
                      (kind == 3 || ba == NULL) && (kind == 4 || co == NULL) &&
                      (kind == 5 || qu == NULL) && (kind == 6 || ar == NULL),
                  "a handle of another kind");
            break;
        }
        default:
            fail("tuple holds an item of no known type");
        }
    }
    check(pp_values_type(v, count) == PP_TYPE_NONE, "type past the end");
}

static void fuzz_payload(const uint8_t *p, size_t n)
{
    char lock_name[PP_NAME_MAX + 1];
    pp_status st, lst;
    pp_values *v;
    size_t before;
    pp__rd r;
    int t;

    pp__rd_init(&r, p, n);
    for (t = 0; t < MAX_TUPLES && pp__rd_left(&r) > 0; t++) {
        before = r.pos;
        v = (pp_values *)&r; /* must be overwritten */
        st = pp__values_decode(&r, &v, &lst, lock_name, sizeof lock_name);
        if (st != PP_OK) {
            check(st == PP_EPROTO || st == PP_ENOMEM, "decode: unexpected status");
            check(v == NULL, "decode failed but returned a tuple");
            check(r.pos == before, "decode failed but consumed bytes");
            return;
        }
        check(v != NULL && r.pos > before && r.pos <= r.len, "decode succeeded inconsistently");
        check(lst == PP_OK || strlen(lock_name) > 0, "lock failure without a name");
        check_getters(v);
        check_reencode(v, p + before, r.pos - before);
        pp_values_destroy(v);
    }
}

/* The same bytes as a blob column (values/column.h): u8 type, then
 * entries. A refused entry leaves the reader where it was; an accepted
 * one lies inside the input with its NUL, a string has no other, and the
 * read-only tuple over it re-encodes to exactly the bytes consumed. */
static void fuzz_column(const uint8_t *p, size_t n)
{
    uint64_t mem[8];
    uint8_t out[64];
    const uint8_t *b;
    pp_values *v;
    pp_type type;
    size_t len, before, bytes;
    pp_status st;
    pp__rd r;
    int k;

    if (n == 0)
        return;
    type = (p[0] & 1) ? PP_TYPE_BYTES : PP_TYPE_STR;
    pp__rd_init(&r, p + 1, n - 1);
    for (k = 0; k < MAX_TUPLES && pp__rd_left(&r) > 0; k++) {
        before = r.pos;
        st = pp__column_get_blob(&r, type, &b, &len);
        if (st != PP_OK) {
            check(st == PP_EPROTO, "column: unexpected status");
            check(r.pos == before, "column entry refused but bytes consumed");
            return;
        }
        check(r.pos == before + 5 + len && r.pos <= r.len, "column entry of the wrong extent");
        check(b == r.p + before + 4 && b[len] == 0, "column entry without its NUL");
        check(type != PP_TYPE_STR || memchr(b, 0, len) == NULL, "string entry with a NUL inside");
        v = pp__values_init_blob(mem, type, b, len);
        check(pp_values_count(v) == 1 && pp_values_type(v, 0) == type, "column tuple");
        check_getters(v);
        if (len + 5 <= sizeof out) {
            check(pp__column_blob_extent(v, 0, 1, sizeof out, &type, &bytes) == 1 &&
                      bytes == len + 5,
                  "column entry measured wrong");
            pp__column_put_blobs(v, 0, 1, out);
            check(memcmp(out, r.p + before, bytes) == 0, "column entry re-encoded differently");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_column(data, size);
    if (size < PP__FRAME_HDR) {
        fuzz_payload(data, size);
        return 0;
    }
    check_header(data);
    fuzz_payload(data + PP__FRAME_HDR, size - PP__FRAME_HDR);
    return 0;
}
