/*
 * pack.c — pp_values_pack() / pp_values_unpack(): a tuple from a format
 * string and arguments, and back. A client of the container's public API
 * only (values.h), so it cannot bypass the container's checks.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "procpool/value.h"
#include "values/value_internal.h"

/* value.h's C11 macros pp_values_pack / pp_values_unpack are the callers'
 * side; the definitions below name the functions in parentheses. */
#define PACK_CHARS "ildsbkm"

static int fmt_valid(const char *fmt)
{
    return strspn(fmt, PACK_CHARS) == strlen(fmt);
}

static pp_status pack_one(pp_values *v, char c, va_list *ap)
{
    const void *p;

    switch (c) {
    case 'i':
        return pp_values_add_int(v, va_arg(*ap, int));
    case 'l':
        return pp_values_add_int(v, va_arg(*ap, int64_t));
    case 'd':
        return pp_values_add_double(v, va_arg(*ap, double));
    case 's':
        return pp_values_add_str(v, va_arg(*ap, const char *));
    case 'b':
        /* Arguments are evaluated in unspecified order: fetch in turn. */
        p = va_arg(*ap, const void *);
        return pp_values_add_bytes(v, p, va_arg(*ap, size_t));
    case 'k':
        return pp_values_add_lock(v, va_arg(*ap, pp_lock *));
    default: /* 'm'; fmt_valid() ruled out anything else */
        return pp_values_add_shm(v, va_arg(*ap, pp_shm *));
    }
}

/* out and fmt are checked. */
static pp_status pack_va(pp_values **out, const char *fmt, va_list *ap)
{
    pp_values *v;
    pp_status st;

    st = pp_values_create(&v);
    if (st != PP_OK)
        return st;
    for (; st == PP_OK && *fmt != '\0'; fmt++)
        st = pack_one(v, *fmt, ap);
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st;
    }
    *out = v;
    return PP_OK;
}

