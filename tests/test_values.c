/*
 * test_values.c — value tuples (value.h) and the wire format (codec.h).
 *
 * Round trips check bits, not printed forms (NaN payloads, -0.0). The
 * decoder tests feed every class of malformed input the format has and
 * require PP_EPROTO with nothing consumed and nothing returned; the
 * truncation test cuts a valid frame at every byte offset. The fuzzer
 * (tests/fuzz/) explores the rest.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/lock.h"
#include "procpool/shm.h"
#include "procpool/value.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "values/tuple.h"
#include "core/core.h"
#include "pp_test.h"
#include "values/value_internal.h"
#include "sync/sync.h"

/* ------------------------------------------------------------- helpers */

static uint64_t dbits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double d;

    memcpy(&d, &u, sizeof d);
    return d;
}

/* Item i of a and b are equal: same type and same bits / bytes / name. */
static int item_equal(const pp_values *a, const pp_values *b, size_t i)
{
    const void *pa, *pb;
    const char *sa, *sb;
    int64_t ia, ib;
    double da, db;
    size_t na, nb;

    if (pp_values_type(a, i) != pp_values_type(b, i))
        return 0;
    switch (pp_values_type(a, i)) {
    case PP_TYPE_INT:
        return pp_values_get_int(a, i, &ia) == PP_OK && pp_values_get_int(b, i, &ib) == PP_OK &&
               ia == ib;
    case PP_TYPE_DOUBLE:
        return pp_values_get_double(a, i, &da) == PP_OK &&
               pp_values_get_double(b, i, &db) == PP_OK && dbits(da) == dbits(db);
    case PP_TYPE_STR:
        return pp_values_get_str(a, i, &sa) == PP_OK && pp_values_get_str(b, i, &sb) == PP_OK &&
               strcmp(sa, sb) == 0;
    case PP_TYPE_BYTES:
        return pp_values_get_bytes(a, i, &pa, &na) == PP_OK &&
               pp_values_get_bytes(b, i, &pb, &nb) == PP_OK && na == nb && memcmp(pa, pb, na) == 0;
    case PP_TYPE_LOCK:
        return strcmp(pp__values_lock_name(a, i), pp__values_lock_name(b, i)) == 0;
    case PP_TYPE_SHM:
        return strcmp(pp__values_named_name(a, i), pp__values_named_name(b, i)) == 0;
    default:
        return 0;
    }
}

static int values_equal(const pp_values *a, const pp_values *b)
{
    size_t i;

    if (pp_values_count(a) != pp_values_count(b))
        return 0;
    for (i = 0; i < pp_values_count(a); i++) {
        if (!item_equal(a, b, i))
            return 0;
    }
    return 1;
}

/*
 * Decode n bytes as one tuple that must use all of them. On failure check
 * the decoder's promise: nothing returned, reader not moved.
 */
static pp_status decode_exact(const void *p, size_t n, pp_values **out)
{
    pp__rd r;
    pp_status st;

    pp__rd_init(&r, p, n);
    *out = (pp_values *)&r; /* must be overwritten */
    st = pp__values_decode(&r, out, NULL, NULL, 0);
    if (st != PP_OK) {
        CU_ASSERT_PTR_NULL(*out);
        CU_ASSERT_EQUAL(r.pos, 0);
        return st;
    }
    st = pp__rd_end(&r);
    if (st != PP_OK) {
        pp_values_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* Encode v, check the size the container predicted, decode, compare. */
static void check_roundtrip(const pp_values *v)
{
    pp_values *d = NULL;
    pp__buf b;

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(v, &b), PP_OK);
    CU_ASSERT_EQUAL(b.len, pp__values_encoded_size(v));
    PP_ASSERT_STATUS(decode_exact(b.data, b.len, &d), PP_OK);
    CU_ASSERT(values_equal(v, d));
    pp_values_destroy(d);
    pp__buf_free(&b);
}

static pp_values *new_values(void)
{
    pp_values *v = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    return v;
}

/* A unique, existing lock (creator handle). */
static pp_lock *new_lock(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *l = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &l), PP_OK);
    return l;
}

/* A unique, existing shared memory block (creator handle). */
static pp_shm *new_shm(size_t size)
{
    char name[PP_NAME_MAX + 1];
    pp_shm *m = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(name, size, &m), PP_OK);
    return m;
}

/* Wire bytes of a tuple, written by hand for the malformed cases. */
typedef struct wire {
    uint8_t b[128];
    size_t n;
} wire;

static void w_u8(wire *w, uint8_t x)
{
    w->b[w->n++] = x;
}

static void w_u32(wire *w, uint32_t x)
{
    int i;

    for (i = 0; i < 4; i++)
        w_u8(w, (uint8_t)(x >> (8 * i)));
}

static void w_u64(wire *w, uint64_t x)
{
    int i;

    for (i = 0; i < 8; i++)
        w_u8(w, (uint8_t)(x >> (8 * i)));
}

