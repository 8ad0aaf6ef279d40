/*
 * win_chan.c — duplex byte channel between the parent and one worker.
 *
 * One named pipe instance, opened OVERLAPPED at both ends:
 *  - duplex on one handle without the synchronous-I/O trap: a synchronous
 *    handle serialises I/O on its file object, so a ReadFile blocked in
 *    one thread would block a WriteFile from another (anonymous pipes from
 *    CreatePipe are always synchronous);
 *  - shutdown is race-free: every wait also waits on a manual-reset
 *    "shutdown" event, so a reader that has not yet entered ReadFile when
 *    shutdown happens still returns at once. CancelSynchronousIo cannot
 *    close that window; the waiting thread cancels its own request with
 *    CancelIoEx(handle, &its_overlapped).
 *  - a channel to a worker also waits on the worker's process handle
 *    (pp__win_chan_watch): once the worker has exited and its last bytes
 *    are read, a read or write returns PP_ECONNLOST even if a copy of the
 *    worker's pipe end lives on in another process (a process the task
 *    started and let inherit it; wine, which does not honour
 *    PROC_THREAD_ATTRIBUTE_HANDLE_LIST). EOF alone would hang then.
 * The pipe name is unique and unguessable (pid, sequence, 64 random bits),
 * the instance count is 1 (FILE_FLAG_FIRST_PIPE_INSTANCE) and remote
 * clients are rejected; the client end is opened by the parent itself
 * right after creation, so no other process can connect in between.
 */
#include "win_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Kernel buffer per direction; the pool's frames are much smaller. */
#define PP__WIN_PIPE_BUF (64 * 1024)
/* Largest single ReadFile/WriteFile request. */
#define PP__WIN_IO_MAX 0x40000000u

struct pp__plat_chan {
    HANDLE rd;          /* read handle (may equal wr) */
    HANDLE wr;          /* write handle */
    HANDLE ev_read;     /* completion event of the (single) reader */
    HANDLE ev_write;    /* completion event of the (single) writer */
    HANDLE ev_shut;     /* manual-reset, set by pp__plat_chan_shutdown */
    HANDLE peer;        /* the peer's process (our own handle), or NULL */
    volatile LONG shut; /* 1 after shutdown: fail fast without I/O */
};

static volatile LONG pp__win_pipe_seq;

static void pp__win_chan_free(pp__plat_chan *c)
{
    if (c->ev_read != NULL)
        CloseHandle(c->ev_read);
    if (c->ev_write != NULL)
        CloseHandle(c->ev_write);
    if (c->ev_shut != NULL)
        CloseHandle(c->ev_shut);
    if (c->peer != NULL)
        CloseHandle(c->peer);
    free(c);
}

pp_status pp__win_chan_adopt(HANDLE rd, HANDLE wr, pp__plat_chan **out)
{
    pp__plat_chan *c = (pp__plat_chan *)calloc(1, sizeof *c);

    if (c == NULL)
        return PP_ENOMEM;
    c->ev_read = CreateEventW(NULL, TRUE, FALSE, NULL);
    c->ev_write = CreateEventW(NULL, TRUE, FALSE, NULL);
    c->ev_shut = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (c->ev_read == NULL || c->ev_write == NULL || c->ev_shut == NULL) {
        pp_status st = pp__win_fail_last();
        pp__win_chan_free(c);
        return st;
    }
    c->rd = rd;
    c->wr = wr;
    *out = c;
    return PP_OK;
}

static pp_status pp__win_pipe_name(wchar_t *out, size_t cap)
{
    unsigned char rnd[8];
    unsigned long long r = 0;
    pp_status st = pp__plat_random(rnd, sizeof rnd);
    size_t i;

    if (st != PP_OK)
        return st;
    for (i = 0; i < sizeof rnd; i++)
        r = (r << 8) | rnd[i];
    swprintf(out, cap, L"\\\\.\\pipe\\procpool-%lu-%ld-%016llx",
             (unsigned long)GetCurrentProcessId(), InterlockedIncrement(&pp__win_pipe_seq), r);
    out[cap - 1] = L'\0';
    return PP_OK;
}

