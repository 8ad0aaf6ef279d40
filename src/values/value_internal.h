/*
 * value_internal.h — what the tuple codec (tuple.c) and the pool need
 * from the value container (value.c) beyond the public API in value.h.
 *
 * Not installed. The container keeps, per tuple, the exact size of its
 * encoding, so a tuple that could never be sent fails when it is built
 * and an encoder can reserve its buffer once.
 */
#ifndef PROCPOOL_VALUES_VALUE_INTERNAL_H
#define PROCPOOL_VALUES_VALUE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"
#include "values/tuple.h"

/* Bytes pp__values_encode() appends for v (PP__VALUES_HDR for NULL).
 * Never more than PP_MESSAGE_MAX: adds that would exceed it fail. */
size_t pp__values_encoded_size(const pp_values *v);

/* Bytes item i of v adds to an encoding (0 if there is no item i). */
size_t pp__values_item_encoded_size(const pp_values *v, size_t i);

/* If item i of v is an int or a double, return 1 with its type and bits
 * (the int's value, the double's IEEE-754 bits); else 0. */
int pp__values_item_scalar(const pp_values *v, size_t i, pp_type *type, uint64_t *bits);

/* If v holds exactly one value of type *type (PP_TYPE_NONE: one int or
 * one double, and *type becomes its type): return 1 with its bits and
 * empty v (a worker's result tuple, in one call); else 0, v and *type
 * untouched. */
int pp__values_take_scalar(pp_values *v, pp_type *type, uint64_t *bits);

/* 1 with the type, bytes and length if v holds exactly one string or one
 * byte buffer (p[n] is a NUL; p stays v's). */
int pp__values_one_blob(const pp_values *v, pp_type *type, const uint8_t **p, size_t *n);

/* 1 with the bytes and length (no NUL counted) if item i of v is a string
 * or a byte buffer. */
int pp__values_item_blob(const pp_values *v, size_t i, const uint8_t **p, size_t *n);

/* Where the value's bits of a tuple made by pp__values_init_scalar() are:
 * a store there makes it hold another value of the same type (a worker's
 * column arguments: one store per item, no call). */
uint64_t *pp__values_scalar_bits(pp_values *v);

/* Build, in mem (pp__values_scalar_size() bytes), a read-only tuple of one
 * string or byte buffer whose n bytes are at p, in someone else's memory,
 * with a NUL at p[n] (a string has no other; values/column.h checks
 * both): read in place, never copied or freed, valid while p is. As
 * pp__values_init_scalar() otherwise. */
pp_values *pp__values_init_blob(void *mem, pp_type type, const uint8_t *p, size_t n);

/* Storage for pp__values_init_scalar(): size in bytes (a multiple of 8;
 * 8-byte alignment is enough). */
size_t pp__values_scalar_size(void);

/* Build, in mem, a read-only tuple holding one int or one double (bits:
 * the int's value or the double's IEEE-754 bits), for a result slab: adds
 * fail with PP_EINVAL, pp_values_destroy() leaves it alone, pp__values_clear
 * must not be called; the memory is the caller's to free. */
pp_values *pp__values_init_scalar(void *mem, pp_type type, uint64_t bits);

/* A tuple like pp_values_create()'s whose strings and byte buffers go
 * into a small arena of its own while it has room, instead of an
 * allocation each, until pp__values_clear() empties it: a worker's result
 * tuple, filled and cleared once per task. Freed by pp_values_destroy().
 * PP_ENOMEM (*out NULL). */
pp_status pp__values_create_scratch(pp_values **out);

/* Remove every item, keeping the allocation (a worker reuses its result
 * tuple for every task). */
void pp__values_clear(pp_values *v);

/* Append copies of items first..first+count-1 of src to dst (locks and
 * blocks keep their borrowed handles). PP_EINVAL (NULL, a read-only dst,
 * range outside src), PP_ETOOBIG, PP_ENOMEM; on failure dst may hold some
 * of them. */
