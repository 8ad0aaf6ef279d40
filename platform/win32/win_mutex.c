/*
 * win_mutex.c — named, robust, NON-recursive cross-process mutex.
 *
 * Two kernel objects per lock:
 *  - the NAME: a small file mapping "Local\procpool-obj-<name>" holding a
 *    record {magic, version, gen, unlinked, ready}. Only the creating
 *    pp__plat_mutex keeps it open (openers read it and close it), so the
 *    name lives until the creator unlinks or closes, like a POSIX name
 *    lives until shm_unlink. unlink also sets `unlinked`, so an opener
 *    racing with it (or a process still holding the record) gets
 *    PP_ENOENT. A Windows object cannot be renamed or removed while
 *    handles remain: without this split, a lock stays openable as long
 *    as ANY process holds it, and its name cannot be created again.
 *  - the LOCK: a Win32 mutex "Local\procpool-lockm-<pid>-<gen>" (gen is
 *    random), found through the record. Win32 mutexes are robust
 *    (WAIT_ABANDONED) but recursive; non-recursion comes from an owner
 *    word in the per-process object. The core keeps at most one
 *    pp__plat_mutex per name per process, so this word sees every thread
 *    of the process that uses the lock.
 */
#include "win_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define PP__WIN_LOCK_MAGIC   0x6b636c70u /* "plck" */
#define PP__WIN_LOCK_VERSION 1u
#define PP__WIN_LOCK_READY   0x79646572 /* "redy" */
/* "Local\procpool-lockm-" + pid + "-" + 16 hex digits + NUL */
#define PP__WIN_LOCKM_MAX 64

typedef struct pp__win_lock_rec {
    uint32_t magic;
    uint32_t version;
    uint64_t gen;           /* names the mutex object */
    uint32_t pid;           /* creator, part of the mutex name */
    volatile LONG unlinked; /* 1: the name is gone, opens fail */
    volatile LONG ready;    /* PP__WIN_LOCK_READY once the fields are set */
} pp__win_lock_rec;

struct pp__plat_mutex {
    HANDLE h;    /* the Win32 mutex */
    uint64_t id; /* its gen: the lock's identity (pp__plat_mutex_id) */
    /* pp__win_thread_token() of the holding thread of THIS process, 0 if
     * none. Written only by the holder (set after acquiring, cleared
     * before releasing), so "owner == my token" is exact. */
    volatile LONGLONG owner;
    /* Creator only, until unlink/close: the name record (NULL otherwise). */
    HANDLE rec_map;
    pp__win_lock_rec *rec;
    char name[PP_NAME_MAX + 1];
    struct pp__plat_mutex *next; /* in pp__win_named while it holds a name */
};

/* Creators of this process that still hold their name, so that
 * pp__plat_mutex_unlink(name) can drop the name at once. */
static SRWLOCK pp__win_named_lock = SRWLOCK_INIT;
static pp__plat_mutex *pp__win_named;

/* ------------------------------------------------------- name registry */

static void pp__win_drop_name(pp__plat_mutex *m)
{
    if (m->rec != NULL)
        UnmapViewOfFile(m->rec);
    if (m->rec_map != NULL)
        CloseHandle(m->rec_map);
    m->rec = NULL;
    m->rec_map = NULL;
}

static void pp__win_named_add(pp__plat_mutex *m)
{
    AcquireSRWLockExclusive(&pp__win_named_lock);
    m->next = pp__win_named;
    pp__win_named = m;
    ReleaseSRWLockExclusive(&pp__win_named_lock);
}

/* Unlink m (or, if m is NULL, the entry holding name) from the registry
 * and close its name record. */
static void pp__win_named_remove(pp__plat_mutex *m, const char *name)
{
    pp__plat_mutex **pp;

    AcquireSRWLockExclusive(&pp__win_named_lock);
    for (pp = &pp__win_named; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == m || (m == NULL && strcmp((*pp)->name, name) == 0)) {
            pp__plat_mutex *found = *pp;
            *pp = found->next;
            pp__win_drop_name(found);
            break;
        }
    }
    ReleaseSRWLockExclusive(&pp__win_named_lock);
}

/* ------------------------------------------------------------ objects */

static void pp__win_mutex_name(uint32_t pid, uint64_t gen, wchar_t *out)
{
    swprintf(out, PP__WIN_LOCKM_MAX, L"Local\\procpool-lockm-%lu-%016llx", (unsigned long)pid,
             (unsigned long long)gen);
    out[PP__WIN_LOCKM_MAX - 1] = L'\0';
}

/* Create the mutex under a fresh random name; *gen receives its tag. */
static pp_status pp__win_new_mutex(HANDLE *out, uint64_t *gen)
{
    wchar_t wname[PP__WIN_LOCKM_MAX];
    int tries;

    for (tries = 0; tries < 4; tries++) {
        pp_status st = pp__plat_random(gen, sizeof *gen);
        HANDLE h;

        if (st != PP_OK)
            return st;
        if (*gen == 0)
            continue; /* the identity must be non-zero */
        pp__win_mutex_name(GetCurrentProcessId(), *gen, wname);
        h = CreateMutexW(NULL, FALSE, wname);
        if (h == NULL)
            return pp__win_fail_last();
        if (GetLastError() != ERROR_ALREADY_EXISTS) {
            *out = h;
            return PP_OK;
        }
        CloseHandle(h); /* 64 random bits collided (or a squatter): again */
    }
    return pp__plat_fail(ERROR_ALREADY_EXISTS);
}

pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp__plat_mutex *m;
    pp_status st;
    uint64_t gen = 0;
    void *view;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);
    if (st != PP_OK)
        return st;
    m = (pp__plat_mutex *)calloc(1, sizeof *m);
    if (m == NULL)
        return PP_ENOMEM;
    /* Name first: it is what makes creation exclusive. */
    st = pp__win_map_create(wname, sizeof(pp__win_lock_rec), &m->rec_map, &view);
    if (st == PP_OK) {
        m->rec = (pp__win_lock_rec *)view;
        st = pp__win_new_mutex(&m->h, &gen);
    }
    if (st != PP_OK) {
        pp__win_drop_name(m);
        free(m);
        return st;
    }
    m->rec->magic = PP__WIN_LOCK_MAGIC;
    m->rec->version = PP__WIN_LOCK_VERSION;
    m->rec->gen = gen;
    m->id = gen;
    m->rec->pid = (uint32_t)GetCurrentProcessId();
    /* Full barrier: the fields above are visible before ready is. */
    InterlockedExchange(&m->rec->ready, PP__WIN_LOCK_READY);
    memcpy(m->name, name, strlen(name) + 1);
    pp__win_named_add(m);
    *out = m;
    return PP_OK;
}

/* Read a name record: PP_OK with the mutex's name and gen, PP_ENOENT if
 * unlinked, PP_EINVAL if it is not one of ours. */
static pp_status pp__win_read_record(HANDLE map, wchar_t *mname, uint64_t *gen)
{
    MEMORY_BASIC_INFORMATION mbi;
    pp__win_lock_rec *rec;
    pp_status st = PP_EINVAL;

    rec = (pp__win_lock_rec *)MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0);
    if (rec == NULL)
        return pp__win_fail_last();
    /* A foreign magic (a shm block's: one namespace) is refused at once;
     * 0 may be a creator that has not written it yet. */
    if (VirtualQuery(rec, &mbi, sizeof mbi) != 0 && mbi.RegionSize >= sizeof *rec &&
        (rec->magic == 0 || rec->magic == PP__WIN_LOCK_MAGIC) &&
        pp__win_wait_word(&rec->ready, PP__WIN_LOCK_READY) && rec->magic == PP__WIN_LOCK_MAGIC &&
        rec->version == PP__WIN_LOCK_VERSION) {
        st = rec->unlinked ? PP_ENOENT : PP_OK;
        pp__win_mutex_name(rec->pid, rec->gen, mname);
        *gen = rec->gen;
    }
    UnmapViewOfFile(rec);
    return st;
}

pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX], mname[PP__WIN_LOCKM_MAX];
    pp__plat_mutex *m;
    uint64_t gen = 0;
    pp_status st;
    HANDLE map, h;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);
    if (st != PP_OK)
        return st;
    /* ERROR_FILE_NOT_FOUND -> PP_ENOENT; another object type under this
     * name gives ERROR_INVALID_HANDLE -> PP_EINVAL ("not a procpool lock"). */
    map = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
    if (map == NULL)
        return pp__win_fail_last();
    st = pp__win_read_record(map, mname, &gen);
    if (st != PP_OK) {
        CloseHandle(map);
        return st;
    }
    /* The record stays open until the mutex is: a creator that dropped
     * both meanwhile makes OpenMutexW fail (-> PP_ENOENT). */
    h = OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, mname);
    st = h == NULL ? pp__win_fail_last() : PP_OK;
    CloseHandle(map);
    if (st != PP_OK)
        return st == PP_EINVAL ? PP_EINVAL : PP_ENOENT;
    m = (pp__plat_mutex *)calloc(1, sizeof *m);
    if (m == NULL) {
        CloseHandle(h);
        return PP_ENOMEM;
    }
    m->h = h;
    m->id = gen;
    memcpy(m->name, name, strlen(name) + 1);
    *out = m;
    return PP_OK;
}

/* ------------------------------------------------------------ locking */

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

int pp__plat_mutex_held(const pp__plat_mutex *m)
{
    return pp__win_mutex_mine(m);
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

/* -------------------------------------------------------- close/unlink */

uint64_t pp__plat_mutex_id(const pp__plat_mutex *m)
{
    return m->id;
}

void pp__plat_mutex_close(pp__plat_mutex *m)
{
    if (m == NULL)
        return;
    /* A creator closing without unlink also gives up the name: on
     * Windows nothing can hold it once its record is closed. */
    pp__win_named_remove(m, NULL);
    CloseHandle(m->h);
    free(m);
}

/* Mark the record unlinked (for every process) and drop this process's
 * hold on it; the name disappears when the last record handle closes,
 * which openers keep only for a moment. Handles already open keep
 * working among themselves. */
pp_status pp__plat_mutex_unlink(const char *name)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st;

    st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);
    if (st == PP_OK)
        st = pp__win_mark_unlinked(wname, PP__WIN_LOCK_MAGIC, offsetof(pp__win_lock_rec, unlinked));
    if (st == PP_OK)
        pp__win_named_remove(NULL, name);
    return st;
}
