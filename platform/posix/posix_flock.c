/*
 * posix_flock.c — the named robust mutex where the system has no robust
 * process-shared pthread mutex (macOS; any build with -Dforce_fallbacks):
 * the same contract as posix_mutex.c, from three parts.
 *
 * - Between processes: a lock file per name, held with flock(). The kernel
 *   drops a flock when the last descriptor of its open file description
 *   is closed, so also when its holder dies, however it dies. Each handle
 *   opens the file itself (its own open file description): flocks of two
 *   descriptions conflict even inside one process.
 * - The death of a holder: an owner word in the named segment
 *   (posix_seg.c). The acquirer stores its key there once it holds the
 *   file lock; a clean release clears it before dropping the file lock.
 *   Found set by the next acquirer: its holder ended without releasing,
 *   PP_EOWNERDEAD. A thread that ends holding the lock (its process
 *   lives on, and so does the flock) is found by a thread-specific-data
 *   destructor, which leaves the word set and drops the file lock for it.
 * - Between the threads of one process (they share one handle, see
 *   platform.h): a flag under a pthread mutex and condition variable
 *   (monotonic clock where the system can), taken before the file lock;
 *   it also gives per-thread ownership (PP_EDEADLK, PP_EPERM) through the
 *   handle's owner word, as in posix_mutex.c.
 *
 * Timeouts: flock() has no timed form. PP_INFINITE blocks in flock(); a
 * finite timeout polls LOCK_NB with a backoff from 50 us up to 5 ms, so a
 * waiter notices a release up to 5 ms late, and a timeout is honoured to
 * within that (never early).
 *
 * fork: a child shares its parent's open file descriptions, so a lock
 * descriptor it inherited would hold, or could release, the parent's
 * flock (and would keep it held after the parent's death). A
 * pthread_atfork child handler therefore closes every handle's descriptor
 * (a registry of the open handles) and clears its in-process state; the
 * child opens the file again at its first acquire, and checks that it is
 * still the same file (device and inode recorded in the segment): a name
 * removed meanwhile gives PP_ENOENT in the child, where a robust mutex
 * would go on working.
 *
 * The lock files live in a private directory, /tmp/procpool-<euid> (mode
 * 0700, created at the first create, refused if it is not a directory
 * owned by us with no access for others), as "<name>.lock". They are
 * removed with the name: by unlink, and by the resource tracker
 * (posix_tracker.c) when the creator dies without removing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_FLOCK
#include <sys/file.h>
#endif

#ifndef PP_HAVE_ROBUST_MUTEX

#define PP_POSIX_LOCKDIR_PREFIX "/tmp/procpool-"
#define PP_POSIX_LOCKFILE_MAX   (sizeof PP_POSIX_LOCKDIR_PREFIX + 24 + PP_NAME_MAX + 8)

/* The private directory into buf; with make, create it if missing. Either
 * way it must be a directory of ours that nobody else can enter. */
static pp_status pp__posix_lockdir(char *buf, size_t n, int make)
{
    struct stat sb;

    snprintf(buf, n, "%s%lu", PP_POSIX_LOCKDIR_PREFIX, (unsigned long)geteuid());
    if (make && mkdir(buf, 0700) < 0 && errno != EEXIST)
        return pp__plat_fail(errno);
    if (lstat(buf, &sb) < 0)
        return pp__plat_fail(errno);
    if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077) != 0)
        return pp__plat_fail(EACCES); /* someone else's, or open to others */
    return PP_OK;
}

/* "<dir>/<name>.lock" into buf (PP_POSIX_LOCKFILE_MAX bytes). */
static pp_status pp__posix_lockfile(const char *name, char *buf, int make)
{
    size_t len = name != NULL ? strlen(name) : 0, dl;
    pp_status st;

    if (len == 0 || len > PP_NAME_MAX || strchr(name, '/') != NULL)
        return PP_EINVAL;
    st = pp__posix_lockdir(buf, PP_POSIX_LOCKFILE_MAX, make);
    if (st != PP_OK)
        return st;
    dl = strlen(buf);
    snprintf(buf + dl, PP_POSIX_LOCKFILE_MAX - dl, "/%s.lock", name);
    return PP_OK;
}

