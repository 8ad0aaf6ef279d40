/*
 * redis_remote.c — the remote worker of a distributed pool: what pp_init()
 * runs when PROCPOOL_REMOTE=redis://host:port/POOLNAME is set (keys in
 * redis/redis_broker.h).
 *
 * It serves the program that owns the pool name now (the instance in
 * pp:{P}:alive), one after another, until killed: it runs that program's
 * initializer (from pp:{P}:hello), then reads task entries with the
 * consumer group (one at a time: what it has claimed is exactly the chunk
 * it runs), runs each with the pool's chunk runner (pool/worker.h), adds
 * the RESULT frames to the result stream, and only then acknowledges and
 * deletes the task entry. A thread renews its heartbeat key every third of
 * the lease, only while the pool is alive. Malformed entries are logged,
 * acknowledged and deleted; the worker goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "pool/worker.h"
#include "redis/redis_broker.h"
#include "redis/redis_internal.h"

#define EXIT_CONFIG 3
#define EXIT_NOMEM  5
#define BLOCK_MS    1000
#define RETRIES     5
#define HELLO_HDR   28 /* magic, instance, lease, expiry */
#define HB_SLICE_MS 50 /* the heartbeat thread looks this often */

/* The result added (the stream expires if the pool is gone), then the
 * task entry acknowledged and deleted: one atomic step (the pool relies on
 * the result being there before the entry goes, redis_pool_tick.c). Not
 * added once the program is gone (destroyed while the chunk ran): nobody
 * would read it, and its key would outlive the pool. */
static const char RESULT_SCRIPT[] =
    "if redis.call('GET', KEYS[4]) ~= ARGV[1] then "
    "pcall(redis.call, 'XACK', KEYS[2], 'g', ARGV[6]) pcall(redis.call, 'XDEL', KEYS[2], ARGV[6]) "
    "return 0 end "
    "redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'id', ARGV[2], 'c', ARGV[3], 'f', ARGV[4]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[5]) "
    "pcall(redis.call, 'XACK', KEYS[2], 'g', ARGV[6]) "
    "pcall(redis.call, 'XDEL', KEYS[2], ARGV[6]) pcall(redis.call, 'HDEL', KEYS[3], ARGV[6]) "
    "return 1";

/* Before a chunk runs: still this worker's (not taken away by the pool's
 * reaper, redis_pool_tick.c), then marked started, atomically. */
static const char START_SCRIPT[] =
    "local p = redis.call('XPENDING', KEYS[1], 'g', ARGV[1], ARGV[1], 1, ARGV[2]) "
    "if #p == 0 then return 0 end "
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[2], ARGV[3]) "
    "return 1";

static const char HB_SCRIPT[] = "if redis.call('EXISTS', KEYS[1]) == 1 then "
                                "redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) return 1 "
                                "else redis.call('DEL', KEYS[2]) return 0 end";

typedef struct remote {
    pp__rb_keys k;
    char host[64];
    char consumer[128];
    char hb_key[2 * PP__RB_KEY_MAX];
    pp__redis_conn *c;  /* the loop's */
    pp__redis_conn *hc; /* the heartbeat thread's */
    pp__chunk_runner *run;
    pp__buf out; /* RESULT frames of the chunk being run */
    pp__plat_mtx *mu;
    /* guarded by mu (the heartbeat reads them) */
    uint64_t done;
    uint64_t inst; /* the program served (0: none) */
    char inst_str[17];
    int64_t lease_ms;
    /* the loop's */
    char expire[24];      /* ms the result stream lives without the pool (hello) */
    uint64_t failed_inst; /* its initializer failed here: not served */
} remote;

static pp_status sink(void *ud, const uint8_t *frame, size_t len)
{
    remote *r = ud;

    return pp__buf_put(&r->out, frame, len);
}

/* ------------------------------------------------------------ heartbeat */

/* Renew the heartbeat key on c: the heartbeat thread's connection, or the
 * loop's as it takes on a program. */
