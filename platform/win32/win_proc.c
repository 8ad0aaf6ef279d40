/*
 * win_proc.c — spawn launcher and worker process handles.
 *
 * Only PP__START_SPAWN exists on Windows. A worker is CreateProcessW of
 * our own image (GetModuleFileNameW) with the saved argv plus the role
 * marker, started:
 *  - with PROC_THREAD_ATTRIBUTE_HANDLE_LIST naming exactly the handles it
 *    gets (its channel end and its std handles), never "inherit all";
 *  - CREATE_SUSPENDED, put into the launcher's kill-on-close Job object,
 *    then resumed, so it cannot run (or spawn) before it is in the job and
 *    dies with the parent even if the parent is killed;
 *  - in a new process group, so console Ctrl-C does not reach it;
 *  - stdout/stderr = the parent's (tasks may print), stdin = NUL.
 */
#include "win_internal.h"

#include <stdio.h>

#include <stdlib.h>
#include <wchar.h>

struct pp__plat_launcher {
    HANDLE job;          /* NULL if the OS refused a job (see job_error) */
    DWORD job_error;     /* why workers are not in a job, 0 if they are */
    const wchar_t *role; /* the role marker's name (L"worker", L"manager") */
};

struct pp__plat_proc {
    HANDLE h;
    DWORD pid;
    int done; /* info is valid */
    pp__exit_info info;
};

/* ------------------------------------------------------------ launcher */

/* The only start method Windows has. */
int pp__plat_default_start_method(void)
{
    return PP__START_SPAWN;
}

static HANDLE pp__win_kill_on_close_job(DWORD *err)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    HANDLE job = CreateJobObjectW(NULL, NULL); /* not inheritable */

    if (job == NULL) {
        *err = GetLastError();
        return NULL;
    }
    ZeroMemory(&lim, sizeof lim);
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof lim)) {
        *err = GetLastError();
        CloseHandle(job);
        return NULL;
    }
    return job;
}

pp_status pp__plat_launcher_create_for(int method, int workers, pp__plat_launcher **out)
{
    (void)workers; /* a hint: each worker is created on request */
    return pp__plat_launcher_create(method, out);
}

pp_status pp__plat_launcher_create_pre(int method, int workers, const pp__plat_first *first,
                                       pp__plat_launcher **out)
{
    (void)first; /* each worker is sent its first message by the caller */
    return pp__plat_launcher_create_for(method, workers, out);
}

pp_status pp__plat_launcher_start_first(pp__plat_launcher *l, pp__plat_proc **proc,
                                        pp__plat_chan **chan, int *first)
{
    *first = -1;
    return pp__plat_launcher_start(l, proc, chan);
}

pp_status pp__plat_launcher_create(int method, pp__plat_launcher **out)
{
    pp__plat_launcher *l;

    if (out == NULL)
        return PP_EINVAL;
    if (method == PP__START_FORK || method == PP__START_FORKSERVER)
        return PP_ENOTSUP;
    if (method != PP__START_SPAWN)
        return PP_EINVAL;
    l = (pp__plat_launcher *)calloc(1, sizeof *l);
    if (l == NULL)
        return PP_ENOMEM;
    /* No job is not fatal: workers still exit on channel EOF when the
     * parent dies; only a worker stuck in a task would outlive it. */
    l->job = pp__win_kill_on_close_job(&l->job_error);
    l->role = L"worker";
    *out = l;
    return PP_OK;
}

pp_status pp__plat_launcher_set_role(pp__plat_launcher *l, int role)
{
    if (l == NULL)
        return PP_EINVAL;
    if (role == PP__ROLE_WORKER)
        l->role = L"worker";
    else if (role == PP__ROLE_MANAGER)
        l->role = L"manager";
    else
        return PP_EINVAL;
    return PP_OK;
}

void pp__plat_launcher_settle(pp__plat_launcher *l, int64_t timeout_ms)
{
    (void)l; /* no helper process to restart */
    (void)timeout_ms;
}

void pp__plat_launcher_retire(pp__plat_launcher *l)
{
    (void)l; /* no helper process: nothing serves future starts */
}

const char *pp__plat_launcher_failure(const pp__plat_launcher *l)
{
    (void)l;
    return NULL; /* the status and the OS error say it all */
}

void pp__plat_launcher_destroy(pp__plat_launcher *l)
{
    if (l == NULL)
        return;
    /* Any worker still running dies here. Kill-on-close would do it too,
     * but with exit code 0; terminating first makes it recognisable. */
    if (l->job != NULL) {
        TerminateJobObject(l->job, PP__WIN_KILL_EXIT_CODE);
        CloseHandle(l->job);
    }
    free(l);
}