void pp__posix_lockfile_remove(const char *name)
{
    char path[PP_POSIX_LOCKFILE_MAX];
    int saved = errno;
    if (pp__posix_lockfile(name, path, 0) == PP_OK)
        (void)unlink(path);
    errno = saved;
}

#else /* PP_HAVE_ROBUST_MUTEX: no lock files */

void pp__posix_lockfile_remove(const char *name)
{
    (void)name;
}

#endif

#if !defined(PP_HAVE_ROBUST_MUTEX) && defined(PP_HAVE_FLOCK)

#define PP_POSIX_FLOCK_MAGIC   0x50504c46u /* "PPLF": not the robust mutex's */
#define PP_POSIX_FLOCK_VERSION 1u

/* Polling backoff of a timed acquire, nanoseconds. */
#define PP_POSIX_FLOCK_POLL_MIN 50000
#define PP_POSIX_FLOCK_POLL_MAX 5000000

/* The shared segment. */
typedef struct pp__posix_flock_seg {
    pp__posix_seg_hdr hdr;
    /* Key of the holder, (pid << 32) | thread id; 0 once released
     * cleanly. Written only by a thread holding the file lock. */
    _Atomic uint64_t owner;
    /* The lock file of this segment (a same-named file of another
     * segment is not ours). */
    uint64_t dev, ino;
} pp__posix_flock_seg;

struct pp__plat_mutex {
    pp__posix_flock_seg *seg;
    size_t size;
    char path[PP_POSIX_LOCKFILE_MAX];
    int fd; /* this handle's open file description; -1 after fork */
    /* Threads of this process: busy while one holds the file lock or is
     * taking it. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    clockid_t clk;
    int busy;
    /* Holder in this process (key as in the segment), 0 when free here. */
    _Atomic uint64_t owner;
    struct pp__plat_mutex *prev, *next; /* the registry */
};

/* Open handles, for the fork handler and the thread-exit destructor. */
static pthread_mutex_t pp__posix_flock_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pp__plat_mutex *pp__posix_flock_reg;
static pthread_once_t pp__posix_flock_once = PTHREAD_ONCE_INIT;
static pthread_key_t pp__posix_flock_tkey;
static int pp__posix_flock_tkey_ok;

/* The calling thread's key; recomputed in a forked child (its pid). */
static _Thread_local uint64_t pp__posix_flock_key_cache;

static uint64_t pp__posix_flock_key(void)
{
    if (pp__posix_flock_key_cache == 0)
        pp__posix_flock_key_cache =
            ((uint64_t)(uint32_t)getpid() << 32) | (pp__plat_thread_id() & 0xffffffffu);
    return pp__posix_flock_key_cache;
}

/* Give up the lock for a holder that is gone (its thread ended): the
 * segment's owner word stays set, so the next acquirer, in this process
 * or another, gets PP_EOWNERDEAD. Caller holds the registry lock. */
static void pp__posix_flock_orphan(pp__plat_mutex *m)
{
    atomic_store(&m->owner, 0);
    if (m->fd >= 0)
        (void)flock(m->fd, LOCK_UN);
    (void)pthread_mutex_lock(&m->mu);
    m->busy = 0;
    (void)pthread_cond_signal(&m->cv);
    (void)pthread_mutex_unlock(&m->mu);
}

/* Thread-specific-data destructor: the thread ends; orphan what it holds. */
static void pp__posix_flock_thread_end(void *v)
{
    uint64_t me = pp__posix_flock_key();
    pp__plat_mutex *m;

    (void)v;
    (void)pthread_mutex_lock(&pp__posix_flock_reg_mu);
    for (m = pp__posix_flock_reg; m != NULL; m = m->next) {
        if (atomic_load(&m->owner) == me)
            pp__posix_flock_orphan(m);
    }
    (void)pthread_mutex_unlock(&pp__posix_flock_reg_mu);
}

/* fork: no handle's mutex may be mid-change across it (taken in order:
 * registry, then each handle). */
static void pp__posix_flock_prepare(void)
{
    pp__plat_mutex *m;
    (void)pthread_mutex_lock(&pp__posix_flock_reg_mu);
    for (m = pp__posix_flock_reg; m != NULL; m = m->next)
        (void)pthread_mutex_lock(&m->mu);
}

