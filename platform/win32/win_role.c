/*
 * win_role.c — role detection of a spawned process, the saved arguments
 * used to spawn workers, and worker process setup.
 *
 * A worker is started as:  "<argv0>" --pp-role=worker:<rd>:<wr> <args...>
 * (a manager server the same way, with "manager" for "worker")
 * where rd/wr are decimal values of the inherited channel handle(s) (one
 * duplex pipe handle today, so rd == wr; two are accepted). There is no
 * fork server on Windows.
 */
#include "win_internal.h"

#include <shellapi.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Wide copy of the program's arguments, marker removed. Written by
 * pp__plat_role_detect() (normally once, at pp_init) and read by every
 * launcher start: an SRW lock keeps a repeated pp_init harmless. */
static SRWLOCK pp__win_args_lock = SRWLOCK_INIT;
static wchar_t **pp__win_args;
static int pp__win_nargs;

const wchar_t *const *pp__win_saved_args_acquire(int *argc_out)
{
    AcquireSRWLockShared(&pp__win_args_lock);
    *argc_out = pp__win_nargs;
    return (const wchar_t *const *)pp__win_args;
}

void pp__win_saved_args_release(void)
{
    ReleaseSRWLockShared(&pp__win_args_lock);
}

static void pp__win_free_args(wchar_t **args, int n)
{
    int i;

    if (args == NULL)
        return;
    for (i = 0; i < n; i++)
        free(args[i]);
    free(args);
}

static wchar_t *pp__win_wcsdup(const wchar_t *s)
{
    size_t n = wcslen(s) + 1;
    wchar_t *d = (wchar_t *)malloc(n * sizeof(wchar_t));

    if (d != NULL)
        memcpy(d, s, n * sizeof(wchar_t));
    return d;
}

/* The CRT decoded argv from the wide command line with the ANSI code page,
 * losing characters it cannot represent. Prefer the wide original when it
 * is the same argument (it round-trips to the narrow one). */
static wchar_t *pp__win_widen_arg(const char *narrow, const wchar_t *wide)
{
    int n;
    char *back;
    wchar_t *w;

    if (wide != NULL) {
        n = WideCharToMultiByte(CP_ACP, 0, wide, -1, NULL, 0, NULL, NULL);
        back = n > 0 ? (char *)malloc((size_t)n) : NULL;
        if (back != NULL && WideCharToMultiByte(CP_ACP, 0, wide, -1, back, n, NULL, NULL) > 0 &&
            strcmp(back, narrow) == 0) {
            free(back);
            return pp__win_wcsdup(wide);
        }
        free(back);
    }
    n = MultiByteToWideChar(CP_ACP, 0, narrow, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    w = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
    if (w != NULL && MultiByteToWideChar(CP_ACP, 0, narrow, -1, w, n) <= 0) {
        free(w);
        w = NULL;
    }
    return w;
}

/* Save argv (narrow, from main; may be NULL) with the wide command line's
 * arguments wargv[0..wn) as the lossless source when they line up. */
static pp_status pp__win_save_args(int argc, char **argv, wchar_t **wargv, int wn)
{
    int n = argv != NULL ? argc : wn;
    int i, aligned = argv != NULL && wargv != NULL && wn == argc;
    wchar_t **copy = (wchar_t **)calloc((size_t)n + 1, sizeof *copy);

    if (copy == NULL)
        return PP_ENOMEM;
    for (i = 0; i < n; i++) {
        if (argv == NULL)
            copy[i] = pp__win_wcsdup(wargv[i]);
        else
            copy[i] = pp__win_widen_arg(argv[i] != NULL ? argv[i] : "", aligned ? wargv[i] : NULL);
        if (copy[i] == NULL) {
            pp__win_free_args(copy, i);
            return PP_ENOMEM;
        }
    }
    AcquireSRWLockExclusive(&pp__win_args_lock);
    pp__win_free_args(pp__win_args, pp__win_nargs);
    pp__win_args = copy;
    pp__win_nargs = n;
    ReleaseSRWLockExclusive(&pp__win_args_lock);
    return PP_OK;
}

/* Strict decimal handle value: digits only, no sign, no overflow, not 0. */
static const char *pp__win_parse_handle(const char *s, HANDLE *out)
{
    uint64_t v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10 || p - s >= 20)
            return NULL;
        v = v * 10 + d;
        p++;
    }
    if (p == s || v == 0 || v > (uint64_t)UINTPTR_MAX || (p - s > 1 && *s == '0'))
        return NULL;
    *out = (HANDLE)(uintptr_t)v;
    return p;
}

