/*
 * mem.h — memory for the large buffers of a map (frames, items, results).
 *
 * Below PP__PLAT_BIG_MIN bytes this is calloc/free. From there on blocks
 * come from pp__plat_big_alloc (populated where the OS can) in
 * power-of-two size classes, and freed blocks are kept in a process-wide
 * cache of at most 64 MiB so the next large map reuses mapped memory.
 * Thread-safe. Without pp__mem_init() (a program that never called
 * pp_init) nothing is cached.
 */
#ifndef PROCPOOL_CORE_MEM_H
#define PROCPOOL_CORE_MEM_H

#include <stddef.h>

/* n zeroed bytes; free with pp__mem_free(p, n), the same n. NULL if out of
 * memory. A large block that is not in the cache is zeroed page by page
 * when first touched (pp__plat_big_alloc_lazy), not before this returns:
 * for a block that other threads fill later (a map's items). */
void *pp__mem_zalloc(size_t n);
/* As pp__mem_zalloc, not zeroed: a cached block keeps what it held (for
 * a block whose every byte is written before it is read). */
void *pp__mem_alloc(size_t n);
void pp__mem_free(void *p, size_t n);

/* A large block of at least n >= PP__PLAT_BIG_MIN bytes, zeroed if zero;
 * *cap gets the usable size (its size class). Release with
 * pp__mem_big_release(p, *cap). */
void *pp__mem_big_alloc(size_t n, int zero, size_t *cap);
void pp__mem_big_release(void *p, size_t n);

/* Once per process before any large block (pp_init): a forked child
 * starts with an empty cache. */
void pp__mem_init(void);

/* Give the cached blocks back to the OS (pp_shutdown). */
void pp__mem_trim(void);

#endif /* PROCPOOL_CORE_MEM_H */
