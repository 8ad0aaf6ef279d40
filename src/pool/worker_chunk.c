/*
 * worker_chunk.c — how a worker runs the items of one TASK frame (a
 * chunk) and answers with its RESULT: arguments read in place (tuples, or
 * a column), each item's start and end recorded in the control block
 * (pool/wctl.h) so a death loses only the running item, and the outcomes
 * written as a column when every result is one scalar or one blob of one
 * type (values/column.h), else one outcome per item.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/core.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "sync/remote.h"
#include "values/column.h"
#include "values/value_internal.h"
#include "pool/task_internal.h"
#include "pool/wctl.h"
#include "pool/worker_internal.h"
#include "pool/worker_out.h"

pp_status pp__worker_send_frame(worker *w)
{
    pp_status st = w->sink != NULL ? w->sink(w->sink_ud, w->out.data, w->out.len)
                                   : pp__plat_chan_write(w->chan, w->out.data, w->out.len);

    pp__buf_reset(&w->out);
    return st;
}

/* A task returned rc != 0 without pp_task_fail(): it failed. */
static void task_returned(pp_task *t, int rc)
{
    /* A task that returns what a library call gave it (the idiom
     * "return pp_values_add_...(...)") failed because of that status:
     * say which, instead of a bare number. */
    if (rc < 0 && strcmp(pp_err_name(rc), "PP_UNKNOWN") != 0) {
        pp_task_fail(t, rc, "the task returned %s (%s)", pp_err_name(rc), pp_strerror(rc));
        t->status = (pp_status)rc;
    } else {
        pp_task_fail(t, rc, "the task returned %d", rc);
    }
}

/* Make t a fresh task on args and result. Field by field, not the message
 * buffer: it is written only by a failure (pp_task_fail), and this runs
 * once per item (per chunk in run_scalars, where a task that does not
 * fail leaves them as they are). */
static void task_reset(pp_task *t, const pp_values *args, pp_values *result)
{
    t->failed = 0;
    t->code = 0;
    t->message[0] = '\0';
    t->status = PP_ETASK;
    t->args = args;
    t->result = result;
}

/* Run fn on args; fill task outcome. result is an empty tuple. */
void pp__worker_run_one(pp_task_fn fn, const pp_values *args, uint64_t index, pp_values *result,
                        pp_task *t)
{
    int rc;

    task_reset(t, args, result);
    t->index = index;
    rc = fn(t);
    if (rc != 0 && !t->failed)
        task_returned(t, rc);
}

pp_status pp__worker_put_failure(pp__buf *b, pp_status status, int code, const char *msg)
{
    pp_status st = pp__buf_put_u32(b, (uint32_t)(int32_t)status);

    if (st == PP_OK)
        st = pp__buf_put_u32(b, (uint32_t)(int32_t)code);
    if (st == PP_OK)
        st = pp__buf_put_blob(b, msg, strlen(msg));
    return st;
}

/* Append the outcome of a task whose result is one string or buffer
 * (type, n bytes at p) in one step: status 0, code 0, tuple (values/tuple.h). */
static pp_status put_blob_outcome(pp__buf *out, pp_type type, const uint8_t *p, size_t n)
{
    pp_status st = pp__buf_reserve(out, 17 + n);
    uint8_t *d;

    if (st != PP_OK)
        return st;
    d = out->data + out->len;
    memset(d, 0, 8);
    pp__st_le32(d + 8, 1);
    d[12] = (uint8_t)type;
    pp__st_le32(d + 13, (uint32_t)n);
    memcpy(d + 17, p, n);
    out->len += 17 + n;
    return PP_OK;
}

/* Append one item's outcome; a result that would overflow the frame turns
 * into a PP_ETOOBIG failure instead. */
