/*
 * posix_tracker.c — the resource tracker: removes the named segments
 * (locks, shm blocks, pool control blocks) of a process that died without
 * removing them itself.
 *
 * POSIX shm names live in the kernel until someone calls shm_unlink; a
 * creator killed by SIGKILL (or crashing) before its destroy call would
 * leave them in /dev/shm for good. So the first time a process creates a
 * segment, it starts a small helper process, the tracker (as Python's
 * multiprocessing.resource_tracker), and tells it about every name it
 * creates and removes. The tracker outlives its client: when it reads EOF
 * on their socket — every process that holds the client end has exited:
 * the creator, and the processes forked from it, which inherit the end
 * (a zygote keeps it on purpose, see posix_zygote.c) — it removes every
 * name still registered and exits.
 *
 * Starting it, in the client (pp__posix_tracker_created, under a mutex,
 * once per process; later calls only read an atomic state):
 *  - a socketpair, both ends close-on-exec; the tracker end goes to a
 *    fork+exec of the program's own image with "--pp-role=tracker:3:<pid>" and
 *    stdio on /dev/null (pp__posix_spawn_self): never a fork without exec
 *    of a client that may have threads;
 *  - the new image reaches pp_init(), whose role detection lands in
 *    pp__posix_tracker_run(): it forks once more and exits, after sending
 *    the pid of the real tracker to the client, which reaps it. The
 *    tracker is thus never a child of the client (a program's
 *    wait() loop cannot block on it, no zombie) and is reparented to init
 *    or the nearest subreaper.
 * Any failure (socketpair, exec, no pid within PP_POSIX_TRACKER_START_MS)
 * turns the tracker off for this process: creating names still works,
 * only the cleanup after a crash is lost, silently (nothing is printed).
 *
 * Protocol: fixed 32-byte records from client to tracker, each sent with
 * one send() (a stream socket's kernels queue such a small send whole,
 * so records of threads and forked processes sharing the end do not
 * interleave): byte 0 'C' (created) or 'R' (removed), then the name,
 * NUL-padded (names are at most PP_NAME_MAX = 30 chars). 'C' follows a
 * successful shm_open(O_EXCL); 'R' a shm_unlink by this process that
 * succeeded or found the name gone (either way it is not ours any more;
 * keeping it registered could remove a later object of that name).
 * A record that does not parse is ignored. If the tracker is gone, sends
 * fail with EPIPE (MSG_NOSIGNAL / SO_NOSIGPIPE: no SIGPIPE), and if it
 * has not read for PP_POSIX_TRK_SEND_MS (stopped, hung) with its socket
 * full, a send gives up (no create or remove of a name waits for it
 * forever); either way the tracker is off for this process from then on; it is not restarted (the
 * names it knew are untracked anyway).
 *
 * What cannot be covered: a client killed between its shm_open and the
 * 'C' record leaves that one name (a window of an ftruncate and an mmap);
 * a tracker killed with SIGKILL (e.g. with its whole process group)
 * removes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_SYS_CLOSE_RANGE
#include <sys/syscall.h>
#endif

/* One record: op, name, NUL padding (at least one NUL). */
#define PP_POSIX_TRK_REC 32
/* How long a record may wait for room in the tracker's socket: a tracker
 * that has not read for this long (stopped, hung) is given up. */
#define PP_POSIX_TRK_SEND_MS 2000

/* How long the client waits for the tracker to report its pid: the new
 * image runs the program's main() up to pp_init() first. Generous: a
 * loaded machine (sanitizer builds, parallel test suites) is slow, and
 * this is paid once per process. */
#define PP_POSIX_TRACKER_START_MS 30000

enum { PP_POSIX_TRK_NONE = 0, PP_POSIX_TRK_UP = 1, PP_POSIX_TRK_OFF = 2 };

/* g_state is PP_POSIX_TRK_NONE until the first create; g_fd, g_dev and
 * g_ino are written under g_mu before g_state becomes UP (release) and
 * never change afterwards in this process. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int g_state;
static int g_fd = -1;
static dev_t g_dev;
static ino_t g_ino;

/* ------------------------------------------------------------ client */

