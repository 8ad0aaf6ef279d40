/*
 * redis_lock.c — pp_redis_* (redis.h) and the Redis lock: a row of
 * sync/lock_backend.h whose exclusion is a key with a lease in Redis.
 *
 * Every state change is one Lua script (EVAL), so it is atomic in the
 * server: acquire sets the owner key with NX and the lease, increments
 * the fencing counter and sets the "held" marker; release deletes owner
 * and marker only if the owner is still this hold's id, and pushes a
 * wake-up for one waiter. A waiter sleeps in BLPOP on the wake-up list
 * for at most the owner's remaining lease (or a second), then tries again.
 * A renewer thread per handle, with its own connection, extends the
 * leases of the handle's held locks every third of a lease; a lease found
 * gone marks the hold lost (its release is PP_EPERM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/redis.h"
#include "platform.h"
#include "core/core.h"
#include "sync/lock_backend.h"
#include "sync/remote.h"
#include "redis/redis_conn.h"

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_LEASE_MS   10000
#define WAIT_SLICE_MS      1000
#define KEY_MAX            (PP_NAME_MAX + 16)

enum { K_EXISTS, K_OWNER, K_HELD, K_FENCE, K_WAKE, K_COUNT };

static const char *const g_suffix[K_COUNT] = {"exists", "owner", "held", "fence", "wake"};

/* KEYS: exists owner held fence; ARGV: id lease. -1: no such lock; an
 * array {token, previous holder died}: acquired; else the owner's PTTL. */
