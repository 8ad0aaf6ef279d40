/*
 * posix_fd.c — file descriptor helpers: close-on-exec creation, and
 * message send/receive with descriptor passing (SCM_RIGHTS).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix_internal.h"

void pp__posix_close(int fd)
{
    int saved = errno;
    if (fd >= 0)
        (void)close(fd); /* no retry on EINTR: the fd is gone on Linux */
    errno = saved;
}

int pp__posix_set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0)
        return -1;
    if (fl & FD_CLOEXEC)
        return 0;
    return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* No MSG_NOSIGNAL (macOS): ask the socket itself not to raise SIGPIPE. */
static int pp__posix_nosigpipe(int fd)
{
#if !defined(PP_HAVE_MSG_NOSIGNAL) && defined(PP_HAVE_SO_NOSIGPIPE)
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
    (void)fd;
    return 0;
#endif
}

int pp__posix_socketpair(int fds[2])
{
#ifdef PP_HAVE_SOCK_CLOEXEC
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        return -1;
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        return -1;
    if (pp__posix_set_cloexec(fds[0]) < 0 || pp__posix_set_cloexec(fds[1]) < 0)
        goto fail;
#endif
    if (pp__posix_nosigpipe(fds[0]) < 0 || pp__posix_nosigpipe(fds[1]) < 0)
        goto fail;
    return 0;
fail:
    pp__posix_close(fds[0]);
    pp__posix_close(fds[1]);
    return -1;
}

int pp__posix_pipe(int fds[2])
{
#ifdef PP_HAVE_PIPE2
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) < 0)
        return -1;
    if (pp__posix_set_cloexec(fds[0]) < 0 || pp__posix_set_cloexec(fds[1]) < 0) {
        pp__posix_close(fds[0]);
        pp__posix_close(fds[1]);
        return -1;
    }
    return 0;
#endif
}

/* Room for one passed descriptor, aligned as cmsg requires. */
typedef union pp__posix_cmsg_buf {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
} pp__posix_cmsg_buf;

int pp__posix_send_msg(int sock, const void *buf, size_t len, int pass_fd)
{
    const char *p = buf;
    pp__posix_cmsg_buf cb;

    while (len > 0) {
        struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
        struct msghdr mh;
        ssize_t n;

        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (pass_fd >= 0) {
            struct cmsghdr *cm;
            memset(&cb, 0, sizeof cb);
            mh.msg_control = cb.buf;
            mh.msg_controllen = sizeof cb.buf;
            cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
        }
        n = sendmsg(sock, &mh, PP_POSIX_SEND_FLAGS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        pass_fd = -1; /* the descriptor travelled with the first byte */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Take every descriptor out of the control data: keep the first in *keep
 * (if it is still free), close the rest so nothing leaks. */
static void pp__posix_take_fds(struct msghdr *mh, int *keep)
{
    struct cmsghdr *cm;
    for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
        size_t i, n;
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
#ifndef PP_HAVE_MSG_CMSG_CLOEXEC
            (void)pp__posix_set_cloexec(fd);
#endif
            if (keep != NULL && *keep < 0)
                *keep = fd;
            else
                pp__posix_close(fd);
        }
    }
}

int pp__posix_recv_msg(int sock, void *buf, size_t len, int *got_fd)
{
    char *p = buf;
    int fd = -1;
    int flags = 0;
    pp__posix_cmsg_buf cb;

#ifdef PP_HAVE_MSG_CMSG_CLOEXEC
    flags |= MSG_CMSG_CLOEXEC;
#endif
    while (len > 0) {
        struct iovec iov = {.iov_base = p, .iov_len = len};
        struct msghdr mh;
        ssize_t n;

        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cb.buf;
        mh.msg_controllen = sizeof cb.buf;
        n = recvmsg(sock, &mh, flags);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pp__posix_close(fd);
            return -1;
        }
        pp__posix_take_fds(&mh, got_fd != NULL ? &fd : NULL);
        if (n == 0) {
            pp__posix_close(fd);
            return 0;
        }
        p += n;
        len -= (size_t)n;
    }
    if (got_fd != NULL)
        *got_fd = fd;
    return 1;
}
