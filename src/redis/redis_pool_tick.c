/*
 * redis_pool_tick.c — what the broker thread (redis_pool.c) checks every
 * PP__RP_TICK_MS: it renews the pool's keys, scans the remote workers'
 * heartbeats (the window and pp_pool_remote_workers() follow them),
 * fails the chunks of consumers that stopped heartbeating (claimed from
 * the pending-entry list), fails chunks whose task entry left the stream
 * without an answer, and takes back chunks no remote worker claimed when
 * local workers are idle or no remote worker is alive. Also the broken
 * connection and its recovery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "redis/redis_pool.h"

#define SEEN_MAX    256
#define PENDING_MAX "128"
#define CHECK_MAX   64
#define POOL_NAME   "pp-pool" /* the pool's own consumer (take-back, reaping) */

/* The pool's claim on its name renewed, unless another program holds it
 * (this one's expired meanwhile): 0 then. */
static const char CLAIM_SCRIPT[] =
    "local v = redis.call('GET', KEYS[1]) if v and v ~= ARGV[1] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1";

pp_status pp__rp_refresh(pp__broker *b, pp__redis_conn *c)
{
    char px[24], ex[24];
    const char *alive[6] = {"EVAL", CLAIM_SCRIPT, "1", b->k.alive, b->inst_str, px};
    const char *keys[4] = {b->k.t, b->k.r, b->k.hello, b->k.s};
    const char *argv[3];
    pp__redis_val *v = NULL;
    pp_status st;
    int i;

    snprintf(px, sizeof px, "%lld", (long long)b->alive_ms);
    snprintf(ex, sizeof ex, "%lld", (long long)b->expire_ms);
    st = pp__rb_cmd(c, 0, &v, 6, alive, NULL);
    if (st == PP_OK && v->kind == PP__RR_INT && v->integer == 0)
        st = PP_EEXIST;
    else if (st == PP_OK && v->kind == PP__RR_ERROR)
        pp__log(PP_LOG_ERROR, "pool broker %s: renewing %s: Redis answered %s", b->k.addr,
                b->k.alive, v->str);
    pp__redis_val_free(v);
    if (st == PP_EEXIST)
        return st;
    for (i = 0; i < 4 && st != PP_ECONNLOST; i++) {
        argv[0] = "PEXPIRE";
        argv[1] = keys[i];
        argv[2] = ex;
        st = pp__rb_do(c, "PEXPIRE", 3, argv, NULL);
    }
    return st == PP_EPROTO ? PP_OK : st;
}

/* "host:pid:nonce" -> host and pid (as text). */
static void consumer_parts(const char *consumer, char *host, size_t cap, char *pid, size_t pcap)
{
    const char *c2 = strrchr(consumer, ':'), *c1;
    size_t n;

    snprintf(host, cap, "?");
    snprintf(pid, pcap, "?");
    if (c2 == NULL)
        return;
    for (c1 = c2 - 1; c1 > consumer && *c1 != ':'; c1--)
        ;
    if (c1 <= consumer)
        return;
    n = (size_t)(c1 - consumer) < cap - 1 ? (size_t)(c1 - consumer) : cap - 1;
    memcpy(host, consumer, n);
    host[n] = '\0';
    n = (size_t)(c2 - c1 - 1) < pcap - 1 ? (size_t)(c2 - c1 - 1) : pcap - 1;
    memcpy(pid, c1 + 1, n);
    pid[n] = '\0';
}

/* One heartbeat key: its value and remaining lease into s. 1 if valid. */
static pp_status read_heartbeat(pp__broker *b, const char *key, pp__rp_seen *s, int *ok)
{
    const char *get[2] = {"GET", key}, *ttl[2] = {"PTTL", key};
    pp__redis_val *v = NULL, *t = NULL;
    unsigned long long pid = 0, done = 0;
    char host[64], inst[24];
    pp_status st;

    *ok = 0;
    st = pp__rb_cmd(b->rc, 0, &v, 2, get, NULL);
    if (st == PP_OK)
        st = pp__rb_cmd(b->rc, 0, &t, 2, ttl, NULL);
    if (st == PP_OK && v->kind == PP__RR_STR && t->kind == PP__RR_INT && t->integer >= 0 &&
        sscanf(v->str, "%63s %llu %llu %20s", host, &pid, &done, inst) == 4) {
        memset(s, 0, sizeof *s);
        snprintf(s->consumer, sizeof s->consumer, "%s", key + strlen(b->k.hb_prefix));
        snprintf(s->info.host, sizeof s->info.host, "%s", host);
        s->info.pid = pid;
        s->info.tasks_done = done;
        s->info.last_heartbeat_ms = b->lease_ms > t->integer ? b->lease_ms - t->integer : 0;
        s->ours = strcmp(inst, b->inst_str) == 0;
        *ok = 1;
    }
    pp__redis_val_free(v);
    pp__redis_val_free(t);
    return st;
}