static void beat(remote *r, pp__redis_conn *c)
{
    char value[160], px[24];
    const char *argv[7] = {"EVAL", HB_SCRIPT, "2", r->k.alive, r->hb_key, value, px};
    pp__redis_val *v = NULL;

    pp__plat_mtx_lock(r->mu);
    snprintf(value, sizeof value, "%s %llu %llu %s", r->host, (unsigned long long)pp__plat_getpid(),
             (unsigned long long)r->done, r->inst != 0 ? r->inst_str : "0");
    snprintf(px, sizeof px, "%lld", (long long)r->lease_ms);
    pp__plat_mtx_unlock(r->mu);
    if (pp__rb_cmd(c, 0, &v, 7, argv, NULL) == PP_OK && v->kind == PP__RR_ERROR)
        pp__log(PP_LOG_ERROR, "remote worker: heartbeat: Redis answered %s", v->str);
    pp__redis_val_free(v);
}

/* Every third of the lease; at once when the program served changes (the
 * next one's lease may be much shorter than the last one's). */
static void heartbeat_main(void *arg)
{
    remote *r = arg;
    int64_t next = 0, now, lease;
    uint64_t inst, served = 0;

    for (;;) {
        pp__plat_mtx_lock(r->mu);
        lease = r->lease_ms;
        inst = r->inst;
        pp__plat_mtx_unlock(r->mu);
        now = pp__plat_now_ms();
        if (inst != served || now >= next) {
            served = inst;
            beat(r, r->hc);
            next = now + lease / 3;
        }
        pp__plat_sleep_ms(HB_SLICE_MS);
    }
}

/* --------------------------------------------------------- the program */

/* The outcome of a one-item RESULT in r->out: PP_OK, or the task's status
 * with its message in msg. */
static pp_status first_outcome(const remote *r, char *msg, size_t cap)
{
    pp__frame_hdr h;
    uint32_t s = 0, code = 0;
    const uint8_t *m;
    size_t n = 0;
    pp__rd rd;

    snprintf(msg, cap, "malformed answer");
    if (r->out.len < PP__FRAME_HDR || pp__frame_parse_hdr(r->out.data, &h) != PP_OK ||
        h.type != PP__MSG_RESULT)
        return PP_EPROTO;
    if (h.flags & PP__FLAG_SCALARS)
        return PP_OK;
    pp__rd_init(&rd, r->out.data + PP__FRAME_HDR, h.length);
    if (pp__rd_u32(&rd, &s) != PP_OK || pp__rd_u32(&rd, &code) != PP_OK)
        return PP_EPROTO;
    if (s == 0)
        return PP_OK;
    if (pp__rd_blob(&rd, PP__ERRMSG_MAX, &m, &n) == PP_OK)
        snprintf(msg, cap, "%.*s (code %d)", (int)n, (const char *)m, (int)(int32_t)code);
    return (pp_status)(int32_t)s;
}

