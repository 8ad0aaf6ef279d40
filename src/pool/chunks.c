/*
 * chunks.c — encoding a submission's items into TASK frames (chunks),
 * batch by batch (submit.c queues each batch as it is built).
 *
 * A chunk holds at most its chunk size of items and, for automatic chunk
 * sizes, about CHUNK_TARGET bytes of arguments (an item larger than that
 * gets a chunk of its own); an explicit chunk size is split only where a
 * chunk would not fit one message. A batch stops at about BATCH_BYTES of
 * frames, so the parent never holds more than the batch being built plus
 * what is queued (submit.c waits for room) beside the caller's input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "values/column.h"
#include "values/value_internal.h"

/* Arguments per automatic chunk: below the 4 MiB size class of pp__mem
 * with the frame's header, so a chunk's frame reuses cached memory. */
#define CHUNK_TARGET ((size_t)4 * 1024 * 1024 - 4096)
/* An automatic scalar column chunk's frame, at most: 65,535 items would
 * just pass the 512 KiB size class of pp__mem and take a populated 1 MiB
 * block (a 1M-int map's frames: 16 MiB instead of 8). */
#define SCALAR_FRAME_MAX ((size_t)512 * 1024)
/* A sync map's string or byte column chunk of at least this many entry
 * bytes (and at most an inbox's worth) is made lazy (pool_internal.h):
 * its entries are copied once, into the worker's inbox, not into a frame
 * first and the inbox then. */
#define LAZY_MIN ((size_t)16 * 1024)
#define LAZY_MAX ((size_t)4 * 1024 * 1024)
/* Frames per batch, at most (a batch holds at least one chunk). */
#define BATCH_BYTES ((size_t)8 * 1024 * 1024)

void pp__chunk_list_free(pp__chunk *c)
{
    while (c != NULL) {
        pp__chunk *next = c->next;
        pp__buf_free(&c->frame);
        free(c);
        c = next;
    }
}

/* The argument tuple of item i when it is not encoded from items directly
 * (a generated item, or one with extra values): in b->tmp. */
static pp_status make_tmp(pp__builder *b, size_t i)
{
    const pp__item_src *s = b->src;
    pp_status st = PP_OK;

    pp__values_clear(b->tmp);
    if (s->gen != NULL)
        st = s->gen(s->gen_ud, i, b->tmp);
    else if (s->arr != NULL)
        st = pp_values_add_bytes(b->tmp, s->arr + i * s->arr_size, s->arr_size);
    else if (s->items != NULL)
        st = pp__values_append(b->tmp, s->items, i, 1);
    else if (s->argv != NULL)
        st = pp__values_append(b->tmp, s->argv[i], 0, pp_values_count(s->argv[i]));
    else if (s->one != NULL)
        st = pp__values_append(b->tmp, s->one, 0, pp_values_count(s->one));
    if (st == PP_OK && s->extra != NULL)
        st = pp__values_append(b->tmp, s->extra, 0, pp_values_count(s->extra));
    return st;
}

/* Does item i go through b->tmp? */
static int via_tmp(const pp__builder *b)
{
    return b->src->gen != NULL || b->src->extra != NULL;
}

/* Bytes item i's arguments take in a frame, without building anything. */
static size_t item_size(const pp__item_src *s, size_t i)
{
    size_t n;

    if (s->arr != NULL)
        n = PP__VALUES_HDR + pp__tuple_item_size(PP_TYPE_BYTES, s->arr_size);
    else if (s->items != NULL)
        n = PP__VALUES_HDR + pp__values_item_encoded_size(s->items, i);
    else if (s->argv != NULL)
        n = pp__values_encoded_size(s->argv[i]);
    else
        n = pp__values_encoded_size(s->one);
    if (s->extra != NULL)
        n += pp__values_encoded_size(s->extra) - PP__VALUES_HDR;
    return n;
}

pp_status pp__builder_init(pp__builder *b, const pp__fnref *ref, const pp__item_src *src, size_t n,
                           size_t cs, int auto_cs, size_t batch_items)
{
    memset(b, 0, sizeof *b);
    b->ref = ref;
    b->src = src;
    b->n = n;
    b->cs = cs;
    b->fixed = PP__FRAME_HDR + pp__fnref_encoded_size(ref) + 8;
    b->target = auto_cs ? CHUNK_TARGET : PP__FRAME_MAX;
    b->batch_items = batch_items;
    return via_tmp(b) ? pp_values_create(&b->tmp) : PP_OK;
}