static void pp__posix_flock_parent(void)
{
    pp__plat_mutex *m;
    for (m = pp__posix_flock_reg; m != NULL; m = m->next)
        (void)pthread_mutex_unlock(&m->mu);
    (void)pthread_mutex_unlock(&pp__posix_flock_reg_mu);
}

/* The child holds nothing: drop the shared descriptions (see the top). A
 * condition variable may have had waiters, threads that do not exist
 * here: it is made anew; so are the mutexes the prepare handler took (an
 * unlock by this thread, which is not the one that locked them, is not
 * allowed everywhere). */
static void pp__posix_flock_child(void)
{
    pp__plat_mutex *m;
    pp__posix_flock_key_cache = 0;
    for (m = pp__posix_flock_reg; m != NULL; m = m->next) {
        pp__posix_close(m->fd);
        m->fd = -1;
        m->busy = 0;
        atomic_store(&m->owner, 0);
        (void)pp__posix_cond_init(&m->cv, &m->clk);
        (void)pthread_mutex_init(&m->mu, NULL);
    }
    (void)pthread_mutex_init(&pp__posix_flock_reg_mu, NULL);
}

static void pp__posix_flock_setup(void)
{
    (void)pthread_atfork(pp__posix_flock_prepare, pp__posix_flock_parent, pp__posix_flock_child);
    pp__posix_flock_tkey_ok =
        pthread_key_create(&pp__posix_flock_tkey, pp__posix_flock_thread_end) == 0;
}

/* Open the lock file of m (O_CREAT with create) and check it is the one
 * the segment names (not with create: the segment is not filled yet). */
static pp_status pp__posix_flock_open_file(pp__plat_mutex *m, int create)
{
    struct stat sb;
    int fd, flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;

    if (create)
        flags |= O_CREAT | O_EXCL;
    do {
        fd = open(m->path, flags, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return pp__plat_fail(errno);
    if (fstat(fd, &sb) < 0) {
        pp_status st = pp__plat_fail(errno);
        pp__posix_close(fd);
        return st;
    }
    if (create) {
        m->seg->dev = (uint64_t)sb.st_dev;
        m->seg->ino = (uint64_t)sb.st_ino;
    } else if (m->seg->dev != (uint64_t)sb.st_dev || m->seg->ino != (uint64_t)sb.st_ino) {
        /* The name was removed and made again: our segment has no file. */
        pp__posix_close(fd);
        pp__plat_set_os_error(ENOENT);
        return PP_ENOENT;
    }
    m->fd = fd;
    return PP_OK;
}

static pp_status pp__posix_flock_wrap(const char *name, pp__posix_flock_seg *seg, size_t size,
                                      int create, pp__plat_mutex **out)
{
    pp__plat_mutex *m;
    pp_status st;
    int e;

    (void)pthread_once(&pp__posix_flock_once, pp__posix_flock_setup);
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return PP_ENOMEM;
    m->seg = seg;
    m->size = size;
    m->fd = -1;
    atomic_init(&m->owner, 0);
    st = pp__posix_lockfile(name, m->path, create);
    if (st == PP_OK && create)
        (void)unlink(m->path); /* a dead creator's leftover, untracked */
    if (st == PP_OK)
        st = pp__posix_flock_open_file(m, create);
    if (st != PP_OK) {
        free(m);
        return st;
    }
    if ((e = pthread_mutex_init(&m->mu, NULL)) != 0) {
        pp__posix_close(m->fd);
        free(m);
        return pp__plat_fail(e);
    }
    if ((e = pp__posix_cond_init(&m->cv, &m->clk)) != 0) {
        pthread_mutex_destroy(&m->mu);
        pp__posix_close(m->fd);
        free(m);
        return pp__plat_fail(e);
    }
    (void)pthread_mutex_lock(&pp__posix_flock_reg_mu);
    m->next = pp__posix_flock_reg;
    if (m->next != NULL)
        m->next->prev = m;
    pp__posix_flock_reg = m;
    (void)pthread_mutex_unlock(&pp__posix_flock_reg_mu);
    *out = m;
    return PP_OK;
}

pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out)
{
    pp__posix_flock_seg *seg;
    void *addr;
    pp_status st = pp__posix_seg_create(name, sizeof *seg, &addr);
    if (st != PP_OK)
        return st;
    seg = addr;
    seg->hdr.magic = PP_POSIX_FLOCK_MAGIC;
    seg->hdr.version = PP_POSIX_FLOCK_VERSION;
    seg->hdr.size = (uint32_t)sizeof *seg;
    atomic_init(&seg->owner, 0);
    st = pp__posix_flock_wrap(name, seg, sizeof *seg, 1, out);
    if (st != PP_OK) {
        pp__posix_seg_unmap(seg, sizeof *seg);
        (void)pp__posix_seg_unlink(name);
        return st;
    }
    /* Openers look for the file only once this is published. */
    pp__posix_seg_publish(&seg->hdr);
    return PP_OK;
}

pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out)
{
    void *addr;
    size_t size;
    pp_status st;

    st = pp__posix_seg_open(name, PP_POSIX_FLOCK_MAGIC, PP_POSIX_FLOCK_VERSION,
                            (uint32_t)sizeof(pp__posix_flock_seg), sizeof(pp__posix_flock_seg), 0,
                            &addr, &size);
    if (st != PP_OK)
        return st;
    st = pp__posix_flock_wrap(name, addr, size, 0, out);
    if (st != PP_OK)
        pp__posix_seg_unmap(addr, size);
    return st;
}