/* The name is in parentheses: in C11 value.h makes it a macro. */
pp_status(pp_values_pack)(pp_values **out, const char *fmt, ...)
{
    pp_status st;
    va_list ap;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    va_start(ap, fmt);
    st = pack_va(out, fmt, &ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------ argument type checks */

/* The codes of PP__TYPECODE() (value.h) for the types the format
 * characters name; a pointer to one of the first ones is 20 more. */
#define TC_INT    1
#define TC_UINT   2
#define TC_LONG   3
#define TC_ULONG  4
#define TC_LLONG  5
#define TC_ULLONG 6
#define TC_DOUBLE 7
#define TC_STR    9
#define TC_LOCK   10
#define TC_SHM    11
#define TC_PTR    12 /* any other pointer (or a struct...) */
#define TC_VOIDP  13 /* void *: NULL, or a pointer nobody can check */
#define TC_TO     20 /* TC_TO + x: pointer to x */
#define TC_VOIDPP 32 /* void ** / const void ** */

/* A 64-bit signed type: int64_t's own, or the other of long / long long
 * if it has the same size (the same representation). */
static int is_i64(unsigned c)
{
    return (c == TC_LONG && sizeof(long) == 8) || (c == TC_LLONG && sizeof(long long) == 8);
}

/* An unsigned type of size_t's size. */
static int is_size(unsigned c)
{
    return (c == TC_UINT && sizeof(unsigned) == sizeof(size_t)) ||
           (c == TC_ULONG && sizeof(unsigned long) == sizeof(size_t)) ||
           (c == TC_ULLONG && sizeof(unsigned long long) == sizeof(size_t));
}

/* Does the type of a pp_values_pack() argument (c; d is the next one, for
 * 'b') fit format character f? */
static int pack_fits(char f, unsigned c, unsigned d)
{
    switch (f) {
    case 'i':
        return c == TC_INT || c == TC_UINT; /* narrower types arrive as int */
    case 'l':
        return is_i64(c);
    case 'd':
        return c == TC_DOUBLE; /* float arrives as double */
    case 's':
        return c == TC_STR || c == TC_VOIDP;
    case 'b':
        return (c == TC_STR || c == TC_PTR || c == TC_VOIDP) && is_size(d);
    case 'k':
        return c == TC_LOCK || c == TC_VOIDP;
    default: /* 'm' */
        return c == TC_SHM || c == TC_VOIDP;
    }
}

/* The same for a pointer of pp_values_unpack() (a void *, NULL say, is
 * accepted: it is refused as NULL, or trusted). */
static int unpack_fits(char f, unsigned c, unsigned d)
{
    if (f == 'b') /* const char ** too: bytes read as characters */
        return (c == TC_VOIDPP || c == TC_TO + TC_STR || c == TC_VOIDP) &&
               (d == TC_VOIDP || (d > TC_TO && is_size(d - TC_TO)));
    if (c == TC_VOIDP)
        return 1;
    switch (f) {
    case 'i':
        return c == TC_TO + TC_INT;
    case 'l':
        return c > TC_TO && is_i64(c - TC_TO);
    case 'd':
        return c == TC_TO + TC_DOUBLE;
    case 's':
        return c == TC_TO + TC_STR;
    case 'k':
        return c == TC_TO + TC_LOCK;
    default: /* 'm' */
        return c == TC_TO + TC_SHM;
    }
}

/* PP_OK if the nargs codes in types are what fmt (valid) names. */
static pp_status check_types(const char *fmt, size_t nargs, const unsigned char *types, int unpack)
{
    size_t need = strlen(fmt), i, k = 0;
    int fits;

    for (i = 0; fmt[i] != '\0'; i++)
        need += fmt[i] == 'b'; /* pointer and length */
    if (nargs != need || (nargs > 0 && types == NULL))
        return PP_EINVAL;
    for (i = 0; fmt[i] != '\0'; i++) {
        unsigned d = fmt[i] == 'b' ? types[k + 1] : 0;

        fits = unpack ? unpack_fits(fmt[i], types[k], d) : pack_fits(fmt[i], types[k], d);
        if (!fits)
            return PP_ETYPE;
        k += fmt[i] == 'b' ? 2 : 1;
    }
    return PP_OK;
}

pp_status pp_values_pack_checked(pp_values **out, const char *fmt, size_t nargs,
                                 const unsigned char *types, ...)
{
    pp_status st;
    va_list ap;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    st = check_types(fmt, nargs, types, 0);
    if (st != PP_OK)
        return st;
    va_start(ap, types);
    st = pack_va(out, fmt, &ap);
    va_end(ap);
    return st;
}

/* Output pointers of one format character, fetched with their own types
 * (va_arg with another pointer type would be undefined). */
typedef struct unpack_out {
    void *p;
    size_t *len; /* 'b' only */
} unpack_out;

static void unpack_fetch(char c, va_list *ap, unpack_out *o)
{
    o->len = NULL;
    switch (c) {
    case 'i':
        o->p = va_arg(*ap, int *);
        break;
    case 'l':
        o->p = va_arg(*ap, int64_t *);
        break;
    case 'd':
        o->p = va_arg(*ap, double *);
        break;
    case 's':
        o->p = (void *)va_arg(*ap, const char **);
        break;
    case 'b':
        o->p = (void *)va_arg(*ap, const void **);
        o->len = va_arg(*ap, size_t *);
        break;
    case 'k':
        o->p = va_arg(*ap, pp_lock **);
        break;
    default: /* 'm'; fmt_valid() ruled out anything else */
        o->p = va_arg(*ap, pp_shm **);
        break;
    }
}

/* Read item i for format character c into the matching member of val
 * (the typed getters check range, type, and that a lock or shm item has
 * its handle). */
typedef union unpack_val {
    int64_t i;
    double d;
    const char *s;
    struct {
        const void *p;
        size_t n;
    } b;
    pp_lock *k;
    pp_shm *m;
} unpack_val;

static pp_status unpack_get(const pp_values *v, size_t i, char c, unpack_val *val)
{
    pp_status st;

    switch (c) {
    case 'i':
        st = pp_values_get_int(v, i, &val->i);
        return st == PP_OK && (val->i < INT_MIN || val->i > INT_MAX) ? PP_ERANGE : st;
    case 'l':
        return pp_values_get_int(v, i, &val->i);
    case 'd':
        return pp_values_get_double(v, i, &val->d);
    case 's':
        return pp_values_get_str(v, i, &val->s);
    case 'b':
        return pp_values_get_bytes(v, i, &val->b.p, &val->b.n);
    case 'k':
        return pp_values_get_lock(v, i, &val->k);
    default: /* 'm' */
        return pp_values_get_shm(v, i, &val->m);
    }
}

static void unpack_store(char c, const unpack_val *val, const unpack_out *o)
{
    switch (c) {
    case 'i':
        *(int *)o->p = (int)val->i;
        break;
    case 'l':
        *(int64_t *)o->p = val->i;
        break;
    case 'd':
        memcpy(o->p, &val->d, sizeof(double));
        break;
    case 's':
        *(const char **)o->p = val->s;
        break;
    case 'b':
        *(const void **)o->p = val->b.p;
        *o->len = val->b.n;
        break;
    case 'k':
        *(pp_lock **)o->p = val->k;
        break;
    default: /* 'm' */
        *(pp_shm **)o->p = val->m;
        break;
    }
}

/*
 * One format character of pp_values_unpack(). With store == 0 only checks
 * (argument not NULL, type, range), so a failing unpack writes nothing.
 */
static pp_status unpack_one(const pp_values *v, size_t i, char c, va_list *ap, int store)
{
    unpack_val val;
    unpack_out o;
    pp_status st;

    unpack_fetch(c, ap, &o);
    if (o.p == NULL || (c == 'b' && o.len == NULL))
        return PP_EINVAL;
    st = unpack_get(v, i, c, &val);
    if (st == PP_OK && store)
        unpack_store(c, &val, &o);
    return st;
}

static pp_status unpack_pass(const pp_values *v, const char *fmt, va_list *ap, int store)
{
    pp_status st = PP_OK;
    size_t i;

    for (i = 0; st == PP_OK && fmt[i] != '\0'; i++)
        st = unpack_one(v, i, fmt[i], ap, store);
    return st;
}

/* v and fmt are checked. */
static pp_status unpack_va(const pp_values *v, const char *fmt, va_list *ap)
{
    pp_status st;
    va_list ap2;

    va_copy(ap2, *ap);
    /* Check everything first, then store: all-or-nothing. */
    st = unpack_pass(v, fmt, &ap2, 0);
    if (st == PP_OK)
        st = unpack_pass(v, fmt, ap, 1);
    va_end(ap2);
    return st;
}

pp_status(pp_values_unpack)(const pp_values *v, const char *fmt, ...)
{
    pp_status st;
    va_list ap;

    if (v == NULL || fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    va_start(ap, fmt);
    st = unpack_va(v, fmt, &ap);
    va_end(ap);
    return st;
}

pp_status pp_values_unpack_checked(const pp_values *v, const char *fmt, size_t nargs,
                                   const unsigned char *types, ...)
{
    pp_status st;
    va_list ap;

    if (v == NULL || fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    st = check_types(fmt, nargs, types, 1);
    if (st != PP_OK)
        return st;
    va_start(ap, types);
    st = unpack_va(v, fmt, &ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------------- typed values */

pp_status pp_values_from(pp_values **out, const pp_value_arg *items, size_t n)
{
    pp_values *v;
    pp_status st;
    size_t i;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (items == NULL && n > 0)
        return PP_EINVAL;
    st = pp_values_create(&v);
    for (i = 0; st == PP_OK && i < n; i++) {
        const pp_value_arg *a = &items[i];

        switch (a->type) {
        case PP_TYPE_INT:
            st = pp_values_add_int(v, a->u.i);
            break;
        case PP_TYPE_DOUBLE:
            st = pp_values_add_double(v, a->u.d);
            break;
        case PP_TYPE_STR:
            st = pp_values_add_str(v, a->u.s);
            break;
        case PP_TYPE_BYTES:
            st = pp_values_add_bytes(v, a->u.b.p, a->u.b.n);
            break;
        case PP_TYPE_LOCK:
            st = pp_values_add_lock(v, a->u.k);
            break;
        case PP_TYPE_SHM:
            st = pp_values_add_shm(v, a->u.m);
            break;
        case PP_TYPE_SYNC:
            st = pp__values_add_sync(v, a->u.y);
            break;
        case PP_TYPE_NONE:
            st = PP_ERANGE; /* pp_value_uint() beyond INT64_MAX */
            break;
        default:
            st = PP_EINVAL;
            break;
        }
    }
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st;
    }
    *out = v;
    return PP_OK;
}

pp_value_arg pp_value_int(int64_t x)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_INT;
    a.u.i = x;
    return a;
}

pp_value_arg pp_value_uint(uint64_t x)
{
    pp_value_arg a = pp_value_int((int64_t)(x & (uint64_t)INT64_MAX));

    if (x > (uint64_t)INT64_MAX)
        a.type = PP_TYPE_NONE;
    return a;
}

pp_value_arg pp_value_double(double x)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_DOUBLE;
    a.u.d = x;
    return a;
}

pp_value_arg pp_value_str(const char *s)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_STR;
    a.u.s = s;
    return a;
}

pp_value_arg pp_value_bytes(const void *p, size_t n)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_BYTES;
    a.u.b.p = p;
    a.u.b.n = n;
    return a;
}

pp_value_arg pp_value_lock(pp_lock *lock)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_LOCK;
    a.u.k = lock;
    return a;
}

pp_value_arg pp_value_shm(pp_shm *shm)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_SHM;
    a.u.m = shm;
    return a;
}

pp_value_arg pp_value_arg_of(pp_value_arg a)
{
    return a;
}