pp_status pp__win_chan_pair(pp__plat_chan **parent, HANDLE *child)
{
    const DWORD mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    wchar_t name[96];
    HANDLE server, client;
    pp_status st = pp__win_pipe_name(name, sizeof name / sizeof name[0]);

    if (st != PP_OK)
        return st;
    /* NULL security attributes: neither end is inheritable. */
    server = CreateNamedPipeW(
        name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE, mode, 1,
        PP__WIN_PIPE_BUF, PP__WIN_PIPE_BUF, 0, NULL);
    if (server == INVALID_HANDLE_VALUE)
        return pp__win_fail_last();
    client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED, NULL);
    if (client == INVALID_HANDLE_VALUE) {
        st = pp__win_fail_last();
        CloseHandle(server);
        return st;
    }
    st = pp__win_chan_adopt(server, server, parent);
    if (st != PP_OK) {
        CloseHandle(client);
        CloseHandle(server);
        return st;
    }
    *child = client;
    return PP_OK;
}

pp_status pp__win_chan_watch(pp__plat_chan *c, HANDLE process)
{
    HANDLE self = GetCurrentProcess();

    if (c->peer != NULL)
        return PP_EINVAL;
    /* Our own copy: the channel may outlive the caller's process handle. */
    if (!DuplicateHandle(self, process, self, &c->peer, SYNCHRONIZE, FALSE, 0))
        return pp__win_fail_last();
    return PP_OK;
}

/* Cancel request ov and wait until the kernel is done with it. A request
 * that completed before the cancel took effect keeps its result. */
static pp_status pp__win_chan_cancel(HANDLE h, OVERLAPPED *ov, DWORD *done, pp_status st)
{
    CancelIoEx(h, ov);
    if (GetOverlappedResult(h, ov, done, TRUE) && *done > 0)
        return PP_OK;
    *done = 0;
    return st;
}

/* The peer process has exited while our request on h was pending. A read
 * still gets what the peer wrote before it died (it is in the pipe and the
 * request completes); only with nothing left does the channel count as
 * lost. */
static pp_status pp__win_chan_peer_gone(pp__plat_chan *c, HANDLE h, OVERLAPPED *ov, DWORD *done)
{
    HANDLE evs[2];
    DWORD avail = 0, r;

    if (h == c->rd && PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail > 0) {
        evs[0] = ov->hEvent;
        evs[1] = c->ev_shut;
        r = WaitForMultipleObjects(2, evs, FALSE, INFINITE);
        if (r == WAIT_OBJECT_0 && GetOverlappedResult(h, ov, done, FALSE))
            return PP_OK;
    }
    pp__plat_set_os_error(ERROR_BROKEN_PIPE);
    return pp__win_chan_cancel(h, ov, done, PP_ECONNLOST);
}

/*
 * Finish an overlapped request the caller has issued (ok is ReadFile's or
 * WriteFile's result, GetLastError() still its error): wait for it or for
 * shutdown, whichever comes first. On shutdown the request is cancelled
 * and waited for, so `ov` and the buffer are no longer used by the kernel
 * when we return.
 */
static pp_status pp__win_chan_finish(pp__plat_chan *c, HANDLE h, OVERLAPPED *ov, BOOL ok,
                                     DWORD *done)
{
    HANDLE evs[3];
    DWORD r, n = 2;

    if (ok) {
        /* Completed at once (data was waiting): no wait needed. */
        if (!GetOverlappedResult(h, ov, done, FALSE))
            return pp__win_fail_last();
        return PP_OK;
    }
    if (GetLastError() != ERROR_IO_PENDING)
        return pp__win_fail_last();
    evs[0] = ov->hEvent;
    evs[1] = c->ev_shut;
    if (c->peer != NULL)
        evs[n++] = c->peer;
    r = WaitForMultipleObjects(n, evs, FALSE, INFINITE);
    if (r == WAIT_OBJECT_0 + 2)
        return pp__win_chan_peer_gone(c, h, ov, done);
    if (r == WAIT_OBJECT_0 + 1) {
        CancelIoEx(h, ov);
        /* Wait for the cancellation (or a completion that won the race):
         * the kernel must be done with ov and the buffer. */
        GetOverlappedResult(h, ov, done, TRUE);
        pp__plat_set_os_error(ERROR_OPERATION_ABORTED);
        return PP_ECONNLOST;
    }
    if (r != WAIT_OBJECT_0) {
        pp_status st = pp__win_fail_last();
        CancelIoEx(h, ov);
        GetOverlappedResult(h, ov, done, TRUE);
        return st;
    }
    if (!GetOverlappedResult(h, ov, done, FALSE))
        return pp__win_fail_last();
    return PP_OK;
}

