/*
 * win_sobj.c — sync segments (platform.h, "sync segments") on Windows.
 *
 * Three kernel objects per segment:
 *  - a pagefile-backed file mapping "Local\procpool-obj-<name>" (the
 *    namespace of locks and shm blocks): a 256-byte header {magic,
 *    version, kind, ready, unlinked, id, state size, wake word, waiter
 *    count}, then the kind's state. Exclusive creation, `ready` published
 *    last, the unlinked mark of win_map.c, as win_shm.c does.
 *  - the state mutex, a Win32 mutex "Local\procpool-sobj-<id>!m":
 *    robust (WAIT_ABANDONED -> PP_EOWNERDEAD). Named after the identity,
 *    with a '!' that no user name can hold, so it never collides with a
 *    user's object nor with an earlier segment of the same name.
 *  - the wakes, a Win32 semaphore "Local\procpool-sobj-<id>!s". A waiter
 *    counts itself in the header's waiter word, re-checks the wake word
 *    and waits on the semaphore; a waker bumps the word, takes the waiter
 *    count (exchange with 0) and releases that many units. No wake-up is
 *    lost: a waiter that counted itself before the exchange gets a unit,
 *    one that counted itself after it sees the new word. Units left over
 *    (a waiter that timed out, saw the word move, or died) only make a
 *    later wait return early: callers re-check their condition anyway.
 *
 * Liveness: OpenProcess + GetProcessTimes' creation time as the stamp (a
 * reused pid has another), WaitForSingleObject(0) for "has it ended".
 */
#include "win_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PP__WIN_SOBJ_MAGIC   0x6f797370u /* "psyo" */
#define PP__WIN_SOBJ_VERSION 1u
#define PP__WIN_SOBJ_READY   0x79646572 /* "redy" */
#define PP__WIN_SOBJ_HDR     256u
/* "Local\procpool-sobj-" + 16 hex digits + "!m" + NUL */
#define PP__WIN_SOBJ_KNAME 48
/* Semaphore units: far more than waiters can ever leave over. */
#define PP__WIN_SOBJ_SEM_MAX 0x3fffffff

typedef struct pp__win_sobj_hdr {
    uint32_t magic;
    uint32_t version;
    uint32_t kind;
    volatile LONG ready;    /* PP__WIN_SOBJ_READY once the header is valid */
    volatile LONG unlinked; /* 1 after pp__plat_sobj_unlink: opens fail */
    uint32_t pad;
    uint64_t id;
    uint64_t state_size;
    volatile LONG word;    /* the wake word */
    volatile LONG waiters; /* waiters counted since the last wake */
} pp__win_sobj_hdr;

struct pp__plat_sobj {
    HANDLE mapping;
    HANDLE mutex;
    HANDLE sem;
    unsigned char *view;
    pp__win_sobj_hdr *hdr;
};

/* ------------------------------------------------------------ liveness */

static uint64_t pp__win_creation_time(HANDLE h)
{
    FILETIME c, e, k, u;

    if (!GetProcessTimes(h, &c, &e, &k, &u))
        return 0;
    return ((uint64_t)c.dwHighDateTime << 32) | c.dwLowDateTime;
}

void pp__plat_proc_self_stamp(uint64_t *pid, uint64_t *stamp)
{
    static volatile LONGLONG cached; /* the process's creation time */
    uint64_t t = (uint64_t)cached;

    if (t == 0) {
        t = pp__win_creation_time(GetCurrentProcess());
        cached = (LONGLONG)t;
    }
    *pid = (uint64_t)GetCurrentProcessId();
    *stamp = t;
}

int pp__plat_proc_alive(uint64_t pid, uint64_t stamp)
{
    HANDLE h;
    DWORD r;
    int alive;

    if (pid == 0 || pid > 0xffffffffu)
        return 0;
    h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (h == NULL)
        return GetLastError() == ERROR_ACCESS_DENIED; /* someone else's: alive */
    r = WaitForSingleObject(h, 0);
    alive = r == WAIT_TIMEOUT;
    if (alive && stamp != 0) {
        uint64_t now = pp__win_creation_time(h);
        alive = now == 0 || now == stamp; /* 0: cannot tell */
    }
    CloseHandle(h);
    return alive;
}

/* ------------------------------------------------------------ segments */

static void pp__win_sobj_kname(uint64_t id, char which, wchar_t *out)
{
    swprintf(out, PP__WIN_SOBJ_KNAME, L"Local\\procpool-sobj-%016llx!%c", (unsigned long long)id,
             (wchar_t)which);
    out[PP__WIN_SOBJ_KNAME - 1] = L'\0';
}

