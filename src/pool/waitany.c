/*
 * waitany.c — pp_result_wait_any(), pp_result_wait_all() and the
 * completion iterator (pp_completion_*): waiting on results that may
 * belong to different pools, hence to different mutexes.
 *
 * One process-wide signal serves every such waiter: a generation counter
 * under its own mutex and condition variable, bumped whenever any result
 * becomes ready while somebody waits. A waiter reads the generation, looks
 * at its results (each under its own pool's mutex, never while holding
 * the signal's mutex: the notifier takes the two in the other order), and
 * sleeps only while the generation has not moved. No wake-up is lost: a
 * waiter registers (the waiter count) before it looks, and a result is
 * marked ready under its pool's mutex before the notifier reads the count,
 * so either the waiter sees the result ready or the notifier sees the
 * waiter and bumps the generation it is about to wait on.
 */
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "pool/waitany.h"

static struct {
    pp__plat_mtx *mu;
    pp__plat_cond *cv;
    uint64_t gen;                          /* under mu */
    _Alignas(8) volatile uint64_t waiters; /* atomic: threads in wait_set() */
} g_sig;

/* The process's id as pools see it (pp__pool_foreign() asks it at every
 * call: a cached copy instead of a system call each time). 0: not known
 * yet. A fork child forgets it (the handler below, registered by pp_init()
 * before any pool exists, so a fork of a process with a pool always runs
 * it; a process made with _Fork(), which runs no handlers, may not use the
 * pools of its parent: only async-signal-safe calls are allowed there). */
static _Alignas(8) volatile uint64_t g_self_pid;

static void self_pid_after_fork(void)
{
    g_self_pid = 0; /* the only thread of the child */
    if (g_sig.mu != NULL)
        pp__plat_mtx_reset_after_fork(g_sig.mu); /* a thread of the parent may have held it */
}

uint64_t pp__pool_self_pid(void)
{
    uint64_t pid = pp__plat_atomic_load64(&g_self_pid);

    if (pid == 0) {
        pid = pp__plat_getpid();
        pp__plat_atomic_store64(&g_self_pid, pid); /* racing threads store the same */
    }
    return pid;
}

pp_status pp__waitany_init(void)
{
    static int registered;
    pp_status st;

    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(self_pid_after_fork);
    }
    if (g_sig.mu != NULL)
        return PP_OK;
    st = pp__plat_mtx_create(&g_sig.mu);
    if (st == PP_OK)
        st = pp__plat_cond_create(&g_sig.cv);
    if (st != PP_OK)
        pp__waitany_shutdown();
    return st;
}

void pp__waitany_shutdown(void)
{
    pp__plat_cond_destroy(g_sig.cv);
    pp__plat_mtx_destroy(g_sig.mu);
    g_sig.cv = NULL;
    g_sig.mu = NULL;
}

void pp__waitany_notify(void)
{
    if (g_sig.mu == NULL || pp__plat_atomic_load64(&g_sig.waiters) == 0)
        return;
    pp__plat_mtx_lock(g_sig.mu);
    g_sig.gen++;
    pp__plat_cond_broadcast(g_sig.cv);
    pp__plat_mtx_unlock(g_sig.mu);
}

static void add_waiter(int64_t d)
{
    uint64_t v;

    do {
        v = pp__plat_atomic_load64(&g_sig.waiters);
    } while (!pp__plat_atomic_cas64(&g_sig.waiters, v, v + (uint64_t)d));
}

static uint64_t generation(void)
{
    uint64_t g;

    pp__plat_mtx_lock(g_sig.mu);
    g = g_sig.gen;
    pp__plat_mtx_unlock(g_sig.mu);
    return g;
}

/* One look at the set: PP_OK if the condition holds (*index: the lowest
 * ready index), PP_ENOTREADY if not yet, PP_EDEADLK if waiting could never
 * end (see result.c). */