/* Stage 1: become the thread of this process that may take the file lock.
 * timeout_ms: PP_INFINITE, 0 (try) or > 0. */
static pp_status pp__posix_flock_enter(pp__plat_mutex *m, int64_t timeout_ms, pp_status busy)
{
    struct timespec deadline = {0, 0};
    pp_status st = PP_OK;

    if (timeout_ms > 0)
        deadline = pp__posix_deadline(m->clk, timeout_ms);
    (void)pthread_mutex_lock(&m->mu);
    while (m->busy) {
        int e;
        if (timeout_ms == 0) {
            st = busy;
            break;
        }
        if (timeout_ms == PP_INFINITE)
            e = pthread_cond_wait(&m->cv, &m->mu);
        else
            e = pp__posix_cond_timedwait(&m->cv, &m->mu, m->clk, &deadline);
        if (e == ETIMEDOUT && m->busy) {
            st = busy;
            break;
        }
    }
    if (st == PP_OK)
        m->busy = 1;
    (void)pthread_mutex_unlock(&m->mu);
    return st;
}

static void pp__posix_flock_leave(pp__plat_mutex *m)
{
    (void)pthread_mutex_lock(&m->mu);
    m->busy = 0;
    (void)pthread_cond_signal(&m->cv);
    (void)pthread_mutex_unlock(&m->mu);
}

static void pp__posix_flock_nap(long ns)
{
    struct timespec ts;
    ts.tv_sec = ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    (void)nanosleep(&ts, NULL); /* EINTR: one poll earlier, harmless */
}

/* Stage 2: the file lock. deadline_ns: on pp__plat_now_ns(), only for
 * timeout_ms > 0. */
