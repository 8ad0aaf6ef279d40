/*
 * value_repr.h — how a pp_values stores its items, shared by the files of
 * the values layer that build and read them (value.c: the container and
 * the plain items; value_named.c: lock, shm and proxy items). Nothing
 * outside src/values/ includes it.
 */
#ifndef PROCPOOL_VALUES_VALUE_REPR_H
#define PROCPOOL_VALUES_VALUE_REPR_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"
#include "core/core.h"
#include "sync/remote.h"

/* What travels for a hosted lock, and how messages name it. */
typedef struct remote_ref {
    pp__locator loc;
    char desc[PP__LOC_DESC_MAX];
} remote_ref;

/* A lock or shm item: its own allocation, so that the common items stay
 * small (below). */
typedef struct named_ref {
    char name[PP__NAME_BUF]; /* "" for a remote item */
    uint8_t kind;            /* PP_TYPE_SYNC: the kind (sync/sobj.h), else 0 */
    remote_ref *r;           /* a hosted lock: its locator; else NULL */
    uint64_t id;             /* the object's identity (sync.h), travels with the name */
    void *h;                 /* pp_lock * / pp_shm *, borrowed; NULL if resolution failed */
    pp_status st;            /* why h is NULL */
} named_ref;

/* 16 bytes on 64-bit targets: a million-int tuple is 16 MB, not 56 MB —
 * memory that map's arguments and results are built in and read from.
 * n is the length of a string or byte buffer (at most PP_VALUE_MAX_BYTES,
 * which fits in 32 bits). */
typedef struct value_item {
    pp_type type;
    uint32_t n;
    union {
        int64_t i;
        uint64_t d;   /* IEEE-754 bits, never loaded into an FP register */
        uint8_t *p;   /* PP_TYPE_STR, PP_TYPE_BYTES: n bytes + NUL */
        named_ref *k; /* PP_TYPE_LOCK, PP_TYPE_SHM, PP_TYPE_SYNC, PP_TYPE_PROXY */
    } u;
} value_item;

/* 24 bytes: counts fit 32 bits (PP_VALUES_MAX_ITEMS, PP_MESSAGE_MAX). */
struct pp_values {
    value_item *items;
    uint32_t count;
    uint32_t cap;
    uint32_t enc_size; /* bytes pp__values_encode() will append */
    uint32_t fixed;    /* read-only, in storage the tuple does not own */
};

/* A read-only one-scalar tuple in someone else's storage (result slabs). */
typedef struct scalar_tuple {
    pp_values v;
    value_item item;
} scalar_tuple;

/* A lock, shm or proxy item (one that names an object elsewhere). */
int pp__vi_is_named(pp_type type);
/* The next free slot for an item of enc encoded bytes: PP_ETOOBIG past
 * the wire format's limits, PP_ENOMEM. */
pp_status pp__vi_slot_get(pp_values *v, size_t enc, value_item **slot);
/* The slot pp__vi_slot_get() gave is filled: count it. */
void pp__vi_slot_commit(pp_values *v, pp_type type, size_t enc);
/* Common checks of the typed getters; *it is item i of the wanted type. */
pp_status pp__vi_item_get(const pp_values *v, size_t i, pp_type type, const value_item **it);

#endif /* PROCPOOL_VALUES_VALUE_REPR_H */
