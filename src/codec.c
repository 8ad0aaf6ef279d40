/*
 * codec.c — procpool's wire format: growable byte buffers, a bounds-checked
 * reader, frame headers and value tuples (layout in codec.h).
 *
 * The decoding side reads bytes that come from another process, which may
 * be buggy, dying half-way through a write, or (for a manager over TCP)
 * hostile. So every read is checked against the bytes that are left before
 * it happens, every length against its limit before anything is allocated
 * for it, and a failed read leaves the reader where it was. Integers are
 * assembled byte by byte: no alignment or host byte order assumptions.
 */
#include <string.h>
#include <stdlib.h>

#include <apr_atomic.h>

#include "codec.h"
#include "platform.h"
#include "pp_internal.h"
#include "value_internal.h"

/* "PPF" + version: a peer built from another wire version is refused at
 * the first header instead of misreading the payload. */
static const uint8_t frame_magic[4] = {'P', 'P', 'F', (uint8_t)PP__WIRE_VERSION};

/* Smallest encoding of one tuple item: type + u8 name length + 1 name byte
 * (a lock or shm block). Bounds the item count by the bytes actually
 * present, before anything is allocated for the items. */
#define MIN_ITEM_ENC 3u

/* ------------------------------------------------------------ endianness */

static void st_le16(uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
}

static void st_le32(uint8_t *p, uint32_t x)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void st_le64(uint8_t *p, uint64_t x)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static uint16_t ld_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t ld_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t ld_le64(const uint8_t *p)
{
    return (uint64_t)ld_le32(p) | ((uint64_t)ld_le32(p + 4) << 32);
}

/* ---------------------------------------------------------------- buffer */

/*
 * Large blocks: populated memory from pp__plat_big_alloc, in power-of-two
 * size classes from PP__PLAT_BIG_MIN up, and a small process-wide cache
 * of freed blocks (at most BIG_CACHE_MAX bytes) so that the next large map
 * reuses memory that is already mapped instead of mapping and faulting it
 * in again. Blocks above the largest class are mapped and unmapped
 * directly. The cache's lock is a spin on one word (apr_atomic): it is
 * held for a few pointer moves only.
 */
#define BIG_CLASSES 9 /* 256 KiB .. 64 MiB */
#define BIG_CACHE_MAX ((size_t)64 * 1024 * 1024)

typedef struct big_free {
    struct big_free *next;
} big_free;

static struct {
    volatile apr_uint32_t lock;
    big_free *head[BIG_CLASSES];
    size_t bytes;
} g_big;

/* Size class of an n-byte request (n >= PP__PLAT_BIG_MIN), or -1 above the
 * largest; *size is what is really allocated. */
static int big_class(size_t n, size_t *size)
{
    size_t sz = PP__PLAT_BIG_MIN;
    int k;

    for (k = 0; k < BIG_CLASSES; k++, sz *= 2) {
        if (n <= sz) {
            *size = sz;
            return k;
        }
    }
    *size = n;
    return -1;
}

static void big_lock(void)
{
    while (apr_atomic_cas32(&g_big.lock, 1, 0) != 0) {
    }
}

static void big_unlock(void)
{
    apr_atomic_set32(&g_big.lock, 0);
}

/* n >= PP__PLAT_BIG_MIN bytes; *cap gets the usable size. */
static void *big_alloc(size_t n, int zero, size_t *cap)
{
    big_free *b = NULL;
    int k = big_class(n, cap);

    if (k >= 0) {
        big_lock();
        b = g_big.head[k];
        if (b != NULL) {
            g_big.head[k] = b->next;
            g_big.bytes -= *cap;
        }
        big_unlock();
    }
    if (b == NULL)
        return pp__plat_big_alloc(*cap); /* zeroed */
    if (zero)
        memset(b, 0, n);
    return b;
}

static void big_release(void *p, size_t n)
{
    size_t size;
    int k = big_class(n, &size);
    int cached = 0;

    if (p == NULL)
        return;
    if (k >= 0) {
        big_lock();
        if (g_big.bytes + size <= BIG_CACHE_MAX) {
            ((big_free *)p)->next = g_big.head[k];
            g_big.head[k] = p;
            g_big.bytes += size;
            cached = 1;
        }
        big_unlock();
    }
    if (!cached)
        pp__plat_big_free(p, size);
}