/* A fork while another thread was starting the tracker leaves g_mu
 * locked in the child: make it usable. The start was not published
 * (g_state is still NONE there), so the child may start its own. */
static void pp__posix_tracker_atfork_child(void)
{
    (void)pthread_mutex_init(&g_mu, NULL);
}

void pp__posix_tracker_init(void)
{
    static int registered;
    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(pp__posix_tracker_atfork_child);
    }
}

/* Wait for the pid the starting process sends. Returns 1 if it came. */
static int pp__posix_tracker_hello(int fd)
{
    int64_t deadline = pp__plat_now_ms() + PP_POSIX_TRACKER_START_MS, pid = 0;
    struct pollfd pf;

    for (;;) {
        int64_t left = deadline - pp__plat_now_ms();
        int r;
        if (left <= 0)
            return 0;
        pf.fd = fd;
        pf.events = POLLIN;
        pf.revents = 0;
        r = poll(&pf, 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR)
            return 0;
        if (r > 0)
            break;
    }
    return pp__posix_recv_msg(fd, &pid, sizeof pid, NULL) == 1 && pid > 0;
}

static void pp__posix_tracker_reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* Start the tracker; 0 on success (g_fd and its identity set). */
static int pp__posix_tracker_start(void)
{
    long saved_os = pp__plat_get_os_error(); /* a create that succeeds keeps it */
    struct stat sb;
    pid_t mid;
    int sv[2], ok;

    if (pp__posix_socketpair(sv) < 0)
        return -1;
    if (pp__posix_spawn_self("tracker", sv[1], PP_POSIX_SPAWN_NULL_STDIO, &mid) != PP_OK) {
        pp__posix_close(sv[0]);
        pp__posix_close(sv[1]);
        pp__plat_set_os_error(saved_os);
        return -1;
    }
    pp__posix_close(sv[1]);
    ok = pp__posix_tracker_hello(sv[0]);
    if (!ok)
        (void)kill(mid, SIGKILL); /* stuck before pp_init: give up on it */
    pp__posix_tracker_reap(mid);
    if (!ok || fstat(sv[0], &sb) < 0) {
        /* EOF for a tracker that did start: it exits, nothing registered */
        pp__posix_close(sv[0]);
        return -1;
    }
    g_fd = sv[0];
    g_dev = sb.st_dev;
    g_ino = sb.st_ino;
    return 0;
}

/* Is the tracker up for this process? Starts it on the first call. */
static int pp__posix_tracker_up(void)
{
    int s = atomic_load_explicit(&g_state, memory_order_acquire);

    if (s != PP_POSIX_TRK_NONE)
        return s == PP_POSIX_TRK_UP;
    pthread_mutex_lock(&g_mu);
    s = atomic_load_explicit(&g_state, memory_order_relaxed);
    if (s == PP_POSIX_TRK_NONE) {
        s = pp__posix_tracker_start() == 0 ? PP_POSIX_TRK_UP : PP_POSIX_TRK_OFF;
        atomic_store_explicit(&g_state, s, memory_order_release);
    }
    pthread_mutex_unlock(&g_mu);
    return s == PP_POSIX_TRK_UP;
}

void pp__posix_tracker_ensure(void)
{
    (void)pp__posix_tracker_up();
}

int pp__posix_tracker_fd(void)
{
    return atomic_load_explicit(&g_state, memory_order_acquire) == PP_POSIX_TRK_UP ? g_fd : -1;
}

/* Send one record within PP_POSIX_TRK_SEND_MS: 0, or -1 (the tracker is
 * gone, or has not read for that long: stopped, hung). Every create and
 * remove of a name sends one, and none of them may wait for a tracker
 * forever; one that does not read is given up as one that is gone. */
static int pp__posix_tracker_write(const char *rec)
{
    int64_t deadline = pp__plat_now_ms() + PP_POSIX_TRK_SEND_MS;
    size_t done = 0;

    while (done < PP_POSIX_TRK_REC) {
        ssize_t k =
            send(g_fd, rec + done, PP_POSIX_TRK_REC - done, PP_POSIX_SEND_FLAGS | MSG_DONTWAIT);
        struct pollfd pf;
        int64_t left;

        if (k >= 0) {
            done += (size_t)k;
            continue;
        }
        if (errno == EINTR)
            continue;
        left = deadline - pp__plat_now_ms();
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || left <= 0)
            return -1;
        pf.fd = g_fd;
        pf.events = POLLOUT;
        pf.revents = 0;
        (void)poll(&pf, 1, (int)left);
    }
    return 0;
}