void pp__builder_free(pp__builder *b)
{
    pp_values_destroy(b->tmp);
    b->tmp = NULL;
    pp__chunk_list_free(b->spare);
    b->spare = NULL;
}

pp_status pp__builder_check(const pp__builder *b)
{
    const pp__item_src *s = b->src;
    size_t i, room = PP__FRAME_MAX - (b->fixed - PP__FRAME_HDR);

    if (s->gen != NULL)
        return PP_OK;                       /* checked as each item is made */
    if (s->arr != NULL && s->extra == NULL) /* every record has one size */
        return b->n == 0 || item_size(s, 0) <= room ? PP_OK : PP_ETOOBIG;
    /* n <= PP_VALUES_MAX_ITEMS and sizes <= PP_MESSAGE_MAX: no overflow */
    if (s->items != NULL && s->extra == NULL &&
        pp__values_encoded_size(s->items) + PP__VALUES_HDR * b->n <= room)
        return PP_OK;
    for (i = 0; i < b->n; i++) {
        if (item_size(s, i) > room)
            return PP_ETOOBIG;
    }
    return PP_OK;
}

static pp_status chunk_begin(pp__builder *b, size_t first, size_t reserve, pp__chunk **out,
                             size_t *at)
{
    pp__chunk *c = b->spare;
    pp_status st;

    if (c != NULL) {
        b->spare = NULL; /* zero but for its frame's memory (pp__chunk_free) */
    } else {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return PP_ENOMEM;
        pp__buf_init(&c->frame);
    }
    c->first = first;
    /* One allocation of the exact size where it is known: large frames
     * are populated memory in power-of-two classes (pp__mem), where a
     * guess that overshoots a class costs twice the memory. */
    st = pp__buf_reserve(&c->frame, reserve);
    if (st == PP_OK)
        st = pp__frame_begin(&c->frame, PP__MSG_TASK, 0, 0, at);
    if (st == PP_OK)
        st = pp__fnref_encode(b->ref, &c->frame);
    if (st == PP_OK)
        st = pp__buf_put_u64(&c->frame, (uint64_t)first);
    if (st != PP_OK) {
        pp__chunk_list_free(c);
        return st;
    }
    *out = c;
    return PP_OK;
}

static pp_status chunk_end(const pp__builder *b, pp__chunk *c, size_t at, int column)
{
    pp__frame_set_count(&c->frame, at, c->count);
    pp__frame_set_flags(&c->frame, at, (uint8_t)((column ? PP__FLAG_SCALARS : 0) | b->src->flags));
    return pp__frame_end(&c->frame, at);
}

/* Item i of an argv or arr source as one column value (values/column.h):
 * 1 with its type and its bits (int, double) or bytes (string, buffer);
 * 0 if its arguments are not exactly one such value. */
static int one_value(const pp__item_src *s, size_t i, pp_type *type, uint64_t *bits,
                     const uint8_t **p, size_t *n)
{
    const pp_values *v;

    if (s->arr != NULL) {
        *type = PP_TYPE_BYTES;
        *p = s->arr + i * s->arr_size;
        *n = s->arr_size;
        return 1;
    }
    v = s->argv[i];
    if (pp_values_count(v) != 1)
        return 0;
    if (pp__values_item_scalar(v, 0, type, bits))
        return 1;
    *type = pp_values_type(v, 0);
    return pp__values_item_blob(v, 0, p, n);
}

/* The string or byte column entries of items first..first+count-1 of an
 * argv or arr source whose items are each one such value (checked when
 * the chunk was made) at d. */
static void put_each_blobs(const pp__item_src *s, size_t first, size_t count, uint8_t *d)
{
    const uint8_t *p = NULL;
    uint64_t bits = 0;
    size_t k, n = 0;
    pp_type t;

    for (k = 0; k < count; k++) {
        (void)one_value(s, first + k, &t, &bits, &p, &n);
        pp__st_le32(d, (uint32_t)n); /* <= PP_VALUE_MAX_BYTES */
        if (n > 0)
            memcpy(d + 4, p, n);
        d[4 + n] = 0;
        d += PP__COLUMN_BLOB_ENC(n);
    }
}

/* Should a blob column chunk of these entry bytes be lazy? */
static int want_lazy(const pp__builder *b, size_t bytes)
{
    return b->lazy && b->src->extra == NULL && bytes >= LAZY_MIN && bytes <= LAZY_MAX;
}

/* Make c (begun, with room for its type byte) a lazy chunk of count
 * items of type and bytes of entries from b's source: only the column's
 * type byte is in its frame. */
