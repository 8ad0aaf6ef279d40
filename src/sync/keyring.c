/*
 * keyring.c — the program key and the address -> key pairs of managers
 * (sync/keyring.h). Fixed storage, no allocation: a key is only ever in
 * this table, in the caller's buffer, or in a frame being sent.
 */
#include <string.h>

#include <sodium.h>

#include "platform.h"
#include "sync/keyring.h"

typedef struct key_entry {
    char addr[PP__KEYRING_ADDR]; /* "" : free */
    uint8_t key[PP__KEY_MAX];
    size_t keylen;
    uint64_t seq; /* age: the oldest is replaced when the table is full */
} key_entry;

static struct {
    pp__plat_mtx *mu;
    int have_program;
    uint8_t program[PP__PROGRAM_KEY_LEN];
    key_entry e[PP__KEYRING_MAX];
    uint64_t seq;
} g;

void pp__keyring_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

static void reset_after_fork(void)
{
    if (g.mu != NULL)
        pp__plat_mtx_reset_after_fork(g.mu);
}

pp_status pp__keyring_init(void)
{
    static int registered;
    pp_status st;

    if (g.mu != NULL)
        return PP_OK;
    st = pp__plat_mtx_create(&g.mu);
    if (st == PP_OK && !registered) {
        registered = 1;
        pp__plat_atfork_child(reset_after_fork);
    }
    return st;
}

void pp__keyring_shutdown(void)
{
    pp__plat_mtx *mu = g.mu;

    pp__keyring_wipe(&g, sizeof g);
    pp__plat_mtx_destroy(mu);
}

/* ------------------------------------------------------------ the table */

static int addr_ok(const char *addr)
{
    size_t n = addr != NULL ? strlen(addr) : 0;

    return n > 0 && n < PP__KEYRING_ADDR;
}

static key_entry *find_locked(const char *addr)
{
    size_t i;

    for (i = 0; i < PP__KEYRING_MAX; i++) {
        if (g.e[i].addr[0] != '\0' && strcmp(g.e[i].addr, addr) == 0)
            return &g.e[i];
    }
    return NULL;
}

static void put_locked(const char *addr, const void *key, size_t keylen)
{
    key_entry *e = find_locked(addr);
    size_t i;

    if (e == NULL) {
        e = &g.e[0];
        for (i = 0; i < PP__KEYRING_MAX; i++) {
            if (g.e[i].addr[0] == '\0') {
                e = &g.e[i];
                break;
            }
            if (g.e[i].seq < e->seq)
                e = &g.e[i];
        }
    }
    pp__keyring_wipe(e, sizeof *e);
    memcpy(e->addr, addr, strlen(addr) + 1);
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    e->seq = ++g.seq;
}

static pp_status ensure_program_locked(void)
{
    pp_status st;

    if (g.have_program)
        return PP_OK;
    st = pp__plat_random(g.program, sizeof g.program);
    if (st == PP_OK)
        g.have_program = 1;
    return st;
}

pp_status pp__keyring_program_key(uint8_t out[PP__PROGRAM_KEY_LEN])
{
    pp_status st;

    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    st = ensure_program_locked();
    if (st == PP_OK)
        memcpy(out, g.program, PP__PROGRAM_KEY_LEN);
    pp__plat_mtx_unlock(g.mu);
    return st;
}

pp_status pp__keyring_put(const char *addr, const void *key, size_t keylen)
{
    if (!addr_ok(addr) || key == NULL || keylen == 0 || keylen > PP__KEY_MAX)
        return PP_EINVAL;
    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    put_locked(addr, key, keylen);
    pp__plat_mtx_unlock(g.mu);
    return PP_OK;
}

void pp__keyring_forget(const char *addr)
{
    key_entry *e;

    if (!addr_ok(addr) || g.mu == NULL)
        return;
    pp__plat_mtx_lock(g.mu);
    e = find_locked(addr);
    if (e != NULL)
        pp__keyring_wipe(e, sizeof *e);
    pp__plat_mtx_unlock(g.mu);
}

pp_status pp__keyring_find(const char *addr, uint8_t *key, size_t *keylen, int *is_program)
{
    pp_status st = PP_ENOENT;
    key_entry *e;

    if (!addr_ok(addr))
        return PP_ENOENT;
    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    e = find_locked(addr);
    if (e != NULL) {
        memcpy(key, e->key, e->keylen);
        *keylen = e->keylen;
        *is_program = 0;
        st = PP_OK;
    } else if (g.have_program) {
        memcpy(key, g.program, PP__PROGRAM_KEY_LEN);
        *keylen = PP__PROGRAM_KEY_LEN;
        *is_program = 1;
        st = PP_OK;
    }
    pp__plat_mtx_unlock(g.mu);
    return st;
}