static void pp__posix_tracker_send(char op, const char *name)
{
    char rec[PP_POSIX_TRK_REC];
    size_t n = strlen(name);
    struct stat sb;
    int e = errno;

    if (atomic_load_explicit(&g_state, memory_order_acquire) != PP_POSIX_TRK_UP || n > PP_NAME_MAX)
        return;
    /* Still our socket? Code in a forked child may have closed every
     * descriptor and reused the number: never write into someone else's. */
    if (fstat(g_fd, &sb) < 0 || sb.st_dev != g_dev || sb.st_ino != g_ino) {
        atomic_store_explicit(&g_state, PP_POSIX_TRK_OFF, memory_order_release);
        errno = e;
        return;
    }
    memset(rec, 0, sizeof rec);
    rec[0] = op;
    memcpy(rec + 1, name, n);
    if (pp__posix_tracker_write(rec) < 0)
        atomic_store_explicit(&g_state, PP_POSIX_TRK_OFF, memory_order_release);
    errno = e;
}

void pp__posix_tracker_created(const char *name)
{
    pp__posix_tracker_send('C', name);
}

void pp__posix_tracker_removed(const char *name)
{
    pp__posix_tracker_send('R', name);
}

/* ----------------------------------------------------------- tracker */

/* The names registered: open addressing, linear probing, tombstones. */
typedef struct pp__posix_trk_slot {
    char name[PP_NAME_MAX + 1];
    unsigned char used; /* 0 empty, 1 name, 2 removed (tombstone) */
} pp__posix_trk_slot;

typedef struct pp__posix_trk_set {
    pp__posix_trk_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t fill; /* names + tombstones */
} pp__posix_trk_set;

static size_t pp__posix_trk_hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    while (*s != '\0')
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* The slot of name, or (absent) of the first free slot for it. */
static pp__posix_trk_slot *pp__posix_trk_find(pp__posix_trk_set *t, const char *name)
{
    size_t i = pp__posix_trk_hash(name) & (t->cap - 1);
    pp__posix_trk_slot *free_slot = NULL;

    for (;;) {
        pp__posix_trk_slot *s = &t->slots[i];
        if (s->used == 0)
            return free_slot != NULL ? free_slot : s;
        if (s->used == 2) {
            if (free_slot == NULL)
                free_slot = s;
        } else if (strcmp(s->name, name) == 0) {
            return s;
        }
        i = (i + 1) & (t->cap - 1);
    }
}

/* Rebuild with room for twice the names (drops tombstones). */
static int pp__posix_trk_grow(pp__posix_trk_set *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64, i;
    pp__posix_trk_set n = {calloc(cap, sizeof(pp__posix_trk_slot)), cap, 0};

    if (n.slots == NULL)
        return -1;
    for (i = 0; i < t->cap; i++) {
        if (t->slots[i].used == 1) {
            *pp__posix_trk_find(&n, t->slots[i].name) = t->slots[i];
            n.fill++;
        }
    }
    free(t->slots);
    *t = n;
    return 0;
}

static void pp__posix_trk_add(pp__posix_trk_set *t, const char *name)
{
    pp__posix_trk_slot *s;

    /* Keep at least half the slots empty, so every probe ends. */
    if ((t->fill + 1) * 2 > t->cap && pp__posix_trk_grow(t) < 0)
        return; /* out of memory: this name goes untracked */
    s = pp__posix_trk_find(t, name);
    if (s->used == 1)
        return;
    if (s->used == 0)
        t->fill++;
    strcpy(s->name, name);
    s->used = 1;
}

static void pp__posix_trk_remove(pp__posix_trk_set *t, const char *name)
{
    pp__posix_trk_slot *s;

    if (t->cap == 0)
        return;
    s = pp__posix_trk_find(t, name);
    if (s->used == 1)
        s->used = 2;
}