static void w_bytes(wire *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* A lock or shm item: tag, u8 name length, the name, u64 identity. */
static void w_named(wire *w, uint8_t tag, const char *name, uint64_t id)
{
    w_u8(w, tag);
    w_u8(w, (uint8_t)strlen(name));
    w_bytes(w, name, strlen(name));
    w_u64(w, id);
}

/* A tuple of one item: count 1, tag, then body. */
static void w_one(wire *w, uint8_t tag)
{
    w->n = 0;
    w_u32(w, 1);
    w_u8(w, tag);
}

/* --------------------------------------------------------- round trips */

static void t_int_roundtrip(void)
{
    static const int64_t xs[] = {0,         1,         -1,        255,       256,
                                 INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    pp_values *v = new_values();
    int64_t got;
    size_t i;

    for (i = 0; i < sizeof xs / sizeof xs[0]; i++)
        PP_ASSERT_STATUS(pp_values_add_int(v, xs[i]), PP_OK);
    check_roundtrip(v);
    for (i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        PP_ASSERT_STATUS(pp_values_get_int(v, i, &got), PP_OK);
        CU_ASSERT(got == xs[i]);
    }
    pp_values_destroy(v);
}

static void t_int_wire_format(void)
{
    /* Little-endian two's complement, independent of the host. */
    static const uint8_t expect[] = {1,    0,    0,    0,    PP_TYPE_INT, 0xfe, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff,        0xff};
    pp_values *v = new_values();
    pp__buf b;

    pp__buf_init(&b);
    PP_ASSERT_STATUS(pp_values_add_int(v, -2), PP_OK);
    PP_ASSERT_STATUS(pp__values_encode(v, &b), PP_OK);
    CU_ASSERT_EQUAL_FATAL(b.len, sizeof expect);
    CU_ASSERT(memcmp(b.data, expect, sizeof expect) == 0);
    pp__buf_free(&b);
    pp_values_destroy(v);
}

static void t_double_roundtrip(void)
{
    static const uint64_t bits[] = {
        0x0000000000000000u, /* +0.0 */
        0x8000000000000000u, /* -0.0 */
        0x7ff0000000000000u, /* +inf */
        0xfff0000000000000u, /* -inf */
        0x7ff8000000000000u, /* quiet NaN */
        0x7ff80000deadbeefu, /* NaN with payload */
        0xfff8000000000001u, /* negative NaN with payload */
        0x0000000000000001u, /* smallest subnormal */
        0x7fefffffffffffffu, /* DBL_MAX */
        0x3ff0000000000000u, /* 1.0 */
    };
    pp_values *v = new_values();
    double got;
    size_t i;

    for (i = 0; i < sizeof bits / sizeof bits[0]; i++)
        PP_ASSERT_STATUS(pp_values_add_double(v, from_bits(bits[i])), PP_OK);
    check_roundtrip(v);
    for (i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        PP_ASSERT_STATUS(pp_values_get_double(v, i, &got), PP_OK);
        PP_ASSERT_MSG(dbits(got) == bits[i], "item %u changed bits", (unsigned)i);
    }
    pp_values_destroy(v);
}

static void t_str_roundtrip(void)
{
    size_t long_n = (size_t)1 << 20;
    char *long_s = malloc(long_n + 1);
    pp_values *v = new_values();
    const char *got;

    CU_ASSERT_PTR_NOT_NULL_FATAL(long_s);
    memset(long_s, 'x', long_n);
    long_s[long_n] = '\0';
    PP_ASSERT_STATUS(pp_values_add_str(v, ""), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "hello"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "gr\303\274\303\237e \342\202\254"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, long_s), PP_OK);
    check_roundtrip(v);
    PP_ASSERT_STATUS(pp_values_get_str(v, 0, &got), PP_OK);
    CU_ASSERT_STRING_EQUAL(got, "");
    PP_ASSERT_STATUS(pp_values_get_str(v, 3, &got), PP_OK);
    CU_ASSERT(got != long_s && strlen(got) == long_n); /* a copy */
    free(long_s);
    pp_values_destroy(v);
}

static void t_bytes_roundtrip(void)
{
    static const uint8_t nuls[] = {0, 1, 0, 0, 0xff, 0};
    pp_values *v = new_values();
    const void *p = NULL;
    size_t n = 99;

    PP_ASSERT_STATUS(pp_values_add_bytes(v, nuls, sizeof nuls), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(v, NULL, 0), PP_OK);
    check_roundtrip(v);
    PP_ASSERT_STATUS(pp_values_get_bytes(v, 0, &p, &n), PP_OK);
    CU_ASSERT(n == sizeof nuls && memcmp(p, nuls, n) == 0);
    /* An empty buffer still has a pointer the caller may pass to memcpy. */
    PP_ASSERT_STATUS(pp_values_get_bytes(v, 1, &p, &n), PP_OK);
    CU_ASSERT(n == 0 && p != NULL);
    pp_values_destroy(v);
}

static void t_empty_tuple(void)
{
    static const uint8_t expect[] = {0, 0, 0, 0};
    pp_values *v = new_values(), *d = NULL;
    pp__buf b;

    pp__buf_init(&b);
    PP_ASSERT_STATUS(pp__values_encode(v, &b), PP_OK);
    PP_ASSERT_STATUS(pp__values_encode(NULL, &b), PP_OK); /* NULL: empty too */
    CU_ASSERT_EQUAL_FATAL(b.len, 8);
    CU_ASSERT(memcmp(b.data, expect, 4) == 0 && memcmp(b.data + 4, expect, 4) == 0);
    PP_ASSERT_STATUS(decode_exact(expect, sizeof expect, &d), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(d), 0);
    CU_ASSERT_EQUAL(pp__values_encoded_size(NULL), 4);
    pp_values_destroy(d);
    pp__buf_free(&b);
    pp_values_destroy(v);
}

static void t_lock_roundtrip(void)
{
    pp_lock *l = new_lock(), *got = NULL;
    pp_values *v = new_values(), *d = NULL;
    pp_status lst = PP_EINVAL;
    char errname[PP__NAME_BUF] = "junk";
    pp__buf b;
    pp__rd r;

    pp__buf_init(&b);
    PP_ASSERT_STATUS(pp_values_add_lock(v, l), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_lock(v, 0, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, l); /* the parent gets its own handle back */
    PP_ASSERT_STATUS(pp__values_encode(v, &b), PP_OK);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &lst, errname, sizeof errname), PP_OK);
    PP_ASSERT_STATUS(lst, PP_OK);
    CU_ASSERT_STRING_EQUAL(errname, "");
    PP_ASSERT_STATUS(pp_values_get_lock(d, 0, &got), PP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(pp_lock_name(got), pp_lock_name(l));
    /* The decoded handle is the same lock: the creator handle excludes it. */
    PP_ASSERT_STATUS(pp_lock_acquire(got, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 0), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_release(got), PP_OK);
    check_roundtrip(d);
    pp_values_destroy(d);
    pp_values_destroy(v);
    pp__buf_free(&b);
    pp_lock_destroy(l);
}

static void t_lock_unresolved(void)
{
    char name[PP_NAME_MAX + 1], errname[8];
    pp_values *d = NULL, *c = NULL;
    pp_status lst = PP_OK;
    pp_lock *got = (pp_lock *)&got;
    wire w;
    pp__rd r;

    /* A valid name nobody created: the tuple still decodes, the item says
     * why it has no handle, and the first failure is reported. */
    pp_test_unique_name(name, sizeof name);
    w.n = 0;
    w_u32(&w, 2);
    w_named(&w, PP_TYPE_LOCK, name, 1);
    w_named(&w, PP_TYPE_LOCK, name, 1);
    pp__rd_init(&r, w.b, w.n);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &lst, errname, sizeof errname), PP_OK);
    PP_ASSERT_STATUS(lst, PP_ENOENT);
    CU_ASSERT(strlen(errname) == sizeof errname - 1 && strncmp(errname, name, 7) == 0);
    PP_ASSERT_STATUS(pp_values_get_lock(d, 1, &got), PP_ENOENT);
    CU_ASSERT_PTR_NULL(got);
    PP_ASSERT_STATUS(pp_values_unpack(d, "k", &got), PP_ENOENT);
    CU_ASSERT_STRING_EQUAL(pp__values_lock_name(d, 0), name);
    /* Copies and re-encodings keep the name, so it can be passed on. */
    PP_ASSERT_STATUS(pp_values_copy(d, &c), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_lock(c, 0, &got), PP_ENOENT);
    check_roundtrip(c);
    pp_values_destroy(c);
    pp_values_destroy(d);
}