/* ------------------------------------------------------ std handles */

/* The handles a worker inherits, each inheritable and listed. */
typedef struct pp__win_inherit {
    HANDLE std[3];   /* in, out, err given to the child (may be NULL) */
    HANDLE owned[3]; /* our duplicates to close after CreateProcessW */
    HANDLE list[4];  /* PROC_THREAD_ATTRIBUTE_HANDLE_LIST */
    DWORD nlist;
} pp__win_inherit;

/* Windows 7 console handles are pseudo handles (low bits 11) that the
 * console subsystem passes on by itself; listing them makes
 * CreateProcessW fail. */
static int pp__win_is_console_pseudo(HANDLE h)
{
    return ((uintptr_t)h & 3) == 3;
}

/* Give the child its own inheritable duplicate of one of our std handles.
 * Duplicating leaves our handle's inherit flag alone (other code may spawn
 * with bInheritHandles and expect it unchanged). */
static void pp__win_pass_std(pp__win_inherit *inh, int i, DWORD which)
{
    HANDLE h = GetStdHandle(which), self = GetCurrentProcess(), dup;

    if (h == NULL || h == INVALID_HANDLE_VALUE)
        return; /* no such stream: the child has none either */
    if (!DuplicateHandle(self, h, self, &dup, 0, TRUE, DUPLICATE_SAME_ACCESS))
        return;
    inh->std[i] = dup;
    inh->owned[i] = dup;
    if (!pp__win_is_console_pseudo(dup))
        inh->list[inh->nlist++] = dup;
}

/* stdin is NUL, like Python's workers: a worker must not steal input. */
static void pp__win_pass_null_stdin(pp__win_inherit *inh)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE h = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           OPEN_EXISTING, 0, NULL);

    if (h == INVALID_HANDLE_VALUE)
        return;
    inh->std[0] = h;
    inh->owned[0] = h;
    inh->list[inh->nlist++] = h;
}

static void pp__win_inherit_release(pp__win_inherit *inh)
{
    int i;

    for (i = 0; i < 3; i++) {
        if (inh->owned[i] != NULL)
            CloseHandle(inh->owned[i]);
    }
}

/* ------------------------------------------------------------ spawn */

static LPPROC_THREAD_ATTRIBUTE_LIST pp__win_attr_list(pp__win_inherit *inh, pp_status *st)
{
    LPPROC_THREAD_ATTRIBUTE_LIST al;
    SIZE_T size = 0;

    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    al = (LPPROC_THREAD_ATTRIBUTE_LIST)malloc(size);
    if (al == NULL) {
        *st = PP_ENOMEM;
        return NULL;
    }
    if (!InitializeProcThreadAttributeList(al, 1, 0, &size)) {
        *st = pp__win_fail_last();
        free(al);
        return NULL;
    }
    if (!UpdateProcThreadAttribute(al, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh->list,
                                   inh->nlist * sizeof(HANDLE), NULL, NULL)) {
        *st = pp__win_fail_last();
        DeleteProcThreadAttributeList(al);
        free(al);
        return NULL;
    }
    *st = PP_OK;
    return al;
}

/* Our image's full path. Long paths are possible: grow the buffer. */
static wchar_t *pp__win_self_path(pp_status *st)
{
    DWORD cap = MAX_PATH, n;
    wchar_t *p = NULL, *q;

    for (;;) {
        q = (wchar_t *)realloc(p, cap * sizeof(wchar_t));
        if (q == NULL) {
            free(p);
            *st = PP_ENOMEM;
            return NULL;
        }
        p = q;
        n = GetModuleFileNameW(NULL, p, cap);
        if (n == 0) {
            *st = pp__win_fail_last();
            free(p);
            return NULL;
        }
        if (n < cap) {
            *st = PP_OK;
            return p;
        }
        if (cap >= 32768) {
            *st = PP_ETOOBIG;
            free(p);
            return NULL;
        }
        cap *= 2;
    }
}

/* "argv0" --pp-role=<role>:<h>:<h> args... (see win_role.c). */
static wchar_t *pp__win_worker_cmdline(const wchar_t *self, const wchar_t *role, HANDLE child,
                                       pp_status *st)
{
    wchar_t marker[80];
    const wchar_t *const *args;
    const wchar_t *argv0;
    wchar_t *line;
    int n;

    swprintf(marker, sizeof marker / sizeof marker[0], L"--pp-role=%ls:%llu:%llu", role,
             (unsigned long long)(uintptr_t)child, (unsigned long long)(uintptr_t)child);
    args = pp__win_saved_args_acquire(&n);
    /* Without a saved argv0 (or a strange one) the image path does. */
    argv0 = n > 0 && wcschr(args[0], L'"') == NULL ? args[0] : self;
    line = pp__win_build_cmdline(argv0, marker, n > 1 ? args + 1 : NULL, n > 1 ? n - 1 : 0, st);
    pp__win_saved_args_release();
    return line;
}