static pp_status pp__posix_flock_file(pp__plat_mutex *m, int64_t timeout_ms, int64_t deadline_ns,
                                      pp_status busy)
{
    long nap = PP_POSIX_FLOCK_POLL_MIN;

    if (m->fd < 0) {
        pp_status st = pp__posix_flock_open_file(m, 0); /* first use after fork */
        if (st != PP_OK)
            return st;
    }
    for (;;) {
        int64_t left;
        if (flock(m->fd, timeout_ms == PP_INFINITE ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
            return PP_OK;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return pp__plat_fail(errno);
        if (timeout_ms == 0)
            return busy;
        left = deadline_ns - pp__plat_now_ns();
        if (left <= 0)
            return busy;
        pp__posix_flock_nap(left < nap ? (long)left : nap);
        if (nap < PP_POSIX_FLOCK_POLL_MAX)
            nap *= 2;
    }
}

static pp_status pp__posix_flock_take(pp__plat_mutex *m, int64_t timeout_ms, pp_status busy)
{
    uint64_t me = pp__posix_flock_key();
    int64_t deadline_ns = 0;
    pp_status st;

    if (atomic_load(&m->owner) == me)
        return PP_EDEADLK;
    if (timeout_ms > 0) {
        int64_t now = pp__plat_now_ns();
        deadline_ns =
            timeout_ms > (INT64_MAX - now) / 1000000 ? INT64_MAX : now + timeout_ms * 1000000;
    }
    st = pp__posix_flock_enter(m, timeout_ms, busy);
    if (st != PP_OK)
        return st;
    st = pp__posix_flock_file(m, timeout_ms, deadline_ns, busy);
    if (st != PP_OK) {
        pp__posix_flock_leave(m);
        return st;
    }
    /* We hold the file lock: a key left in the segment is a holder that
     * ended without releasing. */
    if (pp__posix_flock_tkey_ok)
        (void)pthread_setspecific(pp__posix_flock_tkey, m);
    atomic_store(&m->owner, me);
    if (atomic_exchange(&m->seg->owner, me) != 0) {
#ifdef EOWNERDEAD
        pp__plat_set_os_error(EOWNERDEAD);
#endif
        return PP_EOWNERDEAD;
    }
    return PP_OK;
}

pp_status pp__plat_mutex_lock(pp__plat_mutex *m, int64_t timeout_ms)
{
    if (timeout_ms < -1)
        return PP_EINVAL;
    return pp__posix_flock_take(m, timeout_ms, PP_ETIMEDOUT);
}

pp_status pp__plat_mutex_trylock(pp__plat_mutex *m)
{
    return pp__posix_flock_take(m, 0, PP_EBUSY);
}

int pp__plat_mutex_held(const pp__plat_mutex *m)
{
    return atomic_load(&m->owner) == pp__posix_flock_key();
}

pp_status pp__plat_mutex_unlock(pp__plat_mutex *m)
{
    uint64_t me = pp__posix_flock_key();
    int e = 0;

    if (atomic_load(&m->owner) != me)
        return PP_EPERM;
    /* Clean release: clear the word before anyone else can take the file
     * lock, then the local owner, then the file lock. */
    atomic_store(&m->seg->owner, 0);
    atomic_store(&m->owner, 0);
    if (flock(m->fd, LOCK_UN) < 0)
        e = errno;
    pp__posix_flock_leave(m);
    return e == 0 ? PP_OK : pp__plat_fail(e);
}

/* The identity pp__posix_seg_create() gave the segment (sync.h). */
uint64_t pp__plat_mutex_id(const pp__plat_mutex *m)
{
    return m->seg->hdr.id;
}

void pp__plat_mutex_close(pp__plat_mutex *m)
{
    if (m == NULL)
        return;
    (void)pthread_mutex_lock(&pp__posix_flock_reg_mu);
    if (m->prev != NULL)
        m->prev->next = m->next;
    else
        pp__posix_flock_reg = m->next;
    if (m->next != NULL)
        m->next->prev = m->prev;
    (void)pthread_mutex_unlock(&pp__posix_flock_reg_mu);
    pp__posix_close(m->fd); /* drops a file lock still held, as a death would */
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    pp__posix_seg_unmap(m->seg, m->size);
    free(m);
}

/* The file first: once the segment is gone a new creator may make a file
 * of the same name, which must survive. */
pp_status pp__plat_mutex_unlink(const char *name)
{
    pp__posix_lockfile_remove(name);
    return pp__posix_seg_unlink(name);
}

#elif !defined(PP_HAVE_ROBUST_MUTEX)

/* Neither robust mutexes nor flock(): a lock whose holder died would stay
 * locked forever, which procpool promises never happens. */
pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out)
{
    (void)name;
    (void)out;
    return PP_ENOTSUP;
}

pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out)
{
    (void)name;
    (void)out;
    return PP_ENOTSUP;
}

pp_status pp__plat_mutex_lock(pp__plat_mutex *m, int64_t timeout_ms)
{
    (void)m;
    (void)timeout_ms;
    return PP_ENOTSUP;
}

pp_status pp__plat_mutex_trylock(pp__plat_mutex *m)
{
    (void)m;
    return PP_ENOTSUP;
}

int pp__plat_mutex_held(const pp__plat_mutex *m)
{
    (void)m;
    return 0;
}

pp_status pp__plat_mutex_unlock(pp__plat_mutex *m)
{
    (void)m;
    return PP_ENOTSUP;
}

uint64_t pp__plat_mutex_id(const pp__plat_mutex *m)
{
    (void)m;
    return 0;
}

void pp__plat_mutex_close(pp__plat_mutex *m)
{
    (void)m;
}

pp_status pp__plat_mutex_unlink(const char *name)
{
    return pp__posix_seg_unlink(name);
}

#endif
