/*
 * gen_seeds.c — writes the seed corpus of fuzz_frame into a directory.
 *
 *   fuzz_seeds DIR
 *
 * Seeds are valid inputs made by the real encoder: each value type, a
 * frame with several tuples, bare payloads (shorter than a header). The
 * fuzzer mutates from there, so it starts past the magic and the type
 * tags. The files in tests/fuzz/corpus/ were made with this program;
 * rerun it when the wire format changes.
 */
#include <stdio.h>
#include <string.h>

#include "procpool/value.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "values/tuple.h"
#include "values/value_internal.h"
#include "sync/remote.h"
#include "sync/sobj.h"
#include "sync/sync.h"

static int write_file(const char *dir, const char *name, const pp__buf *b)
{
    char path[1024];
    FILE *f;
    int ok;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    ok = fwrite(b->data, 1, b->len, f) == b->len;
    return fclose(f) == 0 && ok;
}

/* Every type once; the lock travels by name and needs no live lock. */
static pp_status all_types(pp_values **v)
{
    static const unsigned char raw[] = {0, 1, 0, 0xff};
    pp_status st;

    st = pp_values_pack(v, "ldsbs", (int64_t)-42, 0.5, "hello", raw, sizeof raw, "");
    if (st == PP_OK)
        st = pp__values_add_lock_named(*v, "pp-seed-lock", 1, NULL, PP_ENOENT);
    if (st == PP_OK)
        st = pp__values_add_double_bits(*v, UINT64_C(0x7ff80000deadbeef)); /* NaN payload */
    if (st == PP_OK) /* a local sync object: kind, name, identity */
        st = pp__values_add_sync_named(*v, PP__SOBJ_SEM, "pp-seed-sem", 2, NULL, PP_ENOENT);
    return st;
}

/* A manager lock travels as a locator (sync/remote.h); unresolved here. */
static pp_status remote_lock(pp_values **v, const char *addr)
{
    pp__locator loc;
    pp_status st;

    memset(&loc, 0, sizeof loc);
    loc.backend = PP__LOC_MANAGER;
    loc.object = PP__OBJ_LOCK;
    strcpy(loc.addr, addr);
    loc.instance = UINT64_C(0x0123456789abcdef);
    loc.id = 7;
    st = pp_values_create(v);
    if (st == PP_OK)
        st = pp_values_add_int(*v, 1);
    if (st == PP_OK)
        st = pp__values_add_remote(*v, &loc, NULL, PP_EAUTH);
    return st;
}

/* Proxies of the other hosted kinds travel as locators too: a queue, and
 * a condition (its locator names its lock); unresolved here. */
static pp_status remote_proxies(pp_values **v)
{
    pp__locator loc;
    pp_status st;

    memset(&loc, 0, sizeof loc);
    loc.backend = PP__LOC_MANAGER;
    loc.object = PP__OBJ_QUEUE;
    strcpy(loc.addr, "tcp://127.0.0.1:4242");
    loc.instance = UINT64_C(0x0123456789abcdef);
    loc.id = 9;
    st = pp_values_create(v);
    if (st == PP_OK)
        st = pp__values_add_remote(*v, &loc, NULL, PP_EAUTH);
    loc.object = PP__OBJ_COND;
    loc.id = 10;
    loc.lock_object = PP__OBJ_RLOCK;
    loc.lock_id = 8;
    if (st == PP_OK)
        st = pp__values_add_remote(*v, &loc, NULL, PP_EAUTH);
    return st;
}

/* A frame of type `type` holding `ntuples` copies of v (or none). */
static pp_status frame(pp__buf *b, uint8_t type, const pp_values *v, int ntuples)
{
    size_t at;
    pp_status st;
    int i;

    pp__buf_reset(b);
    st = pp__frame_begin(b, type, (uint16_t)ntuples, 7, &at);
    for (i = 0; st == PP_OK && i < ntuples; i++)
        st = pp__values_encode(v, b);
    return st == PP_OK ? pp__frame_end(b, at) : st;
}

static int make_seeds(const char *dir, pp_values *all, pp_values *one_int, pp_values *remote,
                      pp_values *remote_unix, pp_values *proxies)
{
    pp__buf b;
    int ok = 1;

    pp__buf_init(&b);
    ok &= pp__values_encode(NULL, &b) == PP_OK && write_file(dir, "payload-empty", &b);
    pp__buf_reset(&b);
    ok &= pp__values_encode(one_int, &b) == PP_OK && write_file(dir, "payload-int", &b);
    pp__buf_reset(&b);
    ok &= pp__values_encode(remote, &b) == PP_OK && write_file(dir, "payload-remote-lock", &b);
    pp__buf_reset(&b);
    ok &= pp__values_encode(proxies, &b) == PP_OK && write_file(dir, "payload-remote-proxies", &b);
    pp__buf_reset(&b);
    ok &= pp__values_encode(remote_unix, &b) == PP_OK &&
          write_file(dir, "payload-remote-lock-unix", &b);
    ok &= frame(&b, PP__MSG_TASK, all, 1) == PP_OK && write_file(dir, "frame-task-all", &b);
    ok &= frame(&b, PP__MSG_RESULT, all, 3) == PP_OK && write_file(dir, "frame-result-3", &b);
    ok &= frame(&b, PP__MSG_QUIT, NULL, 0) == PP_OK && write_file(dir, "frame-quit", &b);
    ok &= frame(&b, PP__MSG_HELLO, one_int, 1) == PP_OK && write_file(dir, "frame-hello", &b);
    pp__buf_free(&b);
    return ok;
}

int main(int argc, char **argv)
{
    /* a started manager's private endpoint, longer than 64 bytes */
    static const char unix_addr[] =
        "unix:///run/user/1000/procpool-mgr-123456-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/sock";
    pp_values *all = NULL, *one_int = NULL, *remote = NULL, *remote_unix = NULL, *proxies = NULL;
    int ok;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    ok = all_types(&all) == PP_OK && pp_values_pack(&one_int, "l", INT64_MIN) == PP_OK &&
         remote_lock(&remote, "tcp://127.0.0.1:4242") == PP_OK &&
         remote_lock(&remote_unix, unix_addr) == PP_OK && remote_proxies(&proxies) == PP_OK &&
         make_seeds(argv[1], all, one_int, remote, remote_unix, proxies);
    pp_values_destroy(remote_unix);
    pp_values_destroy(proxies);
    pp_values_destroy(remote);
    pp_values_destroy(all);
    pp_values_destroy(one_int);
    if (!ok) {
        fprintf(stderr, "%s: could not write the seeds into %s\n", argv[0], argv[1]);
        return 1;
    }
    return 0;
}