/* Every pipe failure (broken, disconnected, cancelled) means "peer gone"
 * to the caller; only genuinely other errors keep their own mapping. */
static pp_status pp__win_chan_lost(pp_status st)
{
    return st == PP_EINVAL || st == PP_ENOMEM || st == PP_EACCES ? st : PP_ECONNLOST;
}

pp_status pp__plat_chan_peek(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    /* Not needed here: a sync call's own look at the channel is a fast
     * path (pool/submit.c); without it the reader thread answers. */
    (void)c;
    (void)buf;
    (void)cap;
    *got = 0;
    return PP_ENOTSUP;
}

pp_status pp__plat_chan_try_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    /* Not here: the worker's wait for its next task is a blocking read
     * (wire/frame.c turns its spin off at the first PP_ENOTSUP). */
    (void)c;
    (void)buf;
    (void)cap;
    *got = 0;
    return PP_ENOTSUP;
}

pp_status pp__plat_chan_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    OVERLAPPED ov;
    DWORD want, n = 0;
    pp_status st;
    BOOL ok;

    if (got != NULL)
        *got = 0;
    if (c == NULL || buf == NULL || got == NULL || cap == 0)
        return PP_EINVAL;
    want = cap > PP__WIN_IO_MAX ? PP__WIN_IO_MAX : (DWORD)cap;
    for (;;) {
        if (c->shut)
            return PP_ECONNLOST;
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = c->ev_read;
        ok = ReadFile(c->rd, buf, want, NULL, &ov);
        st = pp__win_chan_finish(c, c->rd, &ov, ok, &n);
        if (st != PP_OK)
            return pp__win_chan_lost(st);
        /* A zero-byte completion is a zero-byte write by the peer, not
         * EOF (EOF is ERROR_BROKEN_PIPE): read again. */
        if (n > 0) {
            *got = n;
            return PP_OK;
        }
    }
}

pp_status pp__plat_chan_write(pp__plat_chan *c, const void *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    OVERLAPPED ov;
    DWORD chunk, n;
    pp_status st;
    BOOL ok;

    if (c == NULL || (buf == NULL && len > 0))
        return PP_EINVAL;
    while (len > 0) {
        if (c->shut)
            return PP_ECONNLOST;
        chunk = len > PP__WIN_IO_MAX ? PP__WIN_IO_MAX : (DWORD)len;
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = c->ev_write;
        n = 0;
        ok = WriteFile(c->wr, p, chunk, NULL, &ov);
        st = pp__win_chan_finish(c, c->wr, &ov, ok, &n);
        if (st != PP_OK)
            return pp__win_chan_lost(st);
        p += n;
        len -= n;
    }
    return PP_OK;
}

void pp__plat_chan_shutdown(pp__plat_chan *c)
{
    if (c == NULL)
        return;
    InterlockedExchange(&c->shut, 1);
    SetEvent(c->ev_shut);
}

void pp__plat_chan_close(pp__plat_chan *c)
{
    if (c == NULL)
        return;
    /* Closing our end is what the peer sees as EOF (ERROR_BROKEN_PIPE). */
    if (c->wr != c->rd && c->wr != NULL)
        CloseHandle(c->wr);
    if (c->rd != NULL)
        CloseHandle(c->rd);
    pp__win_chan_free(c);
}
