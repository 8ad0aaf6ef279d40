/*
 * win_misc.c — init, clocks, CPUs, random bytes, ids, exit; and the small
 * helpers the other win_*.c files share (object names, long waits).
 */
#include "win_internal.h"

#include <psapi.h>

#include <bcrypt.h>
#include <stdio.h>
#include <string.h>

#ifndef BCRYPT_SUCCESS
#define BCRYPT_SUCCESS(status) (((NTSTATUS)(status)) >= 0)
#endif

/* QueryPerformanceFrequency never changes while the system runs; 0 means
 * "not read yet". Racing first readers store the same value. */
static volatile LONGLONG pp__win_qpc_freq;

/* Last thread token handed out; tokens start at 1. */
static volatile LONGLONG pp__win_token_seq;
static PP__WIN_TLS uint64_t pp__win_token;

static LONGLONG pp__win_freq(void)
{
    LONGLONG f = pp__win_qpc_freq;
    LARGE_INTEGER li;

    if (f != 0)
        return f;
    /* Cannot fail on XP and later. */
    QueryPerformanceFrequency(&li);
    f = li.QuadPart > 0 ? li.QuadPart : 1;
    InterlockedExchange64(&pp__win_qpc_freq, f);
    return f;
}

pp_status pp__plat_init(void)
{
    (void)pp__win_freq();
    return PP_OK;
}

/* The working set (K32GetProcessMemoryInfo: kernel32 from Windows 7 on,
 * no psapi.dll needed). */
uint64_t pp__plat_self_rss(void)
{
    PROCESS_MEMORY_COUNTERS pmc;

    ZeroMemory(&pmc, sizeof pmc);
    pmc.cb = sizeof pmc;
    if (!K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return 0;
    return (uint64_t)pmc.WorkingSetSize;
}

int pp__plat_cpu_count(void)
{
    /* All processor groups: GetSystemInfo only sees the caller's group
     * (at most 64 CPUs). */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    SYSTEM_INFO si;

    if (n == 0) {
        GetSystemInfo(&si);
        n = si.dwNumberOfProcessors;
    }
    if (n < 1)
        n = 1;
    if (n > 0x7fffffffu)
        n = 0x7fffffffu;
    return (int)n;
}

pp_status pp__plat_random(void *buf, size_t n)
{
    unsigned char *p = (unsigned char *)buf;

    if (buf == NULL && n > 0)
        return PP_EINVAL;
    while (n > 0) {
        ULONG chunk = n > 0x40000000u ? 0x40000000u : (ULONG)n;
        NTSTATUS st = BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(st))
            return pp__plat_fail((long)st);
        p += chunk;
        n -= chunk;
    }
    return PP_OK;
}

void pp__plat_atfork_child(void (*fn)(void))
{
    (void)fn; /* no fork on Windows */
}

/* VirtualAlloc: committed pages are zeroed; no populate flag exists. */
void *pp__plat_big_alloc(size_t n)
{
    if (n == 0)
        return NULL;
    return VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

/* Committed pages are zeroed when first touched: the same call. */
void *pp__plat_big_alloc_lazy(size_t n)
{
    return pp__plat_big_alloc(n);
}

void pp__plat_big_free(void *p, size_t n)
{
    (void)n;
    if (p != NULL)
        VirtualFree(p, 0, MEM_RELEASE);
}

void pp__plat_prefault_write(void *p, size_t n)
{
    (void)p; /* each page is mapped when first written, as before */
    (void)n;
}

int64_t pp__plat_now_ns(void)
{
    LARGE_INTEGER c;
    LONGLONG f = pp__win_freq();

    QueryPerformanceCounter(&c);
    /* Split to avoid overflowing c * 1e9 (c grows for the system's uptime). */
    return (int64_t)((c.QuadPart / f) * 1000000000LL + (c.QuadPart % f) * 1000000000LL / f);
}

int64_t pp__plat_now_ms(void)
{
    return pp__plat_now_ns() / 1000000;
}

void pp__plat_sleep_ms(int64_t ms)
{
    if (ms <= 0) {
        Sleep(0);
        return;
    }
    while (ms > 0) {
        DWORD slice = ms > 0x7fffffffLL ? 0x7fffffffu : (DWORD)ms;
        Sleep(slice);
        ms -= slice;
    }
}

uint64_t pp__plat_getpid(void)
{
    return (uint64_t)GetCurrentProcessId();
}

uint64_t pp__win_thread_token(void)
{
    uint64_t t = pp__win_token;

    if (t == 0) {
        t = (uint64_t)InterlockedIncrement64(&pp__win_token_seq);
        pp__win_token = t;
    }
    return t;
}

/* The token, not GetCurrentThreadId(): Windows reuses thread ids as soon
 * as a thread ends, so a dead owner's id could match a new thread and an
 * owner check would wrongly succeed. Tokens are never reused nor 0. */
uint64_t pp__plat_thread_id(void)
{
    return pp__win_thread_token();
}

void pp__plat_flush_stdio(void)
{
    fflush(NULL);
}

/* Interlocked operations are full barriers and work on memory shared
 * between processes (a mapped view). */
uint64_t pp__plat_atomic_load64(volatile uint64_t *p)
{
    return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, 0, 0);
}

