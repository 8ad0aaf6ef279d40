/*
 * mgr_obj.h — the hosted objects of the manager server: their kinds, the
 * ops of an OBJ request (mgr_proto.h), and the per-kind ops table the
 * server (mgr_server.c) dispatches through.
 *
 * Every object of every kind lives in the server's one table
 * (mgr_obj_table.c) under its one mutex; a state change broadcasts one
 * condition variable and a waiter re-checks its object after every
 * wake-up (it may be gone: look it up again with pp__mgr_srv_find()).
 * The lock kinds are the exception: a lock's waiters queue in FIFO order
 * and a release hands the lock to the first one directly, waking that
 * waiter's connection only (pp__mgr_srv_conn_wait/_signal). A kind's code
 * (mgr_obj_lock.c, mgr_obj_sync.c, mgr_obj_data.c) runs with the mutex
 * held.
 *
 * What an OBJ request means per kind (a, b, key, data; the reply's value
 * and data):
 *   CREATE   LOCK/RLOCK/EVENT/DICT -; SEM/BSEM a = initial value;
 *            COND a = lock id; BARRIER a = parties; VALUE a = pp_type,
 *            b = initial bits; QUEUE a = maxsize (0: none) -> value = id
 *   OPEN     COND a = the id of the lock the opener has a handle of
 *            -> value: VALUE its pp_type, QUEUE its maxsize, else 0
 *   ACQUIRE  LOCK/RLOCK -> fencing token; SEM/BSEM; (timeout 0: try)
 *            PP_ETIMEDOUT at the slice's end
 *   RELEASE  LOCK/RLOCK/SEM/BSEM
 *   GET      SEM -> value; EVENT -> is_set; VALUE a = pp_type -> bits;
 *            BARRIER -> waiting | broken << 32; DICT key -> data: tuple
 *   SET      EVENT; VALUE a = pp_type, b = bits; DICT key, data: tuple
 *   CLEAR    EVENT
 *   WAIT     EVENT, COND, BARRIER: ticketed (PP_ENOTREADY + ticket in
 *            value until done; flags GIVE_UP: the client's deadline
 *            passed); BARRIER -> value = arrival index
 *   NOTIFY   COND a = n (-1: all)
 *   ADD      VALUE a = pp_type, b = delta (bits) -> new bits;
 *            DICT key, b = delta -> new value
 *   CAS      VALUE key = 1 byte pp_type, a = expected bits, b = desired
 *            bits -> value = old bits; PP_OK swapped, PP_EBUSY not
 *   PUT      QUEUE data: tuple (timeout 0: try) -> PP_ETIMEDOUT when full
 *   TAKE     QUEUE -> data: tuple (timeout 0: try) -> PP_ETIMEDOUT empty
 *   DELETE   DICT key;  CONTAINS DICT key -> value 0/1
 *   LEN      QUEUE, DICT -> value
 *   KEYS     DICT -> data: u32 count, per key u32 n + n bytes
 *   ABORT    BARRIER;  RESET BARRIER
 */
#ifndef PROCPOOL_MANAGER_MGR_OBJ_H
#define PROCPOOL_MANAGER_MGR_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "wire/buf.h"
#include "manager/mgr_proto.h"

/* Kind bytes: they travel (OBJ requests, later locators); never renumber. */
enum {
    PP__MK_LOCK = 1,
    PP__MK_RLOCK = 2,
    PP__MK_SEM = 3,
    PP__MK_BSEM = 4,
    PP__MK_COND = 5,
    PP__MK_EVENT = 6,
    PP__MK_BARRIER = 7,
    PP__MK_VALUE = 8,
    PP__MK_QUEUE = 9,
    PP__MK_DICT = 10,
    PP__MK_COUNT = 11
};

/* Op bytes of an OBJ request. */
enum {
    PP__MOP_CREATE = 1,
    PP__MOP_OPEN = 2,
    PP__MOP_ACQUIRE = 3,
    PP__MOP_RELEASE = 4,
    PP__MOP_GET = 5,
    PP__MOP_SET = 6,
    PP__MOP_CLEAR = 7,
    PP__MOP_WAIT = 8,
    PP__MOP_NOTIFY = 9,
    PP__MOP_ADD = 10,
    PP__MOP_CAS = 11,
    PP__MOP_PUT = 12,
    PP__MOP_TAKE = 13,
    PP__MOP_DELETE = 14,
    PP__MOP_CONTAINS = 15,
    PP__MOP_LEN = 16,
    PP__MOP_KEYS = 17,
    PP__MOP_ABORT = 18,
    PP__MOP_RESET = 19
};