/* SCAN the heartbeat keys: the remote workers alive now. */
static pp_status scan_heartbeats(pp__broker *b)
{
    char cursor[32] = "0", match[PP__RB_KEY_MAX + 2];
    const char *argv[6] = {"SCAN", cursor, "MATCH", match, "COUNT", "100"};
    pp__rp_seen *seen = calloc(SEEN_MAX, sizeof *seen), *old;
    pp__redis_val *v = NULL;
    unsigned alive = 0, before;
    size_t i, n = 0;
    pp_status st = PP_OK;
    int ok;

    if (seen == NULL)
        return PP_ENOMEM;
    snprintf(match, sizeof match, "%s*", b->k.hb_prefix);
    do {
        st = pp__rb_cmd(b->rc, 0, &v, 6, argv, NULL);
        if (st != PP_OK || v->kind != PP__RR_ARRAY || v->n != 2 || v->elem[0].kind != PP__RR_STR ||
            v->elem[1].kind != PP__RR_ARRAY) {
            st = st != PP_OK ? st : PP_EPROTO;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", v->elem[0].str);
        for (i = 0; i < v->elem[1].n && st == PP_OK && n < SEEN_MAX; i++) {
            if (v->elem[1].elem[i].kind != PP__RR_STR)
                continue;
            st = read_heartbeat(b, v->elem[1].elem[i].str, &seen[n], &ok);
            if (st == PP_OK && ok) {
                alive += (unsigned)seen[n].ours;
                n++;
            }
        }
        pp__redis_val_free(v);
        v = NULL;
    } while (st == PP_OK && strcmp(cursor, "0") != 0);
    pp__redis_val_free(v);
    if (st != PP_OK) {
        free(seen);
        return st;
    }
    pp__plat_mtx_lock(b->p->core->mu);
    old = b->seen;
    b->seen = seen;
    b->nseen = n;
    before = b->alive;
    b->alive = alive;
    if (alive > before)
        pp__pump_all_locked(b->p); /* room for more */
    pp__plat_mtx_unlock(b->p->core->mu);
    free(old);
    return PP_OK;
}

/* Acknowledge and delete a task entry (the group's pending list too). */
static pp_status ack_del(pp__broker *b, const char *sid)
{
    const char *ack[4] = {"XACK", b->k.t, "g", sid};
    const char *del[3] = {"XDEL", b->k.t, sid};
    pp_status st = pp__rb_do(b->rc, "XACK", 4, ack, NULL);

    if (st != PP_ECONNLOST)
        st = pp__rb_do(b->rc, "XDEL", 3, del, NULL);
    return st == PP_EPROTO ? PP_OK : st;
}

/* Take a dead consumer's entry away from it (a worker that was only paused
 * can neither start it nor acknowledge it then: redis_remote.c's start
 * script), and say whether it had started it. */
static const char REAP_SCRIPT[] =
    "local s = redis.call('HEXISTS', KEYS[2], ARGV[1]) "
    "redis.call('XCLAIM', KEYS[1], 'g', ARGV[2], 0, ARGV[1], 'JUSTID') "
    "redis.call('XACK', KEYS[1], 'g', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1]) "
    "redis.call('HDEL', KEYS[2], ARGV[1]) return s";

/* A pending entry of a consumer whose heartbeat is gone: its chunk fails
 * if it had started it, else it goes back to the queue. */
static pp_status reap_one(pp__broker *b, const char *sid, const char *consumer)
{
    const char *reap[7] = {"EVAL", REAP_SCRIPT, "2", b->k.t, b->k.s, sid, POOL_NAME};
    const char *dc[5] = {"XGROUP", "DELCONSUMER", b->k.t, "g", consumer};
    char host[64], pid[24], msg[PP__ERRMSG_MAX + 1];
    pp__redis_val *v = NULL;
    int started = 1, idx;
    pp_status st;

    st = pp__rb_cmd(b->rc, 0, &v, 7, reap, NULL);
    if (st == PP_OK && v->kind == PP__RR_INT)
        started = v->integer != 0;
    else if (st == PP_OK)
        pp__log(PP_LOG_ERROR, "pool broker %s/%s: reaping %s: Redis answered %s", b->k.addr,
                b->k.name, sid, v->str != NULL ? v->str : "something unexpected");
    pp__redis_val_free(v);
    if (st != PP_ECONNLOST && strcmp(consumer, POOL_NAME) != 0)
        st = pp__rb_do(b->rc, "XGROUP DELCONSUMER", 5, dc, NULL);
    if (st == PP_ECONNLOST)
        return st;
    consumer_parts(consumer, host, sizeof host, pid, sizeof pid);
    if (!started) {
        pp__plat_mtx_lock(b->p->core->mu);
        idx = pp__rp_find_sid(b, sid);
        if (idx >= 0) {
            pp__log(PP_LOG_INFO,
                    "pool broker %s/%s: remote worker %s pid %s stopped heartbeating before it "
                    "started a chunk it was given: the chunk runs elsewhere",
                    b->k.addr, b->k.name, host, pid);
            pp__queue_push_front_locked(b->p, pp__rp_remove(b, idx));
            pp__pump_all_locked(b->p);
        }
        pp__plat_mtx_unlock(b->p->core->mu);
        return PP_OK;
    }
    snprintf(msg, sizeof msg,
             "remote worker %s pid %s stopped heartbeating (lease %lld ms) while running the "
             "task",
             host, pid, (long long)b->lease_ms);
    pp__plat_mtx_lock(b->p->core->mu);
    idx = pp__rp_find_sid(b, sid);
    if (idx >= 0) {
        pp__log(PP_LOG_WARN, "pool broker %s/%s: %s", b->k.addr, b->k.name, msg);
        pp__rp_fail_locked(b, idx, PP_EWORKERDIED, 0, msg);
        pp__pump_all_locked(b->p);
    }
    pp__plat_mtx_unlock(b->p->core->mu);
    return PP_OK;
}

/* The task stream's consumer group is gone while the pool lives (its key
 * deleted by hand or evicted; a task sent since made the stream again,
 * without the group): made again, else no remote worker could read a
 * task and nothing would take those chunks back. Their entries from
 * before are gone: the lost-entry check fails those chunks. */
static pp_status regroup(pp__broker *b, const pp__redis_val *v)
{
    const char *grp[6] = {"XGROUP", "CREATE", b->k.t, "g", "0", "MKSTREAM"};
    int terminated;

    if (v->kind != PP__RR_ERROR || v->str == NULL || strncmp(v->str, "NOGROUP", 7) != 0)
        return PP_OK;
    pp__plat_mtx_lock(b->p->core->mu);
    terminated = b->terminated; /* its stream was deleted on purpose */
    pp__plat_mtx_unlock(b->p->core->mu);
    if (terminated)
        return PP_OK;
    pp__log(PP_LOG_WARN,
            "pool broker %s/%s: the task stream %s lost its consumer group (its key was "
            "deleted or evicted): it is made again",
            b->k.addr, b->k.name, b->k.t);
    return pp__rb_do(b->rc, "XGROUP CREATE", 6, grp, NULL);
}

/* Consumers in the pending-entry list whose heartbeat key is gone. */
static pp_status reap(pp__broker *b)
{
    const char *argv[6] = {"XPENDING", b->k.t, "g", "-", "+", PENDING_MAX};
    char key[2 * PP__RB_KEY_MAX];
    const char *ex[2] = {"EXISTS", key};
    pp__redis_val *v = NULL, *e = NULL;
    pp_status st;
    size_t i;

    st = pp__rb_cmd(b->rc, 0, &v, 6, argv, NULL);
    if (st == PP_OK && regroup(b, v) == PP_ECONNLOST)
        st = PP_ECONNLOST;
    for (i = 0; st == PP_OK && v->kind == PP__RR_ARRAY && i < v->n; i++) {
        const pp__redis_val *en = &v->elem[i];
        const char *sid, *consumer;
        if (en->kind != PP__RR_ARRAY || en->n < 2 || en->elem[0].kind != PP__RR_STR ||
            en->elem[1].kind != PP__RR_STR)
            continue;
        sid = en->elem[0].str;
        consumer = en->elem[1].str;
        if (strcmp(consumer, POOL_NAME) != 0) {
            snprintf(key, sizeof key, "%s%s", b->k.hb_prefix, consumer);
            st = pp__rb_cmd(b->rc, 0, &e, 2, ex, NULL);
            if (st == PP_OK && e->kind == PP__RR_INT && e->integer == 1) {
                pp__redis_val_free(e);
                e = NULL;
                continue; /* alive */
            }
            pp__redis_val_free(e);
            e = NULL;
        }
        if (st == PP_OK)
            st = reap_one(b, sid, consumer);
    }
    pp__redis_val_free(v);
    return st;
}

/* Chunks sent more than a lease ago whose task entry is gone and whose
 * result did not come: the entry is removed by a worker only after it
 * added the result, and results are read between two ticks, so an entry
 * missing at two ticks in a row with no result means none will come. */
static pp_status check_lost(pp__broker *b)
{
    char sids[CHECK_MAX][PP__RP_SID_MAX];
    uint64_t ids[CHECK_MAX];
    int gone[CHECK_MAX];
    const char *argv[6] = {"XRANGE", b->k.t, NULL, NULL, "COUNT", "1"};
    int64_t now = pp__plat_now_ms();
    pp__redis_val *v = NULL;
    char msg[PP__ERRMSG_MAX + 1];
    pp_status st = PP_OK;
    size_t i, n = 0;
    int idx;

    pp__plat_mtx_lock(b->p->core->mu);
    for (i = 0; i < b->nfl && n < CHECK_MAX; i++) {
        if (b->fl[i].sid[0] != '\0' && now - b->fl[i].sent_ms > b->lease_ms) {
            ids[n] = b->fl[i].c->id;
            memcpy(sids[n++], b->fl[i].sid, PP__RP_SID_MAX);
        }
    }
    pp__plat_mtx_unlock(b->p->core->mu);
    for (i = 0; i < n && st == PP_OK; i++) {
        argv[2] = argv[3] = sids[i];
        st = pp__rb_cmd(b->rc, 0, &v, 6, argv, NULL);
        gone[i] = st == PP_OK && v->kind == PP__RR_ARRAY && v->n == 0;
        pp__redis_val_free(v);
        v = NULL;
    }
    if (st != PP_OK)
        return st;
    snprintf(msg, sizeof msg,
             "no result came back for the task: its entry left the broker (Redis at %.80s) "
             "without an answer (a malformed result was rejected, or Redis lost it)",
             b->k.addr);
    pp__plat_mtx_lock(b->p->core->mu);
    for (i = 0; i < n; i++) {
        idx = pp__rp_find_id(b, ids[i]);
        if (idx < 0)
            continue;
        if (!gone[i]) {
            b->fl[idx].gone = 0;
        } else if (++b->fl[idx].gone >= 2) {
            pp__log(PP_LOG_ERROR, "pool broker %s/%s: chunk %llu: %s", b->k.addr, b->k.name,
                    (unsigned long long)ids[i], msg);
            pp__rp_fail_locked(b, idx, PP_EWORKERDIED, 0, msg);
        }
    }
    pp__pump_all_locked(b->p);
    pp__plat_mtx_unlock(b->p->core->mu);
    return PP_OK;
}

/* How many unclaimed chunks to take back: all without a remote worker,
 * else those beyond one per remote worker when a local worker is idle
 * and nothing is queued. */
static size_t take_back_wanted_locked(const pp__broker *b)
{
    const pp_pool *p = b->p;
    int i, idle = 0;

    if (b->nfl == 0)
        return 0;
    if (b->alive == 0)
        return b->nfl;
    for (i = 0; i < p->n && !idle; i++)
        idle = p->w[i].state == W_READY && p->w[i].ninflight == 0 && !p->w[i].quit_sent;
    if (!idle || p->q_head != NULL || b->nfl <= b->alive)
        return 0;
    return b->nfl - b->alive;
}

static pp_status take_back(pp__broker *b)
{
    char count[24];
    const char *argv[9] = {"XREADGROUP", "GROUP",   "g",    POOL_NAME, "COUNT",
                           count,        "STREAMS", b->k.t, ">"};
    pp__redis_val *v = NULL;
    const pp__redis_val *entries;
    pp_status st;
    size_t i, want;
    int idx;

    pp__plat_mtx_lock(b->p->core->mu);
    want = take_back_wanted_locked(b);
    pp__plat_mtx_unlock(b->p->core->mu);
    if (want == 0)
        return PP_OK;
    snprintf(count, sizeof count, "%llu", (unsigned long long)want);
    st = pp__rb_cmd(b->rc, 0, &v, 9, argv, NULL);
    if (st != PP_OK || v->kind != PP__RR_ARRAY || v->n < 1 || v->elem[0].kind != PP__RR_ARRAY ||
        v->elem[0].n != 2 || v->elem[0].elem[1].kind != PP__RR_ARRAY) {
        pp__redis_val_free(v);
        return st;
    }
    entries = &v->elem[0].elem[1];
    for (i = 0; i < entries->n && st == PP_OK; i++) {
        const pp__redis_val *e = &entries->elem[i];
        if (e->kind != PP__RR_ARRAY || e->n < 1 || e->elem[0].kind != PP__RR_STR)
            continue;
        st = ack_del(b, e->elem[0].str);
        if (st != PP_OK)
            break;
        pp__plat_mtx_lock(b->p->core->mu);
        idx = pp__rp_find_sid(b, e->elem[0].str);
        if (idx >= 0)
            pp__queue_push_front_locked(b->p, pp__rp_remove(b, idx));
        pp__plat_mtx_unlock(b->p->core->mu);
    }
    pp__redis_val_free(v);
    pp__plat_mtx_lock(b->p->core->mu);
    pp__pump_all_locked(b->p);
    pp__plat_mtx_unlock(b->p->core->mu);
    return st;
}

pp_status pp__rp_tick(pp__broker *b)
{
    int64_t now = pp__plat_now_ms();
    pp_status st = PP_OK;

    if (now >= b->next_refresh) {
        st = pp__rp_refresh(b, b->rc);
        b->next_refresh = now + (b->alive_ms / 4 < 2000 ? b->alive_ms / 4 : 2000);
    }
    if (st == PP_OK)
        st = scan_heartbeats(b);
    if (st == PP_OK)
        st = reap(b);
    if (st == PP_OK)
        st = check_lost(b);
    if (st == PP_OK)
        st = take_back(b);
    return st;
}

void pp__rp_name_lost(pp__broker *b)
{
    char msg[PP__ERRMSG_MAX + 1];

    snprintf(msg, sizeof msg,
             "another program took the pool name %.64s while this one did not renew it (paused "
             "or cut off from Redis longer than %lld ms): the outcome of the task is not known",
             b->k.name, (long long)b->alive_ms);
    pp__plat_mtx_lock(b->p->core->mu);
    if (!b->name_lost)
        pp__log(PP_LOG_ERROR, "pool broker %s/%s: %s; from now on tasks run locally only",
                b->k.addr, b->k.name, msg);
    b->name_lost = 1;
    b->alive = 0;
    pp__rp_fail_all_locked(b, PP_ECONNLOST, msg);
    pp__pump_all_locked(b->p);
    pp__plat_mtx_unlock(b->p->core->mu);
}

void pp__rp_lost(pp__broker *b)
{
    char msg[PP__ERRMSG_MAX + 1];

    snprintf(msg, sizeof msg,
             "lost the connection to the broker (Redis at %.80s): the outcome of the task is not "
             "known",
             b->k.addr);
    pp__plat_mtx_lock(b->p->core->mu);
    if (!b->down)
        pp__log(PP_LOG_ERROR,
                "pool broker %s/%s: lost the connection to Redis; tasks in "
                "flight there fail, new ones run locally until it answers",
                b->k.addr, b->k.name);
    b->down = 1;
    b->discard = 1;
    b->alive = 0;
    pp__rp_fail_all_locked(b, PP_ECONNLOST, msg);
    pp__pump_all_locked(b->p);
    pp__plat_mtx_unlock(b->p->core->mu);
}

pp_status pp__rp_recover(pp__broker *b)
{
    const char *grp[6] = {"XGROUP", "CREATE", b->k.t, "g", "0", "MKSTREAM"};
    const char *ex[2] = {"EXISTS", b->k.t};
    const char *del[3] = {"DEL", b->k.t, b->k.s};
    const char *ping[1] = {"PING"};
    pp__redis_val *v = NULL;
    const char *get[2] = {"GET", b->k.alive};
    pp_status st;
    int discard;

    /* Another program may hold the name now: its keys are not ours. */
    st = pp__rb_cmd(b->rc, 0, &v, 2, get, NULL);
    if (st != PP_OK)
        return st;
    if (v->kind == PP__RR_STR && strcmp(v->str, b->inst_str) != 0)
        st = PP_EEXIST;
    pp__redis_val_free(v);
    v = NULL;
    if (st != PP_OK)
        return st;
    st = pp__rb_cmd(b->rc, 0, &v, 2, ex, NULL);
    if (st != PP_OK)
        return st;
    if (v->kind == PP__RR_INT && v->integer == 0)
        pp__log(PP_LOG_WARN,
                "pool broker %s/%s: Redis lost the pool's streams (restarted?): "
                "they are made again",
                b->k.addr, b->k.name);
    pp__redis_val_free(v);
    pp__plat_mtx_lock(b->p->core->mu);
    discard = b->discard;
    pp__plat_mtx_unlock(b->p->core->mu);
    /* The chunks failed when the connection broke: none of them may start
     * later (a server that kept its data still has their entries). */
    if (discard)
        st = pp__rb_do(b->rc, "DEL", 3, del, NULL);
    if (st == PP_OK)
        st = pp__rb_cmd(b->rc, 0, &v, 6, grp, NULL);
    if (st != PP_OK)
        return st;
    pp__redis_val_free(v);
    st = pp__rp_put_hello(b, b->rc);
    if (st == PP_OK)
        st = pp__rp_refresh(b, b->rc);
    /* The sending connection too: idle while Redis was away, it may still
     * hold a dead socket, and a task sent on it would fail (unknown
     * whether it took effect). A failed PING dials again the next time. */
    if (st == PP_OK && pp__rb_do(b->wc, "PING", 1, ping, NULL) == PP_ECONNLOST)
        st = pp__rb_do(b->wc, "PING", 1, ping, NULL);
    if (st != PP_OK)
        return st;
    memcpy(b->last, "0-0", 4);
    pp__plat_mtx_lock(b->p->core->mu);
    if (b->down)
        pp__log(PP_LOG_INFO, "pool broker %s/%s: Redis answers again", b->k.addr, b->k.name);
    b->down = 0;
    b->discard = 0;
    pp__plat_mtx_unlock(b->p->core->mu);
    return PP_OK;
}

void pp__rp_del_heartbeats(pp__broker *b, pp__redis_conn *c)
{
    char cursor[32] = "0", match[PP__RB_KEY_MAX + 2];
    const char *argv[6] = {"SCAN", cursor, "MATCH", match, "COUNT", "100"};
    const char *del[2] = {"DEL", NULL};
    pp__redis_val *v = NULL;
    pp_status st;
    size_t i;

    snprintf(match, sizeof match, "%s*", b->k.hb_prefix);
    do {
        st = pp__rb_cmd(c, 0, &v, 6, argv, NULL);
        if (st != PP_OK || v->kind != PP__RR_ARRAY || v->n != 2 || v->elem[0].kind != PP__RR_STR ||
            v->elem[1].kind != PP__RR_ARRAY)
            break;
        snprintf(cursor, sizeof cursor, "%s", v->elem[0].str);
        for (i = 0; i < v->elem[1].n; i++) {
            if (v->elem[1].elem[i].kind != PP__RR_STR)
                continue;
            del[1] = v->elem[1].elem[i].str;
            (void)pp__rb_do(c, "DEL", 2, del, NULL);
        }
        pp__redis_val_free(v);
        v = NULL;
    } while (strcmp(cursor, "0") != 0);
    pp__redis_val_free(v);
}
