/*
 * redis_pool.c — the broker of a distributed pool on Redis (pool/broker.h,
 * keys in redis/redis_broker.h): creation and removal of the pool's keys,
 * sending chunks (XADD to the task stream), and the broker thread that
 * reads results (XREAD on the result stream, any order, by chunk id).
 * What the thread checks every tick (heartbeats, dead consumers, lost
 * entries, taking back unclaimed chunks) is in redis_pool_tick.c.
 *
 * The broker's state is guarded by the pool's mutex (core->mu); Redis is
 * never called with it held. Two connections: wc for the threads that
 * pump chunks (its own mutex serializes them), rc for the broker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "wire/msg.h"
#include "pool/pool_internal.h"
#include "redis/redis_broker.h"
#include "redis/redis_internal.h"
#include "redis/redis_pool.h"

#define READ_BLOCK_MS 200
#define READ_COUNT    "64"
#define SEND_BATCH    64

/* ------------------------------------------------------------ in flight */

int pp__rp_find_id(const pp__broker *b, uint64_t id)
{
    size_t i;

    for (i = 0; i < b->nfl; i++) {
        if (b->fl[i].c->id == id)
            return (int)i;
    }
    return -1;
}

int pp__rp_find_sid(const pp__broker *b, const char *sid)
{
    size_t i;

    for (i = 0; i < b->nfl; i++) {
        if (strcmp(b->fl[i].sid, sid) == 0)
            return (int)i;
    }
    return -1;
}

pp__chunk *pp__rp_remove(pp__broker *b, int idx)
{
    pp__chunk *c = b->fl[idx].c;

    b->fl[idx] = b->fl[--b->nfl];
    c->next = NULL;
    return c;
}

void pp__rp_fail_locked(pp__broker *b, int idx, pp_status st, int code, const char *msg)
{
    pp__chunk *c = pp__rp_remove(b, idx);

    pp__chunk_fail_locked(c, st, code, msg);
    pp__chunk_free(c);
}

void pp__rp_fail_all_locked(pp__broker *b, pp_status st, const char *msg)
{
    while (b->nfl > 0)
        pp__rp_fail_locked(b, (int)b->nfl - 1, st, 0, msg);
}

static pp_status fl_reserve(pp__broker *b)
{
    size_t cap;
    pp__rp_rec *n;

    if (b->nfl < b->cap)
        return PP_OK;
    cap = b->cap ? b->cap * 2 : 16;
    n = realloc(b->fl, cap * sizeof *n);
    if (n == NULL)
        return PP_ENOMEM;
    b->fl = n;
    b->cap = cap;
    return PP_OK;
}

/* Chunks the broker may hold: two per remote worker of this pool seen
 * alive (one running, one waiting), none while Redis is not reachable. */
static size_t window_locked(const pp__broker *b)
{
    size_t w = (size_t)b->alive * 2;

    if (b->down || b->terminated || b->stop || b->name_lost || pp__plat_now_ms() < b->refused_until)
        return 0;
    return w > PP__RP_WINDOW_MAX ? PP__RP_WINDOW_MAX : w;
}

static unsigned room_locked(const pp__broker *b)
{
    size_t w = window_locked(b);

    return w > b->nfl ? (unsigned)(w - b->nfl) : 0;
}

/* ------------------------------------------------------------------ send */

/* *refused: Redis answered an error (out of memory, ...): the entry was
 * not added, the chunk can run elsewhere. */