static void t_shm_roundtrip(void)
{
    pp_shm *m = new_shm(100), *got = NULL;
    pp_lock *l = NULL;
    pp_values *v = new_values(), *d = NULL;
    pp_status ast = PP_EINVAL;
    char errname[PP__NAME_BUF] = "junk";
    pp__buf b;
    pp__rd r;

    pp__buf_init(&b);
    PP_ASSERT_STATUS(pp_values_add_shm(v, m), PP_OK);
    CU_ASSERT_EQUAL(pp_values_type(v, 0), PP_TYPE_SHM);
    PP_ASSERT_STATUS(pp_values_get_shm(v, 0, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, m); /* the parent gets its own handle back */
    PP_ASSERT_STATUS(pp__values_encode(v, &b), PP_OK);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, errname, sizeof errname), PP_OK);
    PP_ASSERT_STATUS(ast, PP_OK);
    CU_ASSERT_STRING_EQUAL(errname, "");
    PP_ASSERT_STATUS(pp__values_attach_error(d, NULL), PP_OK);
    got = NULL;
    PP_ASSERT_STATUS(pp_values_get_shm(d, 0, &got), PP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(pp_shm_name(got), pp_shm_name(m));
    /* One mapping per name and process: the decoded handle sees the
     * creator's memory at the same address. */
    CU_ASSERT_PTR_EQUAL(pp_shm_ptr(got), pp_shm_ptr(m));
    CU_ASSERT_EQUAL(pp_shm_size(got), 100);
    /* The getters keep the two named types apart. */
    PP_ASSERT_STATUS(pp_values_get_lock(d, 0, &l), PP_ETYPE);
    check_roundtrip(d);
    pp_values_destroy(d);
    pp_values_destroy(v);
    pp__buf_free(&b);
    pp_shm_destroy(m);
}