static void pp__win_sobj_free(pp__plat_sobj *s)
{
    if (s->sem != NULL)
        CloseHandle(s->sem);
    if (s->mutex != NULL)
        CloseHandle(s->mutex);
    if (s->view != NULL)
        UnmapViewOfFile(s->view);
    if (s->mapping != NULL)
        CloseHandle(s->mapping);
    free(s);
}

/* Create (create = 1) or open the mutex and the semaphore of s. */
static pp_status pp__win_sobj_kobjs(pp__plat_sobj *s, int create)
{
    wchar_t wname[PP__WIN_SOBJ_KNAME];

    pp__win_sobj_kname(s->hdr->id, 'm', wname);
    s->mutex = create ? CreateMutexW(NULL, FALSE, wname)
                      : OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, wname);
    if (s->mutex == NULL)
        return pp__win_fail_last();
    if (create && GetLastError() == ERROR_ALREADY_EXISTS)
        return pp__plat_fail(ERROR_ALREADY_EXISTS);
    pp__win_sobj_kname(s->hdr->id, 's', wname);
    s->sem = create ? CreateSemaphoreW(NULL, 0, PP__WIN_SOBJ_SEM_MAX, wname)
                    : OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, wname);
    if (s->sem == NULL)
        return pp__win_fail_last();
    if (create && GetLastError() == ERROR_ALREADY_EXISTS)
        return pp__plat_fail(ERROR_ALREADY_EXISTS);
    return PP_OK;
}

pp_status pp__plat_sobj_create(const char *name, uint32_t kind, size_t state_size, const void *init,
                               pp__plat_sobj **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp__plat_sobj *s;
    pp_status st;
    uint64_t id = 0;
    void *view = NULL;

    if (out == NULL || kind == 0 || state_size == 0 || state_size > PP__PLAT_SOBJ_STATE_MAX)
        return PP_EINVAL;
    st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);
    while (st == PP_OK && id == 0)
        st = pp__plat_random(&id, sizeof id);
    if (st != PP_OK)
        return st;
    s = (pp__plat_sobj *)calloc(1, sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    st = pp__win_map_create(wname, (uint64_t)PP__WIN_SOBJ_HDR + state_size, &s->mapping, &view);
    if (st != PP_OK) {
        free(s);
        return st;
    }
    s->view = (unsigned char *)view;
    s->hdr = (pp__win_sobj_hdr *)view;
    s->hdr->magic = PP__WIN_SOBJ_MAGIC;
    s->hdr->version = PP__WIN_SOBJ_VERSION;
    s->hdr->kind = kind;
    s->hdr->id = id;
    s->hdr->state_size = (uint64_t)state_size;
    if (init != NULL)
        memcpy(s->view + PP__WIN_SOBJ_HDR, init, state_size);
    st = pp__win_sobj_kobjs(s, 1);
    if (st != PP_OK) {
        /* The mapping goes with its last handle: the name with it. */
        pp__win_sobj_free(s);
        return st;
    }
    /* Full barrier: the fields above are visible before ready is. */
    InterlockedExchange(&s->hdr->ready, PP__WIN_SOBJ_READY);
    *out = s;
    return PP_OK;
}

/* As win_shm.c: wait for the creator, then check the header against the
 * bytes really mapped. */
static pp_status pp__win_sobj_check(pp__plat_sobj *s, uint32_t kind)
{
    pp__win_sobj_hdr *hdr = s->hdr;
    MEMORY_BASIC_INFORMATION mbi;

    if (VirtualQuery(s->view, &mbi, sizeof mbi) == 0 || mbi.RegionSize < PP__WIN_SOBJ_HDR)
        return PP_EINVAL;
    if (hdr->magic != 0 && hdr->magic != PP__WIN_SOBJ_MAGIC)
        return PP_EINVAL; /* a lock's name record, a shm block: one namespace */
    if (!pp__win_wait_word(&hdr->ready, PP__WIN_SOBJ_READY))
        return PP_EINVAL;
    if (hdr->magic != PP__WIN_SOBJ_MAGIC || hdr->version != PP__WIN_SOBJ_VERSION ||
        hdr->state_size == 0 || hdr->state_size > (uint64_t)mbi.RegionSize - PP__WIN_SOBJ_HDR)
        return PP_EINVAL;
    if (hdr->unlinked)
        return PP_ENOENT;
    if (kind != 0 && hdr->kind != kind)
        return PP_ETYPE;
    return PP_OK;
}