/* Take on instance inst: read its hello, run its initializer. */
static void load_hello(remote *r, uint64_t inst)
{
    const char *argv[2] = {"GET", r->k.hello};
    char msg[PP__ERRMSG_MAX + 64];
    pp__redis_val *v = NULL;
    uint64_t hinst = 0, lease = 0, expire = 0;
    pp_status st;
    pp__rd rd;

    st = pp__rb_cmd(r->c, 0, &v, 2, argv, NULL);
    if (st != PP_OK || v->kind != PP__RR_STR || v->len < HELLO_HDR ||
        memcmp(v->str, PP__RB_HELLO_MAGIC, 4) != 0) {
        /* missing: the program is still creating its pool (next check) */
        if (st == PP_OK && v->kind != PP__RR_NIL)
            pp__log(PP_LOG_ERROR, "remote worker: %s is missing or malformed", r->k.hello);
        pp__redis_val_free(v);
        return;
    }
    pp__rd_init(&rd, v->str + 4, v->len - 4);
    (void)pp__rd_u64(&rd, &hinst);
    (void)pp__rd_u64(&rd, &lease);
    (void)pp__rd_u64(&rd, &expire);
    if (hinst != inst || lease < PP__RB_LEASE_MIN || lease > PP__RB_LEASE_MAX ||
        expire < PP__RB_EXPIRE_MIN || expire > PP__RB_EXPIRE_MAX) {
        pp__redis_val_free(v);
        return; /* another program took the name meanwhile: next check */
    }
    st = PP_OK;
    if (v->len > HELLO_HDR) {
        pp__buf_reset(&r->out);
        st = pp__chunk_runner_run(r->run, (const uint8_t *)v->str + HELLO_HDR, v->len - HELLO_HDR);
        if (st == PP_OK)
            st = first_outcome(r, msg, sizeof msg);
        else
            snprintf(msg, sizeof msg, "%s", pp_strerror(st));
        if (st == PP_ENOMEM)
            pp__plat_exit(EXIT_NOMEM);
    }
    pp__redis_val_free(v);
    if (st != PP_OK) {
        pp__log(PP_LOG_ERROR,
                "remote worker: the initializer of pool %s failed here: %s; this worker does "
                "not serve that program",
                r->k.name, msg);
        r->failed_inst = inst;
        return;
    }
    pp__plat_mtx_lock(r->mu);
    r->inst = inst;
    pp__rb_instance_str(inst, r->inst_str);
    r->lease_ms = (int64_t)lease;
    snprintf(r->expire, sizeof r->expire, "%llu", (unsigned long long)expire);
    pp__plat_mtx_unlock(r->mu);
    /* Seen alive by that program before this worker takes its first task,
     * else its reaper takes this worker for dead. */
    beat(r, r->c);
}

/* Which program owns the pool name now; take it on if it is new. */
static pp_status check_instance(remote *r)
{
    const char *argv[2] = {"GET", r->k.alive};
    pp__redis_val *v = NULL;
    uint64_t inst = 0;
    pp_status st;
    char *end;

    st = pp__rb_cmd(r->c, 0, &v, 2, argv, NULL);
    if (st != PP_OK)
        return st;
    if (v->kind == PP__RR_STR && v->len == 16)
        inst = strtoull(v->str, &end, 16);
    pp__redis_val_free(v);
    if (inst == r->inst)
        return PP_OK;
    pp__plat_mtx_lock(r->mu);
    r->inst = 0; /* not serving until the new one's initializer ran */
    pp__plat_mtx_unlock(r->mu);
    if (inst != 0 && inst != r->failed_inst)
        load_hello(r, inst);
    return PP_OK;
}

/* ---------------------------------------------------------------- tasks */

static void ack_del(remote *r, const char *sid)
{
    const char *ack[4] = {"XACK", r->k.t, "g", sid};
    const char *del[3] = {"XDEL", r->k.t, sid};

    (void)pp__rb_do(r->c, "XACK", 4, ack, NULL);
    (void)pp__rb_do(r->c, "XDEL", 3, del, NULL);
}

static void reject(remote *r, const char *sid, const char *why)
{
    pp__log(PP_LOG_ERROR, "remote worker: rejected task entry %s of %s: %s", sid, r->k.t, why);
    ack_del(r, sid);
}

static pp_status add_result(remote *r, const pp__redis_val *id, const char *sid)
{
    const char *argv[13];
    size_t lens[13];
    int i, tries;
    pp_status st = PP_ECONNLOST;

    argv[0] = "EVAL";
    argv[1] = RESULT_SCRIPT;
    argv[2] = "4";
    argv[3] = r->k.r;
    argv[4] = r->k.t;
    argv[5] = r->k.s;
    argv[6] = r->k.alive;
    argv[7] = r->inst_str;
    argv[8] = id->str;
    argv[9] = r->consumer;
    argv[10] = "";
    argv[11] = r->expire;
    argv[12] = sid;
    for (i = 0; i < 13; i++)
        lens[i] = strlen(argv[i]);
    argv[10] = (const char *)r->out.data;
    lens[10] = r->out.len;
    /* A result not added is lost: try again while Redis comes back (the
     * pool ignores a second copy). */
    for (tries = 0; tries < RETRIES && st == PP_ECONNLOST; tries++) {
        if (tries > 0)
            pp__plat_sleep_ms(500);
        st = pp__rb_do(r->c, "adding a result", 13, argv, lens);
    }
    return st;
}

