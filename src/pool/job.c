/*
 * job.c — a submission's jobs and items: their memory (items, result
 * payloads kept encoded, slabs for read scalars), how items finish, fail
 * and complete, and the core (mutex + condition) a pool shares with its
 * jobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "pool/waitany.h"
#include "values/column.h"
#include "values/value_internal.h"

/* ------------------------------------------------------------------ core */

pp_status pp__core_create(pp__core **out)
{
    pp__core *c = calloc(1, sizeof *c);
    pp_status st;

    if (c == NULL)
        return PP_ENOMEM;
    st = pp__plat_mtx_create(&c->mu);
    if (st == PP_OK)
        st = pp__plat_cond_create(&c->cond);
    if (st != PP_OK) {
        pp__plat_mtx_destroy(c->mu);
        free(c);
        return st;
    }
    c->refs = 1;
    c->pid = pp__pool_self_pid();
    *out = c;
    return PP_OK;
}

void pp__core_unref_unlock(pp__core *c)
{
    unsigned left = --c->refs;

    pp__plat_mtx_unlock(c->mu);
    if (left == 0) {
        pp__plat_cond_destroy(c->cond);
        pp__plat_mtx_destroy(c->mu);
        free(c);
    }
}

/* ------------------------------------------------------------------ jobs */

void pp__report_unobserved(struct pp_result *j)
{
    const pp_error *e;

    char where[64] = "";
    char code[32] = "";

    if (j->first_failed >= j->n || j->observed || j->reported)
        return;
    j->reported = 1;
    e = pp__item_error(&j->items[j->first_failed]);
    /* Terminated work is what the caller asked for (pp_pool_terminate, or
     * destroying a pool without close + join, as Python's with-exit):
     * nothing the user could not have known. */
    if (e->status == PP_ETERMINATED)
        return;
    if (j->n > 1)
        snprintf(where, sizeof where, " (item %lu of %lu)", (unsigned long)j->first_failed,
                 (unsigned long)j->n);
    if (e->code != 0)
        snprintf(code, sizeof code, ", code %d", e->code);
    pp__log(PP_LOG_ERROR, "unobserved failure of task '%s'%s: %s (%s)%s%s%s", j->fname, where,
            pp_err_name(e->status), pp_strerror(e->status), code, e->message[0] ? ": " : "",
            e->message);
}

pp_status pp__item_status(const pp__item *it)
{
    switch (it->state) {
    case IT_PENDING:
        return PP_ENOTREADY;
    case IT_ERROR:
        return (pp_status)(int32_t)it->aux;
    default:
        return PP_OK;
    }
}

const pp_error *pp__item_error(const pp__item *it)
{
    static const pp_error no_memory = {
        PP_ENOMEM, 0, "the task failed, but there was no memory to record its error"};

    if (it->state != IT_ERROR)
        return NULL;
    return it->u.error != NULL ? it->u.error : &no_memory;
}

static void job_free(struct pp_result *j)
{
    size_t i;

    for (i = 0; j->nheld > 0 && i < j->n; i++) {
        if (j->items[i].state == IT_VALUE)
            pp_values_destroy(j->items[i].u.value);
        else if (j->items[i].state == IT_ERROR)
            free(j->items[i].u.error);
    }
    if (j->items != &j->item1)
        pp__mem_free(j->items, j->n * sizeof *j->items);
    if (j->colvals != NULL)
        pp__mem_free(j->colvals, j->n * sizeof *j->colvals);
    if (j->tuples != NULL)
        pp__mem_free(j->tuples, j->n * pp__values_scalar_size());
    free(j->order);
    while (j->raw != NULL) {
        pp__rawbuf *next = j->raw->next;
        pp__mem_free(j->raw, j->raw->size);
        j->raw = next;
    }
    while (j->slab != NULL) {
        pp__slab *next = j->slab->next;
        pp__mem_free(j->slab, sizeof *j->slab + j->slab->size);
        j->slab = next;
    }
    free(j);
}

