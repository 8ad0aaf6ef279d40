/*
 * redis_broker.h — what the two sides of a distributed pool share: the
 * pool's broker (redis_pool.c, behind pool/broker.h) and the remote
 * worker loop (redis_remote.c). Keys of pool name P (the hash tag {P}
 * keeps them in one Cluster slot):
 *
 *   pp:{P}:t      stream of tasks: fields i (the pool instance, 16 hex
 *                 digits), id (chunk id, decimal), f (the TASK frame);
 *                 consumer group "g", one consumer per remote worker
 *                 ("host:pid:nonce")
 *   pp:{P}:r      stream of results: i, id, c (the consumer), f (the
 *                 chunk's RESULT frames, one after another)
 *   pp:{P}:s      hash: task entry id -> consumer, set (by a script that
 *                 checks the entry is still the worker's) before it runs
 *                 the chunk: a consumer that died with an entry it never
 *                 started (delivered to a dead connection) has that chunk
 *                 run elsewhere instead of failed
 *   pp:{P}:hello  "PPH1", u64 instance, u64 lease ms, u64 expiry ms, then
 *                 the initializer call as a TASK frame (absent: none)
 *   pp:{P}:alive  the instance, while the pool lives (a short expiry,
 *                 renewed); SET NX at creation: one program per name
 *   pp:{P}:hb:C   consumer C's heartbeat "host pid done instance", with
 *                 the lease as expiry; set only while :alive exists
 *
 * Every key the pool makes expires (PEXPIRE, renewed while it lives); a
 * remote worker sets the result stream's expiry as it adds to it.
 */
#ifndef PROCPOOL_REDIS_REDIS_BROKER_H
#define PROCPOOL_REDIS_REDIS_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "redis/redis_conn.h"

#define PP__RB_NAME_MAX    64
#define PP__RB_ADDR_MAX    (PP__REDIS_HOST_MAX + 16)
#define PP__RB_KEY_MAX     (PP__RB_NAME_MAX + 96)
#define PP__RB_LEASE_MS    3000
#define PP__RB_LEASE_MIN   300
#define PP__RB_LEASE_MAX   3600000 /* an hour: remote workers refuse more */
#define PP__RB_EXPIRE_MS   60000
#define PP__RB_EXPIRE_MIN  1000
#define PP__RB_EXPIRE_MAX  86400000 /* a day: remote workers refuse more */
#define PP__RB_HELLO_MAGIC "PPH1"

typedef struct pp__rb_keys {
    char addr[PP__RB_ADDR_MAX]; /* "redis://host:port" */
    char name[PP__RB_NAME_MAX + 1];
    char t[PP__RB_KEY_MAX], r[PP__RB_KEY_MAX], hello[PP__RB_KEY_MAX], alive[PP__RB_KEY_MAX];
    char s[PP__RB_KEY_MAX];
    char hb_prefix[PP__RB_KEY_MAX]; /* "pp:{P}:hb:" */
} pp__rb_keys;

/* Parse "redis://host:port/POOLNAME" (POOLNAME: 1..64 of [A-Za-z0-9_.-]). */
pp_status pp__rb_parse(const char *url, pp__rb_keys *k);

/* Connect with the environment's credentials (PROCPOOL_REDIS_USERNAME,
 * PROCPOOL_REDIS_PASSWORD), replies within reply_ms. */
pp_status pp__rb_connect(const pp__rb_keys *k, int64_t reply_ms, pp__redis_conn **out);

/* Run a command of argc arguments (lens NULL: all NUL-terminated), reply
 * as a tree; wait_ms > 0 for a blocking one. A Redis error reply is
 * PP_OK with (*out)->kind PP__RR_ERROR. */
pp_status pp__rb_cmd(pp__redis_conn *c, int64_t wait_ms, pp__redis_val **out, int argc,
                     const char **argv, const size_t *lens);

/* The same, the reply only checked: PP_OK unless transport failure or a
 * Redis error reply (PP_EPROTO then, logged with what). */
pp_status pp__rb_do(pp__redis_conn *c, const char *what, int argc, const char **argv,
                    const size_t *lens);

/* Field name of a stream entry's field list (an array k1 v1 k2 v2 ...),
 * or NULL. */
const pp__redis_val *pp__rb_field(const pp__redis_val *fields, const char *name);

/* The instance as 16 hex digits (17 bytes with the NUL). */
void pp__rb_instance_str(uint64_t inst, char out[17]);

/* This machine's host name (truncated; "?" if unknown). */
void pp__rb_hostname(char *buf, size_t cap);

#endif /* PROCPOOL_REDIS_REDIS_BROKER_H */