/* A connection, as the objects see it: an identity to compare. */
typedef struct pp__mgr_conn pp__mgr_conn;

typedef struct pp__mobj {
    uint64_t id;
    uint8_t kind;
    pp__mgr_conn *creator;
    void *state; /* the kind's */
    struct pp__mobj *next;
} pp__mobj;

/* A request's context: who asks, the reply's value and data. */
typedef struct pp__mctx {
    pp__mgr_conn *conn;
    const pp__mgr_req *rq;
    uint64_t value;
    pp__buf *data; /* appended to the reply */
} pp__mctx;

typedef struct pp__mkind_ops {
    /* Make o->state from rq (a, b). */
    pp_status (*create)(pp__mobj *o, pp__mctx *cx);
    /* Any op but CREATE and OPEN (OPEN: NULL check unless set). */
    pp_status (*op)(pp__mobj *o, pp__mctx *cx);
    /* OPEN's check (NULL: any opener may). */
    pp_status (*open)(pp__mobj *o, pp__mctx *cx);
    /* The connection ended: give back what it holds, drop its waits. */
    void (*conn_end)(pp__mobj *o, pp__mgr_conn *c);
    /* Free o->state (o is unlinked; waiters find it gone). */
    void (*destroy)(pp__mobj *o);
} pp__mkind_ops;

/* The kinds' tables (NULL for unused kind bytes). */
extern const pp__mkind_ops pp__mk_lock, pp__mk_rlock, pp__mk_sem, pp__mk_bsem, pp__mk_cond,
    pp__mk_event, pp__mk_barrier, pp__mk_value, pp__mk_queue, pp__mk_dict;
const pp__mkind_ops *pp__mk_ops(uint8_t kind);

/* Server services (mgr_server.c), called with the mutex held. */
pp__mobj *pp__mgr_srv_find(uint64_t id);
/* Wait on the table's condition until deadline (ms, pp__plat_now_ms());
 * spurious wake-ups happen. */
void pp__mgr_srv_wait(int64_t deadline);
void pp__mgr_srv_wake(void);
/* Wait on c's own condition variable until deadline, or until a
 * pp__mgr_srv_conn_signal(c) (only c's thread waits on it; spurious
 * wake-ups happen). */
void pp__mgr_srv_conn_wait(pp__mgr_conn *c, int64_t deadline);
void pp__mgr_srv_conn_signal(pp__mgr_conn *c);
/* Has c's peer closed (seen without blocking, while c's own request
 * runs)? A waiter about to take something checks it, so a dead waiter
 * does not take what a live one waits for. */
int pp__mgr_srv_conn_gone(pp__mgr_conn *c);
/* A fresh ticket (never 0). */
uint64_t pp__mgr_srv_ticket(void);
/* The deadline of one server-side wait of rq (its timeout, cut to one
 * slice). */
int64_t pp__mgr_srv_deadline(const pp__mgr_req *rq);

/* The lock kinds' services for a condition (mgr_obj_lock.c). */
/* Does c hold lock o (LOCK or RLOCK)? */
int pp__mlock_held_by(const pp__mobj *o, const pp__mgr_conn *c);
/* Release every hold of c on o: *count gets how many (1 for LOCK). */
void pp__mlock_release_all(pp__mobj *o, pp__mgr_conn *c, int64_t *count);
/* Take o for c with count holds if it is free (nobody holds it, so
 * nobody queues for it either): PP_OK, PP_EOWNERDEAD, or PP_EBUSY (held
 * by another). */
pp_status pp__mlock_take(pp__mobj *o, pp__mgr_conn *c, int64_t count);
/* c read the reply of its wait on condition o (CONFIRM_NR, mgr_proto.h):
 * the lock it took back is its own from now on. */
void pp__mcond_confirm(pp__mobj *o, pp__mgr_conn *c);

#endif /* PROCPOOL_MANAGER_MGR_OBJ_H */
