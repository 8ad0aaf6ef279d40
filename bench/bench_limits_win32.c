/*
 * bench_limits_win32.c — the physical references of bench_limits.h on
 * Windows: anonymous pipes to a child echo, CreateProcess of this program
 * in a trivial mode, a named mutex with its contenders in other processes
 * and the shared counter in a named file mapping, GetProcessMemoryInfo for
 * peak memory. Benchmarks only.
 */
#include "bench_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include <psapi.h>

#include "procpool/clock.h"

#define MODE_EXIT     "--bench-limit-exit"
#define MODE_ECHO     "--bench-limit-echo"
#define MODE_MUTEX    "--bench-limit-mutex"
#define READY_WAIT_MS 60000

static const char *g_argv0 = "";

static char g_self[MAX_PATH + 1];

static const char *self_path(void)
{
    DWORD n = GetModuleFileNameA(NULL, g_self, (DWORD)sizeof g_self);
    if (n == 0 || n >= sizeof g_self)
        return g_argv0;
    return g_self;
}

/* Start this program with the arguments `args` (a command line tail);
 * stdio handles optional (inherited then). */
static HANDLE start_self(const char *args, HANDLE in, HANDLE out)
{
    char cmd[2 * MAX_PATH + 512];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    BOOL ok;

    snprintf(cmd, sizeof cmd, "\"%s\" %s", self_path(), args);
    memset(&si, 0, sizeof si);
    si.cb = (DWORD)sizeof si;
    if (in != NULL) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = in;
        si.hStdOutput = out;
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    }
    ok = CreateProcessA(NULL, cmd, NULL, NULL, in != NULL, 0, NULL, NULL, &si, &pi);
    if (!ok)
        return NULL;
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static int wait_ok(HANDLE proc)
{
    DWORD code = 1;
    int ok = WaitForSingleObject(proc, INFINITE) == WAIT_OBJECT_0 &&
             GetExitCodeProcess(proc, &code) && code == 0;
    CloseHandle(proc);
    return ok;
}

static int echo_main(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
    char c;
    DWORD n;

    while (ReadFile(in, &c, 1, &n, NULL) && n == 1 && WriteFile(out, &c, 1, &n, NULL) && n == 1)
        ;
    return 0;
}

typedef struct mx_shared {
    volatile LONG ready;
    int64_t counter; /* under the mutex */
} mx_shared;

static int mutex_lock(HANDLE mu)
{
    DWORD r = WaitForSingleObject(mu, INFINITE);
    return r == WAIT_OBJECT_0 || r == WAIT_ABANDONED;
}

static int contender_main(const char *mutex_name, const char *map_name, const char *incr_s)
{
    long long incr = strtoll(incr_s, NULL, 10), k;
    HANDLE mu = OpenMutexA(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, mutex_name);
    HANDLE map = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, map_name);
    mx_shared *s = map != NULL ? MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof *s) : NULL;

    if (mu == NULL || s == NULL)
        return 2;
    InterlockedIncrement(&s->ready);
    for (k = 0; k < incr; k++) {
        if (!mutex_lock(mu))
            return 3;
        s->counter++;
        if (!ReleaseMutex(mu))
            return 4;
    }
    UnmapViewOfFile(s);
    CloseHandle(map);
    CloseHandle(mu);
    return 0;
}

int bl_child_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], MODE_EXIT) == 0)
        return 0;
    if (argc >= 2 && strcmp(argv[1], MODE_ECHO) == 0)
        return echo_main();
    if (argc >= 5 && strcmp(argv[1], MODE_MUTEX) == 0)
        return contender_main(argv[2], argv[3], argv[4]);
    g_argv0 = argc > 0 ? argv[0] : "";
    return -1;
}