/* In a forked child: another thread of the parent may have held the lock
 * or been half-way through a list update at the fork. Start over with an
 * empty cache (the cached blocks stay mapped, copy-on-write, unused). */
static void big_forget_after_fork(void)
{
    int k;

    for (k = 0; k < BIG_CLASSES; k++)
        g_big.head[k] = NULL;
    g_big.bytes = 0;
    apr_atomic_set32(&g_big.lock, 0);
}

void pp__mem_init(void)
{
    static int registered;

    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(big_forget_after_fork);
    }
}

void pp__mem_trim(void)
{
    big_free *list[BIG_CLASSES], *b;
    size_t size;
    int k;

    big_lock();
    for (k = 0; k < BIG_CLASSES; k++) {
        list[k] = g_big.head[k];
        g_big.head[k] = NULL;
    }
    g_big.bytes = 0;
    big_unlock();
    for (k = 0, size = PP__PLAT_BIG_MIN; k < BIG_CLASSES; k++, size *= 2) {
        while ((b = list[k]) != NULL) {
            list[k] = b->next;
            pp__plat_big_free(b, size);
        }
    }
}

void *pp__mem_zalloc(size_t n)
{
    size_t cap;

    return n < PP__PLAT_BIG_MIN ? calloc(1, n ? n : 1) : big_alloc(n, 1, &cap);
}

void pp__mem_free(void *p, size_t n)
{
    if (n < PP__PLAT_BIG_MIN)
        free(p);
    else
        big_release(p, n);
}

void pp__buf_init(pp__buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->big = 0;
}

static void buf_release(uint8_t *data, size_t cap, int big)
{
    if (big)
        big_release(data, cap);
    else
        free(data);
}

void pp__buf_free(pp__buf *b)
{
    if (b == NULL)
        return;
    buf_release(b->data, b->cap, b->big);
    pp__buf_init(b);
}

void pp__buf_reset(pp__buf *b)
{
    b->len = 0;
}

pp_status pp__buf_reserve(pp__buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *data;

    if (extra <= b->cap - b->len)
        return PP_OK;
    if (extra > SIZE_MAX - b->len)
        return PP_ENOMEM;
    need = b->len + extra;
    /* Doubling keeps appends amortised O(1); near SIZE_MAX take exactly
     * what is needed instead of overflowing. */
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap < PP__PLAT_BIG_MIN) {
        data = realloc(b->data, cap);
        if (data == NULL)
            return PP_ENOMEM;
    } else {
        /* Large buffers (a map's TASK frames) come populated: see
         * pp__plat_big_alloc. */
        data = big_alloc(cap, 0, &cap);
        if (data == NULL)
            return PP_ENOMEM;
        if (b->len > 0)
            memcpy(data, b->data, b->len);
        buf_release(b->data, b->cap, b->big);
        b->big = 1;
    }
    b->data = data;
    b->cap = cap;
    return PP_OK;
}

pp_status pp__buf_put(pp__buf *b, const void *p, size_t n)
{
    pp_status st;

    if (n == 0)
        return PP_OK;
    if (p == NULL)
        return PP_EINVAL;
    st = pp__buf_reserve(b, n);
    if (st != PP_OK)
        return st;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return PP_OK;
}

pp_status pp__buf_put_u8(pp__buf *b, uint8_t x)
{
    return pp__buf_put(b, &x, 1);
}

pp_status pp__buf_put_u32(pp__buf *b, uint32_t x)
{
    uint8_t le[4];

    st_le32(le, x);
    return pp__buf_put(b, le, sizeof le);
}

pp_status pp__buf_put_u64(pp__buf *b, uint64_t x)
{
    uint8_t le[8];

    st_le64(le, x);
    return pp__buf_put(b, le, sizeof le);
}

pp_status pp__buf_put_i64(pp__buf *b, int64_t x)
{
    /* Two's complement on the wire; the conversion to uint64_t is defined
     * for every value. */
    return pp__buf_put_u64(b, (uint64_t)x);
}

