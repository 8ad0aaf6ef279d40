/*
 * worker.c — the loop a worker process runs (every start method).
 *
 * The worker is single-threaded and strictly sequential: it runs the tasks
 * of each TASK frame in order and answers every frame with one RESULT
 * frame before it reads on. The parent relies on that order to know which
 * task a dead worker was running.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/core.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "sync/keyring.h"
#include "sync/remote.h"
#include "values/column.h"
#include "values/value_internal.h"
#include "pool/task_internal.h"
#include "pool/wctl.h"
#include "pool/worker.h"
#include "pool/worker_out.h"

/* Exit codes of a worker that stops on its own (documented in README). */
enum {
    WORKER_EXIT_OK = 0,
    WORKER_EXIT_INIT_FAILED = 3,
    WORKER_EXIT_PROTOCOL = 4,
    WORKER_EXIT_NOMEM = 5
};

typedef struct worker {
    pp__plat_chan *chan;
    pp_values *args;   /* reused for every task */
    pp_values *result; /* reused for every task */
    /* a chunk's scalar results: the control block's column; volatile, so the
     * compiler keeps each value's store before the progress word's (wctl.h) */
    volatile uint64_t *rcol;
    pp__reader rd;
    pp__buf out;
    uint32_t maxtasks;
    uint64_t max_rss; /* recycle above this many resident bytes; 0: never */
    uint32_t done;
    pp__plat_shm *ctl_shm; /* the control block (pool/wctl.h) */
    pp__wctl *ctl;
    pp__wctl_cursor kept; /* what this chunk's outcomes have in ctl */
    pp__result_sink sink; /* set: frames go there, not to chan (pp__chunk_runner) */
    void *sink_ud;
    uint64_t argmem[8]; /* a column item's read-only argument tuple */
    uint64_t *argbits;  /* a scalar column's: where its value goes */
} worker;

static pp_status send_frame(worker *w)
{
    pp_status st = w->sink != NULL ? w->sink(w->sink_ud, w->out.data, w->out.len)
                                   : pp__plat_chan_write(w->chan, w->out.data, w->out.len);

    pp__buf_reset(&w->out);
    return st;
}