static void t_shm_wire_format(void)
{
    pp_values *v = new_values();
    uint8_t expect[4 + 2 + PP_NAME_MAX + 8];
    const char *name = "pp-wire-shm";
    size_t n = strlen(name);
    pp__buf b;

    /* u32 count, tag 6, u8 length, the name, the u64 identity (little-
     * endian): like a lock, another tag. */
    memcpy(expect, "\1\0\0\0", 4);
    expect[4] = 6;
    expect[5] = (uint8_t)n;
    memcpy(expect + 6, name, n);
    memcpy(expect + 6 + n, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    pp__buf_init(&b);
    PP_ASSERT_STATUS(
        pp__values_add_shm_named(v, name, UINT64_C(0x0102030405060708), NULL, PP_ENOENT), PP_OK);
    PP_ASSERT_STATUS(pp__values_encode(v, &b), PP_OK);
    CU_ASSERT_EQUAL_FATAL(b.len, 6 + n + 8);
    CU_ASSERT(memcmp(b.data, expect, 6 + n + 8) == 0);
    CU_ASSERT_EQUAL(pp__values_encoded_size(v), 6 + n + 8);
    pp__buf_free(&b);
    pp_values_destroy(v);
}

static void t_shm_unresolved(void)
{
    char name[PP_NAME_MAX + 1], errname[PP__NAME_BUF];
    pp_values *d = NULL, *c = NULL;
    pp_status ast = PP_OK;
    pp_shm *got = (pp_shm *)&got;
    size_t idx = 99;
    pp_lock *l = new_lock(), *gl = NULL;
    wire w;
    pp__rd r;

    /* An attached lock, then a block nobody created: the tuple decodes,
     * the block's item says why it has no handle, and that is the attach
     * failure reported (not the lock). */
    pp_test_unique_name(name, sizeof name);
    w.n = 0;
    w_u32(&w, 2);
    w_named(&w, PP_TYPE_LOCK, pp_lock_name(l), pp__lock_id(l));
    w_named(&w, PP_TYPE_SHM, name, 1);
    pp__rd_init(&r, w.b, w.n);
    PP_ASSERT_STATUS_FATAL(pp__values_decode(&r, &d, &ast, errname, sizeof errname), PP_OK);
    PP_ASSERT_STATUS(ast, PP_ENOENT);
    CU_ASSERT_STRING_EQUAL(errname, name);
    PP_ASSERT_STATUS(pp__values_attach_error(d, &idx), PP_ENOENT);
    CU_ASSERT_EQUAL(idx, 1);
    PP_ASSERT_STATUS(pp_values_get_shm(d, 1, &got), PP_ENOENT);
    CU_ASSERT_PTR_NULL(got);
    PP_ASSERT_STATUS(pp_values_unpack(d, "km", &gl, &got), PP_ENOENT);
    CU_ASSERT_PTR_NULL(gl); /* all-or-nothing: the lock was not stored */
    CU_ASSERT_STRING_EQUAL(pp__values_named_name(d, 1), name);
    CU_ASSERT_PTR_NULL(pp__values_lock_name(d, 1)); /* a block is not a lock */
    /* Copies and re-encodings keep the name, so it can be passed on. */
    PP_ASSERT_STATUS(pp_values_copy(d, &c), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_shm(c, 1, &got), PP_ENOENT);
    check_roundtrip(c);
    pp_values_destroy(c);
    pp_values_destroy(d);
    pp_lock_destroy(l);
}

static void t_shm_pack_unpack(void)
{
    pp_shm *m = new_shm(8), *gm = NULL;
    pp_lock *l = new_lock(), *gl = NULL;
    pp_values *v = (pp_values *)&v;
    int64_t x = 0;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "mkl", m, l, (int64_t)5), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 3);
    PP_ASSERT_STATUS(pp_values_unpack(v, "mkl", &gm, &gl, &x), PP_OK);
    CU_ASSERT(gm == m && gl == l && x == 5);
    /* 'k' does not read a block, nor 'm' a lock. */
    gm = NULL;
    PP_ASSERT_STATUS(pp_values_unpack(v, "k", &gl), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_unpack(v, "mm", &gm, &gm), PP_ETYPE);
    CU_ASSERT_PTR_NULL(gm); /* all-or-nothing */
    check_roundtrip(v);
    pp_values_destroy(v);
    v = (pp_values *)&v;
    PP_ASSERT_STATUS(pp_values_pack(&v, "im", 1, (pp_shm *)NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_shm(v, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_shm(NULL, m), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_get_shm(v, 0, &gm), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_get_shm(v, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp__values_add_shm_named(v, "a/b", 1, NULL, PP_ENOENT), PP_EINVAL);
    PP_ASSERT_STATUS(pp__values_add_shm_named(v, "ok", 1, NULL, PP_OK), PP_EINVAL);
    PP_ASSERT_STATUS(pp__values_add_shm_named(v, "ok", 0, NULL, PP_ENOENT), PP_EINVAL);
    CU_ASSERT_EQUAL(pp_values_count(v), 0);
    pp_values_destroy(v);
    pp_lock_destroy(l);
    pp_shm_destroy(m);
}

static void t_copy_is_deep(void)
{
    static const uint8_t raw[] = {1, 2, 0, 3};
    pp_values *v = NULL, *c = NULL;
    pp_lock *l = new_lock(), *got = NULL;
    const char *s;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "ldsbk", (int64_t)7, 2.5, "abc", raw, sizeof raw, l),
                           PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_copy(v, &c), PP_OK);
    CU_ASSERT(values_equal(v, c));
    CU_ASSERT_EQUAL(pp__values_encoded_size(v), pp__values_encoded_size(c));
    pp_values_destroy(v);
    PP_ASSERT_STATUS(pp_values_get_str(c, 2, &s), PP_OK);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    PP_ASSERT_STATUS(pp_values_get_lock(c, 4, &got), PP_OK);
    CU_ASSERT_PTR_EQUAL(got, l);
    check_roundtrip(c);
    pp_values_destroy(c);
    PP_ASSERT_STATUS(pp_values_copy(NULL, &c), PP_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    pp_lock_destroy(l);
}

static void t_encode_one(void)
{
    pp_values *v = NULL, *one = NULL, *d = NULL;
    const char *s;
    pp__buf b;

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "lsd", (int64_t)1, "two", 3.0), PP_OK);
    PP_ASSERT_STATUS(pp__values_encode_one(v, 1, &b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&one, "s", "two"), PP_OK);
    CU_ASSERT_EQUAL(b.len, pp__values_encoded_size(one));
    PP_ASSERT_STATUS(decode_exact(b.data, b.len, &d), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(d, "s", &s), PP_OK);
    CU_ASSERT(pp_values_count(d) == 1 && strcmp(s, "two") == 0);
    PP_ASSERT_STATUS(pp__values_encode_one(v, 3, &b), PP_ERANGE);
    PP_ASSERT_STATUS(pp__values_encode_one(NULL, 0, &b), PP_ERANGE);
    PP_ASSERT_STATUS(pp__values_encode_one(v, 0, NULL), PP_EINVAL);
    CU_ASSERT_EQUAL(b.len, pp__values_encoded_size(one)); /* failures appended nothing */
    pp_values_destroy(d);
    pp_values_destroy(one);
    pp_values_destroy(v);
    pp__buf_free(&b);
}

/* ------------------------------------------------------- pack / unpack */

static void t_pack_unpack(void)
{
    static const uint8_t raw[] = {0, 9, 0};
    pp_lock *l = new_lock(), *gl = NULL;
    pp_values *v = NULL;
    const void *gb = NULL;
    const char *gs = NULL;
    int gi = 0, gi2 = 0;
    int64_t gl64 = 0;
    double gd = 0;
    size_t gn = 0;

    PP_ASSERT_STATUS_FATAL(
        pp_values_pack(&v, "ildsbki", INT_MIN, INT64_MIN, -0.0, "s", raw, sizeof raw, l, INT_MAX),
        PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 7);
    PP_ASSERT_STATUS(pp_values_unpack(v, "ildsbki", &gi, &gl64, &gd, &gs, &gb, &gn, &gl, &gi2),
                     PP_OK);
    CU_ASSERT(gi == INT_MIN && gl64 == INT64_MIN && dbits(gd) == dbits(-0.0));
    CU_ASSERT(strcmp(gs, "s") == 0 && gn == sizeof raw && memcmp(gb, raw, gn) == 0);
    CU_ASSERT(gl == l && gi2 == INT_MAX);
    /* A prefix of the tuple may be read; 'l' reads what 'i' packed. */
    PP_ASSERT_STATUS(pp_values_unpack(v, "l", &gl64), PP_OK);
    CU_ASSERT(gl64 == INT_MIN);
    PP_ASSERT_STATUS(pp_values_unpack(v, ""), PP_OK);
    pp_values_destroy(v);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, ""), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 0);
    pp_values_destroy(v);
    pp_lock_destroy(l);
}