static pp_status put_outcome(worker *w, const pp_task *t)
{
    size_t mark = w->out.len, n;
    const uint8_t *p;
    pp_type type;
    pp_status st;

    if (t->failed)
        return pp__worker_put_failure(&w->out, t->status, t->code, t->message);
    /* one string or buffer: the commonest result after a scalar */
    if (pp__values_one_blob(t->result, &type, &p, &n) && n <= PP__FRAME_MAX - 17 &&
        put_blob_outcome(&w->out, type, p, n) == PP_OK)
        return PP_OK;
    st = pp__buf_put_u32(&w->out, 0);
    if (st == PP_OK)
        st = pp__buf_put_u32(&w->out, 0);
    if (st == PP_OK)
        st = pp__values_encode(t->result, &w->out);
    if (st == PP_ETOOBIG || st == PP_ENOMEM) {
        w->out.len = mark;
        return pp__worker_put_failure(&w->out, st, 0,
                                      st == PP_ETOOBIG ? "task result too large for one message"
                                                       : "out of memory encoding the task result");
    }
    return st;
}

/* What a worker that cannot use a hosted lock (manager, Redis) or a proxy should be told. */
static const char *remote_hint(const pp__locator *loc, pp_status st)
{
    if (loc->backend == PP__LOC_REDIS) {
        switch (st) {
        case PP_EAUTH:
            return " (this worker's PROCPOOL_REDIS_USERNAME / PROCPOOL_REDIS_PASSWORD are not "
                   "accepted there)";
        case PP_ENOENT:
            return " (the lock was destroyed by its creator)";
        case PP_ECONNLOST:
            return " (the Redis server is not reachable from this worker)";
        default:
            return "";
        }
    }
    switch (st) {
    case PP_EAUTH:
        return " (no key for it in this worker: start that manager before the pool, or "
               "without a key option to use the program key all workers inherit)";
    case PP_ENOENT:
        return loc->object == PP__OBJ_LOCK || loc->object == PP__OBJ_RLOCK
                   ? " (the lock was destroyed, or its manager restarted)"
                   : " (the object was destroyed, or its manager restarted)";
    case PP_ECONNLOST:
        return " (the manager is not running or does not answer)";
    default:
        return "";
    }
}

/*
 * A lock or shm block named in the arguments that this worker cannot
 * attach (its creator destroyed it, say): the task must not run with a
 * NULL handle. Returns PP_OK, or the reason with a message naming it.
 */
pp_status pp__worker_attach_check(const pp_values *args, const char *where, char *msg, size_t cap)
{
    size_t i = 0;
    pp_status st = pp__values_attach_error(args, &i);

    if (st != PP_OK && pp__values_item_locator(args, i) != NULL)
        snprintf(msg, cap, "%s in the %s cannot be used: %s%s", pp__values_named_name(args, i),
                 where, pp_strerror(st), remote_hint(pp__values_item_locator(args, i), st));
    /* PP_ENOENT: no object of that name, or another one than the
     * arguments name (sync.h: an object is its name and its identity). */
    else if (st != PP_OK)
        snprintf(msg, cap, "%s '%s' in the %s cannot be opened: %s%s",
                 pp_values_type(args, i) == PP_TYPE_SHM    ? "shared memory block"
                 : pp_values_type(args, i) == PP_TYPE_SYNC ? "sync object"
                                                           : "lock",
                 pp__values_named_name(args, i), where, pp_strerror(st),
                 st == PP_ENOENT ? " (destroyed, or destroyed and re-created under that name "
                                   "since the arguments were built)"
                                 : "");
    return st;
}

/* The arguments of the next item: the next tuple, or with a column
 * (values/column.h) its next entry as a read-only one-item tuple read in
 * place (nothing copied, nothing allocated). */
static pp_status next_args(worker *w, pp__rd *rd, int column, pp_type ctype, pp_values **args)
{
    const uint8_t *p;
    size_t n;
    pp_status st;

    if (!column) {
        *args = w->args;
        return pp__values_decode_reuse(rd, w->args, NULL, NULL, 0);
    }
    if (w->argbits != NULL) {
        /* a scalar column (its length was checked against the count):
         * the chunk's one argument tuple gets the next value */
        *w->argbits = pp__ld_le64(rd->p + rd->pos);
        rd->pos += 8;
        return PP_OK;
    }
    st = pp__column_get_blob(rd, ctype, &p, &n);
    if (st == PP_OK)
        *args = pp__values_init_blob(w->argmem, ctype, p, n);
    return st;
}

/* Record item i's result for a scalar-column answer, taking it out of
 * w->result; *column drops to 0 at the first result that does not fit one
 * (failure, other type, not one scalar), which stays in w->result. */