double bl_pipe_roundtrip_us(int n, const char **why)
{
    SECURITY_ATTRIBUTES sa = {(DWORD)sizeof sa, NULL, TRUE};
    HANDLE up_r, up_w, down_r, down_w, proc;
    int64_t t0 = 0, dt;
    int i, ok = 1;
    char c = 'x';
    DWORD k;

    if (!CreatePipe(&up_r, &up_w, &sa, 0)) {
        *why = "CreatePipe() failed";
        return 0;
    }
    if (!CreatePipe(&down_r, &down_w, &sa, 0)) {
        CloseHandle(up_r);
        CloseHandle(up_w);
        *why = "CreatePipe() failed";
        return 0;
    }
    /* only the child's ends are inherited */
    SetHandleInformation(up_w, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(down_r, HANDLE_FLAG_INHERIT, 0);
    proc = start_self(MODE_ECHO, up_r, down_w);
    CloseHandle(up_r);
    CloseHandle(down_w);
    if (proc == NULL) {
        CloseHandle(up_w);
        CloseHandle(down_r);
        *why = "CreateProcess() of the echo failed";
        return 0;
    }
    for (i = -n / 10; i < n && ok; i++) {
        if (i == 0)
            t0 = pp_monotonic_ns();
        ok = WriteFile(up_w, &c, 1, &k, NULL) && k == 1 && ReadFile(down_r, &c, 1, &k, NULL) &&
             k == 1;
    }
    dt = pp_monotonic_ns() - t0;
    CloseHandle(up_w);
    CloseHandle(down_r);
    if (!wait_ok(proc) || !ok) {
        *why = "the echo process failed";
        return 0;
    }
    return (double)dt / 1e3 / n;
}

double bl_fork_exit_wait_us(int n, const char **why)
{
    (void)n;
    *why = "no fork() on Windows";
    return 0;
}

double bl_spawn_exit_wait_us(int n, const char **why)
{
    int64_t t0 = pp_monotonic_ns();
    int i;

    for (i = 0; i < n; i++) {
        HANDLE proc = start_self(MODE_EXIT, NULL, NULL);
        if (proc == NULL || !wait_ok(proc)) {
            *why = "CreateProcess() of this program failed";
            return 0;
        }
    }
    return (double)(pp_monotonic_ns() - t0) / 1e3 / n;
}

static unsigned g_seq;

double bl_mutex_pairs_per_s(int64_t pairs, int runs, const char **why)
{
    char name[96];
    HANDLE mu;
    int64_t best = INT64_MAX;
    int r;

    snprintf(name, sizeof name, "Local\\ppbench-limit-%lu-%u", (unsigned long)GetCurrentProcessId(),
             ++g_seq);
    if ((mu = CreateMutexA(NULL, FALSE, name)) == NULL) {
        *why = "CreateMutex() failed";
        return 0;
    }
    for (r = 0; r < runs; r++) {
        int64_t t0 = pp_monotonic_ns(), dt, i;
        for (i = 0; i < pairs; i++) {
            if (!mutex_lock(mu) || !ReleaseMutex(mu)) {
                CloseHandle(mu);
                *why = "WaitForSingleObject/ReleaseMutex failed";
                return 0;
            }
        }
        dt = pp_monotonic_ns() - t0;
        if (dt < best)
            best = dt;
    }
    CloseHandle(mu);
    return (double)pairs * 1e9 / (double)(best > 0 ? best : 1);
}

static int64_t mx_contended_run(int nproc, int64_t incr, const char **why)
{
    char mname[96], fname[96], args[256];
    HANDLE procs[64], mu, map;
    mx_shared *s;
    int64_t t0, dt = 0, waited;
    int i, started = 0, ok = 1;

    snprintf(mname, sizeof mname, "Local\\ppbench-limit-%lu-%u",
             (unsigned long)GetCurrentProcessId(), ++g_seq);
    snprintf(fname, sizeof fname, "Local\\ppbench-limit-map-%lu-%u",
             (unsigned long)GetCurrentProcessId(), g_seq);
    if ((mu = CreateMutexA(NULL, TRUE, mname)) == NULL) { /* owned: the starting gate */
        *why = "CreateMutex() failed";
        return 0;
    }
    map =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)sizeof *s, fname);
    s = map != NULL ? MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof *s) : NULL;
    if (s == NULL) {
        if (map != NULL)
            CloseHandle(map);
        CloseHandle(mu);
        *why = "CreateFileMapping() failed";
        return 0;
    }
    snprintf(args, sizeof args, "%s %s %s %lld", MODE_MUTEX, mname, fname, (long long)incr);
    for (i = 0; i < nproc; i++) {
        if ((procs[started] = start_self(args, NULL, NULL)) == NULL) {
            ok = 0;
            break;
        }
        started++;
    }
    for (waited = 0; ok && s->ready < started; waited++) {
        for (i = 0; i < started; i++) {
            if (WaitForSingleObject(procs[i], 0) == WAIT_OBJECT_0)
                ok = 0; /* exited before it was ready */
        }
        if (waited > READY_WAIT_MS)
            ok = 0;
        else
            pp_sleep_ms(1);
    }
    t0 = pp_monotonic_ns();
    ReleaseMutex(mu);
    for (i = 0; i < started; i++)
        ok = wait_ok(procs[i]) && ok;
    dt = pp_monotonic_ns() - t0;
    if (!ok)
        *why = "a contender failed (start, mutex, or not ready in 60 s)";
    else if (s->counter != (int64_t)nproc * incr)
        *why = "the named mutex did not exclude (wrong counter)";
    ok = ok && s->counter == (int64_t)nproc * incr;
    UnmapViewOfFile(s);
    CloseHandle(map);
    CloseHandle(mu);
    return ok ? (dt > 0 ? dt : 1) : 0;
}

double bl_mutex_contended_incr_per_s(int nproc, int64_t incr, int runs, const char **why)
{
    int64_t best = INT64_MAX;
    int r;

    if (nproc < 1 || nproc > 64) {
        *why = "1 to 64 contenders";
        return 0;
    }
    for (r = 0; r < runs; r++) {
        int64_t dt = mx_contended_run(nproc, incr, why);
        if (dt == 0)
            return 0;
        if (dt < best)
            best = dt;
    }
    return (double)nproc * (double)incr * 1e9 / (double)best;
}

/* ---------------------------------------------------------------- memory */

void bl_mem_reset_peak(void)
{
    /* Windows keeps one peak per process: it cannot be restarted */
}

int64_t bl_mem_begin(const char **why)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, (DWORD)sizeof pmc)) {
        *why = "GetProcessMemoryInfo() failed";
        return -1;
    }
    return (int64_t)pmc.WorkingSetSize;
}

int64_t bl_mem_peak(const char **why)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, (DWORD)sizeof pmc)) {
        *why = "GetProcessMemoryInfo() failed";
        return -1;
    }
    return (int64_t)pmc.PeakWorkingSetSize;
}