static void t_pack_errors(void)
{
    pp_values *v = (pp_values *)&v;
    static const char small[1] = {0};

    PP_ASSERT_STATUS(pp_values_pack(&v, "ix", 1, 2), PP_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    v = (pp_values *)&v;
    PP_ASSERT_STATUS(pp_values_pack(&v, "i ", 1), PP_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_pack(&v, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_pack(NULL, "i", 1), PP_EINVAL);
    /* Failures after some items were added: no tuple, nothing leaks. */
    v = (pp_values *)&v;
    PP_ASSERT_STATUS(pp_values_pack(&v, "iss", 1, "a", (const char *)NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_pack(&v, "dk", 1.0, (pp_lock *)NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_pack(&v, "b", (const void *)NULL, (size_t)1), PP_EINVAL);
    /* Size is checked before anything is read from the pointer. */
    PP_ASSERT_STATUS(pp_values_pack(&v, "ib", 1, small, PP_VALUE_MAX_BYTES + 1), PP_ETOOBIG);
    CU_ASSERT_PTR_NULL(v);
}

static void t_unpack_errors(void)
{
    pp_values *v = NULL;
    const char *s = "untouched";
    int i = 42;
    int64_t l = 42;
    double d = 42;

    PP_ASSERT_STATUS_FATAL(
        pp_values_pack(&v, "lls", (int64_t)INT_MAX + 1, (int64_t)INT_MIN - 1, "str"), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(v, "q", &i), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(v, "l?", &l, &i), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(v, "i", &i), PP_ERANGE);      /* INT_MAX + 1 */
    PP_ASSERT_STATUS(pp_values_unpack(v, "li", &l, &i), PP_ERANGE); /* INT_MIN - 1 */
    PP_ASSERT_STATUS(pp_values_unpack(v, "lld", &l, &l, &d), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_unpack(v, "d", &d), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_unpack(v, "llss", &l, &l, &s, &s), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_unpack(v, "l", (int64_t *)NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(v, "lb", &l, &s, (size_t *)NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(NULL, "l", &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(v, NULL), PP_EINVAL);
    /* All-or-nothing: the failing calls above wrote nothing. */
    CU_ASSERT(i == 42 && l == 42 && d == 42);
    pp_values_destroy(v);
}

static void t_getters_errors(void)
{
    pp_values *v = NULL;
    const void *p;
    const char *s;
    pp_lock *l;
    int64_t x;
    double d;
    size_t n;

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "ds", 1.5, "a"), PP_OK);
    CU_ASSERT_EQUAL(pp_values_type(v, 0), PP_TYPE_DOUBLE);
    CU_ASSERT_EQUAL(pp_values_type(v, 1), PP_TYPE_STR);
    CU_ASSERT_EQUAL(pp_values_type(v, 2), PP_TYPE_NONE);
    CU_ASSERT_EQUAL(pp_values_type(NULL, 0), PP_TYPE_NONE);
    CU_ASSERT_EQUAL(pp_values_count(NULL), 0);
    PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_double(v, 1, &d), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_str(v, 0, &s), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_bytes(v, 1, &p, &n), PP_ETYPE); /* str is not bytes */
    PP_ASSERT_STATUS(pp_values_get_lock(v, 0, &l), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_get_double(v, 2, &d), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_get_double(v, (size_t)-1, &d), PP_ERANGE);
    PP_ASSERT_STATUS(pp_values_get_double(NULL, 0, &d), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_get_double(v, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_get_bytes(v, 0, &p, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_int(NULL, 1), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_str(v, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_bytes(v, NULL, 1), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_add_lock(v, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_create(NULL), PP_EINVAL);
    CU_ASSERT_EQUAL(pp_values_count(v), 2); /* failed adds added nothing */
    pp_values_destroy(v);
    pp_values_destroy(NULL);
}

/* -------------------------------------------------------------- limits */

static void t_limit_value_size(void)
{
    size_t n = PP_VALUE_MAX_BYTES;
    char *big = malloc(n + 2);
    pp_values *v = new_values();

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', n + 1);
    big[n + 1] = '\0';
    PP_ASSERT_STATUS(pp_values_add_str(v, big), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_values_add_bytes(v, big, n + 1), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp__values_add_str_n(v, big, n + 1), PP_ETOOBIG);
    CU_ASSERT_EQUAL(pp_values_count(v), 0);
    big[n] = '\0';
    PP_ASSERT_STATUS(pp_values_add_str(v, big), PP_OK); /* exactly the limit */
    /* A second one would make the message longer than PP_MESSAGE_MAX: it
     * fails now, not when the task is submitted. */
    PP_ASSERT_STATUS(pp_values_add_bytes(v, big, n), PP_ETOOBIG);
    CU_ASSERT_EQUAL(pp_values_count(v), 1);
    CU_ASSERT(pp__values_encoded_size(v) <= PP_MESSAGE_MAX);
    check_roundtrip(v);
    free(big);
    pp_values_destroy(v);
}

static void t_limit_items(void)
{
    pp_values *v = new_values();
    size_t i, n;
    pp_status st = PP_OK;

    /* Integers encode to 9 bytes: the message limit, not the item limit,
     * ends a tuple of integers. */
    for (i = 0; i < PP_VALUES_MAX_ITEMS && st == PP_OK; i++)
        st = pp_values_add_int(v, (int64_t)i);
    PP_ASSERT_STATUS(st, PP_ETOOBIG);
    n = pp_values_count(v);
    PP_ASSERT_MSG(n * 9 <= PP_MESSAGE_MAX && (n + 1) * 9 + 4 > PP_MESSAGE_MAX, "%lu integers fit",
                  (unsigned long)n);
    PP_ASSERT_STATUS(pp_values_add_int(v, 0), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_values_add_str(v, "0123456789"), PP_ETOOBIG);
    CU_ASSERT_EQUAL(pp_values_count(v), n);
    check_roundtrip(v); /* the largest tuple still decodes */
    pp_values_destroy(v);
}

/* ------------------------------------------------------------- decoder */

static void t_decode_bad_tags(void)
{
    static const uint8_t tags[] = {0, PP_TYPE_SHM + 1, 8, 0x80, 0xff};
    pp_values *d;
    wire w;
    size_t i;

    for (i = 0; i < sizeof tags; i++) {
        w_one(&w, tags[i]);
        w_u32(&w, 0);
        w_u32(&w, 0);
        PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    }
}

static void t_decode_bad_strings(void)
{
    pp_values *d;
    wire w;

    w_one(&w, PP_TYPE_STR); /* embedded NUL */
    w_u32(&w, 3);
    w_bytes(&w, "a\0b", 3);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w_one(&w, PP_TYPE_STR); /* trailing NUL counts as embedded */
    w_u32(&w, 2);
    w_bytes(&w, "a\0", 2);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w_one(&w, PP_TYPE_BYTES); /* ... but bytes may hold NULs */
    w_u32(&w, 2);
    w_bytes(&w, "a\0", 2);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_OK);
    pp_values_destroy(d);
    w_one(&w, PP_TYPE_STR); /* length beyond PP_VALUE_MAX_BYTES */
    w_u32(&w, (uint32_t)PP_VALUE_MAX_BYTES + 1);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w_one(&w, PP_TYPE_BYTES); /* length beyond the bytes present */
    w_u32(&w, 5);
    w_bytes(&w, "abcd", 4);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w_one(&w, PP_TYPE_BYTES);
    w_u32(&w, UINT32_MAX);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
}

/* Every malformed name of a named item (lock or shm) is PP_EPROTO. */
static void check_bad_names(uint8_t tag)
{
    static const char *const bad[] = {"a/b", "a b", "a\0b", "\xc3\xa4", "\\x"};
    char too_long[PP_NAME_MAX + 2];
    pp_values *d;
    wire w;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = i == 2 ? 3 : strlen(bad[i]);

        w_one(&w, tag);
        w_u8(&w, (uint8_t)n);
        w_bytes(&w, bad[i], n);
        PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    }
    w_one(&w, tag); /* empty name */
    w_u8(&w, 0);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    memset(too_long, 'a', sizeof too_long);
    w_one(&w, tag);
    w_u8(&w, PP_NAME_MAX + 1);
    w_bytes(&w, too_long, PP_NAME_MAX + 1);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w_one(&w, tag); /* name longer than the bytes present */
    w_u8(&w, 4);
    w_bytes(&w, "abc", 3);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w.n = 0; /* identity 0: no object has it */
    w_u32(&w, 1);
    w_named(&w, tag, "abc", 0);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w.n--; /* identity cut short */
    w.b[w.n - 1] = 1;
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
}

static void t_decode_bad_locks(void)
{
    check_bad_names(PP_TYPE_LOCK);
}

static void t_decode_bad_shm(void)
{
    check_bad_names(PP_TYPE_SHM);
}

static void t_decode_bad_counts(void)
{
    pp_values *d;
    wire w;

    w.n = 0; /* count larger than the bytes could hold */
    w_u32(&w, 2);
    w_u8(&w, PP_TYPE_LOCK);
    w_u8(&w, 1);
    w_u8(&w, 'a');
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w.n = 0;
    w_u32(&w, UINT32_MAX);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w.n = 0;
    w_u32(&w, PP_VALUES_MAX_ITEMS + 1);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    w.n = 0; /* count smaller than the items: trailing bytes */
    w_u32(&w, 0);
    w_u8(&w, PP_TYPE_INT);
    PP_ASSERT_STATUS(decode_exact(w.b, w.n, &d), PP_EPROTO);
    PP_ASSERT_STATUS(decode_exact(w.b, 3, &d), PP_EPROTO); /* no count */
    PP_ASSERT_STATUS(decode_exact(NULL, 0, &d), PP_EPROTO);
}

static void t_decode_args(void)
{
    static const uint8_t empty[4] = {0};
    pp_values *d = (pp_values *)&d;
    pp__rd r;

    pp__rd_init(&r, empty, sizeof empty);
    PP_ASSERT_STATUS(pp__values_decode(NULL, &d, NULL, NULL, 0), PP_EINVAL);
    CU_ASSERT_PTR_NULL(d);
    PP_ASSERT_STATUS(pp__values_decode(&r, NULL, NULL, NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp__values_encode(NULL, NULL), PP_EINVAL);
}

/* -------------------------------------------------------------- frames */

/*
 * What a receiver does with one complete frame that carries one tuple:
 * parse the header, take exactly `length` payload bytes, decode, require
 * that nothing is left.
 */
static pp_status parse_tuple_frame(const uint8_t *p, size_t n, pp__frame_hdr *h, pp_values **out)
{
    pp__rd r;
    pp_status st;

    *out = NULL;
    if (n < PP__FRAME_HDR)
        return PP_EPROTO;
    st = pp__frame_parse_hdr(p, h);
    if (st != PP_OK)
        return st;
    if (h->length != n - PP__FRAME_HDR)
        return PP_EPROTO;
    pp__rd_init(&r, p + PP__FRAME_HDR, h->length);
    st = pp__values_decode(&r, out, NULL, NULL, 0);
    if (st == PP_OK && (st = pp__rd_end(&r)) != PP_OK) {
        pp_values_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* A frame with every value type, lock and shm included. */
static void build_full_frame(pp__buf *b, pp_lock *l, pp_values **v)
{
    static const uint8_t raw[] = {0, 1, 2};
    size_t at;

    PP_ASSERT_STATUS_FATAL(
        pp_values_pack(v, "ldsbsk", (int64_t)-5, -0.0, "str", raw, sizeof raw, "", l), PP_OK);
    /* A block nobody created: it travels by name all the same. */
    PP_ASSERT_STATUS_FATAL(pp__values_add_shm_named(*v, "pp-frame-shm", 7, NULL, PP_ENOENT), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(b, PP__MSG_TASK, 1, UINT64_C(0x1122334455667788), &at),
                           PP_OK);
    CU_ASSERT_EQUAL(at, 0);
    PP_ASSERT_STATUS_FATAL(pp__values_encode(*v, b), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(b, at), PP_OK);
}

static void t_frame_roundtrip(void)
{
    static const uint8_t magic[4] = {'P', 'P', 'F', PP__WIRE_VERSION};
    pp_lock *l = new_lock();
    pp_values *v = NULL, *d = NULL;
    pp__frame_hdr h;
    pp__buf b;

    pp__buf_init(&b);
    build_full_frame(&b, l, &v);
    CU_ASSERT(memcmp(b.data, magic, 4) == 0);
    PP_ASSERT_STATUS(parse_tuple_frame(b.data, b.len, &h, &d), PP_OK);
    CU_ASSERT_EQUAL(h.length, b.len - PP__FRAME_HDR);
    CU_ASSERT(h.type == PP__MSG_TASK && h.flags == 0 && h.count == 1);
    CU_ASSERT(h.id == UINT64_C(0x1122334455667788));
    CU_ASSERT(b.data[16] == 0x88 && b.data[23] == 0x11); /* id little-endian */
    CU_ASSERT(values_equal(v, d));
    pp_values_destroy(d);
    pp_values_destroy(v);
    pp__buf_free(&b);
    pp_lock_destroy(l);
}

static void t_frame_truncated(void)
{
    pp_lock *l = new_lock();
    pp_values *v = NULL, *d = NULL;
    pp__frame_hdr h;
    pp__buf b;
    size_t cut;
    int bad = 0;

    pp__buf_init(&b);
    build_full_frame(&b, l, &v);
    for (cut = 0; cut < b.len; cut++) {
        /* Fresh copy of exactly cut bytes: ASan sees any over-read. */
        uint8_t *p = malloc(cut ? cut : 1);

        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p, b.data, cut);
        if (parse_tuple_frame(p, cut, &h, &d) != PP_EPROTO || d != NULL)
            bad++;
        /* The payload alone, cut, as a tuple (length field ignored). */
        if (cut > PP__FRAME_HDR &&
            decode_exact(p + PP__FRAME_HDR, cut - PP__FRAME_HDR, &d) != PP_EPROTO)
            bad++;
        free(p);
    }
    PP_ASSERT_MSG(bad == 0, "%d of %u truncations accepted", bad, (unsigned)b.len);
    pp_values_destroy(v);
    pp__buf_free(&b);
    pp_lock_destroy(l);
}

static void t_frame_trailing(void)
{
    pp_lock *l = new_lock();
    pp_values *v = NULL, *d = NULL;
    pp__frame_hdr h;
    pp__buf b;

    pp__buf_init(&b);
    build_full_frame(&b, l, &v);
    /* Garbage inside the declared length, after the tuple. */
    PP_ASSERT_STATUS(pp__buf_put_u8(&b, 0), PP_OK);
    b.data[4]++;
    PP_ASSERT_STATUS(parse_tuple_frame(b.data, b.len, &h, &d), PP_EPROTO);
    CU_ASSERT_PTR_NULL(d);
    /* Declared length shorter than the bytes (a frame with a tail). */
    b.data[4]--;
    PP_ASSERT_STATUS(parse_tuple_frame(b.data, b.len, &h, &d), PP_EPROTO);
    pp_values_destroy(v);
    pp__buf_free(&b);
    pp_lock_destroy(l);
}

static void set_le32(uint8_t *p, uint32_t x)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void t_frame_bad_header(void)
{
    uint8_t good[PP__FRAME_HDR], p[PP__FRAME_HDR];
    pp__frame_hdr h;
    pp__buf b;
    size_t at, i;

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_RESULT, 3, 9, &at), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(&b, at), PP_OK);
    memcpy(good, b.data, sizeof good);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(good, &h), PP_OK);
    /* Any change to magic/version, flags or reserved bytes is refused
     * (byte 9: flags; PP__FLAG_SCALARS is the one defined flag, so flip
     * another bit there). */
    for (i = 0; i < PP__FRAME_HDR; i++) {
        if (i >= 4 && i != 9 && (i < 12 || i >= 16))
            continue;
        memcpy(p, good, sizeof p);
        p[i] ^= i == 9 ? 0x02 : 0x01;
        PP_ASSERT_MSG(pp__frame_parse_hdr(p, &h) == PP_EPROTO, "flipped byte %u", (unsigned)i);
    }
    /* The scalar-column flag: on RESULT and TASK only, and alone. */
    memcpy(p, good, sizeof p);
    p[9] = PP__FLAG_SCALARS;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_OK);
    CU_ASSERT_EQUAL(h.flags, PP__FLAG_SCALARS);
    p[8] = PP__MSG_TASK;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_OK);
    p[8] = PP__MSG_READY;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    p[8] = PP__MSG_RESULT;
    p[9] = PP__FLAG_SCALARS | 0x80;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    memcpy(p, good, sizeof p);
    p[3] = PP__WIRE_VERSION + 1;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    memcpy(p, good, sizeof p); /* types 0 and past the last */
    p[8] = 0;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    p[8] = PP__MSG_MAX_ + 1;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    memcpy(p, good, sizeof p); /* length: limit ok, limit + 1 refused */
    set_le32(p + 4, PP__FRAME_MAX);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_OK);
    CU_ASSERT_EQUAL(h.length, PP__FRAME_MAX);
    set_le32(p + 4, PP__FRAME_MAX + 1);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    set_le32(p + 4, UINT32_MAX);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(p, &h), PP_EPROTO);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(NULL, &h), PP_EINVAL);
    PP_ASSERT_STATUS(pp__frame_begin(&b, 0, 0, 0, &at), PP_EINVAL);
    PP_ASSERT_STATUS(pp__frame_begin(&b, PP__MSG_MAX_ + 1, 0, 0, &at), PP_EINVAL);
    pp__buf_free(&b);
}

