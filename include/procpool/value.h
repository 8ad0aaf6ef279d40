/**
 * @file value.h
 * @brief Typed value tuples: task arguments and task results.
 *
 * A ::pp_values is an ordered tuple of typed values: 64-bit integers,
 * doubles, strings, byte buffers and shareable handles (locks, shared
 * memory blocks, proxies of a manager's hosted objects). Tuples are
 * what tasks receive as arguments and what they return; procpool encodes
 * them for the trip to a worker process (versioned, bounds-checked), so no
 * user serialisation is needed. Anything else travels as bytes.
 *
 * Ownership: a tuple created with pp_values_create() belongs to the caller
 * and is freed with pp_values_destroy(). Adding copies the data (strings,
 * bytes); a lock or a shared memory block is stored by name (and the
 * random identity it got when created, so that an object destroyed and
 * created again under the same name is never taken for the old one) and
 * reaches a worker as a working pp_lock / pp_shm handle (attached by name
 * once per object and worker process, or inherited under the fork start
 * method); a manager's or a Redis lock is stored by its locator and reaches
 * a worker the same way, through one connection per server and worker
 * (manager.h, redis.h). So does every other object a manager hosts (a
 * pp_mqueue, pp_mdict, ...: a proxy item, added and read with the typed
 * pp_values_add_mqueue() / pp_values_get_mqueue() pairs of
 * manager_objects.h). Getters return borrowed pointers, valid while the
 * tuple lives.
 *
 * Limits: a tuple holds at most #PP_VALUES_MAX_ITEMS items and encodes to
 * at most #PP_MESSAGE_MAX bytes (about 7 million integers: enough for the
 * input of a large map; a bigger input goes to pp_starmap() as an array of
 * tuples, or to pp_map_stream(), pool.h); one string or byte buffer
 * holds at most #PP_VALUE_MAX_BYTES bytes; one message (a task's arguments,
 * a chunk of map items, a result) at most #PP_MESSAGE_MAX bytes. Larger values fail with
 * #PP_ETOOBIG when added or submitted, never later in a worker.
 *
 * Not thread-safe: do not modify a tuple while another thread reads it.
 */
#ifndef PROCPOOL_VALUE_H
#define PROCPOOL_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"
#include "lock.h"
#include "shm.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_queue; /* queue.h */
struct pp_array; /* array.h */

#define PP_VALUES_MAX_ITEMS (1u << 24)
#define PP_VALUE_MAX_BYTES  ((size_t)32 << 20)
#define PP_MESSAGE_MAX      ((size_t)64 << 20)

/** Type of one value. Numeric values are part of the wire format. */
typedef enum pp_type {
    PP_TYPE_NONE = 0,   /**< no value (index out of range) */
    PP_TYPE_INT = 1,    /**< int64_t */
    PP_TYPE_DOUBLE = 2, /**< double */
    PP_TYPE_STR = 3,    /**< NUL-terminated UTF-8/byte string without embedded NUL */
    PP_TYPE_BYTES = 4,  /**< byte buffer, any content */
    PP_TYPE_LOCK = 5,   /**< pp_lock handle, travels by name */
    PP_TYPE_SHM = 6,    /**< pp_shm handle, travels by name */
    /** handle of an object a manager hosts (manager_objects.h: pp_msem,
     *  pp_mcond, pp_mevent, pp_mbarrier, pp_mvalue, pp_mqueue, pp_mdict),
     *  travels by its locator; read it with the kind's typed getter
     *  (pp_values_get_mqueue(), ...). Never a tag on the wire. */
    PP_TYPE_PROXY = 7,
    /** a local sync object (sync.h: pp_sem, ...), travels by name and
     *  kind; read it with the kind's typed getter (pp_values_get_sem(),
     *  ...) */
    PP_TYPE_SYNC = 8
} pp_type;

/** A tuple of typed values. */
typedef struct pp_values pp_values;

/**
 * @brief Create an empty tuple.
 * Errors the caller must handle: #PP_EINVAL (out is NULL), #PP_ENOMEM.
 */
PP_API pp_status pp_values_create(pp_values **out);

