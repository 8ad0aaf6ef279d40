/*
 * posix_server.c — what a server program needs of the OS beyond sockets
 * (APR does those): the limit of a Unix socket path, whether a process
 * id is still in use, a private key file, and SIGINT / SIGTERM as stop
 * requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "posix_internal.h"

size_t pp__plat_unix_path_max(void)
{
    struct sockaddr_un sun;

    return sizeof sun.sun_path - 1;
}

int pp__plat_pid_alive(uint64_t pid)
{
    if (pid == 0 || pid != (uint64_t)(pid_t)pid)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

pp_status pp__plat_read_private_file(const char *path, void *buf, size_t cap, size_t *len)
{
    struct stat sb;
    size_t got = 0;
    pp_status st = PP_OK;
    int fd;

    *len = 0;
    /* O_NONBLOCK: opening a FIFO would wait for a writer (it is refused
     * below as not a regular file); reads of a regular file ignore it */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return pp__plat_fail(errno);
    if (fstat(fd, &sb) < 0) {
        st = pp__plat_fail(errno);
    } else if (!S_ISREG(sb.st_mode)) {
        st = PP_EINVAL;
    } else if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0 || sb.st_uid != geteuid()) {
        st = PP_EACCES; /* others could read or replace the key */
    }
    while (st == PP_OK) {
        ssize_t n = read(fd, (char *)buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = pp__plat_fail(errno);
        } else if (n == 0) {
            break;
        } else {
            got += (size_t)n;
            if (got == cap) {
                char extra;
                while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
                    ;
                if (n != 0)
                    st = PP_ETOOBIG;
                break;
            }
        }
    }
    pp__posix_close(fd);
    if (st == PP_OK)
        *len = got;
    return st;
}

/* ------------------------------------------------------- stop requests */

/* The self-pipe: the handler writes the signal number, the waiter polls
 * the read end. */
static int g_stop_pipe[2] = {-1, -1};

static void stop_handler(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;

    (void)!write(g_stop_pipe[1], &b, 1);
    errno = e;
}

pp_status pp__plat_stop_signals_catch(void)
{
    struct sigaction sa;

    if (g_stop_pipe[0] >= 0)
        return PP_OK;
    if (pp__posix_pipe(g_stop_pipe) < 0)
        return pp__plat_fail(errno);
    (void)fcntl(g_stop_pipe[1], F_SETFL, O_NONBLOCK);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop_handler;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return pp__plat_fail(errno);
    return PP_OK;
}

const char *pp__plat_stop_signal_wait(int64_t timeout_ms)
{
    struct pollfd pf;
    unsigned char b = 0;
    int r;

    if (g_stop_pipe[0] < 0)
        return NULL;
    pf.fd = g_stop_pipe[0];
    pf.events = POLLIN;
    pf.revents = 0;
    r = poll(&pf, 1, timeout_ms < 0 ? -1 : (timeout_ms > 1000000 ? 1000000 : (int)timeout_ms));
    if (r <= 0 || read(g_stop_pipe[0], &b, 1) != 1)
        return NULL;
    return b == SIGINT ? "SIGINT" : "SIGTERM";
}

/* ---------------------------------------------------------- socket I/O */

/* Milliseconds to the deadline for poll(): -1 none, 0 passed. */
static int poll_ms(int64_t deadline_ms)
{
    int64_t left;

    if (deadline_ms == PP_INFINITE)
        return -1;
    left = deadline_ms - pp__plat_now_ms();
    return left <= 0 ? 0 : (left > 3600000 ? 3600000 : (int)left);
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out,
 * -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd pf;
        int ms = poll_ms(deadline_ms), r;

        pf.fd = fd;
        pf.events = events;
        pf.revents = 0;
        r = poll(&pf, 1, ms);
        if (r > 0)
            return 1;
        if (r == 0 && ms == 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

pp_status pp__plat_sock_send(intptr_t sock, const void *p, size_t n, int64_t deadline_ms)
{
    const char *b = p;
    pp_status st = PP_OK;
#ifndef MSG_NOSIGNAL
    int sig = pp__plat_sigpipe_suspend(); /* macOS: no MSG_NOSIGNAL */
#endif

    while (n > 0) {
        ssize_t r = send((int)sock, b, n, PP_POSIX_SEND_FLAGS | MSG_DONTWAIT);
        if (r > 0) {
            b += r;
            n -= (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd((int)sock, POLLOUT, deadline_ms);
            if (w > 0)
                continue;
            st = w == 0 ? PP_ETIMEDOUT : PP_ECONNLOST;
            break;
        }
        st = PP_ECONNLOST;
        break;
    }
#ifndef MSG_NOSIGNAL
    pp__plat_sigpipe_resume(sig);
#endif
    return st;
}

pp_status pp__plat_sock_recv(intptr_t sock, void *p, size_t cap, size_t *got, int64_t deadline_ms)
{
    *got = 0;
    /* No deadline, a blocking socket (an accepted one on Linux): one
     * blocking recv, no poll before it. A non-blocking socket says
     * EAGAIN and takes the poll path. */
    while (deadline_ms == PP_INFINITE) {
        ssize_t r = recv((int)sock, p, cap, 0);
        if (r > 0) {
            *got = (size_t)r;
            return PP_OK;
        }
        if (r == 0)
            return PP_ECONNLOST; /* EOF */
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        if (errno != EINTR)
            return PP_ECONNLOST;
    }
    for (;;) {
        ssize_t r;
        int w = wait_fd((int)sock, POLLIN, deadline_ms);

        if (w == 0)
            return PP_ETIMEDOUT;
        if (w < 0)
            return PP_ECONNLOST;
        r = recv((int)sock, p, cap, MSG_DONTWAIT);
        if (r > 0) {
            *got = (size_t)r;
            return PP_OK;
        }
        if (r == 0)
            return PP_ECONNLOST; /* EOF */
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return PP_ECONNLOST;
    }
}

pp_status pp__plat_sock_set_recv_timeout(intptr_t sock, int64_t ms)
{
    struct timeval tv;
    int fl = fcntl((int)sock, F_GETFL);

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    if (fl < 0 || setsockopt((int)sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        fcntl((int)sock, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return pp__plat_fail(errno);
    return PP_OK;
}

pp_status pp__plat_sock_recv_blocking(intptr_t sock, void *p, size_t cap, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t r = recv((int)sock, p, cap, 0);
        if (r > 0) {
            *got = (size_t)r;
            return PP_OK;
        }
        if (r == 0)
            return PP_ECONNLOST; /* EOF */
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return PP_ETIMEDOUT; /* SO_RCVTIMEO */
        if (errno != EINTR)
            return PP_ECONNLOST;
    }
}
