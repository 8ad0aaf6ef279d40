/*
 * win_shm.c — named shared memory on a pagefile-backed file mapping
 * "Local\procpool-obj-<name>" (the namespace of locks too).
 *
 * Layout: a 64-byte header {magic, version, size, ready, unlinked, id} then the user
 * area (64-byte aligned, zero-filled by the OS). Creation is exclusive;
 * the creator stores `ready` last with a full barrier, and open() checks
 * magic, version and size against the view it really got, so a foreign or
 * half-initialised mapping is refused (PP_EINVAL) instead of trusted.
 * The name lives while any process has the mapping open; unlink marks it
 * so that later opens fail (see pp__plat_shm_unlink).
 */
#include "win_internal.h"

#include <stddef.h>
#include <stdlib.h>

#define PP__WIN_SHM_MAGIC   0x6d687370u /* "pshm" */
#define PP__WIN_SHM_VERSION 2u          /* 2: the header has an id */
#define PP__WIN_SHM_READY   0x79646572  /* "redy" */
#define PP__WIN_SHM_HDR     64u
#define PP__WIN_SHM_MAXSIZE ((uint64_t)1 << 40)

typedef struct pp__win_shm_hdr {
    uint32_t magic;
    uint32_t version;
    uint64_t size;          /* user bytes, excluding this header */
    volatile LONG ready;    /* PP__WIN_SHM_READY once the header is valid */
    volatile LONG unlinked; /* 1 after pp__plat_shm_unlink: opens fail */
    uint64_t id;            /* random, non-zero: pp__plat_shm_id */
} pp__win_shm_hdr;

struct pp__plat_shm {
    HANDLE mapping;
    unsigned char *view; /* header; the user area follows it */
    size_t size;
};

static pp_status pp__win_shm_name(const char *name, wchar_t *out)
{
    return pp__win_object_name(PP__WIN_NAMED_KIND, name, out);
}

static pp_status pp__win_shm_wrap(HANDLE mapping, void *view, size_t size, pp__plat_shm **out)
{
    pp__plat_shm *s = (pp__plat_shm *)calloc(1, sizeof *s);

    if (s == NULL) {
        UnmapViewOfFile(view);
        CloseHandle(mapping);
        return PP_ENOMEM;
    }
    s->mapping = mapping;
    s->view = (unsigned char *)view;
    s->size = size;
    *out = s;
    return PP_OK;
}

/* uint64_t parameter: the same test is meaningful for a 32-bit size_t
 * without tripping -Wtype-limits there. */
static int pp__win_shm_size_ok(uint64_t size)
{
    return size > 0 && size <= PP__WIN_SHM_MAXSIZE && size + PP__WIN_SHM_HDR <= (uint64_t)SIZE_MAX;
}

pp_status pp__plat_shm_create(const char *name, size_t size, pp__plat_shm **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    uint64_t total = (uint64_t)size + PP__WIN_SHM_HDR;
    pp__win_shm_hdr *hdr;
    pp_status st;
    uint64_t id = 0;
    HANDLE map;
    void *view;

    if (out == NULL || !pp__win_shm_size_ok(size))
        return PP_EINVAL;
    st = pp__win_shm_name(name, wname);
    while (st == PP_OK && id == 0)
        st = pp__plat_random(&id, sizeof id);
    if (st != PP_OK)
        return st;
    st = pp__win_map_create(wname, total, &map, &view);
    if (st != PP_OK)
        return st;
    hdr = (pp__win_shm_hdr *)view;
    hdr->magic = PP__WIN_SHM_MAGIC;
    hdr->version = PP__WIN_SHM_VERSION;
    hdr->size = (uint64_t)size;
    hdr->id = id;
    /* Full barrier: the fields above are visible before ready is. */
    InterlockedExchange(&hdr->ready, PP__WIN_SHM_READY);
    return pp__win_shm_wrap(map, view, size, out);
}