static void t_frame_end_too_big(void)
{
    pp__frame_hdr h;
    pp__buf b;
    size_t first_len, at;

    pp__buf_init(&b);
    /* A complete frame first: it must survive the failure of the next. */
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_QUIT, 0, 1, &at), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(&b, at), PP_OK);
    first_len = b.len;
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_TASK, 1, 2, &at), PP_OK);
    CU_ASSERT_EQUAL(at, first_len);
    PP_ASSERT_STATUS_FATAL(pp__buf_reserve(&b, (size_t)PP__FRAME_MAX + 1), PP_OK);
    memset(b.data + b.len, 0xab, (size_t)PP__FRAME_MAX + 1);
    b.len += (size_t)PP__FRAME_MAX + 1;
    PP_ASSERT_STATUS(pp__frame_end(&b, at), PP_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, first_len);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(b.data, &h), PP_OK);
    CU_ASSERT(h.type == PP__MSG_QUIT && h.length == 0 && h.id == 1);
    /* Exactly the limit is fine. */
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_TASK, 1, 3, &at), PP_OK);
    b.len += (size_t)PP__FRAME_MAX; /* capacity reserved above */
    PP_ASSERT_STATUS(pp__frame_end(&b, at), PP_OK);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(b.data + at, &h), PP_OK);
    CU_ASSERT_EQUAL(h.length, PP__FRAME_MAX);
    /* Misuse: no frame at at. */
    PP_ASSERT_STATUS(pp__frame_end(&b, b.len), PP_EINVAL);
    PP_ASSERT_STATUS(pp__frame_end(&b, 1), PP_EINVAL);
    pp__buf_free(&b);
}