/* Run fn on args; fill task outcome. result is an empty tuple. */
static void run_one(pp_task_fn fn, const pp_values *args, uint64_t index, pp_values *result,
                    pp_task *t)
{
    int rc;

    /* Field by field, not the message buffer: it is written only by a
     * failure (pp_task_fail), and this runs once per item. */
    t->failed = 0;
    t->code = 0;
    t->message[0] = '\0';
    t->status = PP_ETASK;
    t->args = args;
    t->index = index;
    t->result = result;
    rc = fn(t);
    if (rc != 0 && !t->failed) {
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
}

static pp_status put_failure(pp__buf *b, pp_status status, int code, const char *msg)
{
    pp_status st = pp__buf_put_u32(b, (uint32_t)(int32_t)status);

    if (st == PP_OK)
        st = pp__buf_put_u32(b, (uint32_t)(int32_t)code);
    if (st == PP_OK)
        st = pp__buf_put_blob(b, msg, strlen(msg));
    return st;
}

/* Append one item's outcome; a result that would overflow the frame turns
 * into a PP_ETOOBIG failure instead. */
static pp_status put_outcome(worker *w, const pp_task *t)
{
    size_t mark = w->out.len, n;
    const uint8_t *p;
    pp_type type;
    pp_status st;
    uint8_t *d;

    if (t->failed)
        return put_failure(&w->out, t->status, t->code, t->message);
    if (pp__values_one_blob(t->result, &type, &p, &n) && n <= PP__FRAME_MAX - 17) {
        /* one string or buffer (the commonest result after a scalar), in
         * one step: status 0, code 0, tuple (values/tuple.h) */
        st = pp__buf_reserve(&w->out, 17 + n);
        if (st == PP_OK) {
            d = w->out.data + w->out.len;
            memset(d, 0, 8);
            pp__st_le32(d + 8, 1);
            d[12] = (uint8_t)type;
            pp__st_le32(d + 13, (uint32_t)n);
            memcpy(d + 17, p, n);
            w->out.len += 17 + n;
            return PP_OK;
        }
    }
    st = pp__buf_put_u32(&w->out, 0);
    if (st == PP_OK)
        st = pp__buf_put_u32(&w->out, 0);
    if (st == PP_OK)
        st = pp__values_encode(t->result, &w->out);
    if (st == PP_ETOOBIG || st == PP_ENOMEM) {
        w->out.len = mark;
        return put_failure(&w->out, st, 0,
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
static pp_status attach_check(const pp_values *args, const char *where, char *msg, size_t cap)
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
    pp_type type;
    uint64_t bits;

    if (!*column)
        return;
    if (t->failed || !pp__values_take_scalar(w->result, &type, &bits)) {
        *column = 0;
        return;
    }
    if (i > 0 && type != *rtype) {
        /* back for its general outcome (into the emptied tuple: no growth) */
        (void)(type == PP_TYPE_INT ? pp_values_add_int(w->result, (int64_t)bits)
                                   : pp__values_add_double_bits(w->result, bits));
        *column = 0;
        return;
    }
    *rtype = type;
    w->rcol[i] = bits;
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
            st = send_frame(w);
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
    return put_failure(&w->out, PP_ETOOBIG, 0, "task result too large for one message");
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

static pp_status run_chunk(worker *w, const pp__frame_hdr *h, const uint8_t *payload)
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
    int column = (h->flags & PP__FLAG_SCALARS) != 0, rcolumn;
    int timed = (h->flags & PP__FLAG_TIMED) != 0;

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
    /* A column answer is possible until a result does not fit one. */
    rcolumn = fst == PP_OK && h->count > 0;
    st = pp__frame_begin(&w->out, PP__MSG_RESULT, h->count, h->id, &at);
    if (st != PP_OK)
        return st;
    for (i = 0; i < h->count && st == PP_OK; i++) {
        st = next_args(w, &rd, column, ctype, &args);
        if (st != PP_OK)
            break;
        if (timed)
            pp__wctl_item_start_timed(w->ctl, &w->kept, i, pp__plat_now_ms());
        else
            pp__wctl_item_start(w->ctl, &w->kept, i);
        mark = w->out.len;
        if (fst == PP_ENOTREGISTERED) {
            st = put_failure(&w->out, PP_ENOTREGISTERED, 0,
                             "task function is not registered in the worker process "
                             "(register it before pp_init)");
        } else if (!column && (ast = attach_check(args, "arguments", msg, sizeof msg)) != PP_OK) {
            if (rcolumn)
                st = pp__worker_put_scalars(&w->out, w->rcol, i, rtype);
            rcolumn = 0;
            mark = w->out.len;
            if (st == PP_OK)
                st = put_failure(&w->out, ast, 0, msg);
        } else {
            int was_column = rcolumn;
            run_one(ref.fn, args, first + i, w->result, &t);
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

/* The name of the control block at the end of HELLO: open it. PP_EPROTO
 * for a malformed name, else what opening it gave. */
static pp_status open_ctl(worker *w, pp__rd *rd)
{
    char name[PP__NAME_BUF];
    const uint8_t *p;
    uint8_t n;
    pp_status st;

    st = pp__rd_u8(rd, &n);
    if (st == PP_OK && (n == 0 || n > PP_NAME_MAX))
        st = PP_EPROTO;
    if (st == PP_OK)
        st = pp__rd_take(rd, n, &p);
    if (st != PP_OK)
        return PP_EPROTO;
    memcpy(name, p, n);
    name[n] = '\0';
    if (memchr(p, '\0', n) != NULL || pp__name_check(name) != PP_OK)
        return PP_EPROTO;
    st = pp__plat_shm_open(name, &w->ctl_shm);
    if (st != PP_OK)
        return st;
    w->ctl = pp__plat_shm_ptr(w->ctl_shm);
    st = pp__wctl_check(w->ctl, pp__plat_shm_size(w->ctl_shm));
    if (st == PP_OK)
        w->rcol = pp__wctl_column(w->ctl); /* kept there in place (wctl.h) */
    return st;
}

static pp_status run_initializer(worker *w, const uint8_t *payload, uint32_t len)
{
    char msg[PP__ERRMSG_MAX + 1];
    pp_status st, fst, ast;
    pp_values *args = NULL;
    pp_status status = PP_ETASK;
    pp__fnref ref;
    pp__rd rd;
    size_t at;
    pp_task t;
    int ok = 1;

    memset(&t, 0, sizeof t);
    pp__rd_init(&rd, payload, len);
    /* The keys first: the initializer's arguments may hold manager locks.
     * Learnt, the keys are wiped from the frame (the reader's buffer). */
    st = pp__keyring_decode(&rd);
    if (st != PP_OK)
        return PP_EPROTO;
    pp__keyring_wipe((uint8_t *)(uintptr_t)payload, rd.pos);
    st = pp__rd_u32(&rd, &w->maxtasks);
    if (st == PP_OK)
        st = pp__rd_u64(&rd, &w->max_rss);
    if (st != PP_OK)
        return st;
    fst = pp__fnref_decode(&rd, &ref);
    if (fst != PP_OK && fst != PP_ENOTREGISTERED)
        return PP_EPROTO;
    st = pp__values_decode(&rd, &args, NULL, NULL, 0);
    if (st != PP_OK)
        return st;
    ast = open_ctl(w, &rd);
    if (ast == PP_EPROTO || pp__rd_end(&rd) != PP_OK) {
        pp_values_destroy(args);
        return PP_EPROTO;
    }
    if (ast != PP_OK) {
        /* Not the user's doing: a failed start, not a failed initializer. */
        ok = 0;
        status = PP_ESPAWN;
        pp_task_fail(&t, ast, "the worker could not open its control block: %s", pp_strerror(ast));
    } else if (fst == PP_ENOTREGISTERED) {
        ok = 0;
        pp_task_fail(&t, PP_ENOTREGISTERED, "initializer is not registered in the worker");
    } else if ((ast = attach_check(args, "initializer arguments", msg, sizeof msg)) != PP_OK) {
        ok = 0;
        pp_task_fail(&t, ast, "%s", msg);
    } else if (ref.kind != PP__FN_NONE) {
        run_one(ref.fn, args, 0, w->result, &t);
        pp__values_clear(w->result);
        ok = !t.failed;
    }
    pp_values_destroy(args);
    pp__plat_flush_stdio();

    st = pp__frame_begin(&w->out, PP__MSG_READY, 1, 0, &at);
    if (st == PP_OK)
        st = pp__buf_put_u64(&w->out, pp__plat_getpid());
    if (st == PP_OK)
        st = ok ? put_failure(&w->out, PP_OK, 0, "")
                : put_failure(&w->out, status, t.code, t.message);
    if (st == PP_OK)
        st = pp__frame_end(&w->out, at);
    if (st == PP_OK)
        st = send_frame(w);
    if (st == PP_OK && !ok)
        st = PP_ETASK;
    return st;
}

/* A TASK frame whose payload is in the inbox (PP__FLAG_INBOX): *h and
 * *payload become the chunk's own (the region, read in place; the parent
 * leaves it alone until this chunk's last RESULT). PP_EPROTO for a
 * descriptor that is not exactly an offset and a length inside the
 * inbox. */
static pp_status inbox_payload(const worker *w, pp__frame_hdr *h, const uint8_t **payload)
{
    uint64_t off, len;
    pp__rd rd;

    pp__rd_init(&rd, *payload, h->length);
    if (pp__rd_u64(&rd, &off) != PP_OK || pp__rd_u64(&rd, &len) != PP_OK ||
        pp__rd_end(&rd) != PP_OK)
        return PP_EPROTO;
    if (off > PP__WCTL_INBOX || len > PP__WCTL_INBOX - off || len > PP__FRAME_MAX)
        return PP_EPROTO;
    *payload = pp__wctl_inbox(w->ctl) + off;
    h->length = (uint32_t)len;
    h->flags = (uint8_t)(h->flags & ~PP__FLAG_INBOX);
    return PP_OK;
}

static int worker_loop(worker *w)
{
    const uint8_t *payload;
    pp__frame_hdr h;
    pp_status st;

    st = pp__reader_next(&w->rd, &h, &payload);
    if (st == PP_ECONNLOST)
        return WORKER_EXIT_OK;
    if (st != PP_OK || h.type != PP__MSG_HELLO)
        return WORKER_EXIT_PROTOCOL;
    st = run_initializer(w, payload, h.length);
    if (st == PP_ETASK)
        return WORKER_EXIT_INIT_FAILED;
    if (st != PP_OK)
        return st == PP_ECONNLOST ? WORKER_EXIT_OK : WORKER_EXIT_PROTOCOL;

    for (;;) {
        st = pp__reader_next(&w->rd, &h, &payload);
        if (st == PP_ECONNLOST)
            return WORKER_EXIT_OK; /* parent gone or pool closed */
        if (st != PP_OK)
            return WORKER_EXIT_PROTOCOL;
        if (h.type == PP__MSG_QUIT)
            return WORKER_EXIT_OK;
        if (h.type != PP__MSG_TASK)
            return WORKER_EXIT_PROTOCOL;
        if ((h.flags & PP__FLAG_INBOX) && inbox_payload(w, &h, &payload) != PP_OK)
            return WORKER_EXIT_PROTOCOL;
        if (!pp__wctl_claim(w->ctl, &w->kept, h.id))
            continue; /* the parent took it back for another worker */
        st = run_chunk(w, &h, payload);
        if (st == PP_ENOMEM)
            return WORKER_EXIT_NOMEM;
        if (st == PP_ECONNLOST)
            return WORKER_EXIT_OK; /* a partial RESULT found the parent gone */
        if (st != PP_OK)
            return WORKER_EXIT_PROTOCOL;
        st = send_frame(w);
        if (st != PP_OK)
            return WORKER_EXIT_OK;
        w->done++;
        if (w->maxtasks != 0 && w->done >= w->maxtasks)
            return WORKER_EXIT_OK; /* maxtasksperchild: the parent replaces us */
        if (w->max_rss != 0 && pp__plat_self_rss() > w->max_rss)
            return WORKER_EXIT_OK; /* too big: the parent replaces us */
    }
}

/* Every worker gets its own rand() sequence: a forked worker would repeat
 * its parent's (and its siblings'), a spawned one the default seed 1. */
static void seed_rand(void)
{
    unsigned seed = 0;

    if (pp__plat_random(&seed, sizeof seed) != PP_OK)
        seed = (unsigned)(pp__plat_getpid() * 2654435761u) ^ (unsigned)pp__plat_now_ns();
    srand(seed);
}

int pp__worker_main(pp__plat_chan *chan)
{
    worker w;
    int rc;

    seed_rand();
    memset(&w, 0, sizeof w);
    w.chan = chan;
    pp__buf_init(&w.out);
    if (pp__values_scalar_size() > sizeof w.argmem || /* cannot be: 40 bytes */
        pp_values_create(&w.args) != PP_OK || pp_values_create(&w.result) != PP_OK ||
        pp__reader_init(&w.rd, chan) != PP_OK)
        return WORKER_EXIT_NOMEM;
    rc = worker_loop(&w);
    pp_values_destroy(w.args);
    pp_values_destroy(w.result);
    pp__plat_flush_stdio();
    pp__reader_free(&w.rd);
    pp__buf_free(&w.out);
    pp__plat_shm_close(w.ctl_shm);
    pp__plat_chan_close(chan);
    return rc;
}

/* ---------------------------------------------------- pp__chunk_runner */

struct pp__chunk_runner {
    worker w;
};

void pp__chunk_runner_destroy(pp__chunk_runner *r)
{
    if (r == NULL)
        return;
    pp_values_destroy(r->w.args);
    pp_values_destroy(r->w.result);
    pp__buf_free(&r->w.out);
    free(r->w.ctl);
    free(r);
}

pp_status pp__chunk_runner_create(pp__result_sink sink, void *ud, pp__chunk_runner **out)
{
    pp__chunk_runner *r = calloc(1, sizeof *r);

    *out = NULL;
    if (r == NULL)
        return PP_ENOMEM;
    pp__buf_init(&r->w.out);
    r->w.sink = sink;
    r->w.sink_ud = ud;
    /* A private control block: the chunk runner writes its progress there
     * (untouched pages of it cost nothing). */
    r->w.ctl = calloc(1, PP__WCTL_SIZE);
    if (r->w.ctl == NULL || pp_values_create(&r->w.args) != PP_OK ||
        pp_values_create(&r->w.result) != PP_OK) {
        pp__chunk_runner_destroy(r);
        return PP_ENOMEM;
    }
    pp__wctl_init(r->w.ctl);
    r->w.rcol = pp__wctl_column(r->w.ctl);
    *out = r;
    return PP_OK;
}

pp_status pp__chunk_runner_run(pp__chunk_runner *r, const uint8_t *frame, size_t len)
{
    pp__frame_hdr h;
    pp_status st;

    if (len < PP__FRAME_HDR || pp__frame_parse_hdr(frame, &h) != PP_OK || h.type != PP__MSG_TASK ||
        (h.flags & PP__FLAG_INBOX) != 0 || h.length != len - PP__FRAME_HDR)
        return PP_EPROTO;
    /* From another machine: a function by name only, never an address. */
    if (h.length < 1 || frame[PP__FRAME_HDR] != PP__FN_NAME)
        return PP_EPROTO;
    (void)pp__wctl_claim(r->w.ctl, &r->w.kept, h.id); /* never revoked: resets progress */
    pp__buf_reset(&r->w.out);
    st = run_chunk(&r->w, &h, frame + PP__FRAME_HDR);
    if (st == PP_OK)
        st = send_frame(&r->w);
    pp__buf_reset(&r->w.out);
    return st;
}