/* Without a console (GUI parent, service) a console child would open a
 * new console window; with one, it shares ours so prints interleave. */
static DWORD pp__win_console_flags(void)
{
    return GetConsoleCP() == 0 ? CREATE_NO_WINDOW : 0;
}

static pp_status pp__win_create_suspended(wchar_t *self, wchar_t *line, pp__win_inherit *inh,
                                          PROCESS_INFORMATION *pi)
{
    const DWORD flags = EXTENDED_STARTUPINFO_PRESENT | CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP |
                        pp__win_console_flags();
    LPPROC_THREAD_ATTRIBUTE_LIST al;
    STARTUPINFOEXW si;
    pp_status st;
    BOOL ok;

    al = pp__win_attr_list(inh, &st);
    if (al == NULL)
        return st;
    ZeroMemory(&si, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = inh->std[0];
    si.StartupInfo.hStdOutput = inh->std[1];
    si.StartupInfo.hStdError = inh->std[2];
    si.lpAttributeList = al;
    ok = CreateProcessW(self, line, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, pi);
    if (!ok)
        pp__plat_set_os_error((long)GetLastError()); /* reported as PP_ESPAWN */
    DeleteProcThreadAttributeList(al);
    free(al);
    return ok ? PP_OK : PP_ESPAWN;
}

/* Into the job, then run. A failed assignment (e.g. nested jobs before
 * Windows 8) is recorded and tolerated; see pp__plat_launcher_create. */
static pp_status pp__win_start_in_job(pp__plat_launcher *l, PROCESS_INFORMATION *pi)
{
    if (l->job != NULL && !AssignProcessToJobObject(l->job, pi->hProcess))
        l->job_error = GetLastError();
    if (ResumeThread(pi->hThread) == (DWORD)-1) {
        pp_status st = pp__win_fail_last();
        TerminateProcess(pi->hProcess, PP__WIN_KILL_EXIT_CODE);
        WaitForSingleObject(pi->hProcess, INFINITE);
        return st == PP_OK ? PP_ESPAWN : st;
    }
    return PP_OK;
}

/* Create the process with child (our channel's other end) as its only
 * non-std handle. */
static pp_status pp__win_spawn(pp__plat_launcher *l, HANDLE child, PROCESS_INFORMATION *pi)
{
    pp__win_inherit inh;
    wchar_t *self, *line = NULL;
    pp_status st;

    self = pp__win_self_path(&st);
    if (self != NULL)
        line = pp__win_worker_cmdline(self, l->role, child, &st);
    if (line == NULL) {
        free(self);
        return st;
    }
    ZeroMemory(&inh, sizeof inh);
    pp__win_pass_null_stdin(&inh);
    pp__win_pass_std(&inh, 1, STD_OUTPUT_HANDLE);
    pp__win_pass_std(&inh, 2, STD_ERROR_HANDLE);
    inh.list[inh.nlist++] = child;
    /* Inheritable only for this call; the handle list keeps any other
     * concurrent CreateProcessW of ours from picking it up. */
    if (!SetHandleInformation(child, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) {
        st = pp__win_fail_last();
    } else {
        st = pp__win_create_suspended(self, line, &inh, pi);
        SetHandleInformation(child, HANDLE_FLAG_INHERIT, 0);
    }
    pp__win_inherit_release(&inh);
    free(line);
    free(self);
    if (st != PP_OK)
        return st;
    st = pp__win_start_in_job(l, pi);
    CloseHandle(pi->hThread);
    if (st != PP_OK)
        CloseHandle(pi->hProcess);
    return st;
}

pp_status pp__plat_launcher_start(pp__plat_launcher *l, pp__plat_proc **proc, pp__plat_chan **chan)
{
    PROCESS_INFORMATION pi;
    pp__plat_chan *mine = NULL;
    pp__plat_proc *p;
    HANDLE child = NULL;
    pp_status st;

    if (l == NULL || proc == NULL || chan == NULL)
        return PP_EINVAL;
    ZeroMemory(&pi, sizeof pi);
    p = (pp__plat_proc *)calloc(1, sizeof *p);
    if (p == NULL)
        return PP_ENOMEM;
    st = pp__win_chan_pair(&mine, &child);
    if (st == PP_OK)
        st = pp__win_spawn(l, child, &pi);
    /* The worker has its copy now; ours must go or we would never see
     * EOF when the worker dies. */
    if (child != NULL)
        CloseHandle(child);
    /* EOF is not enough: another process may hold a copy of the worker's
     * end (see win_chan.c); the channel watches the process itself too. */
    if (st == PP_OK) {
        st = pp__win_chan_watch(mine, pi.hProcess);
        if (st != PP_OK) {
            TerminateProcess(pi.hProcess, PP__WIN_KILL_EXIT_CODE);
            WaitForSingleObject(pi.hProcess, INFINITE);
            CloseHandle(pi.hProcess);
        }
    }
    if (st != PP_OK) {
        pp__plat_chan_close(mine);
        free(p);
        return st;
    }
    p->h = pi.hProcess;
    p->pid = pi.dwProcessId;
    *proc = p;
    *chan = mine;
    return PP_OK;
}

/* ------------------------------------------------------------ process */

/* Names of the exception codes a crashed process commonly ends with. */
static const char *pp__win_exception_name(DWORD code)
{
    switch (code) {
    case 0xC0000005u:
        return "access violation";
    case 0xC000001Du:
        return "illegal instruction";
    case 0xC0000094u:
        return "integer division by zero";
    case 0xC0000095u:
        return "integer overflow";
    case 0xC00000FDu:
        return "stack overflow";
    case 0xC0000409u:
        return "stack buffer overrun or fail-fast (abort)";
    case 0xC0000374u:
        return "heap corruption";
    case 0xC000008Eu:
        return "floating-point division by zero";
    default:
        return "exception";
    }
}

/* Exit code -> exit info. Codes with the NTSTATUS error severity (top
 * bits 11) are exceptions the process did not handle: crashes. */
static void pp__win_describe_exit(DWORD code, pp__exit_info *info)
{
    info->exited = 1;
    info->code = (int)code; /* NTSTATUS crash codes become negative */
    if ((code & 0xC0000000u) == 0xC0000000u) {
        info->crashed = 1;
        snprintf(info->what, sizeof info->what, "exception 0x%08lX (%s)", (unsigned long)code,
                 pp__win_exception_name(code));
    } else if (code == PP__WIN_KILL_EXIT_CODE) {
        snprintf(info->what, sizeof info->what, "killed by the pool (exit code 0x%X)",
                 (unsigned)code);
    } else {
        snprintf(info->what, sizeof info->what, "exit code %lu", (unsigned long)code);
    }
}

pp_status pp__plat_proc_wait(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info)
{
    DWORD r, code = 0;

    if (p == NULL || info == NULL || timeout_ms < -1)
        return PP_EINVAL;
    if (!p->done) {
        r = pp__win_wait(p->h, timeout_ms);
        if (r == WAIT_TIMEOUT)
            return PP_ETIMEDOUT;
        if (r != WAIT_OBJECT_0)
            return pp__win_fail_last();
        /* Only after the process is signalled: before, STILL_ACTIVE (259)
         * would be indistinguishable from exit(259). */
        if (!GetExitCodeProcess(p->h, &code))
            return pp__win_fail_last();
        ZeroMemory(&p->info, sizeof p->info);
        pp__win_describe_exit(code, &p->info);
        p->done = 1;
    }
    *info = p->info;
    return PP_OK;
}

pp_status pp__plat_proc_kill(pp__plat_proc *p)
{
    DWORD err;

    if (p == NULL)
        return PP_EINVAL;
    if (p->done || TerminateProcess(p->h, PP__WIN_KILL_EXIT_CODE))
        return PP_OK;
    err = GetLastError();
    /* Terminating a process that already ended fails (ACCESS_DENIED). */
    if (WaitForSingleObject(p->h, 0) == WAIT_OBJECT_0)
        return PP_OK;
    return pp__plat_fail((long)err);
}

uint64_t pp__plat_proc_pid(const pp__plat_proc *p)
{
    return p == NULL ? 0 : (uint64_t)p->pid;
}

void pp__plat_proc_release(pp__plat_proc *p)
{
    if (p == NULL)
        return;
    if (!p->done && WaitForSingleObject(p->h, 0) != WAIT_OBJECT_0) {
        TerminateProcess(p->h, PP__WIN_KILL_EXIT_CODE);
        /* Termination is asynchronous; the contract says "reaped". */
        WaitForSingleObject(p->h, INFINITE);
    }
    CloseHandle(p->h);
    free(p);
}