pp_status pp__buf_put_blob(pp__buf *b, const void *p, size_t n)
{
    pp_status st;

    if (n > UINT32_MAX)
        return PP_ETOOBIG;
    if (p == NULL && n > 0)
        return PP_EINVAL;
    /* One reservation so a failure cannot leave a length without bytes. */
    st = pp__buf_reserve(b, 4 + n);
    if (st != PP_OK)
        return st;
    pp__buf_put_u32(b, (uint32_t)n);
    return pp__buf_put(b, p, n);
}

/* ---------------------------------------------------------------- reader */

void pp__rd_init(pp__rd *r, const void *p, size_t len)
{
    /* Never keep a NULL base: even NULL + 0 is undefined behaviour. */
    static const uint8_t empty[1] = {0};

    r->p = p ? (const uint8_t *)p : empty;
    r->len = p ? len : 0;
    r->pos = 0;
}

size_t pp__rd_left(const pp__rd *r)
{
    return r->len - r->pos;
}

pp_status pp__rd_end(const pp__rd *r)
{
    return pp__rd_left(r) == 0 ? PP_OK : PP_EPROTO;
}

/* Borrow the next n bytes, or fail without moving. */
static pp_status rd_take(pp__rd *r, size_t n, const uint8_t **p)
{
    if (n > pp__rd_left(r))
        return PP_EPROTO;
    *p = r->p + r->pos;
    r->pos += n;
    return PP_OK;
}

pp_status pp__rd_u8(pp__rd *r, uint8_t *x)
{
    const uint8_t *p;
    pp_status st = rd_take(r, 1, &p);

    if (st == PP_OK)
        *x = p[0];
    return st;
}

pp_status pp__rd_u32(pp__rd *r, uint32_t *x)
{
    const uint8_t *p;
    pp_status st = rd_take(r, 4, &p);

    if (st == PP_OK)
        *x = ld_le32(p);
    return st;
}

pp_status pp__rd_u64(pp__rd *r, uint64_t *x)
{
    const uint8_t *p;
    pp_status st = rd_take(r, 8, &p);

    if (st == PP_OK)
        *x = ld_le64(p);
    return st;
}

pp_status pp__rd_i64(pp__rd *r, int64_t *x)
{
    uint64_t u;
    pp_status st = pp__rd_u64(r, &u);

    /* Two's complement back without the implementation-defined conversion
     * of an out-of-range unsigned value. */
    if (st == PP_OK)
        *x = u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
    return st;
}

pp_status pp__rd_blob(pp__rd *r, size_t max, const uint8_t **p, size_t *n)
{
    size_t start = r->pos;
    uint32_t len;
    pp_status st;

    st = pp__rd_u32(r, &len);
    if (st != PP_OK)
        return st;
    if (len > max)
        st = PP_EPROTO;
    else
        st = rd_take(r, len, p);
    if (st != PP_OK) {
        r->pos = start;
        return st;
    }
    *n = len;
    return PP_OK;
}

/* ---------------------------------------------------------------- frames */

pp_status pp__frame_begin(pp__buf *b, uint8_t type, uint16_t count, uint64_t id, size_t *at)
{
    uint8_t h[PP__FRAME_HDR];

    if (b == NULL || at == NULL || type == 0 || type > PP__MSG_MAX_)
        return PP_EINVAL;
    memset(h, 0, sizeof h);
    memcpy(h, frame_magic, sizeof frame_magic);
    /* length (offset 4) stays 0 until pp__frame_end() */
    h[8] = type;
    st_le16(h + 10, count);
    st_le64(h + 16, id);
    *at = b->len;
    return pp__buf_put(b, h, sizeof h);
}

pp_status pp__frame_end(pp__buf *b, size_t at)
{
    size_t payload;

    if (b == NULL || at > b->len || b->len - at < PP__FRAME_HDR ||
        memcmp(b->data + at, frame_magic, sizeof frame_magic) != 0)
        return PP_EINVAL;
    payload = b->len - at - PP__FRAME_HDR;
    if (payload > PP__FRAME_MAX) {
        /* Drop the whole frame: frames before it in b stay sendable. */
        b->len = at;
        return PP_ETOOBIG;
    }
    st_le32(b->data + at + 4, (uint32_t)payload);
    return PP_OK;
}