static void column_note(worker *w, const pp_task *t, uint16_t i, int *column, pp_type *rtype)
{
    pp_type type = i > 0 ? *rtype : PP_TYPE_NONE;
    uint64_t bits;

    if (!*column)
        return;
    if (t->failed || !pp__values_take_scalar(w->result, &type, &bits)) {
        *column = 0;
        return;
    }
    *rtype = type;
    w->rcol[i] = pp__worker_le64(bits);
}

/*
 * The commonest chunk in a loop of its own: a scalar column in (one store
 * per item into the chunk's argument tuple), a registered function, no
 * timeout, and so far every result one scalar of one type. Each item's
 * start and end reach the control block as in the general loop (wctl.h),
 * its value w->rcol. Returns how many items finished here, from item 0;
 * if fewer than the count, the next item has run (*ran set) and its
 * outcome, which does not fit the column (a failure, or not one scalar of
 * the chunk's type), is in *t and w->result for the general loop.
 */
static uint16_t run_scalars(worker *w, const pp__frame_hdr *h, pp__rd *rd, pp_task_fn fn,
                            uint64_t first, const pp_values *args, pp_task *t, pp_type *rtype,
                            int *ran)
{
    const uint8_t *in = rd->p + rd->pos; /* h->count values: checked */
    volatile uint64_t *rcol = w->rcol;
    uint64_t *argbits = w->argbits;
    pp_values *result = w->result;
    pp__wctl *c = w->ctl;
    pp_type type = PP_TYPE_NONE;
    uint16_t i, n = h->count;
    uint64_t bits;
    int rc;

    task_reset(t, args, result); /* once: only pp_task_fail() writes them */
    *ran = 0;
    for (i = 0; i < n; i++) {
        *argbits = pp__ld_le64(in + (size_t)i * 8);
        pp__wctl_item_start(c, &w->kept, i);
        t->index = first + i;
        rc = fn(t);
        if (rc != 0 || t->failed || !pp__values_take_scalar(result, &type, &bits)) {
            if (rc != 0 && !t->failed)
                task_returned(t, rc);
            *ran = 1;
            break;
        }
        rcol[i] = pp__worker_le64(bits); /* the column form (wctl.h) */
        pp__wctl_item_done_column(c, &w->kept, i, (unsigned)type);
    }
    *rtype = type;
    rd->pos += ((size_t)i + (size_t)*ran) * 8;
    return i;
}

/* The most run_blobs() reserves for a chunk's answer ahead of it: more
 * would take a populated big block (wire/buf.h) for results that may be
 * much shorter than their arguments. */
#define RESERVE_AHEAD ((size_t)512 * 1024)

/* The column begun at w->out[col..] (a type byte, then count entries,
 * values/column.h) rewritten as the general outcomes of those items. */
static pp_status blobs_to_outcomes(worker *w, size_t col, uint16_t count)
{
    size_t n = w->out.len - col, len;
    uint8_t *tmp = malloc(n), *p;
    pp_status st = PP_OK;
    uint16_t k;

    if (tmp == NULL)
        return PP_ENOMEM;
    memcpy(tmp, w->out.data + col, n);
    w->out.len = col;
    for (k = 0, p = tmp + 1; k < count && st == PP_OK; k++) {
        len = pp__ld_le32(p);
        st = put_blob_outcome(&w->out, (pp_type)tmp[0], p + 4, len);
        p += PP__COLUMN_BLOB_ENC(len);
    }
    free(tmp);
    return st;
}

/*
 * The commonest chunk of strings or byte buffers in a loop of its own: a
 * blob column in (each entry read in place as the chunk's one argument
 * tuple), a registered function, no timeout, and so far every result one
 * string or buffer of one type: each written straight into the answer's
 * blob column (values/column.h) at w->out[col..], and kept in the control
 * block in the general form (wctl.h), the result tuple emptied. *done
 * gets how many items finished here, from item 0. If that is the count,
 * w->out holds the column (the caller ends the frame); else their
 * outcomes are in w->out in the general form and, if *ran, the next item
 * has run and its outcome (a failure, another result, one that would make
 * that form larger than a frame) is in *t and w->result for the general
 * loop; if not *ran, the general loop reads the next entry again (and
 * fails on it). PP_OK, or PP_ENOMEM.
 */