static pp_status look(pp_result *const *rs, size_t n, int all, size_t *index)
{
    size_t i, nready = 0, ndeadlock = 0;

    for (i = 0; i < n; i++) {
        struct pp_result *r = rs[i];
        int ready, deadlock, foreign;

        if (pp__core_lock(r->core) != PP_OK)
            return PP_ESTATE; /* a fork child's copy of a busy pool (result.h) */
        ready = r->ready;
        deadlock = pp__result_would_deadlock(r);
        foreign = pp__result_foreign_pending(r);
        pp__plat_mtx_unlock(r->core->mu);
        if (foreign)
            return PP_ESTATE; /* nothing in a fork child finishes it */
        if (ready) {
            if (!all) {
                *index = i;
                return PP_OK;
            }
            nready++;
        } else if (deadlock) {
            if (all)
                return PP_EDEADLK; /* all of them can never be ready */
            ndeadlock++;
        }
    }
    if (all)
        return nready == n ? PP_OK : PP_ENOTREADY;
    /* any: waiting is hopeless only if no result could ever be ready */
    return ndeadlock == n ? PP_EDEADLK : PP_ENOTREADY;
}

static pp_status wait_set(pp_result *const *rs, size_t n, int all, int64_t timeout_ms,
                          size_t *index)
{
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    pp_status st;
    size_t i;

    if (rs == NULL || n == 0 || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    for (i = 0; i < n; i++) {
        if (rs[i] == NULL)
            return PP_EINVAL;
    }
    if (g_sig.mu == NULL)
        return PP_ENOTINIT;
    add_waiter(1);
    for (;;) {
        uint64_t gen0 = generation();
        int64_t left = 0;

        st = look(rs, n, all, index);
        if (st != PP_ENOTREADY)
            break;
        if (timeout_ms != PP_INFINITE) {
            left = deadline - pp__plat_now_ms();
            if (left <= 0) {
                st = PP_ETIMEDOUT;
                break;
            }
        }
        pp__plat_mtx_lock(g_sig.mu);
        if (g_sig.gen == gen0)
            (void)pp__plat_cond_wait(g_sig.cv, g_sig.mu,
                                     timeout_ms == PP_INFINITE ? PP_INFINITE : left);
        pp__plat_mtx_unlock(g_sig.mu);
    }
    add_waiter(-1);
    return st;
}

pp_status pp_result_wait_any(pp_result *const *results, size_t n, int64_t timeout_ms, size_t *index)
{
    size_t ignored;

    return wait_set(results, n, 0, timeout_ms, index != NULL ? index : &ignored);
}

pp_status pp_result_wait_all(pp_result *const *results, size_t n, int64_t timeout_ms)
{
    size_t ignored;

    return wait_set(results, n, 1, timeout_ms, &ignored);
}

/* ------------------------------------------------------------ completion */

struct pp_completion {
    size_t n;
    size_t left;         /* results not returned yet: pending[0..left) */
    pp_result **pending; /* the caller's handles, borrowed */
    size_t *where;       /* pending[k] is results[where[k]] */
};

pp_status pp_completion_create(pp_result *const *results, size_t n, pp_completion **out)
{
    pp_completion *c;
    size_t i;

    if (out != NULL)
        *out = NULL;
    if (results == NULL || n == 0 || out == NULL)
        return PP_EINVAL;
    for (i = 0; i < n; i++) {
        if (results[i] == NULL)
            return PP_EINVAL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    c->pending = malloc(n * sizeof *c->pending);
    c->where = malloc(n * sizeof *c->where);
    if (c->pending == NULL || c->where == NULL) {
        pp_completion_release(c);
        return PP_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        c->pending[i] = results[i];
        c->where[i] = i;
    }
    c->n = c->left = n;
    *out = c;
    return PP_OK;
}

pp_status pp_completion_next(pp_completion *c, int64_t timeout_ms, size_t *index)
{
    size_t k = 0;
    pp_status st;

    if (c == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (c->left == 0)
        return PP_EOF;
    st = wait_set(c->pending, c->left, 0, timeout_ms, &k);
    if (st != PP_OK)
        return st;
    if (index != NULL)
        *index = c->where[k];
    /* Keep the rest in their order, so results that completed together
     * come out in index order. */
    memmove(&c->pending[k], &c->pending[k + 1], (c->left - k - 1) * sizeof *c->pending);
    memmove(&c->where[k], &c->where[k + 1], (c->left - k - 1) * sizeof *c->where);
    c->left--;
    return PP_OK;
}

size_t pp_completion_left(const pp_completion *c)
{
    return c != NULL ? c->left : 0;
}

void pp_completion_release(pp_completion *c)
{
    if (c == NULL)
        return;
    free(c->pending);
    free(c->where);
    free(c);
}