static const char g_acquire[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end "
                                "if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then "
                                "  local f = redis.call('INCR', KEYS[4]) "
                                "  local dead = redis.call('EXISTS', KEYS[3]) "
                                "  redis.call('SET', KEYS[3], ARGV[1]) "
                                "  return {f, dead} "
                                "end "
                                "return redis.call('PTTL', KEYS[2])";

/* KEYS: owner held wake; ARGV: id. 1: released; 0: not ours (lease lost). */
static const char g_release[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                "  redis.call('DEL', KEYS[1], KEYS[2]) "
                                "  redis.call('DEL', KEYS[3]) "
                                "  redis.call('RPUSH', KEYS[3], '1') "
                                "  redis.call('PEXPIRE', KEYS[3], 10000) "
                                "  return 1 "
                                "end "
                                "return 0";

/* KEYS: owner; ARGV: id lease. 1: extended; 0: not ours any more. */
static const char g_renew[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                              "  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
                              "end "
                              "return 0";

typedef struct redis_lock redis_lock;

struct pp_redis {
    pp__redis_conn *cmd;   /* the handle's calls (serialized inside) */
    pp__redis_conn *renew; /* the renewer's own (reopened when broken) */
    char address[PP__REDIS_HOST_MAX + 32];
    char *username, *password;
    int64_t timeout_ms, lease_ms;
    pp__plat_mtx *mu;       /* held, stop, the locks' holding/acquiring/holder/token */
    pp__plat_cond *cv;      /* stop */
    pp__plat_cond *hold_cv; /* a lock of this handle was released or not taken */
    redis_lock *held;       /* locks held through this handle */
    size_t nheld;
    int stop;
    uint64_t pid; /* the process that connected: the only one that may use it */
    pp__plat_thread *renewer;
};

struct redis_lock {
    pp_lock base; /* first: a pp_lock */
    pp_redis *r;
    char key[K_COUNT][KEY_MAX];
    char name[PP_NAME_MAX + 1];
    char id[33];     /* of the current hold */
    int holding;     /* under r->mu */
    int acquiring;   /* under r->mu: a thread is asking Redis for it */
    uint64_t holder; /* under r->mu: the holding thread (lock.h: per-thread) */
    int lost;        /* under r->mu: the renewer found the lease gone */
    uint64_t token;  /* of the last acquire (under r->mu) */
    int creator;
    redis_lock *next; /* r->held */
};

/* ------------------------------------------------------------ commands */

static pp_status eval(pp__redis_conn *c, const char *script, int nkeys, const char *const *keys,
                      int nargs, const char *const *args, pp__redis_reply *rep)
{
    const char *argv[12];
    size_t lens[12];
    char nk[8];
    int argc = 0, i;

    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = nk;
    for (i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return pp__redis_conn_cmd(c, argc, argv, lens, rep);
}

static pp_status simple(pp__redis_conn *c, int argc, const char **argv, pp__redis_reply *rep)
{
    size_t lens[8];
    int i;

    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return pp__redis_conn_cmd(c, argc, argv, lens, rep);
}

/* A Redis error reply where none was expected: logged, PP_EPROTO. */
static pp_status unexpected(const char *what, const pp__redis_reply *rep)
{
    pp__log(PP_LOG_ERROR, "redis: unexpected reply to %s: %s", what,
            rep->kind == PP__RR_ERROR ? rep->str : "(wrong type)");
    return PP_EPROTO;
}

/* -------------------------------------------------------------- renewer */

static void held_remove_locked(pp_redis *r, redis_lock *l)
{
    redis_lock **pp;

    for (pp = &r->held; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            r->nheld--;
            break;
        }
    }
    l->next = NULL;
    l->holding = 0;
}

/* Renew every held lease once: a snapshot taken under the mutex (as many
 * entries as holds), the commands sent without it (acquire and release
 * do not wait for us). */
static void renew_all(pp_redis *r)
{
    typedef struct snap {
        redis_lock *who;
        char key[KEY_MAX];
        char id[33];
    } snap;
    snap *sn = NULL;
    char lease[24];
    redis_lock *l;
    size_t n = 0, i;

    pp__plat_mtx_lock(r->mu);
    if (r->nheld > 0)
        sn = malloc(r->nheld * sizeof *sn);
    for (l = r->held; l != NULL && sn != NULL && n < r->nheld; l = l->next, n++) {
        sn[n].who = l;
        memcpy(sn[n].key, l->key[K_OWNER], KEY_MAX);
        memcpy(sn[n].id, l->id, sizeof sn[n].id);
    }
    pp__plat_mtx_unlock(r->mu);
    if (n == 0) {
        free(sn);
        return; /* nothing held (or no memory: tried again next period) */
    }
    if (r->renew == NULL || pp__redis_conn_broken(r->renew)) {
        pp__redis_conn_close(r->renew);
        r->renew = NULL;
        if (pp__redis_conn_open(r->address, r->username, r->password, r->timeout_ms, r->timeout_ms,
                                &r->renew) != PP_OK) {
            free(sn);
            return; /* Redis unreachable: the leases run out, as they must */
        }
    }
    snprintf(lease, sizeof lease, "%lld", (long long)r->lease_ms);
    for (i = 0; i < n; i++) {
        const char *k[1] = {sn[i].key};
        const char *a[2] = {sn[i].id, lease};
        pp__redis_reply rep;

        if (eval(r->renew, g_renew, 1, k, 2, a, &rep) != PP_OK)
            break;
        if (rep.kind == PP__RR_INT && rep.integer == 0) {
            pp__plat_mtx_lock(r->mu);
            for (l = r->held; l != NULL; l = l->next) {
                if (l == sn[i].who && strcmp(l->id, sn[i].id) == 0) {
                    l->lost = 1;
                    pp__log(PP_LOG_WARN, "redis: lease of lock %s lost while held",
                            l->key[K_OWNER]);
                }
            }
            pp__plat_mtx_unlock(r->mu);
        }
    }
    free(sn);
}

static void renewer_main(void *arg)
{
    pp_redis *r = arg;

    pp__plat_mtx_lock(r->mu);
    while (!r->stop) {
        (void)pp__plat_cond_wait(r->cv, r->mu, r->lease_ms / 3);
        if (r->stop)
            break;
        pp__plat_mtx_unlock(r->mu);
        renew_all(r);
        pp__plat_mtx_lock(r->mu);
    }
    pp__plat_mtx_unlock(r->mu);
}

/* ---------------------------------------------------------- the backend */

static void new_id(char id[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    int i;

    if (pp__plat_random(b, sizeof b) != PP_OK)
        memset(b, 0, sizeof b); /* still unique enough per process: pid below */
    for (i = 0; i < 16; i++) {
        id[2 * i] = hex[b[i] >> 4];
        id[2 * i + 1] = hex[b[i] & 15];
    }
    id[32] = '\0';
}

/* One attempt with the id of this hold. PP_OK / PP_EOWNERDEAD: acquired
 * (*token its fencing token); PP_EBUSY: held, *pttl its remaining lease
 * (-2: gone just now); or an error. */
static pp_status try_once(redis_lock *l, const char *id, uint64_t *token, int64_t *pttl)
{
    const char *keys[4] = {l->key[K_EXISTS], l->key[K_OWNER], l->key[K_HELD], l->key[K_FENCE]};
    char lease[24];
    const char *args[2] = {id, lease};
    pp__redis_reply rep;
    pp_status st;

    snprintf(lease, sizeof lease, "%lld", (long long)l->r->lease_ms);
    st = eval(l->r->cmd, g_acquire, 4, keys, 2, args, &rep);
    if (st != PP_OK)
        return st;
    if (rep.kind == PP__RR_ARRAY && rep.n == 2) {
        *token = (uint64_t)rep.ints[0];
        return rep.ints[1] ? PP_EOWNERDEAD : PP_OK;
    }
    if (rep.kind != PP__RR_INT)
        return unexpected("acquire", &rep);
    if (rep.integer == -1)
        return PP_ENOENT;
    *pttl = rep.integer;
    return PP_EBUSY;
}

/* Sleep until a release pushes a wake-up or slice_ms pass. (A decimal
 * BLPOP timeout needs Redis >= 6.0: an error reply is not a wake-up.) */
static pp_status wait_wake(redis_lock *l, int64_t slice_ms)
{
    char secs[32];
    const char *argv[3] = {"BLPOP", l->key[K_WAKE], secs};
    size_t lens[3];
    pp__redis_reply rep;
    pp_status st;
    int i;

    if (slice_ms < 1)
        slice_ms = 1;
    snprintf(secs, sizeof secs, "%lld.%03lld", (long long)(slice_ms / 1000),
             (long long)(slice_ms % 1000));
    for (i = 0; i < 3; i++)
        lens[i] = strlen(argv[i]);
    st = pp__redis_conn_cmd_wait(l->r->cmd, slice_ms, 3, argv, lens, &rep);
    if (st == PP_OK && rep.kind == PP__RR_ERROR)
        st = unexpected("BLPOP", &rep);
    return st;
}

/* A fork child must not use its parent's handle (redis.h). */
static pp_status check_process(const pp_redis *r)
{
    return pp__plat_getpid() == r->pid ? PP_OK : PP_ESTATE;
}

/*
 * Ownership is per thread (lock.h), and one handle may be shared by
 * threads: locally, one thread at a time may hold the handle's lock or ask
 * Redis for it (holding / acquiring, under r->mu); the others wait on
 * hold_cv within their timeout. Redis then decides between processes.
 */
static pp_status local_claim(redis_lock *l, int64_t timeout_ms, int64_t deadline, uint64_t me)
{
    pp_redis *r = l->r;

    pp__plat_mtx_lock(r->mu);
    if (l->holding && l->holder == me) {
        pp__plat_mtx_unlock(r->mu);
        return PP_EDEADLK;
    }
    while (l->holding || l->acquiring) {
        int64_t left = deadline - pp__plat_now_ms();
        if (timeout_ms != PP_INFINITE && left <= 0) {
            pp__plat_mtx_unlock(r->mu);
            return PP_ETIMEDOUT;
        }
        (void)pp__plat_cond_wait(r->hold_cv, r->mu, timeout_ms == PP_INFINITE ? PP_INFINITE : left);
    }
    l->acquiring = 1;
    pp__plat_mtx_unlock(r->mu);
    return PP_OK;
}

/* The end of an attempt that local_claim() began: held (st PP_OK or
 * PP_EOWNERDEAD) or not. */
static void local_done(redis_lock *l, pp_status st, const char *id, uint64_t token, uint64_t me)
{
    pp_redis *r = l->r;

    pp__plat_mtx_lock(r->mu);
    l->acquiring = 0;
    if (st == PP_OK || st == PP_EOWNERDEAD) {
        memcpy(l->id, id, sizeof l->id);
        l->holding = 1;
        l->holder = me;
        l->lost = 0;
        l->token = token;
        l->next = r->held;
        r->held = l;
        r->nheld++;
    }
    pp__plat_cond_broadcast(r->hold_cv);
    pp__plat_mtx_unlock(r->mu);
}

static pp_status acquire(redis_lock *l, int64_t timeout_ms)
{
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    uint64_t me = pp__plat_thread_id(), token = 0;
    char id[33];
    pp_status st;

    st = check_process(l->r);
    if (st == PP_OK)
        st = local_claim(l, timeout_ms, deadline, me);
    if (st != PP_OK)
        return st == PP_ETIMEDOUT && timeout_ms == 0 ? PP_EBUSY : st;
    new_id(id);
    for (;;) {
        int64_t pttl = 0, slice = WAIT_SLICE_MS;

        st = try_once(l, id, &token, &pttl);
        if (st != PP_EBUSY || timeout_ms == 0)
            break;
        if (timeout_ms != PP_INFINITE) {
            int64_t left = deadline - pp__plat_now_ms();
            if (left <= 0) {
                st = PP_ETIMEDOUT;
                break;
            }
            if (left < slice)
                slice = left;
        }
        if (pttl == -2)
            continue; /* released between the two looks */
        if (pttl > 0 && pttl < slice)
            slice = pttl; /* the lease may run out: look again then */
        st = wait_wake(l, slice);
        if (st != PP_OK)
            break;
    }
    local_done(l, st, id, token, me);
    return st;
}

static pp_status rl_acquire(pp_lock *lock, int64_t timeout_ms)
{
    pp_status st = acquire((redis_lock *)lock, timeout_ms);

    return st == PP_EBUSY ? PP_ETIMEDOUT : st; /* timeout 0 */
}

static pp_status rl_try_acquire(pp_lock *lock)
{
    return acquire((redis_lock *)lock, 0);
}

static pp_status rl_release(pp_lock *lock)
{
    redis_lock *l = (redis_lock *)lock;
    const char *keys[3] = {l->key[K_OWNER], l->key[K_HELD], l->key[K_WAKE]};
    char id[33];
    const char *args[1] = {id};
    pp__redis_reply rep;
    pp_status st = check_process(l->r);
    int lost;

    if (st != PP_OK)
        return st;
    pp__plat_mtx_lock(l->r->mu);
    if (!l->holding || l->holder != pp__plat_thread_id()) {
        pp__plat_mtx_unlock(l->r->mu);
        return PP_EPERM;
    }
    memcpy(id, l->id, sizeof id);
    lost = l->lost;
    held_remove_locked(l->r, l);
    pp__plat_cond_broadcast(l->r->hold_cv);
    pp__plat_mtx_unlock(l->r->mu);
    st = eval(l->r->cmd, g_release, 3, keys, 1, args, &rep);
    if (st != PP_OK)
        return st;
    if (rep.kind != PP__RR_INT)
        return unexpected("release", &rep);
    return rep.integer == 1 && !lost ? PP_OK : PP_EPERM;
}

static const char *rl_name(const pp_lock *lock)
{
    (void)lock;
    return NULL; /* travels by its locator, not as a local name */
}

/* What travels in task arguments: the server's address and the name. */
static void rl_locator(const pp_lock *lock, pp__locator *out)
{
    const redis_lock *l = (const redis_lock *)lock;

    memset(out, 0, sizeof *out);
    out->backend = PP__LOC_REDIS;
    out->object = PP__OBJ_LOCK;
    pp__strlcpy(out->addr, l->r->address, sizeof out->addr);
    pp__strlcpy(out->name, l->name, sizeof out->name);
}

static uint64_t rl_token(const pp_lock *lock)
{
    const redis_lock *l = (const redis_lock *)lock;
    uint64_t t;

    pp__plat_mtx_lock(l->r->mu);
    t = l->token;
    pp__plat_mtx_unlock(l->r->mu);
    return t;
}

static void rl_destroy(pp_lock *lock)
{
    redis_lock *l = (redis_lock *)lock;
    pp__redis_reply rep;
    int held;

    if (check_process(l->r) != PP_OK) {
        free(l); /* a fork child's copy: the keys are its parent's business */
        return;
    }
    pp__plat_mtx_lock(l->r->mu);
    held = l->holding;
    if (held && l->holder != pp__plat_thread_id()) {
        /* held by another thread of this process: dropped here, its lease
         * runs out (the next acquirer is told PP_EOWNERDEAD) */
        held_remove_locked(l->r, l);
        held = 0;
    }
    pp__plat_mtx_unlock(l->r->mu);
    if (held)
        (void)rl_release(lock);
    if (l->creator) {
        const char *argv[1 + K_COUNT];
        int i;

        argv[0] = "DEL";
        for (i = 0; i < K_COUNT; i++)
            argv[1 + i] = l->key[i];
        (void)simple(l->r->cmd, 1 + K_COUNT, argv, &rep);
    }
    free(l);
}

static const pp__lock_backend g_redis_lock = {"redis", rl_acquire, rl_try_acquire, rl_release,
                                              rl_name, rl_token,   rl_destroy,     rl_locator};

static pp_status lock_new(pp_redis *r, const char *name, int creator, redis_lock **out)
{
    redis_lock *l;
    int i;

    if (r == NULL || name == NULL || pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return PP_ENOMEM;
    l->base.backend = &g_redis_lock;
    l->r = r;
    l->creator = creator;
    pp__strlcpy(l->name, name, sizeof l->name);
    for (i = 0; i < K_COUNT; i++)
        snprintf(l->key[i], KEY_MAX, "pp:lock:%s:%s", name, g_suffix[i]);
    *out = l;
    return PP_OK;
}

pp_status pp_redis_lock_create(pp_redis *r, const char *name, pp_lock **out)
{
    redis_lock *l = NULL;
    pp__redis_reply rep;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = lock_new(r, name, 1, &l);
    if (st != PP_OK)
        return st;
    {
        const char *argv[4] = {"SET", l->key[K_EXISTS], "1", "NX"};
        st = simple(r->cmd, 4, argv, &rep);
    }
    if (st == PP_OK && rep.kind == PP__RR_NIL)
        st = PP_EEXIST;
    else if (st == PP_OK && rep.kind != PP__RR_STATUS)
        st = unexpected("create", &rep);
    if (st != PP_OK) {
        free(l);
        return st;
    }
    *out = &l->base;
    return PP_OK;
}

pp_status pp_redis_lock_open(pp_redis *r, const char *name, pp_lock **out)
{
    redis_lock *l = NULL;
    pp__redis_reply rep;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = lock_new(r, name, 0, &l);
    if (st != PP_OK)
        return st;
    {
        const char *argv[2] = {"EXISTS", l->key[K_EXISTS]};
        st = simple(r->cmd, 2, argv, &rep);
    }
    if (st == PP_OK && rep.kind != PP__RR_INT)
        st = unexpected("open", &rep);
    if (st == PP_OK && rep.integer == 0)
        st = PP_ENOENT;
    if (st != PP_OK) {
        free(l);
        return st;
    }
    *out = &l->base;
    return PP_OK;
}

/* ---------------------------------------------------------- the handle */

/* The options' credentials where given, else the environment's (never
 * connect without the credentials the caller meant). */
static pp_status credentials(const pp_redis_options *o, pp_redis *r)
{
    char *user = NULL, *pass = NULL;
    pp_status st = PP_OK;

    /* the environment only for what the options leave out */
    if (o == NULL || o->username == NULL || o->password == NULL)
        st = pp__redis_env_credentials(&user, &pass);
    if (st == PP_OK && o != NULL && o->username != NULL) {
        pp__redis_wipe_free(user);
        st = pp__redis_secret_dup(o->username, &user);
    }
    if (st == PP_OK && o != NULL && o->password != NULL) {
        pp__redis_wipe_free(pass);
        st = pp__redis_secret_dup(o->password, &pass);
    }
    r->username = user;
    r->password = pass;
    return st;
}

pp_status pp_redis_connect(const char *address, const pp_redis_options *opts, pp_redis **out)
{
    char host[PP__REDIS_HOST_MAX + 1];
    pp_redis *r;
    int port;
    pp_status st;

    if (out != NULL)
        *out = NULL;
    if (address == NULL || out == NULL || strlen(address) >= PP__LOC_ADDR_MAX ||
        pp__redis_parse_address(address, host, &port) != PP_OK)
        return PP_EINVAL;
    if (opts != NULL && (opts->timeout_ms < 0 || opts->lease_ms < 0 ||
                         (opts->lease_ms > 0 && opts->lease_ms < PP_REDIS_LEASE_MIN)))
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return PP_ENOMEM;
    memcpy(r->address, address, strlen(address) + 1);
    r->timeout_ms = opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->lease_ms = opts != NULL && opts->lease_ms > 0 ? opts->lease_ms : DEFAULT_LEASE_MS;
    r->pid = pp__plat_getpid();
    st = credentials(opts, r);
    if (st == PP_OK)
        st = pp__plat_mtx_create(&r->mu);
    if (st == PP_OK)
        st = pp__plat_cond_create(&r->cv);
    if (st == PP_OK)
        st = pp__plat_cond_create(&r->hold_cv);
    if (st == PP_OK)
        st = pp__redis_conn_open(r->address, r->username, r->password, r->timeout_ms, r->timeout_ms,
                                 &r->cmd);
    if (st == PP_OK)
        st = pp__plat_thread_create(&r->renewer, renewer_main, r);
    if (st != PP_OK) {
        pp_redis_destroy(r);
        return st;
    }
    *out = r;
    return PP_OK;
}

void pp_redis_destroy(pp_redis *r)
{
    if (r == NULL)
        return;
    /* A fork child's copy: the renewer thread exists only in the parent
     * and the mutex may have been copied locked; left alone (the child's
     * copies of the sockets close when it exits). */
    if (r->pid != 0 && pp__plat_getpid() != r->pid)
        return;
    if (r->renewer != NULL) {
        pp__plat_mtx_lock(r->mu);
        r->stop = 1;
        pp__plat_cond_broadcast(r->cv);
        pp__plat_mtx_unlock(r->mu);
        pp__plat_thread_join(r->renewer);
    }
    pp__redis_conn_close(r->cmd);
    pp__redis_conn_close(r->renew);
    pp__plat_cond_destroy(r->hold_cv);
    pp__plat_cond_destroy(r->cv);
    pp__plat_mtx_destroy(r->mu);
    pp__redis_wipe_free(r->username);
    pp__redis_wipe_free(r->password);
    free(r);
}