static void make_lazy(const pp__builder *b, pp__chunk *c, pp_type type, size_t count, size_t bytes)
{
    c->frame.data[c->frame.len++] = (uint8_t)type;
    c->lazy_bytes = bytes;
    c->l_items = b->src->items;
    c->l_argv = b->src->argv;
    c->l_arr = b->src->arr;
    c->l_arr_size = b->src->arr_size;
    c->count = (uint16_t)count;
}

/* End column chunk c (after chunk_begin at `at` and the column's bytes
 * or make_lazy) unless *st is a failure already: 1, with *out, or with
 * the failure in *st and c freed. */
static int column_end(pp__builder *b, pp__chunk *c, size_t at, pp__chunk **out, pp_status *st)
{
    if (*st == PP_OK)
        *st = chunk_end(b, c, at, 1);
    if (*st != PP_OK) {
        pp__chunk_list_free(c);
        return 1;
    }
    *out = c;
    return 1;
}

/* Item i of lazy chunk c's argv or arr source as one string or buffer of
 * type: 1, or 0 if it is not one any more. */
static int lazy_value(const pp__chunk *c, size_t i, pp_type type, const uint8_t **p, size_t *n)
{
    pp__item_src s;
    uint64_t bits = 0;
    pp_type t;

    memset(&s, 0, sizeof s);
    s.argv = c->l_argv;
    s.arr = c->l_arr;
    s.arr_size = c->l_arr_size;
    return one_value(&s, i, &t, &bits, p, n) && t == type;
}

int pp__chunk_put_lazy(const pp__chunk *c, uint8_t *dst)
{
    const uint8_t *p = NULL;
    size_t left = c->lazy_bytes, k, n = 0, enc;
    pp_type type = (pp_type)c->frame.data[c->frame.len - 1]; /* the column's */

    if (c->l_items != NULL)
        return pp__column_put_blobs_exact(c->l_items, c->first, c->count, type, dst, left);

    for (k = 0; k < c->count; k++) {
        /* Never past the lazy_bytes measured when the chunk was made,
         * whatever the items hold now (a caller changing them during its
         * own sync call) */
        if (!lazy_value(c, c->first + k, type, &p, &n) || (enc = PP__COLUMN_BLOB_ENC(n)) > left)
            return 0;
        pp__st_le32(dst, (uint32_t)n); /* <= PP_VALUE_MAX_BYTES */
        if (n > 0)
            memcpy(dst + 4, p, n);
        dst[4 + n] = 0;
        dst += enc;
        left -= enc;
    }
    return left == 0;
}

size_t pp__chunk_lazy_tail(const pp__chunk *c, size_t from, pp__chunk *t)
{
    pp__item_src s;
    const uint8_t *p = NULL;
    uint64_t bits = 0;
    size_t k, n = 0, bytes = 0;
    pp_type type;

    t->l_items = c->l_items;
    t->l_argv = c->l_argv;
    t->l_arr = c->l_arr;
    t->l_arr_size = c->l_arr_size;
    if (pp__chunk_gone(c))
        return c->lazy_bytes; /* gone too: never sent */
    memset(&s, 0, sizeof s);
    s.argv = c->l_argv;
    s.arr = c->l_arr;
    s.arr_size = c->l_arr_size;
    if (c->l_items != NULL)
        (void)pp__column_blob_extent(c->l_items, c->first + from, c->count - from, SIZE_MAX, &type,
                                     &bytes);
    else {
        for (k = from; k < c->count; k++) {
            (void)one_value(&s, c->first + k, &type, &bits, &p, &n);
            bytes += PP__COLUMN_BLOB_ENC(n);
        }
    }
    return bytes;
}

pp_status pp__chunk_materialize(pp__chunk *c)
{
    pp_status st;

    if (c->lazy_bytes == 0)
        return PP_OK;
    if (pp__chunk_gone(c))
        return PP_EINVAL; /* never sent again (pp__job_forget_source_locked) */
    st = pp__buf_reserve(&c->frame, c->lazy_bytes);
    if (st != PP_OK)
        return st;
    if (!pp__chunk_put_lazy(c, c->frame.data + c->frame.len))
        return PP_EINVAL;
    c->frame.len += c->lazy_bytes;
    c->lazy_bytes = 0;
    c->l_items = NULL;
    c->l_argv = NULL;
    c->l_arr = NULL;
    return pp__frame_end(&c->frame, 0); /* the length now covers them */
}

/* build_column() for a starmap whose argument tuples are each one value,
 * or for pp_map_array's records: item by item. */