void pp__frame_set_id(pp__buf *b, size_t at, uint64_t id)
{
    st_le64(b->data + at + 16, id);
}

void pp__frame_set_flags(pp__buf *b, size_t at, uint8_t flags)
{
    b->data[at + 9] = flags;
}

pp_status pp__frame_parse_hdr(const uint8_t *p, pp__frame_hdr *h)
{
    pp__frame_hdr f;

    if (p == NULL || h == NULL)
        return PP_EINVAL;
    if (memcmp(p, frame_magic, sizeof frame_magic) != 0)
        return PP_EPROTO;
    f.length = ld_le32(p + 4);
    f.type = p[8];
    f.flags = p[9];
    f.count = ld_le16(p + 10);
    f.id = ld_le64(p + 16);
    if (f.length > PP__FRAME_MAX || f.type == 0 || f.type > PP__MSG_MAX_ ||
        ld_le32(p + 12) != 0)
        return PP_EPROTO;
    if (f.flags != 0 && (f.flags != PP__FLAG_SCALARS ||
                         (f.type != PP__MSG_TASK && f.type != PP__MSG_RESULT)))
        return PP_EPROTO;
    *h = f;
    return PP_OK;
}

/* ------------------------------------------------------- value encoding */

static pp_status encode_item(const pp_values *v, size_t i, pp__buf *b)
{
    pp_type type = pp_values_type(v, i);
    const char *s;
    const void *p;
    int64_t x;
    uint64_t bits;
    size_t n;
    pp_status st;

    st = pp__buf_put_u8(b, (uint8_t)type);
    if (st != PP_OK)
        return st;
    switch (type) {
    case PP_TYPE_INT:
        pp_values_get_int(v, i, &x);
        return pp__buf_put_i64(b, x);
    case PP_TYPE_DOUBLE:
        pp__values_get_double_bits(v, i, &bits); /* exact: NaN payloads, -0.0 */
        return pp__buf_put_u64(b, bits);
    case PP_TYPE_STR:
        pp_values_get_str(v, i, &s);
        return pp__buf_put_blob(b, s, strlen(s));
    case PP_TYPE_BYTES:
        pp_values_get_bytes(v, i, &p, &n);
        return pp__buf_put_blob(b, p, n);
    case PP_TYPE_LOCK:
    case PP_TYPE_SHM:
        s = pp__values_named_name(v, i);
        n = strlen(s); /* <= PP_NAME_MAX: checked when added */
        st = pp__buf_put_u8(b, (uint8_t)n);
        return st == PP_OK ? pp__buf_put(b, s, n) : st;
    default:
        return PP_EINVAL; /* cannot happen: the container only holds the above */
    }
}

pp_status pp__values_encode_scalar(pp_type type, uint64_t bits, pp__buf *b)
{
    uint8_t *p;
    pp_status st = pp__buf_reserve(b, PP__VALUES_HDR + 9);

    if (st != PP_OK)
        return st;
    p = b->data + b->len;
    st_le32(p, 1);
    p[4] = (uint8_t)type;
    st_le64(p + 5, bits);
    b->len += PP__VALUES_HDR + 9;
    return PP_OK;
}

pp_status pp__values_encode(const pp_values *v, pp__buf *b)
{
    size_t start, i, count = pp_values_count(v);
    uint64_t bits;
    pp_type type;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    if (count == 1 && pp__values_item_scalar(v, 0, &type, &bits))
        return pp__values_encode_scalar(type, bits, b);
    start = b->len;
    /* The container tracks its exact encoded size: one reservation, after
     * which the puts below cannot fail for lack of memory. */
    st = pp__buf_reserve(b, pp__values_encoded_size(v));
    if (st != PP_OK)
        return st;
    st = pp__buf_put_u32(b, (uint32_t)count);
    for (i = 0; st == PP_OK && i < count; i++)
        st = encode_item(v, i, b);
    if (st != PP_OK)
        b->len = start;
    return st;
}