/**
 * @brief Create a tuple from a format string and arguments.
 *
 * Format characters: 'i' int, 'l' int64_t, 'd' double, 's' const char *,
 * 'b' const void * followed by size_t length, 'k' pp_lock *, 'm' pp_shm *.
 * Example: `pp_values_pack(&v, "iskm", 3, "name", lock, shm)`.
 *
 * In C11 (not C++) this name is a macro that also passes the type of every
 * argument (pp_values_pack_checked()), so an argument of the wrong type —
 * a plain int for 'l', an int for 'd' — or a missing or extra argument is
 * #PP_ETYPE / #PP_EINVAL instead of undefined behaviour; up to 24
 * arguments after fmt. For checks at compile time use pp_values_of().
 *
 * Errors the caller must handle: #PP_EINVAL (NULL out/fmt, unknown format
 * character, NULL string, lock or shm; C11: more or fewer arguments than
 * fmt names), #PP_ETYPE (C11: an argument's type does not match its format
 * character), #PP_ETOOBIG, #PP_ENOMEM. On error *out is NULL and nothing
 * leaks.
 */
PP_API pp_status pp_values_pack(pp_values **out, const char *fmt, ...);

/**
 * @brief pp_values_pack() with the type of each argument, for the C11
 *        macro pp_values_pack() (call that; this is its target).
 *
 * @param nargs number of arguments after types.
 * @param types one PP__TYPECODE() per argument (NULL when nargs is 0).
 *
 * Checks before reading any argument: the arguments must be what fmt
 * names, one per character and two for 'b': 'i' int (or a narrower type,
 * or unsigned int), 'l' a 64-bit signed integer type (int64_t), 'd' double
 * or float, 's' char * / const char *, 'b' any pointer then a size_t-sized
 * unsigned integer, 'k' pp_lock *, 'm' pp_shm *; a void * (NULL) is
 * accepted for 's', 'b', 'k' and 'm' (and refused later if NULL).
 *
 * Errors the caller must handle: as pp_values_pack(); #PP_EINVAL if nargs
 * differs from what fmt needs (or types is NULL with nargs > 0), #PP_ETYPE
 * if an argument's type does not match.
 */
PP_API pp_status pp_values_pack_checked(pp_values **out, const char *fmt, size_t nargs,
                                        const unsigned char *types, ...);

/**
 * @brief Read several values at once: the inverse of pp_values_pack().
 *
 * Format as pp_values_pack() with pointers: 'i' int * (PP_ERANGE if the
 * value does not fit), 'l' int64_t *, 'd' double *, 's' const char **,
 * 'b' const void ** then size_t *, 'k' pp_lock **, 'm' pp_shm **. The
 * tuple may hold more items than the format names.
 *
 * Errors the caller must handle: #PP_EINVAL (NULL argument, unknown format
 * character), #PP_ERANGE (fewer items than the format, or an int that
 * does not fit), #PP_ETYPE (an item has another type), and for 'k' / 'm'
 * the reason a worker could not attach the lock / block (see
 * pp_values_get_lock()). C11 (not C++): as for pp_values_pack(), this name
 * is a macro that passes the pointer types (pp_values_unpack_checked()):
 * an int * for 'l' (which would be written 8 bytes) is #PP_ETYPE, a
 * missing or extra pointer #PP_EINVAL, before anything is written.
 */
PP_API pp_status pp_values_unpack(const pp_values *v, const char *fmt, ...);

/**
 * @brief pp_values_unpack() with the type of each pointer, for the C11
 *        macro pp_values_unpack() (call that; this is its target).
 *
 * The pointers must be what fmt names: 'i' int *, 'l' int64_t * (or the
 * other 64-bit signed type's pointer), 'd' double *, 's' const char ** or
 * char **, 'b' const void **, void ** or const char ** then a pointer to a size_t-sized
 * unsigned integer, 'k' pp_lock **, 'm' pp_shm **; a void * (NULL) is
 * accepted everywhere (and refused as NULL).
 *
 * Errors the caller must handle: as pp_values_unpack(); #PP_EINVAL if
 * nargs differs from what fmt needs, #PP_ETYPE if a pointer's type does
 * not match (nothing is written then).
 */
