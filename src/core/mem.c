/*
 * mem.c — memory for large buffers: populated blocks in power-of-two size
 * classes with a small process-wide cache of freed ones (core/mem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/mem.h"

/*
 * Large blocks: populated memory from pp__plat_big_alloc, in power-of-two
 * size classes from PP__PLAT_BIG_MIN up, and a small process-wide cache
 * of freed blocks (at most BIG_CACHE_MAX bytes) so that the next large map
 * reuses memory that is already mapped instead of mapping and faulting it
 * in again. Blocks above the largest class are mapped and unmapped
 * directly. The cache's mutex is held for a few pointer moves only; it
 * exists from pp__mem_init() on (before that nothing is cached).
 */
#define BIG_CLASSES   9 /* 256 KiB .. 64 MiB */
#define BIG_CACHE_MAX ((size_t)64 * 1024 * 1024)

typedef struct big_free {
    struct big_free *next;
} big_free;

static struct {
    pp__plat_mtx *mu; /* NULL until pp__mem_init(): no caching */
    big_free *head[BIG_CLASSES];
    size_t bytes;
} g_big;

/* Size class of an n-byte request (n >= PP__PLAT_BIG_MIN), or -1 above the
 * largest; *size is what is really allocated. */
static int big_class(size_t n, size_t *size)
{
    size_t sz = PP__PLAT_BIG_MIN;
    int k;

    for (k = 0; k < BIG_CLASSES; k++, sz *= 2) {
        if (n <= sz) {
            *size = sz;
            return k;
        }
    }
    *size = n;
    return -1;
}

/* 0 when there is no cache (pp__mem_init() has not run or failed). */
static int big_lock(void)
{
    if (g_big.mu == NULL)
        return 0;
    pp__plat_mtx_lock(g_big.mu);
    return 1;
}

static void big_unlock(void)
{
    pp__plat_mtx_unlock(g_big.mu);
}

/* A cached block of n bytes' class (*cap: its size), or NULL. */
static void *big_take(size_t n, size_t *cap)
{
    big_free *b = NULL;
    int k = big_class(n, cap);

    if (k >= 0 && big_lock()) {
        b = g_big.head[k];
        if (b != NULL) {
            g_big.head[k] = b->next;
            g_big.bytes -= *cap;
        }
        big_unlock();
    }
    return b;
}

void *pp__mem_big_alloc(size_t n, int zero, size_t *cap)
{
    void *b = big_take(n, cap);

    if (b == NULL)
        return pp__plat_big_alloc(*cap); /* zeroed */
    if (zero)
        memset(b, 0, n);
    return b;
}

void pp__mem_big_release(void *p, size_t n)
{
    size_t size;
    int k = big_class(n, &size);
    int cached = 0;

    if (p == NULL)
        return;
    if (k >= 0 && big_lock()) {
        if (g_big.bytes + size <= BIG_CACHE_MAX) {
            ((big_free *)p)->next = g_big.head[k];
            g_big.head[k] = p;
            g_big.bytes += size;
            cached = 1;
        }
        big_unlock();
    }
    if (!cached)
        pp__plat_big_free(p, size);
}

/* In a forked child: another thread of the parent may have held the
 * mutex or been half-way through a list update at the fork. Start over
 * with an empty cache and a usable mutex (the cached blocks stay mapped,
 * copy-on-write, unused). */
static void big_forget_after_fork(void)
{
    int k;

    for (k = 0; k < BIG_CLASSES; k++)
        g_big.head[k] = NULL;
    g_big.bytes = 0;
    if (g_big.mu != NULL)
        pp__plat_mtx_reset_after_fork(g_big.mu);
}

void pp__mem_init(void)
{
    /* Once per process, from pp_init (single-threaded). The mutex lives
     * until the process ends: a pp_init after pp_shutdown reuses it. */
    static int registered;

    if (g_big.mu == NULL && pp__plat_mtx_create(&g_big.mu) != PP_OK)
        g_big.mu = NULL; /* no cache: every large block is mapped afresh */
    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(big_forget_after_fork);
    }
}

void pp__mem_trim(void)
{
    big_free *list[BIG_CLASSES], *b;
    size_t size;
    int k;

    if (!big_lock())
        return;
    for (k = 0; k < BIG_CLASSES; k++) {
        list[k] = g_big.head[k];
        g_big.head[k] = NULL;
    }
    g_big.bytes = 0;
    big_unlock();
    for (k = 0, size = PP__PLAT_BIG_MIN; k < BIG_CLASSES; k++, size *= 2) {
        while ((b = list[k]) != NULL) {
            list[k] = b->next;
            pp__plat_big_free(b, size);
        }
    }
}

void *pp__mem_zalloc(size_t n)
{
    size_t cap;
    void *b;

    if (n < PP__PLAT_BIG_MIN)
        return calloc(1, n ? n : 1);
    b = big_take(n, &cap);
    if (b == NULL)
        return pp__plat_big_alloc_lazy(cap); /* zero when touched */
    memset(b, 0, n);
    return b;
}

void *pp__mem_alloc(size_t n)
{
    size_t cap;
    void *b;

    if (n < PP__PLAT_BIG_MIN)
        return malloc(n ? n : 1);
    b = big_take(n, &cap);
    return b != NULL ? b : pp__plat_big_alloc_lazy(cap);
}

void pp__mem_free(void *p, size_t n)
{
    if (n < PP__PLAT_BIG_MIN)
        free(p);
    else
        pp__mem_big_release(p, n);
}