/* size bytes (a multiple of 8) from j's slab. Caller holds the mutex. */
static void *slab_get(struct pp_result *j, size_t size)
{
    pp__slab *b = j->slab;
    size_t cap, big_cap, sz;
    void *mem;

    if (b == NULL || b->size - b->used < size) {
        /* 16 slots first (an apply reads one), then doubling to 4 MiB
         * (blocks from 2 MiB on are huge pages: platform.h's big blocks) */
        cap = b == NULL ? 16 * size : b->size * 2;
        if (cap > ((size_t)4 << 20) - sizeof *b)
            cap = ((size_t)4 << 20) - sizeof *b;
        sz = sizeof *b + cap;
        /* not zeroed: every slot is filled whole by whoever takes it */
        b = sz < PP__PLAT_BIG_MIN ? malloc(sz) : pp__mem_big_alloc(sz, 0, &big_cap);
        if (b == NULL)
            return NULL;
        b->size = cap;
        b->used = 0;
        b->next = j->slab;
        j->slab = b;
    }
    mem = (unsigned char *)b->data + b->used;
    b->used += size;
    return mem;
}

pp_status pp__item_value_locked(struct pp_result *j, size_t i, const pp_values **value)
{
    pp__item *it = &j->items[i];
    pp_values *v;
    pp_status st;
    pp__rd rd;

    if (it->state == IT_COLVAL) {
        if (it->u.value == NULL) {
            void *mem = slab_get(j, pp__values_scalar_size());
            if (mem == NULL)
                return PP_ENOMEM;
            /* In the slab; the item stays IT_COLVAL (its value in
             * colvals: the bulk reads' counts stay exact). */
            it->u.value = pp__values_init_scalar(mem, (pp_type)it->aux, j->colvals[i]);
        }
        *value = it->u.value;
        return PP_OK;
    }
    if (it->state == IT_SCALAR) {
        void *mem = slab_get(j, pp__values_scalar_size());
        if (mem == NULL)
            return PP_ENOMEM;
        /* Lives in the slab: nothing to count for job_free. */
        it->u.value = pp__values_init_scalar(mem, (pp_type)it->aux, it->u.bits);
        it->state = IT_VALUE;
    } else if (it->state == IT_STR || it->state == IT_BYTES) {
        void *mem = slab_get(j, pp__values_scalar_size());
        if (mem == NULL)
            return PP_ENOMEM;
        /* Read in place: the bytes stay in j's kept payload, NUL after. */
        it->u.value = pp__values_init_blob(mem, it->state == IT_STR ? PP_TYPE_STR : PP_TYPE_BYTES,
                                           it->u.raw, it->aux);
        it->state = IT_VALUE;
    } else if (it->state == IT_RAW) {
        pp__rd_init(&rd, it->u.raw, it->aux);
        st = pp__values_decode(&rd, &v, NULL, NULL, 0);
        if (st != PP_OK)
            return st;
        it->u.value = v;
        it->state = IT_VALUE;
        j->nheld++;
    }
    *value = it->state == IT_VALUE ? it->u.value : NULL;
    return PP_OK;
}

/* Caller holds core->mu. Frees the job when the last reference goes; the
 * core reference it held is dropped too (never the last one here: the
 * caller's context still uses the mutex, see pp_result_release). */
void pp__job_unref_locked(struct pp_result *j)
{
    if (--j->refs > 0)
        return;
    if (j->complete)
        pp__report_unobserved(j);
    if (j->pool != NULL) {
        if (j->live_prev)
            j->live_prev->live_next = j->live_next;
        else
            j->pool->live = j->live_next;
        if (j->live_next)
            j->live_next->live_prev = j->live_prev;
    }
    j->core->refs--;
    job_free(j);
}

static void item_finish(struct pp_result *j, size_t i, pp_status st)
{
    if (st != PP_OK && i < j->first_failed)
        j->first_failed = i;
    if (j->kind == JOB_IMAP_UNORDERED)
        j->order[j->order_len++] = i;
    j->done++;
}