PP_API pp_status pp_values_unpack_checked(const pp_values *v, const char *fmt, size_t nargs,
                                          const unsigned char *types, ...);

/** @brief Free a tuple. Accepts NULL. */
PP_API void pp_values_destroy(pp_values *v);

/**
 * @brief Deep copy of a tuple.
 * Errors the caller must handle: #PP_EINVAL, #PP_ENOMEM.
 */
PP_API pp_status pp_values_copy(const pp_values *v, pp_values **out);

/** @name Appending. Errors: #PP_EINVAL (NULL), #PP_ETOOBIG (limits), #PP_ENOMEM. */
/**@{*/
PP_API pp_status pp_values_add_int(pp_values *v, int64_t x);
PP_API pp_status pp_values_add_double(pp_values *v, double x);
/** Copies s; PP_EINVAL for NULL. */
PP_API pp_status pp_values_add_str(pp_values *v, const char *s);
/** Copies n bytes from p (p may be NULL when n is 0). */
PP_API pp_status pp_values_add_bytes(pp_values *v, const void *p, size_t n);
/** Stores the lock's name (a manager or Redis lock, manager.h, redis.h:
 *  its locator); the lock must still exist when a worker uses it. */
PP_API pp_status pp_values_add_lock(pp_values *v, pp_lock *lock);
/** Stores the block's name; the block must still exist when a worker uses it. */
PP_API pp_status pp_values_add_shm(pp_values *v, pp_shm *shm);
/** Local sync objects (sync.h), #PP_TYPE_SYNC: store the object's name,
 *  kind and identity, as for a lock; the object must still exist when a
 *  worker uses it (a worker opens it by name, once per process, or uses
 *  the handle it inherited under fork). In the arguments of a manager's
 *  queue or dict item they are #PP_ENOTSUP (one machine's objects). */
PP_API pp_status pp_values_add_sem(pp_values *v, pp_sem *s);
PP_API pp_status pp_values_add_event(pp_values *v, pp_event *e);
PP_API pp_status pp_values_add_barrier(pp_values *v, pp_barrier *b);
PP_API pp_status pp_values_add_cond(pp_values *v, pp_cond *c);
/**@}*/

/**
 * One value for pp_values_from(): made by pp_value_int() ... pp_value_shm(),
 * or from any expression by PP_VALUE() (C11). A value of type
 * #PP_TYPE_NONE stands for an unsigned integer beyond INT64_MAX.
 */
typedef struct pp_value_arg {
    pp_type type;
    union {
        int64_t i;
        double d;
        const char *s;
        struct {
            const void *p;
            size_t n;
        } b;
        pp_lock *k;
        pp_shm *m;
        void *y; /**< a local sync object (#PP_TYPE_SYNC): pp_sem *, ... */
    } u;
} pp_value_arg;

/**
 * @brief Create a tuple of n values in one call: the type-checked form of
 *        pp_values_pack(); usually called through pp_values_of().
 *
 * @param[out] out the new tuple, owned by the caller (pp_values_destroy()).
 * @param items n values (NULL when n is 0: an empty tuple).
 *
 * Errors the caller must handle: #PP_EINVAL (NULL out, NULL items with
 * n > 0, NULL string / lock / shm, bytes with a NULL pointer and n > 0),
 * #PP_ERANGE (an unsigned integer beyond INT64_MAX), #PP_ENOTSUP (a lock
 * that cannot travel), #PP_ETOOBIG, #PP_ENOMEM. On error *out is NULL and
 * nothing leaks.
 */
PP_API pp_status pp_values_from(pp_values **out, const pp_value_arg *items, size_t n);

/** @name Values for pp_values_from() / pp_values_of().
 * Each only fills a pp_value_arg (nothing is copied or checked until
 * pp_values_from()). */
