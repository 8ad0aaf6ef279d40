/*
 * win_thread.c — threads, process-private mutexes and condition
 * variables (the "threads" section of platform.h).
 *
 * Threads start with _beginthreadex, not CreateThread: they run C
 * runtime code (stdio, errno, malloc), and Microsoft asks programs that
 * use the CRT to start threads with it; with a statically linked CRT a
 * CreateThread thread can leak the runtime's per-thread data.
 *
 * Mutexes are SRW locks (exclusive mode only), condition variables are
 * CONDITION_VARIABLEs: neither needs a kernel object nor any clean-up.
 * SRW locks are not recursive and have no owner check: a relock by the
 * holder deadlocks, as the contract allows for that caller error.
 *
 * SleepConditionVariableSRW takes a relative timeout, which Windows
 * measures on its interrupt-time clock: a change of the wall clock does
 * not affect it (APR's POSIX condition variables, by contrast, wait until
 * a wall-clock deadline; see posix_thread.c). A wait can still end a
 * little early (timer resolution) and a DWORD holds at most ~49 days, so
 * pp__plat_cond_wait keeps its own deadline on pp__plat_now_ms() and
 * waits in slices until it has passed.
 */
#include "win_internal.h"

#include <process.h>
#include <stdlib.h>

/* Longest single wait: as pp__win_wait (win_misc.c), one hour. */
#define PP__WIN_COND_SLICE_MS 3600000

struct pp__plat_thread {
    HANDLE h;
    void (*fn)(void *arg);
    void *arg;
};

struct pp__plat_mtx {
    SRWLOCK lock;
};

struct pp__plat_cond {
    CONDITION_VARIABLE cv;
};

/* ------------------------------------------------------------- threads */

static unsigned __stdcall pp__win_thread_main(void *p)
{
    pp__plat_thread *t = (pp__plat_thread *)p;

    t->fn(t->arg);
    return 0;
}

pp_status pp__plat_thread_create(pp__plat_thread **out, void (*fn)(void *arg), void *arg)
{
    pp__plat_thread *t;
    uintptr_t h;

    if (out == NULL || fn == NULL)
        return PP_EINVAL;
    t = (pp__plat_thread *)malloc(sizeof *t);
    if (t == NULL)
        return PP_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex reports CreateThread's failure in _doserrno; it
     * fails without touching it when its own allocation fails. */
    _doserrno = 0;
    h = _beginthreadex(NULL, 0, pp__win_thread_main, t, 0, NULL);
    if (h == 0) {
        unsigned long oserr = _doserrno;
        free(t);
        return oserr != 0 ? pp__plat_fail((long)oserr) : PP_ENOMEM;
    }
    t->h = (HANDLE)h;
    *out = t;
    return PP_OK;
}

void pp__plat_thread_join(pp__plat_thread *t)
{
    if (t == NULL)
        return;
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

void pp__plat_yield(void)
{
    (void)SwitchToThread();
}

/* ------------------------------------------------------------- mutexes */

pp_status pp__plat_mtx_create(pp__plat_mtx **out)
{
    pp__plat_mtx *m;

    if (out == NULL)
        return PP_EINVAL;
    m = (pp__plat_mtx *)malloc(sizeof *m);
    if (m == NULL)
        return PP_ENOMEM;
    InitializeSRWLock(&m->lock);
    *out = m;
    return PP_OK;
}

void pp__plat_mtx_destroy(pp__plat_mtx *m)
{
    free(m); /* an SRW lock holds no resources */
}

void pp__plat_mtx_lock(pp__plat_mtx *m)
{
    AcquireSRWLockExclusive(&m->lock);
}

int pp__plat_mtx_trylock(pp__plat_mtx *m)
{
    return TryAcquireSRWLockExclusive(&m->lock) != 0;
}

void pp__plat_mtx_unlock(pp__plat_mtx *m)
{
    ReleaseSRWLockExclusive(&m->lock);
}

void pp__plat_mtx_reset_after_fork(pp__plat_mtx *m)
{
    (void)m; /* no fork on Windows */
}

/* ------------------------------------------------- condition variables */

pp_status pp__plat_cond_create(pp__plat_cond **out)
{
    pp__plat_cond *c;

    if (out == NULL)
        return PP_EINVAL;
    c = (pp__plat_cond *)malloc(sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    InitializeConditionVariable(&c->cv);
    *out = c;
    return PP_OK;
}

void pp__plat_cond_destroy(pp__plat_cond *c)
{
    free(c);
}

void pp__plat_cond_signal(pp__plat_cond *c)
{
    WakeConditionVariable(&c->cv);
}

void pp__plat_cond_broadcast(pp__plat_cond *c)
{
    WakeAllConditionVariable(&c->cv);
}

pp_status pp__plat_cond_wait(pp__plat_cond *c, pp__plat_mtx *m, int64_t timeout_ms)
{
    int64_t start, deadline;

    if (timeout_ms < 0) {
        /* Cannot fail with INFINITE. */
        (void)SleepConditionVariableSRW(&c->cv, &m->lock, INFINITE, 0);
        return PP_OK;
    }
    start = pp__plat_now_ms();
    deadline = timeout_ms > INT64_MAX - start ? INT64_MAX : start + timeout_ms;
    for (;;) {
        int64_t left = deadline - pp__plat_now_ms();
        DWORD slice;

        if (left < 0)
            left = 0;
        slice = left > PP__WIN_COND_SLICE_MS ? (DWORD)PP__WIN_COND_SLICE_MS : (DWORD)left;
        /* FALSE means ERROR_TIMEOUT: nothing else can fail here. */
        if (SleepConditionVariableSRW(&c->cv, &m->lock, slice, 0))
            return PP_OK;
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
    }
}
