/*
 * win_server.c — what a server program needs of the OS beyond sockets
 * (APR does those): no Unix socket paths for the core (the manager uses
 * TCP loopback on Windows, see manager.h), whether a process id is still
 * in use, a key file, and Ctrl-C / Ctrl-Break / console close as stop
 * requests.
 */
#include <winsock2.h>

#include "win_internal.h"

#include <string.h>

/* AF_UNIX exists on Windows 10 1803 and later, but APR 1.7 does not
 * offer it there (APR_HAVE_SOCKADDR_UN is 0) and a socket file's access
 * is decided by ACLs, not by a private 0700 directory: the manager uses
 * TCP loopback on Windows. */
size_t pp__plat_unix_path_max(void)
{
    return 0;
}

int pp__plat_pid_alive(uint64_t pid)
{
    HANDLE h;
    DWORD r;

    if (pid == 0 || pid > 0xffffffffu)
        return 0;
    h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (h == NULL)
        return GetLastError() == ERROR_ACCESS_DENIED; /* someone else's: alive */
    r = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return r == WAIT_TIMEOUT;
}

/* Windows: the file's ACL decides who may read it; it is not checked
 * here (documented in the procpool-manager help). */
pp_status pp__plat_read_private_file(const char *path, void *buf, size_t cap, size_t *len)
{
    wchar_t wpath[1024];
    pp_status st = PP_OK;
    size_t got = 0;
    HANDLE h;

    *len = 0;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wpath, 1024) == 0)
        return PP_EINVAL;
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return pp__win_fail_last();
    for (;;) {
        DWORD n = 0, want = (DWORD)(cap - got > 65536 ? 65536 : cap - got);
        char extra;
        if (want == 0) {
            if (ReadFile(h, &extra, 1, &n, NULL) && n != 0)
                st = PP_ETOOBIG;
            break;
        }
        if (!ReadFile(h, (char *)buf + got, want, &n, NULL)) {
            st = pp__win_fail_last();
            break;
        }
        if (n == 0)
            break;
        got += n;
    }
    CloseHandle(h);
    if (st == PP_OK)
        *len = got;
    return st;
}

/* ------------------------------------------------------- stop requests */

static HANDLE g_stop_event;
static volatile LONG g_stop_kind = -1;

static BOOL WINAPI stop_handler(DWORD kind)
{
    InterlockedCompareExchange(&g_stop_kind, (LONG)kind, -1);
    SetEvent(g_stop_event);
    if (kind == CTRL_CLOSE_EVENT || kind == CTRL_LOGOFF_EVENT || kind == CTRL_SHUTDOWN_EVENT)
        Sleep(5000); /* the process ends when this returns: let the server stop first */
    return TRUE;
}

pp_status pp__plat_stop_signals_catch(void)
{
    if (g_stop_event != NULL)
        return PP_OK;
    g_stop_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (g_stop_event == NULL)
        return pp__win_fail_last();
    if (!SetConsoleCtrlHandler(stop_handler, TRUE))
        return pp__win_fail_last();
    return PP_OK;
}

const char *pp__plat_stop_signal_wait(int64_t timeout_ms)
{
    DWORD ms = timeout_ms < 0 ? INFINITE : (timeout_ms > 1000000 ? 1000000 : (DWORD)timeout_ms);

    if (g_stop_event == NULL || WaitForSingleObject(g_stop_event, ms) != WAIT_OBJECT_0)
        return NULL;
    switch (g_stop_kind) {
    case CTRL_C_EVENT:
        return "Ctrl-C";
    case CTRL_BREAK_EVENT:
        return "Ctrl-Break";
    case CTRL_CLOSE_EVENT:
        return "console closed";
    default:
        return "logoff or shutdown";
    }
}

/* ---------------------------------------------------------- socket I/O */

/* Wait until sock is readable (write 0) or writable (write 1) or the
 * deadline: 1 ready, 0 timed out, -1 error. */
static int wait_sock(SOCKET s, int write, int64_t deadline_ms)
{
    for (;;) {
        WSAPOLLFD pf;
        int64_t left = deadline_ms == PP_INFINITE ? 3600000 : deadline_ms - pp__plat_now_ms();
        int r;

        if (left < 0)
            left = 0;
        pf.fd = s;
        pf.events = write ? POLLWRNORM : POLLRDNORM;
        pf.revents = 0;
        r = WSAPoll(&pf, 1, (INT)(left > 3600000 ? 3600000 : left));
        if (r > 0)
            return 1;
        if (r == 0 && left == 0)
            return 0;
        if (r < 0)
            return -1;
    }
}

pp_status pp__plat_sock_send(intptr_t sock, const void *p, size_t n, int64_t deadline_ms)
{
    const char *b = p;

    while (n > 0) {
        int want = n > 65536 ? 65536 : (int)n;
        int r = send((SOCKET)sock, b, want, 0);
        if (r > 0) {
            b += r;
            n -= (size_t)r;
            continue;
        }
        if (r == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK) {
            int w = wait_sock((SOCKET)sock, 1, deadline_ms);
            if (w > 0)
                continue;
            return w == 0 ? PP_ETIMEDOUT : PP_ECONNLOST;
        }
        return PP_ECONNLOST;
    }
    return PP_OK;
}

pp_status pp__plat_sock_recv(intptr_t sock, void *p, size_t cap, size_t *got, int64_t deadline_ms)
{
    *got = 0;
    for (;;) {
        int r, w = wait_sock((SOCKET)sock, 0, deadline_ms);

        if (w == 0)
            return PP_ETIMEDOUT;
        if (w < 0)
            return PP_ECONNLOST;
        r = recv((SOCKET)sock, p, cap > 65536 ? 65536 : (int)cap, 0);
        if (r > 0) {
            *got = (size_t)r;
            return PP_OK;
        }
        if (r == 0)
            return PP_ECONNLOST;
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            return PP_ECONNLOST;
    }
}

pp_status pp__plat_sock_set_recv_timeout(intptr_t sock, int64_t ms)
{
    DWORD t = (DWORD)ms;
    u_long nonblocking = 0;

    if (setsockopt((SOCKET)sock, SOL_SOCKET, SO_RCVTIMEO, (const char *)&t, sizeof t) != 0 ||
        ioctlsocket((SOCKET)sock, FIONBIO, &nonblocking) != 0)
        return PP_ESYS;
    return PP_OK;
}

pp_status pp__plat_sock_recv_blocking(intptr_t sock, void *p, size_t cap, size_t *got)
{
    int r = recv((SOCKET)sock, p, cap > 65536 ? 65536 : (int)cap, 0);

    *got = 0;
    if (r > 0) {
        *got = (size_t)r;
        return PP_OK;
    }
    if (r == SOCKET_ERROR && WSAGetLastError() == WSAETIMEDOUT)
        return PP_ETIMEDOUT;
    return PP_ECONNLOST;
}