/**@{*/
PP_API pp_value_arg pp_value_int(int64_t x);
/** An unsigned integer: #PP_ERANGE from pp_values_from() if above INT64_MAX. */
PP_API pp_value_arg pp_value_uint(uint64_t x);
PP_API pp_value_arg pp_value_double(double x);
PP_API pp_value_arg pp_value_str(const char *s);
/** n bytes at p (copied by pp_values_from()). */
PP_API pp_value_arg pp_value_bytes(const void *p, size_t n);
PP_API pp_value_arg pp_value_lock(pp_lock *lock);
PP_API pp_value_arg pp_value_shm(pp_shm *shm);
PP_API pp_value_arg pp_value_sem(pp_sem *s);
/** Local queues and arrays (queue.h: pp_queue, array.h: pp_array). */
PP_API pp_value_arg pp_value_queue(struct pp_queue *q);
PP_API pp_value_arg pp_value_array(struct pp_array *a);
PP_API pp_value_arg pp_value_event(pp_event *e);
PP_API pp_value_arg pp_value_barrier(pp_barrier *b);
PP_API pp_value_arg pp_value_cond(pp_cond *c);
/** a itself (what PP_VALUE() does with a pp_value_arg). */
PP_API pp_value_arg pp_value_arg_of(pp_value_arg a);
/**@}*/

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/*
 * Type-checked tuples (C11). PP_VALUE(x) turns x into a pp_value_arg by
 * its type: any signed or narrow integer -> INT, unsigned long (long) ->
 * INT or PP_ERANGE, float/double -> DOUBLE, char * / const char * -> STR,
 * pp_lock * -> LOCK, pp_shm * -> SHM, a pp_value_arg (pp_value_bytes(p, n))
 * as is. Any other type (a struct, a void *, NULL, long double) does not
 * compile.
 *
 *   pp_values *args;
 *   st = pp_values_of(&args, id, 0.5, "name", lock, pp_value_bytes(buf, n));
 *
 * pp_values_of(out, v1, ..., vn): pp_values_from() with those values
 * (1 to 24 of them; pp_values_create() makes an empty tuple).
 */
#define PP_VALUE(x)                                                                                \
    _Generic((x),                                                                                  \
        _Bool: pp_value_int,                                                                       \
        char: pp_value_int,                                                                        \
        signed char: pp_value_int,                                                                 \
        unsigned char: pp_value_int,                                                               \
        short: pp_value_int,                                                                       \
        unsigned short: pp_value_int,                                                              \
        int: pp_value_int,                                                                         \
        unsigned int: pp_value_int,                                                                \
        long: pp_value_int,                                                                        \
        long long: pp_value_int,                                                                   \
        unsigned long: pp_value_uint,                                                              \
        unsigned long long: pp_value_uint,                                                         \
        float: pp_value_double,                                                                    \
        double: pp_value_double,                                                                   \
        char *: pp_value_str,                                                                      \
        const char *: pp_value_str,                                                                \
        pp_lock *: pp_value_lock,                                                                  \
        pp_shm *: pp_value_shm,                                                                    \
        pp_sem *: pp_value_sem,                                                                    \
        struct pp_queue *: pp_value_queue,                                                         \
        struct pp_array *: pp_value_array,                                                         \
        pp_event *: pp_value_event,                                                                \
        pp_barrier *: pp_value_barrier,                                                            \
        pp_cond *: pp_value_cond,                                                                  \
        pp_value_arg: pp_value_arg_of)(x)
#define pp_values_of(out, ...)                                                                     \
    pp_values_from((out), (const pp_value_arg[]){PP__MAP(PP_VALUE, __VA_ARGS__)},                  \
                   sizeof((const pp_value_arg[]){PP__MAP(PP_VALUE, __VA_ARGS__)}) /                \
                       sizeof(pp_value_arg))

/* The type of an argument of pp_values_pack() / a pointer of
 * pp_values_unpack(), as the checked functions expect it (part of the ABI:
 * values never change). */