void pp__item_fail(struct pp_result *j, size_t i, pp_status st, int code, const char *msg)
{
    pp__item *it = &j->items[i];
    pp_error *e;

    if (it->state != IT_PENDING)
        return;
    e = calloc(1, sizeof *e);
    if (e != NULL) {
        e->status = st;
        e->code = code;
        pp__strlcpy(e->message, msg, sizeof e->message);
        j->nheld++;
    }
    it->state = IT_ERROR;
    it->aux = (uint32_t)(int32_t)st;
    it->u.error = e;
    /* Without memory for the details the status alone still gets through. */
    item_finish(j, i, st);
}

void pp__item_succeed(struct pp_result *j, size_t i, const uint8_t *raw, size_t len)
{
    pp__item *it = &j->items[i];

    if (it->state != IT_PENDING)
        return;
    it->state = IT_RAW;
    it->aux = (uint32_t)len; /* len < PP__FRAME_MAX */
    it->u.raw = raw;
    item_finish(j, i, PP_OK);
}

/* j->colvals, allocated at the first column of a large job; NULL if the
 * job is small or there is no memory (then its items keep their scalars). */
static uint64_t *colvals(struct pp_result *j)
{
    if (j->colvals == NULL && !j->colvals_failed && j->n >= PP__COLVALS_MIN) {
        /* not zeroed: an entry is read only once its item is IT_COLVAL */
        j->colvals = pp__mem_alloc(j->n * sizeof *j->colvals);
        j->colvals_failed = j->colvals == NULL;
    }
    return j->colvals;
}

void pp__items_succeed_column(struct pp_result *j, size_t first, size_t n, pp_type type,
                              const uint8_t *le)
{
    pp__item *it = j->items + first, *end = it + n;
    uint64_t *val = colvals(j);
    size_t done = 0;

    if (val == NULL || (type != PP_TYPE_INT && type != PP_TYPE_DOUBLE)) {
        for (; it < end; it++, le += 8) {
            if (it->state != IT_PENDING)
                continue;
            it->state = IT_SCALAR;
            it->aux = (uint32_t)type;
            it->u.bits = pp__ld_le64(le);
            done++;
            if (j->kind == JOB_IMAP_UNORDERED)
                j->order[j->order_len++] = (size_t)(it - j->items);
        }
        j->done += done;
        return;
    }
    /* The values side by side (a bulk read of the job is one copy); the
     * items get their state alone (u.value stays NULL, as pending). */
    for (val += first; it < end; it++, le += 8, val++) {
        if (it->state != IT_PENDING)
            continue;
        it->state = IT_COLVAL;
        it->aux = (uint32_t)type;
        *val = pp__ld_le64(le);
        done++;
        if (j->kind == JOB_IMAP_UNORDERED)
            j->order[j->order_len++] = (size_t)(it - j->items);
    }
    j->ncolval[type == PP_TYPE_DOUBLE] += done;
    j->done += done;
}

void *pp__job_tuples(struct pp_result *j, size_t first)
{
    size_t size = pp__values_scalar_size();

    if (j->tuples == NULL && !j->tuples_failed && j->blob_tuples) {
        /* n items: their array of 16 bytes each exists, so no overflow */
        j->tuples = pp__mem_alloc(j->n * size);
        j->tuples_failed = j->tuples == NULL;
    }
    return j->tuples != NULL ? (unsigned char *)j->tuples + first * size : NULL;
}

void pp__items_succeed_blobs(struct pp_result *j, size_t first, size_t n, pp_type type,
                             const uint8_t *p, void *tuples)
{
    pp__item *it = j->items + first;
    unsigned char *mem = tuples;
    size_t k, size = pp__values_scalar_size();
    uint32_t len;

    for (k = 0; k < n; k++, it++, p += PP__COLUMN_BLOB_ENC(len)) {
        len = pp__ld_le32(p); /* <= PP_VALUE_MAX_BYTES: checked */
        if (it->state != IT_PENDING)
            continue;
        if (mem != NULL) {
            /* read-only, in the job's memory: job_free has nothing to do */
            it->state = IT_VALUE;
            it->u.value = pp__values_init_blob(mem + k * size, type, p + 4, len);
        } else {
            it->state = type == PP_TYPE_STR ? IT_STR : IT_BYTES;
            it->u.raw = p + 4;
        }
        it->aux = len;
        item_finish(j, (size_t)(it - j->items), PP_OK);
    }
}

