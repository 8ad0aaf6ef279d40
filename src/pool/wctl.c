/*
 * wctl.c — a worker's control block (pool/wctl.h).
 */
#include <string.h>

#include "platform.h"
#include "pool/wctl.h"

#define GATE_REVOKED 1u

#define DONE_ITEMS(d)      ((unsigned)((d)&0xffffu))
#define DONE_KEPT(d)       ((unsigned)(((d) >> 16) & 0xffffu))
#define DONE_BYTES(d)      ((size_t)(((d) >> 32) & 0x7fffffffu))
#define DONE_RUNNING       ((uint64_t)1 << 63)
#define DONE_MAKE(i, k, b) ((uint64_t)(i) | ((uint64_t)(k) << 16) | ((uint64_t)(b) << 32))

void pp__wctl_init(pp__wctl *c)
{
    c->magic = PP__WCTL_MAGIC;
    c->area_size = (uint32_t)PP__WCTL_AREA;
    pp__plat_atomic_store64(&c->done, 0);
    pp__plat_atomic_store64(&c->gate, 0); /* "started chunk 0": ids start at 1 */
}

pp_status pp__wctl_check(const pp__wctl *c, size_t size)
{
    if (size < PP__WCTL_SIZE || c->magic != PP__WCTL_MAGIC || c->area_size != PP__WCTL_AREA)
        return PP_EPROTO;
    return PP_OK;
}

int pp__wctl_claim(pp__wctl *c, uint64_t id)
{
    uint64_t g;

    /* Progress of the previous chunk is over: published before the claim,
     * so a parent that sees the claim sees this chunk's progress only. */
    pp__plat_atomic_store64(&c->done, 0);
    for (;;) {
        g = pp__plat_atomic_load64(&c->gate);
        if ((g & GATE_REVOKED) && id <= (g >> 1))
            return 0;
        if (pp__plat_atomic_cas64(&c->gate, g, id << 1))
            return 1;
    }
}

void pp__wctl_item_start(pp__wctl *c, unsigned i)
{
    uint64_t d = pp__plat_atomic_load64(&c->done);

    pp__plat_atomic_store64(&c->done, DONE_MAKE(i, DONE_KEPT(d), DONE_BYTES(d)) | DONE_RUNNING);
}

void pp__wctl_item_done(pp__wctl *c, unsigned i, const uint8_t *outcome, size_t n)
{
    uint64_t d = pp__plat_atomic_load64(&c->done);
    unsigned kept = DONE_KEPT(d);
    size_t bytes = DONE_BYTES(d);

    if (kept == i && n <= c->area_size - bytes) {
        memcpy(pp__wctl_area(c) + bytes, outcome, n);
        kept++;
        bytes += n;
    }
    pp__plat_atomic_store64(&c->done, DONE_MAKE(i + 1, kept, bytes));
}

int pp__wctl_revoke(pp__wctl *c, uint64_t through, uint64_t *bound)
{
    uint64_t g, b;

    for (;;) {
        g = pp__plat_atomic_load64(&c->gate);
        b = g >> 1;
        if (b >= through)
            return 0;
        if (pp__plat_atomic_cas64(&c->gate, g, (through << 1) | GATE_REVOKED)) {
            *bound = b;
            return 1;
        }
    }
}

void pp__wctl_read(pp__wctl *c, pp__wctl_progress *out)
{
    uint64_t g = pp__plat_atomic_load64(&c->gate);
    uint64_t d = pp__plat_atomic_load64(&c->done);

    out->bound = g >> 1;
    out->done = DONE_ITEMS(d);
    out->kept = DONE_KEPT(d);
    out->bytes = DONE_BYTES(d);
    out->running = (d & DONE_RUNNING) != 0;
    if (out->bytes > c->area_size || out->kept > out->done) {
        /* a dying worker cannot half-write one word, but a buggy one can
         * write nonsense: trust nothing of it */
        out->kept = 0;
        out->bytes = 0;
    }
}