/* Check a record: op 'C' or 'R' and a valid, NUL-terminated name. */
static int pp__posix_trk_parse(const char *rec, char *op, const char **name)
{
    size_t i, n = strnlen(rec + 1, PP_POSIX_TRK_REC - 1);

    if ((rec[0] != 'C' && rec[0] != 'R') || n == 0 || n > PP_NAME_MAX)
        return 0;
    for (i = 1; i <= n; i++) {
        char c = rec[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    *op = rec[0];
    *name = rec + 1;
    return 1;
}

/* The client is gone: remove what it left. ENOENT (removed by another
 * process meanwhile) and every other error are ignored. */
_Noreturn static void pp__posix_trk_finish(pp__posix_trk_set *t)
{
    char path[PP_NAME_MAX + 2];
    size_t i;

    for (i = 0; i < t->cap; i++) {
        if (t->slots[i].used != 1)
            continue;
        path[0] = '/';
        strcpy(path + 1, t->slots[i].name);
        /* A lock's file first (lock fallback, posix_flock.c): once the
         * segment is gone, a new creator may make a file of that name. */
        pp__posix_lockfile_remove(t->slots[i].name);
        (void)shm_unlink(path);
    }
    _exit(0); /* no atexit handlers of the program in here */
}

/* Ctrl-C, Ctrl-\, Ctrl-Z and a hangup reach the whole foreground process
 * group, and `kill -TERM -<pgid>` the whole group: the tracker must
 * outlive its client through all of them to do its work. Writes to a
 * vanished client fail instead of killing. */
static void pp__posix_trk_signals(void)
{
    static const int ignored[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                  SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        (void)sigaction(ignored[i], &sa, NULL);
    sa.sa_handler = SIG_DFL;
    (void)sigaction(SIGCHLD, &sa, NULL);
}

/* Keep fd (moved to PP_POSIX_CHILD_FD) and stdio on /dev/null; close
 * everything else the process inherited or the program's main() opened
 * before pp_init(): it holds nobody's pipe, socket or file open. */
static int pp__posix_trk_fds(int fd)
{
    int null_fd = open("/dev/null", O_RDWR), i;
    long max;

    if (null_fd >= 0) {
        for (i = 0; i <= 2; i++) {
            if (null_fd != i)
                (void)dup2(null_fd, i);
        }
        if (null_fd > 2 && null_fd != fd)
            pp__posix_close(null_fd);
    }
    if (fd != PP_POSIX_CHILD_FD) {
        if (dup2(fd, PP_POSIX_CHILD_FD) < 0)
            return -1;
        pp__posix_close(fd);
        fd = PP_POSIX_CHILD_FD;
    }
    (void)pp__posix_set_cloexec(fd);
#ifdef PP_HAVE_SYS_CLOSE_RANGE
    if (syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u) == 0)
        return fd;
#endif
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (i = fd + 1; i < max; i++)
        (void)close(i);
    return fd;
}

_Noreturn void pp__posix_tracker_run(int fd)
{
    pp__posix_trk_set names = {NULL, 0, 0};
    int64_t pid;
    pid_t child;

    pp__posix_trk_signals();
    fd = pp__posix_trk_fds(fd);
    if (fd < 0)
        _exit(1);
    (void)chdir("/"); /* hold no directory busy (an unmount) */
    /* Detach: the real tracker is a grandchild of the client. */
    child = fork();
    if (child < 0)
        _exit(1); /* the client sees EOF and goes without */
    if (child > 0) {
        pid = (int64_t)child;
        _exit(pp__posix_send_msg(fd, &pid, sizeof pid, -1) == 0 ? 0 : 1);
    }
    for (;;) {
        char rec[PP_POSIX_TRK_REC], op = 0;
        const char *name = NULL;
        /* Sleeps in recv; 0 = EOF (every client end closed), -1 = error:
         * either way nobody can talk to us any more. */
        if (pp__posix_recv_msg(fd, rec, sizeof rec, NULL) != 1)
            pp__posix_trk_finish(&names);
        if (!pp__posix_trk_parse(rec, &op, &name))
            continue;
        if (op == 'C')
            pp__posix_trk_add(&names, name);
        else
            pp__posix_trk_remove(&names, name);
    }
}