#define PP__TYPECODE(x)                                                                            \
    _Generic((x), _Bool : 1, char : 1, signed char : 1, unsigned char : 1, short : 1,              \
             unsigned short : 1, int : 1, unsigned int : 2, long : 3, unsigned long : 4,           \
             long long : 5, unsigned long long : 6, float : 7, double : 7, long double : 8,        \
             char * : 9, const char * : 9, pp_lock * : 10, pp_shm * : 11, void * : 13,             \
             const void * : 12, int * : 21, unsigned int * : 22, long * : 23,                      \
             unsigned long * : 24, long long * : 25, unsigned long long * : 26, double * : 27,     \
             float * : 28, char ** : 29, const char ** : 29, pp_lock ** : 30, pp_shm ** : 31,      \
             void ** : 32, const void ** : 32, default : 12)
#define PP__TYPES(...)  ((const unsigned char[]){PP__MAP(PP__TYPECODE, __VA_ARGS__)})
#define PP__NTYPES(...) sizeof(PP__TYPES(__VA_ARGS__))

/* pp_values_pack(out, fmt, args...) / pp_values_unpack(v, fmt, ptrs...). */
#define pp_values_pack(out, ...) PP__CAT(PP__PACK, PP__MANY(__VA_ARGS__))(out, __VA_ARGS__)
#define PP__PACK0(out, fmt)      pp_values_pack_checked((out), (fmt), 0, NULL)
#define PP__PACK1(out, fmt, ...)                                                                   \
    pp_values_pack_checked((out), (fmt), PP__NTYPES(__VA_ARGS__), PP__TYPES(__VA_ARGS__),          \
                           __VA_ARGS__)
#define pp_values_unpack(v, ...) PP__CAT(PP__UNPACK, PP__MANY(__VA_ARGS__))(v, __VA_ARGS__)
#define PP__UNPACK0(v, fmt)      pp_values_unpack_checked((v), (fmt), 0, NULL)
#define PP__UNPACK1(v, fmt, ...)                                                                   \
    pp_values_unpack_checked((v), (fmt), PP__NTYPES(__VA_ARGS__), PP__TYPES(__VA_ARGS__),          \
                             __VA_ARGS__)

/* Preprocessor helpers: count (1..25), "more than one" (0/1), map. */
#define PP__CAT(a, b)  PP__CAT_(a, b)
#define PP__CAT_(a, b) a##b
#define PP__EXPAND(x)  x
#define PP__NTH(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18,   \
                _19, _20, _21, _22, _23, _24, _25, N, ...)                                         \
    N