void pp__item_succeed_scalar(struct pp_result *j, size_t i, pp_type type, uint64_t bits)
{
    pp__item *it = &j->items[i];

    if (it->state != IT_PENDING)
        return;
    it->state = IT_SCALAR;
    it->aux = (uint32_t)type;
    it->u.bits = bits;
    item_finish(j, i, PP_OK);
}

/* Queue work for the result thread (callbacks, async progress). */
void pp__job_after_items_locked(struct pp_result *j)
{
    pp_pool *p = j->pool;

    if (j->done == j->n) {
        pp__job_complete_locked(j);
        return;
    }
    pp__plat_cond_broadcast(j->core->cond); /* imap readers, sync progress */
    if (j->progress != NULL && !j->sync && p != NULL)
        pp__cb_enqueue_locked(p, j);
}

void pp__job_complete_locked(struct pp_result *j)
{
    pp_pool *p = j->pool;
    int has_cb = j->callback != NULL || j->error_callback != NULL || j->progress != NULL;

    if (j->complete)
        return;
    j->complete = 1;
    if (has_cb && !j->sync && p != NULL && !p->stop) {
        pp__cb_enqueue_locked(p, j); /* ready once the callbacks have run (as Python) */
    } else {
        j->ready = 1;
        pp__plat_atomic_store64(&j->ready_flag, 1);
        pp__waitany_notify();
    }
    pp__plat_cond_broadcast(j->core->cond);
    pp__job_unref_locked(j); /* the pool's "running" reference */
}

void pp__job_complete_empty_locked(struct pp_result *j)
{
    pp__job_complete_locked(j);
}

void pp__job_fail_range_locked(struct pp_result *j, size_t from, size_t to, pp_status st,
                               const char *msg)
{
    size_t i;

    for (i = from; i < to; i++)
        pp__item_fail(j, i, st, 0, msg);
    pp__job_after_items_locked(j);
}

/* Fail every unfinished item of a chunk. */
void pp__chunk_fail_locked(pp__chunk *c, pp_status st, int code, const char *msg)
{
    size_t i;

    for (i = c->first; i < c->first + c->count; i++)
        pp__item_fail(c->job, i, st, code, msg);
    pp__job_after_items_locked(c->job);
}

/* Freed chunks a pool keeps, at most, and the frame memory each may keep
 * (a one-item TASK frame is a few dozen bytes). */
#define FREE_CHUNKS_MAX 64u
#define FREE_FRAME_MAX  512u

void pp__chunk_free(pp__chunk *c)
{
    struct pp_result *j = c->job;
    pp_pool *p = j != NULL ? j->pool : NULL;

    /* j->pool is NULL once the pool is destroyed; with a job, the caller
     * holds the mutex. */
    if (p != NULL && p->nfree_chunks < FREE_CHUNKS_MAX && !c->frame.big &&
        c->frame.cap <= FREE_FRAME_MAX) {
        pp__buf frame = c->frame;
        memset(c, 0, sizeof *c); /* nothing of its last use stays */
        c->frame = frame;
        pp__buf_reset(&c->frame);
        c->next = p->free_chunks;
        p->free_chunks = c;
        p->nfree_chunks++;
    } else {
        pp__buf_free(&c->frame);
        free(c);
    }
    if (j != NULL)
        pp__job_unref_locked(j); /* the chunk's reference (pp__queue_append_locked) */
}

pp__chunk *pp__chunk_take_free_locked(pp_pool *p)
{
    pp__chunk *c = p->free_chunks;

    if (c != NULL) {
        p->free_chunks = c->next;
        p->nfree_chunks--;
        c->next = NULL;
    }
    return c;
}