/* ------------------------------------------------------------ HELLO */

/* What pp__keyring_encode() appends (always with a program key: it makes
 * one first if there is none). */
static size_t encoded_size_locked(void)
{
    size_t i, n = 2u + PP__PROGRAM_KEY_LEN;

    for (i = 0; i < PP__KEYRING_MAX; i++) {
        if (g.e[i].addr[0] != '\0')
            n += 1u + strlen(g.e[i].addr) + 2u + g.e[i].keylen;
    }
    return n;
}

size_t pp__keyring_encoded_size(void)
{
    size_t n;

    if (g.mu == NULL)
        return 2u + PP__PROGRAM_KEY_LEN;
    pp__plat_mtx_lock(g.mu);
    n = encoded_size_locked();
    pp__plat_mtx_unlock(g.mu);
    return n;
}

pp_status pp__keyring_encode(pp__buf *b)
{
    uint8_t count = 0, len2[2];
    size_t i, n;
    pp_status st;

    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    st = ensure_program_locked();
    if (st == PP_OK)
        st = pp__buf_reserve(b, encoded_size_locked());
    for (i = 0; i < PP__KEYRING_MAX; i++)
        count = (uint8_t)(count + (g.e[i].addr[0] != '\0'));
    /* reserved: the puts below cannot fail nor move the buffer */
    if (st == PP_OK) {
        (void)pp__buf_put_u8(b, 1);
        (void)pp__buf_put(b, g.program, PP__PROGRAM_KEY_LEN);
        (void)pp__buf_put_u8(b, count);
        for (i = 0; i < PP__KEYRING_MAX; i++) {
            if (g.e[i].addr[0] == '\0')
                continue;
            n = strlen(g.e[i].addr);
            (void)pp__buf_put_u8(b, (uint8_t)n);
            (void)pp__buf_put(b, g.e[i].addr, n);
            pp__st_le16(len2, (uint16_t)g.e[i].keylen);
            (void)pp__buf_put(b, len2, 2);
            (void)pp__buf_put(b, g.e[i].key, g.e[i].keylen);
        }
    }
    pp__plat_mtx_unlock(g.mu);
    return st;
}

/* One pass over a HELLO keyring: check it, and learn it if learn. */
static pp_status parse(pp__rd *r, int learn)
{
    char addr[PP__KEYRING_ADDR];
    const uint8_t *p = NULL, *k = NULL;
    uint8_t flags = 0, count = 0, n = 0;
    uint16_t m;
    unsigned i;

    if (pp__rd_u8(r, &flags) != PP_OK || (flags & ~1u) != 0)
        return PP_EPROTO;
    if ((flags & 1u) != 0) {
        if (pp__rd_take(r, PP__PROGRAM_KEY_LEN, &p) != PP_OK)
            return PP_EPROTO;
        if (learn) {
            memcpy(g.program, p, PP__PROGRAM_KEY_LEN);
            g.have_program = 1;
        }
    }
    if (pp__rd_u8(r, &count) != PP_OK || count > PP__KEYRING_MAX)
        return PP_EPROTO;
    for (i = 0; i < count; i++) {
        if (pp__rd_u8(r, &n) != PP_OK || n == 0 || n >= PP__KEYRING_ADDR ||
            pp__rd_take(r, n, &p) != PP_OK || memchr(p, '\0', n) != NULL ||
            pp__rd_take(r, 2, &k) != PP_OK)
            return PP_EPROTO;
        m = pp__ld_le16(k);
        if (m == 0 || m > PP__KEY_MAX || pp__rd_take(r, m, &k) != PP_OK)
            return PP_EPROTO;
        if (learn) {
            memcpy(addr, p, n);
            addr[n] = '\0';
            put_locked(addr, k, m);
        }
    }
    return PP_OK;
}

pp_status pp__keyring_decode(pp__rd *r)
{
    size_t start = r->pos;

    if (g.mu == NULL)
        return PP_ENOTINIT;
    if (parse(r, 0) != PP_OK) {
        r->pos = start;
        return PP_EPROTO;
    }
    r->pos = start;
    pp__plat_mtx_lock(g.mu);
    (void)parse(r, 1);
    pp__plat_mtx_unlock(g.mu);
    return PP_OK;
}
