/*
 * worker.c — the loop a worker process runs (every start method).
 *
 * The worker is single-threaded and strictly sequential: it runs the tasks
 * of each TASK frame in order and answers every frame with one RESULT
 * frame before it reads on. The parent relies on that order to know which
 * task a dead worker was running.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/core.h"
#include "wire/frame.h"
#include "sync/keyring.h"
#include "values/value_internal.h"
#include "pool/task_internal.h"
#include "pool/wctl.h"
#include "pool/worker.h"
#include "pool/worker_internal.h"

/* Exit codes of a worker that stops on its own (documented in README). */
enum {
    WORKER_EXIT_OK = 0,
    WORKER_EXIT_INIT_FAILED = 3,
    WORKER_EXIT_PROTOCOL = 4,
    WORKER_EXIT_NOMEM = 5
};

/* The name of the control block at the end of HELLO: open it. PP_EPROTO
 * for a malformed name, else what opening it gave. "@" and 16 hex digits:
 * an unnamed block this fork worker inherited (supervisor.c,
 * pp__first_launcher_create), found by its token. */
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
    if (n == 17 && name[0] == '@') {
        uint64_t token = 0;
        int i;
        for (i = 1; i < 17; i++) {
            int c = name[i];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return PP_EPROTO;
            token = token << 4 | (uint64_t)d;
        }
        st = pp__plat_shm_inherit(token, &w->ctl_shm);
    } else if (memchr(p, '\0', n) != NULL || pp__name_check(name) != PP_OK) {
        return PP_EPROTO;
    } else {
        st = pp__plat_shm_open(name, &w->ctl_shm);
    }
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
    } else if ((ast = pp__worker_attach_check(args, "initializer arguments", msg, sizeof msg)) !=
               PP_OK) {
        ok = 0;
        pp_task_fail(&t, ast, "%s", msg);
    } else if (ref.kind != PP__FN_NONE) {
        pp__worker_run_one(ref.fn, args, 0, w->result, &t);
        pp__values_clear(w->result);
        ok = !t.failed;
    }
    pp_values_destroy(args);
    pp__plat_flush_stdio();

    st = pp__frame_begin(&w->out, PP__MSG_READY, 1, 0, &at);
    if (st == PP_OK)
        st = pp__buf_put_u64(&w->out, pp__plat_getpid());
    if (st == PP_OK)
        st = ok ? pp__worker_put_failure(&w->out, PP_OK, 0, "")
                : pp__worker_put_failure(&w->out, status, t.code, t.message);
    if (st == PP_OK)
        st = pp__frame_end(&w->out, at);
    if (st == PP_OK)
        st = pp__worker_send_frame(w);
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
        /* After a sync apply's result the caller's next one may come at
         * once: wait for it in a spin. After anything else, sleep. */
        pp__reader_spin_enable(&w->rd, (h.flags & PP__FLAG_WAITED) != 0);
        w->from_inbox = (h.flags & PP__FLAG_INBOX) != 0;
        if (w->from_inbox && inbox_payload(w, &h, &payload) != PP_OK)
            return WORKER_EXIT_PROTOCOL;
        if (!pp__wctl_claim(w->ctl, &w->kept, h.id))
            continue; /* the parent took it back for another worker */
        st = pp__worker_run_chunk(w, &h, payload);
        if (st == PP_ENOMEM)
            return WORKER_EXIT_NOMEM;
        if (st == PP_ECONNLOST)
            return WORKER_EXIT_OK; /* a partial RESULT found the parent gone */
        if (st != PP_OK)
            return WORKER_EXIT_PROTOCOL;
        st = pp__worker_send_frame(w);
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

/*
 * How long a worker waiting for its next message spins before it sleeps
 * (wire/frame.h: non-blocking reads, yielding the CPU at each turn, for
 * at most this long, adapted to the last waits). A caller's next apply
 * comes a few microseconds after the last result; asleep, the worker
 * needed a wake-up for each, which on a virtual machine whose other CPU
 * has gone idle costs more than the round trip itself. Only after a sync
 * apply's task (PP__FLAG_WAITED): after other work the spin would take
 * the CPU from the parent's threads that produce the next tasks (20,000
 * apply_async: 20% slower with a spin after every task). Waits longer
 * than this (an idle pool, sparse applies) halve the spin each time, so
 * an idle worker soon sleeps at once.
 */
#define WORKER_SPIN_NS 50000

int pp__worker_main(pp__plat_chan *chan)
{
    worker w;
    int rc;

    seed_rand();
    memset(&w, 0, sizeof w);
    w.chan = chan;
    pp__buf_init(&w.out);
    if (pp__values_scalar_size() > sizeof w.argmem || /* cannot be: 40 bytes */
        pp_values_create(&w.args) != PP_OK || pp__values_create_scratch(&w.result) != PP_OK ||
        pp__reader_init(&w.rd, chan) != PP_OK)
        return WORKER_EXIT_NOMEM;
    pp__reader_set_spin(&w.rd, WORKER_SPIN_NS);
    pp__reader_spin_enable(&w.rd, 0); /* until a sync apply (worker_loop) */
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
        pp__values_create_scratch(&r->w.result) != PP_OK) {
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
    st = pp__worker_run_chunk(&r->w, &h, frame + PP__FRAME_HDR);
    if (st == PP_OK)
        st = pp__worker_send_frame(&r->w);
    pp__buf_reset(&r->w.out);
    return st;
}