pp_status pp__values_append(pp_values *dst, const pp_values *src, size_t first, size_t count);

/* Make room for n more items at once (decoder: count is known upfront). */
pp_status pp__values_reserve(pp_values *v, size_t n);

/* Doubles by their IEEE-754 bits: a trip through an x87 register (32-bit
 * x86) would quieten signalling NaNs; the codec must deliver exact bits. */
pp_status pp__values_add_double_bits(pp_values *v, uint64_t bits);
pp_status pp__values_get_double_bits(const pp_values *v, size_t i, uint64_t *bits);

/* Append a string of exactly n bytes (s need not be NUL-terminated; it must
 * not contain NUL). Same limits and errors as pp_values_add_str(). */
pp_status pp__values_add_str_n(pp_values *v, const char *s, size_t n);

/* Append a lock item by name (a valid name, see pp__name_check()) and
 * identity (pp__lock_id(), non-zero). lock may be NULL when resolution
 * failed: resolve_st (not PP_OK then) is what pp_values_get_lock() reports
 * for the item. The tuple never owns lock. */
pp_status pp__values_add_lock_named(pp_values *v, const char *name, uint64_t id, pp_lock *lock,
                                    pp_status resolve_st);

/* A local sync object item (PP_TYPE_SYNC) of kind (sync/sobj.h), as a
 * lock item; h is a pp__sobj * (NULL with the reason in resolve_st). */
pp_status pp__values_add_sync_named(pp_values *v, uint32_t kind, const char *name, uint64_t id,
                                    void *h, pp_status resolve_st);
/* Append a sync object item from any kind's handle (pp__sobj *):
 * pp_values_from()'s PP_TYPE_SYNC. */
pp_status pp__values_add_sync(pp_values *v, void *h);
/* The kind of PP_TYPE_SYNC item i, else 0. */
uint8_t pp__values_sync_kind(const pp_values *v, size_t i);

/* The same for a shared memory block item (pp_values_get_shm()). */
pp_status pp__values_add_shm_named(pp_values *v, const char *name, uint64_t id, pp_shm *shm,
                                   pp_status resolve_st);

/* Append an item hosted elsewhere (a manager's), by its locator (a
 * checked one, sync/remote.h): a PP_TYPE_LOCK item for a lock or rlock
 * (h a pp_lock *), else a PP_TYPE_PROXY item (h the kind's handle). h
 * and resolve_st as for pp__values_add_lock_named(). */
struct pp__locator;
pp_status pp__values_add_remote(pp_values *v, const struct pp__locator *loc, void *h,
                                pp_status resolve_st);

/* Proxy item i: PP_EINVAL (NULL), PP_ERANGE, PP_ETYPE (not a proxy), or
 * PP_OK with its locator, its handle (NULL if it could not be resolved)
 * and in *why the reason it has none (PP_OK if it has). */
pp_status pp__values_get_proxy(const pp_values *v, size_t i, const struct pp__locator **loc,
                               void **h, pp_status *why);

/* The locator of item i if it is a hosted lock or a proxy, else NULL. */
const struct pp__locator *pp__values_item_locator(const pp_values *v, size_t i);

/* Name of lock item i (for a hosted lock: its description, "manager lock
 * 7 at tcp://..."), NULL if i is out of range or not a lock. */
const char *pp__values_lock_name(const pp_values *v, size_t i);

/* Name of a named item i (lock, shm or proxy; a hosted object's description),
 * NULL for any other item. */
const char *pp__values_named_name(const pp_values *v, size_t i);

/* Identity of a named item i, 0 for any other item. */
uint64_t pp__values_named_id(const pp_values *v, size_t i);

/* PP_OK if every lock and shm item of v has its handle; else the reason
 * the first one (at *index, if not NULL) has none — a worker fails the
 * task with it instead of running it with a NULL handle. */
pp_status pp__values_attach_error(const pp_values *v, size_t *index);

#endif /* PROCPOOL_VALUES_VALUE_INTERNAL_H */
