/*
 * posix_thread.c — threads, process-private mutexes and condition
 * variables (the "threads" section of platform.h), and the condition
 * variable helpers the rest of the port shares (posix_internal.h).
 *
 * Why not APR's: apr_thread_cond_timedwait() on POSIX is
 * pthread_cond_timedwait() on a condition variable left on its default
 * clock, CLOCK_REALTIME, with a deadline computed from the wall clock. A
 * wall-clock change (NTP step, an administrator, a suspended VM catching
 * up) while a thread waits then stretches or cuts its timeout: set the
 * clock back an hour and a 100 ms wait lasts an hour and 100 ms. Ours wait
 * on CLOCK_MONOTONIC (pthread_condattr_setclock), or relatively on macOS,
 * which has no setclock but pthread_cond_timedwait_relative_np.
 *
 * Mutexes are PTHREAD_MUTEX_ERRORCHECK in builds without NDEBUG (debug
 * and debugoptimized), PTHREAD_MUTEX_DEFAULT otherwise: a relock by the
 * holder, an unlock by another thread, or a condition wait without the
 * mutex is then reported by pthreads, and we abort with a message rather
 * than deadlock or corrupt the protected data. Release builds skip the
 * owner bookkeeping. The contract makes all of these caller errors, so
 * nothing is returned for them.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "posix_internal.h"

struct pp__plat_thread {
    pthread_t th;
    void (*fn)(void *arg);
    void *arg;
};

struct pp__plat_mtx {
    pthread_mutex_t mu;
};

struct pp__plat_cond {
    pthread_cond_t cv;
    clockid_t clock; /* the clock timed waits on cv are measured on */
};

/* A pthread call that cannot fail when the contract's preconditions hold
 * failed: the caller broke them (or memory is corrupt). */
static void pp__posix_thread_check(int e, const char *what)
{
    if (e == 0)
        return;
    fprintf(stderr, "procpool: %s: %s\n", what, strerror(e));
    fflush(stderr);
    abort();
}

/* ------------------------------------------------------------- threads */

static void *pp__posix_thread_main(void *p)
{
    pp__plat_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

pp_status pp__plat_thread_create(pp__plat_thread **out, void (*fn)(void *arg), void *arg)
{
    pp__plat_thread *t;
    int e;

    if (out == NULL || fn == NULL)
        return PP_EINVAL;
    t = malloc(sizeof *t);
    if (t == NULL)
        return PP_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    e = pthread_create(&t->th, NULL, pp__posix_thread_main, t);
    if (e != 0) {
        free(t);
        return pp__plat_fail(e);
    }
    *out = t;
    return PP_OK;
}

void pp__plat_thread_join(pp__plat_thread *t)
{
    if (t == NULL)
        return;
    pp__posix_thread_check(pthread_join(t->th, NULL), "pthread_join");
    free(t);
}

void pp__plat_yield(void)
{
    (void)sched_yield();
}

/* ------------------------------------------------------------- mutexes */

static int pp__posix_mtx_init(pthread_mutex_t *mu)
{
#ifdef NDEBUG
    return pthread_mutex_init(mu, NULL);
#else
    pthread_mutexattr_t a;
    int e = pthread_mutexattr_init(&a);
    if (e != 0)
        return e;
    e = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    if (e == 0)
        e = pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
    return e;
#endif
}

pp_status pp__plat_mtx_create(pp__plat_mtx **out)
{
    pp__plat_mtx *m;
    int e;

    if (out == NULL)
        return PP_EINVAL;
    m = malloc(sizeof *m);
    if (m == NULL)
        return PP_ENOMEM;
    e = pp__posix_mtx_init(&m->mu);
    if (e != 0) {
        free(m);
        return pp__plat_fail(e);
    }
    *out = m;
    return PP_OK;
}

void pp__plat_mtx_destroy(pp__plat_mtx *m)
{
    if (m == NULL)
        return;
    (void)pthread_mutex_destroy(&m->mu);
    free(m);
}

void pp__plat_mtx_lock(pp__plat_mtx *m)
{
    pp__posix_thread_check(pthread_mutex_lock(&m->mu), "pthread_mutex_lock");
}

int pp__plat_mtx_trylock(pp__plat_mtx *m)
{
    return pthread_mutex_trylock(&m->mu) == 0;
}

void pp__plat_mtx_unlock(pp__plat_mtx *m)
{
    pp__posix_thread_check(pthread_mutex_unlock(&m->mu), "pthread_mutex_unlock");
}

/* The fork may have caught the mutex held by a thread that does not
 * exist in the child, or held by the forking thread (whose owner id, for
 * an error-checking mutex, is not the child thread's). Initialising over
 * it is outside what POSIX defines for a locked mutex, but the memory is
 * ours and no other thread can touch it in a freshly forked child: every
 * pthreads implementation treats it as a fresh init (glibc's own malloc
 * resets its locks this way after fork). Not destroyed first: destroying
 * a locked mutex is refused or undefined. */
void pp__plat_mtx_reset_after_fork(pp__plat_mtx *m)
{
    pp__posix_thread_check(pp__posix_mtx_init(&m->mu), "pthread_mutex_init after fork");
}

/* ------------------------------------------------- condition variables */

int pp__posix_cond_init(pthread_cond_t *cv, clockid_t *clk)
{
#if !defined(PP_HAVE_CONDATTR_SETCLOCK) && defined(PP_HAVE_COND_TIMEDWAIT_RELATIVE_NP)
    /* No pthread_condattr_setclock; pp__posix_cond_timedwait waits
     * relatively, measuring what is left on this clock. */
    *clk = CLOCK_MONOTONIC;
    return pthread_cond_init(cv, NULL);
#elif defined(PP_HAVE_CONDATTR_SETCLOCK)
    /* setclock is POSIX (Clock Selection), but _POSIX_CLOCK_SELECTION
     * cannot be the test: several BSDs define it as -1 and implement the
     * function anyway. A system that refuses CLOCK_MONOTONIC keeps the
     * wall clock (and its weakness). */
    pthread_condattr_t a;
    int e = pthread_condattr_init(&a);
    if (e != 0)
        return e;
    *clk = CLOCK_REALTIME;
    if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0)
        *clk = CLOCK_MONOTONIC;
    e = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return e;
#else
    /* Neither: the wall clock, and its weakness. */
    *clk = CLOCK_REALTIME;
    return pthread_cond_init(cv, NULL);
#endif
}