static int build_column_each(pp__builder *b, size_t first, size_t count, pp__chunk **out,
                             pp_status *st)
{
    size_t max = b->target - b->fixed - 1, bytes = 0, sz, n = 0, k, at;
    pp_type type, t;
    const uint8_t *p = NULL;
    uint64_t bits = 0;
    pp__chunk *c;
    uint8_t *d;
    int scalar, lazy;

    *st = PP_OK;
    if (count == 0 || !one_value(b->src, first, &type, &bits, &p, &n))
        return 0;
    scalar = type == PP_TYPE_INT || type == PP_TYPE_DOUBLE;
    if (scalar && b->target == CHUNK_TARGET && SCALAR_FRAME_MAX - b->fixed - 1 < max)
        max = SCALAR_FRAME_MAX - b->fixed - 1;
    for (k = 0; k < count; k++) {
        if (!one_value(b->src, first + k, &t, &bits, &p, &n) || t != type)
            return 0; /* not all one value of one type: no column */
        sz = scalar ? 8 : PP__COLUMN_BLOB_ENC(n);
        if (k > 0 && sz > max - bytes)
            break;
        bytes += sz;
    }
    lazy = !scalar && want_lazy(b, bytes);
    *st = chunk_begin(b, first, b->fixed + 1 + (lazy ? 0 : bytes), &c, &at);
    if (*st != PP_OK)
        return 1;
    *st = pp__buf_reserve(&c->frame, 1 + (lazy ? 0 : bytes));
    if (*st == PP_OK && lazy) {
        make_lazy(b, c, type, k, bytes);
    } else if (*st == PP_OK) {
        d = c->frame.data + c->frame.len;
        *d++ = (uint8_t)type;
        count = k;
        if (scalar) {
            for (k = 0; k < count; k++, d += 8) {
                (void)one_value(b->src, first + k, &t, &bits, &p, &n);
                pp__st_le64(d, bits);
            }
        } else {
            put_each_blobs(b->src, first, count, d);
        }
        c->frame.len += 1 + bytes;
        c->count = (uint16_t)count;
    }
    return column_end(b, c, at, out, st);
}

/* A chunk of the map items first..first+count-1 (at most) as a column
 * (values/column.h) if they are all one int, all one double, or all one
 * string or byte buffer: 1 with *out (fewer items for blobs beyond the
 * byte target), 0 if they are not (nothing built), or a failure. */
static int build_column(pp__builder *b, size_t first, size_t count, pp__chunk **out, pp_status *st)
{
    const pp_values *items = b->src->items;
    pp_type type = PP_TYPE_NONE;
    size_t bytes = count * 8, at, k = count;
    pp__chunk *c;
    uint8_t *d;
    int scalar, lazy;

    *st = PP_OK;
    if (b->src->argv != NULL || b->src->arr != NULL)
        return build_column_each(b, first, count, out, st);
    if (items == NULL || count == 0)
        return 0;
    scalar = pp_values_type(items, first) == PP_TYPE_INT ||
             pp_values_type(items, first) == PP_TYPE_DOUBLE;
    if (scalar && b->target == CHUNK_TARGET && b->fixed + 1 + k * 8 > SCALAR_FRAME_MAX) {
        k = (SCALAR_FRAME_MAX - b->fixed - 1) / 8;
        bytes = k * 8;
    }
    if (!scalar) {
        k = pp__column_blob_extent(items, first, count, b->target - b->fixed - 1, &type, &bytes);
        if (k == 0)
            return 0;
    }
    /* (not scalar columns: their types would take a pass of their own
     * here, as long as the copy it saves) */
    lazy = !scalar && want_lazy(b, bytes);
    *st = chunk_begin(b, first, b->fixed + 1 + (lazy ? 0 : bytes), &c, &at);
    if (*st != PP_OK)
        return 1;
    *st = pp__buf_reserve(&c->frame, 1 + (lazy ? 0 : bytes));
    if (*st == PP_OK && lazy) {
        make_lazy(b, c, type, k, bytes);
    } else if (*st == PP_OK) {
        d = c->frame.data + c->frame.len;
        if (scalar && !pp__column_put_scalars(items, first, k, &type, d + 1)) {
            pp__chunk_list_free(c); /* mixed types: not a column */
            return 0;
        }
        if (!scalar)
            pp__column_put_blobs(items, first, k, d + 1);
        d[0] = (uint8_t)type;
        c->frame.len += 1 + bytes;
        c->count = (uint16_t)k;
    }
    return column_end(b, c, at, out, st);
}

/* A chunk of items first.. from a source whose sizes are known without
 * building anything (items, argv, one; no extra values): a column if it
 * can be, else its extent is found first, then it is encoded in one
 * exactly sized frame. */