#define PP__COUNT(...)                                                                             \
    PP__EXPAND(PP__NTH(__VA_ARGS__, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,    \
                       10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
#define PP__MANY(...)                                                                              \
    PP__EXPAND(PP__NTH(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, \
                       1, 1, 1, 0, 0))
#define PP__MAP(f, ...)      PP__EXPAND(PP__CAT(PP__MAP, PP__COUNT(__VA_ARGS__))(f, __VA_ARGS__))
#define PP__MAP1(f, a)       f(a)
#define PP__MAP2(f, a, ...)  f(a), PP__EXPAND(PP__MAP1(f, __VA_ARGS__))
#define PP__MAP3(f, a, ...)  f(a), PP__EXPAND(PP__MAP2(f, __VA_ARGS__))
#define PP__MAP4(f, a, ...)  f(a), PP__EXPAND(PP__MAP3(f, __VA_ARGS__))
#define PP__MAP5(f, a, ...)  f(a), PP__EXPAND(PP__MAP4(f, __VA_ARGS__))
#define PP__MAP6(f, a, ...)  f(a), PP__EXPAND(PP__MAP5(f, __VA_ARGS__))
#define PP__MAP7(f, a, ...)  f(a), PP__EXPAND(PP__MAP6(f, __VA_ARGS__))
#define PP__MAP8(f, a, ...)  f(a), PP__EXPAND(PP__MAP7(f, __VA_ARGS__))
#define PP__MAP9(f, a, ...)  f(a), PP__EXPAND(PP__MAP8(f, __VA_ARGS__))
#define PP__MAP10(f, a, ...) f(a), PP__EXPAND(PP__MAP9(f, __VA_ARGS__))
#define PP__MAP11(f, a, ...) f(a), PP__EXPAND(PP__MAP10(f, __VA_ARGS__))
#define PP__MAP12(f, a, ...) f(a), PP__EXPAND(PP__MAP11(f, __VA_ARGS__))
#define PP__MAP13(f, a, ...) f(a), PP__EXPAND(PP__MAP12(f, __VA_ARGS__))
#define PP__MAP14(f, a, ...) f(a), PP__EXPAND(PP__MAP13(f, __VA_ARGS__))
#define PP__MAP15(f, a, ...) f(a), PP__EXPAND(PP__MAP14(f, __VA_ARGS__))
#define PP__MAP16(f, a, ...) f(a), PP__EXPAND(PP__MAP15(f, __VA_ARGS__))
#define PP__MAP17(f, a, ...) f(a), PP__EXPAND(PP__MAP16(f, __VA_ARGS__))
#define PP__MAP18(f, a, ...) f(a), PP__EXPAND(PP__MAP17(f, __VA_ARGS__))
#define PP__MAP19(f, a, ...) f(a), PP__EXPAND(PP__MAP18(f, __VA_ARGS__))
#define PP__MAP20(f, a, ...) f(a), PP__EXPAND(PP__MAP19(f, __VA_ARGS__))
#define PP__MAP21(f, a, ...) f(a), PP__EXPAND(PP__MAP20(f, __VA_ARGS__))
#define PP__MAP22(f, a, ...) f(a), PP__EXPAND(PP__MAP21(f, __VA_ARGS__))
#define PP__MAP23(f, a, ...) f(a), PP__EXPAND(PP__MAP22(f, __VA_ARGS__))
#define PP__MAP24(f, a, ...) f(a), PP__EXPAND(PP__MAP23(f, __VA_ARGS__))
#define PP__MAP25(f, a, ...) f(a), PP__EXPAND(PP__MAP24(f, __VA_ARGS__))
#endif

/** @brief Number of items (0 for NULL). */
PP_API size_t pp_values_count(const pp_values *v);

/** @brief Type of item i, #PP_TYPE_NONE when out of range or v is NULL. */
PP_API pp_type pp_values_type(const pp_values *v, size_t i);

/** @name Typed access to item i.
 * Errors the caller must handle: #PP_EINVAL (NULL argument), #PP_ERANGE
 * (i out of range), #PP_ETYPE (item i has another type).
 * Returned pointers are borrowed and valid while the tuple lives. */
/**@{*/
PP_API pp_status pp_values_get_int(const pp_values *v, size_t i, int64_t *out);
PP_API pp_status pp_values_get_double(const pp_values *v, size_t i, double *out);
PP_API pp_status pp_values_get_str(const pp_values *v, size_t i, const char **out);
PP_API pp_status pp_values_get_bytes(const pp_values *v, size_t i, const void **data, size_t *len);
/** In the parent: the handle that was added. In a worker: a handle the
 * worker process keeps open (one per lock) for its whole life. In a
 * worker where the lock could not be attached (its creator destroyed it,
 * or destroyed it and created another lock under its name: #PP_ENOENT),
 * that error is returned with *out NULL, never #PP_OK. A worker that had
 * attached the lock before its creator destroyed it keeps that handle and
 * returns it (pool.h, "Sharing a lock"). */
PP_API pp_status pp_values_get_lock(const pp_values *v, size_t i, pp_lock **out);
/** As pp_values_get_lock(), for a shared memory block: in a worker a
 * handle kept for the process's life (so pp_shm_ptr() is stable across
 * tasks), or the reason it could not be attached with *out NULL. */
PP_API pp_status pp_values_get_shm(const pp_values *v, size_t i, pp_shm **out);
/** As pp_values_get_lock(), for a local sync object (sync.h): #PP_ETYPE
 *  if item i is not one, or one of another kind. In a worker the handle
 *  is process-lifetime: do not destroy it. */
PP_API pp_status pp_values_get_sem(const pp_values *v, size_t i, pp_sem **out);
PP_API pp_status pp_values_get_event(const pp_values *v, size_t i, pp_event **out);
PP_API pp_status pp_values_get_barrier(const pp_values *v, size_t i, pp_barrier **out);
PP_API pp_status pp_values_get_cond(const pp_values *v, size_t i, pp_cond **out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_VALUE_H */