/* A handle we inherited must really be a pipe of this process. */
static int pp__win_valid_pipe(HANDLE h)
{
    DWORD flags;

    return GetHandleInformation(h, &flags) && GetFileType(h) == FILE_TYPE_PIPE;
}

/* "--pp-role=<worker|manager>:<rd>:<wr>" -> role and handles. PP_EINVAL
 * if malformed. */
static pp_status pp__win_parse_marker(const char *marker, int *role, HANDLE *rd, HANDLE *wr)
{
    const char *p;

    if (strncmp(marker, PP__WIN_ROLE_WORKER_PREFIX, strlen(PP__WIN_ROLE_WORKER_PREFIX)) == 0) {
        *role = PP__ROLE_WORKER;
        p = marker + strlen(PP__WIN_ROLE_WORKER_PREFIX);
    } else if (strncmp(marker, PP__WIN_ROLE_MANAGER_PREFIX, strlen(PP__WIN_ROLE_MANAGER_PREFIX)) ==
               0) {
        *role = PP__ROLE_MANAGER;
        p = marker + strlen(PP__WIN_ROLE_MANAGER_PREFIX);
    } else {
        return PP_EINVAL;
    }
    p = pp__win_parse_handle(p, rd);
    if (p == NULL || *p != ':')
        return PP_EINVAL;
    p = pp__win_parse_handle(p + 1, wr);
    if (p == NULL || *p != '\0')
        return PP_EINVAL;
    if (!pp__win_valid_pipe(*rd) || !pp__win_valid_pipe(*wr))
        return PP_EINVAL;
    return PP_OK;
}

/* Marker as ASCII from the wide command line (used when main's argv was
 * not given to pp_init). NULL if argument 1 is no marker. */
static const char *pp__win_wide_marker(wchar_t **wargv, int wn, char *buf, size_t cap)
{
    size_t i;

    if (wargv == NULL || wn < 2 || wcsncmp(wargv[1], L"--pp-role=", 10) != 0)
        return NULL;
    for (i = 0; wargv[1][i] != L'\0'; i++) {
        if (i + 1 >= cap || wargv[1][i] > 0x7e)
            return "--pp-role=?"; /* cannot be ours: malformed */
        buf[i] = (char)wargv[1][i];
    }
    buf[i] = '\0';
    return buf;
}

static void pp__win_drop_arg1(int *argc, char **argv)
{
    int i;

    for (i = 1; i < *argc; i++)
        argv[i] = argv[i + 1]; /* argv[argc] is NULL: moved down too */
    (*argc)--;
}

static void pp__win_drop_warg1(wchar_t **wargv, int *wn)
{
    int i;

    for (i = 1; i + 1 < *wn; i++)
        wargv[i] = wargv[i + 1];
    (*wn)--;
}

static pp_status pp__win_become_worker(HANDLE rd, HANDLE wr, pp__plat_chan **chan)
{
    /* The worker's own children (a task calling system()) must not keep
     * the channel open after the worker dies: the parent relies on EOF. */
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(wr, HANDLE_FLAG_INHERIT, 0);
    pp__plat_worker_setup();
    return pp__win_chan_adopt(rd, wr, chan);
}

