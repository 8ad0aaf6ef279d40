/*
 * posix_chan.c — channels: one end of an AF_UNIX stream socketpair.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix_internal.h"

struct pp__plat_chan {
    int fd;
};

pp_status pp__posix_chan_wrap(int fd, pp__plat_chan **out)
{
    pp__plat_chan *c = malloc(sizeof *c);
    if (c == NULL) {
        pp__posix_close(fd);
        return PP_ENOMEM;
    }
    c->fd = fd;
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

pp_status pp__plat_chan_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got)
{
    ssize_t n;
    *got = 0;
    if (cap == 0)
        return PP_EINVAL; /* a zero-byte read cannot tell data from EOF */
    do {
        n = recv(c->fd, buf, cap, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return pp__posix_chan_fail(errno);
    if (n == 0)
        return PP_ECONNLOST; /* EOF, or after pp__plat_chan_shutdown() */
    *got = (size_t)n;
    return PP_OK;
}

pp_status pp__plat_chan_write(pp__plat_chan *c, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, PP_POSIX_SEND_FLAGS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
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