static pp_status xadd(pp__broker *b, uint64_t id, const uint8_t *frame, size_t len, char *sid,
                      int *refused)
{
    const char *argv[9];
    size_t lens[9];
    char idstr[24];
    pp__redis_val *v = NULL;
    pp_status st;
    int i;

    snprintf(idstr, sizeof idstr, "%llu", (unsigned long long)id);
    argv[0] = "XADD";
    argv[1] = b->k.t;
    argv[2] = "*";
    argv[3] = "i";
    argv[4] = b->inst_str;
    argv[5] = "id";
    argv[6] = idstr;
    argv[7] = "f";
    argv[8] = (const char *)frame;
    for (i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    lens[8] = len;
    st = pp__redis_conn_cmd_val(b->wc, 0, 9, argv, lens, &v);
    *refused = st == PP_OK && v->kind == PP__RR_ERROR;
    if (st == PP_OK && (v->kind != PP__RR_STR || v->len >= PP__RP_SID_MAX)) {
        pp__log(PP_LOG_ERROR, "broker %s: XADD to %s answered %s", b->k.addr, b->k.t,
                v->str != NULL ? v->str : "something unexpected");
        st = PP_EPROTO;
    }
    if (st == PP_OK)
        memcpy(sid, v->str, v->len + 1);
    pp__redis_val_free(v);
    return st;
}

/* Send what the broker has room for (pool/broker.h: pump_locked). One
 * thread sends at a time; another that finds work sets repump. */
static void pump_locked(pp__broker *b)
{
    pp_pool *p = b->p;
    uint64_t ids[SEND_BATCH];
    size_t offs[SEND_BATCH], lens[SEND_BATCH];
    char sids[SEND_BATCH][PP__RP_SID_MAX];
    pp_status sts[SEND_BATCH];
    int refused[SEND_BATCH];
    char msg[PP__ERRMSG_MAX + 1];
    pp__chunk *c;
    pp__buf out;
    int n, i, idx;

    if (b->pumping) {
        b->repump = 1;
        return;
    }
    b->pumping = 1;
    pp__buf_init(&out);
    do {
        b->repump = 0;
        pp__buf_reset(&out);
        for (n = 0; n < SEND_BATCH && b->nfl < window_locked(b) && p->q_head != NULL; n++) {
            if (fl_reserve(b) != PP_OK)
                break;
            c = pp__queue_take_locked(p);
            if (pp__buf_put(&out, c->frame.data, c->frame.len) != PP_OK) {
                pp__queue_push_front_locked(p, c);
                break;
            }
            offs[n] = out.len - c->frame.len;
            lens[n] = c->frame.len;
            ids[n] = c->id;
            memset(&b->fl[b->nfl], 0, sizeof b->fl[b->nfl]);
            b->fl[b->nfl].c = c;
            b->fl[b->nfl].sent_ms = pp__plat_now_ms();
            b->nfl++;
        }
        if (n == 0)
            break;
        pp__plat_mtx_unlock(p->core->mu);
        for (i = 0; i < n; i++)
            sts[i] = xadd(b, ids[i], out.data + offs[i], lens[i], sids[i], &refused[i]);
        pp__plat_mtx_lock(p->core->mu);
        for (i = 0; i < n; i++) {
            idx = pp__rp_find_id(b, ids[i]);
            if (idx < 0)
                continue; /* failed meanwhile (terminate, lost connection) */
            if (sts[i] == PP_OK) {
                memcpy(b->fl[idx].sid, sids[i], sizeof sids[i]);
                continue;
            }
            if (refused[i]) {
                /* Not added: it runs here; nothing is sent for a tick. */
                b->refused_until = pp__plat_now_ms() + PP__RP_TICK_MS;
                pp__queue_push_front_locked(p, pp__rp_remove(b, idx));
                continue;
            }
            /* Whether Redis took it is not known: it must not run twice. */
            snprintf(msg, sizeof msg, "could not send the task to the broker (Redis at %.80s): %s",
                     b->k.addr, pp_strerror(sts[i]));
            b->down = 1;
            pp__rp_fail_locked(b, idx, PP_ECONNLOST, 0, msg);
        }
        b->repump = 1;
    } while (b->repump);
    b->pumping = 0;
    pp__buf_free(&out);
}

static unsigned inflight_locked(const pp__broker *b)
{
    return (unsigned)b->nfl;
}

static void cancel_locked(pp__broker *b, struct pp_result *j)
{
    size_t i;

    for (i = 0; i < b->nfl; i++) {
        if (b->fl[i].c->job == j) {
            b->fl[i].cancel = 1;
            b->cancel_pending = 1;
        }
    }
}

/* Withdraw the task entries of canceled chunks no remote worker started:
 * acknowledged and deleted in the script that tells whether one was (a
 * worker's start script then finds it gone, redis_remote.c). */
static const char CANCEL_SCRIPT[] =
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end "
    "redis.call('XACK', KEYS[1], 'g', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1]) return 0";

static pp_status withdraw_canceled(pp__broker *b)
{
    char sids[SEND_BATCH][PP__RP_SID_MAX];
    const char *argv[6] = {"EVAL", CANCEL_SCRIPT, "2", b->k.t, b->k.s, NULL};
    pp__redis_val *v = NULL;
    pp_status st = PP_OK;
    size_t i, n = 0;
    int idx, started, more = 0;

    pp__plat_mtx_lock(b->p->core->mu);
    for (i = 0; i < b->nfl; i++) {
        if (!b->fl[i].cancel)
            continue;
        /* a chunk still being sent (no entry id yet) stays pending for a
         * later turn, as do those beyond this batch */
        if (b->fl[i].sid[0] == '\0' || n == SEND_BATCH) {
            more = 1;
            continue;
        }
        b->fl[i].cancel = 0;
        memcpy(sids[n++], b->fl[i].sid, PP__RP_SID_MAX);
    }
    b->cancel_pending = more;
    pp__plat_mtx_unlock(b->p->core->mu);
    for (i = 0; i < n && st == PP_OK; i++) {
        argv[5] = sids[i];
        st = pp__rb_cmd(b->rc, 0, &v, 6, argv, NULL);
        started = st != PP_OK || v->kind != PP__RR_INT || v->integer != 0;
        pp__redis_val_free(v);
        v = NULL;
        if (started)
            continue; /* its result comes (and is ignored), or its lease ends */
        pp__plat_mtx_lock(b->p->core->mu);
        idx = pp__rp_find_sid(b, sids[i]);
        if (idx >= 0)
            pp__chunk_free(pp__rp_remove(b, idx)); /* its items are canceled already */
        pp__pump_all_locked(b->p);
        pp__plat_mtx_unlock(b->p->core->mu);
    }
    return st;
}

static unsigned workers_locked(const pp__broker *b)
{
    return b->alive;
}

static void terminate_locked(pp__broker *b)
{
    b->terminated = 1;
    b->del_tasks = 1; /* the thread deletes the task stream: nothing more starts */
    pp__rp_fail_all_locked(b, PP_ETERMINATED, "pool was terminated");
}

/* --------------------------------------------------------------- results */

/* One entry of the result stream: [sid, [i, inst, id, N, c, consumer, f, frames]]. */
static void handle_result(pp__broker *b, const pp__redis_val *e)
{
    const pp__redis_val *fi, *fid, *ff, *fc;
    pp_pool *p = b->p;
    const uint8_t *f;
    pp_status st = PP_OK;
    pp__frame_hdr h;
    size_t pos = 0;
    uint64_t id;
    char *end;
    int idx;

    if (e->kind != PP__RR_ARRAY || e->n != 2 || e->elem[0].kind != PP__RR_STR)
        return;
    fi = pp__rb_field(&e->elem[1], "i");
    fid = pp__rb_field(&e->elem[1], "id");
    ff = pp__rb_field(&e->elem[1], "f");
    fc = pp__rb_field(&e->elem[1], "c");
    if (fi != NULL && (fi->len != 16 || memcmp(fi->str, b->inst_str, 16) != 0))
        return; /* another program's (one that used this pool name before) */
    if (fi == NULL || fid == NULL || ff == NULL || fid->len == 0 ||
        (id = strtoull(fid->str, &end, 10), *end != '\0')) {
        pp__log(PP_LOG_ERROR, "broker %s: rejected a malformed entry %s of %s", b->k.addr,
                e->elem[0].str, b->k.r);
        return;
    }
    pp__plat_mtx_lock(p->core->mu);
    idx = pp__rp_find_id(b, id);
    if (idx < 0) {
        /* failed already (lease expired, terminate, canceled and done) */
        pp__plat_mtx_unlock(p->core->mu);
        return;
    }
    f = (const uint8_t *)ff->str;
    while (st == PP_OK && pos < ff->len) {
        if (ff->len - pos < PP__FRAME_HDR || pp__frame_parse_hdr(f + pos, &h) != PP_OK ||
            h.type != PP__MSG_RESULT || h.length > ff->len - pos - PP__FRAME_HDR) {
            st = PP_EPROTO;
            break;
        }
        st = pp__chunk_apply_result_locked(b->fl[idx].c, &h, f + pos + PP__FRAME_HDR);
        pos += PP__FRAME_HDR + h.length;
    }
    if (pos == 0)
        st = PP_EPROTO;
    if (st == PP_OK && b->fl[idx].c->answered == b->fl[idx].c->count) {
        pp__chunk *c = pp__rp_remove(b, idx);
        b->done++;
        pp__job_after_items_locked(c->job);
        pp__chunk_free(c);
    } else {
        pp__job_after_items_locked(b->fl[idx].c->job);
        /* Its lease or the lost-entry check fails it if no good answer comes. */
        pp__log(PP_LOG_ERROR,
                "broker %s: rejected a malformed result %s for chunk %llu (from %s) in %s",
                b->k.addr, e->elem[0].str, (unsigned long long)id, fc ? fc->str : "?", b->k.r);
    }
    pp__pump_all_locked(p);
    pp__plat_mtx_unlock(p->core->mu);
}

/* 1 if a result entry is another program's (one that holds the pool name
 * now, or held it before). */
static int others(const pp__broker *b, const pp__redis_val *e)
{
    const pp__redis_val *fi = e->n == 2 ? pp__rb_field(&e->elem[1], "i") : NULL;

    return fi != NULL && (fi->len != 16 || memcmp(fi->str, b->inst_str, 16) != 0);
}

/* Read what results came (waiting up to READ_BLOCK_MS), apply them and
 * delete them from the stream. */
static pp_status read_results(pp__broker *b)
{
    const char *argv[7] = {"XREAD", "COUNT", READ_COUNT, "BLOCK", "200", "STREAMS", b->k.r};
    const char *del[2 + 64];
    const pp__redis_val *entries;
    pp__redis_val *v = NULL;
    const char *av[8];
    pp_status st;
    size_t i, nd = 0;

    memcpy(av, argv, sizeof argv);
    av[7] = b->last;
    st = pp__rb_cmd(b->rc, READ_BLOCK_MS, &v, 8, av, NULL);
    if (st != PP_OK)
        return st;
    if (v->kind == PP__RR_ARRAY && v->n >= 1 && v->elem[0].kind == PP__RR_ARRAY &&
        v->elem[0].n == 2 && v->elem[0].elem[1].kind == PP__RR_ARRAY) {
        entries = &v->elem[0].elem[1];
        del[0] = "XDEL";
        del[1] = b->k.r;
        for (i = 0; i < entries->n && i < 64; i++) {
            const pp__redis_val *e = &entries->elem[i];
            handle_result(b, e);
            if (e->kind == PP__RR_ARRAY && e->n >= 1 && e->elem[0].kind == PP__RR_STR &&
                e->elem[0].len < PP__RP_SID_MAX) {
                memcpy(b->last, e->elem[0].str, e->elem[0].len + 1);
                if (!others(b, e)) /* another program's are its own to delete */
                    del[2 + nd++] = e->elem[0].str;
            }
        }
        if (nd > 0)
            st = pp__rb_do(b->rc, "XDEL", (int)(2 + nd), del, NULL);
    }
    pp__redis_val_free(v);
    return st == PP_EPROTO ? PP_OK : st;
}

static void thread_main(void *arg)
{
    pp__broker *b = arg;
    pp_pool *p = b->p;
    int64_t next_tick = 0, now;
    int stop, del, down, cancel, lost;
    pp_status st;

    for (;;) {
        pp__plat_mtx_lock(p->core->mu);
        stop = b->stop;
        del = b->del_tasks;
        b->del_tasks = 0;
        down = b->down;
        cancel = b->cancel_pending;
        pp__plat_mtx_unlock(p->core->mu);
        if (stop)
            break;
        pp__plat_mtx_lock(p->core->mu);
        lost = b->name_lost;
        pp__plat_mtx_unlock(p->core->mu);
        if (lost) {
            pp__plat_sleep_ms(READ_BLOCK_MS);
            continue;
        }
        if (del) {
            const char *argv[2] = {"DEL", b->k.t};
            (void)pp__rb_do(b->rc, "DEL", 2, argv, NULL);
        }
        if (down && (st = pp__rp_recover(b)) != PP_OK) {
            if (st == PP_EEXIST)
                pp__rp_name_lost(b);
            else
                pp__plat_sleep_ms(READ_BLOCK_MS);
            continue;
        }
        st = cancel ? withdraw_canceled(b) : PP_OK;
        if (st == PP_OK)
            st = read_results(b);
        if (st == PP_ECONNLOST) {
            pp__rp_lost(b);
            continue;
        }
        now = pp__plat_now_ms();
        if (now >= next_tick) {
            st = pp__rp_tick(b);
            if (st == PP_ECONNLOST)
                pp__rp_lost(b);
            else if (st == PP_EEXIST)
                pp__rp_name_lost(b);
            next_tick = now + PP__RP_TICK_MS;
        }
    }
}

/* ---------------------------------------------------------- open, close */

/* The hello key's value: magic, instance, lease, and the initializer
 * call as a TASK frame (fnref, first item 0, its arguments). */
static pp_status make_hello(pp__broker *b, const pp_pool_options *o)
{
    const pp__buf *ph = &b->p->hello;
    size_t fn_at, fn_end, at;
    pp_status st;
    pp__rd rd;

    pp__buf_init(&b->hello);
    st = pp__buf_put(&b->hello, PP__RB_HELLO_MAGIC, 4);
    if (st == PP_OK)
        st = pp__buf_put_u64(&b->hello, b->inst);
    if (st == PP_OK)
        st = pp__buf_put_u64(&b->hello, (uint64_t)b->lease_ms);
    if (st == PP_OK)
        st = pp__buf_put_u64(&b->hello, (uint64_t)b->expire_ms);
    if (st != PP_OK || o->initializer == NULL)
        return st;
    /* The pool's HELLO payload: u32 maxtasks, u64 max_rss, fnref, args. */
    pp__rd_init(&rd, ph->data, ph->len);
    fn_at = 12;
    rd.pos = fn_at;
    if (ph->len < fn_at || pp__fnref_skip(&rd) != PP_OK)
        return PP_EPROTO;
    fn_end = rd.pos;
    st = pp__frame_begin(&b->hello, PP__MSG_TASK, 1, 0, &at);
    if (st == PP_OK)
        st = pp__buf_put(&b->hello, ph->data + fn_at, fn_end - fn_at);
    if (st == PP_OK)
        st = pp__buf_put_u64(&b->hello, 0);
    if (st == PP_OK)
        st = pp__buf_put(&b->hello, ph->data + fn_end, ph->len - fn_end);
    if (st == PP_OK)
        st = pp__frame_end(&b->hello, at);
    return st;
}

pp_status pp__rp_put_hello(pp__broker *b, pp__redis_conn *c)
{
    char px[24];
    const char *argv[5] = {"SET", b->k.hello, (const char *)b->hello.data, "PX", px};
    size_t lens[5];

    snprintf(px, sizeof px, "%lld", (long long)b->expire_ms);
    lens[0] = 3;
    lens[1] = strlen(b->k.hello);
    lens[2] = b->hello.len;
    lens[3] = 2;
    lens[4] = strlen(px);
    return pp__rb_do(c, "SET hello", 5, argv, lens);
}

static void broker_free(pp__broker *b)
{
    pp__redis_conn_close(b->wc);
    pp__redis_conn_close(b->rc);
    pp__buf_free(&b->hello);
    free(b->fl);
    free(b->seen);
    free(b);
}

static pp_status claim_name(pp__broker *b)
{
    char px[24];
    const char *argv[6] = {"SET", b->k.alive, b->inst_str, "NX", "PX", px};
    const char *del[5] = {"DEL", b->k.t, b->k.r, b->k.hello, b->k.s};
    const char *grp[6] = {"XGROUP", "CREATE", b->k.t, "g", "0", "MKSTREAM"};
    pp__redis_val *v = NULL;
    pp_status st;

    snprintf(px, sizeof px, "%lld", (long long)b->alive_ms);
    st = pp__rb_cmd(b->wc, 0, &v, 6, argv, NULL);
    if (st == PP_OK && v->kind == PP__RR_NIL) {
        pp__log(PP_LOG_ERROR,
                "pool broker %s/%s: the pool name is in use by another live program (%s "
                "exists; it expires within %lld ms of that program's end)",
                b->k.addr, b->k.name, b->k.alive, (long long)b->alive_ms);
        st = PP_EEXIST;
    } else if (st == PP_OK && v->kind == PP__RR_ERROR) {
        pp__log(PP_LOG_ERROR, "pool broker %s: Redis answered %s", b->k.addr, v->str);
        st = PP_EPROTO;
    }
    pp__redis_val_free(v);
    /* A crashed predecessor's streams must not be served as ours. */
    if (st == PP_OK)
        st = pp__rb_do(b->wc, "DEL", 5, del, NULL);
    if (st == PP_OK)
        st = pp__rb_do(b->wc, "XGROUP CREATE", 6, grp, NULL);
    if (st == PP_OK)
        st = pp__rp_put_hello(b, b->wc);
    if (st == PP_OK)
        st = pp__rp_refresh(b, b->wc);
    return st;
}

static pp_status broker_open(pp_pool *p, const pp_pool_options *o, pp__broker **out)
{
    pp__broker *b;
    pp_status st;

    *out = NULL;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return PP_ENOMEM;
    b->p = p;
    pp__buf_init(&b->hello);
    if (pp__rb_parse(o->broker, &b->k) != PP_OK ||
        (o->broker_lease_ms != 0 &&
         (o->broker_lease_ms < PP__RB_LEASE_MIN || o->broker_lease_ms > PP__RB_LEASE_MAX)) ||
        (o->broker_expire_ms != 0 &&
         (o->broker_expire_ms < PP__RB_EXPIRE_MIN || o->broker_expire_ms > PP__RB_EXPIRE_MAX))) {
        pp__log(PP_LOG_ERROR,
                "pool broker '%s': want redis://host:port/POOLNAME (POOLNAME: 1-64 of "
                "A-Z a-z 0-9 _ . -), a lease of %d to %d ms, an expiry of %d to %d ms",
                o->broker, PP__RB_LEASE_MIN, PP__RB_LEASE_MAX, PP__RB_EXPIRE_MIN,
                PP__RB_EXPIRE_MAX);
        broker_free(b);
        return PP_EINVAL;
    }
    b->lease_ms = o->broker_lease_ms ? o->broker_lease_ms : PP__RB_LEASE_MS;
    b->expire_ms = o->broker_expire_ms ? o->broker_expire_ms : PP__RB_EXPIRE_MS;
    b->alive_ms = b->expire_ms < 10000 ? b->expire_ms : 10000;
    memcpy(b->last, "0-0", 4);
    while (b->inst == 0)
        if (pp__plat_random(&b->inst, sizeof b->inst) != PP_OK)
            b->inst = ((uint64_t)pp__plat_getpid() << 32) ^ (uint64_t)pp__plat_now_ns();
    pp__rb_instance_str(b->inst, b->inst_str);
    st = make_hello(b, o);
    if (st == PP_OK) {
        st = pp__rb_connect(&b->k, PP__RP_REPLY_MS, &b->wc);
        if (st == PP_OK)
            st = pp__rb_connect(&b->k, PP__RP_REPLY_MS, &b->rc);
        if (st != PP_OK)
            pp__log(PP_LOG_ERROR, "pool broker %s: cannot connect: %s%s", b->k.addr,
                    pp_strerror(st),
                    st == PP_EAUTH ? " (PROCPOOL_REDIS_USERNAME / PROCPOOL_REDIS_PASSWORD)" : "");
    }
    if (st == PP_OK)
        st = claim_name(b);
    if (st == PP_OK)
        st = pp__plat_thread_create(&b->thread, thread_main, b);
    if (st != PP_OK) {
        broker_free(b);
        return st;
    }
    *out = b;
    return PP_OK;
}

/* The pool's keys deleted unless another program holds the name (this
 * one lost it, pp__rp_name_lost()): 1 if deleted. */
static const char DESTROY_SCRIPT[] =
    "local v = redis.call('GET', KEYS[1]) if v and v ~= ARGV[1] then return 0 end "
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]) return 1";

