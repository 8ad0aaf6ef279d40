/*
 * posix_shm.c — named shared memory: a named segment (posix_seg.c) with a
 * 64-byte header; the user's block follows it, so it is 64-byte aligned
 * (page aligned mapping + 64) and zero-filled by ftruncate. Unnamed
 * blocks, inherited by fork, have the same layout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix_internal.h"

#define PP_POSIX_SHM_MAGIC   0x50505348u /* "PPSH", differs from the mutex */
#define PP_POSIX_SHM_VERSION 2u          /* 2: the header has an id */
#define PP_POSIX_SHM_HDR     64u
/* A sanity bound, not a resource policy: catches sizes computed from
 * garbage before they reach ftruncate. */
#define PP_POSIX_SHM_MAX ((uint64_t)1 << 40)

typedef struct pp__posix_shm_hdr {
    pp__posix_seg_hdr hdr;
    uint64_t user_size;
} pp__posix_shm_hdr;

_Static_assert(sizeof(pp__posix_shm_hdr) <= PP_POSIX_SHM_HDR, "shm header too large");

struct pp__plat_shm {
    void *base;
    size_t total; /* mapped: the object's size, perhaps rounded up */
    size_t user;  /* the user's block, from the header */
};

static pp_status pp__posix_shm_wrap(void *base, size_t total, size_t user, pp__plat_shm **out)
{
    pp__plat_shm *s = malloc(sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    s->base = base;
    s->total = total;
    s->user = user;
    *out = s;
    return PP_OK;
}

pp_status pp__plat_shm_create(const char *name, size_t size, pp__plat_shm **out)
{
    pp__posix_shm_hdr *h;
    void *base;
    size_t total;
    pp_status st;

    if (size == 0 || (uint64_t)size > PP_POSIX_SHM_MAX)
        return PP_EINVAL;
    total = PP_POSIX_SHM_HDR + size;
    st = pp__posix_seg_create(name, total, &base);
    if (st != PP_OK)
        return st;
    h = base;
    h->hdr.magic = PP_POSIX_SHM_MAGIC;
    h->hdr.version = PP_POSIX_SHM_VERSION;
    h->hdr.size = (uint32_t)sizeof *h;
    h->user_size = (uint64_t)size;
    st = pp__posix_shm_wrap(base, total, size, out);
    if (st != PP_OK) {
        pp__posix_seg_unmap(base, total);
        (void)pp__posix_seg_unlink(name);
        return st;
    }
    pp__posix_seg_publish(&h->hdr);
    return PP_OK;
}

pp_status pp__plat_shm_open(const char *name, pp__plat_shm **out)
{
    pp__posix_shm_hdr *h;
    void *base;
    size_t total;
    pp_status st;

    st = pp__posix_seg_open(name, PP_POSIX_SHM_MAGIC, PP_POSIX_SHM_VERSION,
                            (uint32_t)sizeof(pp__posix_shm_hdr), 0, PP_POSIX_SHM_HDR + 1, &base,
                            &total);
    if (st != PP_OK)
        return st;
    h = base;
    /* The header's size is the block's: the object may be larger (macOS
     * rounds it up to whole pages), never smaller (a foreign or damaged
     * segment). */
    if (h->user_size == 0 || h->user_size > (uint64_t)(total - PP_POSIX_SHM_HDR))
        st = PP_EINVAL;
    if (st == PP_OK)
        st = pp__posix_shm_wrap(base, total, (size_t)h->user_size, out);
    if (st != PP_OK)
        pp__posix_seg_unmap(base, total);
    return st;
}

void *pp__plat_shm_ptr(const pp__plat_shm *s)
{
    return (char *)s->base + PP_POSIX_SHM_HDR;
}

size_t pp__plat_shm_size(const pp__plat_shm *s)
{
    return s->user;
}

uint64_t pp__plat_shm_id(const pp__plat_shm *s)
{
    return ((const pp__posix_seg_hdr *)s->base)->id;
}

void pp__plat_shm_close(pp__plat_shm *s)
{
    if (s == NULL)
        return;
    pp__posix_seg_unmap(s->base, s->total);
    free(s);
}

pp_status pp__plat_shm_unlink(const char *name)
{
    return pp__posix_seg_unlink(name);
}

/* Unnamed blocks: a shared anonymous mapping, the same layout (header,
 * then the block), inherited by fork at the same address. */
pp_status pp__plat_shm_create_inherited(size_t size, pp__plat_shm **out)
{
    pp__posix_shm_hdr *h;
    size_t total;
    void *base;
    pp_status st;

    if (size == 0 || (uint64_t)size > PP_POSIX_SHM_MAX)
        return PP_EINVAL;
    total = PP_POSIX_SHM_HDR + size;
    base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return pp__plat_fail(errno);
    h = base;
    h->hdr.magic = PP_POSIX_SHM_MAGIC;
    h->hdr.version = PP_POSIX_SHM_VERSION;
    h->hdr.size = (uint32_t)sizeof *h;
    h->hdr.id = (uint64_t)(uintptr_t)base | 1u;
    h->user_size = (uint64_t)size;
    st = pp__posix_shm_wrap(base, total, size, out);
    if (st != PP_OK) {
        (void)munmap(base, total);
        return st;
    }
    pp__posix_seg_publish(&h->hdr);
    return PP_OK;
}

uint64_t pp__plat_shm_token(const pp__plat_shm *s)
{
    return (uint64_t)(uintptr_t)s->base;
}

pp_status pp__plat_shm_inherit(uint64_t token, pp__plat_shm **out)
{
    long page = sysconf(_SC_PAGESIZE);
    void *base = (void *)(uintptr_t)token;
    const pp__posix_shm_hdr *h = base;

    /* Mapped here (msync fails with ENOMEM on an unmapped range), then
     * the header. */
    if (token == 0 || (uintptr_t)token != token || page <= 0 || token % (uint64_t)page != 0 ||
        msync(base, PP_POSIX_SHM_HDR, MS_ASYNC) != 0)
        return PP_EINVAL;
    if (h->hdr.magic != PP_POSIX_SHM_MAGIC || h->hdr.version != PP_POSIX_SHM_VERSION ||
        h->hdr.size != sizeof *h || h->user_size == 0 || h->user_size > PP_POSIX_SHM_MAX)
        return PP_EINVAL;
    return pp__posix_shm_wrap(base, PP_POSIX_SHM_HDR + (size_t)h->user_size, (size_t)h->user_size,
                              out);
}

void pp__posix_shm_drop(const pp__plat_shm *s)
{
    if (s != NULL)
        (void)munmap(s->base, s->total);
}
