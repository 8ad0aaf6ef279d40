/*
 * queue_ring.h — the ring of a pp_queue (queue.h) inside its sync
 * segment: the state, the item headers and the steps that move items
 * through their states (queue_ring.c). Not installed; queue.c is the
 * only user.
 *
 * State (in the segment, after the struct qstate): a byte ring of cap
 * bytes (a multiple of 8). Positions grow (ring offset = position % cap),
 * except that an empty queue may go back to its lap's start
 * (qr_reclaim()). An item at position p is a 24-byte header — a state word (u32
 * length | u32 mark << 32), the pid and the start stamp of the process
 * that last owned it — then length bytes of encoded tuple, padded to 8.
 * Header words never straddle the ring's end (8-byte aligned); the data
 * may wrap around it.
 *
 *   head <= rhead <= tail:
 *   [head, rhead)  items got or being got (CLAIMED, DONE), not yet free;
 *   [rhead, tail)  items being put (RESERVED), in the queue (COMMITTED),
 *                  and items got out of order (CLAIMED, DONE) behind a
 *                  RESERVED one; an ABANDONED one is skipped as DONE.
 *
 * An item's life: RESERVED (under the state mutex: header, tail, nres in
 * one redo record) -> the producer copies the data WITHOUT the mutex ->
 * COMMITTED (under the mutex: mark, count, nres in one record) ->
 * CLAIMED (under the mutex: mark, owner, count, rhead in one record) ->
 * the consumer decodes it WITHOUT the mutex, straight from the ring ->
 * DONE (one CAS of the state word, no mutex) -> freed when head passes
 * it (under the mutex, whoever needs room). So the mutex is held for a
 * few stores per step, never for a large copy or a decode. Small items
 * (and ones of more than a quarter of the ring) skip the middle states:
 * qr_put() writes one past tail and publishes it COMMITTED in one record,
 * qr_take() copies one out and removes it in one record.
 *
 * Deaths: a producer killed while copying leaves a RESERVED item with its
 * (pid, stamp): nothing of it is ever got, and whoever finds it blocking
 * (a putter waiting for room for a slice, a getter walking past many
 * items) checks the owner's liveness and turns it DONE. A consumer killed
 * while decoding leaves a CLAIMED item, turned DONE the same way: that
 * one item is lost. A process killed with the mutex: the next holder
 * rolls its redo record forward (sobj.h), then check_ring() walks the
 * ring once and recounts.
 *
 * Marks depend on the position (mark ^ position / 8), so the stale
 * header of an item freed long ago is never taken for a live one.
 */
#ifndef PROCPOOL_VALUES_QUEUE_RING_H
#define PROCPOOL_VALUES_QUEUE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/queue.h"
#include "sync/sobj.h"

typedef struct qstate {
    pp__sobj_redo redo; /* first member (sobj.h) */
    uint64_t cap;       /* ring bytes, immutable */
    uint64_t maxsize;   /* immutable; 0: no count limit */
    uint64_t head;
    uint64_t rhead;
    uint64_t tail;
    uint64_t count;    /* COMMITTED items: what qsize says */
    uint64_t nres;     /* RESERVED and ABANDONED items (count against maxsize) */
    uint64_t check_at; /* pp__plat_now_ms(): the next dead-owner check of a long walk */
    /* 1: a getter may nap for an item / a putter for room; who makes one
     * (commit; done, take) clears it and wakes (qr_flag_take()). Without
     * them nobody touches the wake word: a busy queue makes no wake. */
    uint64_t wait_items;
    uint64_t wait_room;
} qstate;

/* The ring starts 64-byte aligned after the state. */
#define QR_RING_OFF ((sizeof(qstate) + 63u) & ~(size_t)63u)

/* Item states (the mark of the state word, before the position is mixed
 * in); QR_BAD: a header that is none of them, or does not fit. */
enum { QR_BAD = 0, QR_RES, QR_COM, QR_CLM, QR_DONE, QR_ABAN };