/* PP_OK: the entry is still this worker's and marked started: run it. */
static pp_status mark_started(remote *r, const char *sid)
{
    const char *argv[8] = {"EVAL", START_SCRIPT, "2", r->k.t, r->k.s, sid, r->consumer, r->expire};
    pp__redis_val *v = NULL;
    pp_status st;
    int tries;

    for (tries = 0; tries < RETRIES; tries++) {
        if (tries > 0)
            pp__plat_sleep_ms(500);
        st = pp__rb_cmd(r->c, 0, &v, 8, argv, NULL);
        if (st != PP_ECONNLOST)
            break;
    }
    if (st == PP_OK && v->kind == PP__RR_INT && v->integer == 1) {
        pp__redis_val_free(v);
        return PP_OK;
    }
    /* 0: the pool took it away (withdrawn, or this worker taken for dead);
     * an error: its stream is gone (the pool was terminated or ended) */
    if (st == PP_OK)
        st = PP_ENOENT;
    pp__log(PP_LOG_WARN, "remote worker: not running task entry %s: %s", sid,
            st == PP_ENOENT ? "the pool took it back or ended" : pp_strerror(st));
    pp__redis_val_free(v);
    if (st != PP_ENOENT)
        ack_del(r, sid); /* the pool's lost-entry check fails it */
    return st;
}

static void serve_entry(remote *r, const pp__redis_val *e)
{
    const pp__redis_val *fi, *fid, *ff;
    const char *sid;
    pp_status st;
    char *end;

    if (e->kind != PP__RR_ARRAY || e->n != 2 || e->elem[0].kind != PP__RR_STR)
        return;
    sid = e->elem[0].str;
    fi = pp__rb_field(&e->elem[1], "i");
    fid = pp__rb_field(&e->elem[1], "id");
    ff = pp__rb_field(&e->elem[1], "f");
    if (fi == NULL || fid == NULL || ff == NULL || fid->len == 0 || fid->len > 20 ||
        (strtoull(fid->str, &end, 10), *end != '\0')) {
        reject(r, sid, "fields i, id, f missing or malformed");
        return;
    }
    if (fi->len != 16 || memcmp(fi->str, r->inst_str, 16) != 0) {
        (void)check_instance(r);
        if (fi->len != 16 || memcmp(fi->str, r->inst_str, 16) != 0) {
            reject(r, sid, "not for the program that owns the pool name now");
            return;
        }
    }
    st = mark_started(r, sid);
    if (st != PP_OK)
        return;
    pp__buf_reset(&r->out);
    st = pp__chunk_runner_run(r->run, (const uint8_t *)ff->str, ff->len);
    if (st == PP_ENOMEM)
        pp__plat_exit(EXIT_NOMEM); /* its lease fails the chunk in the pool */
    if (st != PP_OK) {
        reject(r, sid, pp_strerror(st));
        return;
    }
    st = add_result(r, fid, sid);
    if (st != PP_OK) {
        pp__log(PP_LOG_ERROR, "remote worker: could not add the result of task entry %s: %s", sid,
                pp_strerror(st));
        ack_del(r, sid); /* the pool's lost-entry check fails it */
    }
    pp__plat_mtx_lock(r->mu);
    r->done++;
    pp__plat_mtx_unlock(r->mu);
}