static pp_status run_blobs(worker *w, const pp__frame_hdr *h, pp__rd *rd, pp_task_fn fn,
                           uint64_t first, pp_type ctype, pp_task *t, int *ran, uint16_t *done)
{
    pp_values *result = w->result;
    pp__wctl *c = w->ctl;
    size_t col = w->out.len, general = 0, len, ahead;
    pp_type type, rtype = PP_TYPE_NONE;
    uint8_t head[17], *d;
    const uint8_t *p;
    uint16_t i, n = h->count;
    int rc;

    task_reset(t, NULL, result); /* once: only pp_task_fail() writes them */
    *ran = 0;
    memset(head, 0, 8); /* status 0, code 0, a tuple of one item */
    pp__st_le32(head + 8, 1);
    /* the whole column checked at once; if it is malformed, the general
     * loop meets it entry by entry */
    if (!pp__column_check_blobs(rd->p + rd->pos, pp__rd_left(rd), ctype, n))
        n = 0;
    for (i = 0; i < n; i++) {
        p = rd->p + rd->pos;
        len = pp__ld_le32(p);
        rd->pos += PP__COLUMN_BLOB_ENC(len);
        t->args = pp__values_init_blob(w->argmem, ctype, p + 4, len);
        pp__wctl_item_start(c, &w->kept, i);
        t->index = first + i;
        rc = fn(t);
        /* the general form of these outcomes must still fit a frame */
        if (rc != 0 || t->failed || !pp__values_one_blob(result, &type, &p, &len) ||
            (i > 0 && type != rtype) || 17 + len > PP__FRAME_MAX - general ||
            pp__buf_reserve(&w->out, 1 + PP__COLUMN_BLOB_ENC(len)) != PP_OK) {
            if (rc != 0 && !t->failed)
                task_returned(t, rc);
            *ran = 1;
            break;
        }
        d = w->out.data + w->out.len;
        if (i == 0) { /* the column's type byte */
            /* room for results as long as the arguments left (a string
             * map's usual answer; up to RESERVE_AHEAD) at once, not by
             * doubling from the first chunk on; without it the loop grows
             * w->out as it goes */
            ahead = pp__rd_left(rd) < RESERVE_AHEAD ? pp__rd_left(rd) : RESERVE_AHEAD;
            if (pp__buf_reserve(&w->out, 1 + PP__COLUMN_BLOB_ENC(len) + ahead) == PP_OK)
                d = w->out.data + w->out.len;
            rtype = type;
            *d++ = (uint8_t)type;
            w->out.len++;
        }
        pp__st_le32(d, (uint32_t)len);
        memcpy(d + 4, p, len);
        d[4 + len] = 0;
        w->out.len += PP__COLUMN_BLOB_ENC(len);
        general += 17 + len;
        head[12] = (uint8_t)type;
        pp__st_le32(head + 13, (uint32_t)len);
        pp__wctl_item_done2(c, &w->kept, i, head, sizeof head, p, len);
        pp__values_clear(result);
    }
    *done = i;
    return i > 0 && i < n ? blobs_to_outcomes(w, col, i) : PP_OK;
}

/*
 * The outcome just appended at w->out[mark..] may have made the RESULT
 * frame at *at larger than one message: then the frame goes out without
 * it, as a partial RESULT (PP__FLAG_PARTIAL), and a new frame starts with
 * it, so a chunk's results may take several messages. An outcome too
 * large for a message of its own becomes a PP_ETOOBIG failure. *in_frame
 * counts the outcomes in the current frame, this one included.
 */
