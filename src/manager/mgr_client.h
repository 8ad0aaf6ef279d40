/*
 * mgr_client.h — the client side's shared parts: a request on a
 * pp_manager connection (mgr_client.c), and the header every handle of a
 * hosted object starts with (locks, mgr_client_obj.c, mgr_client_data.c),
 * so that a handle of any kind can be named by (kind, manager, id) — what
 * a locator in task arguments will carry.
 */
#ifndef PROCPOOL_MANAGER_MGR_CLIENT_H
#define PROCPOOL_MANAGER_MGR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/manager.h"
#include "platform.h"
#include "wire/buf.h"

/* What every handle of a hosted object holds. */
typedef struct pp__mgr_ref {
    uint8_t kind; /* PP__MK_* (mgr_obj.h) */
    pp_manager *mgr;
    uint64_t id;
    int creator; /* destroying the handle destroys the object */
} pp__mgr_ref;

/* One request and its reply: *status is the server's answer, *value its
 * value, data (NULL: dropped) gets the reply's data appended. The
 * returned status is the transport's: PP_OK, PP_ECONNLOST, PP_EPROTO,
 * PP_ENOMEM; any but PP_OK (and PP_ENOMEM of data) breaks the connection. */
pp_status pp__mgr_call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                       int64_t wait_ms, pp_status *status, uint64_t *value, pp__buf *data);

/* A request that gets no reply (RELEASE_NR, payload: id): sent, not
 * waited for; PP_ECONNLOST if the connection is (or now is) broken. */
pp_status pp__mgr_post(pp_manager *m, uint8_t type, uint64_t id);

/* The connection's mutex (one request at a time): a lock handle's hold
 * count is kept under it. */
pp__plat_mtx *pp__mgr_mutex(pp_manager *m);
/* PP_ESTATE in a process other than the one that opened m (a fork
 * child): it must not use its parent's connection. pp__mgr_call() and
 * pp__mgr_post() check it; so must anything that takes m's mutex. */
pp_status pp__mgr_check_process(const pp_manager *m);

/* An OBJ request's variable part (mgr_obj.h says the ops). */
typedef struct pp__mgr_objreq {
    uint8_t op;
    uint8_t flags;
    uint64_t ticket;
    int64_t timeout_ms; /* of this one request: 0..PP__MGR_SLICE_MS */
    int64_t a, b;
    const void *key;
    size_t keylen;
    const void *data;
    size_t datalen;
} pp__mgr_objreq;

/* One OBJ request on r's object: the server's answer, or the transport's
 * error. value may be NULL. */
pp_status pp__mgr_obj_call(const pp__mgr_ref *r, const pp__mgr_objreq *q, uint64_t *value,
                           pp__buf *data);

/* A blocking op, timeout_ms (PP_INFINITE or >= 0) in slices: stateless
 * (the server answers PP_ETIMEDOUT at a slice's end: asked again until
 * the deadline) or ticketed (PP_ENOTREADY + ticket: continued, with
 * GIVE_UP once the deadline passed). */
pp_status pp__mgr_obj_wait(const pp__mgr_ref *r, pp__mgr_objreq *q, int64_t timeout_ms,
                           int ticketed, uint64_t *value, pp__buf *data);

/* Create an object of kind with parameters a, b: *r filled (creator). */
pp_status pp__mgr_obj_create(pp_manager *mgr, uint8_t kind, int64_t a, int64_t b, pp__mgr_ref *r);

/* Open object id of kind (a: the OPEN parameter): *r filled, *value the
 * server's (may be NULL). */
pp_status pp__mgr_obj_open(pp_manager *mgr, uint8_t kind, uint64_t id, int64_t a, pp__mgr_ref *r,
                           uint64_t *value);

/* The handle goes: the creator's destroys the object (errors ignored:
 * a gone server or connection has dropped it already). */
void pp__mgr_obj_drop(const pp__mgr_ref *r);

/* One OBJ op that does not wait: the server's answer, *value (may be
 * NULL). */
pp_status pp__mgr_obj_simple(const pp__mgr_ref *r, uint8_t op, int64_t a, int64_t b,
                             uint64_t *value);

/* A handle of sz bytes that starts with its pp__mgr_ref (a struct of a
 * kind whose first member is the ref: a pointer to one converts to the
 * other), for a new object of kind (a, b: CREATE's parameters) or an
 * opened one (value: OPEN's answer, may be NULL). On a failure to
 * allocate the handle, a created object is destroyed again. */
pp_status pp__mgr_handle_create(pp_manager *mgr, uint8_t kind, int64_t a, int64_t b, size_t sz,
                                pp__mgr_ref **out);
pp_status pp__mgr_handle_open(pp_manager *mgr, uint8_t kind, uint64_t id, size_t sz,
                              pp__mgr_ref **out, uint64_t *value);
/* Free such a handle (NULL ok); the creator's destroys the object. */
void pp__mgr_handle_destroy(void *handle);

/* The manager lock or recursive lock behind a pp_lock, or NULL. */
const pp__mgr_ref *pp__mgr_lock_ref(const pp_lock *lock);

/* The kind (PP__MK_LOCK / RLOCK) and id of a condition's lock (its
 * locator carries them, mgr_values.c). */
struct pp_mcond;
void pp__mcond_lock(const struct pp_mcond *c, uint8_t *kind, uint64_t *id);

#endif /* PROCPOOL_MANAGER_MGR_CLIENT_H */