/* One XREADGROUP: serve what came. */
static pp_status read_task(remote *r)
{
    const char *argv[10] = {"XREADGROUP", "GROUP", "g",    r->consumer, "COUNT",
                            "1",          "BLOCK", "1000", "STREAMS",   r->k.t};
    const char *av[11];
    pp__redis_val *v = NULL;
    pp_status st;
    size_t i;

    memcpy(av, argv, sizeof argv);
    av[10] = ">";
    st = pp__rb_cmd(r->c, BLOCK_MS, &v, 11, av, NULL);
    if (st != PP_OK)
        return st;
    if (v->kind == PP__RR_ERROR) {
        /* NOGROUP: the program ended or was terminated; wait for the next */
        pp__redis_val_free(v);
        return PP_ENOENT;
    }
    if (v->kind == PP__RR_ARRAY && v->n >= 1 && v->elem[0].kind == PP__RR_ARRAY &&
        v->elem[0].n == 2 && v->elem[0].elem[1].kind == PP__RR_ARRAY) {
        const pp__redis_val *entries = &v->elem[0].elem[1];
        for (i = 0; i < entries->n; i++)
            serve_entry(r, &entries->elem[i]);
    }
    pp__redis_val_free(v);
    return PP_OK;
}

static pp_status connect_retry(remote *r, pp__redis_conn **out)
{
    pp_status st;
    int said = 0;

    for (;;) {
        st = pp__rb_connect(&r->k, 5000, out);
        if (st != PP_ECONNLOST)
            return st;
        if (!said)
            pp__log(PP_LOG_WARN, "remote worker: Redis at %s does not answer; retrying", r->k.addr);
        said = 1;
        pp__plat_sleep_ms(1000);
    }
}

int pp__redis_remote_main(const char *url)
{
    pp__plat_thread *hb = NULL;
    unsigned char nonce[4];
    int64_t next_check = 0, now;
    pp_status st;
    remote r;

    memset(&r, 0, sizeof r);
    if (pp__rb_parse(url, &r.k) != PP_OK) {
        pp__log(PP_LOG_ERROR,
                "remote worker: PROCPOOL_REMOTE='%s': want "
                "redis://host:port/POOLNAME",
                url);
        return EXIT_CONFIG;
    }
    pp__buf_init(&r.out);
    pp__rb_hostname(r.host, sizeof r.host);
    if (pp__plat_random(nonce, sizeof nonce) != PP_OK)
        memset(nonce, 0, sizeof nonce);
    snprintf(r.consumer, sizeof r.consumer, "%s:%llu:%02x%02x%02x%02x", r.host,
             (unsigned long long)pp__plat_getpid(), nonce[0], nonce[1], nonce[2], nonce[3]);
    snprintf(r.hb_key, sizeof r.hb_key, "%s%s", r.k.hb_prefix, r.consumer);
    r.lease_ms = PP__RB_LEASE_MS;
    if (pp__plat_mtx_create(&r.mu) != PP_OK || pp__chunk_runner_create(sink, &r, &r.run) != PP_OK)
        return EXIT_NOMEM;
    st = connect_retry(&r, &r.c);
    if (st == PP_OK)
        st = connect_retry(&r, &r.hc);
    if (st != PP_OK) {
        pp__log(PP_LOG_ERROR, "remote worker: cannot use Redis at %s: %s%s", r.k.addr,
                pp_strerror(st),
                st == PP_EAUTH ? " (PROCPOOL_REDIS_USERNAME / PROCPOOL_REDIS_PASSWORD)" : "");
        return st == PP_ENOMEM ? EXIT_NOMEM : EXIT_CONFIG;
    }
    if (pp__plat_thread_create(&hb, heartbeat_main, &r) != PP_OK)
        return EXIT_NOMEM;
    pp__log(PP_LOG_INFO, "remote worker %s serving pool %s at %s", r.consumer, r.k.name, r.k.addr);
    for (;;) {
        now = pp__plat_now_ms();
        if (now >= next_check) {
            st = check_instance(&r);
            next_check = now + 1000;
            if (st != PP_OK) {
                pp__plat_sleep_ms(500);
                continue;
            }
        }
        if (r.inst == 0) {
            pp__plat_sleep_ms(200);
            continue;
        }
        st = read_task(&r);
        if (st != PP_OK) {
            next_check = 0;
            pp__plat_sleep_ms(st == PP_ENOENT ? 200 : 1000);
        }
    }
}