pp_status pp__plat_role_detect(int *argc, char ***argv, int *role, pp__plat_chan **chan)
{
    char wbuf[96];
    const char *marker = NULL;
    HANDLE rd = NULL, wr = NULL;
    wchar_t **wargv;
    int wn = 0, kind = PP__ROLE_WORKER;
    pp_status st;

    if (role == NULL || (argc == NULL) != (argv == NULL) || (argc != NULL && *argc < 0))
        return PP_EINVAL;
    *role = PP__ROLE_MAIN;
    wargv = CommandLineToArgvW(GetCommandLineW(), &wn);
    if (argv != NULL && *argc >= 2 && (*argv)[1] != NULL &&
        strncmp((*argv)[1], PP__WIN_ROLE_PREFIX, strlen(PP__WIN_ROLE_PREFIX)) == 0)
        marker = (*argv)[1];
    else if (argv == NULL)
        marker = pp__win_wide_marker(wargv, wn, wbuf, sizeof wbuf);

    if (marker != NULL) {
        st = pp__win_parse_marker(marker, &kind, &rd, &wr);
        if (st == PP_OK && chan == NULL)
            st = PP_EINVAL;
        if (st != PP_OK) {
            LocalFree(wargv);
            return st;
        }
        if (argv != NULL)
            pp__win_drop_arg1(argc, *argv);
        if (wargv != NULL && wn >= 2 && wcsncmp(wargv[1], L"--pp-role=", 10) == 0)
            pp__win_drop_warg1(wargv, &wn);
    }
    st = pp__win_save_args(argc != NULL ? *argc : 0, argv != NULL ? *argv : NULL, wargv, wn);
    LocalFree(wargv);
    if (st != PP_OK || marker == NULL)
        return st;
    st = pp__win_become_worker(rd, wr, chan);
    if (st == PP_OK)
        *role = kind;
    return st;
}

/* Stored for the contract's sake: every Windows worker is spawned, and
 * the core runs the entry itself when pp__plat_role_detect() reports
 * PP__ROLE_WORKER (no zygote or fork server exists to call it). */
static pp__plat_entry_fn pp__win_entry;

void pp__plat_set_worker_entry(pp__plat_entry_fn fn)
{
    pp__win_entry = fn;
}

static LPTOP_LEVEL_EXCEPTION_FILTER pp__win_prev_filter;

/* Last stop of an unhandled exception (access violation...) in a worker:
 * end the process with the exception code as exit code, which is what
 * the parent reports. Without it wine starts winedbg (AeDebug) and real
 * Windows may start a JIT debugger, leaving a dead worker hanging for
 * seconds or forever. A filter the program installed before pp_init()
 * still runs first. */
static LONG WINAPI pp__win_crash_filter(EXCEPTION_POINTERS *ep)
{
    if (pp__win_prev_filter != NULL) {
        LONG r = pp__win_prev_filter(ep);
        if (r == EXCEPTION_CONTINUE_EXECUTION)
            return r;
    }
    /* No stdio flush: the crash may have happened inside the CRT. */
    TerminateProcess(GetCurrentProcess(), (UINT)ep->ExceptionRecord->ExceptionCode);
    return EXCEPTION_EXECUTE_HANDLER;
}

void pp__plat_worker_setup(void)
{
    /* Ctrl-C goes to every process on the console; the parent decides
     * what happens to workers (the launcher also starts them in a new
     * process group, which covers the time before this runs). */
    SetConsoleCtrlHandler(NULL, TRUE);
    /* A crashing worker must die at once (the pool replaces it), not wait
     * on an error dialog nobody sees. */
    SetErrorMode(GetErrorMode() | SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX |
                 SEM_NOOPENFILEERRORBOX);
    pp__win_prev_filter = SetUnhandledExceptionFilter(pp__win_crash_filter);
#if defined(_MSC_VER)
    /* abort(): no message box, no Windows Error Reporting. */
    _set_abort_behavior(0, _WRITE_ABORT_MSG | _CALL_REPORTFAULT);
#endif
}