pp_status pp__values_encode_one(const pp_values *v, size_t i, pp__buf *b)
{
    size_t start;
    uint64_t bits;
    pp_type type;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    if (i >= pp_values_count(v))
        return PP_ERANGE;
    if (pp__values_item_scalar(v, i, &type, &bits))
        return pp__values_encode_scalar(type, bits, b);
    start = b->len;
    st = pp__buf_put_u32(b, 1);
    if (st == PP_OK)
        st = encode_item(v, i, b);
    if (st != PP_OK)
        b->len = start; /* no half-written tuple */
    return st;
}

/* ------------------------------------------------------- value decoding */

/* Where the first attach failure (lock or shm) is reported (all optional). */
typedef struct attach_report {
    pp_status *st;
    char *name;
    size_t name_len;
    int seen;
} attach_report;

static void attach_report_reset(attach_report *rep)
{
    rep->seen = 0;
    if (rep->st != NULL)
        *rep->st = PP_OK;
    if (rep->name != NULL && rep->name_len > 0)
        rep->name[0] = '\0';
}

static void report_attach_failure(attach_report *rep, const char *name, pp_status st)
{
    size_t n;

    if (rep->seen)
        return;
    rep->seen = 1;
    if (rep->st != NULL)
        *rep->st = st;
    if (rep->name != NULL && rep->name_len > 0) {
        n = strlen(name);
        if (n >= rep->name_len)
            n = rep->name_len - 1;
        memcpy(rep->name, name, n);
        rep->name[n] = '\0';
    }
}

/* The container rejects only what the checks here already exclude, or
 * runs out of memory; anything else means the input was malformed. */
static pp_status add_status(pp_status st)
{
    return st == PP_OK || st == PP_ENOMEM ? st : PP_EPROTO;
}

static pp_status decode_blob(pp__rd *r, pp_values *v, int is_str)
{
    const uint8_t *p;
    size_t n;
    pp_status st;

    st = pp__rd_blob(r, PP_VALUE_MAX_BYTES, &p, &n);
    if (st != PP_OK)
        return st;
    if (v == NULL) /* validating only */
        return is_str && memchr(p, '\0', n) != NULL ? PP_EPROTO : PP_OK;
    if (is_str) /* embedded NUL -> PP_EINVAL -> PP_EPROTO */
        return add_status(pp__values_add_str_n(v, (const char *)p, n));
    return add_status(pp_values_add_bytes(v, p, n));
}

/* Read the u8 length + name of a lock or shm item into name. */
static pp_status decode_name(pp__rd *r, char name[PP__NAME_BUF])
{
    const uint8_t *p;
    uint8_t n;
    pp_status st;

    st = pp__rd_u8(r, &n);
    if (st != PP_OK)
        return st;
    if (n == 0 || n > PP_NAME_MAX)
        return PP_EPROTO;
    st = rd_take(r, n, &p);
    if (st != PP_OK)
        return st;
    /* pp__name_check() would stop at an embedded NUL and accept a prefix */
    if (memchr(p, '\0', n) != NULL)
        return PP_EPROTO;
    memcpy(name, p, n);
    name[n] = '\0';
    return pp__name_check(name) == PP_OK ? PP_OK : PP_EPROTO;
}

/* A lock or shm item: the name, then a process-lifetime handle for it. A
 * handle that cannot be attached is not a malformed tuple: the item keeps
 * the reason, and the first one is reported. */
static pp_status decode_named(pp__rd *r, uint8_t type, pp_values *v, attach_report *rep)
{
    char name[PP__NAME_BUF];
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    size_t start = r->pos;
    pp_status st, rst;

    st = decode_name(r, name);
    if (st != PP_OK) {
        r->pos = start;
        return st;
    }
    if (v == NULL) /* validating only: nothing is attached */
        return PP_OK;
    rst = type == PP_TYPE_LOCK ? pp__lock_resolve(name, &lock) : pp__shm_resolve(name, &shm);
    if (rst != PP_OK) {
        lock = NULL;
        shm = NULL;
        report_attach_failure(rep, name, rst);
    }
    if (type == PP_TYPE_LOCK)
        return add_status(pp__values_add_lock_named(v, name, lock, rst));
    return add_status(pp__values_add_shm_named(v, name, shm, rst));
}