pp_status pp__plat_sobj_open(const char *name, uint32_t kind, pp__plat_sobj **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp__plat_sobj *s;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);
    if (st != PP_OK)
        return st;
    s = (pp__plat_sobj *)calloc(1, sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    s->mapping = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
    if (s->mapping == NULL) {
        st = pp__win_fail_last();
        free(s);
        return st;
    }
    s->view = (unsigned char *)MapViewOfFile(s->mapping, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (s->view == NULL) {
        st = pp__win_fail_last();
        pp__win_sobj_free(s);
        return st;
    }
    s->hdr = (pp__win_sobj_hdr *)s->view;
    st = pp__win_sobj_check(s, kind);
    if (st == PP_OK)
        st = pp__win_sobj_kobjs(s, 0);
    if (st != PP_OK) {
        pp__win_sobj_free(s);
        return st;
    }
    *out = s;
    return PP_OK;
}

void *pp__plat_sobj_state(const pp__plat_sobj *s)
{
    return s->view + PP__WIN_SOBJ_HDR;
}

size_t pp__plat_sobj_state_size(const pp__plat_sobj *s)
{
    return (size_t)s->hdr->state_size;
}

uint32_t pp__plat_sobj_kind(const pp__plat_sobj *s)
{
    return s->hdr->kind;
}

uint64_t pp__plat_sobj_id(const pp__plat_sobj *s)
{
    return s->hdr->id;
}

void pp__plat_sobj_close(pp__plat_sobj *s)
{
    if (s != NULL)
        pp__win_sobj_free(s);
}

pp_status pp__plat_sobj_unlink(const char *name)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st = pp__win_object_name(PP__WIN_NAMED_KIND, name, wname);

    if (st != PP_OK)
        return st;
    return pp__win_mark_unlinked(wname, PP__WIN_SOBJ_MAGIC, offsetof(pp__win_sobj_hdr, unlinked));
}

/* ---------------------------------------------------------- state mutex */

pp_status pp__plat_sobj_lock(pp__plat_sobj *s, int64_t timeout_ms)
{
    DWORD r = pp__win_wait(s->mutex, timeout_ms);

    switch (r) {
    case WAIT_OBJECT_0:
        return PP_OK;
    case WAIT_ABANDONED:
        pp__plat_set_os_error((long)WAIT_ABANDONED);
        return PP_EOWNERDEAD;
    case WAIT_TIMEOUT:
        return PP_ETIMEDOUT;
    default:
        return pp__win_fail_last();
    }
}

void pp__plat_sobj_unlock(pp__plat_sobj *s)
{
    ReleaseMutex(s->mutex);
}

/* ------------------------------------------------------------ wake word */

uint32_t pp__plat_sobj_seq(const pp__plat_sobj *s)
{
    LONG v = s->hdr->word;
    MemoryBarrier();
    return (uint32_t)v;
}

/* A wait that ends without taking a unit (timed out, or the word had
 * moved) takes back what it added: its count while no wake has taken it,
 * else the unit that wake released for it. Otherwise that unit stayed
 * over for good (a wait that returns early on it counts itself again for
 * the next wake), one more per such wait: every later wait of every
 * process returned at once. Only a waiter killed inside a wait leaves a
 * unit over now. Bounded: a waker between its exchange and its release
 * is a few instructions away (one killed there: a spurious unit less). */
static void pp__win_sobj_uncount(pp__plat_sobj *s)
{
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        LONG n = s->hdr->waiters;
        if (n > 0) {
            if (InterlockedCompareExchange(&s->hdr->waiters, n - 1, n) == n)
                return;
            continue;
        }
        if (WaitForSingleObject(s->sem, 0) == WAIT_OBJECT_0)
            return;
        SwitchToThread();
    }
}

pp_status pp__plat_sobj_wait(pp__plat_sobj *s, uint32_t seen, int64_t timeout_ms)
{
    DWORD r;

    InterlockedIncrement(&s->hdr->waiters);
    if ((uint32_t)InterlockedCompareExchange(&s->hdr->word, 0, 0) != seen) {
        pp__win_sobj_uncount(s);
        return PP_OK;
    }
    r = pp__win_wait(s->sem, timeout_ms < 0 ? 0 : timeout_ms);
    if (r == WAIT_OBJECT_0)
        return PP_OK;
    pp__win_sobj_uncount(s);
    return r == WAIT_TIMEOUT ? PP_ETIMEDOUT : PP_OK;
}

void pp__plat_sobj_wake(pp__plat_sobj *s)
{
    LONG n;

    InterlockedIncrement(&s->hdr->word);
    n = InterlockedExchange(&s->hdr->waiters, 0);
    if (n > 0)
        ReleaseSemaphore(s->sem, n, NULL);
}
