/*
 * win_mutex.c — named, robust, NON-recursive cross-process mutex on a
 * Win32 named mutex "Local\procpool-lock-<name>".
 *
 * Win32 mutexes are recursive and report a dead owner (WAIT_ABANDONED),
 * so robustness comes free; non-recursion is added with an owner word in
 * the per-process object. The core keeps at most one pp__plat_mutex per
 * name per process, so this word sees every thread of the process that
 * uses the lock. Other processes are excluded by the kernel object itself.
 */
#include "win_internal.h"

#include <stdlib.h>

struct pp__plat_mutex {
    HANDLE h;
    /* pp__win_thread_token() of the holding thread of THIS process, 0 if
     * none. Written only by the holder (set after acquiring, cleared
     * before releasing), so "owner == my token" is exact. */
    volatile LONGLONG owner;
};

static pp_status pp__win_mutex_wrap(HANDLE h, pp__plat_mutex **out)
{
    pp__plat_mutex *m = (pp__plat_mutex *)calloc(1, sizeof *m);

    if (m == NULL) {
        CloseHandle(h);
        return PP_ENOMEM;
    }
    m->h = h;
    *out = m;
    return PP_OK;
}

pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st;
    HANDLE h;
    DWORD err;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_object_name("lock", name, wname);
    if (st != PP_OK)
        return st;
    h = CreateMutexW(NULL, FALSE, wname);
    err = GetLastError();
    if (h == NULL) {
        /* The name belongs to an object of another type: taken, too. */
        if (err == ERROR_INVALID_HANDLE) {
            pp__plat_set_os_error((long)err);
            return PP_EEXIST;
        }
        return pp__plat_fail((long)err);
    }
    if (err == ERROR_ALREADY_EXISTS) {
        /* CreateMutexW opened the existing one: creation must be exclusive. */
        CloseHandle(h);
        return pp__plat_fail((long)err);
    }
    return pp__win_mutex_wrap(h, out);
}

pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st;
    HANDLE h;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_object_name("lock", name, wname);
    if (st != PP_OK)
        return st;
    /* ERROR_FILE_NOT_FOUND -> PP_ENOENT; another object type under this
     * name gives ERROR_INVALID_HANDLE -> PP_EINVAL ("not a procpool mutex"). */
    h = OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, wname);
    if (h == NULL)
        return pp__win_fail_last();
    return pp__win_mutex_wrap(h, out);
}

static int pp__win_mutex_mine(const pp__plat_mutex *m)
{
    return (uint64_t)m->owner == pp__win_thread_token();
}

static void pp__win_mutex_set_owner(pp__plat_mutex *m, uint64_t token)
{
    InterlockedExchange64(&m->owner, (LONGLONG)token);
}

/* Shared by lock and trylock; busy is what a timeout means to the caller. */
static pp_status pp__win_mutex_acquire(pp__plat_mutex *m, int64_t timeout_ms, pp_status busy)
{
    DWORD r;

    if (m == NULL || timeout_ms < -1)
        return PP_EINVAL;
    if (pp__win_mutex_mine(m))
        return PP_EDEADLK;
    r = pp__win_wait(m->h, timeout_ms);
    switch (r) {
    case WAIT_OBJECT_0:
        pp__win_mutex_set_owner(m, pp__win_thread_token());
        return PP_OK;
    case WAIT_ABANDONED:
        /* Acquired; its holder ended without releasing. Nothing to make
         * consistent on Windows: the mutex works normally from now on. */
        pp__win_mutex_set_owner(m, pp__win_thread_token());
        return PP_EOWNERDEAD;
    case WAIT_TIMEOUT:
        return busy;
    default:
        return pp__win_fail_last();
    }
}

pp_status pp__plat_mutex_lock(pp__plat_mutex *m, int64_t timeout_ms)
{
    return pp__win_mutex_acquire(m, timeout_ms, PP_ETIMEDOUT);
}

pp_status pp__plat_mutex_trylock(pp__plat_mutex *m)
{
    return pp__win_mutex_acquire(m, 0, PP_EBUSY);
}

pp_status pp__plat_mutex_unlock(pp__plat_mutex *m)
{
    uint64_t me = pp__win_thread_token();
    DWORD err;

    if (m == NULL)
        return PP_EINVAL;
    if (!pp__win_mutex_mine(m))
        return PP_EPERM;
    /* Clear first: once released, another thread of this process may
     * acquire and store its token, which we must not overwrite. */
    pp__win_mutex_set_owner(m, 0);
    if (ReleaseMutex(m->h))
        return PP_OK;
    err = GetLastError();
    /* ERROR_NOT_OWNER cannot happen while the owner word is right; if it
     * does, we do not hold it. Anything else: we still do. */
    if (err != ERROR_NOT_OWNER)
        pp__win_mutex_set_owner(m, me);
    return pp__plat_fail((long)err);
}

void pp__plat_mutex_close(pp__plat_mutex *m)
{
    if (m == NULL)
        return;
    CloseHandle(m->h);
    free(m);
}

/* Windows names die with the object's last handle; nothing to remove. */
pp_status pp__plat_mutex_unlink(const char *name)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];

    return pp__win_object_name("lock", name, wname);
}