/* ---------------------------------------------------- buffer / reader */

static void t_buf_reader(void)
{
    static const uint8_t expect[] = {0x7f, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04,
                                     0x03, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 'h',  'i'};
    const uint8_t *p;
    pp__buf b;
    pp__rd r;
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    size_t n;

    pp__buf_init(&b);
    PP_ASSERT_STATUS(pp__buf_put_u8(&b, 0x7f), PP_OK);
    PP_ASSERT_STATUS(pp__buf_put_u32(&b, 0x01020304u), PP_OK);
    PP_ASSERT_STATUS(pp__buf_put_u64(&b, UINT64_C(0x0102030405060708)), PP_OK);
    PP_ASSERT_STATUS(pp__buf_put_blob(&b, "hi", 2), PP_OK);
    PP_ASSERT_STATUS(pp__buf_put(&b, NULL, 0), PP_OK);
    CU_ASSERT_EQUAL_FATAL(b.len, sizeof expect);
    CU_ASSERT(memcmp(b.data, expect, sizeof expect) == 0);

    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS(pp__rd_u8(&r, &u8), PP_OK);
    PP_ASSERT_STATUS(pp__rd_u32(&r, &u32), PP_OK);
    PP_ASSERT_STATUS(pp__rd_u64(&r, &u64), PP_OK);
    CU_ASSERT(u8 == 0x7f && u32 == 0x01020304u && u64 == UINT64_C(0x0102030405060708));
    PP_ASSERT_STATUS(pp__rd_blob(&r, 1, &p, &n), PP_EPROTO); /* over max */
    CU_ASSERT_EQUAL(r.pos, 13);                              /* not moved */
    PP_ASSERT_STATUS(pp__rd_blob(&r, 2, &p, &n), PP_OK);
    CU_ASSERT(n == 2 && memcmp(p, "hi", 2) == 0);
    PP_ASSERT_STATUS(pp__rd_end(&r), PP_OK);
    PP_ASSERT_STATUS(pp__rd_u8(&r, &u8), PP_EPROTO);

    pp__rd_init(&r, b.data, 7); /* short reads fail without moving */
    PP_ASSERT_STATUS(pp__rd_u64(&r, &u64), PP_EPROTO);
    PP_ASSERT_STATUS(pp__rd_i64(&r, &i64), PP_EPROTO);
    CU_ASSERT_EQUAL(r.pos, 0);
    PP_ASSERT_STATUS(pp__rd_u8(&r, &u8), PP_OK);
    PP_ASSERT_STATUS(pp__rd_blob(&r, 100, &p, &n), PP_EPROTO); /* 0x01020304 > left */
    CU_ASSERT_EQUAL(r.pos, 1);
    CU_ASSERT_EQUAL(pp__rd_left(&r), 6);
    PP_ASSERT_STATUS(pp__rd_end(&r), PP_EPROTO);

    pp__buf_reset(&b);
    CU_ASSERT(b.len == 0 && b.cap > 0);
    PP_ASSERT_STATUS(pp__buf_put_i64(&b, INT64_MIN), PP_OK);
    pp__rd_init(&r, b.data, b.len);
    PP_ASSERT_STATUS(pp__rd_i64(&r, &i64), PP_OK);
    CU_ASSERT(i64 == INT64_MIN);
    PP_ASSERT_STATUS(pp__buf_put(&b, NULL, 1), PP_EINVAL);
    PP_ASSERT_STATUS(pp__buf_reserve(&b, SIZE_MAX), PP_ENOMEM);
#if SIZE_MAX > UINT32_MAX
    PP_ASSERT_STATUS(pp__buf_put_blob(&b, "x", (size_t)UINT32_MAX + 1), PP_ETOOBIG);
#endif
    CU_ASSERT_EQUAL(b.len, 8);
    pp__buf_free(&b);
    CU_ASSERT(b.data == NULL && b.len == 0 && b.cap == 0);
    pp__buf_free(&b);         /* idempotent */
    pp__rd_init(&r, NULL, 5); /* no memory means nothing to read */
    CU_ASSERT_EQUAL(pp__rd_left(&r), 0);
}