static inline uint8_t *qr_ring(qstate *s)
{
    return (uint8_t *)s + QR_RING_OFF;
}

static inline size_t qr_need(size_t len)
{
    return PP_QUEUE_ITEM_OVERHEAD + ((len + 7u) & ~(size_t)7u);
}

/* Word i (0 state, 1 pid, 2 stamp) of the header at pos. */
static inline volatile uint64_t *qr_word(qstate *s, uint64_t pos, unsigned i)
{
    return (volatile uint64_t *)(qr_ring(s) + (pos + 8u * i) % s->cap);
}

/* The state word of an item of len bytes at pos in state st. */
uint64_t qr_state_word(uint64_t pos, int st, size_t len);

/* Copy n bytes into / out of the ring from position pos, wrapping. */
void qr_write(qstate *s, uint64_t pos, const void *src, size_t n);
void qr_read(qstate *s, uint64_t pos, void *dst, size_t n);

/* Free the DONE items at head (mutex held). */
void qr_reclaim(qstate *s);

/* Mutex held, room checked: record a RESERVED item of len bytes at tail,
 * owned by me; returns its position. */
uint64_t qr_reserve(qstate *s, size_t len, const pp__sobj_proc *me);
/* Mutex held: the RESERVED item at pos is COMMITTED. */
void qr_commit(qstate *s, uint64_t pos, size_t len);
/* Without the mutex, by the item's own producer that could not take it
 * back: the RESERVED item at pos is ABANDONED (freed by the next walk). */
void qr_abandon(qstate *s, uint64_t pos, size_t len);

/* Mutex held, room checked: put a whole item of len bytes at tail,
 * COMMITTED at once (small items: the copy under the mutex costs less
 * than a second critical section). */
void qr_put(qstate *s, const void *data, size_t len);

/* Mutex held, count > 0: find the oldest COMMITTED item: 1 with *pos,
 * *len and *at_rhead (1: nothing before it is still in the queue); 0 if
 * there is none after all (a damaged ring, recounted). *steps: items
 * walked past (a RESERVED item holding rhead back makes this grow). */
int qr_find(qstate *s, uint64_t *pos, size_t *len, int *at_rhead, unsigned *steps);
/* Mutex held: claim the item qr_find() found for me (CLAIMED). */
void qr_claim(qstate *s, const pp__sobj_proc *me, uint64_t pos, size_t len, int at_rhead);
/* Mutex held: copy the item qr_find() found (len bytes) to dst and
 * remove it at once (small items). */
void qr_take(qstate *s, uint64_t pos, size_t len, int at_rhead, void *dst);
/* Mutex held: give the CLAIMED item at pos back (its consumer could not
 * decode it for lack of memory): COMMITTED again, the oldest one. */
void qr_unclaim(qstate *s, uint64_t pos, size_t len);
/* Without the mutex: the consumer is done with the item at pos (a
 * sequentially consistent step: a putter's wait_room mark set before
 * its last look at the ring is seen after it). */
void qr_done(qstate *s, uint64_t pos, size_t len);

/* Raise a waiter mark (sequentially consistent). */
void qr_flag_set(uint64_t *flag);
/* 1 if the mark was up and this call took it down (then: wake). A look
 * first, then a CAS: for callers that hold the state mutex (which orders
 * them with whoever raised the mark). */
int qr_flag_take(uint64_t *flag);

/* Mutex held: from position `from` (head, or rhead), turn the RESERVED /
 * CLAIMED items of dead owners that block it DONE (at most a few
 * liveness checks), then reclaim. Returns how many were turned. */
unsigned qr_unblock(qstate *s, uint64_t from);

/* Mutex held, after a holder died (its redo record rolled forward): walk
 * the ring, cut it at the first malformed header, recount count and nres
 * and put rhead on an item. Returns how many COMMITTED items were cut. */
uint64_t qr_check_ring(qstate *s);

#endif /* PROCPOOL_VALUES_QUEUE_RING_H */