void pp__plat_atomic_store64(volatile uint64_t *p, uint64_t v)
{
    (void)InterlockedExchange64((volatile LONG64 *)p, (LONG64)v);
}

int pp__plat_atomic_cas64(volatile uint64_t *p, uint64_t expect, uint64_t desired)
{
    return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, (LONG64)desired,
                                                  (LONG64)expect) == expect;
}

/*
 * TerminateProcess(GetCurrentProcess()) rather than ExitProcess(): the
 * contract is POSIX _exit(). ExitProcess runs DLL_PROCESS_DETACH of every
 * DLL, and a CRT DLL runs the atexit/onexit handlers of DLLs linked to it
 * there; worse, other threads are killed first, so a detach routine can
 * deadlock on a lock one of them held (e.g. the CRT heap or stdio lock).
 * TerminateProcess runs no user-mode code and still sets the exit code.
 */
void pp__plat_exit(int code)
{
    pp__plat_flush_stdio();
    TerminateProcess(GetCurrentProcess(), (UINT)code);
    /* Not reached; if it ever were, still leave. */
    ExitProcess((UINT)code);
}

pp_status pp__win_object_name(const char *kind, const char *name, wchar_t *out)
{
    static const wchar_t head[] = L"Local\\procpool-";
    size_t hl = sizeof head / sizeof head[0] - 1;
    size_t kl, nl, i, pos;

    if (kind == NULL || name == NULL)
        return PP_EINVAL;
    kl = strlen(kind);
    nl = strlen(name);
    if (nl == 0 || nl > PP_NAME_MAX || hl + kl + 1 + nl + 1 > PP__WIN_OBJNAME_MAX)
        return PP_EINVAL;
    memcpy(out, head, hl * sizeof(wchar_t));
    pos = hl;
    for (i = 0; i < kl; i++)
        out[pos++] = (wchar_t)(unsigned char)kind[i];
    out[pos++] = L'-';
    for (i = 0; i < nl; i++) {
        unsigned char ch = (unsigned char)name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return PP_EINVAL;
        out[pos++] = (wchar_t)ch;
    }
    out[pos] = L'\0';
    return PP_OK;
}

DWORD pp__win_wait(HANDLE h, int64_t timeout_ms)
{
    /* One hour per wait: DWORD timeouts top out at ~49 days (0xFFFFFFFF
     * means INFINITE), and wine returns at once for very large ones. */
    const int64_t slice_max = 3600000;
    DWORD r;

    if (timeout_ms < 0)
        return WaitForSingleObject(h, INFINITE);
    for (;;) {
        DWORD slice = timeout_ms > slice_max ? (DWORD)slice_max : (DWORD)timeout_ms;
        r = WaitForSingleObject(h, slice);
        if (r != WAIT_TIMEOUT || timeout_ms <= slice_max)
            return r;
        timeout_ms -= slice_max;
    }
}

int pp__win_wait_word(volatile LONG *word, LONG value)
{
    int64_t deadline = pp__plat_now_ms() + PP__WIN_READY_GRACE_MS;

    /* A plain read then a barrier (acquire): an interlocked read would
     * write, and faults on a read-only view. */
    for (;;) {
        LONG v = *word;
        MemoryBarrier();
        if (v == value)
            return 1;
        if (pp__plat_now_ms() >= deadline)
            return 0;
        Sleep(1);
    }
}

int pp__plat_sigpipe_suspend(void)
{
    return 0; /* no SIGPIPE on Windows */
}

void pp__plat_sigpipe_resume(int state)
{
    (void)state;
}
