/*
 * redis_pool.h — the broker of a distributed pool (redis_pool.c) and its
 * periodic checks (redis_pool_tick.c): their shared state.
 */
#ifndef PROCPOOL_REDIS_REDIS_POOL_H
#define PROCPOOL_REDIS_REDIS_POOL_H

#include "pool/pool_internal.h"
#include "redis/redis_broker.h"

#define PP__RP_SID_MAX    40   /* a stream entry id, NUL included */
#define PP__RP_WINDOW_MAX 256  /* chunks the broker holds, at most */
#define PP__RP_TICK_MS    500  /* heartbeat scan, reaping, take-back */
#define PP__RP_REPLY_MS   5000 /* a command's reply deadline */

/* A chunk the broker holds. */
typedef struct pp__rp_rec {
    pp__chunk *c;
    char sid[PP__RP_SID_MAX]; /* its task entry's id; "" until XADD answered */
    int gone;                 /* ticks its entry was missing with no result */
    int cancel;               /* its job was canceled: withdraw it if not started */
    int64_t sent_ms;
} pp__rp_rec;

/* A heartbeat seen in the last scan. */
typedef struct pp__rp_seen {
    char consumer[PP__RB_KEY_MAX];
    pp_remote_worker info;
    int ours; /* serving this pool instance */
} pp__rp_seen;

struct pp__broker {
    pp_pool *p;
    pp__rb_keys k;
    uint64_t inst;
    char inst_str[17];
    int64_t lease_ms, expire_ms, alive_ms;
    pp__buf hello;      /* the hello key's value */
    pp__redis_conn *wc; /* pumping threads, close */
    pp__redis_conn *rc; /* the broker thread */
    pp__plat_thread *thread;
    char last[PP__RP_SID_MAX]; /* last result entry read (thread) */
    int64_t next_refresh;      /* thread */
    /* guarded by the pool's mutex */
    pp__rp_rec *fl;
    size_t nfl, cap;
    pp__rp_seen *seen;
    size_t nseen;
    unsigned alive;        /* remote workers of this instance seen alive */
    uint64_t done;         /* chunks answered */
    int down;              /* Redis not reachable: nothing is sent until it is again */
    int64_t refused_until; /* Redis refused a task (out of memory): none sent before */
    int name_lost;         /* another program took the pool name: Redis is not used again */
    int discard;           /* what was in flight failed: its entries are deleted */
    int terminated;
    int del_tasks;
    int cancel_pending; /* records to withdraw (cancel) */
    int stop;
    int pumping, repump;
};

/* In-flight records (mutex held): index or -1; remove (the chunk is the
 * caller's); fail and free. */
int pp__rp_find_id(const pp__broker *b, uint64_t id);
int pp__rp_find_sid(const pp__broker *b, const char *sid);
pp__chunk *pp__rp_remove(pp__broker *b, int idx);
void pp__rp_fail_locked(pp__broker *b, int idx, pp_status st, int code, const char *msg);
void pp__rp_fail_all_locked(pp__broker *b, pp_status st, const char *msg);

/* SET the hello key (with its expiry). */
pp_status pp__rp_put_hello(pp__broker *b, pp__redis_conn *c);

/* redis_pool_tick.c: the thread's periodic work (PP_ECONNLOST: Redis is
 * gone); renew :alive and the keys' expiry; the connection broke: fail
 * what is in flight (its outcome is unknown), send nothing until
 * pp__rp_recover() (the group re-created if Redis lost it) succeeds;
 * delete every heartbeat key of the pool. pp__rp_refresh(),
 * pp__rp_recover(), pp__rp_tick(): PP_EEXIST once another program holds
 * the pool name (this one was paused or cut off longer than its claim). */
pp_status pp__rp_tick(pp__broker *b);
pp_status pp__rp_refresh(pp__broker *b, pp__redis_conn *c);
void pp__rp_lost(pp__broker *b);
pp_status pp__rp_recover(pp__broker *b);
void pp__rp_del_heartbeats(pp__broker *b, pp__redis_conn *c);
/* The pool name was taken by another program (pp__rp_refresh() said
 * PP_EEXIST): fail what is in flight, never use Redis again. */
void pp__rp_name_lost(pp__broker *b);

#endif /* PROCPOOL_REDIS_REDIS_POOL_H */
