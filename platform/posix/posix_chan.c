/*
 * posix_chan.c — channels: one end of an AF_UNIX stream socketpair.
 *
 * The parent's channel to a worker also watches the worker process
 * (pp__posix_chan_watch): EOF alone is not a death notice, because a copy
 * of the worker's end lives on in any process the task forked. While the
 * socket is quiet, a read or write wakes every PP_POSIX_WATCH_MS to ask
 * whether the worker has exited (socket timeouts); once it has and nothing it wrote is left
 * to read, the channel counts as lost.
 */
#include <errno.h>
#include <sys/time.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix_internal.h"

#define PP_POSIX_WATCH_MS 200

struct pp__plat_chan {
    int fd;
    pp__plat_proc *peer; /* watched worker (borrowed), or NULL */
};

pp_status pp__posix_chan_wrap(int fd, pp__plat_chan **out)
{
    pp__plat_chan *c = malloc(sizeof *c);
    if (c == NULL) {
        pp__posix_close(fd);
        return PP_ENOMEM;
    }
    c->fd = fd;
    c->peer = NULL;
    *out = c;
    return PP_OK;
}

int pp__posix_chan_fd(const pp__plat_chan *c)
{
    return c->fd;
}

/* The peer being gone shows up as several errnos depending on timing
 * (reset while data was queued, write after close). All are "lost". */
static pp_status pp__posix_chan_fail(int e)
{
    if (e == EPIPE || e == ECONNRESET || e == ENOTCONN
#ifdef ESHUTDOWN
        || e == ESHUTDOWN
#endif
    ) {
        pp__plat_set_os_error(e);
        return PP_ECONNLOST;
    }
    return pp__plat_fail(e);
}

void pp__posix_chan_watch(pp__plat_chan *c, pp__plat_proc *peer)
{
    struct timeval tv;

    /* Blocking I/O that gives up every PP_POSIX_WATCH_MS (EAGAIN) instead
     * of a poll() before each call: one system call per message, as
     * without the watch. */
    tv.tv_sec = PP_POSIX_WATCH_MS / 1000;
    tv.tv_usec = (PP_POSIX_WATCH_MS % 1000) * 1000;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
        c->peer = peer;
    /* else: EOF stays the only death notice (as on any socket) */
}

static int pp__posix_again(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK;
}

pp_status pp__plat_chan_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    ssize_t n;
    int gone = 0;

    *got = 0;
    if (cap == 0)
        return PP_EINVAL; /* a zero-byte read cannot tell data from EOF */
    for (;;) {
        n = recv(c->fd, buf, cap, gone ? MSG_DONTWAIT : 0);
        if (n >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (c->peer == NULL || !pp__posix_again(errno))
            return pp__posix_chan_fail(errno);
        if (gone) {
            /* Exited, and everything it wrote has been read. */
            pp__plat_set_os_error(EPIPE);
            return PP_ECONNLOST;
        }
        gone = pp__posix_proc_exited(c->peer); /* then one last look */
    }
    if (n == 0)
        return PP_ECONNLOST; /* EOF, or after pp__plat_chan_shutdown() */
    *got = (size_t)n;
    return PP_OK;
}

pp_status pp__plat_chan_try_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    ssize_t n;

    *got = 0;
    if (cap == 0)
        return PP_EINVAL; /* a zero-byte read cannot tell data from EOF */
    do {
        n = recv(c->fd, buf, cap, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        *got = (size_t)n;
        return PP_OK;
    }
    if (n == 0)
        return PP_ECONNLOST; /* EOF, or after pp__plat_chan_shutdown() */
    return pp__posix_again(errno) ? PP_OK : pp__posix_chan_fail(errno);
}

pp_status pp__plat_chan_peek(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    ssize_t n;

    *got = 0;
    do {
        n = recv(c->fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        *got = (size_t)n; /* 0: EOF, or nothing to see (cap 0) */
        return PP_OK;
    }
    return pp__posix_again(errno) ? PP_OK : pp__posix_chan_fail(errno);
}

pp_status pp__plat_chan_write(pp__plat_chan *c, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(c->fd, p, len, PP_POSIX_SEND_FLAGS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (c->peer != NULL && pp__posix_again(errno)) {
                if (!pp__posix_proc_exited(c->peer))
                    continue;
                pp__plat_set_os_error(EPIPE);
                return PP_ECONNLOST; /* nobody will ever read it */
            }
            return pp__posix_chan_fail(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return PP_OK;
}

void pp__plat_chan_shutdown(pp__plat_chan *c)
{
    /* shutdown, not close: a reader blocked in recv() on this fd wakes up
     * with EOF, and the fd number cannot be reused under its feet. */
    if (c != NULL)
        (void)shutdown(c->fd, SHUT_RDWR);
}

void pp__plat_chan_close(pp__plat_chan *c)
{
    if (c == NULL)
        return;
    pp__posix_close(c->fd);
    free(c);
}
