/*
 * msg.c — function references and the buffered frame reader.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"

pp_status pp__fnref_make(pp_task_fn fn, int allow_address, pp__fnref *ref)
{
    memset(ref, 0, sizeof *ref);
    if (fn == NULL) {
        ref->kind = PP__FN_NONE;
        return PP_OK;
    }
    ref->fn = fn;
    ref->name = pp_task_name(fn);
    if (ref->name != NULL) {
        ref->kind = PP__FN_NAME;
        return PP_OK;
    }
    if (!allow_address)
        return PP_ENOTREGISTERED;
    ref->kind = PP__FN_ADDR;
    return PP_OK;
}

size_t pp__fnref_encoded_size(const pp__fnref *ref)
{
    switch (ref->kind) {
    case PP__FN_NAME:
        return 1 + 4 + strlen(ref->name);
    case PP__FN_ADDR:
        return 1 + 8;
    default:
        return 1;
    }
}

pp_status pp__fnref_encode(const pp__fnref *ref, pp__buf *b)
{
    pp_status st = pp__buf_put_u8(b, (uint8_t)ref->kind);

    if (st != PP_OK)
        return st;
    switch (ref->kind) {
    case PP__FN_NAME:
        return pp__buf_put_blob(b, ref->name, strlen(ref->name));
    case PP__FN_ADDR:
        /* Only ever decoded by a forked copy of this very image, where the
         * address means the same function. */
        return pp__buf_put_u64(b, (uint64_t)(uintptr_t)ref->fn);
    default:
        return PP_OK;
    }
}

pp_status pp__fnref_decode(pp__rd *r, pp__fnref *ref)
{
    const uint8_t *name;
    uint64_t addr;
    uint8_t kind;
    size_t n;
    pp_status st;

    memset(ref, 0, sizeof *ref);
    st = pp__rd_u8(r, &kind);
    if (st != PP_OK)
        return st;
    ref->kind = kind;
    switch (kind) {
    case PP__FN_NONE:
        return PP_OK;
    case PP__FN_NAME:
        st = pp__rd_blob(r, PP_TASK_NAME_MAX, &name, &n);
        if (st != PP_OK)
            return st;
        ref->fn = pp__registry_find((const char *)name, n, &ref->name);
        return ref->fn ? PP_OK : PP_ENOTREGISTERED;
    case PP__FN_ADDR:
        st = pp__rd_u64(r, &addr);
        if (st != PP_OK)
            return st;
        if (addr == 0)
            return PP_EPROTO;
        /* Converting an integer to a function pointer is implementation
         * defined but exact on every platform procpool targets (POSIX
         * requires it for dlsym). */
        ref->fn = (pp_task_fn)(uintptr_t)addr;
        return PP_OK;
    default:
        return PP_EPROTO;
    }
}

/* ---------------------------------------------------------- frame reader */

#define READER_INITIAL (64u * 1024u)

pp_status pp__reader_init(pp__reader *fr, pp__plat_chan *chan)
{
    memset(fr, 0, sizeof *fr);
    fr->chan = chan;
    fr->buf = malloc(READER_INITIAL);
    if (fr->buf == NULL)
        return PP_ENOMEM;
    fr->cap = READER_INITIAL;
    return PP_OK;
}

void pp__reader_free(pp__reader *fr)
{
    free(fr->buf);
    fr->buf = NULL;
}

/* Make room for need bytes from start: compact, then grow. */
static pp_status reader_room(pp__reader *fr, size_t need)
{
    size_t have = fr->end - fr->start;
    uint8_t *nb;
    size_t ncap;

    if (fr->start > 0) {
        memmove(fr->buf, fr->buf + fr->start, have);
        fr->start = 0;
        fr->end = have;
    }
    if (need <= fr->cap)
        return PP_OK;
    ncap = fr->cap;
    while (ncap < need)
        ncap *= 2;
    nb = realloc(fr->buf, ncap);
    if (nb == NULL)
        return PP_ENOMEM;
    fr->buf = nb;
    fr->cap = ncap;
    return PP_OK;
}

static pp_status reader_fill(pp__reader *fr, size_t need)
{
    pp_status st;
    size_t got;

    if (fr->start == fr->end)
        fr->start = fr->end = 0;
    if (fr->start + need > fr->cap) {
        st = reader_room(fr, need);
        if (st != PP_OK)
            return st;
    }
    while (fr->end - fr->start < need) {
        st = pp__plat_chan_read(fr->chan, fr->buf + fr->end, fr->cap - fr->end, &got);
        if (st != PP_OK)
            return st;
        fr->end += got;
    }
    return PP_OK;
}

int pp__reader_buffered(const pp__reader *fr)
{
    pp__frame_hdr h;
    size_t have = fr->end - fr->start;

    if (have < PP__FRAME_HDR)
        return 0;
    if (pp__frame_parse_hdr(fr->buf + fr->start, &h) != PP_OK)
        return 1; /* the next call reports the error without blocking */
    return have - PP__FRAME_HDR >= h.length;
}

pp_status pp__reader_next(pp__reader *fr, pp__frame_hdr *h, const uint8_t **payload)
{
    pp_status st;

    st = reader_fill(fr, PP__FRAME_HDR);
    if (st != PP_OK)
        return st;
    st = pp__frame_parse_hdr(fr->buf + fr->start, h);
    if (st != PP_OK)
        return st;
    st = reader_fill(fr, PP__FRAME_HDR + (size_t)h->length);
    if (st != PP_OK)
        return st;
    *payload = fr->buf + fr->start + PP__FRAME_HDR;
    fr->start += PP__FRAME_HDR + (size_t)h->length;
    return PP_OK;
}