static pp_status build_known(pp__builder *b, size_t first, size_t to, pp__chunk **out)
{
    size_t count, bytes = 0, sz, at, i;
    pp__chunk *c;
    pp_status st;

    count = to - first < b->cs ? to - first : b->cs;
    if (build_column(b, first, count, out, &st))
        return st;
    /* (records always make a column: build_column_each) */
    for (count = 0; first + count < to && count < b->cs; count++) {
        sz = item_size(b->src, first + count);
        if (count > 0 && bytes + sz > b->target - b->fixed)
            break;
        bytes += sz;
    }
    st = chunk_begin(b, first, b->fixed + bytes, &c, &at);
    if (st != PP_OK)
        return st;
    c->count = (uint16_t)count;
    for (i = first; i < first + count && st == PP_OK; i++) {
        if (b->src->items != NULL)
            st = pp__values_encode_one(b->src->items, i, &c->frame);
        else if (b->src->argv != NULL)
            st = pp__values_encode(b->src->argv[i], &c->frame);
        else
            st = pp__values_encode(b->src->one, &c->frame);
    }
    if (st == PP_OK)
        st = chunk_end(b, c, at, 0);
    if (st != PP_OK) {
        pp__chunk_list_free(c);
        return st;
    }
    *out = c;
    return PP_OK;
}

/* Bytes to reserve for the items of a chunk made one by one whose first
 * item takes sz bytes, left items at most: as if the others were the same
 * size (up to the chunk size and the byte target), never the whole target
 * at once. With an explicit chunk size the target is a whole message
 * (64 MiB): reserving it made every chunk of small items a 64 MiB
 * populated block. A guess too small is grown by the encoder. */
static size_t made_reserve(const pp__builder *b, size_t sz, size_t left)
{
    size_t k = left < b->cs ? left : b->cs, room = b->target - b->fixed;

    if (sz >= room || k <= 1)
        return sz;
    return sz <= room / k ? sz * k : room;
}

/* A chunk of items first.. made one by one in b->tmp (generated items,
 * items with extra values). An item made but not fitting this chunk stays
 * in b->tmp (b->tmp_index) for the next one. */
static pp_status build_made(pp__builder *b, size_t first, size_t to, pp__chunk **out)
{
    size_t room = PP__FRAME_MAX - (b->fixed - PP__FRAME_HDR), at, sz, i;
    pp__chunk *c = NULL;
    pp_status st = PP_OK;

    for (i = first; i < to && (c == NULL || c->count < b->cs); i++) {
        if (!b->tmp_ready) {
            st = make_tmp(b, i);
            if (st != PP_OK)
                break;
            b->tmp_ready = 1;
        }
        sz = pp__values_encoded_size(b->tmp);
        if (sz > room) {
            st = PP_ETOOBIG;
            break;
        }
        if (c != NULL && c->frame.len + sz > b->target)
            break;
        if (c == NULL) {
            st = chunk_begin(b, first, b->fixed + made_reserve(b, sz, to - first), &c, &at);
            if (st != PP_OK)
                break;
        }
        st = pp__values_encode(b->tmp, &c->frame);
        if (st != PP_OK)
            break;
        b->tmp_ready = 0;
        c->count++;
    }
    if (c != NULL && c->count > 0) {
        pp_status est = chunk_end(b, c, at, 0);
        if (est != PP_OK) {
            pp__chunk_list_free(c);
            return est; /* PP_ENOMEM only: fails from first on */
        }
        *out = c;
        b->fail = st; /* items from first + count on, if not PP_OK */
        return PP_OK;
    }
    pp__chunk_list_free(c);
    return st;
}

pp_status pp__builder_batch(pp__builder *b, size_t from, pp__chunk **list, size_t *end)
{
    pp__chunk *head = NULL, *tail = NULL, *c;
    size_t at = from, items = 0, bytes = 0;
    pp_status st = PP_OK;

    *list = NULL;
    b->fail = PP_OK;
    while (at < b->n && items < b->batch_items && bytes < BATCH_BYTES) {
        c = NULL;
        st = via_tmp(b) ? build_made(b, at, b->n, &c) : build_known(b, at, b->n, &c);
        if (st != PP_OK)
            break;
        if (tail)
            tail->next = c;
        else
            head = c;
        tail = c;
        at += c->count;
        items += c->count;
        bytes += pp__chunk_len(c);
        if (b->fail != PP_OK) {
            st = b->fail;
            break;
        }
    }
    *list = head;
    *end = at;
    return st;
}