static void broker_close(pp__broker *b)
{
    pp_pool *p = b->p;
    const char *del[9] = {"EVAL", DESTROY_SCRIPT, "5",    b->k.alive, b->k.t,
                          b->k.r, b->k.hello,     b->k.s, b->inst_str};
    pp__redis_val *v = NULL;

    pp__plat_mtx_lock(p->core->mu);
    b->stop = 1;
    pp__plat_mtx_unlock(p->core->mu);
    pp__plat_thread_join(b->thread);
    pp__plat_mtx_lock(p->core->mu);
    pp__rp_fail_all_locked(b, PP_ETERMINATED, "pool was destroyed");
    pp__plat_mtx_unlock(p->core->mu);
    /* :alive first: remote workers stop heartbeating once it is gone. */
    if (!b->name_lost && pp__rb_cmd(b->wc, 0, &v, 9, del, NULL) == PP_OK && v->kind == PP__RR_INT &&
        v->integer == 1)
        pp__rp_del_heartbeats(b, b->wc);
    pp__redis_val_free(v);
    broker_free(b);
}

static pp_status broker_list(pp__broker *b, pp_remote_worker *out, size_t cap, size_t *count)
{
    pp_pool *p = b->p;
    size_t i, n = 0;

    pp__plat_mtx_lock(p->core->mu);
    for (i = 0; i < b->nseen; i++) {
        if (!b->seen[i].ours)
            continue;
        if (n < cap)
            out[n] = b->seen[i].info;
        n++;
    }
    pp__plat_mtx_unlock(p->core->mu);
    *count = n;
    return PP_OK;
}

static const pp__broker_ops ops = {
    broker_open,   pump_locked,      room_locked,  inflight_locked, workers_locked,
    cancel_locked, terminate_locked, broker_close, broker_list,
};

void pp__redis_broker_init(void)
{
    pp__broker_register(&ops);
}

void pp__redis_broker_shutdown(void)
{
    pp__broker_register(NULL);
}