/* --------------------------------------------------------- registration */

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_int_roundtrip),
    PP_TEST(t_int_wire_format),
    PP_TEST(t_double_roundtrip),
    PP_TEST(t_str_roundtrip),
    PP_TEST(t_bytes_roundtrip),
    PP_TEST(t_empty_tuple),
    PP_TEST(t_lock_roundtrip),
    PP_TEST(t_lock_unresolved),
    PP_TEST(t_shm_roundtrip),
    PP_TEST(t_shm_wire_format),
    PP_TEST(t_shm_unresolved),
    PP_TEST(t_shm_pack_unpack),
    PP_TEST(t_copy_is_deep),
    PP_TEST(t_encode_one),
    PP_TEST(t_pack_unpack),
    PP_TEST(t_pack_errors),
    PP_TEST(t_unpack_errors),
    PP_TEST(t_getters_errors),
    PP_TEST(t_limit_value_size),
    PP_TEST(t_limit_items),
    PP_TEST(t_decode_bad_tags),
    PP_TEST(t_decode_bad_strings),
    PP_TEST(t_decode_bad_locks),
    PP_TEST(t_decode_bad_shm),
    PP_TEST(t_decode_bad_counts),
    PP_TEST(t_decode_args),
    PP_TEST(t_frame_roundtrip),
    PP_TEST(t_frame_truncated),
    PP_TEST(t_frame_trailing),
    PP_TEST(t_frame_bad_header),
    PP_TEST(t_frame_end_too_big),
    PP_TEST(t_buf_reader),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(values)
{
    pp_test_add_suite("values", cases);
}