/* Wait (briefly) for the creator to publish the header, then check it
 * against the bytes really mapped. PP_OK with *size, PP_ENOENT if the
 * name was unlinked, PP_EINVAL if it is not one of ours. */
static pp_status pp__win_shm_check(unsigned char *view, size_t *size)
{
    pp__win_shm_hdr *hdr = (pp__win_shm_hdr *)view;
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T mapped;

    if (VirtualQuery(view, &mbi, sizeof mbi) == 0 || mbi.RegionSize < PP__WIN_SHM_HDR)
        return PP_EINVAL; /* smaller than our header: cannot be ours */
    /* A foreign magic (a lock's name record: one namespace) is refused at
     * once; 0 may be a creator that has not written it yet. */
    if (hdr->magic != 0 && hdr->magic != PP__WIN_SHM_MAGIC)
        return PP_EINVAL;
    if (!pp__win_wait_word(&hdr->ready, PP__WIN_SHM_READY))
        return PP_EINVAL;
    mapped = mbi.RegionSize; /* whole pages of the view */
    if (hdr->magic != PP__WIN_SHM_MAGIC || hdr->version != PP__WIN_SHM_VERSION || hdr->size == 0 ||
        hdr->size > PP__WIN_SHM_MAXSIZE || hdr->size > (uint64_t)mapped - PP__WIN_SHM_HDR)
        return PP_EINVAL;
    if (hdr->unlinked)
        return PP_ENOENT;
    *size = (size_t)hdr->size;
    return PP_OK;
}

pp_status pp__plat_shm_open(const char *name, pp__plat_shm **out)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st;
    HANDLE map;
    void *view;
    size_t size = 0;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__win_shm_name(name, wname);
    if (st != PP_OK)
        return st;
    map = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
    if (map == NULL)
        return pp__win_fail_last();
    view = MapViewOfFile(map, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL) {
        st = pp__win_fail_last();
        CloseHandle(map);
        return st;
    }
    st = pp__win_shm_check((unsigned char *)view, &size);
    if (st != PP_OK) {
        UnmapViewOfFile(view);
        CloseHandle(map);
        return st;
    }
    return pp__win_shm_wrap(map, view, size, out);
}

void *pp__plat_shm_ptr(const pp__plat_shm *s)
{
    return s == NULL ? NULL : s->view + PP__WIN_SHM_HDR;
}

size_t pp__plat_shm_size(const pp__plat_shm *s)
{
    return s == NULL ? 0 : s->size;
}

uint64_t pp__plat_shm_id(const pp__plat_shm *s)
{
    return ((const pp__win_shm_hdr *)s->view)->id;
}

void pp__plat_shm_close(pp__plat_shm *s)
{
    if (s == NULL)
        return;
    UnmapViewOfFile(s->view);
    CloseHandle(s->mapping);
    free(s);
}

/*
 * A mapping cannot be removed while handles remain: mark it unlinked so
 * later opens (any process) get PP_ENOENT, as after shm_unlink. Unlike
 * POSIX, the name cannot be created again until every handle is closed
 * (PP_EEXIST meanwhile).
 */
pp_status pp__plat_shm_unlink(const char *name)
{
    wchar_t wname[PP__WIN_OBJNAME_MAX];
    pp_status st;

    st = pp__win_shm_name(name, wname);
    if (st != PP_OK)
        return st;
    return pp__win_mark_unlinked(wname, PP__WIN_SHM_MAGIC, offsetof(pp__win_shm_hdr, unlinked));
}

/* Windows has no fork: no process inherits a mapping at its address. */
pp_status pp__plat_shm_create_inherited(size_t size, pp__plat_shm **out)
{
    (void)size;
    *out = NULL;
    return PP_ENOTSUP;
}

uint64_t pp__plat_shm_token(const pp__plat_shm *s)
{
    return (uint64_t)(uintptr_t)(s == NULL ? NULL : s->view);
}

pp_status pp__plat_shm_inherit(uint64_t token, pp__plat_shm **out)
{
    (void)token;
    *out = NULL;
    return PP_ENOTSUP;
}
