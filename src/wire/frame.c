/*
 * frame.c — frame headers (layout in wire/frame.h) and the buffered frame
 * reader over a channel.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/frame.h"

/* "PPF" + version: a peer built from another wire version is refused at
 * the first header instead of misreading the payload. */
static const uint8_t frame_magic[4] = {'P', 'P', 'F', (uint8_t)PP__WIRE_VERSION};

pp_status pp__frame_begin(pp__buf *b, uint8_t type, uint16_t count, uint64_t id, size_t *at)
{
    uint8_t h[PP__FRAME_HDR];

    if (b == NULL || at == NULL || type == 0 || type > PP__MSG_MAX_)
        return PP_EINVAL;
    memset(h, 0, sizeof h);
    memcpy(h, frame_magic, sizeof frame_magic);
    /* length (offset 4) stays 0 until pp__frame_end() */
    h[8] = type;
    pp__st_le16(h + 10, count);
    pp__st_le64(h + 16, id);
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
    pp__st_le32(b->data + at + 4, (uint32_t)payload);
    return PP_OK;
}

void pp__frame_set_id(pp__buf *b, size_t at, uint64_t id)
{
    pp__st_le64(b->data + at + 16, id);
}

void pp__frame_set_count(pp__buf *b, size_t at, uint16_t count)
{
    pp__st_le16(b->data + at + 10, count);
}

void pp__frame_set_flags(pp__buf *b, size_t at, uint8_t flags)
{
    b->data[at + 9] = flags;
}

uint8_t pp__frame_flags(const pp__buf *b, size_t at)
{
    return b->data[at + 9];
}

pp_status pp__frame_parse_hdr(const uint8_t *p, pp__frame_hdr *h)
{
    pp__frame_hdr f;

    if (p == NULL || h == NULL)
        return PP_EINVAL;
    if (memcmp(p, frame_magic, sizeof frame_magic) != 0)
        return PP_EPROTO;
    f.length = pp__ld_le32(p + 4);
    f.type = p[8];
    f.flags = p[9];
    f.count = pp__ld_le16(p + 10);
    f.id = pp__ld_le64(p + 16);
    if (f.length > PP__FRAME_MAX || f.type == 0 || f.type > PP__MSG_MAX_ ||
        pp__ld_le32(p + 12) != 0)
        return PP_EPROTO;
    if ((f.type == PP__MSG_TASK && (f.flags & ~(PP__FLAG_SCALARS | PP__FLAG_TIMED | PP__FLAG_INBOX |
                                                PP__FLAG_WAITED)) != 0) ||
        (f.type == PP__MSG_RESULT &&
         (f.flags & ~(PP__FLAG_SCALARS | PP__FLAG_PARTIAL | PP__FLAG_INBOX)) != 0) ||
        (f.type != PP__MSG_TASK && f.type != PP__MSG_RESULT && f.flags != 0))
        return PP_EPROTO;
    *h = f;
    return PP_OK;
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

void pp__reader_set_spin(pp__reader *fr, int64_t max_ns)
{
    fr->spin_max_ns = max_ns > 0 ? max_ns : 0;
    fr->spin_ns = fr->spin_max_ns;
    fr->spin_on = 1;
}

void pp__reader_spin_enable(pp__reader *fr, int on)
{
    fr->spin_on = on;
}

int64_t pp__reader_spin_next(int64_t cur, int64_t max, int64_t waited)
{
    if (waited > max)
        return cur / 2;
    if (waited < max / 16)
        return max / 8; /* one quick wait says little about the next */
    return waited <= max / 2 ? waited * 2 : max;
}

/* One read of what comes next, into the free end of the buffer: a spin
 * of non-blocking tries first (pp__reader_set_spin), then a blocking
 * read. Input already there costs one try, as a blocking read would. */
static pp_status reader_read(pp__reader *fr, size_t *got)
{
    uint8_t *dst = fr->buf + fr->end;
    size_t cap = fr->cap - fr->end;
    int64_t t0, now;
    pp_status st;

    if (fr->spin_max_ns == 0 || !fr->spin_on)
        return pp__plat_chan_read(fr->chan, dst, cap, got);
    st = pp__plat_chan_try_read(fr->chan, dst, cap, got);
    if (st == PP_ENOTSUP) {
        fr->spin_max_ns = 0;
        return pp__plat_chan_read(fr->chan, dst, cap, got);
    }
    if (st != PP_OK || *got > 0)
        return st; /* there already (nothing learnt about the gaps), EOF or failure */
    t0 = now = pp__plat_now_ns();
    while (now - t0 < fr->spin_ns) {
        pp__plat_yield();
        st = pp__plat_chan_try_read(fr->chan, dst, cap, got);
        now = pp__plat_now_ns();
        if (st != PP_OK || *got > 0)
            break;
    }
    if (st == PP_OK && *got == 0) {
        st = pp__plat_chan_read(fr->chan, dst, cap, got);
        now = pp__plat_now_ns();
    }
    fr->spin_ns = pp__reader_spin_next(fr->spin_ns, fr->spin_max_ns, now - t0);
    return st;
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
        st = reader_read(fr, &got);
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