/* Is clk still before deadline? */
static int pp__posix_before(clockid_t clk, const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(clk, &now);
    return now.tv_sec < deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec);
}

/* One wait until deadline: relative on macOS, absolute elsewhere. */
static int pp__posix_cond_wait_once(pthread_cond_t *cv, pthread_mutex_t *mu, clockid_t clk,
                                    const struct timespec *deadline)
{
#if !defined(PP_HAVE_CONDATTR_SETCLOCK) && defined(PP_HAVE_COND_TIMEDWAIT_RELATIVE_NP)
    struct timespec now, rel;
    clock_gettime(clk, &now);
    rel.tv_sec = deadline->tv_sec - now.tv_sec;
    rel.tv_nsec = deadline->tv_nsec - now.tv_nsec;
    if (rel.tv_nsec < 0) {
        rel.tv_sec--;
        rel.tv_nsec += 1000000000L;
    }
    if (rel.tv_sec < 0)
        return ETIMEDOUT;
    return pthread_cond_timedwait_relative_np(cv, mu, &rel);
#else
    (void)clk;
    return pthread_cond_timedwait(cv, mu, deadline);
#endif
}

int pp__posix_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *mu, clockid_t clk,
                             const struct timespec *deadline)
{
    for (;;) {
        int e = pp__posix_cond_wait_once(cv, mu, clk, deadline);
        /* A relative wait can end a little before the deadline on clk:
         * a timeout is only reported once the deadline has passed. */
        if (e != ETIMEDOUT || !pp__posix_before(clk, deadline))
            return e;
    }
}

pp_status pp__plat_cond_create(pp__plat_cond **out)
{
    pp__plat_cond *c;
    int e;

    if (out == NULL)
        return PP_EINVAL;
    c = malloc(sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    e = pp__posix_cond_init(&c->cv, &c->clock);
    if (e != 0) {
        free(c);
        return pp__plat_fail(e);
    }
    *out = c;
    return PP_OK;
}

void pp__plat_cond_destroy(pp__plat_cond *c)
{
    if (c == NULL)
        return;
    (void)pthread_cond_destroy(&c->cv);
    free(c);
}

void pp__plat_cond_signal(pp__plat_cond *c)
{
    pp__posix_thread_check(pthread_cond_signal(&c->cv), "pthread_cond_signal");
}

void pp__plat_cond_broadcast(pp__plat_cond *c)
{
    pp__posix_thread_check(pthread_cond_broadcast(&c->cv), "pthread_cond_broadcast");
}

pp_status pp__plat_cond_wait(pp__plat_cond *c, pp__plat_mtx *m, int64_t timeout_ms)
{
    struct timespec deadline;
    int e;

    if (timeout_ms < 0) {
        pp__posix_thread_check(pthread_cond_wait(&c->cv, &m->mu), "pthread_cond_wait");
        return PP_OK;
    }
    deadline = pp__posix_deadline(c->clock, timeout_ms);
    e = pp__posix_cond_timedwait(&c->cv, &m->mu, c->clock, &deadline);
    if (e == ETIMEDOUT)
        return PP_ETIMEDOUT;
    pp__posix_thread_check(e, "pthread_cond_timedwait");
    return PP_OK;
}
