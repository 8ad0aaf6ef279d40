/*
 * posix_seg.c — named shared segments ("/<name>" shm objects with a
 * procpool header), the common part of named mutexes and named shm.
 *
 * Creation order: shm_open(O_EXCL, mode 0600: the creating user only) ->
 * ftruncate (zero fill) -> mmap -> the caller fills header and payload ->
 * ready (release store). An opener may run at any point of that
 * sequence, so it waits (bounded) for the size to become non-zero and
 * then for the ready word, and only then trusts the header.
 *
 * Every name created here is registered with the process's resource
 * tracker (posix_tracker.c) and unregistered when this process removes
 * it, so a creator that dies first does not leave it in /dev/shm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix_internal.h"
#include "procpool/common.h"

/* "/<name>" into buf (PP_NAME_MAX + 2 bytes). The core validated the
 * characters; the length is checked again because a too long name would
 * silently be truncated or refused differently per system. */
static pp_status pp__posix_seg_path(const char *name, char *buf)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > PP_NAME_MAX)
        return PP_EINVAL;
    buf[0] = '/';
    memcpy(buf + 1, name, n + 1);
    return PP_OK;
}

/* shm_open's flags: glibc sets close-on-exec on shm fds by itself, and
 * macOS refuses flags it does not know, so O_CLOEXEC is added only where
 * it is accepted. The fd lives only until mmap anyway. */
#if defined(O_CLOEXEC) && !defined(__APPLE__)
#define PP_POSIX_SHM_CLOEXEC O_CLOEXEC
#else
#define PP_POSIX_SHM_CLOEXEC 0
#endif

pp_status pp__posix_seg_create(const char *name, size_t total, void **addr)
{
    char path[PP_NAME_MAX + 2];
    pp_status st = pp__posix_seg_path(name, path);
    uint64_t id = 0;
    void *p;
    int fd, e;

    if (st != PP_OK)
        return st;
    if ((size_t)(off_t)total != total || (off_t)total < 0 || total < sizeof(pp__posix_seg_hdr))
        return PP_EINVAL;
    while (st == PP_OK && id == 0)
        st = pp__plat_random(&id, sizeof id);
    if (st != PP_OK)
        return st;
    /* Before the name exists: the first create of a process starts the
     * tracker, and a crash must not find the name unregistered for that
     * long. */
    pp__posix_tracker_ensure();
    fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | PP_POSIX_SHM_CLOEXEC, 0600);
    if (fd < 0)
        return pp__plat_fail(errno);
    while (ftruncate(fd, (off_t)total) < 0) {
        if (errno != EINTR)
            goto fail;
    }
    p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    pp__posix_close(fd);
    pp__posix_tracker_created(name);
    ((pp__posix_seg_hdr *)p)->id = id;
    *addr = p;
    return PP_OK;
fail:
    /* Never leave a half-made name behind: openers would wait on it and
     * the creator could not retry with the same name. */
    e = errno;
    pp__posix_close(fd);
    (void)shm_unlink(path);
    return pp__plat_fail(e);
}

/* Wait for a concurrent creator's ftruncate: a fresh object has size 0. */
static pp_status pp__posix_seg_sized(int fd, int64_t deadline, size_t *size)
{
    struct stat sb;
    for (;;) {
        if (fstat(fd, &sb) < 0)
            return pp__plat_fail(errno);
        if (sb.st_size > 0)
            break;
        if (pp__plat_now_ms() >= deadline)
            return PP_EINVAL;
        pp__plat_sleep_ms(1);
    }
    if ((off_t)(size_t)sb.st_size != sb.st_size)
        return PP_EINVAL;
    *size = (size_t)sb.st_size;
    return PP_OK;
}

static pp_status pp__posix_seg_wait_ready(const pp__posix_seg_hdr *hdr, int64_t deadline)
{
    while (atomic_load_explicit(&hdr->ready, memory_order_acquire) != PP_POSIX_SEG_READY) {
        if (pp__plat_now_ms() >= deadline)
            return PP_EINVAL; /* a dead creator's debris, or not ours */
        pp__plat_sleep_ms(1);
    }
    return PP_OK;
}

pp_status pp__posix_seg_open(const char *name, uint32_t magic, uint32_t version, uint32_t hdr_size,
                             size_t expect_total, size_t min_total, void **addr, size_t *total)
{
    char path[PP_NAME_MAX + 2];
    int64_t deadline = pp__plat_now_ms() + PP_POSIX_SEG_GRACE_MS;
    pp_status st = pp__posix_seg_path(name, path);
    pp__posix_seg_hdr *hdr;
    size_t size = 0;
    void *p;
    int fd;

    if (st != PP_OK)
        return st;
    fd = shm_open(path, O_RDWR | PP_POSIX_SHM_CLOEXEC, 0);
    if (fd < 0)
        return pp__plat_fail(errno);
    st = pp__posix_seg_sized(fd, deadline, &size);
    /* Check the size before mapping: touching a mapping beyond the end of
     * a smaller object raises SIGBUS. Larger is fine: macOS rounds an
     * object up to whole pages and fstat reports the rounded size, so the
     * kind's own header says how much of it is used. */
    if (st == PP_OK && (size < sizeof(pp__posix_seg_hdr) || size < min_total ||
                        (expect_total != 0 && size < expect_total)))
        st = PP_EINVAL;
    if (st != PP_OK) {
        pp__posix_close(fd);
        return st;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        st = pp__plat_fail(errno);
        pp__posix_close(fd);
        return st;
    }
    pp__posix_close(fd);

    hdr = p;
    st = pp__posix_seg_wait_ready(hdr, deadline);
    if (st == PP_OK && (hdr->magic != magic || hdr->version != version || hdr->size != hdr_size))
        st = PP_EINVAL;
    if (st != PP_OK) {
        (void)munmap(p, size);
        return st;
    }
    *addr = p;
    *total = size;
    return PP_OK;
}

void pp__posix_seg_publish(pp__posix_seg_hdr *hdr)
{
    atomic_store_explicit(&hdr->ready, PP_POSIX_SEG_READY, memory_order_release);
}

void pp__posix_seg_unmap(void *addr, size_t total)
{
    if (addr != NULL)
        (void)munmap(addr, total);
}

pp_status pp__posix_seg_unlink(const char *name)
{
    char path[PP_NAME_MAX + 2];
    pp_status st = pp__posix_seg_path(name, path);
    if (st != PP_OK)
        return st;
    if (shm_unlink(path) < 0) {
        int e = errno;
        if (e == ENOENT) /* gone all the same: not ours to track any more */
            pp__posix_tracker_removed(name);
        return pp__plat_fail(e);
    }
    pp__posix_tracker_removed(name);
    return PP_OK;
}