static pp_status decode_item(pp__rd *r, pp_values *v, attach_report *rep)
{
    uint64_t bits;
    int64_t x;
    uint8_t type;
    pp_status st;

    st = pp__rd_u8(r, &type);
    if (st != PP_OK)
        return st;
    switch (type) {
    case PP_TYPE_INT:
        st = pp__rd_i64(r, &x);
        if (st != PP_OK || v == NULL)
            return st;
        return add_status(pp_values_add_int(v, x));
    case PP_TYPE_DOUBLE:
        st = pp__rd_u64(r, &bits);
        if (st != PP_OK || v == NULL)
            return st;
        return add_status(pp__values_add_double_bits(v, bits));
    case PP_TYPE_STR:
        return decode_blob(r, v, 1);
    case PP_TYPE_BYTES:
        return decode_blob(r, v, 0);
    case PP_TYPE_LOCK:
    case PP_TYPE_SHM:
        return decode_named(r, type, v, rep);
    default:
        return PP_EPROTO;
    }
}

static pp_status decode_items(pp__rd *r, pp_values *v, attach_report *rep)
{
    uint32_t count, i;
    pp_status st;

    st = pp__rd_u32(r, &count);
    if (st != PP_OK)
        return st;
    if (count > PP_VALUES_MAX_ITEMS || count > pp__rd_left(r) / MIN_ITEM_ENC)
        return PP_EPROTO;
    st = v != NULL ? add_status(pp__values_reserve(v, count)) : PP_OK;
    for (i = 0; st == PP_OK && i < count; i++)
        st = decode_item(r, v, rep);
    return st;
}

/* Decode into the empty tuple v; on failure v is left empty and the
 * reader unmoved. */
static pp_status decode_into(pp__rd *r, pp_values *v, pp_status *attach_status,
                             char *attach_err_name, size_t attach_err_name_len)
{
    attach_report rep;
    size_t start;
    pp_status st;

    rep.st = attach_status;
    rep.name = attach_err_name;
    rep.name_len = attach_err_name_len;
    attach_report_reset(&rep);
    start = r->pos;
    st = decode_items(r, v, &rep);
    if (st != PP_OK) {
        /* Nothing consumed, nothing returned, nothing to report about
         * handles of a tuple that does not exist. */
        r->pos = start;
        pp__values_clear(v);
        attach_report_reset(&rep);
    }
    return st;
}

pp_status pp__values_decode(pp__rd *r, pp_values **out, pp_status *attach_status,
                            char *attach_err_name, size_t attach_err_name_len)
{
    pp_values *v;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (r == NULL)
        return PP_EINVAL;
    st = pp_values_create(&v);
    if (st != PP_OK)
        return st;
    st = decode_into(r, v, attach_status, attach_err_name, attach_err_name_len);
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st;
    }
    *out = v;
    return PP_OK;
}

pp_status pp__values_decode_reuse(pp__rd *r, pp_values *v, pp_status *attach_status,
                                  char *attach_err_name, size_t attach_err_name_len)
{
    if (r == NULL || v == NULL)
        return PP_EINVAL;
    pp__values_clear(v);
    return decode_into(r, v, attach_status, attach_err_name, attach_err_name_len);
}

int pp__values_peek_scalar(const pp__rd *r, pp_type *type, uint64_t *bits)
{
    const uint8_t *p = r->p + r->pos;

    if (pp__rd_left(r) < PP__VALUES_HDR + 9 || ld_le32(p) != 1)
        return 0;
    if (p[4] != (uint8_t)PP_TYPE_INT && p[4] != (uint8_t)PP_TYPE_DOUBLE)
        return 0;
    *type = (pp_type)p[4];
    *bits = ld_le64(p + 5);
    return 1;
}

pp_status pp__values_skip(pp__rd *r)
{
    size_t start;
    pp_status st;

    if (r == NULL)
        return PP_EINVAL;
    start = r->pos;
    st = decode_items(r, NULL, NULL);
    if (st != PP_OK)
        r->pos = start;
    return st;
}