static pp_status fit_outcome(worker *w, const pp__frame_hdr *h, size_t *at, uint16_t *in_frame,
                             size_t mark)
{
    size_t n = w->out.len - mark;
    uint8_t *save;
    pp_status st;

    if (w->out.len - *at - PP__FRAME_HDR <= PP__FRAME_MAX)
        return PP_OK;
    if (*in_frame > 1) {
        save = malloc(n);
        if (save == NULL)
            return PP_ENOMEM;
        memcpy(save, w->out.data + mark, n);
        w->out.len = mark;
        pp__frame_set_count(&w->out, *at, (uint16_t)(*in_frame - 1));
        pp__frame_set_flags(&w->out, *at, PP__FLAG_PARTIAL);
        st = pp__frame_end(&w->out, *at);
        if (st == PP_OK)
            st = pp__worker_send_frame(w);
        if (st == PP_OK)
            st = pp__frame_begin(&w->out, PP__MSG_RESULT, 0, h->id, at);
        mark = w->out.len;
        if (st == PP_OK)
            st = pp__buf_put(&w->out, save, n);
        free(save);
        if (st != PP_OK)
            return st;
        *in_frame = 1;
        if (w->out.len - *at - PP__FRAME_HDR <= PP__FRAME_MAX)
            return PP_OK;
    }
    w->out.len = mark; /* this outcome alone does not fit a message */
    return pp__worker_put_failure(&w->out, PP_ETOOBIG, 0, "task result too large for one message");
}

/* Item i has finished: keep its outcome in the control block (wctl.h),
 * so that it survives this process. With a column answer still possible
 * the value is in w->rcol[i]; else the outcome is at w->out[mark..]. */
static void keep_outcome(worker *w, uint16_t i, int rcolumn, pp_type rtype, size_t mark)
{
    if (rcolumn)
        pp__wctl_item_done_column(w->ctl, &w->kept, i, (unsigned)rtype);
    else
        pp__wctl_item_done(w->ctl, &w->kept, i, w->out.data + mark, w->out.len - mark);
}

/* Where a chunk's scalar results are kept until its end (w->rcol,
 * pool/wctl.h): over its arguments when they are a scalar column read in
 * place from the inbox (8-byte aligned, as the parent places them; entries
 * is the first), so its answer need not carry them (*in_place 1); else the
 * area's column. */
static volatile uint64_t *kept_column(worker *w, pp_type ctype, const uint8_t *entries,
                                      int *in_place)
{
    *in_place = w->from_inbox && (ctype == PP_TYPE_INT || ctype == PP_TYPE_DOUBLE) &&
                (uintptr_t)entries % 8 == 0;
    return pp__wctl_keep_column_at(w->ctl, *in_place ? (volatile uint64_t *)(uintptr_t)entries
                                                     : pp__wctl_column(w->ctl));
}

pp_status pp__worker_run_chunk(worker *w, const pp__frame_hdr *h, const uint8_t *payload)
{
    char msg[PP__ERRMSG_MAX + 1];
    pp_status st, fst, ast;
    pp_type ctype = PP_TYPE_NONE, rtype = PP_TYPE_NONE;
    pp_values *args = NULL;
    uint64_t first;
    pp__fnref ref;
    pp__rd rd;
    size_t at, mark;
    pp_task t;
    uint16_t i, in_frame = 0;
    uint8_t tag;
    int was_general = 0; /* outcomes in w->out (no column answer any more) */
    int ran = 0;         /* item i has run (run_scalars) */
    int column = (h->flags & PP__FLAG_SCALARS) != 0, rcolumn;
    int timed = (h->flags & PP__FLAG_TIMED) != 0;
    int in_place = 0;
    int blobs = 0; /* run_blobs() wrote the whole answer as a blob column */

    pp__rd_init(&rd, payload, h->length);
    fst = pp__fnref_decode(&rd, &ref);
    if (fst != PP_OK && fst != PP_ENOTREGISTERED)
        return PP_EPROTO;
    st = pp__rd_u64(&rd, &first);
    if (st != PP_OK)
        return st;
    if (column) {
        st = pp__rd_u8(&rd, &tag);
        if (st != PP_OK)
            return st;
        if (tag == PP_TYPE_INT || tag == PP_TYPE_DOUBLE) {
            if (pp__rd_left(&rd) != (size_t)h->count * 8)
                return PP_EPROTO;
        } else if (tag != PP_TYPE_STR && tag != PP_TYPE_BYTES) {
            return PP_EPROTO; /* blob entries are checked one by one */
        }
        ctype = (pp_type)tag;
    }
    w->argbits = NULL;
    if (ctype == PP_TYPE_INT || ctype == PP_TYPE_DOUBLE) {
        args = pp__values_init_scalar(w->argmem, ctype, 0);
        w->argbits = pp__values_scalar_bits(args);
    }
    w->rcol = kept_column(w, ctype, rd.p + rd.pos, &in_place);
    /* A column answer is possible until a result does not fit one. */
    rcolumn = fst == PP_OK && h->count > 0;
    st = pp__frame_begin(&w->out, PP__MSG_RESULT, h->count, h->id, &at);
    if (st != PP_OK)
        return st;
    i = 0;
    if (w->argbits != NULL && rcolumn && !timed)
        i = run_scalars(w, h, &rd, ref.fn, first, args, &t, &rtype, &ran);
    if (column && w->argbits == NULL && rcolumn && !timed) {
        st = run_blobs(w, h, &rd, ref.fn, first, ctype, &t, &ran, &i);
        blobs = i == h->count; /* w->out holds their column */
        if (i > 0) {           /* else their outcomes: no column answer */
            rcolumn = 0;
            was_general = 1;
            in_frame = i;
        }
    }
    for (; i < h->count && st == PP_OK; i++) {
        if (!ran) {
            st = next_args(w, &rd, column, ctype, &args);
            if (st != PP_OK)
                break;
            if (timed)
                pp__wctl_item_start_timed(w->ctl, &w->kept, i, pp__plat_now_ms());
            else
                pp__wctl_item_start(w->ctl, &w->kept, i);
        }
        mark = w->out.len;
        if (fst == PP_ENOTREGISTERED) {
            st = pp__worker_put_failure(&w->out, PP_ENOTREGISTERED, 0,
                                        "task function is not registered in the worker process "
                                        "(register it before pp_init)");
        } else if (!column &&
                   (ast = pp__worker_attach_check(args, "arguments", msg, sizeof msg)) != PP_OK) {
            if (rcolumn)
                st = pp__worker_put_scalars(&w->out, w->rcol, i, rtype);
            rcolumn = 0;
            mark = w->out.len;
            if (st == PP_OK)
                st = pp__worker_put_failure(&w->out, ast, 0, msg);
        } else {
            int was_column = rcolumn;
            if (!ran) /* else run_scalars() ran it */
                pp__worker_run_one(ref.fn, args, first + i, w->result, &t);
            ran = 0;
            /* While a column answer is possible, results go to w->rcol
             * only; the general form is written when that ends. */
            column_note(w, &t, i, &rcolumn, &rtype);
            if (!rcolumn && was_column)
                st = pp__worker_put_scalars(&w->out, w->rcol, i, rtype);
            mark = w->out.len;
            if (!rcolumn && st == PP_OK)
                st = put_outcome(w, &t);
            if (!rcolumn)
                pp__values_clear(w->result); /* else column_note emptied it */
        }
        if (st == PP_OK)
            keep_outcome(w, i, rcolumn, rtype, mark);
        if (st == PP_OK && !rcolumn) {
            in_frame = was_general ? (uint16_t)(in_frame + 1) : (uint16_t)(i + 1);
            was_general = 1;
            st = fit_outcome(w, h, &at, &in_frame, mark);
        }
    }
    /* Task output reaches the terminal before the result: a caller that
     * prints after get() sees the task's lines first. */
    pp__plat_flush_stdio();
    if (st == PP_OK && pp__rd_left(&rd) != 0)
        st = PP_EPROTO;
    if (st == PP_OK && blobs) {
        pp__frame_set_flags(&w->out, at, PP__FLAG_SCALARS);
        return pp__frame_end(&w->out, at);
    }
    if (st == PP_OK && rcolumn && in_place)
        return pp__worker_put_column_in_place(&w->out, h, at, rtype);
    if (st == PP_OK && rcolumn)
        return pp__worker_put_scalar_column(&w->out, h, at, rtype, w->rcol);
    if (st == PP_OK) {
        pp__frame_set_count(&w->out, at, in_frame);
        st = pp__frame_end(&w->out, at);
    }
    if (st == PP_OK && in_frame == h->count && h->count > 0)
        st = pp__worker_put_blob_column(&w->out, at,
                                        h->count); /* the whole chunk is in this frame */
    return st;
}
